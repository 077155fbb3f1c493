"""Group commit (docs/contract.md 3a): the batches of concurrent requests written in one transaction.

Each request validates and plans its batch, then queues it and waits for its answer. A few
writer tasks per process each take everything waiting (up to CLIK_INGEST_GROUP_MAX_EVENTS)
and write it as one transaction (`store.write_group`). Nothing waits on purpose: a batch that
arrives while a writer is idle is written at once, and while every writer is busy the next
group gathers by itself. CLIK_INGEST_GROUP_WAIT_MS may add a short wait to gather more.

Failures are kept to the batches they belong to. An outage answers every batch of the group
503 (its transaction rolled back, nothing written); any other failure of a group is retried
batch by batch, so no request fails for another's content. The queue is bounded by events
(CLIK_INGEST_QUEUE_MAX_EVENTS): past it a request is answered 503 at once. A request whose
client goes away stops waiting, but its batch stays queued and is written with the others.
`close()` stops taking batches and returns once every queued one is written and answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from ingest_service.database import DatabaseUnavailable, run_unit, transaction_settings
from ingest_service.events import TimeWindow
from ingest_service.plan import Outcome, WritePlan
from ingest_service.settings import IngestSettings
from ingest_service.store import write_group

logger = logging.getLogger(__name__)


class IngestBusy(DatabaseUnavailable):
    """The queue is full or the service is stopping: the client should retry later."""


class BatchNotStored(Exception):
    """The database refused this batch alone for a reason that is not an outage (none that
    validation knows of): answered 500, logged once, nothing of it written."""


@dataclass(slots=True)
class _Queued:
    plan: WritePlan
    window: TimeWindow
    answer: asyncio.Future[Outcome]


class GroupCommitter:
    def __init__(self, pool: AsyncConnectionPool, settings: IngestSettings) -> None:
        self._pool = pool
        self._settings = settings
        self._transaction_settings = transaction_settings(settings.ingest_role, settings)
        self._queue: deque[_Queued] = deque()
        self._queued_events = 0
        self._arrived = asyncio.Event()
        self._closing = False
        self._writers = [
            asyncio.create_task(self._write_groups(), name=f"clik-ingest-writer-{number}")
            for number in range(settings.ingest_writers)
        ]

    async def submit(self, plan: WritePlan, window: TimeWindow) -> Outcome:
        """The batch's outcome once the transaction holding it committed."""
        if self._closing:
            raise IngestBusy("the service is shutting down")
        limit = self._settings.ingest_queue_max_events
        if self._queue and self._queued_events + plan.size > limit:
            raise IngestBusy(f"the ingest queue is full ({limit} events waiting)")
        answer: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        # An answer nobody waits for any more (the client left) is not an error to report.
        answer.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._queue.append(_Queued(plan, window, answer))
        self._queued_events += plan.size
        self._arrived.set()
        # shield: a request cancelled while waiting leaves its batch to be written anyway.
        return await asyncio.shield(answer)

    async def close(self) -> None:
        """Stops taking batches; returns when every queued batch is written and answered."""
        self._closing = True
        self._arrived.set()
        await asyncio.gather(*self._writers, return_exceptions=True)

    async def _write_groups(self) -> None:
        while True:
            try:
                group = await self._next_group()
                if not group:
                    return
                await self._write(group)
            except Exception:  # a writer must never die: the batches already have answers
                logger.exception("group commit writer: unexpected failure")

    async def _next_group(self) -> list[_Queued]:
        """The batches waiting, oldest first, up to the group size; empty when closing and
        nothing is left."""
        limit = self._settings.ingest_group_max_events
        while True:
            while not self._queue:
                if self._closing:
                    return []
                self._arrived.clear()
                await self._arrived.wait()
            if not self._settings.ingest_group_wait_ms or self._queued_events >= limit:
                break
            await asyncio.sleep(self._settings.ingest_group_wait_ms / 1000)
            if self._queue:  # (another writer may have taken everything meanwhile)
                break
        group = [self._queue.popleft()]
        events = group[0].plan.size
        while self._queue and events + self._queue[0].plan.size <= limit:
            queued = self._queue.popleft()
            group.append(queued)
            events += queued.plan.size
        self._queued_events -= events
        return group

    async def _write(self, group: list[_Queued]) -> None:
        plans = [queued.plan for queued in group]
        windows = [queued.window for queued in group]
        try:
            outcomes = await run_unit(
                self._pool,
                self._settings,
                lambda conn: write_group(conn, plans, windows, self._transaction_settings),
            )
        except DatabaseUnavailable as error:
            for queued in group:
                _settle(queued.answer, error=error)
        except Exception as error:
            if len(group) == 1:
                logger.error("a batch could not be stored: %r", error)
                _settle(group[0].answer, error=BatchNotStored(str(error)))
            else:  # find the batch at fault: each one alone
                for queued in group:
                    await self._write([queued])
        else:
            for queued, outcome in zip(group, outcomes, strict=True):
                _settle(queued.answer, outcome=outcome)


def _settle(
    answer: asyncio.Future[Outcome],
    *,
    outcome: Outcome | None = None,
    error: BaseException | None = None,
) -> None:
    if answer.done():  # cancelled: nobody waits for it
        return
    if outcome is not None:
        answer.set_result(outcome)
    else:
        answer.set_exception(error or RuntimeError("no outcome"))
