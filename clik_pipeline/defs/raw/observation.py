"""Per-day row counts and latest receive times of the raw tables, kept up to date cheaply.

Page views and clicks are only ever inserted (retention drops whole expired days), so a day's
count grows exactly by the rows received for it: after one full count of a day, each scan adds
the rows received since the previous one (received_at, BRIN indexed), never recounting the day.
Sessions can move to an earlier day when an earlier event arrives (their received_at is stamped
again then), so a day any session row touched is recounted, through the index on first_seen.

Exactness with concurrent ingest is the late-data sensor's: an ingest transaction stamps
received_at with its start time and commits within seconds, so rows received up to `until`, a
lag before the database's now(), have all committed when read. Full counts read only rows
received up to `until` too, so no row is counted by a full count and again by a later scan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

import psycopg
from dagster import AssetObservation, MetadataValue

from clik_pipeline.partitions import daily_partitions
from clik_pipeline.queries import Queries
from clik_pipeline.tables import CLICKS, PAGE_VIEWS, RAW_TABLE_NAMES, SESSIONS

queries = Queries(__package__)

# Days kept in the cursor: the ingest service accepts events up to 7 days old (and 10 minutes
# ahead), so older days receive rows only from bulk loads (the legacy migration); such a day
# is counted in full whenever it receives rows, then forgotten again.
KEPT_DAYS = 8

FULL_COUNTS = {
    PAGE_VIEWS: "count_page_view_day",
    CLICKS: "count_click_day",
    SESSIONS: "count_session_day",
}


@dataclass
class TableDay:
    """What one raw table holds for one day: rows received up to the cursor's scanned_until
    (sessions: as last recounted) and the latest received_at among them."""

    rows: int
    last_received: float | None  # epoch seconds, database clock

    def merge_received(self, rows: int, last_received: float | None) -> None:
        self.rows += rows
        self.last_received = _latest(self.last_received, last_received)


@dataclass
class ObservationCursor:
    scanned_until: float | None = None
    days: dict[date, dict[str, TableDay]] = field(default_factory=dict)
    judged_through: date | None = None  # the volume check's last judged day

    @classmethod
    def load(cls, text: str | None) -> Self:
        if not text:
            return cls()
        state = json.loads(text)
        return cls(
            state["scanned_until"],
            {
                date.fromisoformat(day): {
                    table: TableDay(rows, last) for table, (rows, last) in tables.items()
                }
                for day, tables in state["days"].items()
            },
            date.fromisoformat(state["judged_through"]) if state.get("judged_through") else None,
        )

    def dump(self) -> str:
        return json.dumps(
            {
                "scanned_until": self.scanned_until,
                "days": {
                    day.isoformat(): {
                        table: [known.rows, known.last_received]
                        for table, known in sorted(tables.items())
                    }
                    for day, tables in sorted(self.days.items())
                },
                "judged_through": self.judged_through.isoformat() if self.judged_through else None,
            }
        )


@dataclass(frozen=True)
class DayCount:
    table: str
    day: date
    rows: int
    last_received: float | None
    counted_until: float

    def observation(self) -> AssetObservation:
        metadata: dict[str, Any] = {
            "dagster/row_count": self.rows,
            "counted_until": MetadataValue.timestamp(self.counted_until),
        }
        if self.last_received is not None:
            metadata["last_received_at"] = MetadataValue.timestamp(self.last_received)
            # What Dagster's freshness checks read for an observed (external) asset.
            metadata["dagster/last_updated_timestamp"] = MetadataValue.timestamp(self.last_received)
        return AssetObservation(
            asset_key=self.table, partition=self.day.isoformat(), metadata=metadata
        )


def observe(
    conn: psycopg.Connection, cursor: ObservationCursor, until: datetime, today: date
) -> list[DayCount]:
    """Brings the cursor's counts up to rows received by `until` and returns the counts to
    report: today's of every table (also when nothing arrived: a flat count and an old receive
    time are what a silent tracker looks like), and every other day's that received rows. The
    first scan (no cursor) counts today and yesterday in full."""
    received: list[tuple[str, date, int | None, datetime | None]] = []
    if cursor.scanned_until is None:
        changed = {table: {today, today - timedelta(1)} for table in RAW_TABLE_NAMES}
    else:
        received = queries.run(
            conn,
            "select_rows_received_between",
            {
                "after": _time(cursor.scanned_until),
                "until": until,
                "page_views": PAGE_VIEWS,
                "clicks": CLICKS,
                "sessions": SESSIONS,
            },
        ).fetchall()
        changed = {table: set() for table in RAW_TABLE_NAMES}
        for table, day, _, _ in received:
            changed[table].add(day)
    changed = {
        table: {day for day in days if _is_observed(day, today)} for table, days in changed.items()
    }
    reported = {table: changed[table] | {today} for table in RAW_TABLE_NAMES}

    # Counted in full: a day whose count is not known yet, and a session day any session row
    # touched. Page views and clicks of known days grow by their rows received.
    full: dict[str, set[date]] = {}
    for table in RAW_TABLE_NAMES:
        unknown = {day for day in reported[table] if table not in cursor.days.get(day, {})}
        full[table] = unknown | changed[table] if table == SESSIONS else unknown
        for day in sorted(full[table]):
            # One statement per day: planned for that day's partition alone.
            rows, last_received = queries.run(
                conn, FULL_COUNTS[table], {"day": day, "until": until}
            ).fetchone() or (0, None)
            previous = cursor.days.get(day, {}).get(table)
            last = _latest(previous.last_received if previous else None, _epoch(last_received))
            cursor.days.setdefault(day, {})[table] = TableDay(rows, last)
    for table, day, rows_received, last_received in received:
        if day not in changed[table]:
            continue  # not observed (before the first partition, or ahead of today)
        known = cursor.days[day][table]
        if day in full[table]:
            # Counted just now, these rows included; a recounted session day keeps the
            # receive time of a session that moved away from it.
            known.last_received = _latest(known.last_received, _epoch(last_received))
        else:
            known.merge_received(rows_received or 0, _epoch(last_received))

    cursor.scanned_until = until.timestamp()
    counts_now = [
        DayCount(table, day, known.rows, known.last_received, cursor.scanned_until)
        for table in RAW_TABLE_NAMES
        for day in sorted(reported[table])
        for known in [cursor.days[day][table]]
    ]
    for day in [day for day in cursor.days if day <= today - timedelta(KEPT_DAYS)]:
        del cursor.days[day]
    return counts_now


def _is_observed(day: date, today: date) -> bool:
    """Days with a daily partition, up to today (a row stamped a few minutes ahead of the
    clock waits until its day begins: that day's first count includes it)."""
    return daily_partitions.start.date() <= day <= today


def _latest(first: float | None, second: float | None) -> float | None:
    return max((value for value in (first, second) if value is not None), default=None)


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
