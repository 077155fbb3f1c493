"""docs/contract.md section 6's `dagster asset materialize` commands work from the shell with
CLIK_DATABASE_URL set: one partition, and a whole range in one run."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import psycopg

from tests.clik_pipeline.traffic import actual_tables, expected_tables, generate

DAGSTER = Path(sys.executable).parent / "dagster"


def materialize(database_url: str, tmp_path: Path, *partition: str) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("CLIK_", "DAGSTER_"))
    }
    environment["CLIK_DATABASE_URL"] = database_url
    return subprocess.run(
        [
            str(DAGSTER),
            "asset",
            "materialize",
            "-m",
            "clik_pipeline.definitions",
            "--select",
            "analytics_daily_user_stats",
            *partition,
        ],
        cwd=tmp_path,  # nothing of the checkout's state is needed
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_one_partition_and_a_range_from_the_shell(
    database_url: str, conn: psycopg.Connection, tmp_path: Path
) -> None:
    october = [date(2026, 10, day) for day in range(1, 32)]
    traffic = generate([date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 1)], 10)
    traffic.insert(conn)

    single = materialize(database_url, tmp_path, "--partition", "2026-11-01")
    assert single.returncode == 0, single.stderr[-3000:]
    ranged = materialize(database_url, tmp_path, "--partition-range", "2026-10-01...2026-10-31")
    assert ranged.returncode == 0, ranged.stderr[-3000:]

    assert "RUN_SUCCESS" in ranged.stderr
    assert ranged.stderr.count("RUN_START") == 1  # the whole month in one run
    expected = expected_tables(traffic, [*october, date(2026, 11, 1)])
    assert (
        actual_tables(conn)["analytics_daily_user_stats"] == expected["analytics_daily_user_stats"]
    )
