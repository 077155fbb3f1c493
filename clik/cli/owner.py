"""`clik owner add | list | revoke`: dashboard owners and their API tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from clik.errors import ClikError

if TYPE_CHECKING:
    import psycopg


@click.group()
def owner() -> None:
    """Manage dashboard owners: who may read which user codes' stats through the owner API."""


@owner.command()
@click.argument("name")
@click.option(
    "--user-code",
    "user_codes",
    multiple=True,
    required=True,
    metavar="CODE",
    help="A user code the owner may read (repeat for several).",
)
@click.option(
    "--share",
    is_flag=True,
    help="Also give user codes another owner already holds (both then read them).",
)
def add(name: str, user_codes: tuple[str, ...], share: bool) -> None:
    """Create owner NAME and print its API token, once, as the last line of stdout.

    Only a hash of the token is stored: keep the token, it cannot be shown again. A user code
    another owner holds is refused unless --share is given.
    """
    from clik.owners import add_owner

    with _connection() as conn:
        created, token = add_owner(conn, name, user_codes, share=share)
    click.echo(
        f"owner {created.name!r} ({created.owner_id}) may read: {', '.join(created.user_codes)}",
        err=True,
    )
    click.echo(
        "its API token follows; it is shown only this once (send it as "
        "'Authorization: Bearer <token>')",
        err=True,
    )
    click.echo(token)


@owner.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per owner.")
def list_(as_json: bool) -> None:
    """List owners, their user codes and whether their token is revoked."""
    from clik.owners import list_owners

    with _connection() as conn:
        owners = list_owners(conn)
    if as_json:
        for entry in owners:
            click.echo(
                json.dumps(
                    {
                        "owner_id": str(entry.owner_id),
                        "name": entry.name,
                        "created_at": entry.created_at.isoformat(),
                        "revoked_at": entry.revoked_at.isoformat() if entry.revoked_at else None,
                        "user_codes": entry.user_codes,
                    }
                )
            )
        return
    if not owners:
        click.echo(
            "no owners yet: create one with `clik owner add NAME --user-code CODE`", err=True
        )
        return
    rows = [
        (
            entry.name,
            str(entry.owner_id),
            f"{entry.created_at:%Y-%m-%d %H:%M}",
            f"revoked {entry.revoked_at:%Y-%m-%d %H:%M}" if entry.revoked_at else "active",
            ", ".join(entry.user_codes) or "-",
        )
        for entry in owners
    ]
    header = ("NAME", "OWNER ID", "CREATED (UTC)", "TOKEN", "USER CODES")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]))


@owner.command()
@click.argument("owner_name_or_id", metavar="NAME_OR_ID")
def revoke(owner_name_or_id: str) -> None:
    """Revoke an owner's token at once and remove its user codes (the name stays taken)."""
    from clik.owners import revoke_owner

    with _connection() as conn:
        revoked = revoke_owner(conn, owner_name_or_id)
    click.echo(
        f"owner {revoked.name!r} ({revoked.owner_id}) revoked; it no longer reads "
        + (", ".join(revoked.user_codes) or "any user code"),
        err=True,
    )


@contextmanager
def _connection() -> Iterator[psycopg.Connection]:
    import psycopg

    from clik.database import database_url, describe
    from clik.migrations import one_line

    url = database_url()
    try:
        conn = psycopg.connect(url, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise ClikError(f"cannot reach PostgreSQL at {describe(url)}: {one_line(error)}") from error
    try:
        with conn:
            yield conn
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction) as error:
        raise ClikError(
            f"the database is not migrated ({one_line(error)}): run `clik db migrate`"
        ) from error
    except psycopg.errors.InvalidParameterValue as error:
        raise ClikError(
            f"the database has no owner roles ({one_line(error)}): run `clik db migrate`"
        ) from error
