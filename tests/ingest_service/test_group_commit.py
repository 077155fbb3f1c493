"""Group commit (docs/contract.md 3a): batches written together are answered and stored exactly as if each
had been written alone, in queue order, by the one-batch-per-transaction writer that came
before (ingest_batch() of sql/0011, kept here as the oracle); failures stay with the batches
they belong to; the queue is bounded; a client that leaves cancels nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clik.database import with_database
from ingest_service.app import create_app
from ingest_service.events import TimeWindow, check_events
from ingest_service.group_commit import GroupCommitter
from ingest_service.plan import OTHER_USER_CODE, Outcome, WritePlan, plan_batch
from ingest_service.settings import IngestSettings
from ingest_service.store import write_group
from tests.conftest import create_database, drop_database
from tests.ingest_service.conftest import (
    INGEST,
    ago,
    batch,
    click,
    counters_disagreeing,
    iso,
    page_view,
    running,
    session_event,
    table_counts,
)

pytestmark = pytest.mark.anyio

REPOSITORY = Path(__file__).resolve().parents[2]
SERIAL_WRITER = (REPOSITORY / "sql" / "0011_session_share_code_marks_day_changed.sql").read_text()
USER_CODES = {"a": "card-a", "b": "card-a", "c": "card-b", "d": "card-c"}  # session -> its card


# --- the oracle: one batch per transaction, as before group commit ---------------------------


async def write_alone_as_before(
    conn: psycopg.AsyncConnection, plan: WritePlan, window: TimeWindow
) -> Outcome:
    """What the service answered before group commit (store.write_batch over ingest_batch())."""
    outcome = plan.outcome.copy()
    cursor = await conn.execute(
        "SELECT changed_sessions, page_views_inserted, clicks_inserted FROM ingest_batch("
        "%s::json, %s::text[], %s::json, %s::json, %s::uuid[], %s::uuid[], %s, %s)",
        [
            orjson.dumps(plan.sessions).decode(),
            [session_id for session_id, _ in plan.session_events],
            orjson.dumps(plan.page_views).decode(),
            orjson.dumps(plan.clicks).decode(),
            [view.id for view in plan.page_views],
            [item.id for item in plan.clicks],
            window.start,
            window.end,
        ],
    )
    changed_sessions, page_views_inserted, clicks_inserted = await cursor.fetchone()  # type: ignore[misc]
    for (session_id, _), indexes in plan.session_events.items():
        if session_id in changed_sessions:
            outcome.accepted += len(indexes)
        else:
            outcome.duplicates += len(indexes)
    outcome.accepted += page_views_inserted + clicks_inserted
    outcome.duplicates += len(plan.page_views) - page_views_inserted
    outcome.duplicates += len(plan.clicks) - clicks_inserted
    outcome.rejected.sort()
    return outcome


@pytest.fixture
def oracle_url(server_url: str, template_database: str) -> Iterator[str]:
    """A second fresh database, holding the serial writer of sql/0011."""
    name = f"clik_oracle_{uuid.uuid4().hex[:10]}"
    create_database(server_url, name, template=template_database)
    url = with_database(server_url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SERIAL_WRITER)
    try:
        yield url
    finally:
        drop_database(server_url, name)


def stored_state(conn: psycopg.Connection) -> tuple[list, list, list]:
    """Everything the batches decide about the raw tables (receive times aside)."""
    return (
        conn.execute(
            "SELECT session_id, user_code, share_code, contact_id, first_seen, last_seen,"
            " ip_address, user_agent, referrer, page_views, clicks"
            " FROM analytics_sessions ORDER BY session_id"
        ).fetchall(),
        conn.execute(
            "SELECT id, session_id, user_code, share_code, contact_id, page_type, viewed_at"
            " FROM analytics_page_views ORDER BY id, viewed_at"
        ).fetchall(),
        conn.execute(
            "SELECT id, session_id, user_code, share_code, contact_id, click_target,"
            " click_category, clicked_at FROM analytics_clicks ORDER BY id, clicked_at"
        ).fetchall(),
    )


# --- the property ----------------------------------------------------------------------------


@st.composite
def grouped_batches(draw: st.DrawFn) -> tuple[list[list[dict]], list[int], list[str | None]]:
    """Batches over four sessions (each of one card, as the serial writer assumes), drawn from
    a pool of events so that ids, sessions and whole batches repeat; the group sizes they are
    cut into; and each batch's User-Agent header."""
    base = ago(hours=3)
    moment = st.integers(min_value=0, max_value=7200).map(lambda s: base + timedelta(seconds=s))
    maybe = st.sampled_from([None, "x", "y"])
    pool: list[dict] = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        session_id = draw(st.sampled_from(sorted(USER_CODES)))
        first = draw(moment)
        data: dict[str, Any] = {
            "session_id": session_id,
            "user_code": USER_CODES[session_id],
            "first_seen": iso(first),
            "last_seen": iso(first + timedelta(seconds=draw(st.integers(0, 900)))),
            "share_code": draw(maybe),
            "contact_id": draw(maybe),
            "referrer": draw(maybe),
            "user_agent": draw(st.sampled_from([None, "Mozilla/5.0 (A)", "Mozilla/5.0 (B)"])),
        }
        pool.append({"type": "session", "data": data})
    page_view_ids: list[str] = []
    for kind, time_field, extra in (
        ("page_view", "viewed_at", {"page_type": "home"}),
        ("click", "clicked_at", {"click_target": "phone", "click_category": "contact"}),
    ):
        for _ in range(draw(st.integers(min_value=1, max_value=8))):
            session_id = draw(st.sampled_from(sorted(USER_CODES)))
            event_id = str(uuid.uuid4())
            if kind == "page_view":
                page_view_ids.append(event_id)
            elif draw(st.integers(min_value=0, max_value=4)) == 0:  # a click with a view's id
                event_id = draw(st.sampled_from(page_view_ids))
            data = {"id": event_id, "session_id": session_id,
                    "user_code": USER_CODES[session_id], "share_code": draw(maybe),
                    "contact_id": draw(maybe), time_field: iso(draw(moment)), **extra}  # fmt: skip
            pool.append({"type": kind, "data": data})
            if draw(st.integers(min_value=0, max_value=3)) == 0:  # same id, another time
                pool.append({"type": kind, "data": data | {time_field: iso(draw(moment))}})
    batches = draw(
        st.lists(st.lists(st.sampled_from(pool), min_size=1, max_size=8), min_size=1, max_size=10)
    )
    sizes = []
    left = len(batches)
    while left:
        sizes.append(draw(st.integers(min_value=1, max_value=left)))
        left -= sizes[-1]
    agents = [draw(st.sampled_from([None, "Mozilla/5.0 (H)"])) for _ in batches]
    return batches, sizes, agents


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=grouped_batches())
async def test_groups_answer_and_store_exactly_what_serial_writes_would(
    database_url: str,
    oracle_url: str,
    scenario: tuple[list[list[dict]], list[int], list[str | None]],
) -> None:
    batches, sizes, agents = scenario
    window = TimeWindow.around(datetime.now(UTC), 168)
    plans = [
        plan_batch(check_events(events, window), header_user_agent=agent, ip_address="192.0.2.0")
        for events, agent in zip(batches, agents, strict=True)
    ]
    for url in (database_url, oracle_url):
        with psycopg.connect(url, autocommit=True) as conn:
            for table in ("analytics_page_views", "analytics_clicks", "analytics_sessions"):
                conn.execute(f"DELETE FROM {table}")

    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("SET ROLE clik_ingest")
        grouped: list[Outcome] = []
        start = 0
        for size in sizes:
            group = plans[start : start + size]
            grouped += await write_group(conn, group, [window] * size)
            start += size
    async with await psycopg.AsyncConnection.connect(oracle_url, autocommit=True) as conn:
        serial = [await write_alone_as_before(conn, plan, window) for plan in plans]

    assert grouped == serial
    with (
        psycopg.connect(database_url) as grouped_db,
        psycopg.connect(oracle_url) as serial_db,
    ):
        assert stored_state(grouped_db) == stored_state(serial_db)
        assert counters_disagreeing(grouped_db) == []


