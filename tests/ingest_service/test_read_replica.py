"""CLIK_READ_DATABASE_URL (docs/contract.md 8): the owner API reads a real streaming replica of the
primary (pg_basebackup of a server of the test's own), row-level security holds there too,
answers say how fresh the replica is, and a replica that goes away costs a bounded 503 while
ingest goes on writing to the primary."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from clik.embedded import EmbeddedServer
from clik.migrations import migrate
from clik.owners import add_owner
from ingest_service.app import create_app
from ingest_service.owner_routes import REPLAYED_AT_HEADER
from ingest_service.settings import IngestSettings
from tests.ingest_service.conftest import INGEST, batch, page_view, running, session_event

pytestmark = pytest.mark.anyio

DAILY = "/api/analytics/stats/daily"
SPAN = {"from": "2026-11-01", "to": "2026-11-03"}


@pytest.fixture
def primary_and_replica(tmp_path: Path) -> Iterator[tuple[EmbeddedServer, EmbeddedServer]]:
    primary = EmbeddedServer(tmp_path / "primary", durable=False)
    migrate(primary.start())
    replica = EmbeddedServer(tmp_path / "replica", durable=False)
    try:
        replica.start_as_standby_of(primary)
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()


def add_day(url: str, user_code: str, day: str, page_views: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO analytics_daily_user_stats (user_code, date, total_sessions,"
            " total_page_views, total_clicks, unique_share_codes)"
            " VALUES (%s, %s, 1, %s, 0, '{}')",
            [user_code, day, page_views],
        )


def wait_until_replayed(primary_url: str, replica_url: str) -> None:
    """Until the replica has replayed everything the primary has written so far (the test
    servers commit asynchronously: the WAL is flushed, and so streamed, a moment later)."""
    with psycopg.connect(primary_url) as conn:
        (target,) = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
    deadline = time.monotonic() + 30
    with psycopg.connect(replica_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            (caught_up,) = conn.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]
            ).fetchone()
            if caught_up:
                return
            time.sleep(0.1)
    raise AssertionError("the replica did not catch up within 30 s")


async def test_the_owner_api_reads_the_replica(
    primary_and_replica: tuple[EmbeddedServer, EmbeddedServer], tmp_path: Path
) -> None:
    primary, replica = primary_and_replica
    primary_url, replica_url = primary.url(), replica.url()
    with psycopg.connect(primary_url, autocommit=True) as conn:
        _, alice = add_owner(conn, "alice", ["a1"])
        _, bob = add_owner(conn, "bob", ["b1"])
    for day in ("2026-11-01", "2026-11-02"):
        add_day(primary_url, "a1", day, 7)
        add_day(primary_url, "b1", day, 900)
    wait_until_replayed(primary_url, replica_url)
    with psycopg.connect(replica_url) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)

    settings = IngestSettings(
        database_url=primary_url,
        read_database_url=replica_url,
        home=tmp_path / "home",
        db_pool_min_size=1,
        db_pool_max_size=4,
        db_connect_timeout_s=2,
        db_pool_timeout_s=2,
    )
    async with running(create_app(settings)) as client:

        async def daily(token: str, user_code: str):
            return await client.get(
                DAILY,
                params={"user_code": user_code, **SPAN},
                headers={"Authorization": f"Bearer {token}"},
            )

        answer = await daily(alice, "a1")
        assert answer.status_code == 200, answer.text
        assert [row["total_page_views"] for row in answer.json()["rows"]] == [7, 7]
        replayed = datetime.fromisoformat(answer.headers[REPLAYED_AT_HEADER])
        assert replayed <= datetime.now(UTC)
        # Row-level security on the replica: Bob's token reads nothing of Alice's.
        assert (await daily(bob, "a1")).status_code == 404
        assert [r["total_page_views"] for r in (await daily(bob, "b1")).json()["rows"]] == [
            900,
            900,
        ]

        # A day written on the primary shows once the replica has replayed it.
        add_day(primary_url, "a1", "2026-11-03", 8)
        wait_until_replayed(primary_url, replica_url)
        later = await daily(alice, "a1")
        assert [row["total_page_views"] for row in later.json()["rows"]] == [7, 7, 8]
        assert datetime.fromisoformat(later.headers[REPLAYED_AT_HEADER]) > replayed

        # The replica goes away: the owner API answers 503 within its bounds, never hangs,
        # and ingest still writes to the primary.
        replica.stop()
        gone = await daily(alice, "a1")
        assert gone.status_code == 503
        assert gone.headers["retry-after"]
        written = await client.post(INGEST, json=batch(session_event("s1"), page_view("s1")))
        assert written.json()["accepted"] == 2
    with psycopg.connect(primary_url) as conn:
        assert conn.execute("SELECT count(*) FROM analytics_page_views").fetchone() == (1,)
