"""`clik dev`."""

from __future__ import annotations

import click

from clik.errors import ClikError


@click.command()
def dev() -> None:
    """(being built)"""
    raise ClikError("clik dev is not built yet")
