"""A deterministic model of the traffic of digital business-card pages, for `clik simulate`.

Given a seed, the same visitors, sessions, events, ids and batches come out every time (ids
and times depend on the time window too, which is fixed by `--start`).

- Visitors: each has a favourite card (one of K user codes, a few far more popular than the
  rest), a browser (user agent) and one session or more (about 1.35 on average); about 4% of
  visitors are crawlers, whose sessions view pages and never click (the service rejects them).
- Sessions start on a daily curve (quiet at night, busiest around midday and early evening,
  weekends lighter), arrive through a share code (QR code, NFC tag, e-mail signature,
  LinkedIn) or directly, and sometimes on a card shared with one contact (`contact_id`). Some
  start late in the evening and run past midnight.
- About 4.4 page views and 2.2 clicks per human session, the seed design's ratios; most clicks
  are contact clicks (phone, WhatsApp, e-mail).
- Batches follow the browser tracker's rules in simulated time: a batch goes when 20 events
  wait, at once after a contact click, every 10 seconds, and when a page is left (a multi-page
  card; single-page-app cards only flush at the end of the visit). Every event is in exactly
  one batch; about 2% of batches are marked to be sent twice (a lost answer, retried).
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from clik.client.events import Event, click_event, page_view_event, session_event
from clik.ids import uuid7

SESSIONS_PER_VISITOR_EXTRA = 0.35  # mean extra sessions per visitor (geometric)
PAGE_VIEWS_PER_SESSION = 4.4
CLICKS_PER_SESSION = 2.2
BOT_SHARE = 0.04
RESEND_SHARE = 0.02
NIGHT_OWL_SHARE = 0.01  # sessions placed just before midnight, long enough to cross it
BATCH_SIZE = 20
FLUSH_INTERVAL = timedelta(seconds=10)

# Relative traffic per UTC hour of the day, and per weekday (Monday first).
HOURLY = [2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 13, 14, 14, 13, 12, 12, 12, 13, 14, 14, 12, 9, 6, 4]
WEEKDAY = [1.0, 1.0, 1.0, 1.0, 0.95, 0.7, 0.6]

BROWSERS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
]
CRAWLERS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
]
# Share channels: (share code, weight, referrer). None: a direct visit.
CHANNELS = [
    ("qr", 30, None),
    ("nfc", 15, None),
    ("email-signature", 15, None),
    ("linkedin", 12, "https://www.linkedin.com/"),
    (None, 28, "https://www.google.com/"),
]
ENTRY_PAGES = [("home", 80), ("contact", 10), ("portfolio", 6), ("about", 4)]
NEXT_PAGES = [("home", 15), ("contact", 25), ("about", 20), ("portfolio", 20),
              ("services", 12), ("gallery", 8)]  # fmt: skip
# Click targets: (target, category, weight). Contact clicks are sent at once.
CLICK_TARGETS = [
    ("phone", "contact", 24),
    ("whatsapp", "contact", 20),
    ("email", "contact", 14),
    ("save_contact", "vcard", 12),
    ("website", "link", 12),
    ("linkedin", "social", 10),
    ("instagram", "social", 8),
]


@dataclass(frozen=True)
class TrafficParams:
    visitors: int
    start: datetime  # the window is [start, end), in UTC
    end: datetime
    user_codes: int = 10
    seed: int = 1

    def user_code(self, index: int) -> str:
        return f"sim-{index + 1:0{max(2, len(str(self.user_codes)))}d}"


@dataclass
class SimSession:
    """One visit: its events in time order, cut into the batches the tracker would send."""

    session_id: str
    user_code: str
    user_agent: str
    is_bot: bool
    batches: list[list[Event]]
    resend: list[int] = field(default_factory=list)  # indexes of batches to send twice

    @property
    def events(self) -> list[Event]:
        return [event for batch in self.batches for event in batch]

    @property
    def started(self) -> datetime:
        return datetime.fromisoformat(self.batches[0][0]["data"]["first_seen"])

    @property
    def ended(self) -> datetime:
        last = self.batches[-1][-1]["data"]
        return datetime.fromisoformat(last.get("viewed_at") or last.get("clicked_at"))


@dataclass(frozen=True)
class _Visitor:
    user_code: str
    user_agent: str
    is_bot: bool
    contact_id: str | None
    spa: bool  # the card is a single-page app


def session_starts(params: TrafficParams) -> list[tuple[datetime, int, int]]:
    """(start, visitor, session number) of every session, in time order."""
    # Two streams: how many sessions (and which are night owls) never depends on the window,
    # so a seed gives the same visits whatever the dates; only their times follow the window.
    counts = random.Random(f"{params.seed}:sessions")
    times = random.Random(f"{params.seed}:times")
    starts = []
    number = 0
    span = (params.end - params.start).total_seconds()
    for visitor in range(params.visitors):
        for _ in range(1 + _geometric(counts, SESSIONS_PER_VISITOR_EXTRA)):
            if counts.random() < NIGHT_OWL_SHARE:
                start = _before_midnight(times, params)
            else:
                start = _on_the_curve(times, params.start, span)
            starts.append((start, visitor, number))
            number += 1
    starts.sort()
    return starts


def sessions(params: TrafficParams) -> Iterator[SimSession]:
    """Every session of the window in time order (each built when it is reached)."""
    for start, visitor, number in session_starts(params):
        yield build_session(params, start, visitor, number)


def build_session(params: TrafficParams, start: datetime, visitor: int, number: int) -> SimSession:
    """One session's events and batches; depends only on the seed and its arguments."""
    who = _visitor(params, visitor)
    rng = random.Random(f"{params.seed}:session:{number}")
    share_code, _, referrer = _pick(rng, [(c, w, r) for c, w, r in CHANNELS], weight=1)
    session_id = uuid7(start, rng)
    fields = {"share_code": share_code, "contact_id": who.contact_id}

    # Pages with their dwell times, clicks inside the pages they happen on.
    pages = 1 + _poisson(rng, (6.0 if who.is_bot else PAGE_VIEWS_PER_SESSION - 1))
    clicks = 0 if who.is_bot else _poisson(rng, CLICKS_PER_SESSION)
    click_pages = sorted(rng.randrange(pages) for _ in range(clicks))
    timeline: list[tuple[datetime, str, Event]] = []  # (time, what, event)
    moment = start
    for page in range(pages):
        page_type = _pick(rng, ENTRY_PAGES if page == 0 else NEXT_PAGES)[0]
        timeline.append((moment, "page", page_view_event(
            session_id, who.user_code, page_type, viewed_at=moment,
            event_id=uuid7(moment, rng), **fields)))  # fmt: skip
        dwell = timedelta(seconds=2 if who.is_bot else 3 + rng.expovariate(1 / 25))
        if rng.random() < 0.03 and not who.is_bot:  # a long read, still inside the session
            dwell += timedelta(minutes=rng.uniform(2, 20))
        for _ in range(click_pages.count(page)):
            at = moment + dwell * rng.uniform(0.2, 0.95)
            target, category, _ = _pick(rng, CLICK_TARGETS, weight=2)
            timeline.append((at, "click", click_event(
                session_id, who.user_code, target, click_category=category, clicked_at=at,
                event_id=uuid7(at, rng), **fields)))  # fmt: skip
        moment += dwell
    timeline.sort(key=lambda item: item[0])

    # A visit that would run past the window's end happens a little earlier instead.
    overflow = timeline[-1][0] - params.end + timedelta(seconds=1)
    if overflow > timedelta(0):
        return build_session(params, start - overflow, visitor, number)

    session = session_event(
        session_id, who.user_code, first_seen=start, user_agent=who.user_agent,
        referrer=referrer, **fields,
    )  # fmt: skip
    batches = _tracker_batches(session, timeline, start, who.spa)
    resend = [i for i in range(len(batches)) if rng.random() < RESEND_SHARE]
    return SimSession(session_id, who.user_code, who.user_agent, who.is_bot, batches, resend)


