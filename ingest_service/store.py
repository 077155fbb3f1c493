"""Writes a checked batch: one transaction, sessions first, one set-based insert per table.

`plan_batch` decides, before any database work, what each event becomes: rejected (invalid or
from a bot), a duplicate inside the batch, or a row to write. `write_batch` then sends the
batch as one statement, ingest_batch() of sql/0010, which is its own transaction: the session
upsert (all the batch's session locks, in order), then one set-based INSERT per event table.
It counts what the database really inserted or changed, once the transaction committed.

One round trip instead of BEGIN, two statements and COMMIT: in bench/ingest those round trips'
protocol work was about a third of the service's CPU per batch (psycopg's async pipeline cost
even more CPU than it saved, so it is not used).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from typing import Any

import orjson
import psycopg

from ingest_service.bots import is_bot
from ingest_service.events import CheckedBatch, Click, PageView, SessionEvent, TimeWindow

BOT = "bot: known crawler user agent, not counted"


def _query(name: str) -> bytes:
    return files("ingest_service.queries").joinpath(name).read_bytes()


WRITE_BATCH = _query("write_batch.sql")


@dataclass(slots=True)
class Outcome:
    """The answer of a batch: each event is counted in exactly one of the three."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


@dataclass(slots=True)
class SessionRow:
    """A row of the session upsert: a merged session event, or a stub from events."""

    session_id: str
    user_code: str
    share_code: str | None
    contact_id: str | None
    first_seen: datetime
    last_seen: datetime
    ip_address: str | None
    user_agent: str | None
    referrer: str | None


@dataclass(slots=True)
class WritePlan:
    outcome: Outcome
    sessions: list[SessionRow]  # one per session the batch touches
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

    rows = [
        _session_row(session, session.user_agent or header_user_agent, ip_address)
        for session in merged.values()
    ]
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
    rows += [_session_row(stub, header_user_agent, ip_address) for stub in stubs.values()]

    return WritePlan(
        outcome,
        rows,
        {session_id: len(copies) for session_id, copies in distinct.items()},
        page_views,
        clicks,
    )


async def write_batch(
    conn: psycopg.AsyncConnection,
    plan: WritePlan,
    window: TimeWindow,
    *,
    statement: bytes = WRITE_BATCH,  # bench/ingest passes a variant to measure a part's cost
) -> Outcome:
    """Writes the plan in one transaction (one statement on an autocommit connection);
    returns the batch's outcome once it committed. The plan is left untouched, so the same
    plan may be written again after a failure."""
    outcome = Outcome(plan.outcome.accepted, plan.outcome.duplicates, list(plan.outcome.rejected))
    cursor = await conn.execute(
        statement,
        {
            # Rows as JSON (orjson serialises the dataclasses): psycopg would spend more CPU
            # adapting one list parameter per column than the database spends inserting.
            "sessions": _json(plan.sessions),
            "session_event_ids": list(plan.session_events),
            "page_views": _json(plan.page_views),
            "clicks": _json(plan.clicks),
            "page_view_ids": _ids(plan.page_views),
            "click_ids": _ids(plan.clicks),
            "window_start": window.start,
            "window_end": window.end,
        },
    )
    row = await cursor.fetchone()
    assert row is not None  # ingest_batch() returns exactly one row
    changed_sessions, page_views_inserted, clicks_inserted = row
    changed = set(changed_sessions)
    # Committed: count what the database did.
    for session_id, merged_events in plan.session_events.items():
        if session_id in changed:
            outcome.accepted += merged_events
        else:
            outcome.duplicates += merged_events
    for inserted, sent in (
        (page_views_inserted, len(plan.page_views)),
        (clicks_inserted, len(plan.clicks)),
    ):
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


def _session_row(session: SessionEvent, user_agent: str | None, ip: str | None) -> SessionRow:
    return SessionRow(
        session.session_id, session.user_code, session.share_code, session.contact_id,
        session.first_seen, session.last_seen, ip, user_agent, session.referrer,
    )  # fmt: skip


def _json(rows: list) -> str:
    return orjson.dumps(rows).decode()


def _ids(events: list[PageView] | list[Click]) -> str:
    """A PostgreSQL array literal of the events' ids (canonical UUIDs need no quoting)."""
    return "{" + ",".join(event.id for event in events) + "}"
