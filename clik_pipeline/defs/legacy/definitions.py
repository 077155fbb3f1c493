"""The legacy domain: the old system's table, its migration and reconciliation."""

from dagster import Definitions

from clik_pipeline.defs.legacy.assets import (
    analytics_events,
    analytics_events_archive,
    legacy_rows_reconciled,
)
from clik_pipeline.defs.legacy.jobs import legacy_events_migration_job
from clik_pipeline.defs.legacy.sensors import legacy_days_aggregation_sensor

defs = Definitions(
    assets=[analytics_events, analytics_events_archive],
    asset_checks=[legacy_rows_reconciled],
    jobs=[legacy_events_migration_job],
    sensors=[legacy_days_aggregation_sensor],
)
