"""The benchmark's own embedded PostgreSQL (with pg_stat_statements), its databases, and
`clik serve` in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from clik.database import with_database
from clik.embedded import EmbeddedServer
from clik.migrations import migrate

REPO = Path(__file__).resolve().parents[2]
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
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE)
            )
        )
    return with_database(server.url(), name)


@dataclass
class Service:
    url: str  # http://127.0.0.1:port
    process: subprocess.Popen


class running_service:
    """`clik serve` on the benchmark's database, ready when entered, stopped on exit."""

    def __init__(self, database_url: str, port: int, workers: int, home: Path) -> None:
        self.database_url, self.port, self.workers, self.home = database_url, port, workers, home

    def __enter__(self) -> Service:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CLIK_")}
        environment |= {"CLIK_DATABASE_URL": self.database_url, "CLIK_HOME": str(self.home)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clik", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(self.workers)],
            env=environment, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"clik serve exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.sendall(b"GET /readyz HTTP/1.1\r\nHost: bench\r\n\r\n")
                    if b" 200 " in probe.recv(200):
                        return Service(f"http://127.0.0.1:{self.port}", self.process)
            except OSError:
                pass
            time.sleep(0.2)
        self.process.kill()
        raise SystemExit("clik serve did not become ready within 60 s")

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
