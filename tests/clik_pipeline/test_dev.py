"""`clik dev`: a taken port is one clear line before anything starts; otherwise the ingest
service and Dagster (UI with both asset groups and the schedules) come up, and Ctrl-C stops
all of it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from clik.database import with_database
from tests.conftest import drop_database

INGEST_PORT, DAGSTER_PORT = 13020, 13021  # this component's range


def clik(*args: str, environment: dict[str, str], log: Path) -> subprocess.Popen:
    """`clik ...` with its (and its children's) messages going to `log`."""
    with open(log, "w") as messages:
        return subprocess.Popen(
            [sys.executable, "-m", "clik", *args],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=messages,
        )


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLIK_", "DAGSTER_"))}
    return {**clean, "CLIK_HOME": str(tmp_path / "home")}


def test_a_taken_port_is_one_line_and_nothing_starts(
    environment: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "dev.log"
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # after the other test
        taken.bind(("127.0.0.1", DAGSTER_PORT))
        taken.listen()
        process = clik("dev", "--dagster-port", str(DAGSTER_PORT), environment=environment, log=log)
        process.wait(timeout=60)
    assert process.returncode == 1
    assert log.read_text().strip().splitlines() == [
        f"Error: port {DAGSTER_PORT} is in use on 127.0.0.1: stop what uses it or choose "
        "another with --dagster-port"
    ]
    assert not Path(environment["CLIK_HOME"]).exists()  # no database was started


@pytest.fixture
def dagster_database(server_url: str, database_url: str) -> Iterator[str]:
    """URL of the database `clik dev` creates for the Dagster instance; dropped afterwards."""
    name = conninfo_to_dict(database_url)["dbname"] + "_dagster"
    yield with_database(database_url, name)
    drop_database(server_url, name)


def test_clik_dev_serves_ingest_and_dagster_and_stops_on_ctrl_c(
    environment: dict[str, str], database_url: str, dagster_database: str, tmp_path: Path
) -> None:
    environment["CLIK_DATABASE_URL"] = database_url
    log = tmp_path / "dev.log"
    process = clik(
        "dev",
        "--ingest-port",
        str(INGEST_PORT),
        "--dagster-port",
        str(DAGSTER_PORT),
        environment=environment,
        log=log,
    )
    try:
        wait_for_line(process, log, "Ctrl-C stops everything", timeout=300)
        assert get(f"http://127.0.0.1:{INGEST_PORT}/healthz") == {"status": "ok"}
        groups = graphql("{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
        assert {node["groupName"] for node in groups} >= {"raw", "daily"}
        schedules = graphql(
            '{ schedulesOrError(repositorySelector: {repositoryLocationName: "clik", '
            'repositoryName: "__repository__"}) { ... on Schedules { results { name '
            "scheduleState { status } } } } }"
        )["schedulesOrError"]["results"]
        assert {(s["name"], s["scheduleState"]["status"]) for s in schedules} == {
            ("daily_aggregation_schedule", "RUNNING"),
            ("finalization_deadline_schedule", "RUNNING"),
            ("raw_retention_schedule", "RUNNING"),
        }
        # The instance (runs, schedules, sensor state) lives in PostgreSQL beside the analytics.
        with psycopg.connect(dagster_database) as instance_database:
            assert instance_database.execute("SELECT to_regclass('runs')").fetchone() != (None,)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    messages = log.read_text()
    assert process.returncode == 0, messages[-3000:]
    assert "clik dev: stopped" in messages
    for port in (INGEST_PORT, DAGSTER_PORT):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more


def wait_for_line(process: subprocess.Popen, log: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text():
            return
        if process.poll() is not None:
            raise AssertionError(f"clik dev exited with {process.returncode}: {log.read_text()}")
        time.sleep(0.5)
    raise AssertionError(f"no {text!r} within {timeout} s: {log.read_text()[-3000:]}")


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def graphql(query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{DAGSTER_PORT}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    assert "errors" not in answer, answer
    return answer["data"]
