"""Sends the traffic model's sessions to an ingest service, as browsers running the tracker
would: each session's batches in order, from its own browser (User-Agent), many sessions at
once. Counts what was sent and what the server answered."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from clik.client.ingest import BatchResult, IngestClient, RetryPolicy
from clik.traffic import SimSession, TrafficParams, build_session, session_starts

BOT_REASON = "bot"  # the service's reason for a crawler's event starts with this


@dataclass
class Summary:
    """What a simulation sent (distinct events, resends not counted), what the server said
    (every answer summed, resends included), and the rows the database should hold: those of
    the events some answer did not reject (each once, however often it was sent)."""

    sessions: int = 0
    page_views: int = 0
    clicks: int = 0
    bot_sessions: int = 0
    bot_events: int = 0
    stored_sessions: int = 0  # sessions with an event the server took (accepted or duplicate)
    stored_page_views: int = 0
    stored_clicks: int = 0
    batches: int = 0
    resent_batches: int = 0
    resent_events: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejected_bots: int = 0
    dropped: int = 0  # events of batches refused whole (4xx)
    unsent: int = 0  # events of batches whose retries ran out
    unexpected: list[str] = field(default_factory=list)  # reasons other than bots, first few
    seconds: float = 0.0

    @property
    def events(self) -> int:
        return self.sessions + self.page_views + self.clicks

    @property
    def stored(self) -> int:
        """Rows the database should hold, from what the server answered."""
        return self.stored_sessions + self.stored_page_views + self.stored_clicks

    @property
    def events_per_second(self) -> float:
        return (self.events + self.resent_events) / self.seconds if self.seconds else 0.0

    def lines(self) -> list[str]:
        humans = self.sessions - self.bot_sessions
        return [
            f"sent: {self.sessions:,} sessions ({humans:,} visitors' sessions, "
            f"{self.bot_sessions:,} from crawlers), {self.page_views:,} page views, "
            f"{self.clicks:,} clicks: {self.events:,} events in {self.batches:,} batches, "
            f"{self.resent_batches:,} of them sent twice",
            f"server: {self.accepted:,} accepted, {self.duplicates:,} duplicates, "
            f"{self.rejected:,} rejected ({self.rejected_bots:,} of them crawlers' events)"
            + (f", {self.dropped:,} refused whole" if self.dropped else "")
            + (f", {self.unsent:,} unsent after retries" if self.unsent else ""),
            f"expected in the database: {self.stored_sessions:,} sessions, "
            f"{self.stored_page_views:,} page views, {self.stored_clicks:,} clicks = "
            f"{self.stored:,} rows"
            + (
                " = the accepted events"
                if self.stored == self.accepted
                else f", but the server accepted {self.accepted:,}"
            ),
            f"took {self.seconds:.1f} s: {self.events_per_second:,.0f} events/s "
            f"({self.events + self.resent_events:,} events posted)",
        ]


class Simulation:
    """Runs the model against `url` with `concurrency` browsers at a time. It stops starting
    new sessions at the first rejection that is not a crawler's (e.g. events older than the
    server's CLIK_MAX_EVENT_AGE_HOURS): the traffic would only be refused the same way."""

    def __init__(
        self,
        url: str,
        params: TrafficParams,
        *,
        concurrency: int = 16,
        retry: RetryPolicy | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.params = params
        self.concurrency = concurrency
        self.client = IngestClient(url, retry=retry, timeout_s=timeout_s)
        self.starts = session_starts(params)  # (start, visitor, number) in time order
        self.summary = Summary()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def run(self, on_session: Callable[[], object] | None = None) -> Summary:
        """Sends every session; `on_session` is called after each (for a progress bar)."""
        began = time.monotonic()

        def finished(done: set[Future]) -> None:
            for future in done:
                future.result()
                if on_session:
                    on_session()

        try:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="clik-sim") as pool:
                # Sessions are handed out in time order; a bounded backlog keeps memory flat.
                pending: set[Future] = set()
                for start in self.starts:
                    if self._stop.is_set():
                        break
                    pending.add(pool.submit(self._visit, *start))
                    if len(pending) >= self.concurrency * 4:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        finished(done)
                finished(wait(pending).done)
        finally:
            self.summary.seconds = time.monotonic() - began
            self.client.close()
        return self.summary

    @property
    def stopped_early(self) -> bool:
        return self._stop.is_set()

    def _visit(self, start, visitor: int, number: int) -> None:
        session = build_session(self.params, start, visitor, number)
        self._count_sent(session)
        taken: set[tuple[str, str]] = set()  # (type, id) of the events some answer took
        for index, batch in enumerate(session.batches):
            for copy in range(2 if index in session.resend else 1):
                result = self.client.send(batch, user_agent=session.user_agent)
                self._count_answer(session, batch, result, resent=copy == 1)
                taken.update(_taken(batch, result))
        with self._lock:
            # An event the server took is stored (now or before); any of them stores the
            # session too (a page view or click creates its session).
            self.summary.stored_sessions += bool(taken)
            self.summary.stored_page_views += sum(kind == "page_view" for kind, _ in taken)
            self.summary.stored_clicks += sum(kind == "click" for kind, _ in taken)

    def _count_sent(self, session: SimSession) -> None:
        with self._lock:
            summary = self.summary
            summary.sessions += 1
            summary.bot_sessions += session.is_bot
            for event in session.events:
                if event["type"] == "page_view":
                    summary.page_views += 1
                elif event["type"] == "click":
                    summary.clicks += 1
            if session.is_bot:
                summary.bot_events += len(session.events)
            summary.batches += len(session.batches)
            summary.resent_batches += len(session.resend)

    def _count_answer(self, session: SimSession, batch, result, *, resent: bool) -> None:
        with self._lock:
            summary = self.summary
            if resent:
                summary.resent_events += len(batch)
            if not result.final:
                summary.unsent += len(batch)
                self._unexpected(f"no answer after {result.attempts} attempts: {result.error}")
                return
            if result.status >= 300:
                summary.dropped += len(batch)
                self._unexpected(f"HTTP {result.status}: {result.error}")
                return
            summary.accepted += result.accepted
            summary.duplicates += result.duplicates
            summary.rejected += len(result.rejected)
            for _, reason in result.rejected:
                if session.is_bot and reason.startswith(BOT_REASON):
                    summary.rejected_bots += 1
                else:
                    self._unexpected(reason)
            if result.error:
                self._unexpected(result.error)

    def _unexpected(self, reason: str) -> None:
        if reason not in self.summary.unexpected and len(self.summary.unexpected) < 5:
            self.summary.unexpected.append(reason)
        self._stop.set()


def _taken(batch: list, result: BatchResult) -> list[tuple[str, str]]:
    """(type, id) of the batch's events that a 200 answer accepted or counted as duplicates,
    i.e. did not reject (a session event's id is its session's)."""
    if not result.final or result.error or result.status is None or result.status >= 300:
        return []
    rejected = {index for index, _ in result.rejected}
    return [
        (event["type"], event["data"].get("id") or event["data"]["session_id"])
        for index, event in enumerate(batch)
        if index not in rejected
    ]
