"""Each component's own login (`clik db logins`, docs/contract.md 8): the components work under them, and
SQL running under one cannot leave its rights: no RESET ROLE back to the schema owner, no SET
ROLE to anything else, and the reader sees nothing of an owner without that owner's token."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from clik.logins import COMPONENTS, login_name, setting_name
from clik.owners import add_owner
from ingest_service.app import create_app
from ingest_service.settings import IngestSettings
from tests.ingest_service.conftest import INGEST, batch, page_view, running, session_event


@pytest.fixture
def logins(database_url: str, tmp_path: Path) -> dict[str, str]:
    """component -> URL, as `clik db logins` prints them."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CLIK_")}
    result = subprocess.run(
        [sys.executable, "-m", "clik", "db", "logins"],
        env=environment | {"CLIK_DATABASE_URL": database_url, "CLIK_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    exported = {}
    for line in result.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        exported[name] = shlex.split(value)[0]
    assert sorted(exported) == sorted(setting_name(component) for component in COMPONENTS)
    return {component: exported[setting_name(component)] for component in COMPONENTS}


def session_facts(url: str) -> tuple[str, bool, bool]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row is not None
    return row


def test_each_login_is_its_own_unprivileged_role(logins: dict[str, str]) -> None:
    for component, url in logins.items():
        assert session_facts(url) == (login_name(component), False, False)


@pytest.mark.parametrize("component", ["ingest", "reader", "pipeline"])
def test_no_login_can_reset_or_set_its_way_to_more_rights(
    logins: dict[str, str], component: str
) -> None:
    with psycopg.connect(logins[component], autocommit=True) as conn:
        conn.execute("RESET ROLE")
        assert conn.execute("SELECT current_user").fetchone() == (login_name(component),)
        for other in ("postgres", "clik_pipeline", "clik_ingest", "clik_owner_admin"):
            if other == COMPONENTS[component]:
                continue
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SET ROLE {other}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT token_hash FROM analytics_owners")


def test_the_reader_login_sees_an_owner_only_with_that_owners_token(
    logins: dict[str, str], conn: psycopg.Connection
) -> None:
    (alice, alice_token), (bob, _) = (
        add_owner(conn, "alice", ["a1"]),
        add_owner(conn, "bob", ["b1"]),
    )
    conn.execute(
        "INSERT INTO analytics_daily_user_stats (user_code, date, total_sessions,"
        " total_page_views, total_clicks, unique_share_codes)"
        " VALUES ('a1', '2026-11-01', 1, 1, 1, '{}'), ('b1', '2026-11-01', 2, 2, 2, '{}')"
    )
    everything = "SELECT user_code FROM analytics_daily_user_stats ORDER BY 1"
    with psycopg.connect(logins["reader"], autocommit=True) as reader:
        assert reader.execute(everything).fetchall() == []
        for owner in (alice, bob):  # naming an owner, for the session or the transaction
            reader.execute("SELECT set_config('clik.owner_id', %s, false)", [str(owner.owner_id)])
            assert reader.execute(everything).fetchall() == []
        reader.execute("RESET ROLE")
        assert reader.execute(everything).fetchall() == []
        with reader.transaction():
            reader.execute("SELECT set_config('clik.owner_token', %s, true)", [alice_token])
            assert reader.execute(everything).fetchall() == [("a1",)]
        assert reader.execute(everything).fetchall() == []  # the token ended with it


@pytest.mark.anyio
async def test_the_service_works_on_its_own_logins(
    logins: dict[str, str],
    make_settings: Callable[..., IngestSettings],
    conn: psycopg.Connection,
) -> None:
    _, token = add_owner(conn, "carol", ["myclik"])
    conn.execute(
        "INSERT INTO analytics_daily_user_stats (user_code, date, total_sessions,"
        " total_page_views, total_clicks, unique_share_codes)"
        " VALUES ('myclik', '2026-11-01', 3, 4, 5, '{}')"
    )
    settings = make_settings(
        ingest_database_url=logins["ingest"], reader_database_url=logins["reader"]
    )
    async with running(create_app(settings)) as client:
        answer = await client.post(INGEST, json=batch(session_event("s1"), page_view("s1")))
        assert answer.json()["accepted"] == 2
        stats = await client.get(
            "/api/analytics/stats/daily",
            params={"user_code": "myclik", "from": "2026-11-01", "to": "2026-11-01"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert [row["total_page_views"] for row in stats.json()["rows"]] == [4]
        pools = (client._transport.app.state.ingest_pool, client._transport.app.state.reader_pool)  # type: ignore[attr-defined]
        for pool, component in zip(pools, ("ingest", "reader"), strict=True):
            async with pool.connection() as pooled:
                row = await (await pooled.execute("SELECT session_user")).fetchone()
            assert row == (login_name(component),)
    assert conn.execute("SELECT count(*) FROM analytics_page_views").fetchone() == (1,)
