"""How many requests the batcher keeps in flight: adaptive, between a floor and a ceiling.

One request per round trip is all a connection can carry, so the events a sender delivers per
second are bound by ``requests in flight / round trip``: four in flight deliver 50 events/s at an
80 ms round trip and 1,000 over loopback. A fixed number is wrong somewhere; this limit finds
its own, the way TCP and server-side concurrency limiters do (additive increase, multiplicative
decrease):

- It grows only when it is what holds the sender back (work was waiting when a send finished)
  and the round trip holds: slow start first (one more per answer, doubling every round trip),
  then about 6 % more per round trip, so a limit that was cut is back within a few seconds.
- A round trip far above the lowest one seen lately (``LATENCY_TOLERANCE`` times it, plus
  ``LATENCY_SLACK_S``) means requests are queueing somewhere: growth stops, and the limit eases
  down by one per round trip.
- 429 (the server asks for less) cuts it by 10 %, or down to the answers that came back
  fine over the last round trip, whichever is lower: met at full speed by a limit far below it,
  one cut brings it near the rate the server allows, rather than ten. A timeout, a connection
  failure or a 5xx cuts it in half. One cut per round trip: the answers to requests sent before
  a cut do not cut again; and the limit holds for ``HOLD_ROUND_TRIPS`` before it grows again.
  Against a server that allows a fixed rate this delivers at that rate with about 2-5 % of
  requests answered 429 once settled, about 10 % counting the fall from full speed
  (tests/test_concurrency.py simulates both).

Pure logic: the caller passes the clock's readings, so tests drive it without sleeping.
"""

from __future__ import annotations

import math

LATENCY_TOLERANCE = 2.0
LATENCY_SLACK_S = 0.005
# The lowest round trip is remembered over two windows of this length, so a route that got
# slower for good is learnt within a minute.
MIN_RTT_WINDOW_S = 30.0
RATE_LIMITED_CUT = 0.9
FAILURE_CUT = 0.5
GROWTH_PER_ROUND_TRIP = 1 / 16
# After a cut, the limit holds for this many round trips before it grows again: the answers to
# what was sent before the cut need that long to show whether the cut was enough.
HOLD_ROUND_TRIPS = 3


class ConcurrencyLimit:
    """The number of requests allowed in flight now (``allowed()``), fed every outcome."""

    __slots__ = (
        "_counted",
        "_counting_since",
        "_grow_after",
        "_last_cut",
        "_last_round_trip_count",
        "_previous_min",
        "_window_min",
        "_window_start",
        "ceiling",
        "cuts",
        "floor",
        "limit",
        "slow_start",
    )

    def __init__(self, floor: int, ceiling: int, *, start: int | None = None) -> None:
        if not 1 <= floor <= ceiling:
            raise ValueError(f"need 1 <= floor <= ceiling, got {floor} and {ceiling}")
        self.floor = floor
        self.ceiling = ceiling
        self.limit = float(min(ceiling, max(floor, start if start is not None else floor)))
        self.slow_start = floor < ceiling
        self.cuts = 0
        self._last_cut = -math.inf
        self._grow_after = -math.inf
        # Answers that came back fine: in the round trip now running, and in the last whole one.
        self._counting_since = -math.inf
        self._counted = 0
        self._last_round_trip_count: int | None = None
        self._window_start = -math.inf
        self._window_min = math.inf
        self._previous_min = math.inf

    def allowed(self) -> int:
        return int(self.limit)

    def fixed(self) -> bool:
        return self.floor == self.ceiling

    def base_rtt(self) -> float:
        """The lowest round trip seen over the last one or two windows."""
        return min(self._window_min, self._previous_min)

    def _sample(self, rtt: float, now: float) -> bool:
        """Record a round trip; True when it is within the tolerance of the lowest one."""
        if now - self._window_start >= MIN_RTT_WINDOW_S:
            self._previous_min, self._window_min = self._window_min, math.inf
            self._window_start = now
        if rtt < self._window_min:
            self._window_min = rtt
        return rtt <= LATENCY_TOLERANCE * self.base_rtt() + LATENCY_SLACK_S

    def delivered(self, sent_at: float, now: float, *, saturated: bool) -> None:
        """An answer that says the server is fine. ``saturated``: work was waiting for a slot."""
        if self.fixed():
            return
        self._count(now)
        if not self._sample(now - sent_at, now):
            self.slow_start = False
            self.limit = max(float(self.floor), self.limit - 1.0 / self.limit)
            return
        if not saturated or now < self._grow_after:
            return
        if self.slow_start:
            self.limit = min(float(self.ceiling), self.limit + 1.0)
        else:
            step = max(1.0, self.limit * GROWTH_PER_ROUND_TRIP) / self.limit
            self.limit = min(float(self.ceiling), self.limit + step)

    def _count(self, now: float) -> None:
        """Count an answer that came back fine, by round trip."""
        base = self.base_rtt()
        if now - self._counting_since >= base:
            whole = self._counting_since > -math.inf and now - self._counting_since < 2 * base
            self._last_round_trip_count = self._counted if whole else None
            self._counted, self._counting_since = 0, now
        self._counted += 1

    def congested(self, sent_at: float, now: float, *, rate_limited: bool) -> None:
        """A 429 (``rate_limited``), or a timeout, connection failure or 5xx."""
        if self.fixed() or sent_at < self._last_cut:
            return  # sent before the last cut: that cut already answered this congestion
        self.slow_start = False
        if rate_limited:
            limit = self.limit * RATE_LIMITED_CUT
            if self._last_round_trip_count is not None:
                # What the server let through in a round trip is what it allows in flight.
                limit = min(limit, max(1.0, float(self._last_round_trip_count)))
        else:
            limit = self.limit * FAILURE_CUT
        self.limit = max(float(self.floor), limit)
        self._last_cut = now
        base = self.base_rtt()
        self._grow_after = now + HOLD_ROUND_TRIPS * base if base < math.inf else now
        self.cuts += 1
