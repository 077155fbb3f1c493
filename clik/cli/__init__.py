"""The `clik` command line. Commands import what they need when they run, so `--help` stays
instant; every failure ends in one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import click

from clik.cli import db, dev, env, owner, serve, simulate
from clik.errors import ClikError


class ClikGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ClikError as error:
            raise click.ClickException(str(error)) from None
        except Exception as error:
            # A database failure nobody turned into a ClikError still gets one clean line.
            if type(error).__module__.startswith("psycopg"):
                from clik.migrations import one_line

                raise click.ClickException(f"database error: {one_line(error)}") from None
            raise


@click.group(cls=ClikGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """clik: analytics for digital business-card pages."""


for command in (db.db, serve.serve, dev.dev, env.env, simulate.simulate, owner.owner):
    main.add_command(command)
