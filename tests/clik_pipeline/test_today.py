"""Today's stats (docs/contract.md section 6): today is a partition, refreshed by its sensor at
least every CLIK_TODAY_REFRESH_MINUTES, provisional until the 02:00 UTC run after it, and a
previous day that run did not finalize is reported at 03:00 UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import dagster as dg
import psycopg

from clik_pipeline.definitions import defs
from clik_pipeline.defs.daily.freshness import (
    DEADLINE_CHECK,
    deadline_day,
    finalization_results,
)
from clik_pipeline.defs.daily.sensors import LateDataCursor, PendingDay, _days_to_request
from clik_pipeline.defs.daily.today import TODAY_REFRESH_TAG, today_refresh
from clik_pipeline.partitions import daily_partitions
from clik_pipeline.tables import DAILY_TABLE_NAMES, USER_STATS
from tests.clik_pipeline.conftest import Pipeline
from tests.factories import insert_page_views, insert_sessions, page_view, session

PERIOD = timedelta(minutes=15)


def _today() -> date:
    return datetime.now(UTC).date()


def _visit(conn: psycopg.Connection, at: datetime, user_code: str = "u1") -> None:
    session_id = f"s-{at:%Y%m%d%H%M%S%f}"
    insert_sessions(conn, [session(session_id, at, user_code=user_code)])
    insert_page_views(conn, [page_view(session_id, at, user_code=user_code)])


def test_today_is_the_last_partition() -> None:
    assert daily_partitions.get_last_partition_key() == _today().isoformat()


def test_the_sensor_refreshes_today_once_a_period_has_passed(
    pipeline: Pipeline, instance: dg.DagsterInstance
) -> None:
    today = _today()
    context = dg.build_sensor_context(instance=instance)
    now = datetime.now(UTC)

    first = today_refresh(context, now, PERIOD)
    assert isinstance(first, dg.RunRequest)  # never materialized today: refresh now
    assert first.partition_key == today.isoformat()
    assert first.tags[TODAY_REFRESH_TAG] == "true"

    pipeline.materialize(today)
    waiting = today_refresh(context, datetime.now(UTC), PERIOD)
    assert isinstance(waiting, dg.SkipReason)
    assert "refreshed at" in (waiting.skip_message or "")

    # One tick before the period is over, the next refresh is requested.
    due = today_refresh(context, datetime.now(UTC) + PERIOD - timedelta(seconds=59), PERIOD)
    assert isinstance(due, dg.RunRequest)
    assert due.run_key != first.run_key


def test_todays_rows_are_provisional_and_a_finalized_day_is_not(
    pipeline: Pipeline, conn: psycopg.Connection
) -> None:
    today, past = _today(), _today() - timedelta(3)
    for day in (today, past):
        _visit(conn, datetime.combine(day, time(0, 0, 1), UTC))
        pipeline.materialize(day)
    flags = dict(
        conn.execute(
            "SELECT date, clik_day_is_provisional(date, computed_at) "
            "FROM analytics_daily_user_stats ORDER BY date"
        ).fetchall()
    )
    # `past` was aggregated long after 02:00 UTC of the day after it: final.
    assert flags == {past: False, today: True}
    # A day without rows is provisional until its finalizing time has come.
    (quiet_today, quiet_past) = conn.execute(
        "SELECT clik_day_is_provisional(%s, NULL), clik_day_is_provisional(%s, NULL)",
        [today, past],
    ).fetchone() or (None, None)
    assert (quiet_today, quiet_past) == (True, False)


def test_a_day_the_0200_run_did_not_finalize_is_reported_at_0300(
    pipeline: Pipeline, instance: dg.DagsterInstance, conn: psycopg.Connection
) -> None:
    day = _today() - timedelta(5)
    at_three = datetime.combine(day + timedelta(1), time(3, 0, 5), UTC)
    assert deadline_day(at_three) == day
    assert deadline_day(at_three - timedelta(minutes=1)) == day - timedelta(1)

    never = {
        r.asset_key.to_user_string(): r
        for r in finalization_results(instance, DAILY_TABLE_NAMES, at_three)
    }
    assert set(never) == set(DAILY_TABLE_NAMES)
    assert not any(result.passed for result in never.values())
    assert never[USER_STATS].description == f"{day} was never materialized"

    # Only the today-refresh of the evening before midnight ran: the snapshot is too early.
    evening = datetime.combine(day, time(23, 50), UTC)
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            USER_STATS,
            partition=day.isoformat(),
            metadata={"snapshot_at": dg.MetadataValue.timestamp(evening)},
        )
    )
    (late,) = finalization_results(instance, [USER_STATS], at_three)
    assert not late.passed
    assert late.check_name == DEADLINE_CHECK
    assert late.severity == dg.AssetCheckSeverity.ERROR
    assert "still provisional" in (late.description or "")
    assert "did not finalize" in (late.description or "")

    # The real run, now (long after 02:00 UTC of the next day), finalizes it.
    _visit(conn, datetime.combine(day, time(12), UTC))
    pipeline.materialize(day)
    results = list(finalization_results(instance, DAILY_TABLE_NAMES, at_three))
    assert all(result.passed for result in results), [r.description for r in results]


def test_the_deadline_check_runs_at_three_from_its_own_schedule() -> None:
    schedule = defs.resolve_schedule_def("finalization_deadline_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 3 * * *", "UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = defs.resolve_job_def("finalization_deadline_job")
    assert {key.name for key in job.asset_layer.asset_graph.asset_check_keys} >= {DEADLINE_CHECK}
    # The aggregation job does not run it: it is about the schedule, not about the day's data.
    aggregation = defs.resolve_job_def("daily_aggregation_job")
    selected = aggregation.asset_layer.asset_graph.asset_check_keys
    assert DEADLINE_CHECK not in {key.name for key in selected}


def test_late_rows_of_today_wait_until_it_is_over(
    pipeline: Pipeline, instance: dg.DagsterInstance
) -> None:
    today = _today()
    pipeline.materialize(today)
    now = datetime.now(UTC)
    cursor = LateDataCursor(
        scanned_until=now.timestamp(),
        pending={today: PendingDay(last_received=now.timestamp() + 3600)},
    )
    # Today belongs to the today-refresh sensor: not requested, but kept for later.
    assert _days_to_request(instance, cursor, now.timestamp(), timedelta(minutes=2)) == []
    assert today in cursor.pending
    # After midnight the day is over: its rows received after the last refresh bring it up to date.
    tomorrow = datetime.combine(today + timedelta(1), time(0, 5), UTC).timestamp()
    assert _days_to_request(instance, cursor, tomorrow, timedelta(minutes=2)) == [today]
