"""The owner API's queries straight in SQL as clik_reader: row-level security alone keeps
owners apart, the token check needs no access to analytics_owners, and the policies use the
daily tables' indexes at realistic sizes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg
import pytest
from psycopg import sql

from clik.database import with_database
from clik.owners import add_owner, hash_token, revoke_owner, token_owner
from ingest_service.owner_routes import (
    CLICK_TARGET_STATS,
    DAILY_USER_STATS,
    PAGE_STATS,
    SHARE_CODE_STATS,
    USE_TOKEN,
)
from tests.conftest import create_database, drop_database

QUERIES = {
    "analytics_daily_user_stats": DAILY_USER_STATS,
    "analytics_daily_group_stats": SHARE_CODE_STATS,
    "analytics_daily_page_stats": PAGE_STATS,
    "analytics_daily_click_targets": CLICK_TARGET_STATS,
}
RANGE = {"first": date(2026, 1, 1), "until": date(2027, 1, 1)}

# A year of daily rows for this many user codes (~180k rows in each daily table): enough that
# a sequential scan would cost the planner far more than the indexes.
USER_CODES = 500
OTHER_OWNERS = 50


def as_reader(
    conn: psycopg.Connection, token: str | None, statement: Any, params: Any = None
) -> list:
    """Runs one statement as clik_reader with an owner's `token` set for that transaction
    only, as the owner API does."""
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL ROLE clik_reader")
        if token is not None:
            conn.execute(USE_TOKEN, {"token": token})
        return conn.execute(statement, params).fetchall()


TOKENS: dict[str, str] = {}  # owner name -> token, of the module's sized database


@pytest.fixture(scope="module")
def sized_url(server_url: str, template_database: str) -> Iterator[str]:
    """One database with a year of daily rows for USER_CODES user codes, shared by the module
    (every statement below only reads, or rolls back)."""
    name = f"clik_owner_rls_{uuid.uuid4().hex[:10]}"
    create_database(server_url, name, template=template_database)
    url = with_database(server_url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO analytics_daily_user_stats
                (user_code, date, total_sessions, total_page_views, total_clicks, unique_share_codes)
            SELECT 'u' || code, day, code, 4 * code, 2 * code, '{qr1}'
            FROM generate_series(1, %(codes)s) AS code,
                 generate_series('2026-01-01'::date, '2026-12-31', '1 day') AS day;
            INSERT INTO analytics_daily_group_stats
                (user_code, share_code, date, total_sessions, total_page_views, total_clicks)
            SELECT user_code, 'qr1', date, total_sessions, total_page_views, total_clicks
            FROM analytics_daily_user_stats;
            INSERT INTO analytics_daily_page_stats (user_code, share_code, date, page_type, view_count)
            SELECT user_code, 'qr1', date, 'home', total_page_views FROM analytics_daily_user_stats;
            INSERT INTO analytics_daily_click_targets
                (user_code, share_code, date, click_target, click_category, click_count)
            SELECT user_code, 'qr1', date, 'phone', 'contact', total_clicks
            FROM analytics_daily_user_stats;
            """.replace("%(codes)s", str(USER_CODES))
        )
        TOKENS["alice"] = add_owner(conn, "alice", ["u1", "u2"])[1]
        for owner in range(OTHER_OWNERS):
            codes = [f"u{code}" for code in range(3 + owner, USER_CODES + 1, OTHER_OWNERS)]
            TOKENS[f"owner {owner}"] = add_owner(conn, f"owner {owner}", codes)[1]
        conn.execute("ANALYZE")
    try:
        yield url
    finally:
        drop_database(server_url, name)


