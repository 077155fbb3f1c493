"""Events built as the browser tracker builds them: each with a UUIDv7 and its own time, made
once, so a retried batch carries the very same events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from clik.ids import uuid7

Event = dict[str, Any]


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as the tracker writes times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def session_event(
    session_id: str,
    user_code: str,
    *,
    first_seen: datetime | None = None,
    share_code: str | None = None,
    contact_id: str | None = None,
    user_agent: str | None = None,
    referrer: str | None = None,
) -> Event:
    return {
        "type": "session",
        "data": {
            "session_id": session_id,
            "user_code": user_code,
            "share_code": share_code,
            "contact_id": contact_id,
            "first_seen": iso(first_seen or datetime.now(UTC)),
            "user_agent": user_agent,
            "referrer": referrer,
        },
    }


def page_view_event(
    session_id: str,
    user_code: str,
    page_type: str,
    *,
    viewed_at: datetime | None = None,
    share_code: str | None = None,
    contact_id: str | None = None,
    event_id: str | None = None,
) -> Event:
    viewed_at = viewed_at or datetime.now(UTC)
    return {
        "type": "page_view",
        "data": {
            "id": event_id or uuid7(viewed_at),
            "session_id": session_id,
            "user_code": user_code,
            "share_code": share_code,
            "contact_id": contact_id,
            "page_type": page_type,
            "viewed_at": iso(viewed_at),
        },
    }


def click_event(
    session_id: str,
    user_code: str,
    click_target: str,
    *,
    click_category: str | None = None,
    clicked_at: datetime | None = None,
    share_code: str | None = None,
    contact_id: str | None = None,
    event_id: str | None = None,
) -> Event:
    clicked_at = clicked_at or datetime.now(UTC)
    return {
        "type": "click",
        "data": {
            "id": event_id or uuid7(clicked_at),
            "session_id": session_id,
            "user_code": user_code,
            "share_code": share_code,
            "contact_id": contact_id,
            "click_target": click_target,
            "click_category": click_category,
            "clicked_at": iso(clicked_at),
        },
    }


def is_urgent(event: Event) -> bool:
    """Contact clicks (phone, email, WhatsApp) are sent at once, as the tracker does."""
    return event["type"] == "click" and event["data"].get("click_category") == "contact"
