"""The API's documented shapes (OpenAPI at /openapi.json, /docs), with examples.

The ingest route reads its body itself (size limit while streaming, per-event validation in
events.py), so these models document the contract rather than parse requests; their limits
are the constants events.py enforces.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ingest_service import events as limits

EXAMPLE_BATCH: dict[str, Any] = {
    "sent_at": "2026-11-25T10:00:09Z",
    "events": [
        {
            "type": "session",
            "data": {
                "session_id": "s1",
                "user_code": "myclik",
                "share_code": "qr1",
                "contact_id": None,
                "first_seen": "2026-11-25T10:00:00Z",
                "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)",
                "referrer": "https://example.com/",
            },
        },
        {
            "type": "page_view",
            "data": {
                "id": "019ab5a4-2f00-7c3e-9a4e-3c1f5e0b7d21",
                "session_id": "s1",
                "user_code": "myclik",
                "share_code": "qr1",
                "page_type": "home",
                "viewed_at": "2026-11-25T10:00:01Z",
            },
        },
        {
            "type": "click",
            "data": {
                "id": "019ab5a4-3a88-7f10-8b2d-6d4e2a9c0f53",
                "session_id": "s1",
                "user_code": "myclik",
                "share_code": "qr1",
                "click_target": "phone",
                "click_category": "contact",
                "clicked_at": "2026-11-25T10:00:05Z",
            },
        },
    ],
}


def _text(limit: tuple[int, int], description: str) -> Any:
    return Field(min_length=limit[0], max_length=limit[1], description=description)


def _optional_text(limit: tuple[int, int], description: str) -> Any:
    return Field(default=None, max_length=limit[1], description=description + ' ("" = none)')


TIME_NOTE = "ISO 8601 with an offset; missing means now; at most CLIK_MAX_EVENT_AGE_HOURS old and 10 minutes ahead"


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")  # unknown fields are ignored

    session_id: str = _text(limits.SESSION_ID, "the visitor's session")
    user_code: str = _text(limits.USER_CODE, "whose card page this is")
    share_code: str | None = _optional_text(limits.SHARE_CODE, "how the page was shared")
    contact_id: str | None = _optional_text(limits.CONTACT_ID, "contact the link was made for")


class SessionData(_Data):
    first_seen: AwareDatetime | None = Field(default=None, description=TIME_NOTE)
    last_seen: AwareDatetime | None = Field(
        default=None, description="not before first_seen; missing means first_seen"
    )
    user_agent: str | None = _optional_text(limits.USER_AGENT, "the browser's user agent")
    referrer: str | None = _optional_text(limits.REFERRER, "the page's referrer")


class PageViewData(_Data):
    id: str | None = Field(
        default=None,
        description="UUID chosen by the client (UUIDv7 recommended), kept on retries; "
        "without one the event cannot be recognised as a duplicate",
        examples=["019ab5a4-2f00-7c3e-9a4e-3c1f5e0b7d21"],
    )
    page_type: str = _text(limits.PAGE_TYPE, "kind of page viewed")
    viewed_at: AwareDatetime | None = Field(default=None, description=TIME_NOTE)


class ClickData(_Data):
    id: str | None = Field(default=None, description="UUID chosen by the client, kept on retries")
    click_target: str = _text(limits.CLICK_TARGET, "what was clicked, e.g. phone")
    click_category: str | None = _optional_text(limits.CLICK_CATEGORY, "e.g. contact")
    clicked_at: AwareDatetime | None = Field(default=None, description=TIME_NOTE)


class SessionEvent(BaseModel):
    type: Literal["session"]
    data: SessionData


class PageViewEvent(BaseModel):
    type: Literal["page_view"]
    data: PageViewData


class ClickEvent(BaseModel):
    type: Literal["click"]
    data: ClickData


Event = Annotated[SessionEvent | PageViewEvent | ClickEvent, Field(discriminator="type")]


class IngestBatch(BaseModel):
    """A batch of tracker events. Sent as application/json, or as text/plain holding the same
    JSON (navigator.sendBeacon)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [EXAMPLE_BATCH]})

    sent_at: AwareDatetime | None = Field(default=None, description="when the client sent it")
    events: list[Event] = Field(min_length=1, description="at most CLIK_MAX_EVENTS (1000)")


