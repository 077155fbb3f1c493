"""The seed design's own comparisons, reproduced side by side in one run: database writes per
10 visitors, the dashboard query, storage, plus the owner API's latency under load and the
legacy migration of the old table. See README.md in this directory.

    .venv/bin/python bench/seed_comparison/run.py                # the seed's scale
    .venv/bin/python bench/seed_comparison/run.py --scale 0.05   # a quick check
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO), str(HERE)]

import api_load  # noqa: E402
import writes  # noqa: E402
from server import fresh_database, start_server  # noqa: E402

from bench.common import running_service  # noqa: E402
from clik.owners import add_owner  # noqa: E402

SEED_VISITORS_PER_DAY = 10_000
SEED_DAYS = 30
WRITE_SAMPLE_VISITORS = 2_000  # at --scale 1; the counts per visitor do not depend on it
# Browsers sending at once: enough that concurrent requests meet in the service's group commit,
# as a card's visitors' browsers do at load.
WRITE_CLIENTS = 64
QUERY_REPEATS = {"old": 5, "new": 200}
RAW_TABLES = ["analytics_sessions", "analytics_page_views", "analytics_clicks"]
DAILY_TABLES = [
    "analytics_daily_user_stats",
    "analytics_daily_group_stats",
    "analytics_daily_click_targets",
    "analytics_daily_page_stats",
]
QUIET_DAGSTER = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def sql_file(name: str) -> bytes:
    return (HERE / "sql" / f"{name}.sql").read_bytes()


def say(text: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {text}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="1.0 = 10,000 visitors a day for 30 days (1.5M legacy rows)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=3,
                        help="repetitions of the timed parts; medians are reported")  # fmt: skip
    parser.add_argument("--clients", default="1,8,32",
                        help="levels of concurrent owner API clients, comma separated")  # fmt: skip
    parser.add_argument("--load-seconds", type=float, default=15.0,
                        help="length of each owner API load run")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="clik serve --workers")
    parser.add_argument("--port", type=int, default=17010)
    parser.add_argument("--home", type=Path, default=Path("/tmp/clik-bench-seed"))
    parser.add_argument("--output", type=Path, default=None, help="JSON results file")
    parser.add_argument("--only-writes", action="store_true",
                        help="measure only the writes per 10 visitors (part 1)")  # fmt: skip
    options = parser.parse_args()

    began = time.perf_counter()
    server = start_server(options.home)
    try:
        results = {
            "scale": options.scale,
            "runs": options.runs,
            "started_at": datetime.now(UTC).isoformat(),
        }
        with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
            results["postgresql"] = admin.execute("SHOW server_version").fetchone()[0]
            results["writes"] = measure_writes(server, admin, options)
        if not options.only_writes:
            results |= legacy_and_dashboard(server, options)
    finally:
        server.stop()
    results["total_seconds"] = round(time.perf_counter() - began, 1)
    output = (
        options.output
        or REPO / "bench" / "results" / f"seed-comparison-{datetime.now():%Y%m%d-%H%M%S}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, default=str))
    print_writes(results)
    if not options.only_writes:
        print_report(results)
    say(f"results written to {output}")


# --- 1. writes per 10 visitors --------------------------------------------------------------


def measure_writes(
    server: Any, admin: psycopg.Connection, options: argparse.Namespace
) -> list[dict]:
    visitors = writes.simulated_visitors(max(200, round(WRITE_SAMPLE_VISITORS * options.scale)))
    say(f"writes: {visitors.count} visitors, {len(visitors.events)} events (sessions included)")
    measured = []
    url = fresh_database(server, "seed_writes_old")
    measured.append(writes.old_way(url, visitors, admin, "seed_writes_old"))
    for name, approach in (
        ("seed_writes_tracker", writes.tracker_batches),
        ("seed_writes_batched", writes.seed_batches),
    ):
        url = fresh_database(server, name)
        with running_service(url, options.port, options.workers, options.home) as service:
            measured.append(approach(service.url, visitors, admin, name, clients=WRITE_CLIENTS))
    report = []
    for result in measured:
        say(
            f"  {result.approach}: {result.statements} statements, {result.transactions} transactions"
        )
        report.append({
            "approach": result.approach,
            "visitors": result.visitors,
            "events": result.events,
            "requests": result.requests,
            "statements": result.statements,
            "trigger_statements": result.trigger_statements,
            "transactions": result.transactions,
            "wal_bytes": result.wal_bytes,
            "seconds": round(result.seconds, 2),
            "per_10_visitors": {
                "requests": round(result.per_10_visitors(result.requests), 1),
                "statements": round(result.per_10_visitors(result.statements), 1),
                "transactions": round(result.per_10_visitors(result.transactions), 1),
                "wal_kib": round(result.per_10_visitors(result.wal_bytes) / 1024, 1),
            },
            "statement_texts": result.statement_texts,
        })  # fmt: skip
    return report


# --- 2..5. the legacy table, its migration, the dashboard query, storage, the owner API -----


def legacy_and_dashboard(server: Any, options: argparse.Namespace) -> dict:
    from clik_pipeline.resources import ClikDatabase

    results: dict[str, Any] = {}
    url = fresh_database(server, "seed_bench")
    visitors_per_day = max(10, round(SEED_VISITORS_PER_DAY * options.scale))
    today = datetime.now(UTC).date()
    first_day, last_day = today - timedelta(SEED_DAYS), today - timedelta(1)
    results["dataset"] = {
        "visitors_per_day": visitors_per_day,
        "days": SEED_DAYS,
        "first_day": first_day,
        "last_day": last_day,
    }
    with psycopg.connect(url, autocommit=True) as conn:
        say(f"legacy table: {visitors_per_day} visitors a day x {SEED_DAYS} days")
        started = time.perf_counter()
        conn.execute(
            sql_file("generate_legacy_events"),
            {"visitors_per_day": visitors_per_day, "days": SEED_DAYS, "first_day": first_day},
        )
        conn.execute("VACUUM ANALYZE analytics_events")
        (legacy_rows,) = conn.execute("SELECT count(*) FROM analytics_events").fetchone()
        results["dataset"] |= {
            "legacy_rows": legacy_rows,
            "generated_in_s": round(time.perf_counter() - started, 1),
        }
        say(f"  {legacy_rows} rows")
        results["storage_old"] = table_sizes(conn, ["analytics_events"])

        say("old dashboard query")
        old_answer = conn.execute(sql_file("old_dashboard_query")).fetchone()
        old_runs = [
            timed(conn, sql_file("old_dashboard_query"), QUERY_REPEATS["old"])
            for _ in range(options.runs)
        ]
        results["old_plan"] = plan_summary(conn, sql_file("old_dashboard_query"))

    database = ClikDatabase(database_url=url)
    results["migration"] = migrate_and_aggregate(database, first_day, last_day)

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        results["storage_new"] = table_sizes(
            conn, [*RAW_TABLES, *DAILY_TABLES, "analytics_events_archive"]
        )
        owner, token = add_owner(conn, "bench owner", ["myclik"])
        say("new dashboard query (bare, then as clik_reader under row-level security)")
        new_answer = conn.execute(sql_file("new_dashboard_query")).fetchone()
        new_runs = [
            timed(conn, sql_file("new_dashboard_query"), QUERY_REPEATS["new"])
            for _ in range(options.runs)
        ]
        rls_runs = [
            timed_as_reader(conn, owner.owner_id, QUERY_REPEATS["new"]) for _ in range(options.runs)
        ]
        results["new_plan"] = plan_summary(conn, sql_file("new_dashboard_query"))

    old_ms, new_ms, rls_ms = (median_of_medians(runs) for runs in (old_runs, new_runs, rls_runs))
    results["dashboard"] = {
        "old_answer": list(old_answer),
        "new_answer": [new_answer[0], int(new_answer[1]), int(new_answer[2])],
        "same_answer": [old_answer[1], old_answer[2]] == [int(new_answer[1]), int(new_answer[2])],
        "old_ms": old_ms,
        "new_ms": new_ms,
        "new_rls_ms": rls_ms,
        "ratio": round(old_ms / new_ms),
        "ratio_rls": round(old_ms / rls_ms),
        "old_ms_per_run": [round(statistics.median(r), 3) for r in old_runs],
        "new_ms_per_run": [round(statistics.median(r), 4) for r in new_runs],
        "new_rls_ms_per_run": [round(statistics.median(r), 4) for r in rls_runs],
    }

    results["owner_api"] = owner_api_load(url, token, first_day, last_day, options)
    return results


def migrate_and_aggregate(database: Any, first_day: date, last_day: date) -> dict:
    import dagster as dg

    from clik_pipeline.dagster_internals import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )
    from clik_pipeline.definitions import defs
    from clik_pipeline.defs.daily.assets import daily_tables

    resources = {"database": database}
    with dg.DagsterInstance.ephemeral() as instance:
        say("legacy_events_migration_job")
        started = time.perf_counter()
        migration = defs.resolve_job_def("legacy_events_migration_job").execute_in_process(
            instance=instance, resources=resources, run_config=QUIET_DAGSTER, raise_on_error=False
        )
        migration_s = time.perf_counter() - started
        (materialization,) = migration.asset_materializations_for_node("analytics_events_archive")
        metadata = {key: value.value for key, value in materialization.metadata.items()}
        (check,) = migration.get_asset_check_evaluations()
        say(f"  {metadata['rows_moved']} rows in {migration_s:.0f} s; check passed: {check.passed}")

        say(f"daily aggregation of {first_day}..{last_day} (one run)")
        started = time.perf_counter()
        aggregation = dg.materialize(
            [daily_tables],
            instance=instance,
            resources=resources,
            run_config=QUIET_DAGSTER,
            tags={
                ASSET_PARTITION_RANGE_START_TAG: first_day.isoformat(),
                ASSET_PARTITION_RANGE_END_TAG: last_day.isoformat(),
            },
            raise_on_error=False,
        )
        aggregation_s = time.perf_counter() - started
        evaluations = aggregation.get_asset_check_evaluations()
        passed = sum(evaluation.passed for evaluation in evaluations)
        say(f"  {aggregation_s:.0f} s; checks passed {passed}/{len(evaluations)}")
    return {
        "success": migration.success,
        "seconds": round(migration_s, 1),
        "rows_moved": metadata["rows_moved"],
        "page_views": metadata["page_views"],
        "clicks": metadata["clicks"],
        "unmapped": metadata["unmapped"],
        "remaining": metadata["remaining"],
        "rows_per_second": metadata["rows_per_second"],
        "reconciliation_passed": check.passed,
        "reconciliation": check.description,
        "aggregation_success": aggregation.success,
        "aggregation_seconds": round(aggregation_s, 1),
        "aggregation_checks_passed": passed,
        "aggregation_checks": len(evaluations),
    }


def owner_api_load(
    url: str, token: str, first_day: date, last_day: date, options: argparse.Namespace
) -> dict:
    """p50/p99 of the owner API at each level of concurrency: the daily endpoint (the contract's), and
    the four endpoints in turn at the highest level."""
    query = f"user_code=myclik&from={first_day}&to={last_day}"
    daily = [f"/api/analytics/stats/daily?{query}"]
    mixed = [
        f"/api/analytics/stats/{name}?{query}"
        for name in ("daily", "share-codes", "page-types", "click-targets")
    ]
    levels = sorted({int(level) for level in options.clients.split(",")})
    phases = [(f"daily, {n} clients", daily, n) for n in levels]
    phases.append((f"all four endpoints, {levels[-1]} clients", mixed, levels[-1]))
    report: dict[str, Any] = {
        "seconds": options.load_seconds,
        "workers": options.workers,
        "phases": [],
    }
    with running_service(url, options.port, options.workers, options.home) as service:
        api_load.run_load(service.url, daily, token, levels[-1], 2.0)  # warm-up: pools grown
        for name, paths, clients in phases:
            say(f"owner API load: {name}, {options.runs} x {options.load_seconds:g} s")
            runs = [
                api_load.run_load(service.url, paths, token, clients, options.load_seconds)
                for _ in range(options.runs)
            ]
            report["phases"].append(
                {
                    "name": name,
                    "clients": clients,
                    "p50_ms": round(statistics.median(r.percentile_ms(0.50) for r in runs), 2),
                    "p99_ms": round(statistics.median(r.percentile_ms(0.99) for r in runs), 2),
                    "requests_per_second": round(
                        statistics.median(r.requests_per_second for r in runs)
                    ),
                    "requests": sum(len(r.latencies) for r in runs),
                    "statuses": {
                        str(k): sum(r.statuses.get(k, 0) for r in runs)
                        for k in {k for r in runs for k in r.statuses}
                    },
                }
            )
    return report


# --- measuring helpers ----------------------------------------------------------------------


def timed(conn: psycopg.Connection, query: bytes, repeat: int) -> list[float]:
    """Milliseconds of each execution (sent, run, all rows fetched), after one warm-up."""
    conn.execute(query).fetchall()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        conn.execute(query).fetchall()
        times.append(1000 * (time.perf_counter() - started))
    return times


def timed_as_reader(conn: psycopg.Connection, owner_id: Any, repeat: int) -> list[float]:
    """The new query as the owner API runs it: clik_reader, owner set for the transaction,
    row-level security filtering. Only the query itself is timed."""
    query = sql_file("new_dashboard_query")
    with conn.transaction():
        conn.execute("SET LOCAL ROLE clik_reader")
        conn.execute("SELECT set_config('clik.owner_id', %s, true)", [str(owner_id)])
        assert conn.execute(query).fetchall(), "the owner sees no rows"
        return timed(conn, query, repeat)


def median_of_medians(runs: list[list[float]]) -> float:
    return round(statistics.median(statistics.median(run) for run in runs), 4)


def plan_summary(conn: psycopg.Connection, query: bytes) -> dict:
    (plan,) = conn.execute(b"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query).fetchone()[0]
    nodes, stack = [], [plan["Plan"]]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    scans = [n for n in nodes if "Relation Name" in n]
    return {
        "execution_ms": plan["Execution Time"],
        "scans": [f"{n['Node Type']} on {n['Relation Name']}" for n in scans],
        "rows_read": int(
            sum(
                n.get("Actual Rows", 0) * n.get("Actual Loops", 1)
                + n.get("Rows Removed by Filter", 0)
                for n in scans
            )
        ),
        "shared_buffers_read_kib": 8
        * sum(n.get("Shared Hit Blocks", 0) + n.get("Shared Read Blocks", 0) for n in scans),
    }


def table_sizes(conn: psycopg.Connection, tables: list[str]) -> dict[str, dict]:
    sizes = {}
    for row in conn.cursor(row_factory=dict_row).execute(
        sql_file("table_sizes"), {"tables": tables}
    ):
        (rows,) = conn.execute(f"SELECT count(*) FROM {row['table_name']}").fetchone()  # our names
        sizes[row["table_name"]] = {
            "rows": rows,
            "total_bytes": row["total_bytes"],
            "heap_bytes": row["heap_bytes"],
            "index_bytes": row["index_bytes"],
        }
    return sizes


# --- the report -----------------------------------------------------------------------------


def mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MB" if size >= 2**20 else f"{size / 1024:,.0f} KB"


def print_writes(r: dict) -> None:
    print(f"\nseed comparison: scale {r['scale']}, PostgreSQL {r['postgresql']}, "
          f"{WRITE_CLIENTS} clients for the service's writes\n")  # fmt: skip
    print(
        "| writes per 10 visitors | events | requests | statements | transactions (WAL commits) | WAL |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for w in r["writes"]:
        p = w["per_10_visitors"]
        events = round(10 * w["events"] / w["visitors"], 1)
        print(f"| {w['approach']} | {events} | {p['requests']} | {p['statements']} "
              f"| {p['transactions']} | {p['wal_kib']} KiB |")  # fmt: skip
    print("| seed's claim: old / new | 70 | | 70 / 5 | | |\n")


def print_report(r: dict) -> None:
    d = r["dataset"]
    print(f"seed comparison: {d['visitors_per_day']:,} visitors/day x {d['days']} days, "
          f"{d['legacy_rows']:,} legacy rows, {r['runs']} runs\n")  # fmt: skip
    b = r["dashboard"]
    print("| dashboard query (median) | ms | vs old |")
    print("|---|---:|---:|")
    print(
        f"| old: JSONB table, {d['legacy_rows']:,} rows (seed: 2,500 ms) | {b['old_ms']:,.1f} | 1x |"
    )
    print(f"| new: daily table (seed: 15 ms, 166x) | {b['new_ms']:.3f} | {b['ratio']:,}x |")
    print(f"| new, as clik_reader under RLS | {b['new_rls_ms']:.3f} | {b['ratio_rls']:,}x |")
    print(f"same answer: {b['same_answer']} (old {b['old_answer']}, new {b['new_answer']}); "
          f"old plan read {r['old_plan']['rows_read']:,} rows, new plan {r['new_plan']['rows_read']:,}\n")  # fmt: skip

    seed_estimates = {
        "analytics_events": "700 MB - 2.2 GB", "analytics_sessions": "135 MB",
        "analytics_page_views": "240 MB", "analytics_clicks": "120 MB",
        "analytics_daily_user_stats": "15 KB", "analytics_daily_group_stats": "45 KB",
        "analytics_daily_click_targets": "90 KB", "analytics_daily_page_stats": "36 KB",
    }  # fmt: skip
    print("| storage | rows | measured (heap + indexes) | seed's estimate |")
    print("|---|---:|---:|---:|")
    sizes = r["storage_old"] | r["storage_new"]
    for table, size in sizes.items():
        print(
            f"| {table} | {size['rows']:,} | {mib(size['total_bytes'])} | {seed_estimates.get(table, '-')} |"
        )
    raw = sum(sizes[t]["total_bytes"] for t in RAW_TABLES)
    daily = sum(sizes[t]["total_bytes"] for t in DAILY_TABLES)
    print(f"| raw tables together | | {mib(raw)} | 495 MB |")
    print(f"| daily tables together | | {mib(daily)} | 186 KB |\n")

    m = r["migration"]
    print(f"legacy migration: {m['rows_moved']:,} rows in {m['seconds']} s ({m['rows_per_second']:,} rows/s), "
          f"{m['remaining']} left, {m['unmapped']} unmapped; reconciliation passed: {m['reconciliation_passed']}; "
          f"aggregation of the {d['days']} days in {m['aggregation_seconds']} s, checks passed "
          f"{m['aggregation_checks_passed']}/{m['aggregation_checks']}\n")  # fmt: skip

    a = r["owner_api"]
    print(
        f"| owner API (clik serve --workers {a['workers']}) | p50 ms | p99 ms | requests/s | answers |"
    )
    print("|---|---:|---:|---:|---|")
    for x in a["phases"]:
        answers = ", ".join(f"{n:,} x {status}" for status, n in sorted(x["statuses"].items()))
        print(
            f"| {x['name']} | {x['p50_ms']} | {x['p99_ms']} | {x['requests_per_second']:,} | {answers} |"
        )


if __name__ == "__main__":
    main()