# --- through the service: groups really form ---------------------------------------------------


@pytest.fixture
def grouping_settings(make_settings: Callable[..., IngestSettings]) -> IngestSettings:
    """One writer that waits a moment, so that concurrent requests form one group."""
    return make_settings(ingest_writers=1, ingest_group_wait_ms=150)


async def post_together(client: Any, bodies: list[dict]) -> list:
    return list(await asyncio.gather(*(client.post(INGEST, json=body) for body in bodies)))


def transactions_holding_events(conn: psycopg.Connection) -> int:
    return conn.execute(
        "SELECT count(DISTINCT xmin::text) FROM"
        " (SELECT xmin FROM analytics_page_views UNION ALL SELECT xmin FROM analytics_clicks) e"
    ).fetchone()[0]


async def test_concurrent_batches_are_written_in_one_transaction_each_answered_exactly(
    grouping_settings: IngestSettings, conn: psycopg.Connection
) -> None:
    shared = page_view("s1")
    bodies = [
        batch(session_event("s1"), shared),
        batch(shared, click("s1")),  # the same page view again: a duplicate
        batch(session_event("s2"), page_view("s2"), page_view("s2")),
    ]
    async with running(create_app(grouping_settings)) as client:
        answers = [response.json() for response in await post_together(client, bodies)]
    assert answers == [
        {"accepted": 2, "duplicates": 0, "rejected": []},
        {"accepted": 1, "duplicates": 1, "rejected": []},
        {"accepted": 3, "duplicates": 0, "rejected": []},
    ]
    assert table_counts(conn) == (2, 3, 1)
    assert transactions_holding_events(conn) == 1
    assert counters_disagreeing(conn) == []


