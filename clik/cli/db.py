"""`clik db up | migrate | stop | logins`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from clik.embedded import EmbeddedServer


@click.group()
def db() -> None:
    """Manage the database (the embedded server unless CLIK_DATABASE_URL is set)."""


@db.command()
def up() -> None:
    """Make a migrated database available; print its URL as the last line."""
    url, _ = migrated_database()
    click.echo(url)


@db.command()
def migrate() -> None:
    """Apply pending migrations from sql/ (idempotent)."""
    migrated_database()


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


@db.command()
def logins() -> None:
    """Create each component's own login role (or give it a new password) and print the
    `export CLIK_<COMPONENT>_DATABASE_URL=...` lines that make the components use them.

    Run it as the schema owner (CLIK_DATABASE_URL, or the embedded server); the role needs
    CREATEROLE. Each login holds only its component's rights, so no component needs the schema
    owner at run time. Running it again rotates the passwords.
    """
    import shlex

    from clik.logins import create_logins, login_name, setting_name

    url, _ = migrated_database()
    for component, login_url in create_logins(url).items():
        click.echo(f"login {login_name(component)} ready", err=True)
        click.echo(f"export {setting_name(component)}={shlex.quote(login_url)}")


def migrated_database() -> tuple[str, EmbeddedServer | None]:
    """A migrated database (CLIK_DATABASE_URL, else the embedded server, started if needed):
    its URL, and the embedded server when this call started it (None when CLIK_DATABASE_URL
    is set or the server was running already). Messages go to stderr."""
    from clik.database import check_reachable, describe
    from clik.embedded import EmbeddedServer
    from clik.migrations import migrate as apply_migrations
    from clik.settings import ClikSettings

    settings = ClikSettings()
    started = None
    if settings.database_url:
        url = settings.database_url
        check_reachable(url)
        click.echo(f"using CLIK_DATABASE_URL ({describe(url)})", err=True)
    else:
        server = EmbeddedServer(settings.pgdata)
        started = None if server.is_running() else server
        url = server.start()
        click.echo(f"embedded PostgreSQL running (data in {settings.pgdata})", err=True)
    applied = apply_migrations(url)
    click.echo(
        f"migrations: {len(applied)} applied"
        + (f" ({', '.join(applied)})" if applied else ", schema up to date"),
        err=True,
    )
    return url, started
