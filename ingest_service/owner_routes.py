"""The owner API: a dashboard owner reads the daily stats of its own user codes.

    GET /api/analytics/stats/daily          the user code's analytics_daily_user_stats rows
    GET /api/analytics/stats/share-codes    totals per share code over the range
    GET /api/analytics/stats/page-types     page views per page type over the range
    GET /api/analytics/stats/click-targets  clicks per click target and category
    GET /api/analytics/stats/summary        totals of the range and of the one before it
    GET /api/analytics/stats/days           every day of the range, quiet days as zeros
    GET /api/analytics/stats/user-codes     the owner's user codes (no parameters)

All but the last take `user_code`, `from` and `to` (UTC days, both included; at most 366 days),
and all take `Authorization: Bearer <token>` (`clik owner add`). Each request is one transaction
working as `clik_reader` (taken for that transaction), which hands PostgreSQL the token itself
(`set_config('clik.owner_token', ..., true)`): the row-level-security policies derive the owner
from the token's hash (sql/0050), so no SQL running as clik_reader can read another owner's rows
without that owner's token. A user code the owner does not hold (someone else's, or nobody's)
answers 404 alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from clik.owners import MAX_USER_CODE_LENGTH, token_owner
from ingest_service.database import TRANSACTION_SETTINGS, run_unit, transaction_settings
from ingest_service.dependencies import ReaderPool, Settings
from ingest_service.queries import query
from ingest_service.responses import json_response
from ingest_service.schemas import (
    ClickTargetAnswer,
    DailyAnswer,
    DaysAnswer,
    ErrorBody,
    OwnerUserCodes,
    PageTypeAnswer,
    RangeSummary,
    ShareCodeAnswer,
)
from ingest_service.settings import IngestSettings

router = APIRouter(prefix="/api/analytics/stats", tags=["owner stats"])

MAX_DAYS = 366
DEFAULT_DAYS = 30
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Letters, digits and punctuation a user code may hold; control characters (NUL above all,
# which PostgreSQL text refuses) never reach the database.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


USE_TOKEN = query("owner_use_token.sql")
SIGNED_IN = query("owner_signed_in.sql")
USER_CODE_OWNED = query("owner_user_code_owned.sql")
DAILY_USER_STATS = query("owner_daily_user_stats.sql")
SHARE_CODE_STATS = query("owner_share_code_stats.sql")
PAGE_STATS = query("owner_page_stats.sql")
CLICK_TARGET_STATS = query("owner_click_target_stats.sql")
USER_CODES = query("owner_user_codes.sql")
RANGE_SUMMARY = query("owner_range_summary.sql")
DAYS = query("owner_days.sql")

READER_ROLE = "clik_reader"
REPLAYED_AT_HEADER = "X-Clik-Replica-Replayed-At"
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="clik"'}

BearerToken = Annotated[
    HTTPAuthorizationCredentials | None,
    Depends(HTTPBearer(auto_error=False, description="an owner token from `clik owner add`")),
]
UserCode = Annotated[
    str | None,
    Query(
        description="a user code the token's owner holds (checked by the route, so every "
        "refusal has the API's error shape)",
        examples=["myclik"],
    ),
]
FromDay = Annotated[
    str | None,
    Query(
        alias="from",
        description="first UTC day, YYYY-MM-DD (default: 29 days before `to`)",
        examples=["2026-11-01"],
    ),
]
ToDay = Annotated[
    str | None,
    Query(
        description="last UTC day, YYYY-MM-DD, included (default: today)",
        examples=["2026-11-30"],
    ),
]


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "a bad user_code, date or range"},
    401: {"model": ErrorBody, "description": "no token, or a wrong or revoked one"},
    404: {"model": ErrorBody, "description": "the owner holds no such user code"},
    503: {"model": ErrorBody, "description": "the database is unavailable; retry later"},
}


@dataclass(frozen=True)
class StatsRequest:
    user_code: str
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def params(self) -> dict[str, Any]:
        return {"user_code": self.user_code, "first": self.first, "until": self.last + timedelta(1)}


def _add_range_route(
    path: str, statement: bytes, response_model: type, summary: str, description: str = ""
) -> None:
    """A route answering `statement`'s rows for a user code and a range of days."""

    async def route(
        settings: Settings,
        pool: ReaderPool,
        credentials: BearerToken,
        user_code: UserCode = None,
        from_day: FromDay = None,
        to: ToDay = None,
    ) -> Response:
        return await _answer(settings, pool, credentials, statement, user_code, from_day, to)

    route.__name__ = path.strip("/").replace("-", "_")  # the OpenAPI operation id
    router.get(
        path,
        summary=summary,
        description=description,
        response_model=response_model,
        responses=ERRORS,
    )(route)


