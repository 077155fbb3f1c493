"""Writes a checked batch: one transaction, sessions first, one set-based statement per table.

`plan_batch` decides, before any database work, what each event becomes: rejected (invalid or
from a bot), a duplicate inside the batch, or a row to write. `write_batch` then runs at most
three statements (sessions, page views, clicks) in one transaction, pipelined into a single
round trip, and counts what the database really inserted or changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import psycopg

from ingest_service.bots import is_bot
from ingest_service.events import CheckedBatch, Click, PageView, SessionEvent, TimeWindow

BOT = "bot: known crawler user agent, not counted"


def _query(name: str) -> bytes:
    return files("ingest_service.queries").joinpath(name).read_bytes()


UPSERT_SESSIONS = _query("upsert_sessions.sql")
INSERT_PAGE_VIEWS = _query("insert_page_views.sql")
INSERT_CLICKS = _query("insert_clicks.sql")


@dataclass(slots=True)
class Outcome:
    """The answer of a batch: each event is counted in exactly one of the three."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


@dataclass(slots=True)
class WritePlan:
    outcome: Outcome
    sessions: dict[str, list[Any]]  # column -> values, one entry per session touched
    session_events: dict[str, int]  # session_id -> how many distinct session events it merges
    page_views: list[PageView]
    clicks: list[Click]


def plan_batch(
    batch: CheckedBatch, *, header_user_agent: str | None, ip_address: str | None
) -> WritePlan:
    """Sorts out bots and in-batch duplicates and builds the session rows.

    The user agent of an event is the one its session is stored with: its session event's
    `user_agent` when the batch has one, else the request's User-Agent header. Events whose
    user agent is a known crawler's are rejected as bots, all events of such a session alike.
    """
    outcome = Outcome(rejected=list(batch.rejected))
    sessions_in_batch = {event.session_id for event in batch.sessions}
    bot_sessions = {
        event.session_id
        for event in batch.sessions
        if is_bot(event.user_agent or header_user_agent)
    }
    header_is_bot = is_bot(header_user_agent)

    def from_bot(session_id: str) -> bool:
        if session_id in sessions_in_batch:
            return session_id in bot_sessions
        return header_is_bot

    # Session events: exact copies are duplicates; the others merge into one row per session.
    merged: dict[str, SessionEvent] = {}
    distinct: dict[str, set[tuple]] = {}
    for event in batch.sessions:
        if event.session_id in bot_sessions:
            outcome.rejected.append((event.index, BOT))
            continue
        content = (
            event.user_code, event.share_code, event.contact_id, event.first_seen,
            event.last_seen, event.user_agent, event.referrer,
        )  # fmt: skip
        copies = distinct.setdefault(event.session_id, set())
        if content in copies:
            outcome.duplicates += 1
            continue
        copies.add(content)
        into = merged.get(event.session_id)
        if into is None:
            merged[event.session_id] = _copy(event)
        else:
            _merge(into, event)

    page_views = _first_copies(batch.page_views, from_bot, outcome)
    clicks = _first_copies(batch.clicks, from_bot, outcome)

    rows = _session_columns()
    for session in merged.values():
        _append_session(rows, session, session.user_agent or header_user_agent, ip_address)
    stubs: dict[str, SessionEvent] = {}
    for event, moment in [(view, view.viewed_at) for view in page_views] + [
        (click, click.clicked_at) for click in clicks
    ]:
        if event.session_id in merged:
            continue
        stub = stubs.get(event.session_id)
        if stub is None:
            stubs[event.session_id] = SessionEvent(
                event.index, event.session_id, event.user_code, event.share_code,
                event.contact_id, moment, moment, None, None,
            )  # fmt: skip
        else:
            if moment < stub.first_seen:  # the stub takes its codes from the earliest event
                stub.user_code, stub.share_code = event.user_code, event.share_code
                stub.contact_id, stub.first_seen = event.contact_id, moment
            stub.last_seen = max(stub.last_seen, moment)
    for stub in stubs.values():
        _append_session(rows, stub, header_user_agent, ip_address)

    return WritePlan(
        outcome,
        rows,
        {session_id: len(copies) for session_id, copies in distinct.items()},
        page_views,
        clicks,
    )


