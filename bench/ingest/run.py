"""Ingest benchmark: HTTP events per second through `clik serve` against the same rows
bulk-inserted by server-side COPY into a fresh copy of the tables, side by side in one run.

    .venv/bin/python bench/ingest/run.py                 # full size (see README.md)
    .venv/bin/python bench/ingest/run.py --scale 0.1     # a quick check

See README.md in this directory for what is measured and the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
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
from clik.migrations import migrate  # noqa: E402

FULL_SIZE_BATCHES = 10_000  # --scale 1.0: 10,000 batches of 20 events = 200,000 events
BENCH_CONFIG = """
# clik bench/ingest: statement statistics
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = 'all'
"""
TEMPLATE = "bench_ingest_template"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 10,000 batches per run")
    parser.add_argument("--runs", type=int, default=3, help="runs; medians are reported")
    parser.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2, help="clik serve --workers")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--port", type=int, default=18001)
    parser.add_argument("--home", type=Path, default=Path("/tmp/clik-bench-ingest"))
    options = parser.parse_args()

    batch_count = max(100, int(FULL_SIZE_BATCHES * options.scale))
    server = EmbeddedServer(options.home / "pgdata", durable=True, extra_config=BENCH_CONFIG)
    server.start()
    try:
        prepare_template(server)
        results = []
        for run in range(1, options.runs + 1):
            print(f"run {run}/{options.runs}: {batch_count} batches of {options.batch_size}",
                  file=sys.stderr)  # fmt: skip
            results.append(one_run(server, options, batch_count, run))
            print_run(results[-1])
        print_summary(results, options, batch_count)
    finally:
        server.stop()


def prepare_template(server: EmbeddedServer) -> None:
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {TEMPLATE}")
    url = server.url(TEMPLATE)
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


def fresh_database(server: EmbeddedServer, name: str) -> str:
    return common.fresh_database(server, name, TEMPLATE)


def one_run(
    server: EmbeddedServer, options: argparse.Namespace, batch_count: int, run: int
) -> dict:
    warmup = traffic.build(max(50, batch_count // 20), options.batch_size, seed=1000 + run)
    load = traffic.build(batch_count, options.batch_size, seed=run)
    http_url = fresh_database(server, f"bench_http_{run}")
    result: dict = {"events": load.events, "batches": len(load.batches)}

    with running_service(http_url, options.port, options.workers, options.home) as running:
        service = psutil.Process(running.process.pid)
        asyncio.run(http_load.post_all("127.0.0.1", options.port, warmup.batches, options.clients))
        with psycopg.connect(http_url, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_statements_reset()")
            wal_before = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        sampler = RssSampler(service)
        cpu_before = cpu_seconds(service, server)
        measured = asyncio.run(
            http_load.post_all("127.0.0.1", options.port, load.batches, options.clients)
        )
        cpu_after = cpu_seconds(service, server)
        sampler.stop()
        result["cpu_ms_per_batch"] = {
            part: 1000 * (cpu_after[part] - cpu_before[part]) / len(load.batches)
            for part in cpu_after
        }
        with psycopg.connect(http_url, autocommit=True) as conn:
            result["http_wal_bytes"] = conn.execute(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [wal_before]
            ).fetchone()[0]
            result["statements"] = statement_stats(conn)
    latencies = sorted(measured.latencies)
    result |= {
        "http_seconds": measured.seconds,
        "http_events_per_s": load.events / measured.seconds,
        "statuses": measured.statuses,
        "accepted": measured.accepted,
        "duplicates": measured.duplicates,
        "rejected": measured.rejected,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
        "rss_mb": sampler.peak / 2**20,
    }
    assert measured.statuses == {200: len(load.batches)}, measured.statuses
    assert measured.accepted == load.events, (measured.accepted, load.events)

    sql_url = fresh_database(server, f"bench_sql_{run}")
    result |= copy_ceiling(sql_url, load)
    result["ratio"] = result["http_events_per_s"] / result["sql_rows_per_s"]
    result["anti_join"] = anti_join_cost(server, load, run)
    return result


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


def anti_join_cost(server: EmbeddedServer, load: traffic.Workload, run: int) -> dict:
    """Server time of ingest_batch() with and without its look-up of ids stored with another
    time, the same batches replayed one by one under clik_ingest, each on a fresh database
    (the variant is the migration's function with that look-up made `WHERE false`, which the
    planner drops entirely)."""
    import orjson

    from ingest_service.events import TimeWindow, check_envelope, check_events
    from ingest_service.store import WRITE_BATCH, plan_batch, write_batch

    migration = (REPO / "sql" / "0010_ingest_batch_function.sql").read_text()
    without_lookup = (
        migration.replace("ingest_batch(", "ingest_batch_without_lookup(")
        .replace("WHERE id = ANY (", "WHERE false AND id = ANY (")
        .replace("'Writes one", "'Benchmark variant: writes one")
    )
    variants = {
        "with": WRITE_BATCH,
        "without": WRITE_BATCH.replace(b"FROM ingest_batch(", b"FROM ingest_batch_without_lookup("),
    }
    sample = load.batches[: min(len(load.batches), 1000)]
    timings = {}
    for variant, statement in variants.items():
        url = fresh_database(server, f"bench_antijoin_{variant}_{run}")
        if variant == "without":
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(without_lookup.encode())

        async def replay(url: str = url, statement: bytes = statement) -> float:
            """ms of server time per batch of the batch statement."""
            conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
            async with conn:
                await conn.execute("SELECT pg_stat_statements_reset()")
                await conn.execute("SET ROLE clik_ingest")
                for body in sample:
                    window = TimeWindow.around(datetime.now(UTC), 168)
                    batch = check_events(check_envelope(orjson.loads(body), 1000), window)
                    plan = plan_batch(batch, header_user_agent=None, ip_address=None)
                    await write_batch(conn, plan, window, statement=statement)
                await conn.execute("RESET ROLE")
                cursor = await conn.execute(
                    "SELECT sum(total_exec_time) FROM pg_stat_statements"
                    " WHERE query LIKE '%%FROM ingest_batch%%' AND toplevel"
                    " AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
                return float((await cursor.fetchone())[0]) / len(sample)

        timings[variant] = asyncio.run(replay())
    return {"batches": len(sample), "with_ms": timings["with"], "without_ms": timings["without"]}


def print_run(r: dict) -> None:
    per_batch = r["batches"]
    top = sum(s["calls"] for s in r["statements"] if s["toplevel"]) / per_batch
    print(
        f"  HTTP {r['http_events_per_s']:8.0f} events/s  (p50 {r['p50_ms']:.1f} ms, p99 "
        f"{r['p99_ms']:.1f} ms, {top:.1f} statements/batch, "
        f"{r['http_wal_bytes'] / per_batch:.0f} WAL bytes/batch, RSS {r['rss_mb']:.0f} MB)\n"
        f"  COPY {r['sql_rows_per_s']:8.0f} rows/s    ({r['sql_wal_bytes'] / per_batch:.0f} WAL "
        f"bytes per 20 rows)   ratio {r['ratio']:.2f}\n"
        f"  CPU ms per batch: {', '.join(f'{k} {v:.2f}' for k, v in r['cpu_ms_per_batch'].items())}\n"
        f"  stored-id look-up: batch statement {r['anti_join']['with_ms']:.3f} ms with, "
        f"{r['anti_join']['without_ms']:.3f} ms/batch without",
        file=sys.stderr,
    )


def print_summary(results: list[dict], options: argparse.Namespace, batch_count: int) -> None:
    def median(key: str) -> float:
        return statistics.median(r[key] for r in results)

    batches = results[0]["batches"]
    print(f"\n## bench/ingest: {len(results)} runs, {batch_count} batches of "
          f"{options.batch_size} events ({results[0]['events']} events) each, "
          f"{options.clients} clients, --workers {options.workers}; medians\n")  # fmt: skip
    print("| measure | value |\n|---|---|")
    print(f"| HTTP events/s | {median('http_events_per_s'):.0f} |")
    print(f"| COPY rows/s (ceiling, same rows) | {median('sql_rows_per_s'):.0f} |")
    print(f"| ratio HTTP / COPY | {median('ratio'):.2f} |")
    print(f"| latency p50 / p99 | {median('p50_ms'):.1f} ms / {median('p99_ms'):.1f} ms |")
    tops = [
        sum(s["calls"] for s in r["statements"] if s["toplevel"]) / r["batches"] for r in results
    ]
    nested = [sum(s["calls"] for s in r["statements"] if not s["toplevel"]) / r["batches"]
              for r in results]  # fmt: skip
    print(f"| statements per batch (sent / run by triggers) | {statistics.median(tops):.2f} / "
          f"{statistics.median(nested):.2f} |")  # fmt: skip
    print(f"| WAL bytes per batch: HTTP / COPY | {median('http_wal_bytes') / batches:.0f} / "
          f"{median('sql_wal_bytes') / batches:.0f} |")  # fmt: skip
    print(f"| service RSS (master + workers, peak) | {median('rss_mb'):.0f} MB |")
    for part in results[0]["cpu_ms_per_batch"]:
        cpu = statistics.median(r["cpu_ms_per_batch"][part] for r in results)
        print(f"| CPU per batch: {part} | {cpu:.2f} ms |")
    with_ms = statistics.median(r["anti_join"]["with_ms"] for r in results)
    without_ms = statistics.median(r["anti_join"]["without_ms"] for r in results)
    print(f"| batch statement, with / without the stored-id look-up | {with_ms:.3f} ms / "
          f"{without_ms:.3f} ms |")  # fmt: skip
    print("\nstatements of the last run (pg_stat_statements):")
    for s in results[-1]["statements"][:12]:
        print(f"  {'top ' if s['toplevel'] else 'trig'} {s['calls'] / batches:6.2f}/batch "
              f"{s['ms'] / max(s['calls'], 1):7.3f} ms  {s['query']}")  # fmt: skip


if __name__ == "__main__":
    main()