_add_range_route(
    "/daily",
    DAILY_USER_STATS,
    DailyAnswer,
    "Daily stats of one of your user codes",
    "The user code's `analytics_daily_user_stats` rows for the range, by date; `provisional` "
    "marks today, whose figures still grow, and a day not finalized yet.",
)
_add_range_route(
    "/share-codes",
    SHARE_CODE_STATS,
    ShareCodeAnswer,
    "Totals per share code over a range",
    "Sessions, page views and clicks per share code (group stats), most viewed first.",
)
_add_range_route("/page-types", PAGE_STATS, PageTypeAnswer, "Page views per page type over a range")
_add_range_route(
    "/click-targets",
    CLICK_TARGET_STATS,
    ClickTargetAnswer,
    "Clicks per click target and category over a range",
)


@router.get(
    "/user-codes",
    summary="Your user codes",
    description="The user codes the token's owner holds, sorted (what the dashboard offers).",
    response_model=OwnerUserCodes,
    responses={code: ERRORS[code] for code in (401, 503)},
)
async def user_codes(settings: Settings, pool: ReaderPool, credentials: BearerToken) -> Response:
    token = _bearer_token(credentials)

    async def read(conn: psycopg.AsyncConnection) -> tuple[list[str], SignedIn] | None:
        async with conn.pipeline():
            async with conn.transaction():
                if not (signed := await _authenticate(conn, token, settings)):
                    return None
                cursor = await conn.execute(USER_CODES)
            return [row[0] for row in await cursor.fetchall()], signed

    result = await run_unit(pool, settings, read)
    if result is None:
        raise HTTPException(401, "invalid or revoked token", UNAUTHORIZED_HEADERS)
    codes, signed = result
    return json_response({"user_codes": codes}, headers=signed.headers)


@router.get(
    "/summary",
    summary="Totals of a range and of the range before it",
    description="Sessions, page views, clicks, contact clicks and contact rate of the range, "
    "and the same for the range of equal length that ends the day before `from`, read in one "
    "transaction so the two are comparable.",
    response_model=RangeSummary,
    responses=ERRORS,
)
async def summary(
    settings: Settings,
    pool: ReaderPool,
    credentials: BearerToken,
    user_code: UserCode = None,
    from_day: FromDay = None,
    to: ToDay = None,
) -> Response:
    token = _bearer_token(credentials)
    wanted = parse_request(user_code, from_day, to)
    params = wanted.params | {"previous_first": wanted.first - timedelta(wanted.days)}
    rows, signed = await _read_owned_user_code(settings, pool, token, wanted, RANGE_SUMMARY, params)
    periods = {row.pop("period"): row for row in rows}
    return json_response(
        {
            "user_code": wanted.user_code,
            "from": wanted.first,
            "to": wanted.last,
            "current": periods["current"],
            "previous": periods["previous"],
        },
        headers=signed.headers,
    )


_add_range_route(
    "/days",
    DAYS,
    DaysAnswer,
    "Every day of a range, with contact clicks",
    "One row per UTC day of the range, in order: a day without traffic is zeros, not a gap. "
    "`provisional` marks today, whose figures still grow, and a day not finalized yet.",
)


def _bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    """The bearer token; raises 401 when there is none or it is malformed (no database work
    for a token that cannot be anybody's)."""
    if credentials is None:
        raise HTTPException(401, "missing bearer token", UNAUTHORIZED_HEADERS)
    if token_owner(credentials.credentials) is None:
        raise HTTPException(401, "invalid or revoked token", UNAUTHORIZED_HEADERS)
    return credentials.credentials


