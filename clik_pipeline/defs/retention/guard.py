"""What the other domains must respect of retention: the horizon before which raw events were
removed, the lock that keeps retention from dropping a day while it is being aggregated, and
which days retention emptied."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import psycopg

from clik_pipeline.partitions import days
from clik_pipeline.queries import Queries

queries = Queries(__package__)


def retention_horizon(conn: psycopg.Connection) -> date | None:
    """Raw events before this day were removed by retention (None: it never ran)."""
    return queries.scalar(conn, "select_raw_retention_horizon")


@contextmanager
def retention_held_off(conn: psycopg.Connection) -> Iterator[None]:
    """Retention cannot drop anything while this is held (a shared session lock on `conn`,
    around the caller's transaction)."""
    queries.run(conn, "lock_raw_retention_shared")
    try:
        yield
    finally:
        queries.run(conn, "unlock_raw_retention_shared")


def has_raw_events(conn: psycopg.Connection, day: date) -> bool:
    """Whether a session started, or a page view or click happened, on the day."""
    return queries.scalar(conn, "select_day_has_raw_events", {"day": day})


def has_events(conn: psycopg.Connection, day: date) -> bool:
    """Whether a page view or click happened on the day."""
    return queries.scalar(conn, "select_day_has_events", {"day": day})


def emptied_days(
    conn: psycopg.Connection, start: date, stop: date, horizon: date | None
) -> set[date]:
    """Days of [start, stop) before the retention horizon without page views or clicks: their
    events were dropped by retention (at most a session running past the horizon is left), so
    their aggregates must stay as they are. A day before the horizon that has events again,
    e.g. imported legacy events, is aggregated as usual."""
    if horizon is None or start >= horizon:
        return set()
    return {day for day in days(start, min(stop, horizon)) if not has_events(conn, day)}
