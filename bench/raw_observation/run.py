"""Benchmark of one raw_tables_observation_sensor tick and of one raw_volume_is_typical
evaluation at a million visitors a day (see README.md).

    .venv/bin/python bench/raw_observation/run.py                 # full size: 2 days of 1M visitors
    .venv/bin/python bench/raw_observation/run.py --scale 0.05    # a quick check

Uses its own durable embedded PostgreSQL in --home (re-created database each run). The tick is
measured on a simulated clock: `observe()` and `judge_volume()` of clik_pipeline.defs.raw, the
SQL work of a tick, called with the moment a tick would have at the end of a loaded day.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from clik.embedded import EmbeddedServer  # noqa: E402
from clik.migrations import migrate  # noqa: E402
from clik_pipeline.defs.raw import observation, volume  # noqa: E402
from clik_pipeline.defs.raw.observation import ObservationCursor, observe  # noqa: E402
from clik_pipeline.defs.raw.volume import HISTORY_WEEKS, judge_volume  # noqa: E402
from clik_pipeline.resources import ClikDatabase  # noqa: E402

GENERATORS = ROOT / "bench" / "aggregate" / "sql"  # the same generated days as bench/aggregate
DATABASE = "bench"
SESSIONS_PER_DAY = 900_000  # a million visitors a day (bench/aggregate)
WINDOW = timedelta(minutes=5)  # the sensor's interval
TABLES = ("analytics_sessions", "analytics_page_views", "analytics_clicks")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 0.9M sessions a day")
    parser.add_argument("--repeat", type=int, default=5, help="measurements of each case")
    parser.add_argument("--user-codes", type=int, default=10_000, help="cards sharing the traffic")
    parser.add_argument("--unwritten-share", type=float, default=0.2,
                        help="share of today's partition autovacuum has not reached yet")  # fmt: skip
    parser.add_argument("--home", type=Path, default=Path("/tmp/clik-bench-raw-observation"))
    args = parser.parse_args()
    sessions = max(100, round(SESSIONS_PER_DAY * args.scale))

    server = EmbeddedServer(args.home / "pgdata", durable=True)
    server.start()
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))  # fmt: skip
    url = server.url(DATABASE)
    migrate(url)
    (real_today,) = query(url, "SELECT (now() AT TIME ZONE 'UTC')::date")[0]
    today = real_today - timedelta(2)  # the simulated today: a fully loaded day
    yesterday = today - timedelta(1)
    results: dict = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "scale": args.scale,
        "sessions_per_day": sessions,
        "user_codes": args.user_codes,
        "repeat": args.repeat,
        "today": today.isoformat(),
        "load_average_at_start": os.getloadavg(),
    }
    say(f"scale {args.scale}: {sessions:,} sessions a day, {args.user_codes:,} user codes")
    results["loaded"] = load(url, [yesterday, today], sessions, args.user_codes)
    history(url, today)

    database = ClikDatabase(database_url=url)
    end_of_day = datetime.combine(today + timedelta(1), datetime.min.time(), UTC) - WINDOW
    start = end_of_day - WINDOW  # the previous tick

    def first_tick(conn: psycopg.Connection) -> dict:
        cursor = ObservationCursor()
        counts = observe(conn, cursor, start, today)
        return {"observations": len(counts)}

    with database.connect() as conn:
        known = ObservationCursor()
        observe(conn, known, start, today)  # the state a tick at `start` leaves
    known_state = known.dump()

    def steady_tick(conn: psycopg.Connection) -> dict:
        counts = observe(conn, ObservationCursor.load(known_state), end_of_day, today)
        return {"observations": len(counts)}

    def full_recount(conn: psycopg.Connection) -> dict:
        """What a tick costs that recounts today's three partitions in full instead."""
        for name in ("count_page_view_day", "count_click_day", "count_session_day"):
            observation.queries.run(conn, name, {"day": today, "until": end_of_day}).fetchall()
        return {}

    def judge(conn: psycopg.Connection) -> dict:
        morning = datetime.combine(today + timedelta(1), datetime.min.time(), UTC)
        verdict = judge_volume(conn, today, morning + timedelta(hours=1))
        return {"passed": verdict.passed, "silent": verdict.metadata.get("silent_user_codes")}

    window = window_rows(url, start, end_of_day)
    results["window_rows"] = window
    say(f"  rows received in the {WINDOW} window: {window}")
    cases: dict[str, dict] = {}
    cases["first tick (no cursor: today and yesterday in full)"] = timed(
        database, first_tick, args.repeat
    )
    cases["full recount of today (the naive tick)"] = timed(database, full_recount, args.repeat)
    cases["steady tick, end of day"] = timed(database, steady_tick, args.repeat)
    late_session(url, yesterday, start + WINDOW / 2)
    cases["steady tick + a late session of yesterday"] = timed(database, steady_tick, args.repeat)
    results["unwritten"] = unwritten(url, today, args.unwritten_share)
    cases["steady tick + late session, today unvacuumed"] = timed(
        database, steady_tick, args.repeat
    )
    cases[f"{'raw_volume_is_typical'} on today ({HISTORY_WEEKS} weekdays of history)"] = timed(database, judge, args.repeat)  # fmt: skip
    results["cases"] = cases
    results["load_average_at_end"] = os.getloadavg()
    report(results)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"raw-observation-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    say(f"results in {path}")
    server.stop()