async def _read_owned_user_code(
    settings: IngestSettings,
    pool: AsyncConnectionPool,
    token: str,
    wanted: StatsRequest,
    query: bytes,
    params: dict[str, Any],
) -> tuple[list[dict[str, Any]], SignedIn]:
    """The query's rows, when the token is valid and its owner holds the user code; raises
    401 or 404 otherwise. The ownership check shares the query's transaction, which matters
    for queries that answer rows (zeros) whatever row-level security hides."""

    async def read(
        conn: psycopg.AsyncConnection,
    ) -> tuple[bool, list[dict[str, Any]], SignedIn] | None:
        async with conn.pipeline():
            async with conn.transaction():
                if not (signed := await _authenticate(conn, token, settings)):
                    return None
                owned = await conn.execute(USER_CODE_OWNED, {"user_code": wanted.user_code})
                cursor = conn.cursor(row_factory=dict_row)
                await cursor.execute(query, params)
            row = await owned.fetchone()
            return bool(row and row[0]), await cursor.fetchall(), signed

    result = await run_unit(pool, settings, read)
    if result is None:
        raise HTTPException(401, "invalid or revoked token", UNAUTHORIZED_HEADERS)
    owned, rows, signed = result
    if not owned:
        raise HTTPException(404, f"user code {wanted.user_code!r} is not one of yours")
    return rows, signed


async def _answer(
    settings: IngestSettings,
    pool: AsyncConnectionPool,
    credentials: HTTPAuthorizationCredentials | None,
    query: bytes,
    user_code: str | None,
    from_day: str | None,
    to_day: str | None,
) -> Response:
    token = _bearer_token(credentials)
    wanted = parse_request(user_code, from_day, to_day)
    rows, signed = await _read_owned_user_code(settings, pool, token, wanted, query, wanted.params)
    return json_response(
        {"user_code": wanted.user_code, "from": wanted.first, "to": wanted.last, "rows": rows},
        headers=signed.headers,
    )


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A valid token's transaction, and how fresh what it reads is."""

    replayed_at: datetime | None  # on a streaming replica: its last replayed commit

    @property
    def headers(self) -> dict[str, str]:
        """On a replica (CLIK_READ_DATABASE_URL), the time of the last primary commit it has
        replayed: the answer holds everything committed until then."""
        if self.replayed_at is None:
            return {}
        return {REPLAYED_AT_HEADER: self.replayed_at.astimezone(UTC).isoformat()}


async def _authenticate(
    conn: psycopg.AsyncConnection, token: str, settings: IngestSettings
) -> SignedIn | None:
    """Starts the transaction as clik_reader and hands PostgreSQL the token for it: the
    row-level-security policies derive the owner from the token themselves (sql/0050), so
    nothing here decides what is visible. None when the token names no active owner."""
    await conn.execute(TRANSACTION_SETTINGS, transaction_settings(READER_ROLE, settings))
    await conn.execute(USE_TOKEN, {"token": token})
    cursor = await conn.execute(SIGNED_IN)
    row = await cursor.fetchone()
    if not (row and row[0]):
        return None
    return SignedIn(row[1])


def parse_request(user_code: str | None, from_day: str | None, to_day: str | None) -> StatsRequest:
    """The checked parameters; raises a 400 that says what is wrong."""
    if not user_code:
        raise HTTPException(400, "user_code is required")
    if len(user_code) > MAX_USER_CODE_LENGTH:
        raise HTTPException(400, f"user_code is at most {MAX_USER_CODE_LENGTH} characters")
    if CONTROL_CHARACTERS.search(user_code):
        raise HTTPException(400, "user_code must not contain control characters")
    last = _day("to", to_day) if to_day is not None else datetime.now(UTC).date()
    first = _day("from", from_day) if from_day is not None else last - timedelta(DEFAULT_DAYS - 1)
    if first > last:
        raise HTTPException(400, f"from ({first}) is after to ({last})")
    if (last - first).days + 1 > MAX_DAYS:
        raise HTTPException(400, f"a range covers at most {MAX_DAYS} days")
    return StatsRequest(user_code, max(first, EARLIEST), last)


def _day(name: str, text: str) -> date:
    if not DATE_PATTERN.fullmatch(text):
        raise HTTPException(400, f"{name} must be a date written YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, f"{name} is not a calendar date: {text}") from None
    if not EARLIEST <= day <= LATEST:
        raise HTTPException(400, f"{name} must lie between {EARLIEST} and {LATEST}")
    return day
