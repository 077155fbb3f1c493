"""Jobs: the daily aggregation (all four daily tables and their checks) and raw retention."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from clik_pipeline.assets.daily_stats import DAILY_GROUP
from clik_pipeline.retention import raw_retention_job

daily_aggregation_job = define_asset_job(
    "daily_aggregation_job",
    selection=AssetSelection.groups(DAILY_GROUP),  # the four tables with their checks; daily
    description="Aggregates days of raw events into the four daily tables and checks them.",
)

__all__ = ["daily_aggregation_job", "raw_retention_job"]
