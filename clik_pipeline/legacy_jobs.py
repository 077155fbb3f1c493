"""The legacy migration's job, and the sensor that aggregates the days it filled.

`legacy_events_migration_job` materializes analytics_events_archive (the migration) and runs
its reconciliation check. Migrated events land on past days that may never have been
aggregated (the late-data sensor only refreshes days already aggregated), so
`legacy_days_aggregation_sensor` watches the archive's materializations and requests
`daily_aggregation_job` for the days each run touched, as one partition-range run.
"""

from datetime import date

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultSensorStatus,
    EventLogEntry,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    asset_sensor,
    define_asset_job,
)

from clik_pipeline.assets.legacy import ARCHIVE
from clik_pipeline.jobs import daily_aggregation_job
from clik_pipeline.partitions import daily_partitions, days_run_request

legacy_events_migration_job = define_asset_job(
    "legacy_events_migration_job",
    selection=AssetSelection.assets(ARCHIVE),  # with its reconciliation check
    description="Moves the old analytics_events rows into the normalized tables and the "
    "archive in resumable chunks, then reconciles the counts.",
)


@asset_sensor(
    asset_key=AssetKey(ARCHIVE),
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
