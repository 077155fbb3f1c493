"""What each event of one checked batch becomes, decided before any database work.

`plan_batch` rejects bots, counts exact copies inside the batch as duplicates, and merges the
rest into one row per session (and user code) the batch names. What the database already
holds, and so which user code a session belongs to, is judged later, for the whole group the
batch is written with (`store.write_group`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest_service.bots import is_bot
from ingest_service.events import CheckedBatch, Click, PageView, SessionEvent

BOT = "bot: known crawler user agent, not counted"
OTHER_USER_CODE = "session belongs to another user code"


@dataclass(slots=True)
class Outcome:
    """The answer of a batch: each event is counted in exactly one of the three."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def copy(self) -> Outcome:
        return Outcome(self.accepted, self.duplicates, list(self.rejected))


@dataclass(slots=True)
class SessionRow:
    """A session as stored, or as a batch would store it: a merged session event, or a stub
    made from page views and clicks."""

    session_id: str
    user_code: str
    share_code: str | None
    contact_id: str | None
    first_seen: datetime
    last_seen: datetime
    ip_address: str | None
    user_agent: str | None
    referrer: str | None

    def copy(self) -> SessionRow:
        return SessionRow(
            self.session_id, self.user_code, self.share_code, self.contact_id,
            self.first_seen, self.last_seen, self.ip_address, self.user_agent, self.referrer,
        )  # fmt: skip

    def merge(self, other: SessionRow) -> bool:
        """Takes in a session event's row as the upsert does: earliest start, latest end, and
        a value only where none is stored. True when anything changed."""
        changed = False
        if other.first_seen < self.first_seen:
            self.first_seen, changed = other.first_seen, True
        if other.last_seen > self.last_seen:
            self.last_seen, changed = other.last_seen, True
        for name in ("share_code", "contact_id", "ip_address", "user_agent", "referrer"):
            if getattr(self, name) is None and getattr(other, name) is not None:
                setattr(self, name, getattr(other, name))
                changed = True
        return changed

    def widen(self, moment: datetime) -> None:
        """What the counter triggers do for each inserted event: the span covers its time."""
        if moment < self.first_seen:
            self.first_seen = moment
        elif moment > self.last_seen:
            self.last_seen = moment


SessionKey = tuple[str, str]  # (session_id, user_code)


@dataclass(slots=True)
class WritePlan:
    outcome: Outcome  # the verdicts known without the database (rejected, copies in the batch)
    # One row per session and user code the batch names, the session's own code first (its
    # first session event's, else its earliest page view's or click's). Which code a session
    # really belongs to is decided with the stored row; events naming another are rejected.
    sessions: list[SessionRow]
    session_events: dict[SessionKey, list[int]]  # indexes of each row's distinct session events
    page_views: list[PageView]
    clicks: list[Click]
    size: int  # events in the batch, valid or not: what it weighs in the queue


def plan_batch(
    batch: CheckedBatch, *, header_user_agent: str | None, ip_address: str | None
) -> WritePlan:
    """Sorts out bots and copies, and builds the session rows.

    The user agent of an event is the one its session is stored with: its session event's
    `user_agent` when the batch has one, else the request's User-Agent header. Events whose
    user agent is a known crawler's are rejected as bots, all events of such a session alike.
    """
    outcome = Outcome(rejected=list(batch.rejected))
    size = len(batch.sessions) + len(batch.page_views) + len(batch.clicks) + len(batch.rejected)
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

    # Session events: exact copies are duplicates; the others merge into one row per session
    # and user code.
    merged: dict[SessionKey, SessionEvent] = {}
    distinct: dict[SessionKey, dict[tuple, int]] = {}
    for event in batch.sessions:
        if event.session_id in bot_sessions:
            outcome.rejected.append((event.index, BOT))
            continue
        key = (event.session_id, event.user_code)
        content = (
            event.share_code, event.contact_id, event.first_seen, event.last_seen,
            event.user_agent, event.referrer,
        )  # fmt: skip
        copies = distinct.setdefault(key, {})
        if content in copies:
            outcome.duplicates += 1
            continue
        copies[content] = event.index
        into = merged.get(key)
        if into is None:
            merged[key] = _copy(event)
        else:
            _merge(into, event)

    page_views = _first_copies(batch.page_views, from_bot, outcome)
    clicks = _first_copies(batch.clicks, from_bot, outcome)

    rows = [
        _session_row(session, session.user_agent or header_user_agent, ip_address)
        for session in merged.values()
    ]
    stubs: dict[SessionKey, SessionEvent] = {}
    for event, moment in [(view, view.viewed_at) for view in page_views] + [
        (click, click.clicked_at) for click in clicks
    ]:
        key = (event.session_id, event.user_code)
        if key in merged:
            continue
        stub = stubs.get(key)
        if stub is None:
            stubs[key] = SessionEvent(
                event.index, event.session_id, event.user_code, event.share_code,
                event.contact_id, moment, moment, None, None,
            )  # fmt: skip
        else:
            if (moment, event.index) < (stub.first_seen, stub.index):
                # the stub takes its codes from the earliest event
                stub.share_code, stub.contact_id = event.share_code, event.contact_id
                stub.first_seen, stub.index = moment, event.index
            stub.last_seen = max(stub.last_seen, moment)
    rows += [_session_row(stub, header_user_agent, ip_address) for stub in stubs.values()]
    own_code = _own_codes(merged, stubs)
    rows.sort(key=lambda row: row.user_code != own_code[row.session_id])  # stable: own first

    return WritePlan(
        outcome,
        rows,
        {key: list(copies.values()) for key, copies in distinct.items()},
        page_views,
        clicks,
        size,
    )


def _own_codes(
    merged: dict[SessionKey, SessionEvent], stubs: dict[SessionKey, SessionEvent]
) -> dict[str, str]:
    """The user code each session of the batch names first: its first session event's, else
    its earliest page view's or click's (ties: the first in the batch)."""
    own: dict[str, tuple[int, str]] = {}
    for (session_id, user_code), event in merged.items():
        if session_id not in own or event.index < own[session_id][0]:
            own[session_id] = (event.index, user_code)
    earliest: dict[str, tuple[datetime, int, str]] = {}
    for (session_id, user_code), stub in stubs.items():
        candidate = (stub.first_seen, stub.index, user_code)
        if session_id not in own and (
            session_id not in earliest or candidate < earliest[session_id]
        ):
            earliest[session_id] = candidate
    return {session_id: code for session_id, (_, code) in own.items()} | {
        session_id: code for session_id, (_, _, code) in earliest.items()
    }


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
