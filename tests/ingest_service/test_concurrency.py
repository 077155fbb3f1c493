"""Dozens of clients posting batches over the same sessions at once: no errors (no deadlock
surfaces), no lost counter update, each event stored once."""

from __future__ import annotations

import asyncio
import random

import psycopg
import pytest

from ingest_service.app import create_app
from tests.ingest_service.conftest import (
    INGEST,
    ago,
    click,
    counters_disagreeing,
    page_view,
    running,
    session_event,
)

pytestmark = pytest.mark.anyio

CLIENTS = 32
BATCHES_PER_CLIENT = 4
SESSIONS = [f"s{i:02d}" for i in range(12)]


def overlapping_batch(rng: random.Random) -> list[dict]:
    """20 events over several shared sessions, in random session order (so that without a
    fixed lock order two batches would lock the same sessions in opposite orders)."""
    chosen = rng.sample(SESSIONS, 6)
    events = []
    for _ in range(20):
        session_id = rng.choice(chosen)
        moment = ago(seconds=rng.randint(0, 3000))
        kind = rng.random()
        if kind < 0.15:
            events.append(session_event(session_id, first_seen=moment))
        elif kind < 0.7:
            events.append(page_view(session_id, viewed_at=moment))
        else:
            events.append(click(session_id, clicked_at=moment))
    return events


async def test_concurrent_batches_on_shared_sessions_lose_nothing(
    make_settings, conn: psycopg.Connection
) -> None:
    rng = random.Random(7)
    batches = [[overlapping_batch(rng) for _ in range(BATCHES_PER_CLIENT)] for _ in range(CLIENTS)]
    sent_ids = {
        event["data"]["id"]
        for client_batches in batches
        for events in client_batches
        for event in events
        if "id" in event["data"]
    }

    async with running(create_app(make_settings(db_pool_max_size=16))) as client:

        async def one_client(client_batches: list[list[dict]]) -> list[tuple[int, dict]]:
            answers = []
            for events in client_batches:
                # Every batch twice (a retry racing other clients' batches): still once.
                for _ in range(2):
                    response = await client.post(INGEST, json={"events": events})
                    answers.append((response.status_code, response.json()))
            return answers

        results = await asyncio.gather(*(one_client(b) for b in batches))

    statuses = {status for answers in results for status, _ in answers}
    assert statuses == {200}
    assert all(answer["rejected"] == [] for answers in results for _, answer in answers)
    stored = conn.execute(
        "SELECT (SELECT count(*) FROM analytics_page_views) + (SELECT count(*) FROM analytics_clicks)"
    ).fetchone()[0]
    assert stored == len(sent_ids)
    assert counters_disagreeing(conn) == []
    totals = conn.execute("SELECT sum(page_views) + sum(clicks) FROM analytics_sessions").fetchone()
    assert totals == (len(sent_ids),)
