"""The checks' passes over a chunk's raw rows, run on a second connection while the aggregation
writes: the aggregation keeps one core of the database busy with its GROUP BY queries, and the
checks' own reading of the same raw rows (the largest part of their cost) takes another.

The second connection imports the aggregation transaction's snapshot (`pg_export_snapshot`,
`SET TRANSACTION SNAPSHOT`), so it reads exactly the raw rows the aggregates come from. It
fills the collections' temporary tables there, spools their rows (COPY, binary, to a temporary
file) and ends its transaction at once; the aggregation's transaction then loads them into
temporary tables of its own, of the same names, and compares as if it had read them itself.

The aggregation waits for it outside the database, where no deadlock detector sees the wait.
The only way the passes can in turn wait for the aggregation is a lock: a DDL statement queued
behind the aggregation's locks on a raw table, and the passes' lock queued behind that. They
give up any lock wait after a second (`set_raw_passes_lock_timeout.sql`), which breaks the
cycle. Whenever they cannot help (no connection 2 s after the writes, a lock wait, any error),
the aggregation's transaction runs the passes itself: the same result, only later. When the
aggregation fails, they are cancelled and their connection closed before it rolls back.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import IO

import psycopg
from psycopg import sql

from clik_pipeline.defs.daily.checks import Collection, run_pass
from clik_pipeline.queries import Queries

queries = Queries(__package__)

# How long the aggregation, done writing, waits for the passes to have started at all (a pool
# without a free server connection would make it wait much longer).
START_TIMEOUT_SECONDS = 2.0
# Rows beyond this are spooled to disk instead of memory (a 31-day chunk at a million visitors
# a day spools a few hundred MB).
SPOOL_IN_MEMORY_BYTES = 32 * 2**20

Connect = Callable[[], AbstractContextManager[psycopg.Connection]]


class RawPassesBeside:
    """Runs `passes` for `days` on a connection from `connect`, on the exported `snapshot`,
    from `__enter__` on; `hand_over` then loads their rows into the caller's transaction."""

    def __init__(
        self, connect: Connect, snapshot: str, passes: Sequence[Collection], days: Sequence[date]
    ) -> None:
        self._connect = connect
        self._snapshot = snapshot
        self._passes = passes
        self._days = days
        self._guard = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._abandoned = False
        self._started = threading.Event()  # the snapshot is imported: the passes are running
        self._settled = threading.Event()  # started, or ended without starting
        self._spools: dict[str, IO[bytes]] = {}
        self._error: BaseException | None = None
        self.not_used: str | None = None  # why hand_over handed nothing over
        self._thread = threading.Thread(target=self._run, name="clik-raw-passes", daemon=True)

    def __enter__(self) -> RawPassesBeside:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._abandon()
        for spool in self._spools.values():
            spool.close()

    def hand_over(self, conn: psycopg.Connection) -> set[str]:
        """Waits for the passes (unless they have not started yet) and loads their rows into
        `conn`'s transaction; returns the collections loaded. None are when the passes could
        not help (`not_used` says why): the caller then runs them itself."""
        self._settled.wait(START_TIMEOUT_SECONDS)
        with self._guard:
            started, error = self._started.is_set(), self._error
            if not started:
                self._abandoned = True  # a connection made later closes without starting
        if not started:
            self.not_used = (
                f"they failed before they started: {error}"
                if error
                else f"they had no connection {START_TIMEOUT_SECONDS:g} s after the writes"
            )
            return set()
        self._thread.join()
        if self._error is not None:
            self.not_used = f"they failed: {self._error}"
            return set()
        for collection in self._passes:
            for create in collection.create:
                queries.run(conn, create)
            with self._spools.pop(collection.name) as spool:
                spool.seek(0)
                with conn.cursor().copy(_copy("copy_collection_in", collection)) as copy:
                    while block := spool.read(2**20):
                        copy.write(block)
        return {collection.name for collection in self._passes}

    def _run(self) -> None:
        try:
            with self._connect() as conn:
                with self._guard:
                    if self._abandoned:
                        return
                    self._conn = conn
                try:
                    self._run_passes(conn)
                finally:
                    with self._guard:
                        self._conn = None
        except BaseException as error:  # reported by hand_over, never raised in this thread
            self._error = error
        finally:
            self._settled.set()

    def _run_passes(self, conn: psycopg.Connection) -> None:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            conn.execute(
                sql.SQL(queries.text("import_snapshot")).format(
                    snapshot=sql.Literal(self._snapshot)
                )
            )
            queries.run(conn, "set_check_work_mem")
            queries.run(conn, "set_raw_passes_lock_timeout")
            with self._guard:
                if self._abandoned:
                    return
                self._started.set()
            self._settled.set()
            for collection in self._passes:
                for create in collection.create:
                    queries.run(conn, create)
                run_pass(conn, collection, self._days)
                self._spools[collection.name] = self._spool(conn, collection)

    def _spool(self, conn: psycopg.Connection, collection: Collection) -> IO[bytes]:
        # closed by hand_over once copied in, else by __exit__
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
        try:
            with conn.cursor().copy(_copy("copy_collection_out", collection)) as copy:
                for block in copy:
                    spool.write(block)
        except BaseException:
            spool.close()
            raise
        return spool

    def _abandon(self) -> None:
        """Stops the passes if they still run (their result is no longer wanted) and waits for
        their connection to be given back; one not yet connected is left to give up alone."""
        with self._guard:
            self._abandoned = True
        if not self._started.is_set():
            return
        # A cancel that reaches the server between two statements cancels nothing: repeat it.
        while self._thread.is_alive():
            with self._guard:
                conn = self._conn
            if conn is not None:
                with contextlib.suppress(psycopg.Error):
                    conn.cancel_safe(timeout=5)
            self._thread.join(0.2)


def _copy(name: str, collection: Collection) -> sql.Composed:
    assert collection.table
    return sql.SQL(queries.text(name)).format(table=sql.Identifier(collection.table))
