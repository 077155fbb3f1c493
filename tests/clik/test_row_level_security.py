"""The row-level-security matrix: each role x each table x SELECT/INSERT/UPDATE/DELETE.

Every case runs in a transaction that is rolled back, on one database holding a row in every
table. "allowed" means the statement runs and reaches at least one row (so a policy does not
silently hide everything); "denied" means PostgreSQL refuses it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from clik.database import with_database
from clik.owners import hash_token
from tests.conftest import create_database, drop_database

OWNER_A = uuid.UUID("00000000-0000-0000-0000-00000000000a")
OWNER_B = uuid.UUID("00000000-0000-0000-0000-00000000000b")
# The policies find the owner from the token set for the transaction (sql/0050).
TOKENS = {OWNER_A: "clik-test-token-a", OWNER_B: "clik-test-token-b"}

ROLES = ("clik_ingest", "clik_pipeline", "clik_reader")

# table -> statement per operation. Each reads or writes something every allowed role may.
STATEMENTS: dict[str, dict[str, str]] = {
    "analytics_sessions": {
        "SELECT": "SELECT session_id FROM analytics_sessions",
        "INSERT": "INSERT INTO analytics_sessions (session_id, user_code, first_seen, last_seen) "
        "VALUES ('new', 'u1', now(), now())",
        "UPDATE": "UPDATE analytics_sessions SET last_seen = last_seen",
        "DELETE": "DELETE FROM analytics_sessions",
    },
    "analytics_page_views": {
        "SELECT": "SELECT id, viewed_at FROM analytics_page_views",
        "INSERT": "INSERT INTO analytics_page_views (id, session_id, user_code, page_type, "
        "viewed_at) VALUES (gen_random_uuid(), 's1', 'u1', 'home', now())",
        "UPDATE": "UPDATE analytics_page_views SET page_type = page_type",
        "DELETE": "DELETE FROM analytics_page_views",
    },
    "analytics_clicks": {
        "SELECT": "SELECT id, clicked_at FROM analytics_clicks",
        "INSERT": "INSERT INTO analytics_clicks (id, session_id, user_code, click_target, "
        "clicked_at) VALUES (gen_random_uuid(), 's1', 'u1', 'phone', now())",
        "UPDATE": "UPDATE analytics_clicks SET click_target = click_target",
        "DELETE": "DELETE FROM analytics_clicks",
    },
    "analytics_daily_user_stats": {
        "SELECT": "SELECT user_code FROM analytics_daily_user_stats",
        "INSERT": "INSERT INTO analytics_daily_user_stats (user_code, date) VALUES ('u1', '2000-01-01')",
        "UPDATE": "UPDATE analytics_daily_user_stats SET total_clicks = total_clicks",
        "DELETE": "DELETE FROM analytics_daily_user_stats",
    },
    "analytics_daily_group_stats": {
        "SELECT": "SELECT user_code FROM analytics_daily_group_stats",
        "INSERT": "INSERT INTO analytics_daily_group_stats (user_code, date) VALUES ('u1', '2000-01-01')",
        "UPDATE": "UPDATE analytics_daily_group_stats SET total_clicks = total_clicks",
        "DELETE": "DELETE FROM analytics_daily_group_stats",
    },
    "analytics_daily_click_targets": {
        "SELECT": "SELECT user_code FROM analytics_daily_click_targets",
        "INSERT": "INSERT INTO analytics_daily_click_targets (user_code, date, click_target) "
        "VALUES ('u1', '2000-01-01', 'phone')",
        "UPDATE": "UPDATE analytics_daily_click_targets SET click_count = click_count",
        "DELETE": "DELETE FROM analytics_daily_click_targets",
    },
    "analytics_daily_page_stats": {
        "SELECT": "SELECT user_code FROM analytics_daily_page_stats",
        "INSERT": "INSERT INTO analytics_daily_page_stats (user_code, date, page_type) "
        "VALUES ('u1', '2000-01-01', 'home')",
        "UPDATE": "UPDATE analytics_daily_page_stats SET view_count = view_count",
        "DELETE": "DELETE FROM analytics_daily_page_stats",
    },
    "analytics_events": {
        "SELECT": "SELECT id FROM analytics_events",
        "INSERT": "INSERT INTO analytics_events (event_type) VALUES ('view')",
        "UPDATE": "UPDATE analytics_events SET event_type = event_type",
        "DELETE": "DELETE FROM analytics_events",
    },
    "analytics_events_archive": {
        "SELECT": "SELECT id FROM analytics_events_archive",
        "INSERT": "INSERT INTO analytics_events_archive (id, event_type, event_data, created_at) "
        "VALUES (gen_random_uuid(), 'view', '{}', now())",
        "UPDATE": "UPDATE analytics_events_archive SET event_type = event_type",
        "DELETE": "DELETE FROM analytics_events_archive",
    },
    "analytics_owners": {
        "SELECT": "SELECT owner_id FROM analytics_owners",
        "INSERT": "INSERT INTO analytics_owners (name, token_hash) VALUES ('x', 'x')",
        "UPDATE": "UPDATE analytics_owners SET revoked_at = revoked_at",
        "DELETE": "DELETE FROM analytics_owners",
    },
    "user_code_owners": {
        "SELECT": "SELECT user_code FROM user_code_owners",
        "INSERT": f"INSERT INTO user_code_owners (owner_id, user_code) VALUES ('{OWNER_A}', 'u9')",
        "UPDATE": "UPDATE user_code_owners SET user_code = user_code",
        "DELETE": "DELETE FROM user_code_owners",
    },
}

DAILY = (
    "analytics_daily_user_stats",
    "analytics_daily_group_stats",
    "analytics_daily_click_targets",
    "analytics_daily_page_stats",
)
RAW = ("analytics_sessions", "analytics_page_views", "analytics_clicks")

ALLOWED: dict[str, dict[str, set[str]]] = {
    "clik_ingest": {
        "analytics_sessions": {"SELECT", "INSERT", "UPDATE"},
        "analytics_page_views": {"SELECT", "INSERT"},
        "analytics_clicks": {"SELECT", "INSERT"},
    },
    "clik_pipeline": {
        **{table: {"SELECT"} for table in RAW},
        **{table: {"SELECT", "INSERT", "DELETE"} for table in DAILY},
    },
    "clik_reader": {
        **{table: {"SELECT"} for table in DAILY},
        "user_code_owners": {"SELECT"},
    },
}

SEED_ROWS = [
    "INSERT INTO analytics_owners (owner_id, name, token_hash) "
    "VALUES (%(a)s, 'owner a', %(hash_a)s), (%(b)s, 'owner b', %(hash_b)s)",
    "INSERT INTO user_code_owners VALUES (%(a)s, 'u1'), (%(a)s, 'u2'), (%(b)s, 'u3')",
    "INSERT INTO analytics_page_views (id, session_id, user_code, page_type, viewed_at) "
    "VALUES (gen_random_uuid(), 's1', 'u1', 'home', now())",
    "INSERT INTO analytics_clicks (id, session_id, user_code, click_target, clicked_at) "
    "VALUES (gen_random_uuid(), 's1', 'u1', 'phone', now())",
    "INSERT INTO analytics_events (event_type, event_data) VALUES ('view', '{}')",
    "INSERT INTO analytics_events_archive (id, event_type, event_data, created_at) "
    "VALUES (gen_random_uuid(), 'view', '{}', now())",
]
SEED_DAILY_ROWS = [
    "INSERT INTO analytics_daily_user_stats (user_code, date) VALUES (%(u)s, '2026-11-01')",
    "INSERT INTO analytics_daily_group_stats (user_code, date) VALUES (%(u)s, '2026-11-01')",
    "INSERT INTO analytics_daily_click_targets (user_code, date, click_target) "
    "VALUES (%(u)s, '2026-11-01', 'phone')",
    "INSERT INTO analytics_daily_page_stats (user_code, date, page_type) "
    "VALUES (%(u)s, '2026-11-01', 'home')",
]

CASES = [
    (role, table, operation)
    for role in ROLES
    for table in STATEMENTS
    for operation in ("SELECT", "INSERT", "UPDATE", "DELETE")
]


@pytest.fixture(scope="module")
def matrix_url(server_url: str, template_database: str) -> Iterator[str]:
    """One database for the whole matrix (cases roll back), with a row in every table."""
    name = f"clik_rls_{uuid.uuid4().hex[:10]}"
    create_database(server_url, name, template=template_database)
    url = with_database(server_url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in SEED_ROWS:
            conn.execute(
                statement,
                {"a": OWNER_A, "b": OWNER_B}
                | {f"hash_{n}": hash_token(TOKENS[o]) for n, o in (("a", OWNER_A), ("b", OWNER_B))},
            )
        for user_code in ("u1", "u2", "u3"):
            for statement in SEED_DAILY_ROWS:
                conn.execute(statement, {"u": user_code})
    try:
        yield url
    finally:
        drop_database(server_url, name)


@pytest.fixture(scope="module")
def matrix_conn(matrix_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(matrix_url, autocommit=True) as conn:
        yield conn


def run_as(
    conn: psycopg.Connection, role: str, statement: str, owner: uuid.UUID | None = OWNER_A
) -> tuple[int, list]:
    """Runs statement as role (with `owner`'s token set for the transaction; an owner without
    one sets a token nobody holds); rolls everything back. Returns the rows affected or seen,
    and the rows a SELECT returned."""
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        if owner is not None:
            token = TOKENS.get(owner, "clik-nobodys-token")
            conn.execute("SELECT set_config('clik.owner_token', %s, true)", [token])
        cursor = conn.execute(statement)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.rowcount, rows


@pytest.mark.parametrize(
    ("role", "table", "operation"), CASES, ids=[f"{r}-{t}-{o}" for r, t, o in CASES]
)
def test_matrix(matrix_conn: psycopg.Connection, role: str, table: str, operation: str) -> None:
    statement = STATEMENTS[table][operation]
    if operation in ALLOWED.get(role, {}).get(table, set()):
        affected, _ = run_as(matrix_conn, role, statement)
        assert affected >= 1, f"{role} may {operation} {table} but reached no row"
    else:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            run_as(matrix_conn, role, statement)


def test_rls_is_enabled_and_forced_on_every_table(matrix_conn: psycopg.Connection) -> None:
    flags = dict(
        matrix_conn.execute(
            "SELECT relname, (relrowsecurity AND relforcerowsecurity) FROM pg_class "
            "WHERE relname = ANY(%s)",
            [list(STATEMENTS)],
        ).fetchall()
    )
    assert flags == dict.fromkeys(STATEMENTS, True)


@pytest.mark.parametrize("table", DAILY)
def test_owners_see_only_their_own_user_codes(matrix_conn: psycopg.Connection, table: str) -> None:
    statement = f"SELECT DISTINCT user_code FROM {table} ORDER BY 1"
    assert run_as(matrix_conn, "clik_reader", statement, OWNER_A)[1] == [("u1",), ("u2",)]
    assert run_as(matrix_conn, "clik_reader", statement, OWNER_B)[1] == [("u3",)]
    assert run_as(matrix_conn, "clik_reader", statement, owner=None)[1] == []
    unknown = uuid.UUID(int=42)
    assert run_as(matrix_conn, "clik_reader", statement, unknown)[1] == []


def test_owner_setting_does_not_survive_its_transaction(matrix_conn: psycopg.Connection) -> None:
    run_as(matrix_conn, "clik_reader", "SELECT 1", OWNER_A)
    statement = "SELECT count(*) FROM analytics_daily_user_stats"
    assert run_as(matrix_conn, "clik_reader", statement, owner=None)[1] == [(0,)]


def test_reader_sees_only_its_own_ownership_rows(matrix_conn: psycopg.Connection) -> None:
    rows = run_as(
        matrix_conn,
        "clik_reader",
        "SELECT owner_id, user_code FROM user_code_owners ORDER BY 2",
        OWNER_B,
    )[1]
    assert rows == [(OWNER_B, "u3")]


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("analytics_page_views", "page_type"),
        ("analytics_page_views", "received_at"),
        ("analytics_clicks", "click_target"),
        ("analytics_sessions", "page_views"),
    ],
)
def test_ingest_reads_only_what_duplicate_checks_and_upserts_need(
    matrix_conn: psycopg.Connection, table: str, column: str
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run_as(matrix_conn, "clik_ingest", f"SELECT {column} FROM {table}")


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO analytics_page_views (id, session_id, user_code, page_type, viewed_at, "
        "received_at) VALUES (gen_random_uuid(), 's1', 'u1', 'home', now(), '2000-01-01')",
        "INSERT INTO analytics_sessions (session_id, user_code, first_seen, last_seen, page_views) "
        "VALUES ('x', 'u1', now(), now(), 5)",
        "UPDATE analytics_sessions SET clicks = 0",
    ],
)
def test_ingest_cannot_write_server_owned_columns(
    matrix_conn: psycopg.Connection, statement: str
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run_as(matrix_conn, "clik_ingest", statement)
