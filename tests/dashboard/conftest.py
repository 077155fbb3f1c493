"""Dashboard tests: the owner API additions through httpx, and the page in Debian's headless
Chromium (the tracker tests' `chrome` fixture) against the real app under uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from clik.owners import add_owner
from tests.dashboard.cards import seed_card
from tests.ingest_service.conftest import anyio_backend, make_settings
from tests.tracker.conftest import chrome
from tests.tracker.servers import running_ingest

__all__ = ["anyio_backend", "chrome", "make_settings"]  # fixtures shared with other suites

DAYS_SEEDED = 200  # enough for a 90-day range and the 90 days before it


@dataclass(frozen=True)
class Owners:
    alice: str  # token of the owner of "alice-card" and "alice-qr"
    bob: str  # token of the owner of "bob-card"


@pytest.fixture
def today() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def owners(conn: psycopg.Connection, today: datetime) -> Owners:
    """Two owners with cards whose figures differ by orders of magnitude."""
    for user_code, scale in (("alice-card", 1), ("alice-qr", 7), ("bob-card", 1000)):
        seed_card(conn, user_code, scale, today.date(), DAYS_SEEDED)
    _, alice = add_owner(conn, "alice", ["alice-qr", "alice-card"])
    _, bob = add_owner(conn, "bob", ["bob-card"])
    return Owners(alice, bob)


@pytest.fixture
def service(database_url: str, owners: Owners, tmp_path: Path) -> Iterator[str]:
    """The ingest app (dashboard included) under uvicorn; yields its base URL."""
    with running_ingest(database_url, tmp_path / "clik-home") as url:
        yield url


def day_before(moment: datetime, days: int) -> str:
    return (moment.date() - timedelta(days)).isoformat()
