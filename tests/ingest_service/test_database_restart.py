"""PostgreSQL restarts while the service's pools hold idle connections, all of them now dead:
once the server is back, no request is answered 503, whichever route comes first and however
many come at once (docs/contract.md section 3: 503 only "when the database is unavailable")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx
import psycopg
import pytest
from fastapi import FastAPI

from clik.embedded import EmbeddedServer
from clik.owners import add_owner
from ingest_service.app import create_app
from ingest_service.settings import IngestSettings
from tests.ingest_service.conftest import INGEST, batch, page_view, running, session_event

pytestmark = pytest.mark.anyio

POOL_SIZE = 4
TODAY = "2026-11-25"

Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


@pytest.fixture
def owner_token(own_server: EmbeddedServer) -> str:
    with psycopg.connect(own_server.url(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO analytics_daily_user_stats (user_code, date, total_sessions, "
            "total_page_views, total_clicks, unique_share_codes) "
            "VALUES ('myclik', %s, 1, 2, 3, '{qr1}')",
            [TODAY],
        )
        _, token = add_owner(conn, "alice", ["myclik"])
    return token


def requests_of_each_route(owner_token: str) -> dict[str, Request]:
    """One request per pooled route, each checking its own answer is the real one."""
    serial = 0

    async def readyz(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/readyz")

    async def owner_api(client: httpx.AsyncClient) -> httpx.Response:
        response = await client.get(
            "/api/analytics/stats/daily",
            params={"user_code": "myclik", "from": TODAY, "to": TODAY},
            headers={"Authorization": f"Bearer {owner_token}"},
        )
        if response.status_code == 200:
            assert [row["total_clicks"] for row in response.json()["rows"]] == [3]
        return response

    async def ingest(client: httpx.AsyncClient) -> httpx.Response:
        nonlocal serial
        serial += 1
        session_id = f"s{serial}"
        response = await client.post(
            INGEST, json=batch(session_event(session_id), page_view(session_id))
        )
        if response.status_code == 200:
            assert response.json()["accepted"] == 2
        return response

    return {"readyz": readyz, "owner API": owner_api, "ingest": ingest}


async def statuses(client: httpx.AsyncClient, requests: list[Request]) -> list[int]:
    """The statuses of `requests`, all sent at once."""
    responses = await asyncio.gather(*(request(client) for request in requests))
    return [response.status_code for response in responses]


async def fill_the_pools(app: FastAPI) -> None:
    """Waits until both pools hold `POOL_SIZE` idle connections (the ones a restart kills)."""
    for pool in (app.state.ingest_pool, app.state.reader_pool):
        await pool.wait(timeout=30)
        assert pool.get_stats()["pool_available"] >= POOL_SIZE


async def test_a_restart_costs_no_request_a_503(
    own_server: EmbeddedServer, owner_token: str, tmp_path: Path
) -> None:
    settings = IngestSettings(
        database_url=own_server.url(),
        home=tmp_path / "home",
        db_pool_min_size=POOL_SIZE,
        db_pool_max_size=2 * POOL_SIZE,
    )
    routes = requests_of_each_route(owner_token)
    every_route_at_once = [request for request in routes.values() for _ in range(POOL_SIZE)]
    app = create_app(settings)

    async with running(app) as client:
        assert set(await statuses(client, every_route_at_once)) == {200}

        # Each route in turn is the first one to meet the dead connections.
        for name, first in routes.items():
            await fill_the_pools(app)
            await anyio.to_thread.run_sync(own_server.stop)
            await anyio.to_thread.run_sync(own_server.start)  # returns once it accepts

            one_by_one = [(await first(client)).status_code for _ in range(POOL_SIZE + 1)]
            assert one_by_one == [200] * (POOL_SIZE + 1), f"{name} first after a restart"
            assert set(await statuses(client, every_route_at_once)) == {200}, name

        # And many at once meet them, with no request before.
        await fill_the_pools(app)
        await anyio.to_thread.run_sync(own_server.stop)
        await anyio.to_thread.run_sync(own_server.start)
        assert set(await statuses(client, 2 * every_route_at_once)) == {200}
