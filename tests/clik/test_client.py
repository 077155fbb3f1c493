"""The Python client against a small scripted HTTP server: batching, retries, ids.

(The client against the real ingest service is exercised by tests/clik/test_simulate.py.)
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clik.client import (
    BatchingClient,
    IngestClient,
    RetryPolicy,
    click_event,
    ingest_url,
    iso,
    page_view_event,
    retry_after_seconds,
    session_event,
    uuid7,
)


class ScriptedServer:
    """Answers POSTs with the scripted answers in order (then 200s counting every event as
    accepted) and records each request's body and headers. An answer of None closes the
    connection without answering: a network failure for the client."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], dict] | None] = []
        self.requests: list[tuple[dict, dict[str, str]]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.requests.append((body, dict(self.headers)))
                    answer = outer.answers.pop(0) if outer.answers else "ok"
                if answer is None:
                    self.close_connection = True
                    self.connection.close()
                    return
                if answer == "ok":
                    answer = (200, {}, {"accepted": len(body["events"]), "duplicates": 0,
                                        "rejected": []})  # fmt: skip
                status, headers, payload = answer
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {**headers, "Content-Type": "application/json"}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(
            target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def bodies(self) -> list[dict]:
        with self.lock:
            return [body for body, _ in self.requests]

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.stop()


class Sleeps(list):
    """Records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def wait_until(condition, timeout_s: float = 10.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.01)


def some_events(count: int, session_id: str = "s1") -> list[dict]:
    start = datetime.now(UTC) - timedelta(minutes=5)
    return [
        page_view_event(session_id, "myclik", "home", viewed_at=start + timedelta(seconds=i))
        for i in range(count)
    ]


# --- ids and events ----------------------------------------------------------------------------


def test_uuid7_carries_the_time_and_version_and_sorts_by_time() -> None:
    moment = datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC)
    value = uuid.UUID(uuid7(moment))
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == int(moment.timestamp() * 1000)
    later = [uuid7(moment + timedelta(milliseconds=ms)) for ms in range(1, 50)]
    assert later == sorted(later)
    assert len({uuid7(moment) for _ in range(1000)}) == 1000


def test_seeded_uuid7_is_reproducible() -> None:
    moment = datetime(2026, 11, 25, tzinfo=UTC)
    first = [uuid7(moment, random.Random(7)) for _ in range(3)]
    assert first == [uuid7(moment, random.Random(7)) for _ in range(3)]
    assert uuid7(moment, random.Random(8)) != first[0]


def test_events_have_the_documented_shape() -> None:
    at = datetime(2026, 11, 25, 10, 0, 1, tzinfo=UTC)
    session = session_event("s1", "myclik", first_seen=at, share_code="qr1", user_agent="UA")
    view = page_view_event("s1", "myclik", "home", viewed_at=at, share_code="qr1")
    click = click_event("s1", "myclik", "phone", click_category="contact", clicked_at=at)
    assert session == {
        "type": "session",
        "data": {"session_id": "s1", "user_code": "myclik", "share_code": "qr1",
                 "contact_id": None, "first_seen": "2026-11-25T10:00:01.000Z",
                 "user_agent": "UA", "referrer": None},
    }  # fmt: skip
    assert view["data"]["viewed_at"] == "2026-11-25T10:00:01.000Z"
    assert view["data"]["page_type"] == "home"
    assert uuid.UUID(view["data"]["id"]).version == 7
    assert click["data"]["click_target"] == "phone"
    assert click["data"]["clicked_at"] == iso(at)


def test_ingest_url_accepts_a_base_or_an_endpoint() -> None:
    assert ingest_url("http://h:8000") == "http://h:8000/api/analytics/ingest"
    assert ingest_url("http://h:8000/") == "http://h:8000/api/analytics/ingest"
    assert ingest_url("http://h/api/analytics/ingest") == "http://h/api/analytics/ingest"


# --- retry rules -------------------------------------------------------------------------------


def test_retry_after_seconds_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None


def test_backoff_grows_with_jitter_is_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(base_s=1.0, cap_s=8.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        waits = {policy.delay(attempt, None, rng) for _ in range(50)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(waits) > 1  # jittered
    assert policy.delay(1, 20.0, rng) == 20.0


def test_a_503_is_retried_after_retry_after_with_the_same_events(server: ScriptedServer) -> None:
    server.answers = [(503, {"Retry-After": "3"}, {"error": "database unavailable"})]
    sleeps = Sleeps()
    events = some_events(3)
    with IngestClient(server.url, sleep=sleeps) as client:
        result = client.send(events)
    assert result.final and result.status == 200 and result.accepted == 3
    assert result.attempts == 2
    assert sleeps and sleeps[0] >= 3
    first, second = server.bodies()
    assert first["events"] == second["events"] == events  # ids and times never change


@pytest.mark.parametrize("failure", [(429, {}, {"error": "slow down"}), (500, {}, {}), None])
def test_429_5xx_and_network_failures_are_retried(server: ScriptedServer, failure) -> None:
    server.answers = [failure, failure]
    sleeps = Sleeps()
    with IngestClient(server.url, sleep=sleeps) as client:
        result = client.send(some_events(2))
    assert result.final and result.accepted == 2 and result.attempts == 3
    assert len(sleeps) == 2 and sleeps[1] > 0


def test_a_4xx_drops_the_batch_without_retrying(server: ScriptedServer) -> None:
    server.answers = [(400, {}, {"error": "`events` must be an array of events"})]
    sleeps = Sleeps()
    with IngestClient(server.url, sleep=sleeps) as client:
        result = client.send(some_events(2))
    assert result.final and result.status == 400 and result.attempts == 1
    assert result.error == "`events` must be an array of events"
    assert sleeps == [] and len(server.bodies()) == 1


def test_the_per_event_rejections_of_a_200_are_final(server: ScriptedServer) -> None:
    server.answers = [(200, {}, {"accepted": 1, "duplicates": 1,
                                 "rejected": [{"index": 2, "error": "bot"}]})]  # fmt: skip
    with IngestClient(server.url, sleep=Sleeps()) as client:
        result = client.send(some_events(3))
    assert (result.accepted, result.duplicates, result.rejected) == (1, 1, [(2, "bot")])
    assert len(server.bodies()) == 1


def test_send_gives_up_after_the_last_attempt(server: ScriptedServer) -> None:
    server.answers = [(503, {}, {"error": "down"})] * 3
    with IngestClient(server.url, sleep=Sleeps(), retry=RetryPolicy(max_attempts=3)) as client:
        result = client.send(some_events(1))
    assert not result.final and result.attempts == 3
    assert result.error == "HTTP 503: down"


def test_the_user_agent_header_is_the_visitors(server: ScriptedServer) -> None:
    with IngestClient(server.url, user_agent="default-agent") as client:
        client.send(some_events(1))
        client.send(some_events(1), user_agent="Mozilla/5.0 (visitor)")
    agents = [headers["User-Agent"] for _, headers in server.requests]
    assert agents == ["default-agent", "Mozilla/5.0 (visitor)"]
    assert all(h["Content-Type"] == "application/json" for _, h in server.requests)


# --- batching ----------------------------------------------------------------------------------


def test_batches_hold_at_most_20_events_and_go_when_20_wait(server: ScriptedServer) -> None:
    events = some_events(45)
    with BatchingClient(server.url, flush_interval_s=3600) as client:
        client.track_many(events)
        # Two full batches go long before the 3600 s interval; five events wait.
        wait_until(lambda: client.pending == 5 and len(server.bodies()) == 2)
        assert client.flush(timeout_s=10)
    sizes = [len(body["events"]) for body in server.bodies()]
    assert sizes == [20, 20, 5]
    assert [e for body in server.bodies() for e in body["events"]] == events
    assert client.totals.accepted == 45 and client.totals.batches == 3


def test_a_partial_batch_goes_after_the_interval(server: ScriptedServer) -> None:
    with BatchingClient(server.url, flush_interval_s=0.2) as client:
        client.track_many(some_events(3))
        wait_until(lambda: len(server.bodies()) == 1)
    assert [len(body["events"]) for body in server.bodies()] == [3]


def test_a_contact_click_is_sent_at_once(server: ScriptedServer) -> None:
    with BatchingClient(server.url, flush_interval_s=3600) as client:
        client.page_view("s1", "myclik", "home")
        client.click("s1", "myclik", "phone", click_category="contact")
        wait_until(lambda: len(server.bodies()) == 1)
    assert [e["type"] for e in server.bodies()[0]["events"]] == ["page_view", "click"]


def test_failed_batches_stay_queued_and_arrive_once(server: ScriptedServer) -> None:
    server.answers = [(503, {"Retry-After": "0"}, {"error": "down"}), None]
    ingest = IngestClient(server.url, retry=RetryPolicy(base_s=0.01, cap_s=0.02))
    events = some_events(25)
    with BatchingClient(ingest, flush_interval_s=3600) as client:
        client.track_many(events)
        assert client.flush(timeout_s=10)
    ingest.close()
    bodies = server.bodies()
    # The first batch met a 503 and a dropped connection, then arrived; then the rest.
    assert [len(body["events"]) for body in bodies] == [20, 20, 20, 5]
    assert bodies[0]["events"] == bodies[1]["events"] == bodies[2]["events"]
    assert client.totals.accepted == 25


def test_close_returns_what_could_not_be_sent(server: ScriptedServer) -> None:
    server.answers = [(503, {}, {"error": "down"})] * 1000
    ingest = IngestClient(server.url, retry=RetryPolicy(base_s=0.01, cap_s=0.05))
    client = BatchingClient(ingest, flush_interval_s=3600)
    events = some_events(3)
    client.track_many(events)
    left = client.close(timeout_s=0.5)
    ingest.close()
    assert left == events
    assert client.totals.accepted == 0 and len(server.bodies()) >= 1
