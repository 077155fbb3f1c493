"""429: an address over CLIK_RATE_LIMIT_PER_MINUTE is told to wait, and nothing it sent then
is written; other addresses are not affected."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from ingest_service.app import create_app
from ingest_service.rate_limit import RateLimiter
from tests.ingest_service.conftest import (
    BROWSER,
    INGEST,
    batch,
    page_view,
    running,
    session_event,
    table_counts,
)

pytestmark = pytest.mark.anyio


async def test_an_address_over_the_limit_gets_429_and_writes_nothing(
    make_settings, conn: psycopg.Connection
) -> None:
    app = create_app(make_settings(rate_limit_per_minute=2))
    async with running(app) as client:
        for n in range(2):
            answer = await client.post(
                INGEST, json=batch(session_event(f"s{n}"), page_view(f"s{n}"))
            )
            assert answer.status_code == 200
        refused = await client.post(INGEST, json=batch(session_event("s9"), page_view("s9")))
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"].startswith("rate limited: over 2 requests a minute")
        assert table_counts(conn) == (2, 2, 0)

        other = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("198.51.100.5", 40000)),
            base_url="http://ingest.test",
            headers={"User-Agent": BROWSER},
        )
        async with other:
            assert (await other.post(INGEST, json=batch(page_view("s9")))).status_code == 200
    assert table_counts(conn) == (3, 3, 0)


def test_buckets_refill_over_time_and_stay_bounded() -> None:
    limiter = RateLimiter(per_minute=60, max_addresses=3)
    assert [limiter.wait_seconds("a", now=0.0) for _ in range(60)] == [0] * 60
    assert limiter.wait_seconds("a", now=0.0) == 1
    assert limiter.wait_seconds("a", now=1.0) == 0  # one token a second
    for address in ("b", "c", "d"):
        limiter.wait_seconds(address, now=1.0)
    assert len(limiter) == 3  # "a", the least recently seen, was forgotten
