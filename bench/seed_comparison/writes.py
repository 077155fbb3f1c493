"""Database writes per 10 visitors: the same visitors written the old way (one INSERT, one
transaction per event, into the JSONB table) and through the ingest service (the tracker's
batches, and the seed's idealised batches of 20 events across visitors).

Counted by PostgreSQL itself, per approach, on a database of its own:
- statements: data-modifying statements the clients sent (pg_stat_statements, top level,
  including a SELECT of a function that wrote); the statements run inside functions and
  triggers are counted apart;
- transactions: COMMIT records written to the WAL in the window (pg_walinspect), i.e. the
  transactions that wrote something; each costs a WAL flush;
- WAL bytes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from clik.client import IngestClient, RetryPolicy
from clik.traffic import SimSession, TrafficParams, build_session, session_starts

WRITE_VERBS = {"INSERT", "UPDATE", "DELETE", "MERGE"}
COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


@dataclass
class Writes:
    approach: str
    visitors: int
    events: int
    requests: int = 0
    statements: int = 0
    trigger_statements: int = 0
    transactions: int = 0
    wal_bytes: int = 0
    seconds: float = 0.0
    statement_texts: dict[str, int] = field(default_factory=dict)

    def per_10_visitors(self, value: int) -> float:
        return 10 * value / self.visitors


@dataclass
class Visitors:
    """The human visitors of a simulated day (crawlers left out: the old system's figures
    are per visitor) and their sessions, as `clik simulate` would send them."""

    count: int
    sessions: list[SimSession]

    @property
    def events(self) -> list[dict]:
        return [event for session in self.sessions for event in session.events]


def simulated_visitors(visitors: int, seed: int = 11) -> Visitors:
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    params = TrafficParams(visitors, end - timedelta(days=1), end, user_codes=10, seed=seed)
    humans: set[int] = set()
    kept = []
    for start, visitor, number in session_starts(params):
        session = build_session(params, start, visitor, number)
        if not session.is_bot:
            humans.add(visitor)
            kept.append(session)
    return Visitors(len(humans), kept)


@contextmanager
def counted(admin: psycopg.Connection, database: str, result: Writes) -> Iterator[None]:
    """Counts what happens in `database` inside the block (admin: a superuser connection)."""
    admin.execute("SELECT pg_stat_statements_reset()")
    (start,) = admin.execute("SELECT pg_current_wal_flush_lsn()").fetchone()
    began = time.perf_counter()
    yield
    result.seconds = time.perf_counter() - began
    # Every measured transaction committed (and so flushed its WAL) before the block ended.
    (end,) = admin.execute("SELECT pg_current_wal_flush_lsn()").fetchone()
    result.wal_bytes = admin.execute("SELECT pg_wal_lsn_diff(%s, %s)", [end, start]).fetchone()[0]
    (result.transactions,) = admin.execute(
        'SELECT coalesce(sum("count"), 0) FROM pg_get_wal_stats(%s, %s, true) '
        "WHERE \"resource_manager/record_type\" = 'Transaction/COMMIT'",
        [start, end],
    ).fetchone()
    rows = admin.execute(
        "SELECT s.toplevel, s.query, s.calls, s.wal_records FROM pg_stat_statements s "
        "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s",
        [database],
    ).fetchall()
    for toplevel, text, calls, wal_records in rows:
        if not _writes(text, wal_records):
            continue
        if toplevel:
            result.statements += calls
            result.statement_texts[" ".join(COMMENT.sub("", text).split())[:90]] = calls
        else:
            result.trigger_statements += calls


def _writes(text: str, wal_records: int) -> bool:
    """A statement that modifies data: INSERT/UPDATE/DELETE/MERGE (also inside WITH), or a
    SELECT or CALL of a function that wrote (the ingest service sends one such call per
    batch). Transaction control (BEGIN, COMMIT) is not counted: transactions are, apart."""
    words = COMMENT.sub("", text).split()
    if not words:
        return False
    verb = words[0].upper()
    if verb == "WITH":
        return bool(re.search(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", text, re.IGNORECASE))
    if verb in ("SELECT", "CALL"):
        return wal_records > 0
    return verb in WRITE_VERBS


# --- the three approaches -------------------------------------------------------------------


def old_way(
    database_url: str, visitors: Visitors, admin: psycopg.Connection, database: str
) -> Writes:
    """The old tracker: every page view and click its own request, one INSERT committed alone
    into the JSONB table (sessions were not events in the old design)."""
    events = [event for event in visitors.events if event["type"] != "session"]
    result = Writes("old: one INSERT per event", visitors.count, len(events), requests=len(events))
    rows = [_legacy_row(event) for event in events]
    with psycopg.connect(database_url, autocommit=True) as conn, counted(admin, database, result):
        for row in rows:
            conn.execute(
                "INSERT INTO analytics_events (event_type, event_data, created_at) "
                "VALUES (%s, %s, %s)",
                row,
            )
    return result


def tracker_batches(
    service_url: str, visitors: Visitors, admin: psycopg.Connection, database: str, clients: int
) -> Writes:
    """clik: each browser's batches as the tracker cuts them (every 10 s, 20 events, a contact
    click, leaving a page), through `POST /api/analytics/ingest`."""
    sequences = [
        [(session.user_agent, batch) for batch in session.batches] for session in visitors.sessions
    ]
    result = Writes("clik: the tracker's batches", visitors.count, len(visitors.events))
    result.requests = sum(len(sequence) for sequence in sequences)
    with counted(admin, database, result):
        _post(service_url, sequences, clients)
    return result


def seed_batches(
    service_url: str, visitors: Visitors, admin: psycopg.Connection, database: str, clients: int
) -> Writes:
    """The seed's arithmetic: the events of many visitors collected, then sent 20 at a time,
    sessions first, then page views, then clicks (10 visitors: 1 + 2 + 2 bulk inserts)."""
    ordered = sorted(
        visitors.events, key=lambda e: ("session", "page_view", "click").index(e["type"])
    )
    batches = [ordered[i : i + 20] for i in range(0, len(ordered), 20)]
    result = Writes(
        "clik: 20-event batches across visitors",
        visitors.count,
        len(ordered),
        requests=len(batches),
    )
    with counted(admin, database, result):
        _post(service_url, [[(None, batch)] for batch in batches], clients)
    return result


def _post(
    service_url: str, sequences: list[list[tuple[str | None, list[dict]]]], clients: int
) -> None:
    """Posts each sequence's batches in order; sequences run `clients` at a time."""
    client = IngestClient(service_url, retry=RetryPolicy(max_attempts=3))
    failures: list[str] = []

    def send(sequence: list[tuple[str | None, list[dict]]]) -> None:
        for user_agent, batch in sequence:
            answer = client.send(batch, user_agent=user_agent or "Mozilla/5.0 (bench)")
            if answer.status != 200 or answer.rejected:
                failures.append(f"{answer.status} {answer.error} {answer.rejected[:2]}")

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, sequences))
    client.close()
    if failures:
        raise SystemExit(f"the ingest service refused batches: {failures[:3]}")


def _legacy_row(event: dict) -> tuple[str, Jsonb, datetime]:
    data = event["data"]
    if event["type"] == "page_view":
        moment, payload = data["viewed_at"], {"pageType": data["page_type"]}
        kind = "view"
    else:
        moment = data["clicked_at"]
        payload = {"clickTarget": data["click_target"], "clickCategory": data.get("click_category")}
        kind = "click"
    payload |= {
        "userCode": data["user_code"],
        "sessionId": data["session_id"],
        "shareCode": data.get("share_code"),
        "contactId": data.get("contact_id"),
        "timestamp": moment,
    }
    return (
        kind,
        Jsonb({k: v for k, v in payload.items() if v is not None}),
        datetime.fromisoformat(moment),
    )
