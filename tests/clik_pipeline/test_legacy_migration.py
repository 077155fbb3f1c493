"""The legacy migration's database work (clik_pipeline/defs/legacy/migration.py and its query):
mapping, unmappable rows, chunks, resuming, re-runs, reconciliation, and the role it runs as."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from clik.errors import ClikError
from clik_pipeline.defs.legacy.migration import LOCK_KEY, migrate, queries, reconcile

EPOCH = date(2000, 1, 1)
DAY = datetime(2026, 10, 5, tzinfo=UTC)


def legacy(
    conn: psycopg.Connection,
    event_type: str,
    data: Any,
    created_at: datetime = DAY,
    id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Inserts one legacy row as the old system stored it; returns its id."""
    row_id = id or uuid.uuid4()
    conn.execute(
        "INSERT INTO analytics_events (id, event_type, event_data, created_at) "
        "VALUES (%s, %s, %s, %s)",
        [row_id, event_type, Jsonb(data), created_at],
    )
    return row_id


def view(session: str = "s1", page: str = "home", user: str = "myclik", **extra: Any) -> dict:
    return {"userCode": user, "sessionId": session, "pageType": page} | extra


def click(session: str = "s1", target: str = "phone", user: str = "myclik", **extra: Any) -> dict:
    return {"userCode": user, "sessionId": session, "clickTarget": target} | extra


def visits(conn: psycopg.Connection, visitors: int, start: datetime = DAY) -> int:
    """`visitors` sessions of 4 page views and 2 clicks each, a second apart; returns rows."""
    conn.execute(
        """
        INSERT INTO analytics_events (event_type, event_data, created_at)
        SELECT CASE WHEN step < 4 THEN 'view' ELSE 'click' END,
               jsonb_build_object(
                   'userCode', 'u' || (visitor %% 3), 'sessionId', 'v' || visitor,
                   'shareCode', CASE WHEN visitor %% 2 = 0 THEN 'qr1' END,
                   'pageType', (ARRAY['home', 'contact', 'profile', 'portfolio'])[1 + step],
                   'clickTarget', (ARRAY['phone', 'email'])[step - 3],
                   'clickCategory', 'contact'),
               %(start)s + (visitor * 6 + step) * interval '1 second'
        FROM generate_series(1, %(visitors)s) AS visitor, generate_series(0, 5) AS step
        """,
        {"visitors": visitors, "start": start},
    )
    return visitors * 6


def counts(conn: psycopg.Connection) -> dict[str, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM analytics_events), "
        "(SELECT count(*) FROM analytics_events_archive), "
        "(SELECT count(*) FROM analytics_page_views), "
        "(SELECT count(*) FROM analytics_clicks), "
        "(SELECT count(*) FROM analytics_sessions)"
    ).fetchone()
    return dict(
        zip(("remaining", "archived", "page_views", "clicks", "sessions"), row, strict=True)
    )


def counters_disagreeing(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        """
        SELECT s.session_id FROM analytics_sessions s
        LEFT JOIN (SELECT session_id, count(*) AS n FROM analytics_page_views GROUP BY 1) p
               USING (session_id)
        LEFT JOIN (SELECT session_id, count(*) AS n FROM analytics_clicks GROUP BY 1) c
               USING (session_id)
        WHERE s.page_views <> coalesce(p.n, 0) OR s.clicks <> coalesce(c.n, 0)
        """
    ).fetchall()


def outcome(conn: psycopg.Connection, row_id: uuid.UUID) -> tuple:
    return conn.execute(
        "SELECT migration_error, migrated_to FROM analytics_events_archive WHERE id = %s",
        [row_id],
    ).fetchone()


# --- mapping --------------------------------------------------------------------------------