async def test_an_event_naming_a_session_of_another_user_code_is_rejected_alone(
    client: Any, conn: psycopg.Connection
) -> None:
    await client.post(INGEST, json=batch(session_event("s1", user_code="alice")))
    answer = (
        await client.post(
            INGEST,
            json=batch(
                page_view("s1", user_code="mallory"),
                click("s1", user_code="mallory"),
                session_event("s1", user_code="mallory", contact_id="c-9"),
                page_view("s1", user_code="alice"),
            ),
        )
    ).json()
    assert answer == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": [{"index": i, "error": OTHER_USER_CODE} for i in (0, 1, 2)],
    }
    row = conn.execute(
        "SELECT user_code, contact_id, page_views, clicks FROM analytics_sessions"
    ).fetchone()
    assert row == ("alice", None, 1, 0)


async def test_inside_one_batch_a_session_belongs_to_its_first_user_code(
    client: Any, conn: psycopg.Connection
) -> None:
    answer = (
        await client.post(
            INGEST,
            json=batch(
                page_view("s1", viewed_at=ago(minutes=9), user_code="late"),
                page_view("s1", viewed_at=ago(minutes=20), user_code="early"),
                session_event("s2", user_code="bob"),
                session_event("s2", user_code="eve", referrer="https://eve.example/"),
                click("s2", user_code="eve"),
                click("s2", user_code="bob"),
            ),
        )
    ).json()
    assert answer["accepted"] == 3
    assert answer["rejected"] == [
        {"index": i, "error": OTHER_USER_CODE} for i in (0, 3, 4)
    ]  # a new session is its earliest event's (s1) or its first session event's (s2)
    assert conn.execute(
        "SELECT session_id, user_code, referrer, page_views, clicks FROM analytics_sessions"
        " ORDER BY 1"
    ).fetchall() == [("s1", "early", None, 1, 0), ("s2", "bob", "https://example.com/", 0, 1)]