def _tracker_batches(
    session: Event, timeline: list[tuple[datetime, str, Event]], start: datetime, spa: bool
) -> list[list[Event]]:
    """Cuts a visit into the batches the tracker sends (see the module docstring)."""
    batches: list[list[Event]] = []
    waiting: list[Event] = [session]
    tick = start + FLUSH_INTERVAL

    def flush() -> None:
        while waiting:
            batches.append(waiting[:BATCH_SIZE])
            del waiting[:BATCH_SIZE]

    for moment, what, event in timeline:
        while tick <= moment:  # the 10 s timer fired before this event
            flush()
            tick += FLUSH_INTERVAL
        if what == "page" and not spa and moment > start:
            flush()  # the previous page was left: pagehide sends what waits
            tick = moment + FLUSH_INTERVAL  # the new page's own timer
        waiting.append(event)
        if len(waiting) >= BATCH_SIZE or event["data"].get("click_category") == "contact":
            flush()
    flush()  # the visit ends: the last page is hidden
    return batches


def _visitor(params: TrafficParams, visitor: int) -> _Visitor:
    rng = random.Random(f"{params.seed}:visitor:{visitor}")
    # Zipf-like popularity: card k is visited about 1/(k+1) as often as the first.
    weights = [1 / (k + 1) for k in range(params.user_codes)]
    code = rng.choices(range(params.user_codes), weights)[0]
    is_bot = rng.random() < BOT_SHARE
    agent = rng.choice(CRAWLERS if is_bot else BROWSERS)
    contact = f"c-{code + 1}-{rng.randrange(1, 40)}" if rng.random() < 0.2 else None
    return _Visitor(params.user_code(code), agent, is_bot, contact, spa=code % 3 == 2)


def _on_the_curve(rng: random.Random, start: datetime, span_s: float) -> datetime:
    """A time in [start, start + span) drawn with density HOURLY x WEEKDAY (rejection)."""
    top = max(HOURLY) * max(WEEKDAY)
    while True:
        moment = start + timedelta(seconds=rng.random() * span_s)
        if rng.random() * top < HOURLY[moment.hour] * WEEKDAY[moment.weekday()]:
            return moment


def _before_midnight(rng: random.Random, params: TrafficParams) -> datetime:
    """A start a few minutes before some midnight inside the window (if it has one)."""
    first = (params.start + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    midnights = []
    while first < params.end - timedelta(minutes=30):
        midnights.append(first)
        first += timedelta(days=1)
    if not midnights:
        return _on_the_curve(rng, params.start, (params.end - params.start).total_seconds())
    return rng.choice(midnights) - timedelta(seconds=rng.uniform(20, 240))


def _pick(rng: random.Random, options: list, weight: int = 1):
    """One option, by the weight at index `weight` of each tuple."""
    totals = []
    total = 0.0
    for option in options:
        total += option[weight]
        totals.append(total)
    return options[bisect.bisect(totals, rng.random() * total)]


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means used here."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _geometric(rng: random.Random, mean: float) -> int:
    """0, 1, 2, ... with P(k) falling geometrically and the given mean."""
    keep = mean / (1 + mean)
    count = 0
    while rng.random() < keep:
        count += 1
    return count


def window(
    days: float, start: datetime | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The simulated window: `days` days from `start`, or the last `days` days up to now."""
    now = now or datetime.now(UTC)
    if start is None:
        return now - timedelta(days=days), now
    start = start.astimezone(UTC) if start.tzinfo else start.replace(tzinfo=UTC)
    return start, start + timedelta(days=days)