def test_views_and_clicks_become_rows_of_the_new_tables(conn: psycopg.Connection) -> None:
    first = legacy(conn, "view", view(shareCode="qr1", contactId="c-1"), DAY)
    second = legacy(
        conn, "click", click(shareCode="qr1", clickCategory="contact"), DAY + timedelta(seconds=5)
    )
    run = migrate(conn)
    assert (run.taken, run.page_views, run.clicks, run.unmapped) == (2, 1, 1, 0)
    assert conn.execute(
        "SELECT id, session_id, user_code, share_code, contact_id, page_type, viewed_at "
        "FROM analytics_page_views"
    ).fetchall() == [(first, "s1", "myclik", "qr1", "c-1", "home", DAY)]
    assert conn.execute(
        "SELECT id, click_target, click_category, clicked_at FROM analytics_clicks"
    ).fetchall() == [(second, "phone", "contact", DAY + timedelta(seconds=5))]
    # The session the old data never had is created by the counter triggers.
    assert conn.execute(
        "SELECT session_id, user_code, share_code, first_seen, last_seen, page_views, clicks "
        "FROM analytics_sessions"
    ).fetchall() == [("s1", "myclik", "qr1", DAY, DAY + timedelta(seconds=5), 1, 1)]
    assert counts(conn) | {"sessions": 0} == {
        "remaining": 0,
        "archived": 2,
        "page_views": 1,
        "clicks": 1,
        "sessions": 0,
    }
    assert outcome(conn, first) == (None, "analytics_page_views")
    assert outcome(conn, second) == (None, "analytics_clicks")


PAGE_VIEW_TYPES = [
    "view",
    "View",
    "page_view",
    "pageview",
    "pageView",
    "page-view",
    "PAGE VIEW",
    "page",
    " view ",
]
CLICK_TYPES = ["click", "CLICK", "link_click", "buttonClick", "button-click"]
SESSION_TYPES = ["session", "Session_Start", "session-start"]


def test_event_type_variants(conn: psycopg.Connection) -> None:
    """One database for all variants (each case is its own row and session)."""
    cases = {
        legacy(conn, event_type, view(session=f"v{n}")): "analytics_page_views"
        for n, event_type in enumerate(PAGE_VIEW_TYPES)
    }
    cases |= {
        legacy(conn, event_type, click(session=f"c{n}")): "analytics_clicks"
        for n, event_type in enumerate(CLICK_TYPES)
    }
    cases |= {
        legacy(conn, event_type, {"userCode": "u", "sessionId": f"s{n}"}): "analytics_sessions"
        for n, event_type in enumerate(SESSION_TYPES)
    }
    migrate(conn)
    assert {row: outcome(conn, row) for row in cases} == {
        row: (None, table) for row, table in cases.items()
    }
    assert counts(conn)["page_views"] == len(PAGE_VIEW_TYPES)
    assert counts(conn)["clicks"] == len(CLICK_TYPES)


def test_snake_case_keys_and_numbers_as_text_are_read(conn: psycopg.Connection) -> None:
    legacy(
        conn, "view", {"user_code": 42, "session_id": "s9", "page_type": "home", "share_code": "q"}
    )
    migrate(conn)
    assert conn.execute(
        "SELECT user_code, session_id, share_code FROM analytics_page_views"
    ).fetchall() == [("42", "s9", "q")]


EVENT_TIMES = [
    ({"timestamp": "2026-10-04T23:59:59Z"}, datetime(2026, 10, 4, 23, 59, 59, tzinfo=UTC)),
    ({"timestamp": "2026-10-05T01:30:00+02:00"}, datetime(2026, 10, 4, 23, 30, tzinfo=UTC)),
    ({"timestamp": "2026-10-04 08:00:00"}, datetime(2026, 10, 4, 8, tzinfo=UTC)),
    ({"timestamp": 1791158400}, datetime(2026, 10, 5, tzinfo=UTC)),
    ({"timestamp": 1791158400123}, datetime(2026, 10, 5, 0, 0, 0, 123000, tzinfo=UTC)),
    ({"timestamp": "1791158400"}, datetime(2026, 10, 5, tzinfo=UTC)),
    ({"viewedAt": "2026-10-03T10:00:00Z"}, datetime(2026, 10, 3, 10, tzinfo=UTC)),
    ({"occurredAt": "2026-10-03T11:00:00Z"}, datetime(2026, 10, 3, 11, tzinfo=UTC)),
    ({"timestamp": None}, DAY + timedelta(hours=3)),
    ({}, DAY + timedelta(hours=3)),
]


def test_the_event_time_comes_from_the_data_else_created_at(conn: psycopg.Connection) -> None:
    created_at = DAY + timedelta(hours=3)
    ids = [
        legacy(conn, "view", view(session=f"t{n}", **stamp), created_at)
        for n, (stamp, _) in enumerate(EVENT_TIMES)
    ]
    migrate(conn)
    stored = dict(conn.execute("SELECT id, viewed_at FROM analytics_page_views").fetchall())
    assert [stored.get(row) for row in ids] == [expected for _, expected in EVENT_TIMES]


