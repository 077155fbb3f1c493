"""Owners and tokens: clik/owners.py and `clik owner add | list | revoke`."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from click.testing import CliRunner

from clik.cli import main
from clik.errors import ClikError
from clik.owners import (
    TOKEN_PATTERN,
    add_owner,
    hash_token,
    list_owners,
    new_token,
    revoke_owner,
    token_matches,
    token_owner,
)

# --- tokens ---------------------------------------------------------------------------------


def test_a_token_names_its_owner_and_carries_256_random_bits() -> None:
    owner = uuid.uuid4()
    token = new_token(owner)
    assert TOKEN_PATTERN.fullmatch(token)
    assert token_owner(token) == owner
    assert new_token(owner) != token


@pytest.mark.parametrize(
    "text",
    [
        "",
        "clik_",
        "clik_" + "0" * 32,
        "clik_" + "0" * 32 + "_" + "a" * 42,
        "clik_" + "0" * 32 + "_" + "a" * 44,
        "clik_" + "G" * 32 + "_" + "a" * 43,
        "CLIK_" + "0" * 32 + "_" + "a" * 43,
        "clik_" + "0" * 32 + "_" + "a" * 42 + "=",
        "clik_" + "0" * 32 + "_" + "a" * 43 + "\n",
        " clik_" + "0" * 32 + "_" + "a" * 43,
    ],
)
def test_anything_but_a_well_formed_token_names_no_owner(text: str) -> None:
    assert token_owner(text) is None


def test_tokens_are_compared_by_hash() -> None:
    token = new_token(uuid.uuid4())
    assert len(hash_token(token)) == 64
    assert token_matches(token, hash_token(token))
    assert not token_matches(token, hash_token(token + "x"))
    assert not token_matches(token, None)


# --- the module against the database --------------------------------------------------------


def test_add_list_and_revoke(conn: psycopg.Connection) -> None:
    alice, token = add_owner(conn, "alice", ["a1", "a2", "a1"])
    assert alice.user_codes == ["a1", "a2"]
    assert token_owner(token) == alice.owner_id
    stored = conn.execute(
        "SELECT token_hash FROM analytics_owners WHERE owner_id = %s", [alice.owner_id]
    ).fetchone()
    assert stored == (hash_token(token),)

    add_owner(conn, "bob", ["b1"])
    listed = list_owners(conn)
    assert [(o.name, o.user_codes, o.revoked_at) for o in listed] == [
        ("alice", ["a1", "a2"], None),
        ("bob", ["b1"], None),
    ]

    revoked = revoke_owner(conn, str(alice.owner_id))
    assert revoked.revoked_at is not None
    assert revoked.user_codes == ["a1", "a2"]
    assert [(o.name, o.user_codes) for o in list_owners(conn)] == [("alice", []), ("bob", ["b1"])]
    assert conn.execute("SELECT count(*) FROM user_code_owners").fetchone() == (1,)


@pytest.mark.parametrize(
    ("name", "user_codes", "message"),
    [
        ("", ["a1"], "owner name must be"),
        (" alice", ["a1"], "owner name must be"),
        ("x" * 201, ["a1"], "owner name must be"),
        ("alice", [], "give at least one --user-code"),
        ("alice", [""], "must be 1 to 64 characters"),
        ("alice", ["x" * 65], "must be 1 to 64 characters"),
    ],
)
def test_bad_owners_are_refused_and_nothing_is_stored(
    conn: psycopg.Connection, name: str, user_codes: list[str], message: str
) -> None:
    with pytest.raises(ClikError, match=message):
        add_owner(conn, name, user_codes)
    assert conn.execute("SELECT count(*) FROM analytics_owners").fetchone() == (0,)


def test_owner_names_are_unique_and_a_refused_add_changes_nothing(conn: psycopg.Connection) -> None:
    add_owner(conn, "alice", ["a1"])
    with pytest.raises(ClikError, match="an owner named 'alice' already exists"):
        add_owner(conn, "alice", ["a9"])
    assert conn.execute("SELECT user_code FROM user_code_owners").fetchall() == [("a1",)]


def test_a_user_code_another_owner_holds_is_shared_only_when_asked(
    conn: psycopg.Connection, cli: CliRunner
) -> None:
    add_owner(conn, "alice", ["a1"])
    with pytest.raises(ClikError, match="'a1' already belongs to owner 'alice'; pass --share"):
        add_owner(conn, "bob", ["b1", "a1"])
    assert conn.execute("SELECT name FROM analytics_owners").fetchall() == [("alice",)]
    shared = cli.invoke(main, ["owner", "add", "bob", "--user-code", "a1", "--share"])
    assert shared.exit_code == 0, shared.output
    holders = conn.execute(
        "SELECT a.name FROM user_code_owners o JOIN analytics_owners a USING (owner_id)"
        " WHERE o.user_code = 'a1' ORDER BY 1"
    ).fetchall()
    assert holders == [("alice",), ("bob",)]


def test_revoking_twice_or_nobody_says_so(conn: psycopg.Connection) -> None:
    add_owner(conn, "alice", ["a1"])
    revoke_owner(conn, "alice")
    with pytest.raises(ClikError, match="already revoked"):
        revoke_owner(conn, "alice")
    with pytest.raises(ClikError, match="no owner named 'nobody'"):
        revoke_owner(conn, "nobody")


def test_owner_admin_role_manages_owners_and_reads_no_stats(conn: psycopg.Connection) -> None:
    add_owner(conn, "alice", ["a1"])
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL ROLE clik_owner_admin")
        assert conn.execute("SELECT count(*) FROM analytics_owners").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM analytics_daily_user_stats")


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CLIK_DATABASE_URL", database_url)
    return CliRunner()


def test_owner_add_prints_the_token_alone_on_the_last_line(
    cli: CliRunner, conn: psycopg.Connection
) -> None:
    result = cli.invoke(main, ["owner", "add", "alice", "--user-code", "a1", "--user-code", "a2"])
    assert result.exit_code == 0, result.output
    token = result.stdout.splitlines()[-1]
    assert result.stdout == token + "\n"
    assert TOKEN_PATTERN.fullmatch(token)
    assert "shown only this once" in result.stderr
    stored = conn.execute("SELECT token_hash FROM analytics_owners").fetchall()
    assert stored == [(hash_token(token),)]


def test_owner_list_and_revoke(cli: CliRunner) -> None:
    cli.invoke(main, ["owner", "add", "alice", "--user-code", "a1"])
    listed = cli.invoke(main, ["owner", "list"])
    assert listed.exit_code == 0
    assert "alice" in listed.stdout and "active" in listed.stdout and "a1" in listed.stdout

    revoked = cli.invoke(main, ["owner", "revoke", "alice"])
    assert revoked.exit_code == 0
    assert "revoked" in revoked.stderr
    as_json = cli.invoke(main, ["owner", "list", "--json"])
    entry = json.loads(as_json.stdout)
    assert entry["name"] == "alice" and entry["revoked_at"] and entry["user_codes"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["owner", "add", "alice", "--user-code", "a1"], "an owner named 'alice' already exists"),
        (["owner", "add", "bob", "--user-code", "x" * 65], "must be 1 to 64 characters"),
        (["owner", "revoke", "nobody"], "no owner named 'nobody'"),
        (
            ["owner", "add", "bob", "--user-code", "a1"],
            "user code 'a1' already belongs to owner 'alice'",
        ),
    ],
)
def test_failures_are_one_line_and_non_zero(cli: CliRunner, args: list[str], message: str) -> None:
    cli.invoke(main, ["owner", "add", "alice", "--user-code", "a1"])
    result = cli.invoke(main, args)
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_an_unreachable_database_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIK_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(main, ["owner", "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot reach PostgreSQL")
    assert result.stderr.strip().count("\n") == 0


def test_an_unmigrated_database_says_to_migrate(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLIK_DATABASE_URL", empty_database_url)
    result = CliRunner().invoke(main, ["owner", "list"])
    assert result.exit_code == 1
    assert "clik db migrate" in result.stderr