async def test_in_one_group_the_first_batch_decides_a_new_sessions_user_code(
    grouping_settings: IngestSettings, conn: psycopg.Connection
) -> None:
    bodies = [
        batch(session_event("s1", user_code="alice"), page_view("s1", user_code="alice")),
        batch(page_view("s1", user_code="mallory"), session_event("s1", user_code="mallory")),
        batch(click("s1", user_code="alice")),
    ]
    async with running(create_app(grouping_settings)) as client:
        answers = [response.json() for response in await post_together(client, bodies)]
    assert [answer["accepted"] for answer in answers] == [2, 0, 1]
    assert answers[1]["rejected"] == [
        {"index": 0, "error": OTHER_USER_CODE},
        {"index": 1, "error": OTHER_USER_CODE},
    ]
    assert conn.execute(
        "SELECT user_code, page_views, clicks FROM analytics_sessions"
    ).fetchall() == [("alice", 1, 1)]
    assert transactions_holding_events(conn) == 1


async def test_a_page_view_and_a_click_may_share_an_id(
    client: Any, conn: psycopg.Connection
) -> None:
    """Each table answers for its own ids: a click stored already is a duplicate even when a
    page view with the same id is new."""
    shared_id = str(uuid.uuid4())
    first = await client.post(INGEST, json=batch(session_event("s1"), click("s1", id=shared_id)))
    assert first.json()["accepted"] == 2
    again = await client.post(
        INGEST, json=batch(page_view("s1", id=shared_id), click("s1", id=shared_id))
    )
    assert again.json() == {"accepted": 1, "duplicates": 1, "rejected": []}
    assert table_counts(conn) == (1, 1, 1)


async def test_several_writers_that_wait_for_a_group_share_the_queue(
    make_settings: Callable[..., IngestSettings], conn: psycopg.Connection
) -> None:
    """Two writers woken by one arrival both wait CLIK_INGEST_GROUP_WAIT_MS; the one that finds
    the queue emptied by the other goes back to waiting (it once died on an empty queue)."""
    settings_ = make_settings(ingest_writers=2, ingest_group_wait_ms=50)
    app = create_app(settings_)
    async with running(app) as client:
        for burst in range(3):
            bodies = [batch(session_event(f"b{burst}-{n}"), page_view(f"b{burst}-{n}"))
                      for n in range(5)]  # fmt: skip
            answers = await post_together(client, bodies)
            assert [answer.status_code for answer in answers] == [200] * 5
            await asyncio.sleep(0.2)  # both writers slept and woke again
        committer: GroupCommitter = app.state.group_commit
        pending = [
            asyncio.ensure_future(committer.submit(plan, window))
            for plan, window in planned([page_view(f"late-{n}") for n in range(3)])
        ]
        await asyncio.sleep(0)  # queued (and waiting for the group) when the app closes
    # the app has closed: every batch queued until then was written and answered
    assert [outcome.accepted for outcome in await asyncio.gather(*pending)] == [1, 1, 1]
    assert table_counts(conn) == (18, 18, 0)


def planned(events: list[dict]) -> list[tuple[WritePlan, TimeWindow]]:
    window = TimeWindow.around(datetime.now(UTC), 168)
    return [
        (plan_batch(check_events([event], window), header_user_agent=None, ip_address=None), window)
        for event in events
    ]


# --- failures stay with their batches --------------------------------------------------------


@pytest.fixture
def poisoned(conn: psycopg.Connection) -> psycopg.Connection:
    """The test database refuses page views of type 'poison' (an error no validation knows)
    and sleeps 2 s on type 'slow' (a stalled statement)."""
    conn.execute(
        """
        CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.page_type = 'poison' THEN RAISE EXCEPTION 'poisoned page view'; END IF;
            IF NEW.page_type = 'slow' THEN PERFORM pg_sleep(2); END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER test_poison BEFORE INSERT ON analytics_page_views
            FOR EACH ROW EXECUTE FUNCTION test_poison();
        """
    )
    return conn