def test_session_rows_fill_in_what_events_do_not_carry(conn: psycopg.Connection) -> None:
    legacy(conn, "view", view(), DAY + timedelta(seconds=10))
    legacy(
        conn,
        "session",
        {
            "userCode": "myclik",
            "sessionId": "s1",
            "shareCode": "qr7",
            "userAgent": "Mozilla/5.0",
            "referrer": "https://x.example/",
        },
        DAY,
    )
    legacy(
        conn, "session_start", {"userCode": "myclik", "sessionId": "s1"}, DAY + timedelta(seconds=1)
    )
    legacy(conn, "click", click(), DAY + timedelta(seconds=20))
    run = migrate(conn, chunk_size=1)  # each row its own chunk: sessions before and after events
    assert run.sessions == 2
    assert conn.execute(
        "SELECT share_code, user_agent, referrer, first_seen, last_seen, page_views, clicks "
        "FROM analytics_sessions"
    ).fetchall() == [
        ("qr7", "Mozilla/5.0", "https://x.example/", DAY, DAY + timedelta(seconds=20), 1, 1)
    ]


# --- rows that cannot be mapped -------------------------------------------------------------

UNMAPPABLE = [
    ("view", [1, 2], "event_data is not a JSON object"),
    ("view", "just text", "event_data is not a JSON object"),
    ("purchase", view(), "unknown event_type: purchase"),
    ("view", {"sessionId": "s1", "pageType": "home"}, "missing userCode"),
    ("view", view(user=""), "missing userCode"),
    ("view", view(user={"nested": True}), "missing userCode"),
    ("view", view(user="x" * 65), "userCode longer than 64 characters"),
    ("view", {"userCode": "u", "pageType": "home"}, "missing sessionId"),
    ("view", view(session="s" * 129), "sessionId longer than 128 characters"),
    ("view", view(timestamp="2026-02-30T10:00:00Z"), "unreadable timestamp"),
    ("view", view(timestamp="yesterday"), "unreadable timestamp"),
    ("view", view(timestamp=True), "unreadable timestamp"),
    ("view", view(timestamp=-5), "unreadable timestamp"),
    (
        "view",
        view(timestamp="1999-12-31T00:00:00Z"),
        "timestamp before 2000 or more than a day after created_at",
    ),
    (
        "view",
        view(timestamp="2026-10-07T00:00:00Z"),
        "timestamp before 2000 or more than a day after created_at",
    ),
    ("view", {"userCode": "u", "sessionId": "s"}, "missing pageType"),
    ("view", view(page="p" * 65), "pageType longer than 64 characters"),
    ("click", {"userCode": "u", "sessionId": "s"}, "missing clickTarget"),
    ("click", click(target="t" * 129), "clickTarget longer than 128 characters"),
    ("view", view(shareCode="q" * 65), "shareCode longer than 64 characters"),
    ("view", view(contactId="c" * 129), "contactId longer than 128 characters"),
    ("click", click(clickCategory="c" * 65), "clickCategory longer than 64 characters"),
]


def test_unmappable_rows_are_archived_as_they_were_with_their_reason(
    conn: psycopg.Connection,
) -> None:
    good = legacy(conn, "view", view(session="ok"))
    bad = [legacy(conn, event_type, data) for event_type, data, _ in UNMAPPABLE]
    run = migrate(conn)
    assert (run.taken, run.unmapped, run.page_views) == (len(UNMAPPABLE) + 1, len(UNMAPPABLE), 1)
    assert outcome(conn, good) == (None, "analytics_page_views")
    assert [outcome(conn, row) for row in bad] == [(reason, None) for _, _, reason in UNMAPPABLE]
    archived = dict(
        (row_id, (event_type, data))
        for row_id, event_type, data in conn.execute(
            "SELECT id, event_type, event_data FROM analytics_events_archive"
        )
    )
    # Kept exactly as they were.
    assert [archived[row] for row in bad] == [
        (event_type, data) for event_type, data, _ in UNMAPPABLE
    ]
    assert counts(conn)["page_views"] == 1
    assert counts(conn)["clicks"] == 0
    assert counts(conn)["sessions"] == 1


# --- chunks, resuming, re-runs --------------------------------------------------------------


