"""`clik owner ...`."""

from __future__ import annotations

import click


@click.group()
def owner() -> None:
    """(being built)"""
