"""Deterministic test traffic around UTC midnights, and an independent pandas computation of
docs/contract.md section 5's daily tables from it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
import psycopg

from tests.factories import (
    click,
    insert_clicks,
    insert_page_views,
    insert_sessions,
    page_view,
    session,
)

USER_CODES = ("u1", "u2", "u3", "u4", "u5", "u6")
SHARE_CODES = (None, "qr1", "qr2", "link")
PAGE_TYPES = ("home", "contact", "portfolio")
CLICK_TARGETS = (
    ("phone", "contact"),
    ("email", "contact"),
    ("site", None),
    ("whatsapp", "contact"),
)


@dataclass
class Traffic:
    sessions: list[dict[str, Any]] = field(default_factory=list)
    page_views: list[dict[str, Any]] = field(default_factory=list)
    clicks: list[dict[str, Any]] = field(default_factory=list)

    def insert(self, conn: psycopg.Connection) -> None:
        insert_sessions(conn, self.sessions)
        for start in range(0, len(self.page_views), 500):
            insert_page_views(conn, self.page_views[start : start + 500])
        for start in range(0, len(self.clicks), 500):
            insert_clicks(conn, self.clicks[start : start + 500])


def generate(days: list[date], sessions_per_day: int = 40, seed: int = 7) -> Traffic:
    """Sessions on each day, some starting just before midnight and running into the next day,
    events exactly at 23:59:59.999 and 00:00:00, missing share codes and categories, and events
    whose share code differs from their session's."""
    rng = random.Random(seed)
    traffic = Traffic()
    for day in days:
        midnight = datetime.combine(day, time(), UTC)
        for n in range(sessions_per_day):
            session_id = f"{day:%Y%m%d}-{n}"
            user_code = rng.choice(USER_CODES)
            share_code = rng.choice(SHARE_CODES)
            if n % 5 == 0:  # over midnight into the next day
                first_seen = midnight + timedelta(hours=23, minutes=59, seconds=59)
                offsets = [timedelta(milliseconds=999), timedelta(seconds=1), timedelta(minutes=3)]
            elif n % 7 == 0:  # starts exactly at midnight
                first_seen = midnight
                offsets = [timedelta(0), timedelta(seconds=5)]
            else:
                first_seen = midnight + timedelta(seconds=rng.randrange(60, 86_000))
                offsets = sorted(timedelta(seconds=rng.randrange(0, 300)) for _ in range(3))
            times = [first_seen + offset for offset in offsets]
            traffic.sessions.append(
                session(
                    session_id,
                    first_seen,
                    user_code=user_code,
                    share_code=share_code,
                    last_seen=max(times),
                )
            )
            for at in times[: rng.randrange(0, len(times) + 1)]:
                traffic.page_views.append(
                    page_view(
                        session_id,
                        at,
                        user_code=user_code,
                        share_code=_event_share_code(rng, share_code),
                        page_type=rng.choice(PAGE_TYPES),
                    )
                )
            for at in times[: rng.randrange(0, 3)]:
                target, category = rng.choice(CLICK_TARGETS)
                traffic.clicks.append(
                    click(
                        session_id,
                        at,
                        user_code=user_code,
                        share_code=_event_share_code(rng, share_code),
                        click_target=target,
                        click_category=category,
                    )
                )
    return traffic


def _event_share_code(rng: random.Random, session_share_code: str | None) -> str | None:
    """Usually the session's share code; sometimes another one (the rows' own code counts)."""
    return session_share_code if rng.random() < 0.8 else rng.choice(SHARE_CODES)


# --- docs/contract.md section 5, computed with pandas from the generated rows -----------------------------


def expected_tables(traffic: Traffic, days: list[date]) -> dict[str, list[tuple]]:
    """The four daily tables for `days`, as sorted row tuples (the columns of `actual_tables`)."""
    sessions = _frame(traffic.sessions, "first_seen")
    views = _frame(traffic.page_views, "viewed_at")
    clicks = _frame(traffic.clicks, "clicked_at")
    sessions, views, clicks = (frame[frame.date.isin(days)] for frame in (sessions, views, clicks))

    activity = pd.concat(
        [
            sessions.assign(sessions=1, page_views=0, clicks=0),
            views.assign(sessions=0, page_views=1, clicks=0),
            clicks.assign(sessions=0, page_views=0, clicks=1),
        ]
    )[["user_code", "share_code", "date", "sessions", "page_views", "clicks"]]

    users = activity.groupby(["user_code", "date"]).agg(
        sessions=("sessions", "sum"),
        page_views=("page_views", "sum"),
        clicks=("clicks", "sum"),
        share_codes=("share_code", lambda codes: sorted({c for c in codes if pd.notna(c)})),
    )
    groups = activity.groupby(["user_code", "share_code", "date"], dropna=False)[
        ["sessions", "page_views", "clicks"]
    ].sum()
    targets = clicks.groupby(
        ["user_code", "share_code", "date", "click_target", "click_category"], dropna=False
    ).size()
    pages = views.groupby(["user_code", "share_code", "date", "page_type"], dropna=False).size()
    return {
        "analytics_daily_user_stats": _rows(users),
        "analytics_daily_group_stats": _rows(groups),
        "analytics_daily_click_targets": _rows(targets),
        "analytics_daily_page_stats": _rows(pages),
    }


ACTUAL_COLUMNS = {
    "analytics_daily_user_stats": "user_code, date, total_sessions, total_page_views, "
    "total_clicks, unique_share_codes",
    "analytics_daily_group_stats": "user_code, share_code, date, total_sessions, "
    "total_page_views, total_clicks",
    "analytics_daily_click_targets": "user_code, share_code, date, click_target, click_category, "
    "click_count",
    "analytics_daily_page_stats": "user_code, share_code, date, page_type, view_count",
}


def actual_tables(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    """The four daily tables as they are, in the shape of `expected_tables`."""
    return {
        table: sorted(conn.execute(f"SELECT {columns} FROM {table}").fetchall(), key=_sort_key)
        for table, columns in ACTUAL_COLUMNS.items()
    }


def _frame(rows: list[dict[str, Any]], time_column: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, dtype=object)
    frame["date"] = [moment.astimezone(UTC).date() for moment in frame[time_column]]
    return frame


def _rows(result: pd.DataFrame | pd.Series) -> list[tuple]:
    frame = result.reset_index()
    rows = [
        tuple(_plain(value) for value in row) for row in frame.itertuples(index=False, name=None)
    ]
    return sorted(rows, key=_sort_key)


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return value
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return int(value) if hasattr(value, "dtype") or isinstance(value, int) else value


def _sort_key(row: tuple) -> tuple:
    return tuple((value is None, str(value)) for value in row)
