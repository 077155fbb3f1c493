"""The legacy migration's job: materializes analytics_events_archive (the migration) and runs
its reconciliation check."""

from dagster import AssetSelection, define_asset_job

from clik_pipeline.tables import LEGACY_ARCHIVE

legacy_events_migration_job = define_asset_job(
    "legacy_events_migration_job",
    selection=AssetSelection.assets(LEGACY_ARCHIVE),  # with its reconciliation check
    description="Moves the old analytics_events rows into the normalized tables and the "
    "archive in resumable chunks, then reconciles the counts.",
)
