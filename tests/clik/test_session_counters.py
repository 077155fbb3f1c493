"""Session counters stay equal to the event rows, whatever the inserts look like."""

import random
import threading
import uuid

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import (
    as_role,
    click,
    insert_clicks,
    insert_page_views,
    insert_sessions,
    page_view,
    session,
    utc,
)

COUNTERS_MATCH_ROWS = """
    SELECT s.session_id, s.page_views, s.clicks,
           (SELECT count(*) FROM analytics_page_views p WHERE p.session_id = s.session_id),
           (SELECT count(*) FROM analytics_clicks c WHERE c.session_id = s.session_id)
    FROM analytics_sessions s
    WHERE s.page_views <> (SELECT count(*) FROM analytics_page_views p
                           WHERE p.session_id = s.session_id)
       OR s.clicks <> (SELECT count(*) FROM analytics_clicks c WHERE c.session_id = s.session_id)
"""


def counters(conn: psycopg.Connection, session_id: str) -> tuple:
    return conn.execute(
        "SELECT page_views, clicks FROM analytics_sessions WHERE session_id = %s", [session_id]
    ).fetchone()


def test_multi_row_inserts_count_every_row_once(conn: psycopg.Connection) -> None:
    insert_sessions(
        conn, [session("s1", "2026-11-20 10:00:00"), session("s2", "2026-11-20 10:00:00")]
    )
    insert_page_views(
        conn,
        [
            page_view("s1", "2026-11-20 10:00:01"),
            page_view("s1", "2026-11-20 10:00:02"),
            page_view("s2", "2026-11-20 10:00:03"),
        ],
    )
    insert_clicks(conn, [click("s1", "2026-11-20 10:00:04")])
    assert counters(conn, "s1") == (2, 1)
    assert counters(conn, "s2") == (1, 0)


def test_duplicates_skipped_by_on_conflict_do_not_count(conn: psycopg.Connection) -> None:
    views = [page_view("s1", "2026-11-20 10:00:01"), page_view("s1", "2026-11-20 10:00:02")]
    clicks = [click("s1", "2026-11-20 10:00:03")]
    assert insert_page_views(conn, views) == 2
    assert insert_clicks(conn, clicks) == 1
    # The same batch again, plus one new view: only the new row counts.
    assert insert_page_views(conn, [*views, page_view("s1", "2026-11-20 10:00:05")]) == 1
    assert insert_clicks(conn, clicks) == 0
    assert counters(conn, "s1") == (3, 1)


def test_an_event_of_an_unknown_session_creates_it_from_its_own_fields(
    conn: psycopg.Connection,
) -> None:
    insert_clicks(
        conn,
        [click("late", "2026-11-20 10:00:05", user_code="u9", share_code="qr9", contact_id="c1")],
    )
    insert_page_views(
        conn, [page_view("late", "2026-11-20 09:59:00", user_code="u9", share_code="qr9")]
    )
    row = conn.execute("""SELECT user_code, share_code, contact_id, first_seen, last_seen,
                                 page_views, clicks
                          FROM analytics_sessions WHERE session_id = 'late'""").fetchone()
    assert row == ("u9", "qr9", "c1", utc("2026-11-20 09:59:00"), utc("2026-11-20 10:00:05"), 1, 1)


def test_session_span_widens_to_cover_its_events(conn: psycopg.Connection) -> None:
    insert_sessions(conn, [session("s1", "2026-11-20 10:00:00")])
    received_before = conn.execute(
        "SELECT received_at FROM analytics_sessions WHERE session_id = 's1'"
    ).fetchone()[0]
    insert_page_views(conn, [page_view("s1", "2026-11-20 11:00:00")])
    insert_clicks(conn, [click("s1", "2026-11-20 09:00:00")])
    first, last, received = conn.execute(
        "SELECT first_seen, last_seen, received_at FROM analytics_sessions"
    ).fetchone()
    assert (first, last) == (utc("2026-11-20 09:00:00"), utc("2026-11-20 11:00:00"))
    # first_seen moved: the late-data sensor must see this session again.
    assert received > received_before


