"""The database work of the daily assets: one transaction per chunk of days that replaces the
selected daily tables' rows of those days, reads back what the materializations report, and
evaluates the selected checks on the same snapshot."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime

import psycopg

from clik_pipeline.defs.daily.checks import CheckOutcome, DailyCheck, evaluate_checks, raw_passes
from clik_pipeline.defs.daily.raw_passes import Connect, RawPassesBeside
from clik_pipeline.defs.raw.partitions import ensure_raw_partitions
from clik_pipeline.defs.retention.guard import emptied_days, retention_held_off, retention_horizon
from clik_pipeline.partitions import contiguous_ranges, days
from clik_pipeline.queries import Queries
from clik_pipeline.tables import DAILY_TABLE_NAMES

queries = Queries(__package__)

PREVIEW_ROWS_PER_DAY = 5


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
    # per day: sessions started, page views and clicks that day in the raw tables, as the
    # checks' collections counted them (empty when no check read them)
    raw_counts: dict[date, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0  # the whole transaction, all its days

    kept_days: set[date] = field(default_factory=set)  # raw rows removed by retention
    warnings: list[str] = field(default_factory=list)  # for the run's log

    def kept(self, day: date) -> bool:
        """True when the day was left as it was: its raw rows were removed by retention."""
        return day in self.kept_days


def ensure_partitions(conn: psycopg.Connection, start: date, stop: date) -> None:
    """Creates the raw day partitions of [start, stop) that are missing, except before the
    retention horizon (own transaction: this is DDL, and it briefly locks the default
    partitions while it moves their waiting rows)."""
    horizon = retention_horizon(conn)
    first = max(start, horizon) if horizon else start
    if first < stop:
        ensure_raw_partitions(conn, first, date.fromordinal(stop.toordinal() - 1))


def process_chunk(
    conn: psycopg.Connection,
    start: date,
    stop: date,
    tables: Sequence[str],
    checks: Sequence[DailyCheck],
    materialized_days: Mapping[str, Iterable[date]],
    connect: Connect | None = None,
) -> ChunkResult:
    """Replaces `tables` for [start, stop) and evaluates `checks`, in one REPEATABLE READ
    transaction on `conn` (an autocommit connection under role clik_pipeline). With `connect`
    (another connection like `conn`), the checks read the raw rows on it while the tables are
    written (raw_passes.py).

    Days whose raw rows retention removed are left untouched: re-aggregating them would
    replace kept-forever aggregates with nothing. `materialized_days` lists, per daily table,
    the days materialized before this run.
    """
    began = time.perf_counter()
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    with (
        retention_held_off(conn) if tables else nullcontext(),
        conn.transaction(),
        ExitStack() as beside,
    ):
        if checks:
            queries.run(conn, "set_check_work_mem")
        if tables:
            queries.run(conn, "lock_daily_tables")
        snapshot_at, snapshot_id = queries.one(conn, "select_snapshot")
        result = ChunkResult(start, stop, snapshot_at, retention_horizon(conn))
        result.kept_days = emptied_days(conn, start, stop, result.retention_horizon)
        refreshed = [day for day in days(start, stop) if day not in result.kept_days]
        passes = raw_passes(checks)
        raw_reader = None
        if tables and passes and connect is not None:
            raw_reader = beside.enter_context(
                RawPassesBeside(connect, snapshot_id, passes, days(start, stop))
            )
        for table in tables:
            result.rows_written[table] = 0
            for first, end in contiguous_ranges(refreshed):
                window = {"start_day": first, "end_day": end}
                written = queries.scalar(conn, f"refresh_{_stem(table)}", window)
                result.rows_written[table] += written
            result.summaries[table] = _summaries(conn, table, start, stop)
            result.previews[table] = _previews(conn, table, start, stop)
        compared = {
            table: set(materialized_days.get(table, ()))
            | (set(refreshed) if table in tables else set())
            for table in DAILY_TABLE_NAMES
        }
        collected = raw_reader.hand_over(conn) if raw_reader else set()
        evaluation = evaluate_checks(
            conn,
            checks,
            start,
            stop,
            compared,
            result.kept_days,
            result.retention_horizon,
            collected,
        )
        if raw_reader and raw_reader.not_used:
            result.warnings.append(
                "the checks read the raw rows in the aggregation's transaction, not beside it: "
                + raw_reader.not_used
            )
        result.outcomes = evaluation.outcomes
        result.raw_counts = evaluation.raw_counts
    result.seconds = time.perf_counter() - began
    return result


def _stem(table: str) -> str:
    return table.removeprefix("analytics_")


def _summaries(
    conn: psycopg.Connection, table: str, start: date, stop: date
) -> dict[date, dict[str, int]]:
    cursor = queries.run(conn, f"summarize_{_stem(table)}", {"start_day": start, "end_day": stop})
    names = [column.name for column in cursor.description or ()][1:]
    found = {row[0]: dict(zip(names, map(int, row[1:]), strict=True)) for row in cursor}
    # A day without rows still reports its zeros, so the plots show the gap.
    return {day: found.get(day, dict.fromkeys(names, 0)) for day in days(start, stop)}


def _previews(
    conn: psycopg.Connection, table: str, start: date, stop: date
) -> dict[date, list[dict]]:
    cursor = queries.run(
        conn,
        f"preview_{_stem(table)}",
        {"start_day": start, "end_day": stop, "rows_per_day": PREVIEW_ROWS_PER_DAY},
    )
    names = [column.name for column in cursor.description or ()]
    previews: dict[date, list[dict]] = {day: [] for day in days(start, stop)}
    for row in cursor:
        record = dict(zip(names, row, strict=True))
        previews[record.pop("date")].append(record)
    return previews