def test_a_run_stopped_early_resumes_where_it_stopped_and_moves_nothing_twice(
    conn: psycopg.Connection,
) -> None:
    total = visits(conn, 50)  # 300 rows
    first = migrate(conn, chunk_size=40, max_chunks=3)
    assert (first.chunks, first.taken, first.remaining) == (3, 120, 180)
    # The oldest rows went first.
    (newest_moved,) = conn.execute(
        "SELECT max(created_at) FROM analytics_events_archive"
    ).fetchone()
    (oldest_left,) = conn.execute("SELECT min(created_at) FROM analytics_events").fetchone()
    assert newest_moved < oldest_left

    second = migrate(conn, chunk_size=40)
    assert (second.taken, second.remaining) == (180, 0)
    assert counts(conn) == {
        "remaining": 0,
        "archived": total,
        "page_views": 200,
        "clicks": 100,
        "sessions": 50,
    }
    assert counters_disagreeing(conn) == []

    again = migrate(conn, chunk_size=40)
    assert (again.chunks, again.taken) == (0, 0)
    assert counts(conn)["archived"] == total


def test_an_interrupted_chunk_changes_nothing(conn: psycopg.Connection, database_url: str) -> None:
    """A chunk whose transaction dies (crash, killed run) leaves every row where it was."""
    visits(conn, 10)
    with psycopg.connect(database_url) as doomed:
        doomed.execute("SET ROLE clik_legacy_migrator")
        (taken, *_) = doomed.execute(
            queries.text("migrate_legacy_events_chunk"), {"chunk_size": 25}
        ).fetchone()
        assert taken == 25
        doomed.close()  # no COMMIT: the server rolls the chunk back
    assert counts(conn) == {
        "remaining": 60,
        "archived": 0,
        "page_views": 0,
        "clicks": 0,
        "sessions": 0,
    }
    run = migrate(conn, chunk_size=25)
    assert (run.taken, run.remaining) == (60, 0)
    assert counts(conn)["page_views"] == 40
    assert counters_disagreeing(conn) == []


def test_a_row_put_back_after_fixing_it_migrates_and_stays_archived_once(
    conn: psycopg.Connection,
) -> None:
    broken = legacy(conn, "view", {"userCode": "u", "pageType": "home"})
    migrate(conn)
    assert outcome(conn, broken) == ("missing sessionId", None)
    # The documented way to retry: fix the data, then move the rows back.
    conn.execute(
        """
        WITH fixed AS (
            DELETE FROM analytics_events_archive WHERE migration_error IS NOT NULL
            RETURNING id, event_type, event_data || '{"sessionId": "s-fixed"}', created_at)
        INSERT INTO analytics_events (id, event_type, event_data, created_at)
        SELECT * FROM fixed
        """
    )
    migrate(conn)
    assert outcome(conn, broken) == (None, "analytics_page_views")
    assert counts(conn) | {"sessions": 0} == {
        "remaining": 0,
        "archived": 1,
        "page_views": 1,
        "clicks": 0,
        "sessions": 0,
    }
    assert reconcile(conn, EPOCH).problems == []


def test_an_event_already_in_the_new_tables_is_not_counted_twice(conn: psycopg.Connection) -> None:
    row = legacy(conn, "view", view())
    migrate(conn)
    # Someone restores the old table from a backup: the same ids come back.
    conn.execute(
        "INSERT INTO analytics_events (id, event_type, event_data, created_at) "
        "SELECT id, event_type, event_data, created_at FROM analytics_events_archive"
    )
    run = migrate(conn)
    assert (run.taken, run.page_views, run.already_present) == (1, 1, 1)
    assert counts(conn)["page_views"] == 1
    assert conn.execute("SELECT page_views FROM analytics_sessions").fetchone() == (1,)
    assert outcome(conn, row) == (None, "analytics_page_views")


