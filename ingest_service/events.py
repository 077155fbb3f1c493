"""Checks a batch's envelope and each of its events, and turns the valid events into rows.

Hand-written rather than pydantic: each event is judged on its own (a bad event is rejected
with its index and a reason while its neighbours are stored), and this is the hot path of the
service (measured in bench/ingest). The limits are the ones `schemas.py` documents.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from clik.ids import uuid7

# Character limits of the text fields: (shortest, longest). Required fields have shortest 1.
SESSION_ID = (1, 128)
USER_CODE = (1, 64)
SHARE_CODE = (0, 64)
CONTACT_ID = (0, 128)
PAGE_TYPE = (1, 64)
CLICK_TARGET = (1, 128)
CLICK_CATEGORY = (0, 64)
USER_AGENT = (0, 1024)
REFERRER = (0, 2048)
MAX_TIMESTAMP_CHARS = 64
MAX_FUTURE = timedelta(minutes=10)  # tolerated clock skew of a client ahead of us

EVENT_TYPES = ("session", "page_view", "click")


class EnvelopeError(Exception):
    """The batch as a whole is unusable: answered with `status` and nothing is written."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class EventError(Exception):
    """One event is unusable: it is rejected with this reason."""


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Event times the service accepts: [start, end)."""

    now: datetime
    start: datetime
    end: datetime

    @classmethod
    def around(cls, now: datetime, max_age_hours: float) -> TimeWindow:
        return cls(now, now - timedelta(hours=max_age_hours), now + MAX_FUTURE)


@dataclass(slots=True)
class SessionEvent:
    index: int
    session_id: str
    user_code: str
    share_code: str | None
    contact_id: str | None
    first_seen: datetime
    last_seen: datetime
    user_agent: str | None
    referrer: str | None


@dataclass(slots=True)
class PageView:
    index: int
    id: str
    session_id: str
    user_code: str
    share_code: str | None
    contact_id: str | None
    page_type: str
    viewed_at: datetime


@dataclass(slots=True)
class Click:
    index: int
    id: str
    session_id: str
    user_code: str
    share_code: str | None
    contact_id: str | None
    click_target: str
    click_category: str | None
    clicked_at: datetime


@dataclass(slots=True)
class CheckedBatch:
    """The events of a batch sorted into valid ones (by table) and rejected ones."""

    sessions: list[SessionEvent] = field(default_factory=list)
    page_views: list[PageView] = field(default_factory=list)
    clicks: list[Click] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


def check_envelope(payload: Any, max_events: int) -> list[Any]:
    """The batch's list of events; EnvelopeError when the body is not a batch."""
    if not isinstance(payload, dict):
        raise EnvelopeError(400, "the body must be a JSON object with an `events` array")
    events = payload.get("events")
    if not isinstance(events, list):
        raise EnvelopeError(400, "`events` must be an array of events")
    if not events:
        raise EnvelopeError(400, "no events: `events` is empty")
    if len(events) > max_events:
        raise EnvelopeError(413, f"too many events: {len(events)} > {max_events} per batch")
    sent_at = payload.get("sent_at")
    if sent_at is not None:
        try:
            _parse_time(sent_at)
        except EventError as error:
            raise EnvelopeError(400, f"`sent_at`: {error}") from None
    return events


def check_events(events: list[Any], window: TimeWindow) -> CheckedBatch:
    """Validates every event on its own."""
    batch = CheckedBatch()
    for index, event in enumerate(events):
        try:
            if not isinstance(event, dict):
                raise EventError("an event must be an object with `type` and `data`")
            kind = event.get("type")
            if kind not in EVENT_TYPES:
                raise EventError("`type` must be one of session, page_view, click")
            data = event.get("data")
            if not isinstance(data, dict):
                raise EventError("`data` must be an object")
            if kind == "page_view":
                batch.page_views.append(_page_view(index, data, window))
            elif kind == "click":
                batch.clicks.append(_click(index, data, window))
            else:
                batch.sessions.append(_session(index, data, window))
        except EventError as error:
            batch.rejected.append((index, str(error)))
    return batch


