"""`clik simulate`."""

from __future__ import annotations

import click

from clik.errors import ClikError


@click.command()
def simulate() -> None:
    """(being built)"""
    raise ClikError("clik simulate is not built yet")
