"""Retention drops only expired days whose daily partitions are materialized with passing
checks, reports the days it keeps, and never touches an aggregate."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import psycopg
import pytest

from clik_pipeline.defs.retention.job import raw_retention_job
from tests.clik_pipeline.conftest import Pipeline
from tests.clik_pipeline.traffic import actual_tables, generate

RETENTION_DAYS = 90


@pytest.fixture
def today(conn: psycopg.Connection) -> date:
    return conn.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone()[0]


@pytest.fixture
def old_traffic(conn: psycopg.Connection, today: date):
    """Three expired days (100, 99 and 98 days ago) and a recent one (10 days ago)."""
    days = [today - timedelta(days) for days in (100, 99, 98, 10)]
    generate(days, sessions_per_day=12).insert(conn)
    return days


def run_retention(instance: dg.DagsterInstance, resources: dict) -> dict[str, object]:
    result = raw_retention_job.execute_in_process(
        instance=instance,
        resources=resources,
        run_config={
            "ops": {"drop_expired_raw_events": {"config": {"retention_days": RETENTION_DAYS}}}
        },
    )
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    return {key: value.value for key, value in output.step_output_data.metadata.items()}


def raw_rows_on(conn: psycopg.Connection, day: date) -> int:
    """Page views and clicks of the day, and sessions that started that day and ended before
    the next (a session is removed only once all its events are)."""
    return conn.execute(
        "SELECT (SELECT count(*) FROM analytics_page_views "
        "        WHERE viewed_at >= %(day)s::timestamp AT TIME ZONE 'UTC' "
        "          AND viewed_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC') "
        "     + (SELECT count(*) FROM analytics_clicks "
        "        WHERE clicked_at >= %(day)s::timestamp AT TIME ZONE 'UTC' "
        "          AND clicked_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC') "
        "     + (SELECT count(*) FROM analytics_sessions "
        "        WHERE first_seen >= %(day)s::timestamp AT TIME ZONE 'UTC' "
        "          AND last_seen < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC')",
        {"day": day},
    ).fetchone()[0]


def test_retention_drops_only_checked_days_and_keeps_aggregates(
    pipeline: Pipeline, instance, resources, conn: psycopg.Connection, old_traffic, today: date
) -> None:
    first, second, third, recent = old_traffic
    spill = third + timedelta(1)  # sessions of `third` running past midnight have events here
    pipeline.materialize(first)
    pipeline.materialize(third)  # `second` and `spill` are not aggregated yet
    aggregates = actual_tables(conn)
    recent_rows = raw_rows_on(conn, recent)

    report = run_retention(instance, resources)

    # `second` is refused; `third` is kept too, so the raw store stays a suffix in time.
    assert report["horizon"] == second.isoformat()
    assert report["refused"] == (
        f"- {second}: not materialized\n"
        f"- {third}: an earlier day ({second}) is kept\n"
        f"- {spill}: not materialized"
    )
    assert report["refused_days"] == 3
    assert raw_rows_on(conn, first) == 0
    assert raw_rows_on(conn, second) > 0 and raw_rows_on(conn, third) > 0
    assert report["rows_deleted"] > 0 and report["bytes_freed"] > 0
    assert actual_tables(conn) == aggregates
    assert conn.execute("SELECT max(horizon) FROM analytics_raw_retention_runs").fetchone() == (
        second,
    )

    pipeline.materialize(second)
    pipeline.materialize(spill)
    aggregates = actual_tables(conn)
    report = run_retention(instance, resources)

    assert report["horizon"] == (today - timedelta(RETENTION_DAYS)).isoformat()
    assert report["refused_days"] == 0
    assert raw_rows_on(conn, second) == raw_rows_on(conn, third) == raw_rows_on(conn, spill) == 0
    assert raw_rows_on(conn, recent) == recent_rows  # within the retention period
    assert actual_tables(conn) == aggregates


def test_a_day_whose_check_failed_is_not_dropped(
    pipeline: Pipeline, instance, resources, conn: psycopg.Connection, old_traffic
) -> None:
    first = old_traffic[0]
    pipeline.materialize(first)
    conn.execute(
        "UPDATE analytics_daily_click_targets SET click_count = click_count + 1 WHERE date = %s",
        [first],
    )
    assert not pipeline.check(first, "analytics_daily_click_targets").success

    report = run_retention(instance, resources)

    assert report["horizon"] == first.isoformat()
    assert f"{first}: check click_targets_match_raw_clicks failed" in report["refused"]
    assert raw_rows_on(conn, first) > 0


def test_a_day_rewritten_after_its_checks_is_not_dropped(
    pipeline: Pipeline, instance, resources, conn: psycopg.Connection, old_traffic
) -> None:
    first = old_traffic[0]
    pipeline.materialize(first)
    # Only one table re-materialized: the other tables' checks predate that write.
    pipeline.materialize(
        first, selection=dg.AssetSelection.assets("analytics_daily_page_stats").without_checks()
    )
    report = run_retention(instance, resources)
    assert "did not run since the last write" in report["refused"]
    assert raw_rows_on(conn, first) > 0


def test_re_aggregating_a_dropped_day_keeps_its_aggregates(
    pipeline: Pipeline, instance, resources, conn: psycopg.Connection, old_traffic
) -> None:
    first = old_traffic[0]
    pipeline.materialize(first)
    run_retention(instance, resources)
    aggregates = actual_tables(conn)
    assert aggregates["analytics_daily_user_stats"]

    result = pipeline.materialize(first)  # a backfill over old days, say

    assert result.success
    assert actual_tables(conn) == aggregates
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    raw = evaluations["user_stats_match_raw_events"]
    assert not raw.passed and raw.severity == dg.AssetCheckSeverity.WARN
    assert "removed by retention" in raw.description
    assert evaluations["user_stats_match_other_daily_tables"].passed


def test_a_day_before_the_first_partition_is_kept_and_explained(
    instance, resources, conn: psycopg.Connection
) -> None:
    generate([date(2024, 12, 30)], sessions_per_day=3).insert(conn)
    report = run_retention(instance, resources)
    assert report["horizon"] == "2024-12-30"
    assert "2024-12-30: before CLIK_PARTITIONS_START (2025-01-01)" in report["refused"]
