"""The schedules' ticks request what docs/contract.md section 6 says."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from clik_pipeline.dagster_internals import cron_string_iterator
from clik_pipeline.definitions import defs


def test_the_daily_tick_at_two_requests_the_previous_day(instance: dg.DagsterInstance) -> None:
    schedule = defs.resolve_schedule_def("daily_aggregation_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "UTC")
    repository = defs.get_repository_def()
    context = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=datetime(2026, 11, 2, 2, 0, tzinfo=UTC),
        repository_def=repository,
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-11-01"
    # Just after midnight of the first day of a month, the previous day is still the 31st.
    context = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=datetime(2026, 11, 1, 2, 0, tzinfo=UTC),
        repository_def=repository,
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-10-31"


def test_retention_runs_on_sundays_at_three() -> None:
    schedule = defs.resolve_schedule_def("raw_retention_schedule")
    ticks = cron_string_iterator(
        datetime(2026, 11, 25, tzinfo=UTC).timestamp(),
        schedule.cron_schedule,
        schedule.execution_timezone,
    )
    first, second = next(ticks), next(ticks)
    assert first == datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # a Sunday
    assert (second - first).days == 7
    (request,) = schedule.evaluate_tick(dg.build_schedule_context()).run_requests
    assert request.job_name in (None, "raw_retention_job")
