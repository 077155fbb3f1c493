"""`clik dev`: the whole system on one machine, stopped with one Ctrl-C.

A migrated database (the embedded server unless CLIK_DATABASE_URL is set), the ingest service,
and the Dagster webserver and daemon with their instance stored in PostgreSQL: a database of its
own beside the analytics one, DAGSTER_HOME under CLIK_HOME (`clik env` prints the same settings
for another shell). The Dagster files come from the package (clik/cli/*.yaml, in a checkout
symbolic links to the repository's own), so a wheel install runs it too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import click

from clik.cli.env import DevEnvironment, packaged_file
from clik.cli.ports import check_port_free
from clik.errors import ClikError

STARTUP_TIMEOUT = 300.0  # seconds; the Dagster code location loads slowly on a busy machine
STOP_TIMEOUT = 30.0

# The console shows warnings and errors, not routine chatter: every minute the daemon reloads
# its workspace, starting a new code server, and the one it replaced logs "No heartbeat
# received in 20 seconds, shutting down" at WARNING as it goes (dagster/_daemon/controller.py:
# RELOAD_WORKSPACE_INTERVAL, DAEMON_GRPC_SERVER_HEARTBEAT_TTL), so the daemon's code servers
# log errors only; and the daemons' ticks and the webserver's requests log at INFO.
WEBSERVER_QUIET = ["--dagster-log-level", "warning", "--code-server-log-level", "warning"]
DAEMON_QUIET = ["--log-level", "warning", "--code-server-log-level", "error"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--ingest-port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--dagster-port", default=3000, show_default=True, type=click.IntRange(1, 65535))
def dev(host: str, ingest_port: int, dagster_port: int) -> None:
    """Run database, ingest service (:8000) and Dagster UI and daemon (:3000); Ctrl-C stops
    all of it."""
    from clik.cli.db import migrated_database

    # Nothing starts before we know both ports are free.
    if ingest_port == dagster_port:
        raise ClikError("--ingest-port and --dagster-port must differ")
    for port, option in ((ingest_port, "--ingest-port"), (dagster_port, "--dagster-port")):
        check_port_free(host, port, f"stop what uses it or choose another with {option}")

    url, started = migrated_database()
    processes = _Processes()
    previous = {number: signal.signal(number, _stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        prepared = DevEnvironment.prepare(url)
        environment = {**os.environ, **prepared.variables(), **_component_logins(url)}
        workspace = ["-w", str(packaged_file("workspace.yaml"))]
        processes.start(
            "ingest service",
            [sys.executable, "-m", "clik", "serve", "--host", host, "--port", str(ingest_port)],
            environment,
        )
        processes.start(
            "Dagster webserver",
            [console_script("dagster-webserver"), "-h", host, "-p", str(dagster_port),
             *workspace, *WEBSERVER_QUIET],
            environment,
        )  # fmt: skip
        processes.start(
            "Dagster daemon",
            [console_script("dagster-daemon"), "run", *workspace, *DAEMON_QUIET],
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
            f"http://{host}:{dagster_port} (DAGSTER_HOME={prepared.dagster_home}); "
            'Ctrl-C stops everything; `eval "$(clik env)"` gives another shell its settings',
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
            if started is not None:
                started.stop()
                click.echo("embedded PostgreSQL stopped", err=True)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
    click.echo("clik dev: stopped", err=True)


def console_script(name: str) -> str:
    """A console script of this environment (dagster-webserver, dagster-daemon): beside the
    interpreter, where pip installs them."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        raise ClikError(f"{path} is missing: install clik with its dependencies (pip install clik)")
    return str(path)


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


class _Processes:
    """Child processes, each in its own session: a terminal's Ctrl-C reaches only us, and we
    stop each child with all it started (code servers, run workers)."""

    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def start(self, name: str, command: list[str], environment: dict[str, str]) -> None:
        self.children[name] = subprocess.Popen(command, env=environment, start_new_session=True)

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
