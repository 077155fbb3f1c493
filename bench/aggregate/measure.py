"""One measurement in a fresh process (so its peak memory is its own), printed as JSON.

    measure.py bare|assets|job|retention --url URL --pgdata DIR --day YYYY-MM-DD [--retention-days N]

bare       the four refresh functions of one day in one transaction, nothing else
assets     the four daily assets of that day materialized by Dagster, without their checks
job        the daily job: the four assets and their six checks
retention  raw_retention_job (needs --retention-days)

The Dagster variants use the instance of $DAGSTER_HOME (PostgreSQL storage, as in production).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import sys
import threading
import time
from datetime import date
from pathlib import Path

import psutil
import psycopg

SQL = Path(__file__).resolve().parent / "sql"


class BackendSampler:
    """Samples every PostgreSQL process (every 0.2 s): keeps the peak private memory (USS) of
    the largest backend (the one running the queries, with its sort and hash tables), and the
    CPU time all of them used during the run (the last moments of a process that exits between
    two samples are missed)."""

    def __init__(self, pgdata: Path, interval: float = 0.2) -> None:
        self.postmaster = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
        self.interval = interval
        self.peak = 0
        self._cpu_at_start: dict[int, float] = {}
        self._cpu_seen: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> BackendSampler:
        self._cpu_at_start = dict(self._cpu_now())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self._cpu_seen.update(self._cpu_now())

    @property
    def cpu_seconds(self) -> float:
        return sum(
            seconds - self._cpu_at_start.get(pid, 0.0) for pid, seconds in self._cpu_seen.items()
        )

    def _processes(self) -> list[psutil.Process]:
        return [self.postmaster, *self.postmaster.children()]

    def _cpu_now(self) -> dict[int, float]:
        seen = {}
        for process in self._processes():
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                seen[process.pid] = times.user + times.system
        return seen

    def _sample(self) -> None:
        while not self._done.is_set():
            for backend in self.postmaster.children():
                with contextlib.suppress(psutil.Error):
                    self.peak = max(self.peak, backend.memory_full_info().uss)
            self._cpu_seen.update(self._cpu_now())
            self._done.wait(self.interval)


def bare(url: str, day: date) -> dict:
    with psycopg.connect(url) as conn:
        conn.execute("SET ROLE clik_pipeline")
        conn.commit()
        began = time.perf_counter()
        with conn.transaction():
            written = conn.execute((SQL / "bare_aggregation.sql").read_text(), {"day": day})
            rows = list(written.fetchone())
        return {"seconds": time.perf_counter() - began, "rows_written": rows}


def dagster_run(url: str, day: date, with_checks: bool) -> dict:
    import dagster as dg

    from clik_pipeline.defs.daily.assets import daily_tables
    from clik_pipeline.resources import ClikDatabase

    selection = dg.AssetSelection.assets(*daily_tables.keys)
    if not with_checks:
        selection = selection.without_checks()
    instance = dg.DagsterInstance.get()
    began = time.perf_counter()
    result = dg.materialize(
        [daily_tables],
        instance=instance,
        resources={"database": ClikDatabase(database_url=url)},
        tags={"dagster/partition": day.isoformat()},
        selection=selection,
    )
    seconds = time.perf_counter() - began
    checks = result.get_asset_check_evaluations()
    return {
        "seconds": seconds,
        "checks": len(checks),
        "checks_passed": sum(evaluation.passed for evaluation in checks),
    }


def retention(url: str, retention_days: int) -> dict:
    import dagster as dg

    from clik_pipeline.defs.retention.job import raw_retention_job
    from clik_pipeline.resources import ClikDatabase

    instance = dg.DagsterInstance.get()
    began = time.perf_counter()
    result = raw_retention_job.execute_in_process(
        instance=instance,
        resources={"database": ClikDatabase(database_url=url)},
        run_config={
            "ops": {"drop_expired_raw_events": {"config": {"retention_days": retention_days}}}
        },
    )
    seconds = time.perf_counter() - began
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = {key: value.value for key, value in output.step_output_data.metadata.items()}
    return {
        "seconds": seconds,
        "database_seconds": metadata["duration_seconds"],
        "rows_deleted": metadata["rows_deleted"],
        "bytes_freed": metadata["bytes_freed"],
        "days_dropped": metadata["days_dropped"],
        "refused_days": metadata["refused_days"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=["bare", "assets", "job", "retention"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--pgdata", type=Path, required=True)
    parser.add_argument("--day", type=date.fromisoformat)
    parser.add_argument("--retention-days", type=int)
    args = parser.parse_args()
    with BackendSampler(args.pgdata) as sampler:
        if args.variant == "bare":
            outcome = bare(args.url, args.day)
        elif args.variant == "retention":
            outcome = retention(args.url, args.retention_days)
        else:
            outcome = dagster_run(args.url, args.day, with_checks=args.variant == "job")
    outcome["python_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    outcome["postgres_peak_uss_mb"] = sampler.peak / 2**20
    outcome["postgres_cpu_seconds"] = sampler.cpu_seconds
    json.dump({"variant": args.variant, **outcome}, sys.stdout)


if __name__ == "__main__":
    main()
