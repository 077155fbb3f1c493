"""Python client of the ingest API with the browser tracker's rules, for server-side senders
and `clik simulate` (standard-library HTTP: no extra dependency).

- Events are built once, each with a time-ordered UUIDv7 and its own timestamp; a retry sends
  the same body again (only `sent_at` changes), so the server sees a retried event as a
  duplicate, never as a new one.
- `IngestClient.send` posts one batch: 5xx, 429 and network failures are retried with
  exponential backoff and jitter, never sooner than the server's `Retry-After`; any other answer
  is final (a 4xx drops the batch, a 200's per-event `rejected` list is final too).
- `BatchingClient` queues events and sends them from a background thread every 10 seconds or
  20 events, whichever comes first; contact clicks go at once.

    with BatchingClient("http://localhost:8000") as clik:
        session_id = clik.start_session("myclik", share_code="qr1", user_agent=ua)
        clik.page_view(session_id, "myclik", "home", share_code="qr1")
        clik.click(session_id, "myclik", "phone", click_category="contact", share_code="qr1")
"""

from __future__ import annotations

import http.client
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

INGEST_PATH = "/api/analytics/ingest"
BATCH_SIZE = 20
FLUSH_INTERVAL_S = 10.0

Event = dict[str, Any]


# --- events ------------------------------------------------------------------------------------


def uuid7(at: datetime | None = None, rng: random.Random | None = None) -> str:
    """A UUID version 7: 48 bits of Unix milliseconds (of `at`, default now), then random bits
    (from `rng` when given, so a seeded simulation makes the same ids every time)."""
    millis = int((at or datetime.now(UTC)).timestamp() * 1000)
    rand = rng.getrandbits(80) if rng is not None else int.from_bytes(os.urandom(10))
    value = (millis & (2**48 - 1)) << 80 | rand
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # variant 10
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"  # str(uuid.UUID(...)), faster


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as the tracker writes times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def session_event(
    session_id: str,
    user_code: str,
    *,
    first_seen: datetime | None = None,
    share_code: str | None = None,
    contact_id: str | None = None,
    user_agent: str | None = None,
    referrer: str | None = None,
) -> Event:
    return {
        "type": "session",
        "data": {
            "session_id": session_id,
            "user_code": user_code,
            "share_code": share_code,
            "contact_id": contact_id,
            "first_seen": iso(first_seen or datetime.now(UTC)),
            "user_agent": user_agent,
            "referrer": referrer,
        },
    }


def page_view_event(
    session_id: str,
    user_code: str,
    page_type: str,
    *,
    viewed_at: datetime | None = None,
    share_code: str | None = None,
    contact_id: str | None = None,
    event_id: str | None = None,
) -> Event:
    viewed_at = viewed_at or datetime.now(UTC)
    return {
        "type": "page_view",
        "data": {
            "id": event_id or uuid7(viewed_at),
            "session_id": session_id,
            "user_code": user_code,
            "share_code": share_code,
            "contact_id": contact_id,
            "page_type": page_type,
            "viewed_at": iso(viewed_at),
        },
    }


def click_event(
    session_id: str,
    user_code: str,
    click_target: str,
    *,
    click_category: str | None = None,
    clicked_at: datetime | None = None,
    share_code: str | None = None,
    contact_id: str | None = None,
    event_id: str | None = None,
) -> Event:
    clicked_at = clicked_at or datetime.now(UTC)
    return {
        "type": "click",
        "data": {
            "id": event_id or uuid7(clicked_at),
            "session_id": session_id,
            "user_code": user_code,
            "share_code": share_code,
            "contact_id": contact_id,
            "click_target": click_target,
            "click_category": click_category,
            "clicked_at": iso(clicked_at),
        },
    }


def is_urgent(event: Event) -> bool:
    """Contact clicks (phone, email, WhatsApp) are sent at once, as the tracker does."""
    return event["type"] == "click" and event["data"].get("click_category") == "contact"


def ingest_url(url: str) -> str:
    """The ingest endpoint for a service's base URL (an endpoint URL is kept as it is)."""
    url = url.rstrip("/")
    return url if url.endswith(INGEST_PATH) else url + INGEST_PATH