def load(url: str, days: list[date], sessions: int, user_codes: int) -> dict:
    """The days generated in the server, as bench/aggregate does, then VACUUM ANALYZE."""
    began = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '512MB'")
        for day in days:
            start = time.perf_counter()
            conn.execute("SELECT ensure_raw_partitions(%s, %s)", [day, day + timedelta(1)])
            params = {"day": day, "sessions": sessions, "user_codes": user_codes}
            for name in ("generate_sessions", "generate_page_views", "generate_clicks"):
                conn.execute((GENERATORS / f"{name}.sql").read_text(), params)
            say(f"  loaded {day} in {time.perf_counter() - start:.1f} s")
        conn.execute("VACUUM (ANALYZE) analytics_sessions, analytics_page_views, analytics_clicks")
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES
        }
    return {"seconds": round(time.perf_counter() - began, 1), **counts}


def history(url: str, day: date) -> None:
    """The same weekdays before `day` in analytics_daily_user_stats: `day`'s own page views
    per user code, as if every week had been the same."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO analytics_daily_user_stats (user_code, date, total_page_views) "
            "SELECT user_code, %(day)s - 7 * week, count(*) FROM analytics_page_views "
            "CROSS JOIN generate_series(1, %(weeks)s) AS week "
            "WHERE viewed_at >= %(day)s::timestamp AT TIME ZONE 'UTC' "
            "AND viewed_at < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC' "
            "GROUP BY user_code, week",
            {"day": day, "weeks": HISTORY_WEEKS},
        )
        conn.execute("VACUUM (ANALYZE) analytics_daily_user_stats")


def late_session(url: str, day: date, received_at: datetime) -> None:
    """A session and page view of `day` received within the window (a phone back online)."""
    moment = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=20)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "INSERT INTO analytics_sessions (session_id, user_code, first_seen, last_seen, "
            "page_views, user_agent, received_at) VALUES ('late', 'user-000001', %s, %s, 1, "
            "'bench', %s)",
            [moment, moment, received_at],
        )
        conn.execute(
            "INSERT INTO analytics_page_views (id, session_id, user_code, page_type, viewed_at, "
            "received_at) VALUES (uuidv7(), 'late', 'user-000001', 'home', %s, %s)",
            [moment, received_at],
        )


def unwritten(url: str, day: date, share: float) -> dict:
    """Today as it is while being written: the BRIN ranges of the last `share` of its event
    partitions not summarized yet (autovacuum summarizes them when it vacuums the partition,
    after every 20% of new rows by default), and its sessions just updated (as each event's
    counter trigger does), so their pages are not all-visible."""
    began = time.perf_counter()
    desummarized = 0
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("analytics_page_views", "analytics_clicks"):
            partition = f"{table}_p{day:%Y%m%d}"
            index = conn.execute(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass "
                "AND indexrelid::regclass::text LIKE '%%received_at%%'",
                [partition],
            ).fetchone()[0]
            (blocks,) = conn.execute(
                "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int",
                [partition],
            ).fetchone()
            for block in range(int(blocks * (1 - share)) // 128 * 128, blocks, 128):
                conn.execute("SELECT brin_desummarize_range(%s::regclass, %s)", [index, block])
                desummarized += 1
        updated = conn.execute(
            "UPDATE analytics_sessions SET clicks = clicks "
            "WHERE first_seen >= %(day)s::timestamp AT TIME ZONE 'UTC' "
            "AND first_seen < (%(day)s + 1)::timestamp AT TIME ZONE 'UTC'",
            {"day": day},
        ).rowcount
    return {
        "brin_ranges_desummarized": desummarized,
        "sessions_updated": updated,
        "seconds": round(time.perf_counter() - began, 1),
    }


def window_rows(url: str, after: datetime, until: datetime) -> dict:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*) FROM {table} WHERE received_at > %s AND received_at <= %s",
                [after, until],
            ).fetchone()[0]
            for table in TABLES
        }


class TimedQueries:
    """The raw domain's Queries, timing each statement (summed per SQL file, per run)."""

    def __init__(self, inner: observation.Queries) -> None:
        self.inner = inner
        self.seconds: dict[str, float] = {}

    def run(self, conn: psycopg.Connection, name: str, params: dict | None = None) -> Rows:
        began = time.perf_counter()
        rows = self.inner.run(conn, name, params).fetchall()  # done once the rows are in
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - began
        return Rows(rows)

    def scalar(self, conn: psycopg.Connection, name: str, params: dict | None = None) -> object:
        row = self.run(conn, name, params).fetchone()
        return row[0] if row else None


