"""The adaptive number of requests in flight (``session_analytics._batching.concurrency``) and
the batcher that obeys it.

The limit's rules are pure: tests feed it clock readings. A small simulation of a server that
allows a fixed rate (a token bucket, as the sandbox's limiter and the real API have) checks the
figures the limit is built for: the allowed rate delivered, few 429s, full speed soon after the
limit lifts. The batcher tests use fake senders that take a fixed round trip, and check what
the batcher does with the limit: more requests in flight when work waits, never more than the
ceiling, workers started only as needed, smaller Smartlook batches after a lost answer.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from session_analytics import _json
from session_analytics._batching import (
    AsyncBatcher,
    Batcher,
    BatchingOptions,
    Delivered,
    Entry,
    Failed,
    SendOutcome,
)
from session_analytics._batching.concurrency import (
    FAILURE_CUT,
    HOLD_ROUND_TRIPS,
    RATE_LIMITED_CUT,
    ConcurrencyLimit,
)
from session_analytics.errors import InvalidArgumentError

RTT = 0.08


def round_trip(limit: ConcurrencyLimit, now: float, *, saturated: bool = True) -> float:
    """Every request allowed now is answered one RTT later; returns the new time."""
    for _ in range(limit.allowed()):
        limit.delivered(now, now + RTT, saturated=saturated)
    return now + RTT


# ---- the rules --------------------------------------------------------------------------------


def test_slow_start_doubles_every_round_trip_up_to_the_ceiling() -> None:
    limit = ConcurrencyLimit(4, 128)
    assert limit.allowed() == 4
    now = 0.0
    seen = []
    for _ in range(7):
        now = round_trip(limit, now)
        seen.append(limit.allowed())
    assert seen == [8, 16, 32, 64, 128, 128, 128]


def test_it_grows_only_when_work_waited() -> None:
    limit = ConcurrencyLimit(4, 128)
    now = 0.0
    for _ in range(10):
        now = round_trip(limit, now, saturated=False)
    assert limit.allowed() == 4


def test_a_rising_round_trip_stops_growth_and_eases_the_limit_down() -> None:
    limit = ConcurrencyLimit(4, 128)
    now = round_trip(limit, round_trip(limit, 0.0))
    assert limit.allowed() == 16
    # Requests now queue somewhere: 5x the lowest round trip.
    for _ in range(20):
        for _ in range(limit.allowed()):
            limit.delivered(now, now + 5 * RTT, saturated=True)
        now += 5 * RTT
    assert limit.allowed() == 4  # one less per round trip, never below the floor
    assert not limit.slow_start


def test_a_429_cuts_by_a_tenth_once_per_round_trip_then_holds() -> None:
    limit = ConcurrencyLimit(4, 128)
    now = 0.0
    for _ in range(7):  # up to the ceiling, then whole round trips of 128 answers
        now = round_trip(limit, now)
    assert limit.allowed() == 128
    # Ten answers 429 to requests sent before the first one came back: one cut.
    for _ in range(10):
        limit.congested(now - RTT, now, rate_limited=True)
    assert limit.allowed() == int(128 * RATE_LIMITED_CUT)
    assert limit.cuts == 1
    # A request sent after the cut that meets a 429 again cuts again.
    limit.congested(now + 0.001, now + RTT, rate_limited=True)
    assert limit.cuts == 2
    # It holds for a few round trips, then grows again.
    cut_at, held = now + RTT, limit.limit
    limit.delivered(cut_at, cut_at + RTT, saturated=True)
    assert limit.limit == held
    later = cut_at + (HOLD_ROUND_TRIPS + 1) * RTT
    limit.delivered(later - RTT, later, saturated=True)
    assert limit.limit > held


def test_failures_cut_in_half_down_to_the_floor() -> None:
    limit = ConcurrencyLimit(4, 128, start=64)
    now = 1.0
    limit.congested(now - RTT, now, rate_limited=False)
    assert limit.allowed() == int(64 * FAILURE_CUT)
    for step in range(1, 10):
        limit.congested(now + step, now + step + RTT, rate_limited=False)
    assert limit.allowed() == 4


def test_a_fixed_range_never_moves() -> None:
    limit = ConcurrencyLimit(6, 6)
    now = 0.0
    for _ in range(5):
        now = round_trip(limit, now)
    limit.congested(now - RTT, now, rate_limited=False)
    assert limit.allowed() == 6


@pytest.mark.parametrize(("floor", "ceiling"), [(0, 4), (5, 4)])
def test_a_bad_range_is_refused(floor: int, ceiling: int) -> None:
    with pytest.raises(ValueError, match="floor"):
        ConcurrencyLimit(floor, ceiling)


def test_batching_options_check_the_range() -> None:
    with pytest.raises(InvalidArgumentError, match="min_concurrency") as info:
        BatchingOptions(concurrency=4, min_concurrency=8)
    assert info.value.field == "min_concurrency"
    with pytest.raises(InvalidArgumentError, match="concurrency"):
        BatchingOptions(min_concurrency=0)
    given = BatchingOptions(concurrency=10)
    assert given.with_concurrency(4, 128).concurrency_range() == (4, 10)
    assert BatchingOptions(concurrency=2).with_concurrency(4, 128).concurrency_range() == (2, 2)
    assert BatchingOptions().with_concurrency(4, 128).concurrency_range() == (4, 128)
    assert BatchingOptions().concurrency_range() == (1, 1)


# ---- against a server that allows a fixed rate ------------------------------------------------


def simulate(
    rate: float,
    burst: float,
    rtt: float,
    seconds: float,
    *,
    lift_at: float = math.inf,
    limit_from: float = 0.0,
) -> list[tuple[float, bool]]:
    """A client at its limit, always with work waiting, against a token bucket (from
    ``limit_from`` until ``lift_at``) that the requests meet half a round trip after they
    leave; (answer time, admitted) per request."""
    limit = ConcurrencyLimit(4, 128)
    tokens, filled_at, now = burst, 0.0, 0.0
    flying: list[tuple[float, float, bool]] = []
    answers: list[tuple[float, bool]] = []
    while now < seconds:
        while len(flying) < limit.allowed():
            arrives = now + rtt / 2
            tokens = min(burst, tokens + (arrives - filled_at) * rate)
            filled_at = arrives
            unlimited = arrives >= lift_at or arrives < limit_from
            admitted = tokens >= 1 or unlimited
            if tokens >= 1 and not unlimited:
                tokens -= 1
            heapq.heappush(flying, (now + rtt, now, admitted))
        now, sent_at, admitted = heapq.heappop(flying)
        if admitted:
            limit.delivered(sent_at, now, saturated=True)
        else:
            limit.congested(sent_at, now, rate_limited=True)
        answers.append((now, admitted))
    return answers


@pytest.mark.parametrize("rtt", [0.02, 0.08, 0.15])
def test_a_rate_limited_server_gets_its_rate_with_few_429s(rtt: float) -> None:
    answers = [(t, ok) for t, ok in simulate(300, 50, rtt, 30) if t >= 5]  # steady state
    admitted = sum(ok for _, ok in answers)
    assert admitted / 25 >= 270
    assert (len(answers) - admitted) / len(answers) <= 0.10


@pytest.mark.parametrize("burst", [50, 300])
def test_meeting_a_rate_limit_at_full_speed_costs_few_429s(burst: int) -> None:
    # Five seconds unlimited (the limit climbs to its ceiling of 128, 1,600 a second), then a
    # limit of 300 a second: one cut to what came back fine in the last round trip, not ten.
    answers = [(t, ok) for t, ok in simulate(300, burst, RTT, 15, limit_from=5) if t >= 5]
    admitted = sum(ok for _, ok in answers)
    assert admitted / 10 >= 270
    assert (len(answers) - admitted) / len(answers) <= 0.11


def test_a_429_cuts_to_what_came_back_fine_in_the_last_round_trip() -> None:
    limit = ConcurrencyLimit(4, 128, start=100)
    limit.slow_start = False
    now = 0.0
    for _ in range(3):  # whole round trips of 20 answers each
        for step in range(20):
            limit.delivered(now - RTT, now + step * RTT / 20, saturated=False)
        now += RTT
    limit.congested(now - RTT / 2, now, rate_limited=True)
    assert limit.allowed() == 20


def test_full_speed_within_seconds_after_the_limit_lifts() -> None:
    answers = simulate(300, 50, RTT, 25, lift_at=15)
    per_second = [sum(ok for t, ok in answers if s <= t < s + 1) for s in range(25)]
    assert max(per_second[:15]) <= 360
    # 128 in flight at 80 ms is 1,600 a second: reached within 3 s of the lift.
    assert min(per_second[18:24]) >= 1400


# ---- the batcher obeys it ---------------------------------------------------------------------


class RoundTripSender:
    """Answers every batch after ``rtt`` seconds with ``answer(batch)``; counts what is in
    flight at once."""

    name = "roundtrip"
    deduplicates = True

    def __init__(self, rtt: float, answer: Callable[[list[Entry]], SendOutcome] | None = None):
        self.rtt = rtt
        self.answer = answer or (lambda batch: Delivered())
        self.lock = threading.Lock()
        self.flying = self.most = self.sent = 0
        self.sizes: list[int] = []

    def _begin(self, batch: list[Entry]) -> None:
        with self.lock:
            self.flying += 1
            self.sent += 1
            self.most = max(self.most, self.flying)
            self.sizes.append(len(batch))

    def _end(self) -> None:
        with self.lock:
            self.flying -= 1

    def send(self, batch: list[Entry]) -> SendOutcome:
        self._begin(batch)
        time.sleep(self.rtt)
        self._end()
        return self.answer(batch)


class AsyncRoundTripSender(RoundTripSender):
    async def send(self, batch: list[Entry]) -> SendOutcome:  # type: ignore[override]
        self._begin(batch)
        await asyncio.sleep(self.rtt)
        self._end()
        return self.answer(batch)


def events(count: int) -> list[bytes]:
    return [_json.dumps({"i": i}) for i in range(count)]


ONE_BY_ONE: dict[str, Any] = {"flush_at": 1, "max_batch_events": 1, "flush_interval": 0.05}


def workers(name: str) -> int:
    return sum(t.name.startswith(f"session-analytics-{name}-") for t in threading.enumerate())


def test_a_backlog_raises_the_requests_in_flight_up_to_the_ceiling() -> None:
    sender = RoundTripSender(0.05)
    batcher = Batcher(sender, BatchingOptions(concurrency=24, min_concurrency=2, **ONE_BY_ONE))
    try:
        for payload in events(600):
            assert batcher.enqueue(payload, None)
        assert batcher.flush(30.0)
        assert sender.most > 2  # it grew past the floor...
        assert sender.most <= 24  # ...and never past the ceiling
        assert workers("roundtrip") <= 24
        assert batcher.stats().delivered == 600
    finally:
        batcher.stop(5.0)


def test_without_a_backlog_it_stays_at_the_floor() -> None:
    sender = RoundTripSender(0.01)
    batcher = Batcher(sender, BatchingOptions(concurrency=64, min_concurrency=2, **ONE_BY_ONE))
    try:
        for payload in events(30):
            assert batcher.enqueue(payload, None)
            assert batcher.flush(5.0)  # one at a time: nothing ever waits for a slot
        assert sender.most == 1
        assert workers("roundtrip") == 2  # the floor's workers, no more
    finally:
        batcher.stop(5.0)


def test_rate_limiting_answers_bring_the_limit_down() -> None:
    def answer(batch: list[Entry]) -> SendOutcome:
        return Failed(RuntimeError("429"), retryable=True, retry_after=0.05)

    sender = RoundTripSender(0.02, answer)
    batcher = Batcher(
        sender,
        BatchingOptions(concurrency=32, min_concurrency=2, max_retry_time=0.5, **ONE_BY_ONE),
    )
    try:
        limiter = batcher._core.limiter
        limiter.limit = 32.0
        for payload in events(100):
            batcher.enqueue(payload, None)
        deadline = time.monotonic() + 10
        while limiter.cuts < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert limiter.cuts >= 3
        assert limiter.allowed() < 32
    finally:
        batcher.stop(5.0)


@pytest.mark.anyio
async def test_the_async_driver_grows_its_tasks_with_the_backlog() -> None:
    sender = AsyncRoundTripSender(0.05)
    batcher = AsyncBatcher(sender, BatchingOptions(concurrency=24, min_concurrency=2, **ONE_BY_ONE))
    for payload in events(600):
        assert batcher.enqueue(payload, None)
    assert await batcher.flush(30.0)
    assert 2 < sender.most <= 24
    assert 2 < len(batcher._tasks) <= 24
    assert (await batcher.stop(5.0)).pending == 0
    assert batcher.stats().delivered == 600


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ---- smaller batches after a lost answer ------------------------------------------------------


def test_after_a_lost_answer_batches_shrink_and_grow_back() -> None:
    lost = threading.Event()

    def answer(batch: list[Entry]) -> SendOutcome:
        if not lost.is_set():
            lost.set()  # the first answer is lost: the batch may have arrived
            return Failed(RuntimeError("reset"), retryable=True, maybe_delivered=True)
        return Delivered()

    sender = RoundTripSender(0.0, answer)
    sender.deduplicates = False
    batcher = Batcher(
        sender,
        BatchingOptions(
            max_batch_events=800,
            flush_at=800,
            flush_interval=math.inf,
            concurrency=1,
            retry_initial_delay=0.01,
            retry_max_delay=0.01,
        ),
    )
    try:
        for payload in events(800):
            batcher.enqueue(payload, None)
        assert batcher.flush(10.0)
        # The lost batch of 800 went again as pieces of 100.
        assert sender.sizes == [800] + [100] * 8
        assert batcher.stats().possible_duplicates == 800  # each piece counts its own
        for payload in events(1500):
            batcher.enqueue(payload, None)
        assert batcher.flush(10.0)
        # The cap doubled back with each delivered piece: full batches again.
        assert sender.sizes[9:] == [800, 700]
        assert batcher.stats().delivered == 2300
    finally:
        batcher.stop(5.0)
