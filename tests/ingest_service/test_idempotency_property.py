"""Property: whatever batches are sent, in any order, retried, duplicated or concurrent, the
tables hold each distinct event once, every session's counters equal its rows, its time span
covers its events, and across all answers each distinct event was accepted exactly once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest_service.conftest import INGEST, ago, counters_disagreeing, iso

pytestmark = pytest.mark.anyio

SESSIONS = ("a", "b", "c")


@st.composite
def event_pool(draw: st.DrawFn) -> list[dict]:
    """Distinct events of three sessions, plus 'moved' copies (same id, another time) of some
    page views, which must count as the same event."""
    base = ago(hours=2)
    offset = st.integers(min_value=0, max_value=3600).map(lambda s: base + timedelta(seconds=s))
    pool: list[dict] = []
    for session_id in SESSIONS:
        if draw(st.booleans()):  # one session event per session, or none (stub)
            pool.append(
                {"type": "session", "data": {"session_id": session_id, "user_code": "u",
                                             "first_seen": iso(draw(offset)),
                                             "referrer": "https://r.example/"}}
            )  # fmt: skip
    for kind, time_field, extra, fewest in (
        ("page_view", "viewed_at", {"page_type": "home"}, 1),
        ("click", "clicked_at", {"click_target": "phone"}, 0),
    ):
        for _ in range(draw(st.integers(min_value=fewest, max_value=6))):
            data = {"id": str(uuid.uuid4()), "session_id": draw(st.sampled_from(SESSIONS)),
                    "user_code": "u", time_field: iso(draw(offset)), **extra}  # fmt: skip
            pool.append({"type": kind, "data": data})
            if draw(st.integers(min_value=0, max_value=4)) == 0:
                pool.append({"type": kind, "data": data | {time_field: iso(draw(offset))}})
    return pool


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dict], list[list[dict]], bool]:
    """An event pool, batches drawn from it (repeats allowed), and whether they are sent
    concurrently. Everything is drawn before the test runs (nothing is drawn inside the
    async test, where hypothesis' control-flow exceptions would cross the event loop)."""
    pool = draw(event_pool())
    batches = draw(
        st.lists(st.lists(st.sampled_from(pool), min_size=1, max_size=10), min_size=1, max_size=6)
    )
    batches.append(pool)  # a last retry sends everything once more
    return pool, batches, draw(st.booleans())


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
async def test_any_interleaving_stores_each_distinct_event_once(
    client, conn: psycopg.Connection, scenario: tuple[list[dict], list[list[dict]], bool]
) -> None:
    pool, batches, concurrent = scenario
    # DELETE, not TRUNCATE: on ~50 partitions TRUNCATE takes half a second per example.
    conn.execute("DELETE FROM analytics_page_views")
    conn.execute("DELETE FROM analytics_clicks")
    conn.execute("DELETE FROM analytics_sessions")

    async def send(events: list[dict]) -> dict:
        response = await client.post(INGEST, json={"events": events})
        assert response.status_code == 200
        return response.json()

    if concurrent:
        answers = list(await asyncio.gather(*(send(events) for events in batches)))
    else:
        answers = [await send(events) for events in batches]

    for events, answer in zip(batches, answers, strict=True):
        assert answer["rejected"] == []
        assert answer["accepted"] + answer["duplicates"] == len(events)

    def distinct(kind: str) -> set[str]:
        return {event["data"]["id"] for event in pool if event["type"] == kind}

    session_events = [event["data"] for event in pool if event["type"] == "session"]
    expected_accepted = len(distinct("page_view")) + len(distinct("click")) + len(session_events)
    assert sum(answer["accepted"] for answer in answers) == expected_accepted

    stored_views = [str(r[0]) for r in conn.execute("SELECT id FROM analytics_page_views")]
    stored_clicks = [str(r[0]) for r in conn.execute("SELECT id FROM analytics_clicks")]
    assert sorted(stored_views) == sorted(distinct("page_view"))
    assert sorted(stored_clicks) == sorted(distinct("click"))
    assert counters_disagreeing(conn) == []

    touched = {event["data"]["session_id"] for event in pool}
    spans = conn.execute(
        """
        SELECT s.session_id, s.first_seen, s.last_seen, min(e.at), max(e.at)
        FROM analytics_sessions s
        LEFT JOIN (SELECT session_id, viewed_at AS at FROM analytics_page_views
                   UNION ALL SELECT session_id, clicked_at FROM analytics_clicks) e
               USING (session_id)
        GROUP BY 1, 2, 3
        """
    ).fetchall()
    assert {row[0] for row in spans} == touched
    starts = {event["session_id"]: event["first_seen"] for event in session_events}
    for session_id, first_seen, last_seen, earliest, latest in spans:
        times = [t for t in (earliest, latest) if t is not None]
        if session_id in starts:
            times.append(ago(hours=0).fromisoformat(starts[session_id].replace("Z", "+00:00")))
        assert (first_seen, last_seen) == (min(times), max(times))