async def write_batch(
    conn: psycopg.AsyncConnection, plan: WritePlan, window: TimeWindow
) -> Outcome:
    """Writes the plan in one transaction; returns the batch's outcome once it committed.
    (The plan is left untouched, so the same plan may be written again after a failure.)"""
    outcome = Outcome(plan.outcome.accepted, plan.outcome.duplicates, list(plan.outcome.rejected))
    window_params = {"window_start": window.start, "window_end": window.end}
    async with conn.pipeline(), conn.transaction():
        sessions = page_views = clicks = None
        if plan.sessions["session_id"]:
            sessions = await conn.execute(
                UPSERT_SESSIONS, {**plan.sessions, "session_event_ids": list(plan.session_events)}
            )
        if plan.page_views:
            page_views = await conn.execute(
                INSERT_PAGE_VIEWS, {**_page_view_columns(plan.page_views), **window_params}
            )
        if plan.clicks:
            clicks = await conn.execute(
                INSERT_CLICKS, {**_click_columns(plan.clicks), **window_params}
            )
    # Committed: count what the database did.
    if sessions is not None:
        changed = {row[0] for row in await sessions.fetchall()}
        for session_id, events in plan.session_events.items():
            if session_id in changed:
                outcome.accepted += events
            else:
                outcome.duplicates += events
    for cursor, sent in ((page_views, len(plan.page_views)), (clicks, len(plan.clicks))):
        if cursor is not None:
            inserted = len(await cursor.fetchall())
            outcome.accepted += inserted
            outcome.duplicates += sent - inserted
    outcome.rejected.sort()
    return outcome


def _first_copies(events: list, from_bot: Any, outcome: Outcome) -> list:
    """The events to write: bots rejected, and of several events with one id only the first
    (later copies are duplicates)."""
    kept: dict[str, Any] = {}
    for event in events:
        if from_bot(event.session_id):
            outcome.rejected.append((event.index, BOT))
        elif event.id in kept:
            outcome.duplicates += 1
        else:
            kept[event.id] = event
    return list(kept.values())


def _copy(event: SessionEvent) -> SessionEvent:
    return SessionEvent(
        event.index, event.session_id, event.user_code, event.share_code, event.contact_id,
        event.first_seen, event.last_seen, event.user_agent, event.referrer,
    )  # fmt: skip


def _merge(into: SessionEvent, event: SessionEvent) -> None:
    """Several session events of one session in a batch: earliest start, latest end, and the
    first value given for each field (as the upsert does with the stored row)."""
    into.first_seen = min(into.first_seen, event.first_seen)
    into.last_seen = max(into.last_seen, event.last_seen)
    into.share_code = into.share_code or event.share_code
    into.contact_id = into.contact_id or event.contact_id
    into.user_agent = into.user_agent or event.user_agent
    into.referrer = into.referrer or event.referrer


SESSION_COLUMNS = (
    "session_id", "user_code", "share_code", "contact_id", "first_seen", "last_seen",
    "ip_address", "user_agent", "referrer",
)  # fmt: skip


def _session_columns() -> dict[str, list[Any]]:
    return {name: [] for name in SESSION_COLUMNS}


def _append_session(
    rows: dict[str, list[Any]], session: SessionEvent, user_agent: str | None, ip: str | None
) -> None:
    rows["session_id"].append(session.session_id)
    rows["user_code"].append(session.user_code)
    rows["share_code"].append(session.share_code)
    rows["contact_id"].append(session.contact_id)
    rows["first_seen"].append(session.first_seen)
    rows["last_seen"].append(session.last_seen)
    rows["ip_address"].append(ip)
    rows["user_agent"].append(user_agent)
    rows["referrer"].append(session.referrer)


def _page_view_columns(views: list[PageView]) -> dict[str, list[Any]]:
    return {
        "id": [view.id for view in views],
        "session_id": [view.session_id for view in views],
        "user_code": [view.user_code for view in views],
        "share_code": [view.share_code for view in views],
        "contact_id": [view.contact_id for view in views],
        "page_type": [view.page_type for view in views],
        "viewed_at": [view.viewed_at for view in views],
    }


def _click_columns(clicks: list[Click]) -> dict[str, list[Any]]:
    return {
        "id": [click.id for click in clicks],
        "session_id": [click.session_id for click in clicks],
        "user_code": [click.user_code for click in clicks],
        "share_code": [click.share_code for click in clicks],
        "contact_id": [click.contact_id for click in clicks],
        "click_target": [click.click_target for click in clicks],
        "click_category": [click.click_category for click in clicks],
        "clicked_at": [click.clicked_at for click in clicks],
    }
