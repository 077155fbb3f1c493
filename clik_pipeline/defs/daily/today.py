"""Today's stats: the current UTC day is a partition too, refreshed at least every
CLIK_TODAY_REFRESH_MINUTES so owners see today within that long; its rows stay provisional
until the 02:00 UTC run after it finalizes them (schedules.py).

A sensor rather than a schedule: it asks for a refresh only once the last one is about a period
old and none is under way, so a slow refresh (or a backfill of today) is never stacked up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from clik.settings import ClikSettings
from clik_pipeline.defs.daily.jobs import daily_aggregation_job
from clik_pipeline.defs.daily.status import (
    latest_materializations,
    partitions_under_way,
    snapshot_at,
)
from clik_pipeline.partitions import daily_partitions
from clik_pipeline.queries import shared_queries
from clik_pipeline.resources import ClikDatabase
from clik_pipeline.tables import DAILY_TABLE_NAMES

TICK_SECONDS = 60
TODAY_REFRESH_TAG = "clik/today_refresh"


def refresh_period() -> timedelta:
    return timedelta(minutes=ClikSettings().today_refresh_minutes)


@sensor(
    name="today_refresh_sensor",
    job=daily_aggregation_job,
    minimum_interval_seconds=TICK_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Refreshes today's provisional daily rows at least every "
    "CLIK_TODAY_REFRESH_MINUTES (15 by default).",
)
def today_refresh_sensor(
    context: SensorEvaluationContext, database: ClikDatabase
) -> RunRequest | SkipReason:
    with database.connect() as conn:
        now = shared_queries.scalar(conn, "select_now")
    return today_refresh(context, now, refresh_period())


def today_refresh(
    context: SensorEvaluationContext, now: datetime, period: timedelta
) -> RunRequest | SkipReason:
    """The refresh of today due at `now` (database clock), if any."""
    today = now.astimezone(UTC).date()
    if not daily_partitions.has_partition_key(today.isoformat()):
        return SkipReason(f"today ({today}) has no daily partition (CLIK_PARTITIONS_START)")
    if any(first <= today <= last for first, last in partitions_under_way(context.instance)):
        return SkipReason(f"a run of {today} is under way")
    records = [
        latest_materializations(context.instance, table, [today]).get(today)
        for table in DAILY_TABLE_NAMES
    ]
    if all(records):
        refreshed = datetime.fromtimestamp(min(snapshot_at(r) for r in records if r), UTC)
        # One tick early: the next snapshot is then taken within the period.
        due = refreshed + period - timedelta(seconds=TICK_SECONDS)
        if now < due:
            return SkipReason(
                f"{today} was refreshed at {refreshed:%H:%M:%S} UTC; next at {due:%H:%M} UTC"
            )
    return RunRequest(
        run_key=f"today-{now.isoformat()}",
        partition_key=today.isoformat(),
        tags={TODAY_REFRESH_TAG: "true"},
    )
