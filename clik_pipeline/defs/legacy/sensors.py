"""The sensor that aggregates the days a legacy migration run filled.

Migrated events land on past days that may never have been aggregated (the late-data sensor
only refreshes days already aggregated), so `legacy_days_aggregation_sensor` watches the
archive's materializations and requests `daily_aggregation_job` for the days each run touched,
as one partition-range run.
"""

from datetime import date

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    EventLogEntry,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    asset_sensor,
)

from clik_pipeline.defs.daily.jobs import daily_aggregation_job
from clik_pipeline.partitions import daily_partitions, days_run_request
from clik_pipeline.tables import LEGACY_ARCHIVE


@asset_sensor(
    asset_key=AssetKey(LEGACY_ARCHIVE),
    job=daily_aggregation_job,
    name="legacy_days_aggregation_sensor",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Aggregates the days a legacy migration run filled with events.",
)
def legacy_days_aggregation_sensor(
    context: SensorEvaluationContext, asset_event: EventLogEntry
) -> RunRequest | SkipReason:
    materialization = asset_event.asset_materialization
    metadata = materialization.metadata if materialization else {}
    if "first_day" not in metadata or "last_day" not in metadata:
        return SkipReason("the migration run moved no events")
    days = aggregatable_days(
        date.fromisoformat(str(metadata["first_day"].value)),
        date.fromisoformat(str(metadata["last_day"].value)),
    )
    if days is None:
        return SkipReason("the migrated days have no daily partition (before the first, or today)")
    first, last = days
    context.log.info(f"aggregating legacy days {first}..{last}")
    return days_run_request(first, last, run_key=f"legacy-{asset_event.run_id}-{first}-{last}")


def aggregatable_days(first: date, last: date) -> tuple[date, date] | None:
    """[first, last] cut to the days that have a daily partition; None when none has."""
    keys = daily_partitions.get_partition_keys()
    if not keys:
        return None
    first = max(first, date.fromisoformat(keys[0]))
    last = min(last, date.fromisoformat(keys[-1]))
    return (first, last) if first <= last else None
