"""Ingest benchmark: HTTP events per second through `clik serve` against the same rows
bulk-inserted by server-side COPY into a fresh copy of the tables, side by side in one run;
then browser-shaped traffic (commits per 10 visitors), one client alone, and overload.

    .venv/bin/python bench/ingest/run.py                         # full size (see README.md)
    .venv/bin/python bench/ingest/run.py --scale 0.1             # a quick check
    .venv/bin/python bench/ingest/run.py --baseline 8a0c98c      # and a revision side by side

See README.md in this directory for what is measured and the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import http_load  # noqa: E402
import workload as traffic  # noqa: E402

from bench import common  # noqa: E402
from bench.common import running_service  # noqa: E402
from clik.embedded import EmbeddedServer  # noqa: E402

FULL_SIZE_BATCHES = 10_000  # --scale 1.0: 10,000 batches of 20 events = 200,000 events
FULL_SIZE_VISITORS = 10_000  # --scale 1.0: the tracker-shaped phase's visitors (~75,000 requests)
SINGLE_CLIENT_REQUESTS = 500
OVERLOAD_QUEUE_EVENTS = 2_000  # CLIK_INGEST_QUEUE_MAX_EVENTS in the overload phase
STATS_FLUSH_S = 11  # backends report their commits to pg_stat_database within 10 s of idling
BENCH_CONFIG = """
# clik bench/ingest: statement statistics
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = 'all'
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 10,000 batches per run")
    parser.add_argument("--runs", type=int, default=3, help="runs; medians are reported")
    parser.add_argument("--clients", type=int, default=32, help="clients of the 20-event phase")
    parser.add_argument("--tracker-clients", type=int, default=64,
                        help="connections of the tracker-shaped phase")  # fmt: skip
    parser.add_argument("--overload-clients", type=int, default=512)
    parser.add_argument("--workers", type=int, default=2, help="clik serve --workers")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--port", type=int, default=18001)
    parser.add_argument("--home", type=Path, default=Path("/tmp/clik-bench-ingest"))
    parser.add_argument("--baseline", metavar="REV",
                        help="also measure the service of this git revision, side by side "
                        "(e.g. the commit before group commit)")  # fmt: skip
    options = parser.parse_args()

    batch_count = max(100, int(FULL_SIZE_BATCHES * options.scale))
    visitors = max(200, int(FULL_SIZE_VISITORS * options.scale))
    server = EmbeddedServer(options.home / "pgdata", durable=True, extra_config=BENCH_CONFIG)
    server.start()
    checkouts = {"clik": REPO}
    try:
        if options.baseline:
            checkouts[options.baseline] = baseline_checkout(options.baseline, options.home)
        for name, checkout in checkouts.items():
            prepare_template(server, template_name(name), checkout)
        results: dict[str, list[dict]] = {name: [] for name in checkouts}
        for run in range(1, options.runs + 1):
            load = traffic.build(batch_count, options.batch_size, seed=run)
            tracker = traffic.tracker_shaped(visitors, seed=run)
            ceiling = copy_ceiling(fresh_database(server, f"bench_sql_{run}", "clik"), load)
            for name, checkout in checkouts.items():
                print(f"run {run}/{options.runs}, {name}: {len(load.batches)} batches of "
                      f"{options.batch_size}, {len(tracker.bodies)} tracker requests",
                      file=sys.stderr)  # fmt: skip
                result = one_run(server, options, name, checkout, load, tracker, run)
                result |= ceiling
                result["ratio"] = result["events_per_s"] / ceiling["sql_rows_per_s"]
                results[name].append(result)
                print_run(result)
        print_summary(results, options, batch_count)
    finally:
        server.stop()


def template_name(version: str) -> str:
    return "bench_ingest_template_" + "".join(c if c.isalnum() else "_" for c in version)


def baseline_checkout(revision: str, home: Path) -> Path:
    """A worktree of `revision` (its own service and migrations)."""
    path = home / f"baseline-{revision}"
    if not path.exists():
        # (a worktree whose folder went with an earlier --home is forgotten first)
        subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], check=True)
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path),
                        revision], check=True, capture_output=True)  # fmt: skip
    return path


def prepare_template(server: EmbeddedServer, template: str, checkout: Path) -> None:
    """A database migrated by `checkout`'s own migrations."""
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {template}")
    url = server.url(template)
    subprocess.run(
        [sys.executable, "-c", "import sys; from clik.migrations import migrate; migrate(sys.argv[1])",
         url],
        cwd=checkout, env=os.environ | {"PYTHONPATH": str(checkout)}, check=True,
    )  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


