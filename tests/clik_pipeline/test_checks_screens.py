"""The checks read each raw table once per day and screen at the grain of (user code, share
code): page types, click targets and session counters are compared through hash-weighted sums,
and only user codes the screen cannot clear are compared row by row. These tests corrupt what
only the finer comparison sees (a count moved between page types or click categories, session
counters that cancel out within a user code), and check that sessions crossing one or more
midnights, or events whose user code is not their session's, neither fail a correct day nor
hide a wrong counter."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time

import dagster as dg
import psycopg
import pytest

from clik_pipeline.defs.daily import assets as daily_assets
from clik_pipeline.defs.daily import checks
from tests.clik_pipeline.conftest import Pipeline
from tests.clik_pipeline.traffic import generate
from tests.factories import click, insert_clicks, insert_page_views, page_view

DAYS = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
EXACT_COMPARISONS = {
    "select_session_counter_mismatches",
    "select_page_stats_mismatches",
    "select_click_target_mismatches",
}


@pytest.fixture
def traffic(conn: psycopg.Connection):
    generated = generate(DAYS)
    generated.insert(conn)
    return generated


@pytest.fixture
def queries_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the checks' queries, in the order they ran."""
    names: list[str] = []
    run = checks.queries.run

    def spy(conn, name, params=None):
        names.append(name)
        return run(conn, name, params)

    monkeypatch.setattr(checks.queries, "run", spy)
    return names


def at(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), UTC)


def evaluations(result) -> dict[str, object]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def failed(result) -> list[str]:
    return sorted(name for name, e in evaluations(result).items() if not e.passed)


