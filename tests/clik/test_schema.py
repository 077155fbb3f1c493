"""The schema holds everything the seed design names (../shared/seed/analytics-schema.md)."""

import psycopg
import pytest

from tests.factories import insert_page_views, page_view

SEED_COLUMNS = {
    "analytics_sessions": {
        "session_id",
        "user_code",
        "share_code",
        "contact_id",
        "first_seen",
        "last_seen",
        "page_views",
        "clicks",
        "ip_address",
        "user_agent",
        "referrer",
        "received_at",
    },
    "analytics_page_views": {
        "id",
        "session_id",
        "user_code",
        "share_code",
        "contact_id",
        "page_type",
        "viewed_at",
        "received_at",
    },
    "analytics_clicks": {
        "id",
        "session_id",
        "user_code",
        "share_code",
        "contact_id",
        "click_target",
        "click_category",
        "clicked_at",
        "received_at",
    },
    "analytics_daily_user_stats": {
        "id",
        "user_code",
        "date",
        "total_sessions",
        "total_page_views",
        "total_clicks",
        "unique_share_codes",
    },
    "analytics_daily_group_stats": {
        "id",
        "user_code",
        "share_code",
        "date",
        "total_sessions",
        "total_page_views",
        "total_clicks",
    },
    "analytics_daily_click_targets": {
        "id",
        "user_code",
        "share_code",
        "date",
        "click_target",
        "click_category",
        "click_count",
    },
    "analytics_daily_page_stats": {
        "id",
        "user_code",
        "share_code",
        "date",
        "page_type",
        "view_count",
    },
    "analytics_events": {"id", "event_type", "event_data", "created_at"},
    "analytics_events_archive": {"id", "event_type", "event_data", "created_at"},
    "user_code_owners": {"owner_id", "user_code"},
}

SEED_INDEXES = {
    "idx_sessions_user_code_first_seen": "analytics_sessions",
    "idx_sessions_share_code": "analytics_sessions",
    "idx_page_views_user_code_viewed_at": "analytics_page_views",
    "idx_page_views_session_id": "analytics_page_views",
    "idx_clicks_user_code_clicked_at": "analytics_clicks",
    "idx_clicks_session_id": "analytics_clicks",
    "idx_daily_user_stats_user_date": "analytics_daily_user_stats",
    "idx_daily_group_stats_user_share_date": "analytics_daily_group_stats",
    "idx_daily_click_targets_user_date": "analytics_daily_click_targets",
}

SEED_FUNCTIONS = {
    "increment_session_page_views",
    "increment_session_clicks",
    "aggregate_analytics_daily",
    "cleanup_old_raw_events",
}


def test_every_seed_table_has_its_columns(conn: psycopg.Connection) -> None:
    for table, columns in SEED_COLUMNS.items():
        found = {
            name
            for (name,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table]
            )
        }
        assert columns <= found, f"{table} lacks {columns - found}"


def test_every_seed_index_exists_on_its_table(conn: psycopg.Connection) -> None:
    found = dict(
        conn.execute(
            "SELECT indexname, tablename FROM pg_indexes WHERE indexname = ANY(%s)",
            [list(SEED_INDEXES)],
        ).fetchall()
    )
    assert found == SEED_INDEXES


def test_primary_keys_recognise_events_by_id(conn: psycopg.Connection) -> None:
    keys = dict(
        conn.execute(
            """
        SELECT c.conrelid::regclass::text, pg_get_constraintdef(c.oid)
        FROM pg_constraint c WHERE c.contype = 'p' AND c.conrelid = ANY(%s::regclass[])""",
            [["analytics_sessions", "analytics_page_views", "analytics_clicks"]],
        ).fetchall()
    )
    assert keys == {
        "analytics_sessions": "PRIMARY KEY (session_id)",
        "analytics_page_views": "PRIMARY KEY (id, viewed_at)",
        "analytics_clicks": "PRIMARY KEY (id, clicked_at)",
    }


def test_every_seed_function_and_trigger_exists(conn: psycopg.Connection) -> None:
    functions = {
        name
        for (name,) in conn.execute(
            "SELECT proname FROM pg_proc WHERE proname = ANY(%s)", [list(SEED_FUNCTIONS)]
        )
    }
    assert functions == SEED_FUNCTIONS
    triggers = dict(
        conn.execute("""
        SELECT tgname, tgrelid::regclass::text FROM pg_trigger
        WHERE tgname LIKE 'increment_session_%' AND tgparentid = 0""").fetchall()
    )
    assert triggers == {
        "increment_session_page_views": "analytics_page_views",
        "increment_session_clicks": "analytics_clicks",
    }


def test_event_tables_are_partitioned_by_day_with_a_default(conn: psycopg.Connection) -> None:
    for table, column in (
        ("analytics_page_views", "viewed_at"),
        ("analytics_clicks", "clicked_at"),
    ):
        key = conn.execute("SELECT pg_get_partkeydef(%s::regclass)", [table]).fetchone()[0]
        assert key == f"RANGE ({column})"
        default = conn.execute(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = %s",
            [f"{table}_default"],
        ).fetchone()
        assert default == ("DEFAULT",)
        today = conn.execute(
            "SELECT to_regclass(%s || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'))",
            [f"{table}_p"],
        ).fetchone()[0]
        assert today is not None, "migrate creates partitions around today"


def test_ensure_raw_partitions_moves_waiting_rows_out_of_the_default(
    conn: psycopg.Connection,
) -> None:
    rows = [page_view("s1", "2025-03-01 10:00:00"), page_view("s1", "2025-03-02 23:59:59.999")]
    insert_page_views(conn, rows)
    assert conn.execute("SELECT count(*) FROM analytics_page_views_default").fetchone() == (2,)

    created = conn.execute("SELECT ensure_raw_partitions('2025-03-01', '2025-03-02')").fetchone()
    assert created == (4,)  # two days, two tables
    assert conn.execute("SELECT count(*) FROM analytics_page_views_default").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM analytics_page_views_p20250301").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM analytics_page_views_p20250302").fetchone() == (1,)
    # Moving rows is not inserting events: the session counter stays as it was.
    assert conn.execute(
        "SELECT page_views FROM analytics_sessions WHERE session_id = 's1'"
    ).fetchone() == (2,)
    assert conn.execute("SELECT ensure_raw_partitions('2025-03-01', '2025-03-02')").fetchone() == (
        0,
    )
    # A retried event still meets its stored copy in the new partition.
    assert insert_page_views(conn, rows) == 0


def test_daily_unique_keys_treat_missing_share_code_as_one_value(conn: psycopg.Connection) -> None:
    insert = """INSERT INTO analytics_daily_group_stats (user_code, share_code, date)
                VALUES ('u1', NULL, '2026-11-01')"""
    conn.execute(insert)
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(insert)
    click_target = """INSERT INTO analytics_daily_click_targets
                      (user_code, share_code, date, click_target, click_category)
                      VALUES ('u1', NULL, '2026-11-01', 'phone', NULL)"""
    conn.execute(click_target)
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(click_target)
    page = """INSERT INTO analytics_daily_page_stats (user_code, share_code, date, page_type)
              VALUES ('u1', NULL, '2026-11-01', 'home')"""
    conn.execute(page)
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(page)
