"""The daily schedule: at 02:00 UTC it aggregates the previous UTC day, which finalizes it
(events mostly arrive within seconds; the late-data sensor takes care of the rest).

Built by hand rather than with build_schedule_from_partitioned_job: since today is a partition
too, that would target today."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    schedule,
)

from clik_pipeline.defs.daily.jobs import daily_aggregation_job

# A day's rows are final once computed at or after this long past its end (the SQL function
# clik_day_is_provisional of migration 0060 says the same to owners).
FINALIZED_AFTER = timedelta(hours=2)


@schedule(
    name="daily_aggregation_schedule",
    job=daily_aggregation_job,
    cron_schedule=f"0 {FINALIZED_AFTER.seconds // 3600} * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Every day at 02:00 UTC: aggregates the previous UTC day and finalizes it.",
)
def daily_aggregation_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    tick = context.scheduled_execution_time or datetime.now(UTC)
    finished_day = (tick.astimezone(UTC) - FINALIZED_AFTER).date() - timedelta(1)
    # Partition and run key: a tick evaluated twice asks for one run.
    return RunRequest(run_key=finished_day.isoformat(), partition_key=finished_day.isoformat())
