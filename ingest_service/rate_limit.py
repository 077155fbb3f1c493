"""Per-address rate limiting of the ingest endpoint: a token bucket per client address.

Each worker process keeps its own buckets, so with N workers an address may send up to N times
the limit; the limit is a guard against floods, not an exact quota. Buckets are kept for the
most recently seen addresses only, so memory stays bounded whatever the traffic.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict


class RateLimiter:
    def __init__(self, per_minute: int, max_addresses: int = 100_000) -> None:
        self.capacity = float(per_minute)  # a full minute's worth may arrive at once
        self.refill_per_second = per_minute / 60.0
        self.max_addresses = max_addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        """How many addresses have a bucket."""
        return len(self._buckets)

    def wait_seconds(self, address: str, now: float | None = None) -> int:
        """0 when a request from `address` may go ahead now (it is counted); otherwise the
        whole seconds until it may."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(address, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.refill_per_second)
        if tokens >= 1:
            tokens -= 1
            wait = 0
        else:
            wait = max(1, math.ceil((1 - tokens) / self.refill_per_second))
        self._buckets[address] = (tokens, now)  # most recently seen last
        if len(self._buckets) > self.max_addresses:
            self._buckets.popitem(last=False)  # forgetting an address only makes it lenient
        return wait
