"""The ingest service under test: create_app(test settings) on a fresh migrated database,
driven through HTTP with httpx (the app's lifespan runs, so its real connection pool does)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from clik.embedded import EmbeddedServer
from clik.migrations import migrate
from ingest_service.app import create_app
from ingest_service.settings import IngestSettings
from tests.pgbouncer import running_pgbouncer, through

INGEST = "/api/analytics/ingest"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """A migrated server of the test's own, for tests that stop or restart it (whatever server
    the suite uses)."""
    server = EmbeddedServer(tmp_path / "pgdata", durable=False)
    migrate(server.start())
    try:
        yield server
    finally:
        server.stop()


# CLIK_TEST_THROUGH_PGBOUNCER=1: the service's pools connect through a PgBouncer in
# transaction pooling mode (.ci/run runs the ingest tests so once).
THROUGH_PGBOUNCER = os.environ.get("CLIK_TEST_THROUGH_PGBOUNCER") == "1"


@pytest.fixture(scope="session")
def pgbouncer_port(server_url: str) -> Iterator[int]:
    """A PgBouncer (transaction pooling) in front of the test server, for this process."""
    with running_pgbouncer(server_url) as port:
        yield port


@pytest.fixture
def make_settings(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[..., IngestSettings]:
    def make(**overrides: Any) -> IngestSettings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "home": tmp_path / "clik-home",
            "db_pool_min_size": 1,
            "db_pool_max_size": 8,
        }
        if THROUGH_PGBOUNCER and "database_url" not in overrides:  # (it fronts the test server)
            pooled = through(database_url, request.getfixturevalue("pgbouncer_port"))
            values |= {"ingest_database_url": pooled, "reader_database_url": pooled}
        return IngestSettings(**(values | overrides))

    return make


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of `app`, with the app's lifespan (its pool) running."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("203.0.113.77", 50000)),
            base_url="http://ingest.test",
            headers={"User-Agent": BROWSER},
        ) as client,
    ):
        yield client


async def started_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The same as `running`, as an async generator (`async for client in ...`)."""
    async with running(app) as client:
        yield client


@pytest.fixture
async def client(make_settings: Callable[..., IngestSettings]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(make_settings())) as started:
        yield started


# --- building batches -----------------------------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def ago(**delta: float) -> datetime:
    """A moment relative to now, in UTC, at millisecond precision (as JavaScript sends)."""
    moment = datetime.now(UTC) - timedelta(**delta)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def session_event(session_id: str, first_seen: datetime | None = None, **data: Any) -> dict:
    return {
        "type": "session",
        "data": {
            "session_id": session_id,
            "user_code": "myclik",
            "share_code": "qr1",
            "first_seen": iso(first_seen or ago(minutes=5)),
            "user_agent": BROWSER,
            "referrer": "https://example.com/",
        }
        | data,
    }


def page_view(session_id: str, viewed_at: datetime | None = None, **data: Any) -> dict:
    return {
        "type": "page_view",
        "data": {
            "id": str(uuid.uuid4()),
            "session_id": session_id,
            "user_code": "myclik",
            "share_code": "qr1",
            "page_type": "home",
            "viewed_at": iso(viewed_at or ago(minutes=4)),
        }
        | data,
    }


def click(session_id: str, clicked_at: datetime | None = None, **data: Any) -> dict:
    return {
        "type": "click",
        "data": {
            "id": str(uuid.uuid4()),
            "session_id": session_id,
            "user_code": "myclik",
            "share_code": "qr1",
            "click_target": "phone",
            "click_category": "contact",
            "clicked_at": iso(clicked_at or ago(minutes=3)),
        }
        | data,
    }


def batch(*events: dict) -> dict:
    return {"sent_at": iso(ago()), "events": list(events)}


# --- reading what was stored ----------------------------------------------------------------


def table_counts(conn: psycopg.Connection) -> tuple[int, int, int]:
    return conn.execute(
        "SELECT (SELECT count(*) FROM analytics_sessions),"
        " (SELECT count(*) FROM analytics_page_views),"
        " (SELECT count(*) FROM analytics_clicks)"
    ).fetchone()


def counters_disagreeing(conn: psycopg.Connection) -> list[tuple]:
    """Sessions whose counters differ from their rows (empty when all is well)."""
    return conn.execute(
        """
        SELECT s.session_id, s.page_views, s.clicks, coalesce(p.n, 0), coalesce(c.n, 0)
        FROM analytics_sessions s
        LEFT JOIN (SELECT session_id, count(*) AS n FROM analytics_page_views GROUP BY 1) p
               USING (session_id)
        LEFT JOIN (SELECT session_id, count(*) AS n FROM analytics_clicks GROUP BY 1) c
               USING (session_id)
        WHERE s.page_views <> coalesce(p.n, 0) OR s.clicks <> coalesce(c.n, 0)
        """
    ).fetchall()
