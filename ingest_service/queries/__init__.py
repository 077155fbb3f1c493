"""The SQL the ingest service runs, one statement per file (package data)."""

from __future__ import annotations

from clik.queries import read


def query(name: str) -> bytes:
    """One of the service's statements, e.g. `query("write_group.sql")`."""
    return read(__name__, name)