async def test_a_group_that_fails_for_one_batch_is_retried_batch_by_batch(
    grouping_settings: IngestSettings, poisoned: psycopg.Connection
) -> None:
    bodies = [
        batch(session_event("s1"), page_view("s1")),
        batch(page_view("s2", page_type="poison")),
        batch(click("s3"), page_view("s3")),
    ]
    async with running(create_app(grouping_settings)) as client:
        responses = await post_together(client, bodies)
    assert [response.status_code for response in responses] == [200, 500, 200]
    assert "could not be stored" in responses[1].json()["error"]
    assert responses[0].json()["accepted"] == 2
    assert responses[2].json()["accepted"] == 2
    assert table_counts(poisoned) == (2, 2, 1)  # nothing of the poisoned batch


async def test_an_outage_during_a_group_answers_every_batch_503_and_writes_nothing(
    make_settings: Callable[..., IngestSettings], poisoned: psycopg.Connection
) -> None:
    stalls = make_settings(ingest_writers=1, ingest_group_wait_ms=150, db_statement_timeout_ms=500)
    bodies = [
        batch(session_event("s1"), page_view("s1")),
        batch(page_view("s2", page_type="slow")),
        batch(click("s3")),
    ]
    async with running(create_app(stalls)) as client:
        responses = await post_together(client, bodies)
    assert [response.status_code for response in responses] == [503, 503, 503]
    assert all(response.headers["retry-after"] for response in responses)
    assert table_counts(poisoned) == (0, 0, 0)


async def test_a_full_queue_answers_503_at_once_and_loses_nothing_accepted(
    make_settings: Callable[..., IngestSettings], poisoned: psycopg.Connection
) -> None:
    small = make_settings(ingest_writers=1, ingest_queue_max_events=6, db_statement_timeout_ms=5000)
    async with running(create_app(small)) as client:
        stalled = asyncio.ensure_future(
            client.post(INGEST, json=batch(page_view("slow", page_type="slow")))
        )
        await asyncio.sleep(0.5)  # the writer is now inside the slow transaction
        waiting = [batch(session_event(f"s{n}"), page_view(f"s{n}")) for n in range(6)]
        responses = await post_together(client, waiting)
        assert (await stalled).status_code == 200
    statuses = [response.status_code for response in responses]
    assert statuses.count(200) == 3  # 3 batches of 2 events fill the queue of 6
    assert statuses.count(503) == 3
    refused = [response for response in responses if response.status_code == 503]
    assert all("queue is full" in response.json()["error"] for response in refused)
    assert table_counts(poisoned) == (4, 4, 0)  # the slow batch's and the 3 accepted ones


async def test_a_request_that_stops_waiting_cancels_no_write(
    make_settings: Callable[..., IngestSettings], conn: psycopg.Connection
) -> None:
    settings_ = make_settings(ingest_writers=1, ingest_group_wait_ms=200)
    window = TimeWindow.around(datetime.now(UTC), 168)
    plans = [
        plan_batch(
            check_events([session_event(f"s{n}"), page_view(f"s{n}")], window),
            header_user_agent=None,
            ip_address=None,
        )
        for n in range(3)
    ]
    app = create_app(settings_)
    async with app.router.lifespan_context(app):
        committer: GroupCommitter = app.state.group_commit
        waiting = [asyncio.ensure_future(committer.submit(plan, window)) for plan in plans]
        await asyncio.sleep(0.05)
        waiting[1].cancel()  # its client went away while the group gathered
        done = await asyncio.gather(waiting[0], waiting[2])
        assert [outcome.accepted for outcome in done] == [2, 2]
    assert table_counts(conn) == (3, 3, 0)  # the cancelled request's batch was written too
