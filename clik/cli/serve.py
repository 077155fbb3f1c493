"""`clik serve`."""

from __future__ import annotations

import click

from clik.errors import ClikError


@click.command()
def serve() -> None:
    """(being built)"""
    raise ClikError("clik serve is not built yet")
