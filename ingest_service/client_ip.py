"""The client's address: who sent the request, and what of it is stored (CLIK_IP_MODE)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Sequence
from datetime import date

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[IpNetwork]
) -> IpAddress | None:
    """The address of the client: the connection's peer, unless that peer is a trusted proxy,
    in which case X-Forwarded-For is read from the right, skipping further trusted proxies
    (the left-most entries are whatever the client chose to send, so never believed blindly)."""
    address = _parse(peer)
    if address is None or not forwarded_for or not _is_trusted(address, trusted_proxies):
        return address
    for hop in reversed(forwarded_for.split(",")):
        hop_address = _parse(hop.strip())
        if hop_address is None:
            return address  # garbage in the header: stop at the last address we trust
        address = hop_address
        if not _is_trusted(address, trusted_proxies):
            return address
    return address


def stored_ip(address: IpAddress | None, mode: str, hash_key: bytes, today: date) -> str | None:
    """What analytics_sessions.ip_address keeps of `address` under `mode`:
    full: the address; truncate: its /24 (IPv4) or /48 (IPv6) network; hash: a keyed hash
    that changes every UTC day (the same visitor is recognisable within a day, not across days,
    and without the key not at all); none: nothing."""
    if address is None or mode == "none":
        return None
    if mode == "full":
        return str(address)
    if mode == "truncate":
        prefix = 24 if address.version == 4 else 48
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)
    day_key = hmac.new(hash_key, today.isoformat().encode(), hashlib.sha256).digest()
    return hmac.new(day_key, address.packed, hashlib.sha256).hexdigest()[:32]


def _parse(text: str | None) -> IpAddress | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:203.0.113.9 is an IPv4 client
    return address


def _is_trusted(address: IpAddress, trusted_proxies: Sequence[IpNetwork]) -> bool:
    return any(address in network for network in trusted_proxies)
