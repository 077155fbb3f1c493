"""The definitions load and carry the names docs/contract.md section 6 promises."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

from clik_pipeline.definitions import defs

ROOT = Path(__file__).resolve().parents[2]
DAILY = {
    "analytics_daily_user_stats",
    "analytics_daily_group_stats",
    "analytics_daily_click_targets",
    "analytics_daily_page_stats",
}
RAW = {"analytics_sessions", "analytics_page_views", "analytics_clicks"}


def test_asset_keys_are_the_table_names_in_their_groups() -> None:
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    in_groups = {name for name, group in groups.items() if group in ("raw", "daily")}
    assert in_groups == RAW | DAILY  # (other groups, e.g. the legacy tables, may exist)
    assert {name: groups[name] for name in RAW | DAILY} == {
        **dict.fromkeys(RAW, "raw"),
        **dict.fromkeys(DAILY, "daily"),
    }
    for key in RAW:
        node = graph.get(dg.AssetKey(key))
        assert not node.is_materializable  # external: written by the ingest service
        assert node.metadata["dagster/column_schema"].columns
    for key in DAILY:
        node = graph.get(dg.AssetKey(key))
        # Today is a partition too (end_offset=1): refreshed while provisional.
        assert node.partitions_def == dg.DailyPartitionsDefinition(
            "2025-01-01", timezone="UTC", end_offset=1
        )
        assert node.freshness_policy is not None
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
        assert node.metadata["dagster/column_schema"].columns


def test_every_daily_table_has_reconciling_checks() -> None:
    checks = {
        (key.asset_key.to_user_string(), key.name)
        for key in defs.resolve_asset_graph().asset_check_keys
        if key.asset_key.to_user_string() in DAILY
    }
    assert checks == {
        ("analytics_daily_user_stats", "user_stats_match_raw_events"),
        ("analytics_daily_user_stats", "user_stats_match_other_daily_tables"),
        ("analytics_daily_user_stats", "session_counters_match_events"),
        ("analytics_daily_group_stats", "group_stats_match_raw_events"),
        ("analytics_daily_click_targets", "click_targets_match_raw_clicks"),
        ("analytics_daily_page_stats", "page_stats_match_raw_page_views"),
        *((table, "yesterday_finalized_by_0300") for table in DAILY),
    }


def test_jobs_schedules_and_sensor() -> None:
    aggregation = defs.resolve_job_def("daily_aggregation_job")
    assert {key.to_user_string() for key in aggregation.asset_layer.executable_asset_keys} >= DAILY
    assert defs.resolve_job_def("raw_retention_job")
    daily = defs.resolve_schedule_def("daily_aggregation_schedule")
    assert (daily.cron_schedule, daily.execution_timezone, daily.job_name) == (
        "0 2 * * *",
        "UTC",
        "daily_aggregation_job",
    )
    weekly = defs.resolve_schedule_def("raw_retention_schedule")
    assert (weekly.cron_schedule, weekly.execution_timezone, weekly.job_name) == (
        "0 3 * * 0",
        "UTC",
        "raw_retention_job",
    )
    sensor = defs.resolve_sensor_def("late_events_sensor")
    for definition in (daily, weekly, sensor):
        assert definition.default_status.value == "RUNNING"


def test_workspace_and_instance_files() -> None:
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == "clik_pipeline.definitions"
    instance = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert instance["storage"]["postgres"]["postgres_url"] == {"env": "CLIK_DAGSTER_DATABASE_URL"}
    assert instance["telemetry"]["enabled"] is False
    assert instance["run_coordinator"]["class"] == "QueuedRunCoordinator"
