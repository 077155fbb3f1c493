"""Each component's own login (docs/contract.md 8): a LOGIN role per component that holds only its group
role's rights (sql/0001), so that nothing connects as the schema owner at run time and a bug
in one component cannot `RESET ROLE` or `SET ROLE` its way past its rights.

`create_logins` makes them on an existing server (or gives them new passwords) and returns
the URLs, as the `CLIK_*_DATABASE_URL` settings take them. Roles belong to the whole server,
so every database of one server shares these logins.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from clik.errors import ClikError
from clik.migrations import one_line
from clik.queries import query

ROLE_EXISTS = query("select_role_exists.sql")

# setting prefix (CLIK_<PREFIX>_DATABASE_URL) -> the group role its login is a member of
COMPONENTS = {
    "ingest": "clik_ingest",
    "pipeline": "clik_pipeline",
    "reader": "clik_reader",
    "legacy_migrator": "clik_legacy_migrator",
}


def login_name(component: str) -> str:
    return f"{COMPONENTS[component]}_login"


def setting_name(component: str) -> str:
    return f"CLIK_{component.upper()}_DATABASE_URL"


def create_logins(owner_url: str) -> dict[str, str]:
    """Creates each component's login, or sets a new password where it exists; returns
    component -> URL (the owner's URL with the login's name and password)."""
    urls = {}
    try:
        with psycopg.connect(owner_url, autocommit=True, connect_timeout=10) as conn:
            for component, group in COMPONENTS.items():
                name, password = login_name(component), secrets.token_urlsafe(24)
                _create_or_alter(conn, name, password)
                conn.execute(
                    sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(name))
                )
                urls[component] = with_login(owner_url, name, password)
    except psycopg.Error as error:
        raise ClikError(f"cannot create the component logins: {one_line(error)}") from error
    return urls


def _create_or_alter(conn: psycopg.Connection, name: str, password: str) -> None:
    # INHERIT: the login has its group role's rights without SET ROLE, and no other rights.
    create = sql.SQL("CREATE ROLE {} LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE "
                     "PASSWORD {}").format(sql.Identifier(name), sql.Literal(password))  # fmt: skip
    alter = sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
        sql.Identifier(name), sql.Literal(password)
    )
    if conn.execute(ROLE_EXISTS, {"name": name}).fetchone() is not None:
        conn.execute(alter)
        return
    try:
        conn.execute(create)
    except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
        conn.execute(alter)  # another process created it a moment ago


def with_login(url: str, user: str, password: str) -> str:
    """The same server and database, as another user."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user)}:{quote(password, safe='')}@{host}"))