def test_two_runs_at_once_are_refused(conn: psycopg.Connection, database_url: str) -> None:
    visits(conn, 2)
    with psycopg.connect(database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        with pytest.raises(ClikError, match="another legacy migration run is in progress"):
            migrate(conn)
        # Released explicitly: a closed connection's server process may linger a moment.
        holder.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    assert migrate(conn).taken == 12


def test_concurrent_chunks_never_move_a_row_twice(
    database_url: str, conn: psycopg.Connection
) -> None:
    """Even without the run lock (two chunk statements racing), a row is moved once."""
    total = visits(conn, 100)
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            with psycopg.connect(database_url, autocommit=True) as own:
                own.execute("SET ROLE clik_legacy_migrator")
                while own.execute(
                    queries.text("migrate_legacy_events_chunk"), {"chunk_size": 30}
                ).fetchone()[0]:
                    pass
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert counts(conn) == {
        "remaining": 0,
        "archived": total,
        "page_views": 400,
        "clicks": 200,
        "sessions": 100,
    }
    assert counters_disagreeing(conn) == []


# --- reconciliation -------------------------------------------------------------------------


def test_reconciliation_holds_after_a_run_and_catches_losses(conn: psycopg.Connection) -> None:
    assert reconcile(conn, EPOCH).original_rows is None  # never ran
    visits(conn, 20)
    legacy(conn, "bogus", {})
    migrate(conn, chunk_size=50)
    counted = reconcile(conn, EPOCH)
    assert counted.problems == []
    assert (counted.original_rows, counted.archived_rows, counted.remaining_rows) == (121, 121, 0)
    assert (counted.page_views, counted.clicks, counted.unmapped_rows) == (80, 40, 1)
    assert counted.unmapped_by_reason == {"unknown event_type: bogus": 1}

    conn.execute(
        "DELETE FROM analytics_page_views WHERE id IN (SELECT id FROM analytics_page_views LIMIT 2)"
    )
    conn.execute("DELETE FROM analytics_events_archive WHERE migration_error IS NOT NULL")
    tampered = reconcile(conn, EPOCH)
    assert tampered.missing_page_views == 2
    assert tampered.problems == [
        "archived (120) + remaining (0) = 120 legacy rows, but the migration started with 121 "
        "(difference -1)",
        "2 migrated rows have no page view in analytics_page_views",
    ]
    # Rows before the horizon are not looked for: retention may have dropped them.
    assert reconcile(conn, date(2026, 10, 6)).missing_page_views == 0


# --- partitions and the role ----------------------------------------------------------------


def test_legacy_days_get_partitions_and_rows_land_in_them(conn: psycopg.Connection) -> None:
    visits(conn, 5, datetime(2026, 9, 1, 23, 59, 50, tzinfo=UTC))  # over midnight
    run = migrate(conn, earliest_partition=date(2026, 9, 1))
    assert (run.first_day, run.last_day) == (date(2026, 9, 1), date(2026, 9, 2))
    assert run.partitions_created >= 4
    in_default = conn.execute(
        "SELECT (SELECT count(*) FROM analytics_page_views_default) "
        "+ (SELECT count(*) FROM analytics_clicks_default)"
    ).fetchone()
    assert in_default == (0,)


def test_events_before_the_first_partition_stay_in_the_default_partition(
    conn: psycopg.Connection,
) -> None:
    visits(conn, 1, datetime(2024, 6, 1, tzinfo=UTC))
    migrate(conn, earliest_partition=date(2025, 1, 1))
    assert conn.execute("SELECT count(*) FROM analytics_page_views_default").fetchone() == (4,)
    assert conn.execute(
        "SELECT count(*) FROM pg_class WHERE relname LIKE 'analytics_%%_p20240601'"
    ).fetchone() == (0,)


MIGRATOR_REFUSED = [
    "SELECT * FROM analytics_daily_user_stats",
    "SELECT * FROM analytics_owners",
    "SELECT page_type FROM analytics_page_views",
    "UPDATE analytics_sessions SET page_views = 0",
    "DELETE FROM analytics_page_views",
    "DELETE FROM analytics_events_archive",
    "UPDATE analytics_events SET event_type = 'x'",
    "INSERT INTO analytics_events (event_type) VALUES ('view')",
    "DELETE FROM legacy_migration_baseline",
]


def test_the_migrator_role_can_do_nothing_else(conn: psycopg.Connection) -> None:
    for statement in MIGRATOR_REFUSED:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("SET LOCAL ROLE clik_legacy_migrator")
            conn.execute(statement)


def test_no_component_role_reaches_the_legacy_tables(conn: psycopg.Connection) -> None:
    for role in ("clik_ingest", "clik_pipeline", "clik_reader", "clik_owner_admin"):
        for table in ("analytics_events", "analytics_events_archive", "legacy_migration_baseline"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(f"SET LOCAL ROLE {role}")
                conn.execute(f"SELECT * FROM {table}")
