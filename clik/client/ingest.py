"""One batch to the ingest endpoint: `IngestClient.send` posts it, retrying 429, 5xx and network
failures with exponential backoff and jitter, never sooner than the server's Retry-After; any
other answer is final (a 4xx drops the batch, a 200's per-event `rejected` list is final too)."""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from clik.client.events import Event, iso

INGEST_PATH = "/api/analytics/ingest"


def ingest_url(url: str) -> str:
    """The ingest endpoint for a service's base URL (an endpoint URL is kept as it is)."""
    url = url.rstrip("/")
    return url if url.endswith(INGEST_PATH) else url + INGEST_PATH


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
