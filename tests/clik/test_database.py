"""clik.database.create_database: creates a database once; an existing one is left alone
without any attempt to create it (a standby, read-only, has the primary's databases)."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from clik.database import create_database, database_name
from tests.conftest import drop_database


def read_only(url: str) -> str:
    return make_conninfo(url, options="-c default_transaction_read_only=on")


def test_an_existing_database_is_not_created_again(server_url: str, database_url: str) -> None:
    existing = database_name(database_url)
    create_database(read_only(server_url), existing)  # would fail if it tried CREATE DATABASE
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        create_database(read_only(server_url), f"clik_never_{uuid.uuid4().hex[:8]}")


def test_a_missing_database_is_created_once(server_url: str) -> None:
    name = f"clik_created_{uuid.uuid4().hex[:8]}"
    try:
        create_database(server_url, name)
        create_database(server_url, name)
        with psycopg.connect(make_conninfo(server_url, dbname=name)) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (name,)
    finally:
        drop_database(server_url, name)
