"""The owner API through HTTP: tokens, row-level security, parameters, pooled connections."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from clik.owners import add_owner, hash_token, revoke_owner
from ingest_service.app import create_app
from ingest_service.database import TRANSACTION_SETTINGS, transaction_settings
from ingest_service.settings import IngestSettings
from tests.ingest_service.conftest import started_client

pytestmark = pytest.mark.anyio

DAILY = "/api/analytics/stats/daily"
BREAKDOWNS = (
    "/api/analytics/stats/share-codes",
    "/api/analytics/stats/page-types",
    "/api/analytics/stats/click-targets",
)
ENDPOINTS = (DAILY, *BREAKDOWNS)
DAYS = [date(2026, 11, day) for day in (1, 2, 3)]


@dataclass
class Owners:
    alice: str  # holds a1 and a2
    bob: str  # holds b1


def seed_daily_rows(conn: psycopg.Connection, user_code: str, scale: int) -> None:
    """Rows in all four daily tables for DAYS; every figure is a multiple of `scale`, so an
    owner's answers cannot be mistaken for another's."""
    for offset, day in enumerate(DAYS, start=1):
        views, clicks, sessions = 4 * scale * offset, 2 * scale * offset, scale * offset
        conn.execute(
            "INSERT INTO analytics_daily_user_stats (user_code, date, total_sessions, "
            "total_page_views, total_clicks, unique_share_codes) "
            "VALUES (%s, %s, %s, %s, %s, '{qr1,qr2}')",
            [user_code, day, sessions, views, clicks],
        )
        conn.execute(
            "INSERT INTO analytics_daily_group_stats (user_code, share_code, date, "
            "total_sessions, total_page_views, total_clicks) "
            "VALUES (%(u)s, 'qr1', %(d)s, %(s)s, %(v)s, %(c)s), (%(u)s, NULL, %(d)s, 0, 0, 0)",
            {"u": user_code, "d": day, "s": sessions, "v": views, "c": clicks},
        )
        conn.execute(
            "INSERT INTO analytics_daily_page_stats (user_code, share_code, date, page_type, "
            "view_count) VALUES (%(u)s, 'qr1', %(d)s, 'home', %(h)s), "
            "(%(u)s, 'qr1', %(d)s, 'contact', %(c)s)",
            {"u": user_code, "d": day, "h": views - scale, "c": scale},
        )
        conn.execute(
            "INSERT INTO analytics_daily_click_targets (user_code, share_code, date, "
            "click_target, click_category, click_count) "
            "VALUES (%(u)s, 'qr1', %(d)s, 'phone', 'contact', %(c)s)",
            {"u": user_code, "d": day, "c": clicks},
        )


@pytest.fixture
def owners(conn: psycopg.Connection) -> Owners:
    for user_code, scale in (("a1", 1), ("a2", 10), ("b1", 100)):
        seed_daily_rows(conn, user_code, scale)
    _, alice = add_owner(conn, "alice", ["a1", "a2"])
    _, bob = add_owner(conn, "bob", ["b1"])
    return Owners(alice, bob)


@pytest.fixture
async def api(
    make_settings: Callable[..., IngestSettings], owners: Owners
) -> AsyncIterator[httpx.AsyncClient]:
    async for started in started_client(create_app(make_settings())):
        yield started


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get(
    client: httpx.AsyncClient, token: str | None, path: str = DAILY, **params: str
) -> httpx.Response:
    query = {"user_code": "a1", "from": "2026-11-01", "to": "2026-11-03"} | params
    headers = bearer(token) if token is not None else {}
    return await client.get(path, params=query, headers=headers)


# --- what an owner reads --------------------------------------------------------------------


async def test_an_owner_reads_its_daily_rows(api: httpx.AsyncClient, owners: Owners) -> None:
    response = await get(api, owners.alice, user_code="a2", **{"from": "2026-11-02"})
    assert response.status_code == 200
    assert response.json() == {
        "user_code": "a2",
        "from": "2026-11-02",
        "to": "2026-11-03",
        "rows": [
            {
                "date": "2026-11-02",
                "total_sessions": 20,
                "total_page_views": 80,
                "total_clicks": 40,
                "unique_share_codes": ["qr1", "qr2"],
                "provisional": False,
            },
            {
                "date": "2026-11-03",
                "total_sessions": 30,
                "total_page_views": 120,
                "total_clicks": 60,
                "unique_share_codes": ["qr1", "qr2"],
                "provisional": False,
            },
        ],
    }


async def test_todays_row_is_provisional(
    api: httpx.AsyncClient, owners: Owners, conn: psycopg.Connection
) -> None:
    today = datetime.now(UTC).date()
    conn.execute(
        "INSERT INTO analytics_daily_user_stats (user_code, date, total_sessions, "
        "total_page_views, total_clicks, unique_share_codes) VALUES ('a1', %s, 1, 2, 0, '{}')",
        [today],
    )
    response = await get(
        api, owners.alice, user_code="a1", **{"from": str(today), "to": str(today)}
    )
    assert response.status_code == 200
    (row,) = response.json()["rows"]
    assert (row["date"], row["total_page_views"], row["provisional"]) == (str(today), 2, True)


async def test_breakdowns_sum_the_range(api: httpx.AsyncClient, owners: Owners) -> None:
    share_codes, page_types, click_targets = [
        (await get(api, owners.alice, path)).json()["rows"] for path in BREAKDOWNS
    ]
    assert share_codes == [
        {"share_code": "qr1", "total_sessions": 6, "total_page_views": 24, "total_clicks": 12},
        {"share_code": None, "total_sessions": 0, "total_page_views": 0, "total_clicks": 0},
    ]
    assert page_types == [
        {"page_type": "home", "view_count": 21},
        {"page_type": "contact", "view_count": 3},
    ]
    assert click_targets == [
        {"click_target": "phone", "click_category": "contact", "click_count": 12}
    ]


async def test_a_range_without_rows_is_empty_not_an_error(
    api: httpx.AsyncClient, owners: Owners
) -> None:
    response = await get(api, owners.alice, **{"from": "2025-01-01", "to": "2025-01-31"})
    assert response.status_code == 200
    assert response.json()["rows"] == []


async def test_from_and_to_default_to_the_last_30_days(
    api: httpx.AsyncClient, owners: Owners
) -> None:
    response = await api.get(DAILY, params={"user_code": "a1"}, headers=bearer(owners.alice))
    assert response.status_code == 200
    answer = response.json()
    span = date.fromisoformat(answer["to"]) - date.fromisoformat(answer["from"])
    assert span.days == 29


# --- what an owner never reads --------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_another_owners_user_code_reveals_nothing(
    api: httpx.AsyncClient, owners: Owners, path: str
) -> None:
    for token, user_code in ((owners.alice, "b1"), (owners.bob, "a1"), (owners.bob, "a2")):
        response = await get(api, token, path, user_code=user_code)
        assert response.status_code == 404
        assert response.json() == {"error": f"user code {user_code!r} is not one of yours"}
    # ...and exactly the same answer as a user code nobody holds.
    unknown = await get(api, owners.alice, path, user_code="nobody")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "user code 'nobody' is not one of yours"}


async def test_each_owner_reads_only_its_own_figures(
    api: httpx.AsyncClient, owners: Owners
) -> None:
    alice = (await get(api, owners.alice, user_code="a1")).json()["rows"]
    bob = (await get(api, owners.bob, user_code="b1")).json()["rows"]
    assert [row["total_page_views"] for row in alice] == [4, 8, 12]
    assert [row["total_page_views"] for row in bob] == [400, 800, 1200]


# --- tokens ---------------------------------------------------------------------------------


def forged(token: str, **change: str) -> str:
    prefix, owner, secret = token.split("_", 2)
    parts = {"owner": owner, "secret": secret} | change
    return f"{prefix}_{parts['owner']}_{parts['secret']}"


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_requests_without_a_valid_token_are_401(
    api: httpx.AsyncClient, owners: Owners, path: str
) -> None:
    other_secret = forged(owners.alice, secret=forged(owners.bob).split("_", 2)[2])
    unknown_owner = forged(owners.alice, owner=uuid.uuid4().hex)
    flipped = owners.alice[:-1] + ("A" if owners.alice[-1] != "A" else "B")
    headers_cases = [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {owners.alice}"},
        {"Authorization": owners.alice},
        bearer("not-a-token"),
        bearer(other_secret),
        bearer(unknown_owner),
        bearer(flipped),
        bearer(hash_token(owners.alice)),  # the stored hash is not a token
        bearer(owners.alice + "x"),
    ]
    for headers in headers_cases:
        params = {"user_code": "a1", "from": "2026-11-01", "to": "2026-11-03"}
        response = await api.get(path, params=params, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert set(response.json()) == {"error"}


async def test_a_revoked_token_is_401_at_once(
    api: httpx.AsyncClient, owners: Owners, conn: psycopg.Connection
) -> None:
    assert (await get(api, owners.alice)).status_code == 200
    revoke_owner(conn, "alice")
    for path in ENDPOINTS:
        response = await get(api, owners.alice, path)
        assert response.status_code == 401
        assert response.json() == {"error": "invalid or revoked token"}
    assert (await get(api, owners.bob, user_code="b1")).status_code == 200


async def test_the_scheme_name_is_case_insensitive(api: httpx.AsyncClient, owners: Owners) -> None:
    params = {"user_code": "a1", "from": "2026-11-01", "to": "2026-11-03"}
    response = await api.get(
        DAILY, params=params, headers={"Authorization": f"bearer {owners.alice}"}
    )
    assert response.status_code == 200


# --- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"user_code": ""}, "user_code is required"),
        ({"user_code": "x" * 65}, "user_code is at most 64 characters"),
        ({"user_code": "a1\x00"}, "user_code must not contain control characters"),
        ({"from": "2026-11-1"}, "from must be a date written YYYY-MM-DD"),
        ({"from": "yesterday"}, "from must be a date written YYYY-MM-DD"),
        ({"to": "2026-11-03T00:00:00"}, "to must be a date written YYYY-MM-DD"),
        ({"to": "2026-11-03\n"}, "to must be a date written YYYY-MM-DD"),
        ({"to": "\uff12\uff10\uff12\uff16-11-03"}, "to must be a date written YYYY-MM-DD"),
        ({"from": "2026-02-30"}, "from is not a calendar date: 2026-02-30"),
        ({"to": "9999-12-31"}, "to must lie between 2000-01-01 and 2999-12-31"),
        ({"from": "0001-01-01"}, "from must lie between 2000-01-01 and 2999-12-31"),
        ({"from": "2026-11-04"}, "from (2026-11-04) is after to (2026-11-03)"),
        ({"from": "2025-11-02"}, "a range covers at most 366 days"),
    ],
)
async def test_bad_parameters_are_400_with_a_clear_error(
    api: httpx.AsyncClient, owners: Owners, params: dict[str, str], error: str
) -> None:
    for path in ENDPOINTS:
        response = await get(api, owners.alice, path, **params)
        assert response.status_code == 400
        assert response.json() == {"error": error}


async def test_a_missing_user_code_is_400(api: httpx.AsyncClient, owners: Owners) -> None:
    response = await api.get(DAILY, headers=bearer(owners.alice))
    assert response.status_code == 400
    assert response.json() == {"error": "user_code is required"}


async def test_a_range_of_exactly_366_days_is_accepted(
    api: httpx.AsyncClient, owners: Owners
) -> None:
    response = await get(api, owners.alice, **{"from": "2025-11-03", "to": "2026-11-03"})
    assert response.status_code == 200
    assert len(response.json()["rows"]) == 3


INJECTIONS = [
    "a1' OR '1'='1",
    "a1' OR 1=1 --",
    "b1'; SET ROLE postgres; --",
    "a1'); DROP TABLE analytics_daily_user_stats; --",
    "' UNION SELECT * FROM analytics_owners --",
    "%",
    "_1",
    "a1\\",
    "b1' AND set_config('clik.owner_id', NULL, false) IS NULL --",
]


async def test_injection_attempts_in_every_parameter_are_inert(
    api: httpx.AsyncClient, owners: Owners, conn: psycopg.Connection
) -> None:
    tables_before = conn.execute("SELECT count(*) FROM pg_tables").fetchone()
    for path in ENDPOINTS:
        for payload in INJECTIONS:
            as_user_code = await get(api, owners.alice, path, user_code=payload)
            assert as_user_code.status_code == 404, payload
            for name in ("from", "to"):
                as_date = await get(api, owners.alice, path, **{name: f"2026-11-01{payload}"})
                assert as_date.status_code == 400, payload
            as_token = await get(api, f"{owners.alice}{payload}", path)
            assert as_token.status_code == 401, payload
            as_owner_id = await get(api, f"clik_{payload}_{owners.alice.split('_', 2)[2]}", path)
            assert as_owner_id.status_code == 401, payload
    assert conn.execute("SELECT count(*) FROM pg_tables").fetchone() == tables_before
    assert conn.execute("SELECT count(*) FROM analytics_daily_user_stats").fetchone() == (9,)
    # Alice still reads her rows, and nothing more.
    rows = (await get(api, owners.alice)).json()["rows"]
    assert [row["total_page_views"] for row in rows] == [4, 8, 12]


# --- pooled connections ---------------------------------------------------------------------


async def backend_and_owner(pool: AsyncConnectionPool) -> tuple[int, str | None, int]:
    """The pooled connection's server process, the token it holds, and the rows a new
    clik_reader transaction on it shows without a token of its own."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            TRANSACTION_SETTINGS, transaction_settings("clik_reader", IngestSettings())
        )
        cursor = await conn.execute(
            "SELECT pg_backend_pid(), current_setting('clik.owner_token', true), "
            "(SELECT count(*) FROM analytics_daily_user_stats)"
        )
        row = await cursor.fetchone()
        assert row is not None
        return row


