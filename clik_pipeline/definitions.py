"""The clik code location: one Definitions assembled from the modules that define each part.
Adding a job, an asset or a check is one line in one of these lists."""

from __future__ import annotations

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    AssetSpec,
    Definitions,
)

from clik_pipeline.assets.daily_stats import daily_tables
from clik_pipeline.assets.legacy import (
    analytics_events,
    analytics_events_archive,
    legacy_rows_reconciled,
)
from clik_pipeline.assets.raw import raw_event_tables
from clik_pipeline.jobs import daily_aggregation_job, raw_retention_job
from clik_pipeline.legacy_jobs import legacy_days_aggregation_sensor, legacy_events_migration_job
from clik_pipeline.resources import ClikDatabase
from clik_pipeline.schedules import daily_aggregation_schedule, raw_retention_schedule
from clik_pipeline.sensors import late_events_sensor

assets: list[AssetsDefinition | AssetSpec] = [
    *raw_event_tables,
    daily_tables,  # the four daily tables; their checks are declared with them
    analytics_events,
    analytics_events_archive,
]
asset_checks: list[AssetChecksDefinition] = [legacy_rows_reconciled]
jobs: list = [  # job definitions, and asset jobs resolved when Definitions loads
    daily_aggregation_job,
    raw_retention_job,
    legacy_events_migration_job,
]
schedules = [
    daily_aggregation_schedule,
    raw_retention_schedule,
]
sensors = [
    late_events_sensor,
    legacy_days_aggregation_sensor,
]
resources = {
    "database": ClikDatabase(),
}

defs = Definitions(
    assets=assets,
    asset_checks=asset_checks,
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources=resources,
)
