"""The benchmark's traffic: visitors in the seed's mix (1 session : ~4.4 page views : ~2.2
clicks), packed whole into batches of a fixed size.

A visitor's events never span two batches (the last visitor of a batch is cut short to fit):
as with real trackers, whose batches come from one browser 10 seconds apart, concurrent
batches do not share sessions. (Cutting one stream of events into batches would make almost
every batch share a session with the one before it, and the benchmark would measure a chain
of session-lock waits that real traffic does not have.)"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from clik.ids import uuid7

PAGE_TYPES = ["home", "contact", "profile", "portfolio", "services"]
CLICK_TARGETS = [("phone", "contact"), ("email", "contact"), ("whatsapp", "contact"),
                 ("website", "link"), ("linkedin", "social")]  # fmt: skip
USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
]


@dataclass
class Workload:
    batches: list[bytes] = field(default_factory=list)  # JSON bodies
    events_per_batch: list[int] = field(default_factory=list)
    sessions: list[tuple] = field(default_factory=list)  # rows, for the SQL ceiling
    page_views: list[tuple] = field(default_factory=list)
    clicks: list[tuple] = field(default_factory=list)

    @property
    def events(self) -> int:
        return sum(self.events_per_batch)


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; small means only."""
    limit, count, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def build(batch_count: int, batch_size: int, seed: int, now: datetime | None = None) -> Workload:
    """`batch_count` batches of `batch_size` events from visitors of the last hour."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    workload = Workload()
    pending: list[dict] = []

    def iso(moment: datetime) -> str:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    while len(workload.batches) < batch_count:
        session_id = uuid.UUID(int=rng.getrandbits(128)).hex
        user_code = f"user{rng.randrange(2000):04d}"
        share_code = rng.choice([None, "qr1", "qr2", "nfc", "email-sig"])
        contact_id = f"c-{rng.randrange(500)}" if rng.random() < 0.2 else None
        start = now - timedelta(seconds=rng.uniform(60, 3600))
        user_agent = rng.choice(USER_AGENTS)
        common = {"session_id": session_id, "user_code": user_code, "share_code": share_code,
                  "contact_id": contact_id}  # fmt: skip
        pending.append({"type": "session", "data": common | {
            "first_seen": iso(start), "user_agent": user_agent,
            "referrer": rng.choice([None, "https://www.linkedin.com/", "https://t.co/x"])}})  # fmt: skip
        workload.sessions.append((session_id, user_code, share_code, contact_id, start, start,
                                  None, user_agent, None))  # fmt: skip
        moment = start
        for _ in range(max(1, poisson(rng, 4.4))):
            moment += timedelta(seconds=rng.uniform(1, 40))
            event_id, page_type = uuid7(moment), rng.choice(PAGE_TYPES)
            pending.append({"type": "page_view", "data": common | {
                "id": event_id, "page_type": page_type, "viewed_at": iso(moment)}})  # fmt: skip
            workload.page_views.append((event_id, session_id, user_code, share_code,
                                        contact_id, page_type, moment))  # fmt: skip
        for _ in range(poisson(rng, 2.2)):
            moment += timedelta(seconds=rng.uniform(1, 20))
            event_id = uuid7(moment)
            target, category = rng.choice(CLICK_TARGETS)
            pending.append({"type": "click", "data": common | {
                "id": event_id, "click_target": target, "click_category": category,
                "clicked_at": iso(moment)}})  # fmt: skip
            workload.clicks.append((event_id, session_id, user_code, share_code, contact_id,
                                    target, category, moment))  # fmt: skip
        if len(pending) >= batch_size:  # cut the last visitor short; it starts no batch
            events, pending = pending[:batch_size], []
            workload.batches.append(orjson.dumps({"sent_at": iso(now), "events": events}))
            workload.events_per_batch.append(len(events))
    # Rows of events left unsent are dropped, so both sides write exactly the same rows.
    sent = {e["data"].get("id") or ("s", e["data"]["session_id"])
            for body in workload.batches for e in orjson.loads(body)["events"]}  # fmt: skip
    workload.sessions = [row for row in workload.sessions if ("s", row[0]) in sent]
    workload.page_views = [row for row in workload.page_views if row[0] in sent]
    workload.clicks = [row for row in workload.clicks if row[0] in sent]
    return workload


@dataclass
class TrackerWorkload:
    """Browser-shaped requests: each visit cut into the batches the tracker sends (every 10 s,
    on a contact click, on leaving a page: 1-3 events each), all visits of a simulated day in
    the order their requests would be sent, so that requests in flight together come from
    different visitors, as from thousands of browsers at once."""

    bodies: list[bytes]
    events: int
    visitors: int


def tracker_shaped(visitors: int, seed: int) -> TrackerWorkload:
    from clik.traffic import TrafficParams, build_session, session_starts

    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    params = TrafficParams(visitors, end - timedelta(days=1), end, user_codes=50, seed=seed)
    timed: list[tuple[str, int, bytes]] = []  # (send time, order, body)
    humans: set[int] = set()
    events = 0
    for start, visitor, number in session_starts(params):
        session = build_session(params, start, visitor, number)
        if session.is_bot:  # crawlers are rejected: they would only measure the bot check
            continue
        humans.add(visitor)
        for batch in session.batches:
            sent = max(_event_time(event) for event in batch)
            body = orjson.dumps({"sent_at": sent, "events": batch})
            timed.append((sent, len(timed), body))
            events += len(batch)
    timed.sort()
    return TrackerWorkload([body for _, _, body in timed], events, len(humans))


def _event_time(event: dict) -> str:
    data = event["data"]
    return data.get("viewed_at") or data.get("clicked_at") or data["first_seen"]
