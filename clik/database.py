"""Where the database is, and small helpers around its URL."""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from clik.errors import ClikError
from clik.migrations import one_line
from clik.queries import query
from clik.settings import ClikSettings

DATABASE_EXISTS = query("select_database_exists.sql")


def database_url(settings: ClikSettings | None = None, *, start: bool = False) -> str:
    """CLIK_DATABASE_URL when set; otherwise the embedded server's URL, starting the server
    first when `start` is true."""
    from clik.embedded import EmbeddedServer  # which creates its databases with the function below

    settings = settings or ClikSettings()
    if settings.database_url:
        return settings.database_url
    server = EmbeddedServer(settings.pgdata)
    if start:
        return server.start()
    if server.is_running():
        return server.url()
    raise ClikError("no database: run `clik db up` first, or set CLIK_DATABASE_URL")


def check_reachable(url: str, timeout: int = 5) -> None:
    """Raises a one-line ClikError when PostgreSQL at `url` does not answer."""
    try:
        with psycopg.connect(url, connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        raise ClikError(f"cannot reach PostgreSQL at {describe(url)}: {one_line(error)}") from error


def create_database(url: str, name: str) -> None:
    """Creates the database `name` on the server of `url` (connected to through `url`'s own
    database) unless it exists already."""
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        if conn.execute(DATABASE_EXISTS, {"name": name}).fetchone() is not None:
            return
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # another process, just now
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_name(url: str) -> str:
    """The database a URL names (`clik` when it names none)."""
    return str(conninfo_to_dict(url).get("dbname") or "clik")


def describe(url: str) -> str:
    """host:port/database of a URL or conninfo string, without credentials."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(unparsable database URL)"
    host = info.get("host") or "localhost"
    port = info.get("port") or "5432"
    return f"{host}:{port}/{info.get('dbname', '')}"


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ClikError("database URLs must look like postgresql://user@host:port/database")
    return urlunsplit(parts._replace(path="/" + database))


def sqlalchemy_url(url: str) -> str:
    """The URL as dagster-postgres needs it: SQLAlchemy 2.1 would pick psycopg 3 for a plain
    postgresql:// URL, and Dagster's run storage fails on it, so name psycopg2."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg2"))
