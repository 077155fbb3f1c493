"""Materializing the daily tables gives exactly docs/contract.md section 5's definitions, computed
independently with pandas; re-runs are identical; checks pass on each day and name the user
codes and the size of any difference."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest

from clik_pipeline.defs.daily import assets as daily_stats
from tests.clik_pipeline.conftest import Pipeline
from tests.clik_pipeline.traffic import actual_tables, expected_tables, generate

DAYS = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]


@pytest.fixture
def traffic(conn: psycopg.Connection):
    generated = generate(DAYS)
    generated.insert(conn)
    return generated


def test_one_day_matches_the_spec_definitions(
    pipeline: Pipeline, traffic, conn: psycopg.Connection
) -> None:
    result = pipeline.materialize(DAYS[1])
    assert actual_tables(conn) == expected_tables(traffic, [DAYS[1]])
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 6
    assert all(e.passed and e.partition == "2026-11-02" for e in evaluations)


def test_a_range_is_one_run_and_matches_the_spec_definitions(
    pipeline: Pipeline, traffic, conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two transactions for three days, to cover the chunking of long ranges.
    monkeypatch.setattr(daily_stats, "MAX_DAYS_PER_TRANSACTION", 2)
    result = pipeline.materialize(DAYS[0], DAYS[-1])

    expected = expected_tables(traffic, DAYS)
    assert actual_tables(conn) == expected
    assert all(rows for rows in expected.values())  # the comparison is not vacuous
    # Every day of each table has its own materialization, with metadata to plot.
    materialized = {
        (m.asset_key.path[-1], m.partition): m.metadata
        for m in result.asset_materializations_for_node("daily_tables")
    }
    assert set(materialized) == {
        (table, day.isoformat()) for table in daily_stats_tables() for day in DAYS
    }
    user_stats = {
        day.isoformat(): sum(
            row[4] for row in expected["analytics_daily_user_stats"] if row[1] == day
        )
        for day in DAYS
    }
    for day, total_clicks in user_stats.items():
        metadata = materialized[("analytics_daily_user_stats", day)]
        assert metadata["total_clicks"].value == total_clicks
        assert metadata["chunk_days"].value in (1, 2)
        assert metadata["raw_clicks"].value == total_clicks
        assert metadata["preview"].value.records
    # ... and every check is evaluated for each day separately.
    evaluations = result.get_asset_check_evaluations()
    assert sorted((e.check_name, e.partition) for e in evaluations) == sorted(
        (name, day.isoformat()) for name in check_names() for day in DAYS
    )
    assert all(e.passed for e in evaluations)


def test_a_rerun_gives_the_same_rows(pipeline: Pipeline, traffic, conn: psycopg.Connection) -> None:
    pipeline.materialize(DAYS[0], DAYS[-1])
    first = actual_tables(conn)
    pipeline.materialize(DAYS[0], DAYS[-1])
    pipeline.materialize(DAYS[1])
    assert actual_tables(conn) == first


def test_a_day_without_traffic_materializes_to_nothing_and_passes(
    pipeline: Pipeline, traffic, conn: psycopg.Connection
) -> None:
    quiet = DAYS[0] - timedelta(days=5)
    result = pipeline.materialize(quiet)
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert conn.execute(
        "SELECT count(*) FROM analytics_daily_user_stats WHERE date = %s", [quiet]
    ).fetchone() == (0,)


def test_a_tampered_aggregate_fails_its_checks_naming_user_codes_and_difference(
    pipeline: Pipeline, traffic, conn: psycopg.Connection
) -> None:
    pipeline.materialize(DAYS[1])
    conn.execute(
        "UPDATE analytics_daily_user_stats SET total_page_views = total_page_views + 5 "
        "WHERE user_code = 'u2' AND date = %s",
        [DAYS[1]],
    )
    conn.execute(
        "UPDATE analytics_daily_page_stats SET view_count = view_count + 3 WHERE id = "
        "(SELECT min(id) FROM analytics_daily_page_stats WHERE user_code = 'u3' AND date = %s)",
        [DAYS[1]],
    )

    result = pipeline.check(DAYS[1])

    assert not result.success  # the checks are blocking
    outcome = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed = sorted(name for name, e in outcome.items() if not e.passed)
    assert failed == [
        "page_stats_match_raw_page_views",
        "user_stats_match_other_daily_tables",
        "user_stats_match_raw_events",
    ]
    raw = outcome["user_stats_match_raw_events"]
    assert raw.partition == "2026-11-02"
    assert "u2 (off by 5: total_page_views: expected" in raw.description
    assert raw.metadata["mismatched_user_codes"].value == 1
    assert raw.metadata["total_difference"].value == 5
    pages = outcome["page_stats_match_raw_page_views"]
    assert "u3 (off by 3: view_count of page_type" in pages.description
    assert pages.metadata["mismatches"].value.records[0].data["difference"] == 3
    # user stats vs page stats: both tampered, by 5 for u2 and 3 for u3
    identity = outcome["user_stats_match_other_daily_tables"].metadata
    assert identity["user_codes"].value == "u2, u3"


def test_checks_see_a_missing_session_counter_update(
    pipeline: Pipeline, traffic, conn: psycopg.Connection
) -> None:
    pipeline.materialize(DAYS[1])
    session_id = traffic.page_views[-1]["session_id"]
    conn.execute(
        "UPDATE analytics_sessions SET page_views = page_views + 2 WHERE session_id = %s",
        [session_id],
    )
    (day,) = conn.execute(
        "SELECT (first_seen AT TIME ZONE 'UTC')::date FROM analytics_sessions "
        "WHERE session_id = %s",
        [session_id],
    ).fetchone()
    result = pipeline.check(day, "analytics_daily_user_stats")
    counters = {e.check_name: e for e in result.get_asset_check_evaluations()}[
        "session_counters_match_events"
    ]
    assert not counters.passed
    assert counters.metadata["total_difference"].value == 2
    assert "page_views counter of 1 session(s)" in counters.description


def daily_stats_tables() -> list[str]:
    return [spec.key.path[-1] for spec in daily_stats.daily_table_specs]


def check_names() -> list[str]:
    from clik_pipeline.defs.daily.checks import CHECKS

    return [check.name for check in CHECKS]
