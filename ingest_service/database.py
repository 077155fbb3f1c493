"""Connection pools, one per component, and the bounded way the routes use them.

A pool connects with the component's own login (CLIK_INGEST_DATABASE_URL, ...) or, unset, the
schema owner's URL. Nothing is set for a session: every transaction starts with
`transaction_settings` (its role, timeouts and time zone, for that transaction only) and no
statement is prepared on the server, so the pools work unchanged through PgBouncer in
transaction pooling mode.

Whatever goes wrong with the database (down, restarting, stalled without answering, out of
connections) becomes `DatabaseUnavailable` within a bounded time, which the app answers with
503 + Retry-After. The pool reconnects by itself, so the service recovers without a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout, TooManyRequests

from ingest_service.queries import query
from ingest_service.settings import IngestSettings

T = TypeVar("T")

# Errors that mean "the database is not usable right now", never "the request is bad":
# lost or refused connections, server shutdown, statement_timeout, lock/serialization aborts.
TRANSIENT_ERRORS = (
    psycopg.OperationalError,
    psycopg.errors.QueryCanceled,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    psycopg.errors.AdminShutdown,
    psycopg.errors.CannotConnectNow,
)


class DatabaseUnavailable(Exception):
    """PostgreSQL is down, stalled or out of connections: the client should retry later."""


TRANSACTION_SETTINGS = query("transaction_settings.sql")


def transaction_settings(role: str | None, settings: IngestSettings) -> dict[str, str | None]:
    """Parameters of TRANSACTION_SETTINGS: `role` (None: the login's own) and the bounds."""
    return {
        "role": role,
        "statement_timeout": str(settings.db_statement_timeout_ms),
        # a transaction left open is ended by PostgreSQL itself: it never holds locks for long
        "idle_timeout": str(settings.db_statement_timeout_ms * 2),
    }


async def open_pool(
    url: str,
    name: str,
    settings: IngestSettings,
    *,
    autocommit: bool = False,
) -> AsyncConnectionPool:
    """An open pool of connections to `url`.

    `autocommit`: each statement is its own transaction unless the caller opens one.

    It does not wait for the database: the service starts, answers 503 while PostgreSQL is
    away, and reconnects when it returns.
    """
    pool = AsyncConnectionPool(
        url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_pool_timeout_s,
        # Backoff doubles at every failed attempt: an attempt that never gave up would retry
        # minutes apart after a long outage. Giving up after a few seconds lets the next
        # request start a fresh attempt, so the service is back as soon as the database is.
        reconnect_timeout=settings.db_reconnect_timeout_s,
        # While the database stalls, a bounded queue: the rest are answered 503 at once.
        max_waiting=settings.db_pool_max_size * 8,
        kwargs={
            "connect_timeout": settings.db_connect_timeout_s,
            "application_name": f"clik-{name}",
            "autocommit": autocommit,
            # Server-side prepared statements live in a server session, which PgBouncer's
            # transaction pooling shares between clients.
            "prepare_threshold": None,
        },
        open=False,
        name=f"clik-{name}",
    )
    await pool.open(wait=False)
    return pool


async def run_unit(
    pool: AsyncConnectionPool,
    settings: IngestSettings,
    work: Callable[[psycopg.AsyncConnection], Awaitable[T]],
) -> T:
    """Runs `work` on a pooled connection, within a deadline; raises DatabaseUnavailable on
    any database outage.

    A connection found broken (e.g. after a server restart) means the idle ones are most
    likely broken too: they are all tested, the dead ones replaced, and only then is the work
    tried once more, so a restart costs no client a 503 once the server is back. Nothing is
    tested while connections work: a test at every checkout (the pool's `check=`) would cost
    every request a round trip."""
    for attempt in (1, 2):
        try:
            return await _run_once(pool, settings, work)
        except _BrokenConnection as error:
            if attempt == 2:
                raise DatabaseUnavailable("the database connection was lost") from error
        await _replace_broken_connections(pool, settings)
    raise AssertionError("unreachable")


async def _replace_broken_connections(pool: AsyncConnectionPool, settings: IngestSettings) -> None:
    """Tests every idle connection of `pool` and replaces the dead ones (`pool.check()`).

    Waits at most the usual deadline: a server that stalls instead of restarting answers no
    test. The check then goes on in the background, never cancelled: it holds the idle
    connections while it tests them, and a cancelled check would lose them."""
    check = asyncio.ensure_future(pool.check())
    _keep_until_done(check)
    try:
        await asyncio.wait_for(asyncio.shield(check), _deadline_s(settings))
    except TimeoutError as error:
        raise DatabaseUnavailable("the database did not answer in time") from error


def _deadline_s(settings: IngestSettings) -> float:
    """How long a unit of work may take: PostgreSQL's statement_timeout, plus a second for
    the server to say so."""
    return settings.db_statement_timeout_ms / 1000 + 1


class _BrokenConnection(Exception):
    """The connection died under the work; nothing was acknowledged to the client."""


async def _run_once(
    pool: AsyncConnectionPool,
    settings: IngestSettings,
    work: Callable[[psycopg.AsyncConnection], Awaitable[T]],
) -> T:
    try:
        conn = await pool.getconn()
    except (PoolTimeout, TooManyRequests) as error:
        raise DatabaseUnavailable("no database connection available") from error

    async def guarded() -> T:
        try:
            return await work(conn)
        except BaseException:
            # Whatever state the connection is in now, don't reuse it half-way through a
            # transaction; closing is immediate even when the server does not answer.
            if conn.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                await conn.close()
            raise
        finally:
            await pool.putconn(conn)

    # The work runs in its own task: on a stall we answer now, while the task is cancelled
    # in the background (psycopg may spend a few seconds trying to cancel on the server).
    task = asyncio.ensure_future(guarded())
    try:
        return await asyncio.wait_for(asyncio.shield(task), _deadline_s(settings))
    except TimeoutError as error:
        task.cancel()
        _keep_until_done(task)
        raise DatabaseUnavailable("the database did not answer in time") from error
    except TRANSIENT_ERRORS as error:
        if conn.closed and isinstance(error, psycopg.OperationalError):
            raise _BrokenConnection() from error
        raise DatabaseUnavailable(
            f"the database is unavailable ({type(error).__name__})"
        ) from error


_background: set[asyncio.Task] = set()


def _keep_until_done(task: asyncio.Task) -> None:
    """Holds a reference to a background task until it ends (asyncio keeps only weak ones)."""
    _background.add(task)
    task.add_done_callback(_background.discard)
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
