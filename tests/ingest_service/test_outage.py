"""The real PostgreSQL server stops in the middle of traffic and comes back: the service
answers 503 + Retry-After meanwhile, recovers without a restart, every acknowledged event is
stored exactly once, and nothing refused while the server was down is stored."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import anyio
import psycopg
import pytest

from clik.embedded import EmbeddedServer
from ingest_service.app import create_app
from ingest_service.settings import IngestSettings
from tests.ingest_service.conftest import (
    INGEST,
    click,
    counters_disagreeing,
    page_view,
    running,
    session_event,
)

pytestmark = pytest.mark.anyio

CLIENTS = 8


@dataclass
class Sent:
    events: list[dict]
    sent_at: float
    answered_at: float
    status: int
    retry_after: str | None


def stored_ids(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [
            str(row[0])
            for row in conn.execute(
                "SELECT id FROM analytics_page_views UNION ALL SELECT id FROM analytics_clicks"
            )
        ]


async def test_acknowledged_events_survive_an_outage_and_the_service_recovers(
    own_server: EmbeddedServer, tmp_path: Path
) -> None:
    url = own_server.url()
    settings = IngestSettings(
        database_url=url,
        home=tmp_path / "home",
        db_pool_min_size=2,
        db_pool_max_size=4,
        db_pool_timeout_s=0.5,
        db_connect_timeout_s=2,
        db_reconnect_timeout_s=1,
    )
    log: list[Sent] = []
    stop_sending = asyncio.Event()

    async with running(create_app(settings)) as client:

        async def post(events: list[dict]) -> Sent:
            began = time.monotonic()
            response = await client.post(INGEST, json={"events": events})
            sent = Sent(
                events, began, time.monotonic(), response.status_code,
                response.headers.get("retry-after"),
            )  # fmt: skip
            log.append(sent)
            return sent

        async def traffic(number: int) -> None:
            serial = 0
            while not stop_sending.is_set():
                serial += 1
                session_id = f"c{number}-{serial % 3}"
                await post([session_event(session_id), page_view(session_id), click(session_id)])
                await asyncio.sleep(0.01)

        async with anyio.create_task_group() as senders:
            for number in range(CLIENTS):
                senders.start_soon(traffic, number)
            await asyncio.sleep(0.5)
            await anyio.to_thread.run_sync(own_server.stop)
            down_since = time.monotonic()
            await asyncio.sleep(1.5)
            down_until = time.monotonic()
            await anyio.to_thread.run_sync(own_server.start)
            # Back by itself: keep sending until batches are acknowledged again.
            for _ in range(200):
                if any(s.status == 200 and s.sent_at > down_until for s in log):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            stop_sending.set()

        assert {s.status for s in log} == {200, 503}
        refused = [s for s in log if s.status == 503]
        assert all(s.retry_after and int(s.retry_after) > 0 for s in refused)
        recovered = [s for s in log if s.status == 200 and s.sent_at > down_until]
        assert recovered, "the service did not recover without a restart"

        acknowledged = [e["data"]["id"] for s in log if s.status == 200 for e in s.events
                        if "id" in e["data"]]  # fmt: skip
        refused_while_down = {e["data"]["id"] for s in refused
                              if s.sent_at > down_since and s.answered_at < down_until
                              for e in s.events if "id" in e["data"]}  # fmt: skip
        assert refused_while_down, "no batch was sent while the server was down"
        stored = stored_ids(url)
        assert len(stored) == len(set(stored))
        assert set(acknowledged) <= set(stored)
        assert not refused_while_down & set(stored)

        # The tracker retries what was refused: then everything is stored, once.
        for sent in refused:
            assert (await post(sent.events)).status == 200
        every_id = {e["data"]["id"] for s in log for e in s.events if "id" in e["data"]}
        stored = stored_ids(url)
        assert sorted(stored) == sorted(every_id)
        with psycopg.connect(url) as conn:
            assert counters_disagreeing(conn) == []
