"""The database work of the legacy migration: moving the old system's one-JSONB-row-per-event
table `analytics_events` into the normalized tables, chunk by chunk, and reconciling counts.

Everything runs under the role clik_legacy_migrator (sql/0031). Each chunk is one statement,
so one transaction (queries/migrate_legacy_events_chunk.sql): it inserts the chunk's events,
archives every row of it (with the reason when a row cannot be mapped) and deletes them from
analytics_events. A run that stops anywhere leaves whole chunks done and the rest waiting: the
next run continues with the oldest rows left, and nothing is ever moved twice.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import psycopg

from clik.errors import ClikError
from clik_pipeline.defs.raw.partitions import ensure_raw_partitions
from clik_pipeline.queries import Queries, shared_queries

queries = Queries(__package__)

DEFAULT_CHUNK_SIZE = 20_000
# Held for a whole run, so two runs never interleave their chunks.
LOCK_KEY = 0x636C696B_4C  # "clik" + "L"
# ensure_raw_partitions accepts at most 367 days per call.
PARTITION_DAYS_PER_CALL = 366


@dataclass
class Chunk:
    """What one chunk transaction did."""

    taken: int
    archived: int
    page_views: int
    clicks: int
    sessions: int
    page_views_inserted: int
    clicks_inserted: int
    unmapped: int
    unmapped_by_reason: dict[str, int]
    first_day: date | None
    last_day: date | None


@dataclass
class MigrationRun:
    """The sum of a run's chunks."""

    chunks: int = 0
    taken: int = 0
    archived: int = 0
    page_views: int = 0
    clicks: int = 0
    sessions: int = 0
    already_present: int = 0  # events whose id was already stored (ON CONFLICT DO NOTHING)
    unmapped: int = 0
    unmapped_by_reason: Counter[str] = field(default_factory=Counter)
    first_day: date | None = None
    last_day: date | None = None
    remaining: int = 0
    partitions_created: int = 0
    seconds: float = 0.0

    def add(self, chunk: Chunk) -> None:
        self.chunks += 1
        self.taken += chunk.taken
        self.archived += chunk.archived
        self.page_views += chunk.page_views
        self.clicks += chunk.clicks
        self.sessions += chunk.sessions
        self.already_present += (chunk.page_views - chunk.page_views_inserted) + (
            chunk.clicks - chunk.clicks_inserted
        )
        self.unmapped += chunk.unmapped
        self.unmapped_by_reason.update(chunk.unmapped_by_reason)
        if chunk.first_day is not None:
            self.first_day = min(filter(None, (self.first_day, chunk.first_day)))
        if chunk.last_day is not None:
            self.last_day = max(filter(None, (self.last_day, chunk.last_day)))


@dataclass
class Reconciliation:
    """The migration's counts as the database holds them now."""

    original_rows: int | None  # None: the migration never ran
    remaining_rows: int
    archived_rows: int
    unmapped_rows: int
    page_views: int
    clicks: int
    sessions: int
    missing_page_views: int
    missing_clicks: int
    missing_sessions: int
    unmapped_by_reason: dict[str, int]

    @property
    def accounted_for(self) -> int:
        return self.archived_rows + self.remaining_rows

    @property
    def problems(self) -> list[str]:
        found = []
        if self.original_rows is not None and self.accounted_for != self.original_rows:
            found.append(
                f"archived ({self.archived_rows}) + remaining ({self.remaining_rows}) = "
                f"{self.accounted_for} legacy rows, but the migration started with "
                f"{self.original_rows} (difference {self.accounted_for - self.original_rows})"
            )
        for name in ("page_views", "clicks", "sessions"):
            missing = getattr(self, f"missing_{name}")
            if missing:
                found.append(
                    f"{missing} migrated rows have no {name.replace('_', ' ')[:-1]} "
                    f"in analytics_{name}"
                )
        return found


