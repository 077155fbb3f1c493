"""The raw tables' day partitions: created ahead of the days that need them (ingest writes
rows of a missing day into the default partition, from which these moves them)."""

from __future__ import annotations

from datetime import date

import psycopg

from clik_pipeline.queries import Queries

queries = Queries(__package__)


def ensure_raw_partitions(conn: psycopg.Connection, first_day: date, last_day: date) -> int:
    """Creates the missing day partitions of [first_day, last_day] (own transaction: this is
    DDL, and it briefly locks the default partitions while it moves their waiting rows);
    returns how many it created."""
    return queries.scalar(
        conn, "ensure_raw_partitions", {"first_day": first_day, "last_day": last_day}
    )


def ensure_upcoming_raw_partitions(conn: psycopg.Connection, days_ahead: int) -> None:
    """Keeps the raw day partitions of the next `days_ahead` days ready."""
    queries.run(conn, "ensure_upcoming_raw_partitions", {"days_ahead": days_ahead})
