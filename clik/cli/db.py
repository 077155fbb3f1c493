"""`clik db up | migrate | stop`."""

from __future__ import annotations

import click


@click.group()
def db() -> None:
    """Manage the database (the embedded server unless CLIK_DATABASE_URL is set)."""


@db.command()
def up() -> None:
    """Make a migrated database available; print its URL as the last line."""
    url = _migrated_database()
    click.echo(url)


@db.command()
def migrate() -> None:
    """Apply pending migrations from sql/ (idempotent)."""
    _migrated_database()


@db.command()
def stop() -> None:
    """Stop the embedded PostgreSQL server."""
    from clik.embedded import EmbeddedServer
    from clik.settings import ClikSettings

    server = EmbeddedServer(ClikSettings().pgdata)
    if server.stop():
        click.echo(f"embedded PostgreSQL stopped ({server.pgdata})", err=True)
    else:
        click.echo(f"embedded PostgreSQL was not running ({server.pgdata})", err=True)


def _migrated_database() -> str:
    from clik.database import check_reachable, database_url, describe
    from clik.migrations import migrate as apply_migrations
    from clik.settings import ClikSettings

    settings = ClikSettings()
    url = database_url(settings, start=True)
    if settings.database_url:
        check_reachable(url)
        click.echo(f"using CLIK_DATABASE_URL ({describe(url)})", err=True)
    else:
        click.echo(f"embedded PostgreSQL running (data in {settings.pgdata})", err=True)
    applied = apply_migrations(url)
    click.echo(
        f"migrations: {len(applied)} applied"
        + (f" ({', '.join(applied)})" if applied else ", schema up to date"),
        err=True,
    )
    return url
