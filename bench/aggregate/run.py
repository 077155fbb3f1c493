"""Benchmark of the daily aggregation and of raw retention (see README.md).

    .venv/bin/python bench/aggregate/run.py                        # full size: 1M visitors/day, 30 days
    .venv/bin/python bench/aggregate/run.py --scale 0.05 --days 5   # a quick check

Uses its own durable embedded PostgreSQL in --home (re-created database each run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from clik.database import sqlalchemy_url  # noqa: E402
from clik.embedded import EmbeddedServer  # noqa: E402
from clik.migrations import migrate  # noqa: E402

HERE = Path(__file__).resolve().parent
SQL = HERE / "sql"
DATABASE, DAGSTER_DATABASE = "bench", "bench_dagster"
SESSIONS_PER_DAY = 900_000  # a million visitors a day, ~1.35 sessions per returning visitor


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 0.9M sessions a day")
    parser.add_argument("--days", type=int, default=30, help="days loaded for the second phase")
    parser.add_argument("--repeat", type=int, default=3, help="measurements of each variant")
    parser.add_argument("--user-codes", type=int, default=10_000, help="cards sharing the traffic")
    parser.add_argument("--home", type=Path, default=Path("/tmp/clik-bench-aggregate"))
    args = parser.parse_args()
    sessions = max(100, round(SESSIONS_PER_DAY * args.scale))

    server = EmbeddedServer(args.home / "pgdata", durable=True)  # fsync on, as in production
    server.start()
    admin = server.url("postgres")
    for name in (DATABASE, DAGSTER_DATABASE):
        recreate(admin, name)
    url = server.url(DATABASE)
    migrate(url)
    environment = dagster_environment(args.home, server.url(DAGSTER_DATABASE))
    (today,) = query(url, "SELECT (now() AT TIME ZONE 'UTC')::date")[0]
    day = today - timedelta(2)
    older = [day - timedelta(n) for n in range(1, args.days)]
    dropped, deleted = day - timedelta(args.days + 1), day - timedelta(args.days)

    results: dict = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "scale": args.scale,
        "sessions_per_day": sessions,
        "user_codes": args.user_codes,
        "days": args.days,
        "repeat": args.repeat,
        "day": day.isoformat(),
    }
    say(f"scale {args.scale}: {sessions:,} sessions a day, {args.user_codes:,} user codes")
    results["load_day"] = load(url, [day], sessions, args.user_codes)
    results["one_day_loaded"] = compare(url, server, environment, day, args.repeat)

    results["load_more"] = load(url, [*older, deleted, dropped], sessions, args.user_codes)
    results["days_loaded"] = args.days + 2
    results["many_days_loaded"] = compare(url, server, environment, day, args.repeat)

    # Asked again: a long run may have crossed midnight since it started.
    (today,) = query(url, "SELECT (now() AT TIME ZONE 'UTC')::date")[0]
    results["retention"] = retention(url, server, environment, today, dropped, deleted)
    report(results)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"aggregate-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    say(f"results in {path}")


def recreate(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def dagster_environment(home: Path, dagster_url: str) -> dict[str, str]:
    dagster_home = home / "dagster"
    shutil.rmtree(dagster_home, ignore_errors=True)
    dagster_home.mkdir(parents=True)
    shutil.copyfile(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    return {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "CLIK_DAGSTER_DATABASE_URL": sqlalchemy_url(dagster_url),
    }


def load(url: str, days: list[date], sessions: int, user_codes: int) -> dict:
    """Generates the days server-side (counter triggers off: counters are set directly), then
    VACUUM ANALYZE as autovacuum would have done by the time the day is aggregated."""
    began = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '512MB'")
        for day in sorted(days):
            start = time.perf_counter()
            conn.execute("SELECT ensure_raw_partitions(%s, %s)", [day, day + timedelta(1)])
            params = {"day": day, "sessions": sessions, "user_codes": user_codes}
            for name in ("generate_sessions", "generate_page_views", "generate_clicks"):
                conn.execute((SQL / f"{name}.sql").read_text(), params)
            say(f"  loaded {day} in {time.perf_counter() - start:.1f} s")
        conn.execute("VACUUM (ANALYZE) analytics_sessions, analytics_page_views, analytics_clicks")
        rows = conn.execute(
            "SELECT (SELECT count(*) FROM analytics_sessions), "
            "(SELECT count(*) FROM analytics_page_views), (SELECT count(*) FROM analytics_clicks), "
            "pg_database_size(current_database())"
        ).fetchone()
    loaded = {
        "seconds": time.perf_counter() - began,
        "sessions": rows[0],
        "page_views": rows[1],
        "clicks": rows[2],
        "database_bytes": rows[3],
    }
    say(
        f"  now {rows[0]:,} sessions, {rows[1]:,} page views, {rows[2]:,} clicks, "
        f"database {rows[3] / 2**30:.1f} GiB"
    )
    return loaded


def compare(url: str, server: EmbeddedServer, environment: dict, day: date, repeat: int) -> dict:
    """Bare queries, assets, and the job (assets + checks) of one day, interleaved."""
    measure(url, server, environment, "bare", day=day)  # warm-up: the day's pages in cache
    runs: dict[str, list[dict]] = {"bare": [], "assets": [], "job": []}
    for n in range(repeat):
        order = ["bare", "assets", "job"]
        for variant in order[n % 3 :] + order[: n % 3]:
            runs[variant].append(measure(url, server, environment, variant, day=day))
    summary = {variant: summarize(measured) for variant, measured in runs.items()}
    summary["assets_over_bare"] = summary["assets"]["seconds"] / summary["bare"]["seconds"]
    summary["job_over_bare"] = summary["job"]["seconds"] / summary["bare"]["seconds"]
    summary["job_cpu_over_bare"] = (
        summary["job"]["postgres_cpu_seconds"] / summary["bare"]["postgres_cpu_seconds"]
    )
    summary["runs"] = runs
    say(
        f"  {day}: bare {summary['bare']['seconds']:.2f} s, assets "
        f"{summary['assets']['seconds']:.2f} s ({summary['assets_over_bare']:.2f}x), assets + "
        f"checks {summary['job']['seconds']:.2f} s ({summary['job_over_bare']:.2f}x); "
        f"PostgreSQL CPU: bare {summary['bare']['postgres_cpu_seconds']:.2f} s, job "
        f"{summary['job']['postgres_cpu_seconds']:.2f} s ({summary['job_cpu_over_bare']:.2f}x)"
    )
    return summary


def retention(
    url: str, server: EmbeddedServer, environment: dict, today: date, dropped: date, deleted: date
) -> dict:
    """One expired day dropped by raw_retention_job, against a plain DELETE of a day of the
    same size (and the VACUUM that DELETE needs to give the space back for reuse)."""
    measure(url, server, environment, "job", day=dropped)  # materialized and checked
    before = query(url, "SELECT pg_database_size(current_database())")[0][0]
    job = measure(url, server, environment, "retention", retention_days=(today - deleted).days)
    after = query(url, "SELECT pg_database_size(current_database())")[0][0]
    job["database_bytes_returned"] = before - after
    with psycopg.connect(url, autocommit=True) as conn:
        began = time.perf_counter()
        with conn.transaction():
            rows = sum(
                conn.execute(
                    (SQL / f"delete_day_{table}.sql").read_text(), {"day": deleted}
                ).rowcount
                for table in ("page_views", "clicks", "sessions")
            )
        delete_seconds = time.perf_counter() - began
        began = time.perf_counter()
        conn.execute("VACUUM analytics_sessions, analytics_page_views, analytics_clicks")
        vacuum_seconds = time.perf_counter() - began
    plain = {
        "rows_deleted": rows,
        "delete_seconds": delete_seconds,
        "vacuum_seconds": vacuum_seconds,
        "database_bytes_returned": after
        - query(url, "SELECT pg_database_size(current_database())")[0][0],
    }
    say(
        f"  retention of {dropped}: {job['seconds']:.2f} s (drop {job['database_seconds']:.2f} s, "
        f"{job['rows_deleted']:,} rows, {job['bytes_freed'] / 2**20:.0f} MiB freed); plain DELETE "
        f"of {deleted}: {delete_seconds:.2f} s + VACUUM {vacuum_seconds:.2f} s ({rows:,} rows)"
    )
    return {
        "dropped_day": dropped.isoformat(),
        "job": job,
        "deleted_day": deleted.isoformat(),
        "plain_delete": plain,
    }


DAILY_TABLES = (
    "analytics_daily_user_stats, analytics_daily_group_stats, analytics_daily_click_targets, "
    "analytics_daily_page_stats"
)


def measure(url: str, server: EmbeddedServer, environment: dict, variant: str, **options) -> dict:
    # Each run replaces the day's rows; without this, the dead rows of earlier runs would slow
    # later ones (in production the day is replaced once, and autovacuum follows).
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE) {DAILY_TABLES}")
    command = [
        sys.executable,
        str(HERE / "measure.py"),
        variant,
        "--url",
        url,
        "--pgdata",
        str(server.pgdata),
    ]
    for option, value in options.items():
        command += [f"--{option.replace('_', '-')}", str(value)]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarize(runs: list[dict]) -> dict:
    return {
        key: statistics.median(run[key] for run in runs)
        for key in ("seconds", "postgres_cpu_seconds", "python_peak_rss_mb", "postgres_peak_uss_mb")
    }


def query(url: str, text: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(text).fetchall()


def report(results: dict) -> None:
    print()
    print(
        f"scale {results['scale']} ({results['sessions_per_day']:,} sessions a day), "
        f"medians of {results['repeat']}"
    )
    print(
        "| day loaded with | variant | wall s | x bare | PG CPU s | x bare "
        "| Python peak RSS MB | PG backend peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for phase, label in (
        ("one_day_loaded", "1 day"),
        ("many_days_loaded", f"{results['days_loaded']} days"),
    ):
        summary = results[phase]
        for variant in ("bare", "assets", "job"):
            row = summary[variant]
            ratio = row["seconds"] / summary["bare"]["seconds"]
            cpu = row["postgres_cpu_seconds"]
            cpu_ratio = cpu / summary["bare"]["postgres_cpu_seconds"]
            print(
                f"| {label} | {variant} | {row['seconds']:.2f} | {ratio:.2f} | "
                f"{cpu:.2f} | {cpu_ratio:.2f} | "
                f"{row['python_peak_rss_mb']:.0f} | {row['postgres_peak_uss_mb']:.0f} |"
            )
    kept = results["retention"]
    print(
        f"retention job: {kept['job']['seconds']:.2f} s (drop {kept['job']['database_seconds']:.2f} s); "
        f"plain DELETE: {kept['plain_delete']['delete_seconds']:.2f} s "
        f"+ VACUUM {kept['plain_delete']['vacuum_seconds']:.2f} s"
    )


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