class RejectedEvent(BaseModel):
    index: int = Field(description="position of the event in `events`")
    error: str = Field(description="why it was not stored")


class IngestResult(BaseModel):
    """Each event of the batch is counted in exactly one of accepted, duplicates, rejected."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"accepted": 3, "duplicates": 0, "rejected": []},
                {
                    "accepted": 1,
                    "duplicates": 1,
                    "rejected": [{"index": 2, "error": "`clicked_at` is in the future"}],
                },
            ]
        }
    )

    accepted: int = Field(description="events stored now")
    duplicates: int = Field(description="events already stored (retries), which changed nothing")
    rejected: list[RejectedEvent] = Field(description="invalid events and bot traffic")


class ErrorBody(BaseModel):
    """The batch as a whole was refused; nothing was written."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"error": "no events: `events` is empty"}]}
    )

    error: str


class Status(BaseModel):
    status: str = Field(examples=["ok"])


# --- owner API (owner_routes.py) --------------------------------------------------------------


PROVISIONAL = (
    "still provisional: today (its figures grow while the pipeline refreshes it), or a day the "
    "02:00 UTC run has not finalized yet"
)


class DailyUserStats(BaseModel):
    date: date
    total_sessions: int
    total_page_views: int
    total_clicks: int
    unique_share_codes: list[str] = Field(description="sorted distinct share codes of the day")
    provisional: bool = Field(description=PROVISIONAL)


class ShareCodeStats(BaseModel):
    share_code: str | None = Field(description="null: visits without a share code")
    total_sessions: int
    total_page_views: int
    total_clicks: int


class PageTypeStats(BaseModel):
    page_type: str
    view_count: int


class ClickTargetStats(BaseModel):
    click_target: str
    click_category: str | None
    click_count: int


class StatsAnswer(BaseModel):
    user_code: str
    from_: date = Field(alias="from")
    to: date


class DailyAnswer(StatsAnswer):
    rows: list[DailyUserStats]


class ShareCodeAnswer(StatsAnswer):
    rows: list[ShareCodeStats]


class PageTypeAnswer(StatsAnswer):
    rows: list[PageTypeStats]


class ClickTargetAnswer(StatsAnswer):
    rows: list[ClickTargetStats]


class OwnerUserCodes(BaseModel):
    """The user codes the token's owner holds, sorted."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"user_codes": ["myclik"]}]})

    user_codes: list[str]


class PeriodTotals(BaseModel):
    """A range's totals, summed over its daily rows."""

    from_: date = Field(alias="from", description="first UTC day")
    to: date = Field(description="last UTC day, included")
    sessions: int = Field(description="sessions that started in the range")
    page_views: int
    clicks: int
    contact_clicks: int = Field(description="clicks of category `contact`")
    contact_rate: float | None = Field(
        description="contact clicks per session, as a percentage; null without sessions"
    )
    latest_computed_at: AwareDatetime | None = Field(
        description="when the newest daily row of the range was computed; null: no rows"
    )


class RangeSummary(BaseModel):
    """A range and the range of the same length just before it, read in one transaction."""

    user_code: str
    from_: date = Field(alias="from")
    to: date
    current: PeriodTotals
    previous: PeriodTotals


class DayTotals(BaseModel):
    date: date
    total_sessions: int
    total_page_views: int
    total_clicks: int
    contact_clicks: int = Field(description="clicks of category `contact`")
    provisional: bool = Field(description=PROVISIONAL)


class DaysAnswer(BaseModel):
    """Every day of the range in order; a day without traffic is all zeros."""

    user_code: str
    from_: date = Field(alias="from")
    to: date
    rows: list[DayTotals]
