"""Writes a group of planned batches in one transaction and answers each batch exactly.

The answers are the ones the batches would get if they were written one after another in
group order: the first batch to carry an event id stores it (later ones count it as a
duplicate), a session event is accepted when it changes its session as stored before it, and
an event naming a session with another user code than the one it is stored with (or, for a new
session, than the first batch's own) is rejected. The database work is two
calls (sql/0040_group_commit.sql) inside one transaction:

1. `ingest_lock_sessions`: inserts the group's unknown sessions and locks the known ones, all
   in session_id order, and returns every one of them as stored. Each session is inserted
   with the row of the first batch that touches it, merged with the later batches' session
   events (what the serial writes would end with, before their page views widen it).
2. `ingest_write_group`: the merged changes to the known sessions, then the page views and
   clicks (one set-based insert each); returns the ids really inserted.

Then, with what the database said, each batch's answer is worked out in group order by
replaying the serial writes on the stored rows, in memory: no per-batch database work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import orjson
import psycopg

from ingest_service.database import TRANSACTION_SETTINGS
from ingest_service.events import Click, PageView, TimeWindow
from ingest_service.plan import OTHER_USER_CODE, Outcome, SessionRow, WritePlan
from ingest_service.queries import query

LOCK_SESSIONS = query("lock_group_sessions.sql")
WRITE_GROUP = query("write_group.sql")


@dataclass(slots=True)
class _Share:
    """One batch's part in one session of the group."""

    plan: WritePlan
    row: SessionRow
    session_events: list[int]  # indexes of the batch's distinct session events (none: a stub)
    order: int  # the batch's place in the group
    page_views: list[PageView] = field(default_factory=list)
    clicks: list[Click] = field(default_factory=list)
    kept: bool = True  # False: the session belongs to another user code


async def write_group(
    conn: psycopg.AsyncConnection,
    plans: list[WritePlan],
    windows: list[TimeWindow],
    transaction_settings: dict[str, str | None] | None = None,
) -> list[Outcome]:
    """Writes the plans in one transaction (with `transaction_settings`, see database.py);
    returns their outcomes, in order, once it committed. The plans are left untouched, so the
    same plans may be written again."""
    shares = _shares_by_session(plans)
    async with conn.transaction():
        if transaction_settings is not None:
            await conn.execute(TRANSACTION_SETTINGS, transaction_settings)
        stored = await _lock_sessions(conn, shares)
        _reject_other_user_codes(shares, stored)
        page_views = _first_of_each_id(shares, "page_views")
        clicks = _first_of_each_id(shares, "clicks")
        updates = _session_updates(shares, stored)
        if updates or page_views or clicks:
            inserted = await _write(conn, updates, page_views, clicks, windows)
        else:
            inserted = _Inserted(set(), set())
    return _answers(plans, shares, stored, inserted, page_views, clicks)


def _shares_by_session(plans: list[WritePlan]) -> dict[str, list[_Share]]:
    """session_id -> the batches' parts in it, in group order."""
    shares: dict[str, list[_Share]] = {}
    for order, plan in enumerate(plans):
        for share in _plan_shares(plan, order):
            shares.setdefault(share.row.session_id, []).append(share)
    return shares


def _plan_shares(plan: WritePlan, order: int) -> list[_Share]:
    """One share per session and user code the batch names, the session's own code first."""
    mine = {
        (row.session_id, row.user_code): _Share(
            plan, row, plan.session_events.get((row.session_id, row.user_code), []), order
        )
        for row in plan.sessions
    }
    for view in plan.page_views:
        mine[view.session_id, view.user_code].page_views.append(view)
    for click in plan.clicks:
        mine[click.session_id, click.user_code].clicks.append(click)
    return list(mine.values())


async def _lock_sessions(
    conn: psycopg.AsyncConnection, shares: dict[str, list[_Share]]
) -> dict[str, tuple[bool, SessionRow]]:
    """session_id -> (inserted by this group, the row as stored now)."""
    rows = []
    for session_id in sorted(shares):
        first, *later = shares[session_id]
        row = first.row.copy()
        for share in later:
            if share.session_events and share.row.user_code == row.user_code:
                row.merge(share.row)
        rows.append(row)
    cursor = await conn.execute(
        LOCK_SESSIONS, {"sessions": _json(rows), "session_ids": [row.session_id for row in rows]}
    )
    stored = {
        session_id: (inserted, SessionRow(session_id, *values))
        for session_id, inserted, *values in await cursor.fetchall()
    }
    if len(stored) != len(rows):  # every session was inserted or found; never silently less
        raise RuntimeError("ingest_lock_sessions returned fewer sessions than it was given")
    return stored


def _reject_other_user_codes(
    shares: dict[str, list[_Share]], stored: dict[str, tuple[bool, SessionRow]]
) -> None:
    for session_id, session_shares in shares.items():
        owner = stored[session_id][1].user_code
        for share in session_shares:
            share.kept = share.row.user_code == owner


