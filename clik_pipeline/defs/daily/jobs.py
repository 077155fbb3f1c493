"""The daily aggregation job: all four daily tables and their six reconciliation checks (not
the finalization deadline check, which its own schedule evaluates at 03:00 UTC)."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from clik_pipeline.defs.daily.checks import CHECK_KEYS
from clik_pipeline.tables import DAILY_TABLE_NAMES

daily_aggregation_job = define_asset_job(
    "daily_aggregation_job",
    selection=AssetSelection.assets(*DAILY_TABLE_NAMES).without_checks()
    | AssetSelection.checks(*CHECK_KEYS),
    description="Aggregates days of raw events into the four daily tables and checks them.",
)
