"""Owner API latency: token-proven row-level security against the revision before it, and
directly against through PgBouncer (transaction pooling), side by side in one run.

    .venv/bin/python bench/owner_api/run.py --baseline 8a0c98c

Each setup: a fresh copy of one database (a year of daily rows for 500 user codes, 50 owners),
`clik serve --workers 2`, then GET /api/analytics/stats/daily (30 days of one owner's user
code) from 1 and from 32 keep-alive clients, `--runs` times `--seconds` each; medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench" / "seed_comparison"))  # api_load
sys.path.insert(0, str(REPO / "bench" / "ingest"))  # before it: its run.py is the `run` here

import api_load  # noqa: E402
import run as ingest_bench  # noqa: E402  (bench/ingest/run.py: templates and checkouts)

from bench import common  # noqa: E402
from bench.common import running_service  # noqa: E402
from clik.embedded import EmbeddedServer  # noqa: E402
from clik.owners import add_owner  # noqa: E402
from tests.pgbouncer import running_pgbouncer, through  # noqa: E402

USER_CODES = 500
OWNERS = 50
SEED = """
INSERT INTO analytics_daily_user_stats
    (user_code, date, total_sessions, total_page_views, total_clicks, unique_share_codes)
SELECT 'u' || code, day, code, 4 * code, 2 * code, '{qr1}'
FROM generate_series(1, %(codes)s) AS code,
     generate_series('2026-01-01'::date, '2026-12-31', '1 day') AS day;
ANALYZE;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", metavar="REV", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=18002)
    parser.add_argument("--home", type=Path, default=Path("/tmp/clik-bench-owner-api"))
    options = parser.parse_args()

    server = EmbeddedServer(options.home / "pgdata", durable=True)
    server.start()
    checkouts = {
        "clik": REPO,
        options.baseline: ingest_bench.baseline_checkout(options.baseline, options.home),
    }
    results: dict[str, dict] = {}
    try:
        with running_pgbouncer(server.url("postgres"), pool_size=8) as pgbouncer:
            for version, checkout in checkouts.items():
                ingest_bench.prepare_template(server, ingest_bench.template_name(version), checkout)
                setups = [(version, False)] + ([(version, True)] if version == "clik" else [])
                for name, pooled in setups:
                    label = f"{name}, through PgBouncer" if pooled else name
                    print(f"{label} ...", file=sys.stderr)
                    results[label] = measure(server, options, version, checkout, pooled, pgbouncer)
    finally:
        server.stop()
    print(f"\n## bench/owner_api: {options.runs} runs x {options.seconds:g} s, medians\n")
    print("| setup | 1 client p50 / p99 (ms) | 32 clients p50 / p99 (ms) | requests/s at 32 |")
    print("|---|---|---|---|")
    for label, r in results.items():
        print(f"| {label} | {r[1]['p50']:.2f} / {r[1]['p99']:.2f} | {r[32]['p50']:.2f} / "
              f"{r[32]['p99']:.2f} | {r[32]['rps']:.0f} |")  # fmt: skip


def measure(
    server: EmbeddedServer,
    options: argparse.Namespace,
    version: str,
    checkout: Path,
    pooled: bool,
    pgbouncer: int,
) -> dict:
    tag = ingest_bench.template_name(version).removeprefix("bench_ingest_template_")
    url = common.fresh_database(
        server, f"bench_owner_{tag}_{int(pooled)}", ingest_bench.template_name(version)
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED.replace("%(codes)s", str(USER_CODES)))
    token = owner_token(url)
    settings = {}
    if pooled:
        settings = {"CLIK_READER_DATABASE_URL": through(url, pgbouncer)}
    path = "/api/analytics/stats/daily?user_code=u1&from=2026-06-01&to=2026-06-30"
    with running_service(url, options.port, 2, options.home, settings=settings,
                         checkout=checkout) as service:  # fmt: skip
        api_load.run_load(service.url, [path], token, 32, 2.0)  # warm-up: pools grown
        measured = {}
        for clients in (1, 32):
            runs = [
                api_load.run_load(service.url, [path], token, clients, options.seconds)
                for _ in range(options.runs)
            ]
            assert all(set(r.statuses) == {200} for r in runs), [r.statuses for r in runs]
            measured[clients] = {
                "p50": statistics.median(r.percentile_ms(0.50) for r in runs),
                "p99": statistics.median(r.percentile_ms(0.99) for r in runs),
                "rps": statistics.median(r.requests_per_second for r in runs),
            }
    return measured


def owner_token(url: str) -> str:
    """Owner 0 holds u1 (and every OWNERS-th code after it); the others hold the rest. (The
    owners' tables and tokens are the same in both revisions.)"""
    with psycopg.connect(url, autocommit=True) as conn:
        tokens = [
            add_owner(
                conn, f"owner {owner}", [f"u{c}" for c in range(1 + owner, USER_CODES + 1, OWNERS)]
            )[1]
            for owner in range(OWNERS)
        ]
    return tokens[0]


if __name__ == "__main__":
    main()
