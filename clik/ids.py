"""Time-ordered event ids: UUID version 7 (RFC 9562), as the tracker makes them. The ingest
service makes one for an event sent without an id; the Python client and `clik simulate` for
every event (seeded, for a reproducible simulation)."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime


def uuid7(at: datetime | None = None, rng: random.Random | None = None) -> str:
    """A UUID version 7: 48 bits of Unix milliseconds (of `at`, default now), then random bits
    (from `rng` when given, so a seeded simulation makes the same ids every time)."""
    millis = int((at or datetime.now(UTC)).timestamp() * 1000)
    rand = rng.getrandbits(80) if rng is not None else int.from_bytes(os.urandom(10))
    value = (millis & (2**48 - 1)) << 80 | rand
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # variant 10
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"  # str(uuid.UUID(...)), faster
