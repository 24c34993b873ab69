"""A rate limiter like the real API's: a token bucket per API key and endpoint.

FullStory documents a per-second rate and a burst allowance that recharges over time, per
endpoint, answered with 429 and ``Retry-After: <integer seconds>`` when exceeded. Each bucket
holds at most ``burst`` tokens, refills at ``rate`` tokens per second and starts full; a request
takes one token or is refused with the whole seconds until one is free (at least 1).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable

import attrs

# Buckets kept at most; the least recently used one goes first (it then starts full again).
MAX_BUCKETS = 10_000


@attrs.define
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by anything hashable, e.g. ``(api_key, "POST /v2/events")``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.rate = 0.0
        self.burst = 1.0
        self.limited = 0
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def configure(self, rate: float, burst: int | None) -> None:
        """Start over with ``rate`` tokens per second (0: off) and room for ``burst`` tokens
        (None: one second's worth, at least 1). Every bucket starts full again."""
        self.rate = rate
        self.burst = float(burst) if burst else max(1.0, rate)
        self._buckets.clear()

    def reset(self) -> None:
        """Full buckets and a zero count, as at start."""
        self._buckets.clear()
        self.limited = 0

    def take(self, key: Hashable) -> int | None:
        """Take a token from ``key``'s bucket: None when there was one, else the Retry-After
        seconds (the time until the next token, rounded up, at least 1)."""
        if not self.enabled:
            return None
        bucket = self._refilled(key)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        self.limited += 1
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def _refilled(self, key: Hashable) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
            return bucket
        self._buckets.move_to_end(key)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket
