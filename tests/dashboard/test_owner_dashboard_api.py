"""The owner API endpoints the dashboard reads: user codes, a range's summary with the range
before it, and zero-filled days, each under row-level security."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta

import httpx
import psycopg
import pytest

from clik.owners import revoke_owner
from ingest_service.app import create_app
from ingest_service.settings import IngestSettings
from tests.dashboard.cards import expected_totals, is_quiet
from tests.dashboard.conftest import Owners
from tests.ingest_service.conftest import started_client

pytestmark = pytest.mark.anyio

STATS = "/api/analytics/stats"


@pytest.fixture
async def api(
    make_settings: Callable[..., IngestSettings], owners: Owners
) -> AsyncIterator[httpx.AsyncClient]:
    async for started in started_client(create_app(make_settings())):
        yield started


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def span(today: datetime, days: int) -> tuple[date, date]:
    """The last `days` days up to today."""
    return today.date() - timedelta(days - 1), today.date()


async def test_user_codes_are_the_owners_own(api: httpx.AsyncClient, owners: Owners) -> None:
    alice = await api.get(f"{STATS}/user-codes", headers=bearer(owners.alice))
    bob = await api.get(f"{STATS}/user-codes", headers=bearer(owners.bob))
    assert alice.status_code == bob.status_code == 200
    assert alice.json() == {"user_codes": ["alice-card", "alice-qr"]}
    assert bob.json() == {"user_codes": ["bob-card"]}


@pytest.mark.parametrize("path", ["user-codes", "summary", "days"])
async def test_a_missing_wrong_or_revoked_token_is_401(
    api: httpx.AsyncClient, owners: Owners, conn: psycopg.Connection, path: str
) -> None:
    params = {"user_code": "alice-card"}
    missing = await api.get(f"{STATS}/{path}", params=params)
    assert missing.status_code == 401
    assert missing.json() == {"error": "missing bearer token"}
    forged = owners.alice[:-4] + "AAAA"
    wrong = await api.get(f"{STATS}/{path}", params=params, headers=bearer(forged))
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "invalid or revoked token"}
    revoke_owner(conn, "alice")
    revoked = await api.get(f"{STATS}/{path}", params=params, headers=bearer(owners.alice))
    assert revoked.status_code == 401
    assert revoked.json() == {"error": "invalid or revoked token"}


async def test_summary_holds_the_range_and_the_one_before(
    api: httpx.AsyncClient, owners: Owners, conn: psycopg.Connection, today: datetime
) -> None:
    first, last = span(today, 30)
    response = await api.get(
        f"{STATS}/summary",
        params={"user_code": "alice-qr", "from": str(first), "to": str(last)},
        headers=bearer(owners.alice),
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["user_code"], body["from"], body["to"]) == ("alice-qr", str(first), str(last))
    before_first, before_last = first - timedelta(30), first - timedelta(1)
    for period, (start, end) in (
        ("current", (first, last)),
        ("previous", (before_first, before_last)),
    ):
        totals = body[period]
        expected = expected_totals(conn, "alice-qr", start, end)
        assert (totals["from"], totals["to"]) == (str(start), str(end))
        assert {key: totals[key] for key in expected} == expected
        assert totals["sessions"] > 0  # the seed has traffic in both periods
        rate = 100 * expected["contact_clicks"] / expected["sessions"]
        assert totals["contact_rate"] == pytest.approx(rate)
        assert totals["latest_computed_at"] is not None


async def test_a_range_without_rows_sums_to_zero(api: httpx.AsyncClient, owners: Owners) -> None:
    response = await api.get(
        f"{STATS}/summary",
        params={"user_code": "alice-card", "from": "2001-01-01", "to": "2001-01-31"},
        headers=bearer(owners.alice),
    )
    assert response.status_code == 200
    for period in ("current", "previous"):
        totals = response.json()[period]
        assert totals["sessions"] == totals["page_views"] == totals["clicks"] == 0
        assert totals["contact_clicks"] == 0
        assert totals["contact_rate"] is None and totals["latest_computed_at"] is None
    assert response.json()["previous"]["from"] == "2000-12-01"


async def test_days_are_zero_filled_with_contact_clicks(
    api: httpx.AsyncClient, owners: Owners, conn: psycopg.Connection, today: datetime
) -> None:
    first, last = span(today, 20)
    response = await api.get(
        f"{STATS}/days",
        params={"user_code": "alice-card", "from": str(first), "to": str(last)},
        headers=bearer(owners.alice),
    )
    assert response.status_code == 200
    rows = response.json()["rows"]
    assert [row["date"] for row in rows] == [str(first + timedelta(n)) for n in range(20)]
    stored = dict(
        conn.execute(
            "SELECT date, (total_sessions, total_page_views, total_clicks)"
            " FROM analytics_daily_user_stats WHERE user_code = 'alice-card'"
        ).fetchall()
    )
    contact = dict(
        conn.execute(
            "SELECT date, sum(click_count) FROM analytics_daily_click_targets"
            " WHERE user_code = 'alice-card' AND click_category = 'contact' GROUP BY date"
        ).fetchall()
    )
    quiet = 0
    for row in rows:
        day = date.fromisoformat(row["date"])
        figures = (row["total_sessions"], row["total_page_views"], row["total_clicks"])
        if is_quiet(today.date(), day):
            quiet += 1
            assert figures == (0, 0, 0) and row["contact_clicks"] == 0
        else:
            assert figures == tuple(int(n) for n in stored[day])
            assert row["contact_clicks"] == contact[day]
        # Rows computed now: provisional until 02:00 UTC of the next day (today; and yesterday
        # too, between midnight and 02:00 UTC), as the 02:00 UTC run finalizes a day.
        finalized_at = datetime.combine(day + timedelta(1), time(2), UTC)
        assert row["provisional"] is (today < finalized_at), day
    assert quiet >= 2


async def test_days_of_a_range_ending_before_yesterday_are_final(
    api: httpx.AsyncClient, owners: Owners, today: datetime
) -> None:
    last = today.date() - timedelta(2)
    response = await api.get(
        f"{STATS}/days",
        params={"user_code": "alice-card", "from": str(last - timedelta(6)), "to": str(last)},
        headers=bearer(owners.alice),
    )
    assert response.status_code == 200
    assert len(response.json()["rows"]) == 7
    assert not any(row["provisional"] for row in response.json()["rows"])


@pytest.mark.parametrize("path", ["summary", "days"])
@pytest.mark.parametrize("user_code", ["bob-card", "nobody"])
async def test_another_owners_user_code_is_404_like_an_unknown_one(
    api: httpx.AsyncClient, owners: Owners, path: str, user_code: str
) -> None:
    response = await api.get(
        f"{STATS}/{path}", params={"user_code": user_code}, headers=bearer(owners.alice)
    )
    assert response.status_code == 404
    assert response.json() == {"error": f"user code {user_code!r} is not one of yours"}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"from": "2026-11-10", "to": "2026-11-01"}, "from (2026-11-10) is after to (2026-11-01)"),
        ({"from": "2025-01-01", "to": "2026-11-01"}, "a range covers at most 366 days"),
        ({"from": "2026-02-30"}, "from is not a calendar date: 2026-02-30"),
        ({"to": "yesterday"}, "to must be a date written YYYY-MM-DD"),
        ({"user_code": ""}, "user_code is required"),
    ],
)
@pytest.mark.parametrize("path", ["summary", "days"])
async def test_bad_parameters_are_400_with_the_reason(
    api: httpx.AsyncClient, owners: Owners, path: str, params: dict, error: str
) -> None:
    query = {"user_code": "alice-card"} | params
    response = await api.get(f"{STATS}/{path}", params=query, headers=bearer(owners.alice))
    assert response.status_code == 400
    assert response.json() == {"error": error}


async def test_the_new_endpoints_are_documented(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/openapi.json")).json()
    for path, model in (
        ("user-codes", "OwnerUserCodes"),
        ("summary", "RangeSummary"),
        ("days", "DaysAnswer"),
    ):
        operation = schema["paths"][f"{STATS}/{path}"]["get"]
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer == {"$ref": f"#/components/schemas/{model}"}
        assert "401" in operation["responses"]
    assert "/dashboard" not in schema["paths"]  # a page, not an API operation
