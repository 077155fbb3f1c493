"""Through a real PgBouncer in transaction pooling mode (docs/contract.md 8), where clients share server
sessions between transactions: two owners hammering the owner API at once never see each
other's rows, and concurrent ingest batches are stored exactly, written as clik_ingest.
Both with the schema owner's URL (each transaction takes its role itself) and with the
components' own logins (`clik db logins`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg
import pytest

from clik.logins import create_logins
from clik.owners import add_owner
from ingest_service.app import create_app
from ingest_service.settings import IngestSettings
from tests.ingest_service.conftest import (
    INGEST,
    batch,
    click,
    counters_disagreeing,
    page_view,
    running,
    session_event,
    table_counts,
)
from tests.pgbouncer import through

pytestmark = pytest.mark.anyio

DAILY = "/api/analytics/stats/daily"
ROUNDS = 40


@pytest.fixture(params=["schema owner", "own logins"])
def pooled_settings(
    request: pytest.FixtureRequest,
    database_url: str,
    pgbouncer_port: int,
    make_settings: Callable[..., IngestSettings],
) -> IngestSettings:
    """The service's pools through PgBouncer: as the schema owner, or on its own logins."""
    if request.param == "schema owner":
        ingest = reader = through(database_url, pgbouncer_port)
    else:
        logins = create_logins(database_url)
        ingest = through(logins["ingest"], pgbouncer_port)
        reader = through(logins["reader"], pgbouncer_port)
    return make_settings(ingest_database_url=ingest, reader_database_url=reader)


def seed_two_owners(conn: psycopg.Connection) -> tuple[str, str]:
    _, alice = add_owner(conn, "alice", ["a1"])
    _, bob = add_owner(conn, "bob", ["b1"])
    conn.execute(
        "INSERT INTO analytics_daily_user_stats (user_code, date, total_sessions,"
        " total_page_views, total_clicks, unique_share_codes)"
        " SELECT code, day, 1, CASE code WHEN 'a1' THEN 7 ELSE 900 END, 1, '{}'"
        " FROM unnest(ARRAY['a1', 'b1']) AS code,"
        "      generate_series('2026-11-01'::date, '2026-11-03', '1 day') AS day"
    )
    return alice, bob


async def test_two_owners_hammering_at_once_never_see_each_others_rows(
    pooled_settings: IngestSettings, conn: psycopg.Connection
) -> None:
    alice, bob = seed_two_owners(conn)
    span = {"from": "2026-11-01", "to": "2026-11-03"}
    in_flight = asyncio.Semaphore(32)  # within the pool's bounded wait (else 503 by design)
    async with running(create_app(pooled_settings)) as client:

        async def ask(token: str, user_code: str) -> tuple[int, list[int]]:
            async with in_flight:
                answer = await client.get(
                    DAILY,
                    params={"user_code": user_code, **span},
                    headers={"Authorization": f"Bearer {token}"},
                )
            rows = answer.json().get("rows", []) if answer.status_code == 200 else []
            return answer.status_code, [row["total_page_views"] for row in rows]

        asked = [
            (token, code) for _ in range(ROUNDS) for token in (alice, bob) for code in ("a1", "b1")
        ]
        answers = await asyncio.gather(*(ask(token, code) for token, code in asked))
    for (token, code), answer in zip(asked, answers, strict=True):
        own = (token, code) in ((alice, "a1"), (bob, "b1"))
        if own:
            assert answer == (200, [7] * 3 if code == "a1" else [900] * 3)
        else:
            assert answer == (404, [])


async def test_concurrent_batches_are_stored_exactly_through_pgbouncer(
    pooled_settings: IngestSettings, conn: psycopg.Connection
) -> None:
    conn.execute(
        """
        CREATE FUNCTION test_writer_is_ingest() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF current_user <> 'clik_ingest' THEN
                RAISE EXCEPTION 'written as %', current_user;
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER test_writer_is_ingest BEFORE INSERT ON analytics_clicks
            FOR EACH ROW EXECUTE FUNCTION test_writer_is_ingest();
        """
    )
    shared = page_view("s0")
    bodies = [
        batch(session_event(f"s{n % 5}"), shared, page_view(f"s{n % 5}"), click(f"s{n % 5}"))
        for n in range(60)
    ]
    async with running(create_app(pooled_settings)) as client:
        answers = await asyncio.gather(*(client.post(INGEST, json=body) for body in bodies))
    assert {answer.status_code for answer in answers} == {200}
    answered = [answer.json() for answer in answers]
    assert all(answer["rejected"] == [] for answer in answered)
    assert sum(answer["accepted"] + answer["duplicates"] for answer in answered) == 4 * 60
    # the shared page view was accepted once, every other page view and click once each
    assert sum(answer["duplicates"] for answer in answered) >= 59
    assert table_counts(conn) == (5, 61, 60)
    assert counters_disagreeing(conn) == []
