"""The SQL the pipeline runs, one statement per file, read with importlib.resources: each
domain of clik_pipeline/defs keeps its own in its `sql/` folder, and what several domains run
lives in clik_pipeline/sql."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Any

import psycopg


class Queries:
    """The `sql/*.sql` files of one package."""

    def __init__(self, package: str) -> None:
        self.package = package

    def text(self, name: str) -> str:
        """The text of sql/<name>.sql."""
        return _read(self.package, name)

    def run(
        self, conn: psycopg.Connection, name: str, params: Mapping[str, Any] | None = None
    ) -> psycopg.Cursor:
        return conn.execute(self.text(name), params)

    def one(
        self, conn: psycopg.Connection, name: str, params: Mapping[str, Any] | None = None
    ) -> tuple[Any, ...]:
        """The single row sql/<name>.sql returns."""
        row = self.run(conn, name, params).fetchone()
        if row is None:
            raise RuntimeError(f"{name}.sql of {self.package} returned no row")
        return row

    def scalar(
        self, conn: psycopg.Connection, name: str, params: Mapping[str, Any] | None = None
    ) -> Any:
        """The single value sql/<name>.sql returns."""
        return self.one(conn, name, params)[0]


@cache
def _read(package: str, name: str) -> str:
    return (files(package) / "sql" / f"{name}.sql").read_text(encoding="utf-8")


shared_queries = Queries("clik_pipeline")
