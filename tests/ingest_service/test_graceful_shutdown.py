"""SIGTERM while groups are queued (docs/contract.md 3a): `clik serve` stops accepting, writes and answers
what is queued, then exits; every acknowledged event is stored, and nothing queued is dropped
without an answer."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.ingest_service.conftest import BROWSER, INGEST, batch, page_view, session_event
from tests.ingest_service.test_cli_serve import clik_environment, free_port

pytestmark = pytest.mark.anyio

REQUESTS = 40


async def test_sigterm_writes_and_answers_every_queued_batch(
    tmp_path: Path, database_url: str
) -> None:
    port = free_port()
    environment = clik_environment(tmp_path, database_url) | {
        # Groups gather for a while, so that batches are still queued when SIGTERM comes.
        "CLIK_INGEST_GROUP_WAIT_MS": "700",
        "CLIK_INGEST_WRITERS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "clik", "serve", "--port", str(port), "--workers", "2"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(
            base_url=base,
            headers={"User-Agent": BROWSER},
            timeout=30,
            limits=httpx.Limits(max_connections=REQUESTS),
        ) as client:
            for _ in range(300):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                await asyncio.sleep(0.1)
            # Open every connection first, so all requests reach the service before SIGTERM.
            await asyncio.gather(*(client.get("/healthz") for _ in range(REQUESTS)))

            bodies = [batch(session_event(f"s{n}"), page_view(f"s{n}")) for n in range(REQUESTS)]
            posts = [asyncio.ensure_future(client.post(INGEST, json=body)) for body in bodies]
            await asyncio.sleep(0.3)  # posted, and waiting in the queues
            terminated_at = datetime.now(UTC)
            process.send_signal(signal.SIGTERM)
            answers = await asyncio.gather(*posts, return_exceptions=True)
        exit_code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = process.stderr.read() if process.stderr else ""

    assert exit_code == 0, log
    assert "Traceback" not in log
    statuses = [answer.status_code for answer in answers if isinstance(answer, httpx.Response)]
    assert statuses == [200] * REQUESTS, answers  # nothing queued went unanswered
    acknowledged = {
        body["events"][1]["data"]["id"]
        for body, answer in zip(bodies, answers, strict=True)
        if isinstance(answer, httpx.Response) and answer.json()["accepted"] == 2
    }
    assert len(acknowledged) == REQUESTS
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT id::text, received_at FROM analytics_page_views").fetchall()
    assert {row[0] for row in stored} == acknowledged
    # The drain really happened: batches still queued at SIGTERM were written after it.
    assert max(row[1] for row in stored) > terminated_at
