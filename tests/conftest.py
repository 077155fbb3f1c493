"""Test databases: real PostgreSQL only.

By default the tests start their own embedded server (one per pytest process, in a temporary
directory, not durable, stopped at the end). With CLIK_TEST_DATABASE_URL set they use that
server instead, e.g. the machine's PostgreSQL 15:

    CLIK_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres pytest

A template database is migrated once per run; each test that asks for `database_url` gets a
fresh copy of it (CREATE DATABASE ... TEMPLATE), dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from clik.database import with_database
from clik.embedded import EmbeddedServer
from clik.migrations import migrate


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a maintenance database on the PostgreSQL server the tests use."""
    external = os.environ.get("CLIK_TEST_DATABASE_URL")
    if external:
        yield external
        return
    server = EmbeddedServer(tmp_path_factory.mktemp("embedded") / "pgdata", durable=False)
    server.start()
    try:
        yield server.url("postgres")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def template_database(server_url: str) -> Iterator[str]:
    """Name of a database migrated once for this run, copied by `database_url`."""
    name = f"clik_template_{uuid.uuid4().hex[:10]}"
    create_database(server_url, name)
    migrate(with_database(server_url, name))
    try:
        yield name
    finally:
        drop_database(server_url, name)


@pytest.fixture
def database_url(server_url: str, template_database: str) -> Iterator[str]:
    """URL (as the schema owner) of a fresh, fully migrated database for one test."""
    name = f"clik_test_{uuid.uuid4().hex[:10]}"
    create_database(server_url, name, template=template_database)
    try:
        yield with_database(server_url, name)
    finally:
        drop_database(server_url, name)


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """URL of a fresh database with no schema at all."""
    name = f"clik_empty_{uuid.uuid4().hex[:10]}"
    create_database(server_url, name)
    try:
        yield with_database(server_url, name)
    finally:
        drop_database(server_url, name)


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the fresh database, as the schema owner."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def create_database(server_url: str, name: str, template: str | None = None) -> None:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(statement)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