def test_ingest_role_cannot_write_counters_itself(conn: psycopg.Connection) -> None:
    insert_sessions(conn, [session("s1", "2026-11-20 10:00:00")])
    for statement in (
        "UPDATE analytics_sessions SET page_views = 100",
        "INSERT INTO analytics_sessions (session_id, user_code, first_seen, last_seen,"
        " clicks) VALUES ('s2', 'u1', now(), now(), 7)",
    ):
        try:
            with as_role(conn, "clik_ingest"):
                conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            continue
        raise AssertionError(f"clik_ingest could run: {statement}")


def test_concurrent_writers_on_the_same_sessions_lose_no_update(database_url: str) -> None:
    session_ids = [f"shared-{n}" for n in range(8)]
    writers, batches_per_writer = 12, 15
    failures: list[BaseException] = []

    def write(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with psycopg.connect(database_url, autocommit=True) as conn:
                for _ in range(batches_per_writer):
                    chosen = sorted(rng.sample(session_ids, 4))
                    views = [
                        page_view(s, f"2026-11-20 10:{rng.randrange(60):02d}:00")
                        for s in chosen
                        for _ in range(rng.randrange(1, 4))
                    ]
                    clicks = [click(s, "2026-11-20 10:30:00") for s in chosen[:2]]
                    # One transaction per batch, as the ingest service writes it.
                    with as_role(conn, "clik_ingest"):
                        insert_page_views(conn, views)
                        insert_clicks(conn, clicks)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write, args=(seed,)) for seed in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with psycopg.connect(database_url) as conn:
        assert conn.execute(COUNTERS_MATCH_ROWS).fetchall() == []
        total_views, total_clicks = conn.execute(
            "SELECT sum(page_views), sum(clicks) FROM analytics_sessions"
        ).fetchone()
        assert total_clicks == writers * batches_per_writer * 2
        assert (
            total_views == conn.execute("SELECT count(*) FROM analytics_page_views").fetchone()[0]
        )


events = st.lists(
    st.tuples(
        st.sampled_from(["view", "click"]),
        st.sampled_from(["a", "b", "c"]),
        st.integers(min_value=0, max_value=11),
    ),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(events, min_size=1, max_size=6), repeat=st.lists(st.booleans(), max_size=6))
def test_any_sequence_of_batches_and_retries_keeps_counters_exact(
    conn: psycopg.Connection, batches: list, repeat: list
) -> None:
    conn.execute("TRUNCATE analytics_sessions, analytics_page_views, analytics_clicks")
    # A fixed id per (kind, session, minute): equal tuples are the same event sent twice.
    namespace = uuid.UUID("00000000-0000-0000-0000-00000000c11c")
    sent = []
    for index, batch in enumerate(batches):
        views = {}
        clicks = {}
        for kind, session_id, minute in batch:
            at = f"2026-11-20 10:{minute:02d}:00"
            event_id = uuid.uuid5(namespace, f"{kind}{session_id}{minute}")
            if kind == "view":
                views[event_id] = page_view(session_id, at, id=event_id)
            else:
                clicks[event_id] = click(session_id, at, id=event_id)
        for _ in range(2 if index < len(repeat) and repeat[index] else 1):
            with conn.transaction():
                insert_page_views(conn, list(views.values()))
                insert_clicks(conn, list(clicks.values()))
        sent.append((views, clicks))
    distinct_views = {i for views, _ in sent for i in views}
    distinct_clicks = {i for _, clicks in sent for i in clicks}
    assert conn.execute("SELECT count(*) FROM analytics_page_views").fetchone()[0] == len(
        distinct_views
    )
    assert conn.execute("SELECT count(*) FROM analytics_clicks").fetchone()[0] == len(
        distinct_clicks
    )
    assert conn.execute(COUNTERS_MATCH_ROWS).fetchall() == []
