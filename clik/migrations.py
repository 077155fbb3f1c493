"""Schema migrations: numbered plain SQL files in `sql/`, applied in order, each in its own
transaction, recorded in `schema_migrations` with a checksum of the file. `sql/` is installed as
the package `clik_sql` (setup.py), so a wheel carries it: it is read with importlib.resources.

An applied migration is never edited: a changed checksum stops `migrate` with a clear message.
Concurrent runs against one database wait for each other on an advisory lock, so the second
finds nothing left to do.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files
from importlib.resources.abc import Traversable

import psycopg

from clik.errors import ClikError
from clik.queries import query

MIGRATIONS: Traversable = files("clik_sql")  # the repository's sql/, wherever it is installed
FILE_NAME = re.compile(r"^(?P<version>\d{4})_[a-z0-9]+(?:_[a-z0-9]+)*\.sql$")
LOCK_KEY = 0x636C696B  # "clik": advisory lock held while migrating

# Day partitions of the event tables kept ready around today: the ingest service accepts
# events up to a week old, and the pipeline creates further ones as days pass.
PARTITION_DAYS_BEHIND = 7
PARTITION_DAYS_AHEAD = 14

CREATE_HISTORY = query("create_schema_migrations.sql")
LOCK = query("lock_migrations.sql")
APPLIED = query("select_applied_migrations.sql")
RECORD = query("record_migration.sql")
ENSURE_PARTITIONS = query("ensure_partitions_around_today.sql")


@dataclass(frozen=True)
class Migration:
    version: int
    path: Traversable

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def sql(self) -> bytes:
        return self.path.read_bytes()

    @cached_property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql).hexdigest()


def discover(directory: Traversable = MIGRATIONS) -> list[Migration]:
    """The migrations in `directory` (a package's resources or a plain Path), in order;
    refuses badly named or duplicated versions."""
    migrations: dict[int, Migration] = {}
    found = (entry for entry in directory.iterdir() if entry.name.endswith(".sql"))
    for path in sorted(found, key=lambda entry: entry.name):
        match = FILE_NAME.match(path.name)
        if not match:
            raise ClikError(f"migration file {path.name} is not named NNNN_lower_snake_case.sql")
        version = int(match["version"])
        if version in migrations:
            raise ClikError(
                f"migrations {migrations[version].name} and {path.name} share version {version}"
            )
        migrations[version] = Migration(version, path)
    return [migrations[version] for version in sorted(migrations)]


def migrate(url: str, directory: Traversable = MIGRATIONS) -> list[str]:
    """Applies pending migrations; returns the names of those applied now."""
    migrations = discover(directory)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise ClikError(f"cannot reach PostgreSQL: {one_line(error)}") from error
    with conn:
        conn.execute(LOCK, {"lock_key": LOCK_KEY})
        conn.execute(CREATE_HISTORY)
        applied = {version: (name, checksum) for version, name, checksum in conn.execute(APPLIED)}
        _refuse_divergence(applied, migrations)
        done = []
        for migration in migrations:
            if migration.version in applied:
                continue
            try:
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(
                        RECORD,
                        {
                            "version": migration.version,
                            "name": migration.name,
                            "checksum": migration.checksum,
                        },
                    )
            except psycopg.Error as error:
                raise ClikError(f"migration {migration.name} failed: {one_line(error)}") from error
            done.append(migration.name)
        conn.execute(
            ENSURE_PARTITIONS,
            {"days_behind": PARTITION_DAYS_BEHIND, "days_ahead": PARTITION_DAYS_AHEAD},
        )
    return done


def _refuse_divergence(applied: dict[int, tuple[str, str]], migrations: list[Migration]) -> None:
    known = {migration.version: migration for migration in migrations}
    for version, (name, checksum) in sorted(applied.items()):
        migration = known.get(version)
        if migration is None:
            raise ClikError(
                f"the database has migration {name}, which sql/ does not contain: "
                "it was migrated by a newer clik"
            )
        if migration.checksum != checksum:
            raise ClikError(
                f"migration {migration.name} was edited after it was applied "
                f"(checksum {checksum[:12]} in the database, "
                f"{migration.checksum[:12]} on disk): applied migrations are never "
                "edited, add a new numbered file instead"
            )


def one_line(error: BaseException) -> str:
    """The first line of an error's message (psycopg adds detail lines)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
