"""`BatchingClient`: the tracker's batching in a background thread: up to 20 events every
10 seconds or as soon as 20 wait, contact clicks at once; failed sends stay queued."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from clik.client.events import Event, click_event, is_urgent, page_view_event, session_event
from clik.client.ingest import BatchResult, IngestClient
from clik.ids import uuid7

BATCH_SIZE = 20
FLUSH_INTERVAL_S = 10.0


@dataclass
class Totals:
    """What the server answered so far, summed over batches."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    dropped: int = 0  # events of batches refused whole with a 4xx
    batches: int = 0
    errors: list[str] = field(default_factory=list)  # the first few reasons, for a summary

    def add(self, result: BatchResult, size: int) -> None:
        self.batches += 1
        self.accepted += result.accepted
        self.duplicates += result.duplicates
        self.rejected += len(result.rejected)
        if result.status is not None and result.status >= 300:
            self.dropped += size
        for reason in [result.error] if result.error else [r for _, r in result.rejected]:
            if reason not in self.errors and len(self.errors) < 10:
                self.errors.append(reason)


class BatchingClient:
    """Queues events and sends them from a background thread in batches of up to 20, every
    10 seconds or as soon as 20 wait, and at once for contact clicks. Failed sends stay queued
    (oldest first) and are retried; `close()` sends what is left, within its timeout."""

    def __init__(
        self,
        url: str | IngestClient,
        *,
        batch_size: int = BATCH_SIZE,
        flush_interval_s: float = FLUSH_INTERVAL_S,
        max_queue: int = 100_000,
        user_agent: str | None = None,
        on_result: Callable[[Sequence[Event], BatchResult], object] | None = None,
    ) -> None:
        self.ingest = url if isinstance(url, IngestClient) else IngestClient(url)
        self._owns_ingest = not isinstance(url, IngestClient)
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_queue = max_queue
        self.user_agent = user_agent
        self.on_result = on_result
        self.totals = Totals()
        self._queue: deque[Event] = deque()
        self._lock = threading.Condition()
        # Events are numbered as they are queued; everything up to number `_flush_to` should
        # go now (an urgent event or flush() asked for it), beside any full batch.
        self._queued = 0
        self._done = 0
        self._flush_to = 0
        self._closing = False
        self._deadline: float | None = None
        self._sending = 0  # events taken from the queue and not answered yet
        self._thread = threading.Thread(target=self._run, name="clik-batching", daemon=True)
        self._thread.start()

    # Queueing.

    def track(self, event: Event) -> None:
        with self._lock:
            if self._closing:
                raise RuntimeError("the client is closed")
            self._queue.append(event)
            self._queued += 1
            while len(self._queue) > self.max_queue:  # capped like the tracker's: oldest go
                del self._queue[self._sending]  # (the batch being sent stays at the front)
                self._done += 1
                self.totals.dropped += 1
            if is_urgent(event):
                self._flush_to = self._queued
            if self._is_due():
                self._lock.notify_all()

    def track_many(self, events: Iterable[Event]) -> None:
        for event in events:
            self.track(event)

    def start_session(self, user_code: str, **fields: Any) -> str:
        """Queues a session event for a new session; returns its id (a UUIDv7)."""
        session_id = uuid7()
        self.track(session_event(session_id, user_code, **fields))
        return session_id

    def page_view(self, session_id: str, user_code: str, page_type: str, **fields: Any) -> str:
        event = page_view_event(session_id, user_code, page_type, **fields)
        self.track(event)
        return event["data"]["id"]

    def click(self, session_id: str, user_code: str, click_target: str, **fields: Any) -> str:
        event = click_event(session_id, user_code, click_target, **fields)
        self.track(event)
        return event["data"]["id"]

    @property
    def pending(self) -> int:
        """Events queued or being sent."""
        with self._lock:
            return len(self._queue) + self._sending

    def flush(self, timeout_s: float | None = None) -> bool:
        """Asks for everything queued to be sent now; waits until the queue is empty (True) or
        the timeout passed (False)."""
        end = None if timeout_s is None else time.monotonic() + timeout_s
        with self._lock:
            self._flush_to = self._queued
            self._lock.notify_all()
            while self._queue or self._sending:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def close(self, timeout_s: float = 30.0) -> list[Event]:
        """Sends what is queued (retrying until the timeout) and stops; returns the events
        that could not be sent, for the caller to keep."""
        with self._lock:
            self._closing = True
            self._deadline = time.monotonic() + timeout_s
            self._flush_to = self._queued
            self._lock.notify_all()
        self._thread.join(timeout_s + 5)
        if self._owns_ingest:
            self.ingest.close()
        with self._lock:
            return list(self._queue)

    def __enter__(self) -> BatchingClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The sender thread.

    def _is_due(self) -> bool:
        return len(self._queue) >= self.batch_size or self._done < self._flush_to

    def _run(self) -> None:
        failures = 0
        while True:
            with self._lock:
                # Wait for a reason to send: 20 events, an urgent one, flush(), or the interval.
                end = time.monotonic() + self.flush_interval_s
                while not (self._is_due() or self._closing):
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    self._lock.wait(left)
                if not self._queue:
                    self._lock.notify_all()
                    if self._closing:
                        return
                    continue
                if self._closing and time.monotonic() >= (self._deadline or 0):
                    return
                batch = [self._queue[i] for i in range(min(self.batch_size, len(self._queue)))]
                self._sending = len(batch)
                deadline = self._deadline
            result = self.ingest.send(batch, user_agent=self.user_agent, deadline=deadline)
            with self._lock:
                self._sending = 0
                if result.final:
                    for _ in batch:
                        self._queue.popleft()
                    self._done += len(batch)
                    self.totals.add(result, len(batch))
                    failures = 0
                else:
                    failures += 1
                    if result.error not in self.totals.errors and len(self.totals.errors) < 10:
                        self.totals.errors.append(result.error or "unknown failure")
                self._lock.notify_all()
            if self.on_result is not None:
                self.on_result(batch, result)
            if not result.final and not self._closing:
                # The server keeps failing: rest a while (interruptible by close()).
                with self._lock:
                    self._lock.wait(min(60.0, self.flush_interval_s * failures))