def _session(index: int, data: dict, window: TimeWindow) -> SessionEvent:
    first_seen = _time(data, "first_seen", window)
    last_seen = (
        _time(data, "last_seen", window) if data.get("last_seen") is not None else first_seen
    )
    if last_seen < first_seen:
        raise EventError("`last_seen` is before `first_seen`")
    return SessionEvent(
        index,
        _text(data, "session_id", SESSION_ID),
        _text(data, "user_code", USER_CODE),
        _optional_text(data, "share_code", SHARE_CODE),
        _optional_text(data, "contact_id", CONTACT_ID),
        first_seen,
        last_seen,
        _optional_text(data, "user_agent", USER_AGENT),
        _optional_text(data, "referrer", REFERRER),
    )


def _page_view(index: int, data: dict, window: TimeWindow) -> PageView:
    return PageView(
        index,
        _id(data),
        _text(data, "session_id", SESSION_ID),
        _text(data, "user_code", USER_CODE),
        _optional_text(data, "share_code", SHARE_CODE),
        _optional_text(data, "contact_id", CONTACT_ID),
        _text(data, "page_type", PAGE_TYPE),
        _time(data, "viewed_at", window),
    )


def _click(index: int, data: dict, window: TimeWindow) -> Click:
    return Click(
        index,
        _id(data),
        _text(data, "session_id", SESSION_ID),
        _text(data, "user_code", USER_CODE),
        _optional_text(data, "share_code", SHARE_CODE),
        _optional_text(data, "contact_id", CONTACT_ID),
        _text(data, "click_target", CLICK_TARGET),
        _optional_text(data, "click_category", CLICK_CATEGORY),
        _time(data, "clicked_at", window),
    )


def _text(data: dict, name: str, limits: tuple[int, int]) -> str:
    value = data.get(name)
    # The common case in one test; the reason is worked out only for a bad value.
    if type(value) is str and 0 < len(value) <= limits[1] and "\x00" not in value:
        return value
    raise EventError(_text_error(name, value, limits))


def _optional_text(data: dict, name: str, limits: tuple[int, int]) -> str | None:
    """An optional text field; an empty string means the same as a missing one."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if type(value) is str and len(value) <= limits[1] and "\x00" not in value:
        return value
    raise EventError(_text_error(name, value, limits))


def _text_error(name: str, value: Any, limits: tuple[int, int]) -> str:
    if value is None:
        return f"`{name}` is required"
    if not isinstance(value, str):
        return f"`{name}` must be a string"
    if "\x00" in value:
        return f"`{name}` must not contain NUL characters"
    return f"`{name}` must have {max(limits[0], 1)} to {limits[1]} characters"


# What the tracker sends (lowercase, hyphenated) is taken as it is; other spellings that
# Python's UUID parser accepts are normalised.
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _id(data: dict) -> str:
    """The event's UUID in canonical form; one is made when the client sent none (such an
    event cannot be recognised when it is sent again)."""
    value = data.get("id")
    if value is None:
        return uuid7()
    if type(value) is str and len(value) == 36 and CANONICAL_UUID.fullmatch(value):
        return value
    if not isinstance(value, str) or len(value) > 45:
        raise EventError("`id` must be a UUID string")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise EventError("`id` must be a UUID string") from None


def _time(data: dict, name: str, window: TimeWindow) -> datetime:
    """An event time in the accepted window; a missing one means now."""
    value = data.get(name)
    if value is None:
        return window.now
    moment = _parse_time(value)
    if moment < window.start:
        raise EventError(f"`{name}` is older than the accepted age")
    if moment >= window.end:
        raise EventError(f"`{name}` is in the future")
    return moment


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or len(value) > MAX_TIMESTAMP_CHARS:
        raise EventError("must be an ISO 8601 timestamp string with an offset")
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise EventError("must be an ISO 8601 timestamp with an offset (e.g. Z)")
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise EventError("must be an ISO 8601 timestamp with an offset") from None
