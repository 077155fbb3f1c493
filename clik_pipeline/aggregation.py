"""The database work of the daily assets: one transaction per chunk of days that replaces the
selected daily tables' rows of those days, reads back what the materializations report, and
evaluates the selected checks on the same snapshot."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import psycopg

from clik_pipeline.checks import CheckOutcome, Reconciliation, evaluate_checks
from clik_pipeline.partitions import contiguous_ranges, days
from clik_pipeline.queries import query, scalar

PREVIEW_ROWS_PER_DAY = 5

# Columns of the refresh functions' tables, named once: asset names equal table names.
USER_STATS = "analytics_daily_user_stats"
GROUP_STATS = "analytics_daily_group_stats"
CLICK_TARGETS = "analytics_daily_click_targets"
PAGE_STATS = "analytics_daily_page_stats"
DAILY_TABLE_NAMES = (USER_STATS, GROUP_STATS, CLICK_TARGETS, PAGE_STATS)


@dataclass
class ChunkResult:
    """What one transaction did for the days [start, stop)."""

    start: date
    stop: date
    snapshot_at: datetime
    retention_horizon: date | None
    rows_written: dict[str, int] = field(default_factory=dict)
    summaries: dict[str, dict[date, dict[str, int]]] = field(default_factory=dict)
    previews: dict[str, dict[date, list[dict]]] = field(default_factory=dict)
    outcomes: list[CheckOutcome] = field(default_factory=list)
    seconds: float = 0.0

    kept_days: set[date] = field(default_factory=set)  # raw rows removed by retention

    def kept(self, day: date) -> bool:
        """True when the day was left as it was: its raw rows were removed by retention."""
        return day in self.kept_days


def retention_horizon(conn: psycopg.Connection) -> date | None:
    return scalar(conn, "select_raw_retention_horizon")


def ensure_partitions(conn: psycopg.Connection, start: date, stop: date) -> None:
    """Creates the raw day partitions of [start, stop) that are missing, except before the
    retention horizon (own transaction: this is DDL, and it briefly locks the default
    partitions while it moves their waiting rows)."""
    horizon = retention_horizon(conn)
    first = max(start, horizon) if horizon else start
    if first < stop:
        conn.execute(
            query("ensure_raw_partitions"),
            {"first_day": first, "last_day": date.fromordinal(stop.toordinal() - 1)},
        )


def ensure_upcoming_partitions(conn: psycopg.Connection, days_ahead: int) -> None:
    """Keeps the raw day partitions of the next `days_ahead` days ready."""
    conn.execute(query("ensure_upcoming_raw_partitions"), {"days_ahead": days_ahead})


def process_chunk(
    conn: psycopg.Connection,
    start: date,
    stop: date,
    tables: Sequence[str],
    checks: Sequence[Reconciliation],
    materialized_days: Mapping[str, Iterable[date]],
) -> ChunkResult:
    """Replaces `tables` for [start, stop) and evaluates `checks`, in one REPEATABLE READ
    transaction on `conn` (an autocommit connection under role clik_pipeline).

    Days whose raw rows retention removed are left untouched: re-aggregating them would
    replace kept-forever aggregates with nothing. `materialized_days` lists, per daily table,
    the days materialized before this run.
    """
    began = time.perf_counter()
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    if tables:
        conn.execute(query("lock_raw_retention_shared"))
    try:
        with conn.transaction():
            if checks:
                conn.execute(query("set_check_work_mem"))
            if tables:
                conn.execute(query("lock_daily_tables"))
            snapshot_at = scalar(conn, "select_snapshot_time")
            result = ChunkResult(start, stop, snapshot_at, retention_horizon(conn))
            result.kept_days = _emptied_by_retention(conn, start, stop, result.retention_horizon)
            refreshed = [day for day in days(start, stop) if day not in result.kept_days]
            for table in tables:
                result.rows_written[table] = 0
                for first, end in contiguous_ranges(refreshed):
                    window = {"start_day": first, "end_day": end}
                    written = scalar(conn, f"refresh_{_stem(table)}", window)
                    result.rows_written[table] += written
                result.summaries[table] = _summaries(conn, table, start, stop)
                result.previews[table] = _previews(conn, table, start, stop)
            compared = {
                table: set(materialized_days.get(table, ()))
                | (set(refreshed) if table in tables else set())
                for table in DAILY_TABLE_NAMES
            }
            result.outcomes = evaluate_checks(
                conn, checks, start, stop, compared, result.kept_days, result.retention_horizon
            )
    finally:
        if tables:
            conn.execute(query("unlock_raw_retention_shared"))
    result.seconds = time.perf_counter() - began
    return result


def has_raw_events(conn: psycopg.Connection, day: date) -> bool:
    """Whether a session started, or a page view or click happened, on the day."""
    return scalar(conn, "select_day_has_raw_events", {"day": day})


def has_events(conn: psycopg.Connection, day: date) -> bool:
    """Whether a page view or click happened on the day."""
    return scalar(conn, "select_day_has_events", {"day": day})


def _emptied_by_retention(
    conn: psycopg.Connection, start: date, stop: date, horizon: date | None
) -> set[date]:
    """Days of [start, stop) before the retention horizon without page views or clicks: their
    events were dropped by retention (at most a session running past the horizon is left), so
    their aggregates must stay as they are. A day before the horizon that has events again,
    e.g. imported legacy events, is aggregated as usual."""
    if horizon is None or start >= horizon:
        return set()
    return {day for day in days(start, min(stop, horizon)) if not has_events(conn, day)}


def _stem(table: str) -> str:
    return table.removeprefix("analytics_")


def _summaries(
    conn: psycopg.Connection, table: str, start: date, stop: date
) -> dict[date, dict[str, int]]:
    cursor = conn.execute(query(f"summarize_{_stem(table)}"), {"start_day": start, "end_day": stop})
    names = [column.name for column in cursor.description or ()][1:]
    found = {row[0]: dict(zip(names, map(int, row[1:]), strict=True)) for row in cursor}
    # A day without rows still reports its zeros, so the plots show the gap.
    return {day: found.get(day, dict.fromkeys(names, 0)) for day in days(start, stop)}


def _previews(
    conn: psycopg.Connection, table: str, start: date, stop: date
) -> dict[date, list[dict]]:
    cursor = conn.execute(
        query(f"preview_{_stem(table)}"),
        {"start_day": start, "end_day": stop, "rows_per_day": PREVIEW_ROWS_PER_DAY},
    )
    names = [column.name for column in cursor.description or ()]
    previews: dict[date, list[dict]] = {day: [] for day in days(start, stop)}
    for row in cursor:
        record = dict(zip(names, row, strict=True))
        previews[record.pop("date")].append(record)
    return previews