async def test_a_reused_connection_keeps_nothing_of_the_previous_owner(
    make_settings: Callable[..., IngestSettings], owners: Owners
) -> None:
    app = create_app(make_settings(db_pool_min_size=1, db_pool_max_size=1))
    async for client in started_client(app):
        first_backend, _, _ = await backend_and_owner(app.state.reader_pool)
        assert (await get(client, owners.alice)).status_code == 200
        backend, owner_setting, visible_rows = await backend_and_owner(app.state.reader_pool)
        # The same server process served Alice, and now holds no owner and shows no row.
        assert backend == first_backend
        assert owner_setting in (None, "")
        assert visible_rows == 0
        # Bob, on that very connection, gets none of Alice's rows...
        for path in ENDPOINTS:
            assert (await get(client, owners.bob, path)).status_code == 404
        # ...and Alice right after Bob gets none of his.
        assert (await get(client, owners.alice, user_code="b1")).status_code == 404
        bob_rows = (await get(client, owners.bob, user_code="b1")).json()["rows"]
        assert [row["total_page_views"] for row in bob_rows] == [400, 800, 1200]
        assert (await backend_and_owner(app.state.reader_pool))[0] == first_backend


async def test_a_failed_token_check_leaves_no_owner_on_the_connection(
    make_settings: Callable[..., IngestSettings], owners: Owners
) -> None:
    app = create_app(make_settings(db_pool_min_size=1, db_pool_max_size=1))
    async for client in started_client(app):
        assert (await get(client, owners.alice)).status_code == 200
        assert (await get(client, forged(owners.alice, secret="A" * 43))).status_code == 401
        async with app.state.reader_pool.connection() as conn:
            cursor = await conn.execute("SELECT current_setting('clik.owner_token', true)")
            assert (await cursor.fetchone())[0] in (None, "")
