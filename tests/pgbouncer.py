"""A real PgBouncer (Debian's `pgbouncer`) in transaction pooling mode in front of the test
server, as most managed PostgreSQL offerings put one in front of clients."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

import psycopg

from clik.embedded import SERVER_USER
from clik.logins import COMPONENTS, login_name

PGBOUNCER = "/usr/sbin/pgbouncer"
USERS = ["postgres", *(login_name(component) for component in COMPONENTS)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_pgbouncer(server_url: str, pool_size: int = 4) -> Iterator[int]:
    """PgBouncer on a free port of 127.0.0.1 for every database of the server at `server_url`
    (a TCP URL, or the embedded server's unix socket); yields the port. `pool_size` server
    connections per user and database: small, so that clients share server sessions."""
    if not os.access(PGBOUNCER, os.X_OK):
        raise RuntimeError(f"{PGBOUNCER} is needed: apt-get install pgbouncer (.ci/run does it)")
    parts = urlsplit(server_url)
    host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
    port = parts.port or 5432
    directory = Path(tempfile.mkdtemp(prefix="clik-pgbouncer-"))
    listen = free_port()
    (directory / "users.txt").write_text("".join(f'"{user}" ""\n' for user in USERS))
    (directory / "pgbouncer.ini").write_text(
        f"""
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {directory / "users.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
# test databases come and go: idle server connections close soon, a failed login is retried
# at once rather than after 15 s
server_idle_timeout = 5
server_login_retry = 1
logfile = {directory / "pgbouncer.log"}
pidfile = {directory / "pgbouncer.pid"}
"""
    )
    command = [PGBOUNCER, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses root; the embedded server's user owns its socket
        user = SERVER_USER if _user_exists(SERVER_USER) else "nobody"
        for path in [directory, *directory.iterdir()]:
            shutil.chown(path, user)
        command[1:1] = ["-u", user]
    # It logs to its logfile and to stderr: nothing may wait on a pipe nobody reads.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_it_answers(listen, process, directory)
        yield listen
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def through(url: str, port: int) -> str:
    """`url` (its user, password and database) through the PgBouncer on `port`."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    password = f":{quote(parts.password, safe='')}" if parts.password else ""
    return urlunsplit(
        ("postgresql", f"{quote(user)}{password}@127.0.0.1:{port}", parts.path, "", "")
    )


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _wait_until_it_answers(port: int, process: subprocess.Popen, directory: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = directory / "pgbouncer.log"
            raise RuntimeError(f"pgbouncer exited: {log.read_text() if log.exists() else ''}")
        try:
            with psycopg.connect(
                f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2
            ) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError:
            time.sleep(0.2)
    raise RuntimeError("pgbouncer did not answer within 30 s")
