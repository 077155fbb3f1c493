"""The benchmark's own embedded PostgreSQL (with pg_stat_statements) and its databases."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from bench import common
from clik.embedded import EmbeddedServer
from clik.migrations import migrate

TEMPLATE = "seed_bench_template"

# Statement counts need pg_stat_statements (preloaded, so a restart after the first start).
# Autovacuum is off so that nothing but the measured work commits during a measurement; the
# benchmark runs VACUUM ANALYZE itself where a DBA would.
SERVER_SETTINGS = {
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "all",
    "autovacuum": "off",
}


def start_server(home: Path) -> EmbeddedServer:
    server = EmbeddedServer(home / "pgdata", durable=True)
    server.start()
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        current = dict(
            admin.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                [list(SERVER_SETTINGS)],
            ).fetchall()
        )
        if current != SERVER_SETTINGS:
            for name, value in SERVER_SETTINGS.items():
                admin.execute(
                    sql.SQL("ALTER SYSTEM SET {} = {}").format(
                        sql.Identifier(name), sql.Literal(value)
                    )
                )
            restart = True
        else:
            restart = False
    if restart:
        server.stop()
        server.start()
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        # The measuring connection reads the statistics from here.
        admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        admin.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEMPLATE))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    url = server.url(TEMPLATE)
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
    return server


def fresh_database(server: EmbeddedServer, name: str) -> str:
    """A new copy of the migrated template; returns its URL (as the schema owner)."""
    return common.fresh_database(server, name, TEMPLATE)
