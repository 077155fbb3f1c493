"""The daily schedule: the previous UTC day at 02:00 UTC (events mostly arrive within seconds;
the late-data sensor takes care of the rest)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, build_schedule_from_partitioned_job

from clik_pipeline.defs.daily.jobs import daily_aggregation_job

daily_aggregation_schedule = build_schedule_from_partitioned_job(
    daily_aggregation_job,
    name="daily_aggregation_schedule",
    description="Every day at 02:00 UTC: aggregates the previous UTC day.",
    hour_of_day=2,
    minute_of_hour=0,
    default_status=DefaultScheduleStatus.RUNNING,
)
