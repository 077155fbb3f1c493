"""The embedded server: started once, reused, restarted after a crash, as root or not."""

import os
import pwd
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import psycopg
import pytest

from clik.embedded import EmbeddedServer, _let_everyone_traverse


def run_clik(
    *args: str, home: Path, env: dict | None = None, user: str | None = None
) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CLIK_")}
    environment |= {"CLIK_HOME": str(home), **(env or {})}
    command = [sys.executable, "-m", "clik", *args]
    if user:
        command = ["runuser", "-u", user, "--", *command]
    return subprocess.run(
        command, capture_output=True, text=True, env=environment, cwd=home, timeout=120, check=False
    )


def answers(url: str) -> bool:
    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute("SELECT 1").fetchone() == (1,)


@pytest.fixture
def server(tmp_path: Path):
    embedded = EmbeddedServer(tmp_path / "pgdata", durable=False)
    yield embedded
    embedded.stop()


def test_start_reuses_a_running_server_and_stop_is_idempotent(server: EmbeddedServer) -> None:
    url = server.start()
    pid = server.running_pid()
    assert answers(url)
    assert server.start() == url
    assert server.running_pid() == pid
    assert server.stop() is True
    assert server.stop() is False
    assert not server.is_running()


def test_start_recovers_after_the_server_was_killed(server: EmbeddedServer) -> None:
    server.start()
    postmaster = psutil.Process(server.running_pid())
    children = postmaster.children()
    postmaster.send_signal(signal.SIGKILL)
    psutil.wait_procs([postmaster, *children], timeout=30)
    assert (server.pgdata / "postmaster.pid").exists()  # left behind by the crash
    assert answers(server.start())


def test_start_ignores_a_pid_file_naming_another_program(server: EmbeddedServer) -> None:
    server.start()
    pid_file = (server.pgdata / "postmaster.pid").read_text().splitlines()
    server.stop()
    with subprocess.Popen(["sleep", "60"]) as impostor:
        (server.pgdata / "postmaster.pid").write_text("\n".join([str(impostor.pid), *pid_file[1:]]))
        assert not server.is_running()
        assert answers(server.start())
        impostor.kill()


def test_db_up_prints_the_url_last_and_reuses_the_server(tmp_path: Path) -> None:
    first = run_clik("db", "up", home=tmp_path)
    try:
        assert first.returncode == 0, first.stderr
        url = first.stdout.strip().splitlines()[-1]
        assert url.startswith("postgresql://")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] > 0
        second = run_clik("db", "up", home=tmp_path)
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip().splitlines()[-1] == url
        assert "schema up to date" in second.stderr
        assert run_clik("db", "migrate", home=tmp_path).returncode == 0
    finally:
        stopped = run_clik("db", "stop", home=tmp_path)
    assert stopped.returncode == 0
    assert "stopped" in stopped.stderr


def test_db_up_with_an_unreachable_server_fails_in_one_line(tmp_path: Path) -> None:
    result = run_clik(
        "db",
        "up",
        home=tmp_path,
        env={"CLIK_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing"},
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: cannot reach PostgreSQL at 127.0.0.1:1/nothing")


def test_db_up_uses_clik_database_url(tmp_path: Path, empty_database_url: str) -> None:
    result = run_clik("db", "up", home=tmp_path, env={"CLIK_DATABASE_URL": empty_database_url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == empty_database_url
    assert not (tmp_path / "pgdata").exists()  # no embedded server was needed
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT to_regclass('analytics_sessions')").fetchone()[0]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a normal user to run as")
def test_db_up_works_for_a_normal_user(tmp_path: Path) -> None:
    user = "clik_test_user"
    if subprocess.run(["id", user], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", user], check=True)
    account = pwd.getpwnam(user)
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, account.pw_uid, account.pw_gid)
    # The normal user needs to reach this interpreter, its packages and the checkout.
    for needed in (Path(sys.executable), home, Path(psycopg.__file__), Path(__file__)):
        _let_everyone_traverse(needed)
    result = run_clik("db", "up", home=home, user=user)
    try:
        assert result.returncode == 0, result.stderr
        assert answers(result.stdout.strip().splitlines()[-1])
        # Not root: the server runs as the user, not as the system user root would create.
        assert (home / "pgdata").stat().st_uid == account.pw_uid
    finally:
        run_clik("db", "stop", home=home, user=user)
