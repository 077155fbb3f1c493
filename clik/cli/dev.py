"""`clik dev`: the whole system on one machine, stopped with one Ctrl-C.

A migrated database (the embedded server unless CLIK_DATABASE_URL is set), the ingest service,
and the Dagster webserver and daemon with their instance stored in PostgreSQL: a database of its
own beside the analytics one, DAGSTER_HOME under CLIK_HOME.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from clik.cli.ports import check_port_free
from clik.errors import ClikError

if TYPE_CHECKING:
    from clik.embedded import EmbeddedServer

ROOT = Path(__file__).resolve().parents[2]  # the checkout: workspace.yaml, dagster.yaml, sql/
STARTUP_TIMEOUT = 300.0  # seconds; the Dagster code location loads slowly on a busy machine
STOP_TIMEOUT = 30.0


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--ingest-port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--dagster-port", default=3000, show_default=True, type=click.IntRange(1, 65535))
def dev(host: str, ingest_port: int, dagster_port: int) -> None:
    """Run database, ingest service (:8000) and Dagster UI and daemon (:3000); Ctrl-C stops
    all of it."""
    # Nothing starts before we know both ports are free and the checkout is complete.
    if ingest_port == dagster_port:
        raise ClikError("--ingest-port and --dagster-port must differ")
    for port, option in ((ingest_port, "--ingest-port"), (dagster_port, "--dagster-port")):
        check_port_free(host, port, f"stop what uses it or choose another with {option}")
    for needed in ("workspace.yaml", "dagster.yaml"):
        if not (ROOT / needed).is_file():
            raise ClikError(f"clik dev runs from a source checkout: {ROOT / needed} is missing")

    database = _Database.up()
    environment = database.environment()
    processes = _Processes()
    previous = {number: signal.signal(number, _stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        processes.start(
            "ingest service",
            [sys.executable, "-m", "clik", "serve", "--host", host, "--port", str(ingest_port)],
            environment,
        )
        processes.start(
            "Dagster webserver",
            [
                sys.executable,
                "-m",
                "dagster_webserver",
                "-h",
                host,
                "-p",
                str(dagster_port),
                "-w",
                str(ROOT / "workspace.yaml"),
            ],
            environment,
        )
        processes.start(
            "Dagster daemon",
            [sys.executable, "-m", "dagster._daemon", "run", "-w", str(ROOT / "workspace.yaml")],
            environment,
        )
        processes.wait_until_ready(
            {
                "ingest service": f"http://{host}:{ingest_port}/healthz",
                "Dagster webserver": f"http://{host}:{dagster_port}/server_info",
            }
        )
        click.echo(
            f"clik dev: ingest service on http://{host}:{ingest_port}, Dagster UI on "
            f"http://{host}:{dagster_port} (DAGSTER_HOME={environment['DAGSTER_HOME']}); "
            "Ctrl-C stops everything",
            err=True,
        )
        processes.supervise()
    except _Stop:
        click.echo("clik dev: stopping", err=True)
    finally:
        # Stopping has its own time limits; a second Ctrl-C must not cut it short.
        for number in previous:
            signal.signal(number, signal.SIG_IGN)
        try:
            processes.stop()
            database.down()
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
    click.echo("clik dev: stopped", err=True)


@dataclass
class _Database:
    """The analytics database and the Dagster instance's database beside it."""

    url: str
    dagster_url: str
    home: Path
    embedded: EmbeddedServer | None  # the server we started, to stop it again
    logins: dict[str, str]  # CLIK_<COMPONENT>_DATABASE_URL -> the component's own login

    @classmethod
    def up(cls) -> _Database:
        from clik.database import check_reachable, describe, sqlalchemy_url, with_database
        from clik.embedded import EmbeddedServer
        from clik.migrations import migrate
        from clik.settings import ClikSettings

        settings = ClikSettings()
        started = None
        if settings.database_url:
            url = settings.database_url
            check_reachable(url)
            click.echo(f"using CLIK_DATABASE_URL ({describe(url)})", err=True)
        else:
            server = EmbeddedServer(settings.pgdata)
            was_running = server.is_running()
            url = server.start()
            started = None if was_running else server
            click.echo(f"embedded PostgreSQL running (data in {settings.pgdata})", err=True)
        applied = migrate(url)
        click.echo(f"migrations: {len(applied)} applied", err=True)
        logins = _component_logins(url)

        dagster_url = os.environ.get("CLIK_DAGSTER_DATABASE_URL")
        if not dagster_url:
            name = f"{_database_name(url)}_dagster"
            _create_database(url, name)
            dagster_url = sqlalchemy_url(with_database(url, name))
        return cls(url, dagster_url, settings.home.resolve(), started, logins)

    def environment(self) -> dict[str, str]:
        dagster_home = self.home / "dagster"
        dagster_home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
        return {
            **os.environ,
            "CLIK_HOME": str(self.home),
            "CLIK_DATABASE_URL": self.url,
            "CLIK_DAGSTER_DATABASE_URL": self.dagster_url,
            "DAGSTER_HOME": str(dagster_home),
            **self.logins,
        }

    def down(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
            click.echo("embedded PostgreSQL stopped", err=True)


def _component_logins(url: str) -> dict[str, str]:
    """Each component's own login, so that none runs as the schema owner: the ones given in
    the environment, the others created (or given new passwords) now."""
    from clik.logins import COMPONENTS, create_logins, setting_name

    given = {setting_name(c): os.environ[setting_name(c)] for c in COMPONENTS
             if os.environ.get(setting_name(c))}  # fmt: skip
    if len(given) == len(COMPONENTS):
        return given
    created = {setting_name(component): url for component, url in create_logins(url).items()}
    click.echo(f"components log in as their own roles: {', '.join(sorted(created))}", err=True)
    return created | given


def _database_name(url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(url).get("dbname") or "clik")


def _create_database(url: str, name: str) -> None:
    """Creates the database on the server of `url` unless it exists."""
    import psycopg
    from psycopg import sql

    from clik.migrations import one_line

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            if not conn.execute("SELECT FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.DuplicateDatabase:
        pass  # created a moment ago by someone else
    except psycopg.Error as error:
        raise ClikError(
            f"cannot create the Dagster database {name}: {one_line(error)} "
            "(or set CLIK_DAGSTER_DATABASE_URL to an existing one)"
        ) from error


class _Processes:
    """Child processes, each in its own session: a terminal's Ctrl-C reaches only us, and we
    stop each child with all it started (code servers, run workers)."""

    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def start(self, name: str, command: list[str], environment: dict[str, str]) -> None:
        self.children[name] = subprocess.Popen(
            command, cwd=ROOT, env=environment, start_new_session=True
        )

    def wait_until_ready(self, endpoints: dict[str, str]) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        waiting = dict(endpoints)
        while waiting:
            self._raise_if_one_exited("during startup")
            for name, endpoint in list(waiting.items()):
                if _answers(endpoint):
                    del waiting[name]
            if time.monotonic() > deadline:
                raise ClikError(
                    f"{', '.join(waiting)} did not start within {STARTUP_TIMEOUT:.0f} s"
                )
            time.sleep(0.5)

    def supervise(self) -> None:
        """Runs until Ctrl-C or SIGTERM (_Stop); raises ClikError when a child stops."""
        while True:
            self._raise_if_one_exited("")
            time.sleep(0.5)

    def stop(self) -> None:
        alive = {name: child for name, child in self.children.items() if child.poll() is None}
        for child in alive.values():
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in alive.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
        for child in self.children.values():
            # Whatever is left of a group (a code server, a run worker) goes now.
            _signal_group(child, signal.SIGKILL)
            child.wait()

    def _raise_if_one_exited(self, when: str) -> None:
        for name, child in self.children.items():
            code = child.poll()
            if code is not None:
                raise ClikError(
                    f"{name} exited with status {code}{' ' + when if when else ''} "
                    "(its messages are above)"
                )


class _Stop(Exception):
    """Ctrl-C or SIGTERM."""


def _stop(number: int, frame: object) -> None:
    raise _Stop


def _signal_group(child: subprocess.Popen, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, number)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