@pytest.fixture
def sized(sized_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(sized_url, autocommit=True) as conn:
        yield conn


def owner_id(conn: psycopg.Connection, name: str) -> uuid.UUID:
    row = conn.execute("SELECT owner_id FROM analytics_owners WHERE name = %s", [name]).fetchone()
    assert row is not None
    return row[0]


def owner_token(name: str) -> str:
    return TOKENS[name]


# --- owners apart, in SQL -------------------------------------------------------------------


@pytest.mark.parametrize("table", QUERIES)
def test_in_sql_an_owner_never_sees_another_owners_rows(
    sized: psycopg.Connection, table: str
) -> None:
    alice = owner_token("alice")
    seen = as_reader(
        sized, alice, sql.SQL("SELECT DISTINCT user_code FROM {}").format(sql.Identifier(table))
    )
    assert sorted(seen) == [("u1",), ("u2",)]
    # The API's own query, asked for someone else's user code, finds nothing.
    assert as_reader(sized, alice, QUERIES[table], {"user_code": "u3", **RANGE}) == []
    assert as_reader(sized, alice, QUERIES[table], {"user_code": "u1", **RANGE}) != []
    # No owner set: nothing at all.
    assert as_reader(sized, None, QUERIES[table], {"user_code": "u1", **RANGE}) == []


def test_in_sql_the_reader_cannot_touch_owners_or_reset_the_owner_for_good(
    sized: psycopg.Connection,
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_reader(sized, None, "SELECT token_hash FROM analytics_owners")
    alice = owner_token("alice")
    as_reader(sized, alice, "SELECT 1")
    # set_config(..., true) ended with its transaction.
    assert as_reader(sized, None, "SELECT count(*) FROM analytics_daily_user_stats") == [(0,)]


def test_only_the_token_itself_names_an_owner_inside_postgresql(
    conn: psycopg.Connection,
) -> None:
    """The attacks of SQL running as clik_reader: naming an owner by id, presenting the stored
    hash, a revoked or altered token, the old hash function (role changes: test_logins.py)."""
    _, token = add_owner(conn, "carol", ["c1"])
    _, other = add_owner(conn, "dan", ["d1"])
    conn.execute(
        "INSERT INTO analytics_daily_user_stats (user_code, date, total_sessions,"
        " total_page_views, total_clicks, unique_share_codes)"
        " VALUES ('c1', '2026-11-01', 1, 1, 1, '{}'), ('d1', '2026-11-01', 2, 2, 2, '{}')"
    )
    everything = "SELECT user_code FROM analytics_daily_user_stats ORDER BY 1"
    carol = token_owner(token)
    assert as_reader(conn, token, everything) == [("c1",)]
    assert as_reader(conn, other, everything) == [("d1",)]
    assert as_reader(conn, None, everything) == []
    assert as_reader(conn, hash_token(token), everything) == []  # the hash is no token
    assert as_reader(conn, token + "x", everything) == []
    with conn.transaction(force_rollback=True):  # the old mechanism: an owner id by hand
        conn.execute("SET LOCAL ROLE clik_reader")
        conn.execute("SELECT set_config('clik.owner_id', %s, true)", [str(carol)])
        assert conn.execute(everything).fetchall() == []
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL ROLE clik_reader")
        with pytest.raises(psycopg.errors.UndefinedFunction):  # no hash to be had any more
            conn.execute("SELECT owner_token_hash(%s)", [carol])
    revoke_owner(conn, "carol")
    assert as_reader(conn, token, everything) == []


def test_only_a_hash_of_the_token_is_stored(conn: psycopg.Connection) -> None:
    _, token = add_owner(conn, "dave", ["d1"])
    stored = conn.execute("SELECT row_to_json(o)::text FROM analytics_owners o").fetchall()
    assert token not in json.dumps(stored)
    assert token.split("_", 2)[2] not in json.dumps(stored)
    assert hash_token(token) in json.dumps(stored)


# --- the policies use indexes ---------------------------------------------------------------


def plan_nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def scans_of(
    conn: psycopg.Connection, owner: str, statement: Any, params: Any, table: str
) -> list[dict]:
    explained = as_reader(conn, owner, b"EXPLAIN (FORMAT JSON) " + statement, params)
    nodes = list(plan_nodes(explained[0][0][0]["Plan"]))
    return [
        node
        for node in nodes
        if node.get("Relation Name") == table
        or (
            node.get("Node Type") == "Bitmap Index Scan"
            and node.get("Index Name", "").startswith(("idx_daily", "analytics_daily"))
        )
    ]


@pytest.mark.parametrize("table", QUERIES)
def test_the_api_queries_use_the_daily_indexes(sized: psycopg.Connection, table: str) -> None:
    alice = owner_token("alice")
    scans = scans_of(sized, alice, QUERIES[table], {"user_code": "u1", **RANGE}, table)
    types = {node["Node Type"] for node in scans}
    assert "Seq Scan" not in types, scans
    assert types & {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}, scans


@pytest.mark.parametrize("table", QUERIES)
def test_the_policy_alone_uses_an_index(sized: psycopg.Connection, table: str) -> None:
    """No user_code in the query: only the policy's ownership subquery narrows the rows."""
    alice = owner_token("alice")
    statement = sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)).as_bytes(sized)
    scans = scans_of(sized, alice, statement, None, table)
    types = {node["Node Type"] for node in scans}
    assert "Seq Scan" not in types, scans
    assert types & {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}, scans
