"""Which address is the client's, and what CLIK_IP_MODE keeps of it."""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import date

import psycopg
import pytest

from ingest_service.app import create_app
from ingest_service.client_ip import client_address, stored_ip
from tests.ingest_service.conftest import INGEST, batch, page_view, running

PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
DAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("203.0.113.9", None, "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # untrusted peer: header ignored
        ("10.1.2.3", "198.51.100.1", "198.51.100.1"),
        ("10.1.2.3", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"),  # rightmost untrusted
        ("10.1.2.3", "not-an-ip", "10.1.2.3"),
        ("::ffff:203.0.113.9", None, "203.0.113.9"),
    ],
)
def test_x_forwarded_for_is_believed_only_from_trusted_proxies(
    peer: str, forwarded_for: str | None, client: str
) -> None:
    assert str(client_address(peer, forwarded_for, PROXIES)) == client


def test_ip_modes() -> None:
    v4, v6 = ipaddress.ip_address("203.0.113.9"), ipaddress.ip_address("2001:db8:abcd:12::1")
    assert stored_ip(v4, "full", b"k", DAY) == "203.0.113.9"
    assert stored_ip(v4, "truncate", b"k", DAY) == "203.0.113.0"
    assert stored_ip(v6, "truncate", b"k", DAY) == "2001:db8:abcd::"
    assert stored_ip(v4, "none", b"k", DAY) is None
    assert stored_ip(None, "full", b"k", DAY) is None


def test_the_hash_is_keyed_and_its_salt_changes_every_day() -> None:
    address = ipaddress.ip_address("203.0.113.9")
    today = stored_ip(address, "hash", b"key", DAY)
    assert today == stored_ip(address, "hash", b"key", DAY)  # one visitor within a day
    assert today != stored_ip(address, "hash", b"key", date(2026, 11, 26))
    assert today != stored_ip(address, "hash", b"other key", DAY)
    assert today != stored_ip(ipaddress.ip_address("203.0.113.10"), "hash", b"key", DAY)
    plain = {hashlib.sha256(text).hexdigest()[:32] for text in (b"203.0.113.9", address.packed)}
    assert today not in plain and "203.0.113" not in today


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("mode", "extra", "stored"),
    [
        ("full", {"trusted_proxies": "203.0.113.0/24, 10.0.0.1"}, "198.51.100.23"),
        ("truncate", {}, "203.0.113.0"),
        ("none", {}, None),
    ],
)
async def test_sessions_store_the_address_as_configured(
    make_settings, conn: psycopg.Connection, mode: str, extra: dict, stored: str | None
) -> None:
    app = create_app(make_settings(ip_mode=mode, **extra))
    async with running(app) as client:  # the peer is 203.0.113.77
        await client.post(
            INGEST, json=batch(page_view("s1")), headers={"X-Forwarded-For": "198.51.100.23"}
        )
    assert conn.execute("SELECT ip_address FROM analytics_sessions").fetchone() == (stored,)


@pytest.mark.anyio
async def test_hash_mode_keeps_a_key_shared_by_every_worker(
    make_settings, conn: psycopg.Connection
) -> None:
    settings = make_settings(ip_mode="hash")
    assert settings.ip_hash_key() == make_settings(ip_mode="hash").ip_hash_key()
    async with running(create_app(settings)) as client:
        await client.post(INGEST, json=batch(page_view("s1")))
    (stored,) = conn.execute("SELECT ip_address FROM analytics_sessions").fetchone()
    assert len(stored) == 32 and "203.0.113" not in stored
