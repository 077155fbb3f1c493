"""The SQL the pipeline runs, one statement per file, read with importlib.resources."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Any

import psycopg


@cache
def query(name: str) -> str:
    """The text of queries/<name>.sql."""
    return (files(__package__) / f"{name}.sql").read_text(encoding="utf-8")


def scalar(conn: psycopg.Connection, name: str, params: Mapping[str, Any] | None = None) -> Any:
    """The single value queries/<name>.sql returns."""
    row = conn.execute(query(name), params).fetchone()
    if row is None:
        raise RuntimeError(f"{name}.sql returned no row")
    return row[0]