def test_correct_days_pass_on_the_screens_alone_and_record_their_raw_counts(
    pipeline: Pipeline,
    traffic,
    conn: psycopg.Connection,
    queries_run: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two chunks ([Nov 1, Nov 3) and [Nov 3, Nov 4)): sessions cross both midnights, one of them
    # between chunks, and some events carry another share code than their session.
    monkeypatch.setattr(daily_assets, "MAX_DAYS_PER_TRANSACTION", 2)
    result = pipeline.materialize(DAYS[0], DAYS[-1])

    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert not EXACT_COMPARISONS & set(queries_run)  # nothing left for the exact comparisons
    assert queries_run.count("collect_expected_page_views") == len(DAYS)  # one pass per day
    crossing = conn.execute(
        "SELECT count(*) FROM analytics_sessions "
        "WHERE (first_seen AT TIME ZONE 'UTC')::date < (last_seen AT TIME ZONE 'UTC')::date"
    ).fetchone()
    assert crossing and crossing[0] > 0  # the comparison is not vacuous

    sessions = Counter(s["first_seen"].date() for s in traffic.sessions)
    views = Counter(v["viewed_at"].date() for v in traffic.page_views)
    clicks = Counter(c["clicked_at"].date() for c in traffic.clicks)
    metadata = {
        (m.asset_key.path[-1], m.partition): m.metadata
        for m in result.asset_materializations_for_node("daily_tables")
    }
    for day in DAYS:
        users = metadata[("analytics_daily_user_stats", day.isoformat())]
        assert users["raw_sessions_started"].value == sessions[day] == users["total_sessions"].value
        assert users["raw_page_views"].value == views[day] == users["total_page_views"].value
        assert users["raw_clicks"].value == clicks[day] == users["total_clicks"].value
        assert users["chunk_first_day"].value == (DAYS[0] if day < DAYS[2] else DAYS[2]).isoformat()
        assert users["chunk_days"].value == (2 if day < DAYS[2] else 1)
        assert "duration_seconds" not in users and "days_in_transaction" not in users
        pages = metadata[("analytics_daily_page_stats", day.isoformat())]
        assert pages["raw_page_views"].value == views[day] and "raw_clicks" not in pages
        targets = metadata[("analytics_daily_click_targets", day.isoformat())]
        assert targets["raw_clicks"].value == clicks[day] and "raw_page_views" not in targets


def test_without_checks_no_raw_counts_are_recorded(pipeline: Pipeline, traffic) -> None:
    selection = dg.AssetSelection.assets(*daily_assets.daily_tables.keys).without_checks()
    result = pipeline.materialize(DAYS[1], selection=selection)
    for m in result.asset_materializations_for_node("daily_tables"):
        assert not any(name.startswith("raw_") for name in m.metadata)
        assert m.metadata["chunk_days"].value == 1


def test_a_count_moved_to_another_page_type_fails_the_page_check_alone(
    pipeline: Pipeline, traffic, conn: psycopg.Connection
) -> None:
    pipeline.materialize(DAYS[1])
    # The user code's and share code's totals stay right: only the page type is wrong.
    conn.execute(
        "UPDATE analytics_daily_page_stats SET page_type = 'gallery' WHERE id = "
        "(SELECT min(id) FROM analytics_daily_page_stats WHERE user_code = 'u3' AND date = %s)",
        [DAYS[1]],
    )
    result = pipeline.check(DAYS[1])
    assert failed(result) == ["page_stats_match_raw_page_views"]
    pages = evaluations(result)["page_stats_match_raw_page_views"]
    assert pages.description.startswith("2026-11-02: 1 user code(s) differ")
    assert "u3 (off by" in pages.description
    assert "view_count of page_type gallery" in pages.description


def test_a_count_moved_to_another_click_category_fails_the_click_check_alone(
    pipeline: Pipeline, traffic, conn: psycopg.Connection
) -> None:
    pipeline.materialize(DAYS[1])
    (user_code,) = conn.execute(
        "UPDATE analytics_daily_click_targets SET click_category = 'moved' WHERE id = "
        "(SELECT min(id) FROM analytics_daily_click_targets WHERE date = %s) RETURNING user_code",
        [DAYS[1]],
    ).fetchone()
    result = pipeline.check(DAYS[1])
    assert failed(result) == ["click_targets_match_raw_clicks"]
    described = evaluations(result)["click_targets_match_raw_clicks"].description
    assert f"{user_code} (off by" in described and "(moved)" in described


def test_a_row_counting_zero_that_only_the_page_stats_have_fails_the_page_check(
    pipeline: Pipeline, traffic, conn: psycopg.Connection
) -> None:
    pipeline.materialize(DAYS[1])
    conn.execute(
        "INSERT INTO analytics_daily_page_stats (user_code, share_code, date, page_type, "
        "view_count) VALUES ('u1', NULL, %s, 'ghost', 0)",
        [DAYS[1]],
    )
    result = pipeline.check(DAYS[1])
    assert failed(result) == ["page_stats_match_raw_page_views"]
    assert "view_count of page_type ghost" in (
        evaluations(result)["page_stats_match_raw_page_views"].description
    )


def test_session_counters_that_cancel_out_within_a_user_code_fail(
    pipeline: Pipeline, traffic, conn: psycopg.Connection
) -> None:
    pipeline.materialize(DAYS[1])
    # Two sessions of one user code that day: one counter one too high, the other one too low,
    # so the user code's total is right.
    user_code, first, second = conn.execute(
        "SELECT user_code, min(session_id), max(session_id) FROM analytics_sessions "
        "WHERE (first_seen AT TIME ZONE 'UTC')::date = %s AND page_views > 0 "
        "GROUP BY user_code HAVING count(*) >= 2 ORDER BY user_code LIMIT 1",
        [DAYS[1]],
    ).fetchone()
    conn.execute(
        "UPDATE analytics_sessions SET page_views = page_views + 1 WHERE session_id = %s", [first]
    )
    conn.execute(
        "UPDATE analytics_sessions SET page_views = page_views - 1 WHERE session_id = %s",
        [second],
    )
    result = pipeline.check(DAYS[1], "analytics_daily_user_stats")
    assert failed(result) == ["session_counters_match_events"]
    counters = evaluations(result)["session_counters_match_events"]
    assert counters.metadata["user_codes"].value == user_code
    assert counters.metadata["total_difference"].value == 2
    assert "page_views counter of 2 session(s)" in counters.description


def test_a_session_across_midnight_is_checked_on_the_day_it_started(
    pipeline: Pipeline, traffic, conn: psycopg.Connection, queries_run: list[str]
) -> None:
    day, next_day = DAYS[1], DAYS[2]
    insert_page_views(
        conn,
        [
            page_view("night-1", at(day, "23:59:30"), user_code="u1"),
            page_view("night-1", at(next_day, "00:01:00"), user_code="u1"),
        ],
    )
    insert_clicks(conn, [click("night-1", at(next_day, "00:00:10"), user_code="u1")])
    result = pipeline.materialize(day, next_day)
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert "select_session_counter_mismatches" not in queries_run

    conn.execute("UPDATE analytics_sessions SET clicks = 2 WHERE session_id = 'night-1'")
    checked = pipeline.check(day, "analytics_daily_user_stats")
    assert failed(checked) == ["session_counters_match_events"]
    assert "u1 (off by 1: clicks counter of 1 session(s): expected 1, found 2)" in (
        evaluations(checked)["session_counters_match_events"].description
    )
    assert failed(pipeline.check(next_day, "analytics_daily_user_stats")) == []


def test_a_session_running_over_two_midnights_neither_fails_a_day_nor_hides_its_counter(
    pipeline: Pipeline, traffic, conn: psycopg.Connection
) -> None:
    # Started two days before the day checked: the screen cannot tell whose its events there
    # are (the day before the range is the earliest it looks at), the exact comparison can.
    insert_page_views(
        conn,
        [
            page_view("long-1", at(DAYS[0], "12:00:00"), user_code="u2"),
            page_view("long-1", at(DAYS[2], "09:00:00"), user_code="u2"),
        ],
    )
    pipeline.materialize(DAYS[0])
    result = pipeline.materialize(DAYS[2])  # alone: DAYS[0] is before the day before it
    assert all(e.passed for e in result.get_asset_check_evaluations())

    conn.execute("UPDATE analytics_sessions SET page_views = 1 WHERE session_id = 'long-1'")
    assert failed(pipeline.check(DAYS[2], "analytics_daily_user_stats")) == []
    checked = pipeline.check(DAYS[0], "analytics_daily_user_stats")
    assert failed(checked) == ["session_counters_match_events"]
    assert "u2 (off by 1: page_views counter of 1 session(s): expected 2, found 1)" in (
        evaluations(checked)["session_counters_match_events"].description
    )


def test_an_event_of_another_user_code_than_its_session_does_not_fail_the_counters(
    pipeline: Pipeline, traffic, conn: psycopg.Connection
) -> None:
    # The session takes the user code of its first event; its second event counts for another
    # user code's page views but for this session's counter.
    insert_page_views(conn, [page_view("mixed-1", at(DAYS[1], "10:00:00"), user_code="u4")])
    insert_page_views(conn, [page_view("mixed-1", at(DAYS[1], "10:00:05"), user_code="u5")])
    result = pipeline.materialize(DAYS[1])
    assert all(e.passed for e in result.get_asset_check_evaluations())

    conn.execute("UPDATE analytics_sessions SET page_views = 3 WHERE session_id = 'mixed-1'")
    counters = evaluations(pipeline.check(DAYS[1], "analytics_daily_user_stats"))[
        "session_counters_match_events"
    ]
    assert not counters.passed
    assert counters.metadata["user_codes"].value == "u4"
    assert counters.metadata["total_difference"].value == 1
