"""A client that hangs up in the middle of its body, against a real server (`clik serve`):
no traceback in the server's log, at most one line per aborted upload (anyone can send them),
and the server goes on answering."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.ingest_service.conftest import BROWSER, INGEST, batch, page_view, session_event
from tests.ingest_service.test_cli_serve import clik_environment, free_port

ABORTS = 20
STARTED = "Application startup complete."
# What uvicorn itself says once started and while it stops: not about the requests.
LIFECYCLE = (
    "Uvicorn running on",
    "Shutting down",
    "Waiting for",
    "Application shutdown complete",
    "Finished server",
)


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> str:
        """Stops the server (gracefully: uvicorn first waits for the requests it is handling)
        and returns all it wrote."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)
        return self.log.read_text()


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[Server]:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "clik", "serve", "--port", str(port)],
            env=clik_environment(tmp_path, database_url),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    started = Server(port, process, log)
    try:
        wait_until_ready(started)
        yield started
    finally:
        started.stop()


def wait_until_ready(server: Server) -> None:
    for _ in range(300):
        try:
            if httpx.get(f"{server.base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.process.poll() is None, server.log.read_text()
        time.sleep(0.1)
    raise AssertionError(f"the server never became ready:\n{server.log.read_text()}")


def abort_an_upload(port: int) -> None:
    """Announces 100 bytes of body, sends 10, and hangs up."""
    head = (
        f"POST {INGEST} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"User-Agent: {BROWSER}\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 100\r\n"
        "\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head.encode() + b'{"events":')


def lines_about_requests(log: str) -> list[str]:
    """The lines the server wrote after its startup, except uvicorn's own notices."""
    after_startup = log.split(STARTED, 1)[1].splitlines()[1:]
    return [line for line in after_startup if not any(notice in line for notice in LIFECYCLE)]


def test_aborted_uploads_cost_no_traceback_and_the_server_goes_on(server: Server) -> None:
    for _ in range(ABORTS):
        abort_an_upload(server.port)

    body = batch(session_event("s1"), page_view("s1"))
    after = httpx.post(server.base + INGEST, json=body, headers={"User-Agent": BROWSER})
    assert after.status_code == 200
    assert after.json()["accepted"] == 2

    log = server.stop()
    assert STARTED in log
    assert "Traceback" not in log
    assert len(lines_about_requests(log)) <= ABORTS, log
