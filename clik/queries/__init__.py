"""The SQL that `clik` runs, one statement per file, read from the installed package (wheel or
checkout alike) with importlib.resources; `read` serves the other packages' query folders too."""

from __future__ import annotations

from importlib.resources import files


def read(package: str, name: str) -> bytes:
    """The file `name` of the package `package` (its .sql files are package data)."""
    return files(package).joinpath(name).read_bytes()


def query(name: str) -> bytes:
    """One of clik's own statements, e.g. `query("add_owner.sql")`."""
    return read(__name__, name)
