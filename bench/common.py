"""What the benchmarks share: fresh copies of a migrated template database, and `clik serve`
in a subprocess. (The benchmark scripts put the repository root on sys.path.)"""

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

REPO = Path(__file__).resolve().parents[1]


def fresh_database(server: EmbeddedServer, name: str, template: str) -> str:
    """A new copy of the migrated template; returns its URL (as the schema owner)."""
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return with_database(server.url(), name)


@dataclass
class Service:
    url: str  # http://127.0.0.1:port
    process: subprocess.Popen


class running_service:
    """`clik serve` on the benchmark's database, ready when entered, stopped on exit."""

    def __init__(
        self,
        database_url: str,
        port: int,
        workers: int,
        home: Path,
        *,
        settings: dict[str, str] | None = None,  # more CLIK_* variables
        checkout: Path = REPO,  # the clik whose service runs (bench/ingest --baseline)
    ) -> None:
        self.database_url, self.port, self.workers, self.home = database_url, port, workers, home
        self.settings, self.checkout = settings or {}, checkout

    def __enter__(self) -> Service:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CLIK_")}
        environment |= {"CLIK_DATABASE_URL": self.database_url, "CLIK_HOME": str(self.home)}
        environment |= self.settings | {"PYTHONPATH": str(self.checkout)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clik", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(self.workers)],
            env=environment, cwd=self.checkout, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
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