def _first_of_each_id(shares: dict[str, list[_Share]], kind: str) -> list:
    """The group's events of one table to insert: of several with one id, the one of the
    first batch in group order (a batch's own copies were dropped when it was planned)."""
    in_group_order = sorted(
        (share for session_shares in shares.values() for share in session_shares if share.kept),
        key=lambda share: share.order,
    )
    first: dict[str, PageView | Click] = {}
    for share in in_group_order:
        for event in getattr(share, kind):
            first.setdefault(event.id, event)
    return list(first.values())


def _session_updates(
    shares: dict[str, list[_Share]], stored: dict[str, tuple[bool, SessionRow]]
) -> list[dict]:
    """For each known session that the group's session events change: the merged values, and
    whether its start day's aggregates are now out of date (start earlier, share code new)."""
    updates = []
    for session_id, session_shares in shares.items():
        inserted, before = stored[session_id]
        if inserted:  # inserted already holding the group's session events
            continue
        after = before.copy()
        changed = False
        for share in session_shares:
            if share.kept and share.session_events:
                changed |= after.merge(share.row)
        if changed:
            updates.append(
                {
                    "session_id": session_id,
                    "first_seen": after.first_seen,
                    "last_seen": after.last_seen,
                    "share_code": after.share_code,
                    "contact_id": after.contact_id,
                    "ip_address": after.ip_address,
                    "user_agent": after.user_agent,
                    "referrer": after.referrer,
                    "marks_received": after.first_seen < before.first_seen
                    or (before.share_code is None and after.share_code is not None),
                }
            )
    return updates


async def _write(
    conn: psycopg.AsyncConnection,
    updates: list[dict],
    page_views: list[PageView],
    clicks: list[Click],
    windows: list[TimeWindow],
) -> _Inserted:
    """Runs step 2; returns the ids of the page views and clicks really inserted."""
    cursor = await conn.execute(
        WRITE_GROUP,
        {
            # Rows as JSON (orjson serialises the dataclasses): psycopg would spend more CPU
            # adapting one list parameter per column than the database spends inserting.
            "session_updates": _json(updates),
            "page_views": _json(page_views),
            "clicks": _json(clicks),
            "page_view_ids": _ids(page_views),
            "click_ids": _ids(clicks),
            # The look-up of ids stored with another time covers every batch's window.
            "window_start": min(window.start for window in windows),
            "window_end": max(window.end for window in windows),
        },
    )
    row = await cursor.fetchone()
    assert row is not None  # ingest_write_group() returns exactly one row
    page_view_ids, click_ids = row
    return _Inserted(set(page_view_ids), set(click_ids))


def _answers(
    plans: list[WritePlan],
    shares: dict[str, list[_Share]],
    stored: dict[str, tuple[bool, SessionRow]],
    inserted: _Inserted,
    page_views: list[PageView],
    clicks: list[Click],
) -> list[Outcome]:
    """Each batch's outcome, replaying the serial writes in group order on the stored rows."""
    outcomes = {id(plan): plan.outcome.copy() for plan in plans}
    stored_by = {id(event) for event in page_views} | {id(event) for event in clicks}
    for session_id, session_shares in shares.items():
        was_inserted, now = stored[session_id]
        state: SessionRow | None = None if was_inserted else now.copy()
        for share in session_shares:
            outcome = outcomes[id(share.plan)]
            events = share.page_views + share.clicks
            if not share.kept:
                outcome.rejected += [(index, OTHER_USER_CODE) for index in share.session_events]
                outcome.rejected += [(event.index, OTHER_USER_CODE) for event in events]
                continue
            if state is None:  # this batch inserts the session
                state = share.row.copy()
                outcome.accepted += len(share.session_events)
            elif share.session_events:
                if state.merge(share.row):
                    outcome.accepted += len(share.session_events)
                else:
                    outcome.duplicates += len(share.session_events)
            for event in events:
                if id(event) in stored_by and inserted.holds(event):
                    outcome.accepted += 1
                    state.widen(_moment(event))
                else:
                    outcome.duplicates += 1
    answers = []
    for plan in plans:
        outcome = outcomes[id(plan)]
        outcome.rejected.sort()
        answers.append(outcome)
    return answers


@dataclass(slots=True)
class _Inserted:
    """The ids each table really inserted (a page view and a click may share an id)."""

    page_views: set[str]
    clicks: set[str]

    def holds(self, event: PageView | Click) -> bool:
        return event.id in (self.page_views if isinstance(event, PageView) else self.clicks)


def _moment(event: PageView | Click) -> datetime:
    return event.viewed_at if isinstance(event, PageView) else event.clicked_at


def _json(rows: list) -> str:
    return orjson.dumps(rows).decode()


def _ids(events: list[PageView] | list[Click]) -> str:
    """A PostgreSQL array literal of the events' ids (canonical UUIDs need no quoting)."""
    return "{" + ",".join(event.id for event in events) + "}"