def migrate(
    conn: psycopg.Connection,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_chunks: int | None = None,
    earliest_partition: date | None = None,
    on_chunk: Callable[[Chunk, MigrationRun], None] | None = None,
) -> MigrationRun:
    """Moves legacy rows, oldest first, in chunks of `chunk_size` rows (one transaction each)
    until none are left or `max_chunks` chunks are done. Day partitions are made for the legacy
    days from `earliest_partition` (the first daily partition) to today; events outside stay in
    the default partitions. `conn` must be in autocommit mode, and its session user allowed to
    SET ROLE clik_legacy_migrator."""
    if chunk_size < 1:
        raise ClikError("chunk_size must be at least 1")
    began = time.perf_counter()
    run = MigrationRun()
    with _run_lock(conn):
        with _as_migrator(conn):
            queries.run(conn, "record_legacy_migration_baseline")
            first_day, last_day = _row(conn, "select_legacy_event_days")
            today = shared_queries.scalar(conn, "select_current_utc_date")
        bounds = (earliest_partition or date.min, today + timedelta(1))
        if first_day is not None:
            # Events land in their day partition rather than the default one (which the
            # aggregation would otherwise have to empty row by row first).
            run.partitions_created += _ensure_partitions(
                conn, first_day, last_day + timedelta(1), bounds
            )
        while max_chunks is None or run.chunks < max_chunks:
            with _as_migrator(conn):
                queries.run(conn, "set_chunk_work_mem")
                chunk = Chunk(
                    *_row(conn, "migrate_legacy_events_chunk", {"chunk_size": chunk_size})
                )
            if chunk.taken == 0:
                break
            run.add(chunk)
            if on_chunk is not None:
                on_chunk(chunk, run)
        if run.first_day is not None and run.last_day is not None:
            # An event time far from its row's created_at may have reached the default
            # partition: give its day a partition too (rows are moved into it).
            run.partitions_created += _ensure_partitions(
                conn, run.first_day, run.last_day + timedelta(1), bounds
            )
        with _as_migrator(conn):
            (run.remaining,) = _row(conn, "count_legacy_events")
    run.seconds = time.perf_counter() - began
    return run


def reconcile(conn: psycopg.Connection, horizon: date) -> Reconciliation:
    """The migration's counts; migrated events before `horizon` are not looked up (retention
    may have dropped them)."""
    with _as_migrator(conn):
        row = _row(conn, "reconcile_legacy_migration", {"horizon": horizon})
    original, _recorded_at, *counts = row  # counts in Reconciliation's field order
    return Reconciliation(original, *counts)


def _ensure_partitions(
    conn: psycopg.Connection, start: date, stop: date, bounds: tuple[date, date]
) -> int:
    """Creates the missing day partitions of [start, stop) within [bounds)."""
    start, stop = max(start, bounds[0]), min(stop, bounds[1])
    created = 0
    while start < stop:
        last = min(stop, start + timedelta(PARTITION_DAYS_PER_CALL)) - timedelta(1)
        with _as_migrator(conn):
            count = ensure_raw_partitions(conn, start, last)
        created += count
        start = last + timedelta(1)
    return created


def _row(conn: psycopg.Connection, name: str, params: Mapping[str, Any] | None = None) -> tuple:
    """The one row sql/<name>.sql returns."""
    row = queries.run(conn, name, params).fetchone()
    if row is None:
        raise RuntimeError(f"{name}.sql returned no row")
    return row


@contextmanager
def _as_migrator(conn: psycopg.Connection) -> Iterator[None]:
    """One transaction under clik_legacy_migrator."""
    with conn.transaction():
        queries.run(conn, "set_local_role_legacy_migrator")
        yield


@contextmanager
def _run_lock(conn: psycopg.Connection) -> Iterator[None]:
    """The session-level advisory lock of a migration run; refuses a second concurrent run."""
    (locked,) = _row(conn, "try_lock_migration_run", {"key": LOCK_KEY})
    if not locked:
        raise ClikError("another legacy migration run is in progress; try again when it ends")
    try:
        yield
    finally:
        if not conn.closed and not conn.broken:
            queries.run(conn, "unlock_migration_run", {"key": LOCK_KEY})
