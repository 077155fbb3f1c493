"""Schedules, both running from the start: the previous UTC day at 02:00 UTC (events mostly
arrive within seconds; the late-data sensor takes care of the rest), and raw retention weekly
on Sunday at 03:00 UTC."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition, build_schedule_from_partitioned_job

from clik_pipeline.jobs import daily_aggregation_job, raw_retention_job

daily_aggregation_schedule = build_schedule_from_partitioned_job(
    daily_aggregation_job,
    name="daily_aggregation_schedule",
    description="Every day at 02:00 UTC: aggregates the previous UTC day.",
    hour_of_day=2,
    minute_of_hour=0,
    default_status=DefaultScheduleStatus.RUNNING,
)

raw_retention_schedule = ScheduleDefinition(
    name="raw_retention_schedule",
    job=raw_retention_job,
    cron_schedule="0 3 * * 0",
    execution_timezone="UTC",
    description="Sundays at 03:00 UTC: drops raw days older than CLIK_RETENTION_DAYS that are "
    "aggregated and checked.",
    default_status=DefaultScheduleStatus.RUNNING,
)
