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

from clik.client.batching import BATCH_SIZE, FLUSH_INTERVAL_S, BatchingClient, Totals
from clik.client.events import Event, click_event, is_urgent, iso, page_view_event, session_event
from clik.client.ingest import (
    INGEST_PATH,
    BatchResult,
    IngestClient,
    RetryPolicy,
    ingest_url,
    retry_after_seconds,
)
from clik.ids import uuid7

__all__ = [
    "BATCH_SIZE",
    "FLUSH_INTERVAL_S",
    "INGEST_PATH",
    "BatchResult",
    "BatchingClient",
    "Event",
    "IngestClient",
    "RetryPolicy",
    "Totals",
    "click_event",
    "ingest_url",
    "is_urgent",
    "iso",
    "page_view_event",
    "retry_after_seconds",
    "session_event",
    "uuid7",
]
