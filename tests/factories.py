"""Builders of raw events and helpers that write them the way the ingest service does: one
multi-row INSERT per table, duplicates skipped with ON CONFLICT DO NOTHING."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

PAGE_VIEW_COLUMNS = (
    "id",
    "session_id",
    "user_code",
    "share_code",
    "contact_id",
    "page_type",
    "viewed_at",
)
CLICK_COLUMNS = (
    "id",
    "session_id",
    "user_code",
    "share_code",
    "contact_id",
    "click_target",
    "click_category",
    "clicked_at",
)
SESSION_COLUMNS = (
    "session_id",
    "user_code",
    "share_code",
    "contact_id",
    "first_seen",
    "last_seen",
    "ip_address",
    "user_agent",
    "referrer",
)


def utc(text: str) -> datetime:
    """An aware UTC datetime from '2026-11-25 10:00:00[.fff]'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def page_view(
    session_id: str,
    viewed_at: str | datetime,
    *,
    user_code: str = "u1",
    share_code: str | None = None,
    page_type: str = "home",
    contact_id: str | None = None,
    id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "id": id or uuid.uuid4(),
        "session_id": session_id,
        "user_code": user_code,
        "share_code": share_code,
        "contact_id": contact_id,
        "page_type": page_type,
        "viewed_at": _time(viewed_at),
    }


def click(
    session_id: str,
    clicked_at: str | datetime,
    *,
    user_code: str = "u1",
    share_code: str | None = None,
    click_target: str = "phone",
    click_category: str | None = "contact",
    contact_id: str | None = None,
    id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "id": id or uuid.uuid4(),
        "session_id": session_id,
        "user_code": user_code,
        "share_code": share_code,
        "contact_id": contact_id,
        "click_target": click_target,
        "click_category": click_category,
        "clicked_at": _time(clicked_at),
    }


def session(
    session_id: str,
    first_seen: str | datetime,
    *,
    user_code: str = "u1",
    share_code: str | None = None,
    last_seen: str | datetime | None = None,
    contact_id: str | None = None,
) -> dict[str, Any]:
    first = _time(first_seen)
    return {
        "session_id": session_id,
        "user_code": user_code,
        "share_code": share_code,
        "contact_id": contact_id,
        "first_seen": first,
        "last_seen": _time(last_seen) if last_seen else first,
        "ip_address": None,
        "user_agent": "pytest",
        "referrer": None,
    }


def insert_sessions(conn: psycopg.Connection, rows: Sequence[dict[str, Any]]) -> int:
    return _insert(conn, "analytics_sessions", SESSION_COLUMNS, rows)


def insert_page_views(conn: psycopg.Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Inserts in one statement; returns how many rows were new."""
    return _insert(conn, "analytics_page_views", PAGE_VIEW_COLUMNS, rows)


def insert_clicks(conn: psycopg.Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Inserts in one statement; returns how many rows were new."""
    return _insert(conn, "analytics_clicks", CLICK_COLUMNS, rows)


@contextmanager
def as_role(conn: psycopg.Connection, role: str) -> Iterator[psycopg.Connection]:
    """Runs the block in a transaction under `role` (SET LOCAL ROLE), as the components do."""
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        yield conn


def _insert(
    conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> int:
    if not rows:
        return 0
    row_placeholder = sql.SQL("({})").format(sql.SQL(", ").join(sql.Placeholder() * len(columns)))
    statement = sql.SQL("INSERT INTO {} ({}) VALUES {} ON CONFLICT DO NOTHING").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join([row_placeholder] * len(rows)),
    )
    params = [row[column] for row in rows for column in columns]
    return conn.execute(statement, params).rowcount


def _time(value: str | datetime) -> datetime:
    return utc(value) if isinstance(value, str) else value
