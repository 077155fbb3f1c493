"""`clik env`: the settings `clik dev` gives its processes, as `export` lines for another shell.

    eval "$(clik env)"
    dagster asset materialize -m clik_pipeline.definitions --select analytics_daily_user_stats --partition 2026-11-01

`clik dev` and `clik env` compute them here, in one way: the analytics database as its schema
owner (CLIK_DATABASE_URL, else the embedded server), the Dagster instance's database beside it
(CLIK_DAGSTER_DATABASE_URL, else `<analytics db>_dagster` on the same server, created when
missing), and DAGSTER_HOME under CLIK_HOME holding a copy of the packaged dagster.yaml (runs
printing INFO and above on the console, not every DEBUG event).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import click

from clik.errors import ClikError

# Appended to DAGSTER_HOME's copy of dagster.yaml: without a python_log_level Dagster's default
# console logger prints every event of every run at DEBUG (dagster/_loggers:
# default_system_loggers), and run workers write to the console of whatever started them. The
# event log still records every event; only the console and `context.log.debug` lines go.
CONSOLE_LOG_LEVEL = """
# clik dev / clik env: runs print INFO and above (the event log keeps every event).
python_logs:
  python_log_level: INFO
"""


@click.command()
def env() -> None:
    """Print the `export` lines that give another shell the settings `clik dev` gives its
    processes: CLIK_HOME, CLIK_DATABASE_URL (the schema owner), CLIK_DAGSTER_DATABASE_URL and
    DAGSTER_HOME, so that `dagster` commands there record their runs in the same instance.

    Works whether `clik dev` runs or not: like `clik db up`, it starts the embedded server when
    CLIK_DATABASE_URL is not set (`clik db stop` stops it), applies pending migrations, and
    creates the Dagster database and DAGSTER_HOME when missing. The exports alone go to stdout
    (`eval "$(clik env)"`); messages go to stderr. The components' own logins, whose passwords
    `clik dev` rotates at each start, are not printed.
    """
    from clik.cli.db import migrated_database

    url, _ = migrated_database()
    for name, value in DevEnvironment.prepare(url).variables().items():
        click.echo(f"export {name}={shlex.quote(value)}")


def packaged_file(name: str) -> Path:
    """A file shipped in the package clik.cli: in a checkout a symbolic link to the
    repository's own file (which this resolves to), in a wheel its copy."""
    return Path(str(files("clik.cli").joinpath(name))).resolve()


@dataclass(frozen=True)
class DevEnvironment:
    """Where `clik dev`'s processes keep their state and find their databases."""

    home: Path  # CLIK_HOME, absolute
    database_url: str  # the analytics database, as the schema owner
    dagster_database_url: str  # the Dagster instance's storage (postgresql+psycopg2://)
    partitions_start: str  # the first daily partition, CLIK_PARTITIONS_START

    @classmethod
    def prepare(cls, database_url: str) -> DevEnvironment:
        """The environment beside the (running, migrated) database at `database_url`, with
        the Dagster database and DAGSTER_HOME made ready."""
        from clik.settings import ClikSettings

        dagster_url = os.environ.get("CLIK_DAGSTER_DATABASE_URL") or _dagster_database(database_url)
        start = os.environ.get("CLIK_PARTITIONS_START") or _partitions_start(database_url)
        prepared = cls(ClikSettings().home.resolve(), database_url, dagster_url, start)
        prepared.dagster_home.mkdir(parents=True, exist_ok=True)
        instance = packaged_file("dagster.yaml").read_text(encoding="utf-8")
        if not re.search(r"^python_logs:", instance, re.MULTILINE):
            instance += CONSOLE_LOG_LEVEL
        (prepared.dagster_home / "dagster.yaml").write_text(instance, encoding="utf-8")
        return prepared

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    def variables(self) -> dict[str, str]:
        return {
            "CLIK_HOME": str(self.home),
            "CLIK_DATABASE_URL": self.database_url,
            "CLIK_DAGSTER_DATABASE_URL": self.dagster_database_url,
            "DAGSTER_HOME": str(self.dagster_home),
            "CLIK_PARTITIONS_START": self.partitions_start,
        }


def _partitions_start(url: str) -> str:
    """The first day the database needs a daily partition for: the day it was first migrated,
    or its earliest day of data if earlier (README, "Partition start")."""
    import psycopg

    from clik.queries import query

    with psycopg.connect(url, connect_timeout=10) as conn:
        row = conn.execute(query("select_partitions_start.sql")).fetchone()
    if row is None or row[0] is None:
        raise ClikError("the database has no applied migrations (run `clik db migrate`)")
    return row[0].isoformat()


def _dagster_database(url: str) -> str:
    """The URL of `<analytics db>_dagster` on the server of `url`, created unless it exists."""
    import psycopg

    from clik.database import create_database, database_name, sqlalchemy_url, with_database
    from clik.migrations import one_line

    name = f"{database_name(url)}_dagster"
    try:
        create_database(url, name)
    except psycopg.Error as error:
        raise ClikError(
            f"cannot create the Dagster database {name}: {one_line(error)} "
            "(or set CLIK_DAGSTER_DATABASE_URL to an existing one)"
        ) from error
    return sqlalchemy_url(with_database(url, name))
