"""aggregate_analytics_daily(day) against figures worked out by hand from docs/contract.md section 5."""

from datetime import date

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
def two_days(conn: psycopg.Connection) -> psycopg.Connection:
    """Traffic around the midnight between 2026-11-01 and 2026-11-02 (UTC).

    u1/s1 (qr1): starts 23:58 on the 1st, views at 23:59:59.999 (1st) and 00:00:00 (2nd),
                 clicks phone at 00:00:00 (2nd): crosses midnight.
    u1/s2 (no share code): starts 00:00:00 on the 2nd, one view, clicks email (no category).
    u1/s3 (qr2): the 2nd, two views (home, contact), whatsapp click.
    u2/s4 (qr1): the 1st only, one view.
    """
    insert_sessions(
        conn,
        [
            session("s1", "2026-11-01 23:58:00", share_code="qr1"),
            session("s2", "2026-11-02 00:00:00"),
            session("s3", "2026-11-02 12:00:00", share_code="qr2"),
            session("s4", "2026-11-01 08:00:00", user_code="u2", share_code="qr1"),
        ],
    )
    insert_page_views(
        conn,
        [
            page_view("s1", "2026-11-01 23:59:59.999", share_code="qr1"),
            page_view("s1", "2026-11-02 00:00:00", share_code="qr1", page_type="contact"),
            page_view("s2", "2026-11-02 00:00:00"),
            page_view("s3", "2026-11-02 12:00:01", share_code="qr2"),
            page_view("s3", "2026-11-02 12:00:02", share_code="qr2", page_type="contact"),
            page_view("s4", "2026-11-01 08:00:01", user_code="u2", share_code="qr1"),
        ],
    )
    insert_clicks(
        conn,
        [
            click("s1", "2026-11-02 00:00:00", share_code="qr1", click_target="phone"),
            click("s2", "2026-11-02 00:00:01", click_target="email", click_category=None),
            click("s3", "2026-11-02 12:00:03", share_code="qr2", click_target="whatsapp"),
        ],
    )
    return conn


def aggregate(conn: psycopg.Connection, day: str) -> dict[str, int]:
    with as_role(conn, "clik_pipeline"):
        return dict(conn.execute("SELECT * FROM aggregate_analytics_daily(%s)", [day]).fetchall())


def daily(conn: psycopg.Connection, table: str, columns: str) -> list[tuple]:
    return conn.execute(f"SELECT {columns} FROM {table} ORDER BY {columns}").fetchall()


def test_user_stats_follow_the_day_rules(two_days: psycopg.Connection) -> None:
    aggregate(two_days, "2026-11-01")
    aggregate(two_days, "2026-11-02")
    assert daily(
        two_days,
        "analytics_daily_user_stats",
        "user_code, date, total_sessions, total_page_views, total_clicks, unique_share_codes",
    ) == [
        # s1 started on the 1st; its 23:59:59.999 view counts there, its 00:00:00 view and
        # click count on the 2nd.
        ("u1", date(2026, 11, 1), 1, 1, 0, ["qr1"]),
        ("u1", date(2026, 11, 2), 2, 4, 3, ["qr1", "qr2"]),
        ("u2", date(2026, 11, 1), 1, 1, 0, ["qr1"]),
    ]


def test_group_stats_split_by_the_rows_own_share_code(two_days: psycopg.Connection) -> None:
    aggregate(two_days, "2026-11-02")
    assert daily(
        two_days,
        "analytics_daily_group_stats",
        "user_code, share_code, date, total_sessions, total_page_views, total_clicks",
    ) == [
        ("u1", "qr1", date(2026, 11, 2), 0, 1, 1),
        ("u1", "qr2", date(2026, 11, 2), 1, 2, 1),
        ("u1", None, date(2026, 11, 2), 1, 1, 1),
    ]


def test_click_targets_and_page_stats(two_days: psycopg.Connection) -> None:
    aggregate(two_days, "2026-11-02")
    assert daily(
        two_days,
        "analytics_daily_click_targets",
        "user_code, share_code, date, click_target, click_category, click_count",
    ) == [
        ("u1", "qr1", date(2026, 11, 2), "phone", "contact", 1),
        ("u1", "qr2", date(2026, 11, 2), "whatsapp", "contact", 1),
        ("u1", None, date(2026, 11, 2), "email", None, 1),
    ]
    assert daily(
        two_days, "analytics_daily_page_stats", "user_code, share_code, date, page_type, view_count"
    ) == [
        ("u1", "qr1", date(2026, 11, 2), "contact", 1),
        ("u1", "qr2", date(2026, 11, 2), "contact", 1),
        ("u1", "qr2", date(2026, 11, 2), "home", 1),
        ("u1", None, date(2026, 11, 2), "home", 1),
    ]


def test_rerunning_a_day_replaces_its_rows_and_touches_no_other_day(
    two_days: psycopg.Connection,
) -> None:
    first = aggregate(two_days, "2026-11-02")
    aggregate(two_days, "2026-11-01")
    before = daily(two_days, "analytics_daily_user_stats", "user_code, date, total_page_views")
    assert (
        aggregate(two_days, "2026-11-02")
        == first
        == {
            "analytics_daily_user_stats": 1,
            "analytics_daily_group_stats": 3,
            "analytics_daily_click_targets": 3,
            "analytics_daily_page_stats": 4,
        }
    )
    assert (
        daily(two_days, "analytics_daily_user_stats", "user_code, date, total_page_views") == before
    )
    for table in (
        "analytics_daily_user_stats",
        "analytics_daily_group_stats",
        "analytics_daily_click_targets",
        "analytics_daily_page_stats",
    ):
        assert (
            two_days.execute(f"SELECT count(*) FROM {table} WHERE date = '2026-11-02'").fetchone()[
                0
            ]
            == first[table]
        )


def test_late_events_are_taken_in_by_a_rerun(two_days: psycopg.Connection) -> None:
    aggregate(two_days, "2026-11-02")
    insert_page_views(two_days, [page_view("s2", "2026-11-02 23:59:59.999")])
    aggregate(two_days, "2026-11-02")
    assert two_days.execute("""SELECT total_page_views FROM analytics_daily_user_stats
                               WHERE user_code = 'u1' AND date = '2026-11-02'""").fetchone() == (5,)


def test_a_day_without_traffic_has_no_rows(two_days: psycopg.Connection) -> None:
    assert aggregate(two_days, "2026-10-31") == {
        "analytics_daily_user_stats": 0,
        "analytics_daily_group_stats": 0,
        "analytics_daily_click_targets": 0,
        "analytics_daily_page_stats": 0,
    }


def test_identities_between_the_daily_tables_hold(two_days: psycopg.Connection) -> None:
    aggregate(two_days, "2026-11-01")
    aggregate(two_days, "2026-11-02")
    mismatches = two_days.execute("""
        SELECT u.user_code, u.date
        FROM analytics_daily_user_stats u
        WHERE u.total_page_views <> (SELECT coalesce(sum(view_count), 0)
                                     FROM analytics_daily_page_stats p
                                     WHERE p.user_code = u.user_code AND p.date = u.date)
           OR u.total_clicks <> (SELECT coalesce(sum(click_count), 0)
                                 FROM analytics_daily_click_targets c
                                 WHERE c.user_code = u.user_code AND c.date = u.date)
           OR (u.total_sessions, u.total_page_views, u.total_clicks) <> (
                SELECT sum(total_sessions), sum(total_page_views), sum(total_clicks)
                FROM analytics_daily_group_stats g
                WHERE g.user_code = u.user_code AND g.date = u.date)
    """).fetchall()
    assert mismatches == []
