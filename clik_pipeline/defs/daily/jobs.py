"""The daily aggregation job: all four daily tables and their checks."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from clik_pipeline.defs.daily.assets import DAILY_GROUP

daily_aggregation_job = define_asset_job(
    "daily_aggregation_job",
    selection=AssetSelection.groups(DAILY_GROUP),  # the four tables with their checks; daily
    description="Aggregates days of raw events into the four daily tables and checks them.",
)
