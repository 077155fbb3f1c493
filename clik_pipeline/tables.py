"""The tables the pipeline reads and writes, named once (asset keys are the table names), and
the helper that describes their columns to Dagster."""

from __future__ import annotations

from dagster import TableColumn, TableSchema

SESSIONS = "analytics_sessions"
PAGE_VIEWS = "analytics_page_views"
CLICKS = "analytics_clicks"
RAW_TABLE_NAMES = (SESSIONS, PAGE_VIEWS, CLICKS)

USER_STATS = "analytics_daily_user_stats"
GROUP_STATS = "analytics_daily_group_stats"
CLICK_TARGETS = "analytics_daily_click_targets"
PAGE_STATS = "analytics_daily_page_stats"
DAILY_TABLE_NAMES = (USER_STATS, GROUP_STATS, CLICK_TARGETS, PAGE_STATS)

LEGACY_EVENTS = "analytics_events"
LEGACY_ARCHIVE = "analytics_events_archive"


def table_schema(*columns: tuple[str, str, str]) -> TableSchema:
    """A Dagster column schema from (name, type, description) triples."""
    return TableSchema(
        columns=[TableColumn(name, type, description) for name, type, description in columns]
    )


def table_metadata(table: str, *columns: tuple[str, str, str]) -> dict[str, object]:
    """The metadata that shows a table's name and columns on its asset page."""
    return {"dagster/table_name": table, "dagster/column_schema": table_schema(*columns)}