class Rows(list):
    def fetchone(self) -> tuple | None:
        return self[0] if self else None

    def fetchall(self) -> list:
        return list(self)


def timed(database: ClikDatabase, work: Callable[[psycopg.Connection], dict], repeat: int) -> dict:
    """`repeat` runs after a warm-up, each on a fresh pipeline connection (as a tick opens
    one); the median and the spread of their wall times, and the median time of each SQL
    file they ran."""
    seconds, per_query = [], []
    for n in range(repeat + 1):
        timing = TimedQueries(observation.queries)
        observation.queries = volume.queries = timing  # type: ignore[assignment]
        try:
            with database.connect() as conn:
                began = time.perf_counter()
                outcome = work(conn)
                elapsed = time.perf_counter() - began
        finally:
            observation.queries = volume.queries = timing.inner
        if n:
            seconds.append(elapsed)
            per_query.append(timing.seconds)
    names = sorted({name for run in per_query for name in run})
    return {
        "median_s": round(statistics.median(seconds), 4),
        "min_s": round(min(seconds), 4),
        "max_s": round(max(seconds), 4),
        "sql_median_s": {
            name: round(statistics.median(run.get(name, 0.0) for run in per_query), 4)
            for name in names
        },
        **outcome,
    }


def query(url: str, text: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(text).fetchall()


def report(results: dict) -> None:
    loaded = results["loaded"]
    print()
    print(
        f"scale {results['scale']}: 2 days loaded ({loaded['analytics_sessions']:,} sessions, "
        f"{loaded['analytics_page_views']:,} page views, {loaded['analytics_clicks']:,} clicks); "
        f"window {WINDOW}: {results['window_rows']}; medians of {results['repeat']}"
    )
    print(
        f"load average at start {results['load_average_at_start']}, at end {results['load_average_at_end']}"
    )
    print("| case | median s | min s | max s | SQL, median s |")
    print("|---|---|---|---|---|")
    for case, figures in results["cases"].items():
        parts = ", ".join(f"{name} {s:.3f}" for name, s in figures["sql_median_s"].items())
        print(f"| {case} | {figures['median_s']:.3f} | {figures['min_s']:.3f} | {figures['max_s']:.3f} | {parts} |")  # fmt: skip


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
