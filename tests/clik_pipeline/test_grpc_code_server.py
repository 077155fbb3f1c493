"""docs/contract.md section 6's production shape: the code location as its own gRPC server
(`dagster api grpc -m clik_pipeline.definitions`), and the webserver and daemon loading it from
workspace.grpc.yaml. The webserver's GraphQL sees the definitions through that server, and a run
launched there is executed by it: only the code server has the analytics database's URL, and
the run writes that day's rows into it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest

from clik.database import sqlalchemy_url, with_database
from tests.clik_pipeline.traffic import actual_tables, expected_tables, generate
from tests.conftest import create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 240.0  # seconds; Dagster processes start slowly on a busy 2-core machine
RUN_TIMEOUT = 240.0
DAY = date(2026, 11, 1)
LOCATION = {"repositoryLocationName": "clik", "repositoryName": "__repository__"}


@pytest.fixture
def dagster_database(server_url: str) -> Iterator[str]:
    """URL of a database of its own for the Dagster instance."""
    name = f"clik_dagster_{uuid.uuid4().hex[:10]}"
    create_database(server_url, name)
    try:
        yield with_database(server_url, name)
    finally:
        drop_database(server_url, name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Processes:
    """Child processes, each in a session of its own so that stopping one stops what it
    started (the code server's run workers)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], environment: dict[str, str]) -> None:
        with open(self.logs / f"{name}.log", "w") as log:
            self.children[name] = subprocess.Popen(
                command,
                cwd=self.logs,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def check_alive(self) -> None:
        for name, process in self.children.items():
            if process.poll() is not None:
                raise AssertionError(
                    f"{name} exited with {process.returncode}:\n{self.log(name)}\n{self.logs_tail()}"
                )

    def log(self, name: str, size: int = 3000) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-size:]

    def lines(self, name: str) -> list[str]:
        return (self.logs / f"{name}.log").read_text(errors="replace").splitlines()

    def logs_tail(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.log(name)}" for name in self.children)

    def stop(self) -> None:
        for process in self.children.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.children.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def wait_until(what: str, ready, processes: Processes, timeout: float) -> object:
    """Polls `ready()` until it returns something truthy, failing if a process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check_alive()
        result = ready()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"{what} not within {timeout:.0f} s\n{processes.logs_tail()}")


def test_webserver_and_daemon_load_the_code_server_and_it_runs_a_partition(
    database_url: str, conn: psycopg.Connection, dagster_database: str, tmp_path: Path
) -> None:
    traffic = generate([DAY, date(2026, 11, 2)], 12)  # the next day's rows must stay out
    traffic.insert(conn)

    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    clik_home = tmp_path / "clik_home"  # an embedded-server fallback would create it
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLIK_", "DAGSTER_"))}
    grpc_port, web_port = free_port(), free_port()
    # The code server has the analytics database; the webserver and daemon only the instance
    # and where the code server is. It gets no DAGSTER_HOME: its run workers open the instance
    # from the reference the daemon sends along with each run.
    code_server_environment = {
        **clean,
        "CLIK_HOME": str(clik_home),
        "CLIK_DATABASE_URL": database_url,
        "CLIK_DAGSTER_DATABASE_URL": sqlalchemy_url(dagster_database),
    }
    system_environment = {
        **clean,
        "CLIK_HOME": str(clik_home),
        "DAGSTER_HOME": str(dagster_home),
        "CLIK_DAGSTER_DATABASE_URL": sqlalchemy_url(dagster_database),
        "CLIK_DAGSTER_GRPC_HOST": "127.0.0.1",
        "CLIK_DAGSTER_GRPC_PORT": str(grpc_port),
    }
    workspace = str(ROOT / "workspace.grpc.yaml")
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = Processes(logs)
    started = time.monotonic()
    try:
        processes.start(
            "code server",
            [
                str(BIN / "dagster"),
                *("api", "grpc", "-m", "clik_pipeline.definitions"),
                *("--host", "127.0.0.1", "--port", str(grpc_port)),
            ],
            code_server_environment,
        )
        # The readiness probe of Dagster's Helm chart: SERVING once the definitions are loaded.
        wait_until(
            "the code server's health check",
            lambda: health_check(grpc_port, clean),
            processes,
            STARTUP_TIMEOUT,
        )
        processes.start(
            "webserver",
            [
                str(BIN / "dagster-webserver"),
                *("-h", "127.0.0.1", "-p", str(web_port), "-w", workspace),
            ],
            system_environment,
        )
        processes.start(
            "daemon", [str(BIN / "dagster-daemon"), "run", "-w", workspace], system_environment
        )
        graphql = GraphQL(web_port)
        entry = wait_until(
            "the webserver with the code location loaded",
            graphql.loaded_location,
            processes,
            STARTUP_TIMEOUT,
        )
        startup_seconds = time.monotonic() - started

        # The location is the gRPC server's, under the name the in-process workspace gives it.
        assert entry["name"] == "clik"
        metadata = {item["key"]: item["value"] for item in entry["displayMetadata"]}
        assert metadata.get("port") == str(grpc_port), metadata
        assert metadata.get("host") == "127.0.0.1", metadata
        location = entry["locationOrLoadError"]
        assert location["__typename"] == "RepositoryLocation", location
        (repository,) = location["repositories"]
        jobs = {job["name"] for job in repository["jobs"]}
        assert {"daily_aggregation_job", "raw_retention_job", "legacy_events_migration_job"} <= jobs
        assets = {"/".join(node["assetKey"]["path"]) for node in repository["assetNodes"]}
        assert {
            "analytics_sessions",
            "analytics_page_views",
            "analytics_clicks",
            "analytics_daily_user_stats",
            "analytics_daily_group_stats",
            "analytics_daily_click_targets",
            "analytics_daily_page_stats",
        } <= assets
        schedules = {schedule["name"] for schedule in repository["schedules"]}
        assert schedules == {
            "daily_aggregation_schedule",
            "finalization_deadline_schedule",
            "raw_retention_schedule",
        }

        run_id = graphql.launch_partition("daily_aggregation_job", DAY.isoformat())
        run = wait_until(
            f"run {run_id} finishing",
            lambda: graphql.finished_run(run_id),
            processes,
            RUN_TIMEOUT,
        )
        run_seconds = time.monotonic() - started - startup_seconds
        assert run["status"] == "SUCCESS", f"{run}\n{processes.logs_tail()}"
        tags = {tag["key"]: tag["value"] for tag in run["tags"]}
        assert tags["dagster/partition"] == DAY.isoformat()
        # Queued by the webserver (dagster.yaml's QueuedRunCoordinator), so launched by the
        # daemon, the only one that dequeues; then started by a run worker.
        assert graphql.run_events(run_id) == [
            "RunEnqueuedEvent",
            "RunStartingEvent",
            "RunStartEvent",
            "RunSuccessEvent",
        ]
    finally:
        processes.stop()

    # The daemon's default run launcher asked our code server to start the run (recording which
    # server in a tag that GraphQL hides); the server's run worker wrote its events to the
    # server's output, and to no one else's.
    with psycopg.connect(dagster_database) as instance_database:
        (grpc_info,) = instance_database.execute(
            "SELECT value FROM run_tags WHERE run_id = %s AND key = '.dagster/grpc_info'",
            [run_id],
        ).fetchone()
    assert json.loads(grpc_info) == {"host": "127.0.0.1", "port": grpc_port}
    finished = f"{run_id} - "
    assert any(
        finished in line and "RUN_SUCCESS" in line for line in processes.lines("code server")
    ), processes.log("code server")
    for name in ("webserver", "daemon"):
        assert not any(finished in line for line in processes.lines(name)), processes.log(name)

    # Only the code server's processes knew this database: its run worker wrote the day.
    expected = expected_tables(traffic, [DAY])
    assert all(expected.values())  # the day has rows in each table
    assert actual_tables(conn) == expected
    assert not clik_home.exists()  # nobody fell back to an embedded server
    print(f"started in {startup_seconds:.1f} s, run finished {run_seconds:.1f} s later")


def health_check(port: int, environment: dict[str, str]) -> bool:
    check = subprocess.run(
        [str(BIN / "dagster"), "api", "grpc-health-check", "--host", "127.0.0.1", "-p", str(port)],
        env=environment,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return check.returncode == 0


class GraphQL:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/graphql"

    def query(self, text: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"query": text, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert "errors" not in answer, answer
        return answer["data"]

    def loaded_location(self) -> dict | None:
        """The workspace's location entry once loaded; None while the webserver starts."""
        try:
            data = self.query(WORKSPACE)
        except (urllib.error.URLError, ConnectionError):
            return None
        (entry,) = data["workspaceOrError"]["locationEntries"]
        return entry if entry["loadStatus"] == "LOADED" else None

    def launch_partition(self, job: str, partition: str) -> str:
        params = {
            "selector": {**LOCATION, "jobName": job},
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
        }
        result = self.query(LAUNCH_RUN, {"executionParams": params})["launchRun"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return result["run"]["runId"]

    def finished_run(self, run_id: str) -> dict | None:
        run = self.query(RUN, {"runId": run_id})["runOrError"]
        assert run["__typename"] == "Run", run
        return run if run["status"] in {"SUCCESS", "FAILURE", "CANCELED"} else None

    def run_events(self, run_id: str) -> list[str]:
        """The run's own events (not steps', not engine events), in order."""
        answer = self.query(RUN_EVENTS, {"runId": run_id})["logsForRun"]
        assert answer["__typename"] == "EventConnection", answer
        assert not answer["hasMore"]
        names = [event["__typename"] for event in answer["events"]]
        return [name for name in names if name.startswith("Run") and name.endswith("Event")]


WORKSPACE = """{
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        displayMetadata { key value }
        locationOrLoadError {
          __typename
          ... on RepositoryLocation {
            repositories {
              name
              jobs { name }
              schedules { name }
              assetNodes { assetKey { path } }
            }
          }
          ... on PythonError { message }
        }
      }
    }
    ... on PythonError { message }
  }
}"""

LAUNCH_RUN = """mutation ($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""

RUN = """query ($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status tags { key value } }
    ... on PythonError { message }
  }
}"""

RUN_EVENTS = """query ($runId: ID!) {
  logsForRun(runId: $runId, limit: 1000) {
    __typename
    ... on EventConnection { events { __typename } hasMore }
    ... on PythonError { message }
  }
}"""
