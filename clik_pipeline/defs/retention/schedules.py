"""Raw retention runs weekly, on Sunday at 03:00 UTC (after the 02:00 daily run)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition

from clik_pipeline.defs.retention.job import raw_retention_job

raw_retention_schedule = ScheduleDefinition(
    name="raw_retention_schedule",
    job=raw_retention_job,
    cron_schedule="0 3 * * 0",
    execution_timezone="UTC",
    description="Sundays at 03:00 UTC: drops raw days older than CLIK_RETENTION_DAYS that are "
    "aggregated and checked.",
    default_status=DefaultScheduleStatus.RUNNING,
)
