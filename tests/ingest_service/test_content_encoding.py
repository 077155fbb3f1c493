"""docs/contract.md section 3, Content-Encoding: gzip bodies are decompressed within the size limit (as
received and as decompressed), a body labelled gzip that is not gzip is 400, any other
encoding is 415, and nothing refused is stored."""

from __future__ import annotations

import gzip
import os
import tracemalloc

import orjson
import psycopg
import pytest

from ingest_service.app import create_app
from tests.ingest_service.conftest import (
    INGEST,
    batch,
    click,
    page_view,
    running,
    session_event,
    table_counts,
)

pytestmark = pytest.mark.anyio

NOTHING = (0, 0, 0)


def three_events() -> bytes:
    return orjson.dumps(batch(session_event("s1"), page_view("s1"), click("s1")))


def headers(encoding: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Content-Encoding": encoding}


@pytest.mark.parametrize("encoding", ["gzip", "GZip", "x-gzip", "identity, gzip"])
async def test_a_gzip_body_is_decompressed_and_stored(
    client, conn: psycopg.Connection, encoding: str
) -> None:
    response = await client.post(
        INGEST, content=gzip.compress(three_events()), headers=headers(encoding)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert table_counts(conn) == (1, 1, 1)


async def test_identity_is_no_encoding(client, conn: psycopg.Connection) -> None:
    response = await client.post(INGEST, content=three_events(), headers=headers("identity"))
    assert response.json()["accepted"] == 3
    assert table_counts(conn) == (1, 1, 1)


async def test_a_gzip_bomb_is_refused_without_inflating_it(
    make_settings, conn: psycopg.Connection
) -> None:
    limit = 1_048_576
    bomb = gzip.compress(b" " * 50_000_000)  # ~50 KB that would become 50 MB
    assert len(bomb) < limit
    async with running(create_app(make_settings(max_body_bytes=limit))) as client:
        tracemalloc.start()
        try:
            response = await client.post(INGEST, content=bomb, headers=headers("gzip"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code == 413
    assert "decompressed" in response.json()["error"]
    # The decompressed bytes are bounded by the limit (plus one), never the bomb's 50 MB.
    assert peak < 8 * limit
    assert table_counts(conn) == NOTHING


async def test_the_limit_holds_exactly_for_the_decompressed_body(
    make_settings, conn: psycopg.Connection
) -> None:
    limit = 4000
    body = three_events()
    exactly = body + b" " * (limit - len(body))  # JSON may end in whitespace
    async with running(create_app(make_settings(max_body_bytes=limit))) as client:
        over = await client.post(
            INGEST, content=gzip.compress(exactly + b" "), headers=headers("gzip")
        )
        assert over.status_code == 413
        assert table_counts(conn) == NOTHING

        at_limit = await client.post(
            INGEST, content=gzip.compress(exactly), headers=headers("gzip")
        )
        assert at_limit.status_code == 200, at_limit.text
        assert at_limit.json()["accepted"] == 3


async def test_the_limit_holds_for_the_compressed_bytes_received(
    make_settings, conn: psycopg.Connection
) -> None:
    incompressible = gzip.compress(os.urandom(5000))
    async with running(create_app(make_settings(max_body_bytes=2000))) as client:
        response = await client.post(INGEST, content=incompressible, headers=headers("gzip"))
    assert response.status_code == 413
    assert response.json()["error"] == "body too large: over 2000 bytes"
    assert table_counts(conn) == NOTHING


def truncated() -> bytes:
    return gzip.compress(three_events())[:-12]


def with_trailing_bytes() -> bytes:
    return gzip.compress(three_events()) + b"garbage"


@pytest.mark.parametrize(
    ("make_body", "error"),
    [
        (three_events, "not gzip"),  # plain JSON labelled gzip: once accepted as is
        (lambda: b"", "truncated"),
        (truncated, "truncated"),
        (with_trailing_bytes, "after its end"),
    ],
)
async def test_a_body_labelled_gzip_that_is_not_gzip_is_400(
    client, conn: psycopg.Connection, make_body, error: str
) -> None:
    response = await client.post(INGEST, content=make_body(), headers=headers("gzip"))
    assert response.status_code == 400
    assert error in response.json()["error"]
    assert table_counts(conn) == NOTHING


@pytest.mark.parametrize(
    "encoding", ["br", "deflate", "zstd", "compress", "gzip, gzip", "gzip, br"]
)
async def test_any_other_encoding_is_415(client, conn: psycopg.Connection, encoding: str) -> None:
    # The body is valid gzip and valid JSON underneath: only the label is refused.
    response = await client.post(
        INGEST, content=gzip.compress(three_events()), headers=headers(encoding)
    )
    assert response.status_code == 415
    assert "gzip" in response.json()["error"]
    assert table_counts(conn) == NOTHING