def fresh_database(server: EmbeddedServer, name: str, version: str) -> str:
    return common.fresh_database(server, name, template_name(version))


def one_run(
    server: EmbeddedServer,
    options: argparse.Namespace,
    version: str,
    checkout: Path,
    load: traffic.Workload,
    tracker: traffic.TrackerWorkload,
    run: int,
) -> dict:
    """The four phases against `version`'s service: 20-event batches (the COPY ratio),
    tracker-shaped requests, one client alone, and overload."""
    warmup = traffic.build(max(50, len(load.batches) // 20), options.batch_size, seed=1000 + run)
    single = traffic.tracker_shaped(1000, seed=2000 + run).bodies[:SINGLE_CLIENT_REQUESTS]
    tag = template_name(version).removeprefix("bench_ingest_template_")
    result: dict = {"events": load.events, "batches": len(load.batches)}
    port = options.port

    def serve(url: str, settings: dict[str, str] | None = None) -> running_service:
        return running_service(url, port, options.workers, options.home, settings=settings,
                               checkout=checkout)  # fmt: skip

    http_url = fresh_database(server, f"bench_http_{tag}_{run}", version)
    with serve(http_url) as service:
        process = psutil.Process(service.process.pid)
        post(options, warmup.batches, options.clients)
        with psycopg.connect(http_url, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_statements_reset()")
            wal_before = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        measured = measure(process, server, http_url,
                           lambda: post(options, load.batches, options.clients))  # fmt: skip
        with psycopg.connect(http_url, autocommit=True) as conn:
            result["http_wal_bytes"] = conn.execute(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [wal_before]
            ).fetchone()[0]
            result["statements"] = statement_stats(conn)
        check_all_accepted(measured.load, len(load.batches), load.events)
        result |= summary(measured, load.events, len(load.batches))

        tracked = measure(process, server, http_url,
                          lambda: post(options, tracker.bodies, options.tracker_clients))  # fmt: skip
        check_all_accepted(tracked.load, len(tracker.bodies), tracker.events)
        result["tracker"] = summary(tracked, tracker.events, len(tracker.bodies))
        result["tracker"]["visitors"] = tracker.visitors
        result["tracker"]["transactions_per_10_visitors"] = (
            10 * tracked.transactions / tracker.visitors
        )

        alone = post(options, single, 1)
        result["single_p50_ms"], result["single_p99_ms"] = percentiles(alone.latencies)

    overload_url = fresh_database(server, f"bench_overload_{tag}_{run}", version)
    flood = traffic.build(len(load.batches) // 2, options.batch_size, seed=3000 + run)
    limits = {"CLIK_INGEST_QUEUE_MAX_EVENTS": str(OVERLOAD_QUEUE_EVENTS)}
    with serve(overload_url, limits) as service:
        flooded = measure(psutil.Process(service.process.pid), server, overload_url,
                          lambda: post(options, flood.batches, options.overload_clients))  # fmt: skip
    result["overload"] = {
        "statuses": flooded.load.statuses,
        "accepted_per_s": flooded.load.accepted / flooded.load.seconds,
        "rss_mb": flooded.rss_mb,
    }
    return result


def post(options: argparse.Namespace, bodies: list[bytes], clients: int) -> http_load.LoadResult:
    return asyncio.run(http_load.post_all("127.0.0.1", options.port, bodies, clients))


@dataclass
class Measured:
    load: http_load.LoadResult
    cpu_seconds: dict[str, float]
    rss_mb: float
    transactions: int  # commits in the database (pg_stat_database.xact_commit)


def measure(
    service: psutil.Process,
    server: EmbeddedServer,
    url: str,
    send: Callable[[], http_load.LoadResult],
) -> Measured:
    """CPU, peak memory and commits while `send` runs."""
    before = committed(url)
    sampler = RssSampler(service)
    cpu_before = cpu_seconds(service, server)
    load = send()
    cpu_after = cpu_seconds(service, server)
    sampler.stop()
    cpu = {part: cpu_after[part] - cpu_before[part] for part in cpu_after}
    return Measured(load, cpu, sampler.peak / 2**20, committed(url) - before)


def committed(url: str) -> int:
    """Commits so far in the database, once every backend has reported them; the reading
    transaction itself is not counted."""
    time.sleep(STATS_FLUSH_S)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        (count,) = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return count


def summary(measured: Measured, events: int, requests: int) -> dict:
    load = measured.load
    p50, p99 = percentiles(load.latencies)
    return {
        "events_per_s": events / load.seconds,
        "requests_per_s": requests / load.seconds,
        "p50_ms": p50,
        "p99_ms": p99,
        "rss_mb": measured.rss_mb,
        "transactions": measured.transactions,
        "requests": requests,
        "cpu_us_per_event": {
            part: 1e6 * seconds / events for part, seconds in measured.cpu_seconds.items()
        },
    }


def percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return 1000 * ordered[len(ordered) // 2], 1000 * ordered[int(len(ordered) * 0.99)]


def check_all_accepted(load: http_load.LoadResult, requests: int, events: int) -> None:
    assert load.statuses == {200: requests}, load.statuses
    assert load.accepted == events, (load.accepted, events)


def cpu_seconds(service: psutil.Process, server: EmbeddedServer) -> dict[str, float]:
    """CPU time used so far by the service (master + workers), PostgreSQL (all its processes)
    and this process (the load client): where a batch's cost goes on a shared machine."""

    def tree(process: psutil.Process) -> float:
        total = 0.0
        for member in [process, *process.children(recursive=True)]:
            try:
                times = member.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def own_cpu() -> float:  # the service is a child of this process: not counted here
        times = psutil.Process().cpu_times()
        return times.user + times.system

    postmaster = psutil.Process(server.running_pid())
    return {"service": tree(service), "postgresql": tree(postmaster),
            "client": own_cpu()}  # fmt: skip


class RssSampler:
    """Peak resident memory of the service (master + workers), sampled every 0.2 s."""

    def __init__(self, service: psutil.Process) -> None:
        self.service, self.peak, self._stop = service, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            try:
                processes = [self.service, *self.service.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in processes))
            except psutil.Error:
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def statement_stats(conn: psycopg.Connection) -> list[dict]:
    rows = conn.execute(
        """
        SELECT toplevel, calls, total_exec_time, wal_bytes,
               regexp_replace(left(query, 70), '\\s+', ' ', 'g')
        FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND query NOT LIKE '%%pg_stat_statements%%' AND query NOT LIKE '%%pg_current_wal%%'
        ORDER BY calls DESC
        """
    ).fetchall()
    return [
        {"toplevel": r[0], "calls": r[1], "ms": float(r[2]), "wal_bytes": int(r[3]), "query": r[4]}
        for r in rows
    ]


def copy_ceiling(url: str, load: traffic.Workload) -> dict:
    """The same rows written by server-side COPY in one transaction (triggers included)."""
    directory = Path(tempfile.mkdtemp(prefix="clik-bench-copy-"))
    directory.chmod(0o755)  # the server (another user when we are root) reads the files
    files = {}
    for table, rows in (("analytics_sessions", load.sessions),
                        ("analytics_page_views", load.page_views),
                        ("analytics_clicks", load.clicks)):  # fmt: skip
        path = directory / f"{table}.csv"
        with open(path, "w", newline="") as handle:
            csv.writer(handle).writerows(
                [
                    [
                        "" if v is None else v.isoformat() if hasattr(v, "isoformat") else v
                        for v in row
                    ]
                    for row in rows
                ]
            )
        path.chmod(0o644)
        files[table] = path
    columns = {
        "analytics_sessions": "session_id, user_code, share_code, contact_id, first_seen, "
        "last_seen, ip_address, user_agent, referrer",
        "analytics_page_views": "id, session_id, user_code, share_code, contact_id, page_type, viewed_at",
        "analytics_clicks": "id, session_id, user_code, share_code, contact_id, click_target, "
        "click_category, clicked_at",
    }
    rows = len(load.sessions) + len(load.page_views) + len(load.clicks)
    with psycopg.connect(url, autocommit=True) as conn:
        wal_before = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        began = time.perf_counter()
        with conn.transaction():
            for table, path in files.items():
                conn.execute(f"COPY {table} ({columns[table]}) FROM '{path}' (FORMAT csv)")
        seconds = time.perf_counter() - began
        wal = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [wal_before])
        wal_bytes = wal.fetchone()[0]
    for path in files.values():
        path.unlink()
    directory.rmdir()
    return {"sql_seconds": seconds, "sql_rows_per_s": rows / seconds, "sql_wal_bytes": wal_bytes}


def print_run(r: dict) -> None:
    t = r["tracker"]
    cpu = ", ".join(f"{k} {v:.0f}" for k, v in r["cpu_us_per_event"].items())
    print(
        f"  20-event batches: {r['events_per_s']:.0f} events/s (COPY {r['sql_rows_per_s']:.0f} "
        f"rows/s, ratio {r['ratio']:.2f}), p50 {r['p50_ms']:.1f} / p99 {r['p99_ms']:.1f} ms, "
        f"{r['transactions'] / r['batches']:.3f} commits/batch, CPU us/event {cpu}\n"
        f"  tracker-shaped: {t['events_per_s']:.0f} events/s, {t['requests_per_s']:.0f} req/s, "
        f"{t['transactions_per_10_visitors']:.2f} commits per 10 visitors, p50 "
        f"{t['p50_ms']:.1f} / p99 {t['p99_ms']:.1f} ms, RSS {t['rss_mb']:.0f} MB\n"
        f"  one client: p50 {r['single_p50_ms']:.2f} / p99 {r['single_p99_ms']:.2f} ms;  "
        f"overload: {r['overload']['statuses']}, RSS {r['overload']['rss_mb']:.0f} MB",
        file=sys.stderr,
    )


def print_summary(
    results: dict[str, list[dict]], options: argparse.Namespace, batch_count: int
) -> None:
    versions = list(results)
    first = results[versions[0]][0]

    def median(version: str, pick: Callable[[dict], float]) -> float:
        return statistics.median(pick(r) for r in results[version])

    def row(label: str, pick: Callable[[dict], float], form: str = "{:.0f}") -> None:
        cells = " | ".join(form.format(median(v, pick)) for v in versions)
        print(f"| {label} | {cells} |")

    print(f"\n## bench/ingest: {options.runs} runs, --workers {options.workers}; medians\n")
    print(f"20-event batches: {batch_count} batches ({first['events']} events), "
          f"{options.clients} clients. Tracker-shaped: {first['tracker']['visitors']} visitors, "
          f"{first['tracker']['requests']} requests, {options.tracker_clients} connections. "
          f"Overload: {options.overload_clients} connections, queue "
          f"{OVERLOAD_QUEUE_EVENTS} events.\n")  # fmt: skip
    print("| measure | " + " | ".join(versions) + " |")
    print("|---|" + "---|" * len(versions))
    row("20-event: HTTP events/s", lambda r: r["events_per_s"])
    row("20-event: COPY rows/s (same rows, same run)", lambda r: r["sql_rows_per_s"])
    row("20-event: ratio HTTP / COPY", lambda r: r["ratio"], "{:.2f}")
    row("20-event: latency p50 (ms)", lambda r: r["p50_ms"], "{:.1f}")
    row("20-event: latency p99 (ms)", lambda r: r["p99_ms"], "{:.1f}")
    row("20-event: commits per batch", lambda r: r["transactions"] / r["batches"], "{:.3f}")
    row("20-event: WAL bytes per event", lambda r: r["http_wal_bytes"] / r["events"])
    for part in first["cpu_us_per_event"]:
        row(f"20-event: CPU per event, {part} (us)", lambda r, p=part: r["cpu_us_per_event"][p])
    row("20-event: service RSS peak (MB)", lambda r: r["rss_mb"])
    row("tracker: events/s", lambda r: r["tracker"]["events_per_s"])
    row("tracker: requests/s", lambda r: r["tracker"]["requests_per_s"])
    row("tracker: commits per 10 visitors", lambda r: r["tracker"]["transactions_per_10_visitors"],
        "{:.2f}")  # fmt: skip
    row("tracker: latency p50 (ms)", lambda r: r["tracker"]["p50_ms"], "{:.1f}")
    row("tracker: latency p99 (ms)", lambda r: r["tracker"]["p99_ms"], "{:.1f}")
    for part in first["tracker"]["cpu_us_per_event"]:
        row(f"tracker: CPU per event, {part} (us)",
            lambda r, p=part: r["tracker"]["cpu_us_per_event"][p])  # fmt: skip
    row("tracker: service RSS peak (MB)", lambda r: r["tracker"]["rss_mb"])
    row("one client: latency p50 (ms)", lambda r: r["single_p50_ms"], "{:.2f}")
    row("one client: latency p99 (ms)", lambda r: r["single_p99_ms"], "{:.2f}")
    row("overload: accepted events/s", lambda r: r["overload"]["accepted_per_s"])
    row("overload: share answered 503", lambda r: r["overload"]["statuses"].get(503, 0)
        / sum(r["overload"]["statuses"].values()), "{:.2f}")  # fmt: skip
    row("overload: service RSS peak (MB)", lambda r: r["overload"]["rss_mb"])
    print("\nstatements of the last run's 20-event phase (pg_stat_statements):")
    last = results[versions[0]][-1]
    for s in last["statements"][:12]:
        print(f"  {'top ' if s['toplevel'] else 'nest'} {s['calls'] / last['batches']:6.3f}/batch "
              f"{s['ms'] / max(s['calls'], 1):7.3f} ms  {s['query']}")  # fmt: skip


if __name__ == "__main__":
    main()
