"""The SQL the pipeline runs, one statement per file, read with importlib.resources."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def query(name: str) -> str:
    """The text of queries/<name>.sql."""
    return (files(__package__) / f"{name}.sql").read_text(encoding="utf-8")
