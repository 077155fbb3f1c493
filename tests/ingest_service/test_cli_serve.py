"""`clik serve`: runs the service on the port asked; failures are one line, not a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ingest_service.conftest import BROWSER, INGEST, batch, click, page_view, session_event


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clik_environment(home: Path, database_url: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CLIK_")}
    return environment | {"CLIK_HOME": str(home), "CLIK_DATABASE_URL": database_url}


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "clik", "serve", "--port", str(port), "--workers", "2"],
        env=clik_environment(tmp_path, database_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_serve_answers_and_a_busy_port_is_one_line(
    served: str, tmp_path: Path, database_url: str
) -> None:
    body = batch(session_event("s1"), page_view("s1"), click("s1"))
    headers = {"User-Agent": BROWSER}
    assert httpx.post(served + INGEST, json=body, headers=headers).json()["accepted"] == 3
    assert httpx.post(served + INGEST, json=body, headers=headers).json()["duplicates"] == 3

    port = served.rsplit(":", 1)[1]
    busy = subprocess.run(
        [sys.executable, "-m", "clik", "serve", "--port", port],
        env=clik_environment(tmp_path, database_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert busy.returncode != 0
    assert busy.stderr.strip().splitlines() == [
        f"Error: port {port} is in use on 127.0.0.1: choose another with --port"
    ]


def test_serve_without_a_database_is_one_line(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CLIK_")}
    result = subprocess.run(
        [sys.executable, "-m", "clik", "serve", "--port", str(free_port())],
        env=environment | {"CLIK_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "clik db up" in result.stderr


def test_serve_with_an_invalid_setting_is_one_line(tmp_path: Path, database_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "clik", "serve", "--port", str(free_port())],
        env=clik_environment(tmp_path, database_url) | {"CLIK_IP_MODE": "sometimes"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Error: invalid setting CLIK_IP_MODE: Input should be 'full', 'truncate', 'hash' or 'none'"
    ]
