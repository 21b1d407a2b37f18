"""Per-client rate limiting (a token bucket per client key) answering 429 with Retry-After.

Hand-written on purpose, where aiolimiter would serve a client that waits for capacity: an
admission check per request, on every request's path. ``shems-optimizer bench hotpath`` measures
this bucket at 0.19 us a check with room and 0.30 us when refusing, against 1.0 and 0.47 us for
aiolimiter's ``AsyncLimiter`` doing the same (one per client, ``has_capacity`` then ``acquire``).
aiolimiter also keeps its level private, so the exact Retry-After below could not be computed
from it, and it reads only the event loop's clock, which the refill test replaces.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Allow ``per_minute`` requests per client, in bursts up to the same number.

    A bucket refills continuously at ``per_minute / 60`` tokens per second; a request takes one. Idle
    clients' buckets are dropped so a scan of many addresses cannot grow memory without bound.
    """

    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000
    ) -> None:
        if per_minute <= 0:
            raise ValueError(f"rate limit must be positive, got {per_minute} requests per minute")
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: dict[str, _Bucket] = {}

    def check(self, client: str) -> float | None:
        """Take a token for ``client``: ``None`` when allowed, else seconds until the next one."""
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= self._max_clients:
                self._prune(now)
            bucket = self._buckets[client] = _Bucket(tokens=float(self.per_minute), updated=now)
        else:
            bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self._rate

    def _prune(self, now: float) -> None:
        full_after = self.per_minute / self._rate
        for key in [k for k, b in self._buckets.items() if now - b.updated >= full_after]:
            del self._buckets[key]
        if len(self._buckets) >= self._max_clients:  # all active: forget the oldest half
            for key, _ in sorted(self._buckets.items(), key=lambda kv: kv[1].updated)[
                : self._max_clients // 2
            ]:
                del self._buckets[key]


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