# --- one batch ---------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """What became of one batch. `final` is true when the server decided (any answer but 429
    or 5xx); otherwise the retries ran out and the events are still unsent."""

    final: bool
    status: int | None = None
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    attempts: int = 0
    error: str | None = None  # the last failure, or the error of a dropped batch


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with "equal jitter": the n-th wait is drawn from
    [d/2, d] with d = min(cap, base * 2^(n-1)), and is never shorter than Retry-After."""

    base_s: float = 0.5
    cap_s: float = 30.0
    max_attempts: int = 8  # about a minute of trying before `send` gives up

    def delay(self, attempt: int, retry_after_s: float | None, rng: random.Random) -> float:
        ceiling = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        return max(ceiling * (0.5 + rng.random() / 2), retry_after_s or 0.0)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class IngestClient:
    """Posts batches to the ingest endpoint, retrying what may succeed later. Thread-safe: each
    thread keeps its own persistent (keep-alive) connection. Built on the standard library's
    http.client, which costs a fraction of the CPU of richer clients: `clik simulate` shares
    the machine with the service it loads."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        user_agent: str | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.url = ingest_url(url)
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        self._address = (parts.hostname, parts.port)
        self._path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.user_agent = user_agent or "clik-python-client/1"
        self._sleep = sleep
        self._rng = random.Random()
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def send(
        self,
        events: Sequence[Event],
        *,
        user_agent: str | None = None,
        deadline: float | None = None,
    ) -> BatchResult:
        """Posts `events` as one batch, retrying 429, 5xx and network failures up to the
        policy's attempts (and, when given, until `time.monotonic()` reaches `deadline`)."""
        headers = {"Content-Type": "application/json", "User-Agent": user_agent or self.user_agent}
        events = list(events)
        attempt = 0
        while True:
            attempt += 1
            body = orjson.dumps({"sent_at": iso(datetime.now(UTC)), "events": events})
            retry_after = None
            try:
                status, answer_headers, answer = self._post(body, headers)
            except (OSError, http.client.HTTPException) as error:
                failure = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            else:
                if status != 429 and status < 500:
                    return _final_result(status, answer, attempt)
                failure = f"HTTP {status}: {_error_text(answer)}"
                retry_after = retry_after_seconds(answer_headers.get("Retry-After"))
            if attempt >= self.retry.max_attempts:
                return BatchResult(final=False, attempts=attempt, error=failure)
            wait = self.retry.delay(attempt, retry_after, self._rng)
            if deadline is not None and time.monotonic() + wait > deadline:
                return BatchResult(final=False, attempts=attempt, error=failure)
            self._sleep(wait)

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, Any, bytes]:
        connection = getattr(self._local, "connection", None)
        reused = connection is not None
        if connection is None:
            connection = self._connect()
        try:
            connection.request("POST", self._path, body, headers)
            response = connection.getresponse()
            answer = response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            connection.close()
            self._local.connection = None
            if not reused:
                raise
            # The server closed a kept-alive connection while it sat idle: a new one, at once.
            # (Had it received the batch, sending it again is harmless: ids make it a duplicate.)
            return self._post(body, headers)
        except BaseException:
            connection.close()
            self._local.connection = None
            raise
        if response.will_close:
            connection.close()
            self._local.connection = None
        return response.status, response.headers, answer

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self._address
        connection = self._connection_class(host, port, timeout=self._timeout_s)
        self._local.connection = connection
        with self._lock:
            self._connections.append(connection)
        return connection

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    def __enter__(self) -> IngestClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _final_result(status: int, answer: bytes, attempts: int) -> BatchResult:
    if status >= 300:  # a 4xx: the server refused the whole batch; drop it
        return BatchResult(final=True, status=status, attempts=attempts, error=_error_text(answer))
    try:
        parsed = orjson.loads(answer)
        rejected = [(int(item["index"]), str(item["error"])) for item in parsed["rejected"]]
        return BatchResult(
            final=True,
            status=status,
            accepted=int(parsed["accepted"]),
            duplicates=int(parsed["duplicates"]),
            rejected=rejected,
            attempts=attempts,
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return BatchResult(
            final=True,
            status=status,
            attempts=attempts,
            error=f"unexpected answer: {answer[:200]!r}",
        )


def _error_text(answer: bytes) -> str:
    try:
        return str(orjson.loads(answer)["error"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return answer[:200].decode(errors="replace") or "(empty answer)"


# --- batching ----------------------------------------------------------------------------------


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
