"""`clik env`: the export lines of `clik dev`'s settings for a second shell, on stdout alone,
computed as `clik dev` computes them (the embedded-server case runs in tests/clik/test_wheel.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from clik.database import with_database
from tests.conftest import drop_database

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def dagster_database(server_url: str, database_url: str) -> Iterator[str]:
    """The name of the database `clik env` creates for the Dagster instance; dropped after."""
    name = conninfo_to_dict(database_url)["dbname"] + "_dagster"
    yield name
    drop_database(server_url, name)


def clik_env(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clik", "env"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_clik_env_prints_the_dev_settings_as_exports_and_prepares_dagster_home(
    database_url: str, dagster_database: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CLIK_", "DAGSTER_"))},
        "CLIK_DATABASE_URL": database_url,
        "CLIK_HOME": str(home),
    }
    result = clik_env(environment)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("=")[0] for line in lines] == [
        "export CLIK_HOME",
        "export CLIK_DATABASE_URL",
        "export CLIK_DAGSTER_DATABASE_URL",
        "export DAGSTER_HOME",
        "export CLIK_PARTITIONS_START",
    ]
    assert "migrations: 0 applied" in result.stderr  # messages on stderr only

    # What a shell makes of them, as `eval "$(clik env)"` does.
    shown = subprocess.run(
        ["bash", "-c", 'eval "$1" && printf "%s\\n" "$CLIK_HOME" "$CLIK_DATABASE_URL" '
         '"$CLIK_DAGSTER_DATABASE_URL" "$DAGSTER_HOME"', "-", result.stdout],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    dagster_url = with_database(database_url, dagster_database).replace(
        "postgresql://", "postgresql+psycopg2://", 1
    )
    assert shown == [str(home), database_url, dagster_url, str(home / "dagster")]
    # The Dagster instance's database exists, and DAGSTER_HOME holds the instance file.
    with psycopg.connect(with_database(database_url, dagster_database)) as conn:
        conn.execute("SELECT 1")
    instance = (home / "dagster" / "dagster.yaml").read_text()
    assert instance.startswith((REPOSITORY / "dagster.yaml").read_text())
    assert "python_log_level: INFO" in instance

    # Again (e.g. beside a running `clik dev`): the same lines, nothing rotated or re-created.
    again = clik_env(environment)
    assert again.returncode == 0, again.stderr
    assert again.stdout == result.stdout
    assert "PASSWORD" not in again.stdout.upper() and "_login" not in again.stdout


def test_clik_env_takes_a_given_dagster_database_url(database_url: str, tmp_path: Path) -> None:
    given = "postgresql+psycopg2://someone@db.example/dagster"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CLIK_", "DAGSTER_"))},
        "CLIK_DATABASE_URL": database_url,
        "CLIK_DAGSTER_DATABASE_URL": given,
        "CLIK_HOME": str(tmp_path / "home"),
    }
    result = clik_env(environment)
    assert result.returncode == 0, result.stderr
    assert f"export CLIK_DAGSTER_DATABASE_URL={given}" in result.stdout.splitlines()


def test_the_partitions_start_at_the_databases_first_day(
    database_url: str, dagster_database: str, conn: psycopg.Connection, tmp_path: Path
) -> None:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CLIK_", "DAGSTER_"))},
        "CLIK_DATABASE_URL": database_url,
        "CLIK_HOME": str(tmp_path / "home"),
    }

    def start() -> str:
        result = clik_env(environment)
        assert result.returncode == 0, result.stderr
        (line,) = [line for line in result.stdout.splitlines() if "CLIK_PARTITIONS_START" in line]
        return line.removeprefix("export CLIK_PARTITIONS_START=")

    # A new database: the day it was migrated, not hundreds of days that can never be filled.
    (migrated,) = conn.execute(
        "SELECT (min(applied_at) AT TIME ZONE 'UTC')::date FROM schema_migrations"
    ).fetchone() or (None,)
    assert start() == migrated.isoformat()
    # Older data (here legacy events waiting to be migrated) moves it earlier, never later.
    conn.execute(
        "INSERT INTO analytics_events (id, event_type, event_data, created_at) "
        "VALUES (gen_random_uuid(), 'view', '{}', '2026-06-01 12:00+00')"
    )
    assert start() == "2026-06-01"
    # A setting of its own wins.
    environment["CLIK_PARTITIONS_START"] = "2026-01-01"
    assert start() == "2026-01-01"


def test_an_unreachable_database_is_one_line_and_no_exports(tmp_path: Path) -> None:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CLIK_", "DAGSTER_"))},
        "CLIK_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing",
        "CLIK_HOME": str(tmp_path / "home"),
    }
    result = clik_env(environment)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1].startswith("Error: cannot reach PostgreSQL")
