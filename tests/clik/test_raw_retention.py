"""Retention drops whole expired days, leaves aggregates alone and never orphans an event."""

import psycopg
import pytest

from tests.factories import (
    as_role,
    click,
    insert_clicks,
    insert_page_views,
    insert_sessions,
    page_view,
    session,
)


@pytest.fixture
def three_days(conn: psycopg.Connection) -> psycopg.Connection:
    """Events on 2025-03-01..03 in day partitions, plus a straggler in the default partition.
    Session 'across' runs from the 2nd into the 3rd."""
    conn.execute("SELECT ensure_raw_partitions('2025-03-01', '2025-03-03')")
    insert_sessions(
        conn,
        [
            session("early", "2025-03-01 10:00:00"),
            session("across", "2025-03-02 23:50:00"),
            session("late", "2025-03-03 09:00:00"),
        ],
    )
    insert_page_views(
        conn,
        [
            page_view("early", "2025-03-01 10:00:01"),
            page_view("early", "2025-03-01 10:00:02"),
            page_view("across", "2025-03-02 23:59:59.999"),
            page_view("across", "2025-03-03 00:00:00"),
            page_view("late", "2025-03-03 09:00:01"),
            page_view("old", "2025-02-01 12:00:00"),
        ],
    )  # default partition
    insert_clicks(conn, [click("early", "2025-03-01 10:00:03")])
    with as_role(conn, "clik_pipeline"):
        for day in ("2025-03-01", "2025-03-02", "2025-03-03"):
            conn.execute("SELECT aggregate_analytics_daily(%s)", [day])
    return conn


def drop_before(conn: psycopg.Connection, horizon: str) -> list[tuple]:
    with as_role(conn, "clik_pipeline"):
        return conn.execute(
            "SELECT table_name, day::text, rows_deleted, bytes_freed > 0 "
            "FROM drop_raw_events_before(%s)",
            [horizon],
        ).fetchall()


def remaining(conn: psycopg.Connection) -> tuple:
    return (
        sorted(s for (s,) in conn.execute("SELECT session_id FROM analytics_sessions")),
        conn.execute("SELECT count(*) FROM analytics_page_views").fetchone()[0],
        conn.execute("SELECT count(*) FROM analytics_clicks").fetchone()[0],
    )


def test_dropping_days_removes_their_partitions_and_finished_sessions(
    three_days: psycopg.Connection,
) -> None:
    report = drop_before(three_days, "2025-03-02")
    assert report == [
        ("analytics_page_views", "2025-03-01", 2, True),
        ("analytics_page_views_default", None, 1, None),
        ("analytics_clicks", "2025-03-01", 1, True),
        ("analytics_sessions", None, 2, None),  # 'early', and 'old' of the straggler
    ]
    assert three_days.execute(
        "SELECT to_regclass('analytics_page_views_p20250301')"
    ).fetchone() == (None,)
    assert remaining(three_days) == (["across", "late"], 3, 0)

    # 'across' still has an event on the 3rd: it goes only once that day goes too.
    drop_before(three_days, "2025-03-03")
    assert remaining(three_days) == (["across", "late"], 2, 0)
    drop_before(three_days, "2025-03-04")
    assert remaining(three_days) == ([], 0, 0)


def test_aggregates_are_kept_forever(three_days: psycopg.Connection) -> None:
    before = three_days.execute(
        "SELECT date, total_sessions, total_page_views FROM analytics_daily_user_stats "
        "ORDER BY date"
    ).fetchall()
    drop_before(three_days, "2025-03-04")
    assert (
        three_days.execute(
            "SELECT date, total_sessions, total_page_views FROM analytics_daily_user_stats "
            "ORDER BY date"
        ).fetchall()
        == before
    )
    assert len(before) == 3


def test_retention_never_touches_today(three_days: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.RaiseException, match="is in the future"):
        drop_before(three_days, "2999-01-01")
    with (
        pytest.raises(psycopg.errors.RaiseException, match="at least 1"),
        as_role(three_days, "clik_pipeline"),
    ):
        three_days.execute("SELECT cleanup_old_raw_events(0)")


def test_cleanup_old_raw_events_keeps_the_last_days(three_days: psycopg.Connection) -> None:
    # Keeping 90 days drops everything of 2025 once every day is aggregated; today's partitions
    # stay.
    with as_role(three_days, "clik_pipeline"):
        three_days.execute("SELECT aggregate_analytics_daily('2025-02-01')")
        three_days.execute("SELECT cleanup_old_raw_events(90)")
    assert remaining(three_days) == ([], 0, 0)
    today = three_days.execute(
        "SELECT to_regclass('analytics_page_views_p' || to_char(now() AT TIME ZONE 'UTC', "
        "'YYYYMMDD'))"
    ).fetchone()[0]
    assert today is not None


def test_only_the_pipeline_may_drop_raw_days(three_days: psycopg.Connection) -> None:
    for role in ("clik_ingest", "clik_reader"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(three_days, role):
            three_days.execute("SELECT drop_raw_events_before('2025-03-02')")


def test_cleanup_old_raw_events_keeps_days_from_the_first_one_not_aggregated(
    three_days: psycopg.Connection,
) -> None:
    warnings: list[str] = []
    three_days.add_notice_handler(lambda notice: warnings.append(notice.message_primary or ""))
    everything = remaining(three_days)
    with as_role(three_days, "clik_pipeline"):
        # 2025-02-01 (the straggler in the default partition) was never aggregated.
        three_days.execute("SELECT cleanup_old_raw_events(90)")
        assert remaining(three_days) == everything
        assert warnings == [
            "kept the raw events from 2025-02-01 on: that day is not aggregated (raw sessions,"
            " page views, clicks: 1, 1, 0; analytics_daily_user_stats: 0, 0, 0)"
        ]

        three_days.execute("SELECT aggregate_analytics_daily('2025-02-01')")
        three_days.execute("DELETE FROM analytics_daily_user_stats WHERE date = '2025-03-02'")
        dropped = three_days.execute(
            "SELECT DISTINCT day::text FROM cleanup_old_raw_events(90) WHERE day IS NOT NULL"
        ).fetchall()
    assert sorted(dropped) == [("2025-03-01",)]  # the default partition's row went too
    assert remaining(three_days) == (["across", "late"], 3, 0)
    assert "from 2025-03-02 on" in warnings[-1]
