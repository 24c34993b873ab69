"""Unit tests for the event batcher (``session_analytics._batching``) and what feeds it.

Fake senders stand in for HTTP: they record every attempt and answer from a plan (``Delivered``,
``Failed`` or an exception); a closed gate makes them hang, for deadlines. Covered: flush
triggers, queue bounds and overflow, retries and ``on_error``, lifecycle and deadlines, both
drivers (threads and asyncio), fork, the exit hook and the spool (in subprocesses where a
process has to end), and the call-site validation of Smartlook ``event_payload`` and FullStory
``track_payload``. Deadlines and intervals are checked on a ``ManualClock`` that the test moves:
nothing is sent, and no call returns, before its time; then it happens.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import pytest
from support import await_until, smartlook_bytes, track_bytes, wait_child, wait_until

from session_analytics import _json
from session_analytics._batching import (
    AsyncBatcher,
    Batcher,
    BatcherStats,
    BatchingOptions,
    Clock,
    Delivered,
    Entry,
    Failed,
    FlushResult,
    ManualClock,
    SendOutcome,
    drops,
)
from session_analytics._batching.outcome import decode
from session_analytics._spool import Spool
from session_analytics.errors import (
    FSInvalidArgumentError,
    GaveUpError,
    InvalidArgumentError,
    ShutdownError,
    SmartlookInvalidArgumentError,
)
from session_analytics.fullstory import _ids

GATE_LIMIT_S = 10.0  # a blocked fake sender gives up waiting after this, whatever happens
THREAD_PREFIX = "session-analytics-"

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()")
# Python 3.12+ warns about forking a process that has threads; that is what is tested here.
fork_warning_ok = pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")

Plan = Sequence[SendOutcome | BaseException] | Callable[[int], SendOutcome | BaseException]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ---- helpers ----------------------------------------------------------------------------------


def payload(i: int, size: int | None = None) -> bytes:
    """The JSON of test event ``i``; padded to exactly ``size`` bytes when given."""
    if size is None:
        return _json.dumps({"i": i})
    pad = size - len(_json.dumps({"i": i, "pad": ""}))
    return _json.dumps({"i": i, "pad": "x" * pad})


def ids(entries: Sequence[Entry]) -> list[int]:
    return [decode(data)["i"] for data, _, _ in entries]


def options(**overrides: Any) -> BatchingOptions:
    """Test defaults: no timer, no count trigger, retries milliseconds apart."""
    base: dict[str, Any] = {
        "flush_interval": math.inf,
        "flush_at": 1000,
        "retry_initial_delay": 0.01,
        "retry_max_delay": 0.05,
        "shutdown_timeout": 0.5,
    }
    return BatchingOptions(**{**base, **overrides})


def on_a_thread(call: Callable[[], Any]) -> tuple[Future[Any], threading.Thread]:
    """``call`` running on a thread of its own; its result (or error) comes in the future."""
    future: Future[Any] = Future()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as error:
            future.set_exception(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return future, thread


def waits_on(clock: ManualClock, thread: threading.Thread, call: Future[Any]) -> bool:
    """The call on ``thread`` has read its deadline from ``clock`` and waits (or is done)."""
    return bool(
        wait_until(
            lambda: thread.ident in clock.waiters or call.done(),
            what="the call to wait on the clock",
        )
    )


def still_running(call: Future[Any]) -> bool:
    """A real pause gives ``call`` the chance to return; True when it has not."""
    time.sleep(0.05)
    return not call.done()


def stop_on_clock(batcher: Batcher, clock: ManualClock, timeout: float) -> FlushResult:
    """``stop(timeout)`` while ``clock`` moves on, so its deadline comes."""
    stopping, _ = on_a_thread(lambda: batcher.stop(timeout))
    for _ in range(6000):
        if stopping.done():
            break
        clock.advance(0.05)
        time.sleep(0.005)
    result: FlushResult = stopping.result(timeout=5.0)
    return result


async def awaited_on_clock(clock: ManualClock, awaitable: Awaitable[Any]) -> Any:
    """Await ``awaitable`` while ``clock`` moves on, so its deadlines come."""
    task = asyncio.ensure_future(awaitable)
    for _ in range(6000):
        if task.done():
            break
        clock.advance(0.05)
        await asyncio.sleep(0.005)
    return await asyncio.wait_for(task, 5.0)


def accounted(stats: BatcherStats) -> bool:
    """Every accepted event is delivered, failed, queued or in flight."""
    return stats.enqueued == (stats.delivered + stats.failed + stats.queue_depth + stats.in_flight)


def always_retryable(attempt: int) -> SendOutcome:
    return Failed(RuntimeError(f"503 on attempt {attempt}"), retryable=True)


def workers_named(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"{THREAD_PREFIX}{name}-")]


def run_python(code: str, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter; a hang fails the test (the process is killed)."""
    try:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"the subprocess hung for {timeout} s; stdout: {hung.stdout!r}")


def spool_rows(directory: Path) -> list[tuple[bytes, str | None]]:
    """What the spool files in ``directory`` hold, read with a connection of our own."""
    rows: list[tuple[bytes, str | None]] = []
    for path in sorted(directory.glob("spool-*.sqlite3")):
        with closing(sqlite3.connect(path)) as db:
            found = db.execute("SELECT payload, key FROM events ORDER BY id").fetchall()
        rows.extend((bytes(data), key) for data, key in found)
    return rows


class FakeSender:
    """Records each attempt and answers from ``plan`` (then ``Delivered()``); an exception in
    the plan is raised. While ``gate`` is clear, ``send`` hangs (at most GATE_LIMIT_S)."""

    def __init__(
        self,
        plan: Plan = (),
        *,
        name: str = "fake",
        deduplicates: bool = False,
        blocked: bool = False,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.now = now  # what ``times`` are read from
        self.deduplicates = deduplicates
        self.plan = plan
        self.gate = threading.Event()
        if not blocked:
            self.gate.set()
        self.attempts: list[list[Entry]] = []
        self.times: list[float] = []
        self.outcomes: list[SendOutcome | BaseException] = []
        self.delivered: list[Entry] = []
        self._lock = threading.Lock()

    def _begin(self, batch: list[Entry]) -> SendOutcome | BaseException:
        with self._lock:
            attempt = len(self.attempts)
            self.attempts.append(list(batch))
            self.times.append(self.now())
            if callable(self.plan):
                outcome = self.plan(attempt)
            else:
                outcome = self.plan[attempt] if attempt < len(self.plan) else Delivered()
            self.outcomes.append(outcome)
        return outcome

    def _end(self, batch: list[Entry], outcome: SendOutcome | BaseException) -> SendOutcome:
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, Delivered):
            with self._lock:
                self.delivered.extend(batch)
        return outcome

    def send(self, batch: list[Entry]) -> SendOutcome:
        outcome = self._begin(batch)
        self.gate.wait(GATE_LIMIT_S)
        return self._end(batch, outcome)

    def release(self) -> None:
        self.gate.set()

    @property
    def delivered_ids(self) -> list[int]:
        return ids(self.delivered)

    @property
    def batch_ids(self) -> list[list[int]]:
        return [ids(batch) for batch in self.attempts]


class AsyncFakeSender(FakeSender):
    async def send(self, batch: list[Entry]) -> SendOutcome:  # type: ignore[override]
        outcome = self._begin(batch)
        deadline = time.monotonic() + GATE_LIMIT_S
        while not self.gate.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return self._end(batch, outcome)


class FileSender(FakeSender):
    """Appends the ids it delivers to ``delivered-<pid>.txt``: each process has its own file."""

    def __init__(self, directory: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.directory = directory

    def send(self, batch: list[Entry]) -> SendOutcome:
        with open(self.directory / f"delivered-{os.getpid()}.txt", "a") as out:
            out.writelines(f"{i}\n" for i in ids(batch))
        return Delivered()

    def ids_of(self, pid: int) -> list[int]:
        path = self.directory / f"delivered-{pid}.txt"
        return [int(line) for line in path.read_text().split()] if path.exists() else []


class Listener:
    """An ``on_error`` or ``on_drop`` listener that keeps every call's arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()

    def __call__(self, *args: Any) -> None:
        with self._lock:
            self.calls.append(args)

    @property
    def error_ids(self) -> list[int]:
        return [event["i"] for events, _ in self.calls for event in events]

    @property
    def errors(self) -> list[BaseException]:
        return [error for _, error in self.calls]

    @property
    def drop_ids(self) -> list[int]:
        return [event["i"] for (event,) in self.calls]


MakeBatcher = Callable[..., Batcher]


@pytest.fixture
def make_batcher() -> Iterator[MakeBatcher]:
    """``make(sender, **options)``: a Batcher that is released and stopped at teardown."""
    made: list[tuple[Batcher, FakeSender, ManualClock | None]] = []

    def make(sender: FakeSender, *, clock: ManualClock | None = None, **overrides: Any) -> Batcher:
        batcher = Batcher(sender, options(**overrides), clock=clock or Clock())
        made.append((batcher, sender, clock))
        return batcher

    yield make
    for batcher, sender, clock in made:
        sender.release()
        if clock is None:
            batcher.stop(timeout=2.0)
        else:
            stop_on_clock(batcher, clock, 2.0)


@asynccontextmanager
async def async_batcher(
    sender: FakeSender, *, clock: ManualClock | None = None, **overrides: Any
) -> AsyncIterator[AsyncBatcher]:
    batcher = AsyncBatcher(sender, options(**overrides), clock=clock or Clock())
    try:
        yield batcher
    finally:
        sender.release()
        if clock is None:
            await batcher.stop(timeout=2.0)
        else:
            await awaited_on_clock(clock, batcher.stop(timeout=2.0))


def enqueue_all(batcher: Batcher | AsyncBatcher, numbers: range, size: int | None = None) -> None:
    for i in numbers:
        assert batcher.enqueue(payload(i, size), None) is True


# ---- BatchingOptions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("flush_interval", 0),
        ("flush_interval", -1.0),
        ("flush_interval", math.nan),
        ("flush_interval", -math.inf),
        ("flush_interval", "10"),
        ("flush_at", 0),
        ("flush_at", 2.5),
        ("flush_at", True),
        ("flush_at", math.inf),
        ("max_batch_events", 0),
        ("max_batch_bytes", 1023),
        ("max_batch_bytes", None),
        ("max_queue_events", -5),
        ("max_queue_bytes", 100),
        ("overflow", "drop_oldest"),
        ("overflow", None),
        ("block_timeout", -0.1),
        ("block_timeout", math.nan),
        ("concurrency", 0),
        ("retry_initial_delay", -1),
        ("retry_max_delay", math.inf),
        ("max_retry_time", math.nan),
        ("shutdown_timeout", -1),
        ("on_error", "print"),
        ("on_drop", 42),
    ],
)
def test_bad_batching_option_names_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        BatchingOptions(**{field: value})
    assert caught.value.field == field
    assert field in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("flush_interval", math.inf),
        ("flush_interval", 0.001),
        ("block_timeout", 0),
        ("max_retry_time", 0),
        ("retry_initial_delay", 0),
        ("shutdown_timeout", 0),
        ("max_batch_bytes", 1024),
        ("on_error", print),
        ("on_drop", None),
    ],
)
def test_good_batching_option_is_kept(field: str, value: Any) -> None:
    assert getattr(BatchingOptions(**{field: value}), field) == value


# ---- flush triggers ---------------------------------------------------------------------------


def test_flush_at_sends_when_the_count_is_reached(make_batcher: MakeBatcher) -> None:
    sender = FakeSender()
    batcher = make_batcher(sender, flush_at=5, max_batch_events=5)
    enqueue_all(batcher, range(4))
    time.sleep(0.3)
    assert sender.attempts == []
    enqueue_all(batcher, range(4, 5))
    wait_until(lambda: len(sender.delivered) == 5, what="the full batch of 5 to be delivered")
    assert sender.batch_ids == [[0, 1, 2, 3, 4]]


@pytest.mark.parametrize("after_a_flush", [False, True], ids=["first-events", "after-a-flush"])
def test_flush_interval_sends_events_below_flush_at(
    make_batcher: MakeBatcher, after_a_flush: bool
) -> None:
    clock = ManualClock()
    sender = FakeSender(now=clock.now)
    batcher = make_batcher(sender, flush_at=1000, flush_interval=0.2, clock=clock)
    if after_a_flush:  # the worker has drained the queue and is idle
        enqueue_all(batcher, range(100, 101))
        assert batcher.flush(5.0)
    started = clock.now()
    enqueue_all(batcher, range(3))
    for step in (0.0, 0.19):  # the worker looks at the clock again at each step
        clock.advance(step)
        time.sleep(0.05)
        assert [i for i in sender.delivered_ids if i < 100] == [], f"sent at +{step} s"
    clock.advance(0.02)
    wait_until(
        lambda: sender.delivered_ids[-3:] == [0, 1, 2],
        what="a send once flush_interval (0.2 s) had passed",
    )
    assert sender.times[-1] - started >= 0.19


def test_max_batch_bytes_splits_batches(make_batcher: MakeBatcher) -> None:
    sender = FakeSender()
    batcher = make_batcher(sender, max_batch_bytes=1024)
    enqueue_all(batcher, range(10), size=300)
    assert batcher.flush(5.0)
    assert sender.batch_ids == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert all(sum(len(data) for data, _, _ in batch) <= 1024 for batch in sender.attempts)


def test_an_event_bigger_than_max_batch_bytes_travels_alone(make_batcher: MakeBatcher) -> None:
    sender = FakeSender()
    batcher = make_batcher(sender, max_batch_bytes=1024)
    for i, size in enumerate([300, 2000, 300, 300]):
        assert batcher.enqueue(payload(i, size), None)
    assert batcher.flush(5.0)
    assert sender.batch_ids == [[0], [1], [2, 3]]


@pytest.mark.parametrize(
    ("max_batch_events", "count", "sizes"),
    [(4, 10, [4, 4, 2]), (1, 3, [1, 1, 1]), (10, 10, [10]), (1000, 7, [7])],
)
def test_flush_sends_below_flush_at_in_batches_of_max_batch_events(
    make_batcher: MakeBatcher, max_batch_events: int, count: int, sizes: list[int]
) -> None:
    sender = FakeSender()
    batcher = make_batcher(sender, max_batch_events=max_batch_events)
    enqueue_all(batcher, range(count))
    result = batcher.flush(5.0)
    assert result.pending == 0
    assert bool(result) is True
    assert [len(batch) for batch in sender.attempts] == sizes
    assert sender.delivered_ids == list(range(count))
    assert batcher.stats().delivered == count


# ---- queue bounds and overflow ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "size"),
    [({"max_queue_events": 3}, None), ({"max_queue_bytes": 1024}, 300)],
    ids=["max_queue_events", "max_queue_bytes"],
)
def test_a_full_queue_refuses_the_newest(
    make_batcher: MakeBatcher, limit: dict[str, int], size: int | None
) -> None:
    # A full queue is sent at once; its events count against the bound until delivered, and
    # the held sender keeps them undelivered while the last two arrive.
    sender, drops = FakeSender(blocked=True), Listener()
    batcher = make_batcher(sender, on_drop=drops, **limit)
    enqueue_all(batcher, range(3), size)
    assert [batcher.enqueue(payload(i, size), None) for i in (3, 4)] == [False, False]
    stats = batcher.stats()
    assert (stats.enqueued, stats.dropped, stats.queue_depth + stats.in_flight) == (3, 2, 3)
    assert drops.drop_ids == [3, 4]
    sender.gate.set()
    assert batcher.flush(5.0)
    assert sender.delivered_ids == [0, 1, 2]


def test_drops_are_logged_at_most_once_per_interval(
    make_batcher: MakeBatcher, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drops, "DROP_LOG_INTERVAL_S", 1.0)
    # A full queue is sent at once; a sender that hangs keeps the event (and the bound) held.
    batcher = make_batcher(FakeSender(blocked=True), max_queue_events=1)
    enqueue_all(batcher, range(1))

    def warnings() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.name == "session_analytics" and r.levelname == "WARNING"
        ]

    with caplog.at_level("WARNING", logger="session_analytics"):
        first_drop = time.monotonic()
        assert not any(batcher.enqueue(payload(i), None) for i in range(1, 6))
        assert len(warnings()) == 1
        assert "1 events dropped" in warnings()[0]
        time.sleep(max(0.0, first_drop + 1.05 - time.monotonic()))
        assert batcher.enqueue(payload(6), None) is False
        assert batcher.enqueue(payload(7), None) is False
    assert len(warnings()) == 2
    assert "5 more events dropped since the last warning" in warnings()[1]
    assert batcher.stats().dropped == 7


DROP_WARNING = re.compile(r"(\d+) (?:more )?events dropped")


def dropped_in_warnings(records: Sequence[logging.LogRecord] | str) -> int:
    """The drops that the batcher's warnings account for, summed."""
    if isinstance(records, str):
        lines = [line for line in records.splitlines() if line.startswith("WARNING")]
    else:
        lines = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    return sum(int(found.group(1)) for line in lines if (found := DROP_WARNING.search(line)))


def test_drops_summed_before_a_stop_are_logged_by_the_stop(
    make_batcher: MakeBatcher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="session_analytics")
    # A full queue is sent at once; a sender that hangs keeps the event (and the bound) held.
    batcher = make_batcher(FakeSender(blocked=True), max_queue_events=1, on_error=Listener())
    enqueue_all(batcher, range(1))
    assert not any(batcher.enqueue(payload(i), None) for i in range(1, 6))
    assert dropped_in_warnings(caplog.records) == 1  # the rest is summed for 10 s
    first = caplog.records[0].getMessage()
    assert "1 events dropped (the queue is full)" in first
    assert "logged at most every 10 s, and when the client stops" in first

    batcher.stop(timeout=0.1)
    assert dropped_in_warnings(caplog.records) == 5 == batcher.stats().dropped
    assert "4 more events dropped since the last warning (the queue is full)" in caplog.text
    batcher.stop(timeout=0.1)  # logged once, not again
    assert dropped_in_warnings(caplog.records) == 5


def test_drops_after_a_stop_are_logged_by_the_next_stop_with_their_reason(
    make_batcher: MakeBatcher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="session_analytics")
    batcher = make_batcher(FakeSender())
    batcher.stop(timeout=1)
    assert [batcher.enqueue(payload(i), None) for i in range(3)] == [False] * 3
    assert dropped_in_warnings(caplog.records) == 1
    batcher.stop(timeout=1)
    assert dropped_in_warnings(caplog.records) == 3
    assert "2 more events dropped since the last warning (the client is stopped)" in caplog.text
    assert "max_queue_events" not in caplog.text  # no advice about the queue's bound


@pytest.mark.anyio
async def test_async_drops_summed_before_a_stop_are_logged_by_the_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="session_analytics")
    sender = AsyncFakeSender(blocked=True)
    async with async_batcher(sender, max_queue_events=1, on_error=Listener()) as batcher:
        enqueue_all(batcher, range(1))
        assert not any(batcher.enqueue(payload(i), None) for i in range(1, 6))
        assert dropped_in_warnings(caplog.records) == 1
        await batcher.stop(0.1)
        assert dropped_in_warnings(caplog.records) == 5 == batcher.stats().dropped
    assert dropped_in_warnings(caplog.records) == 5  # the second stop logs nothing new


DROP_AT_EXIT_SCRIPT = """
import asyncio, logging, sys, time
from session_analytics._batching import AsyncBatcher, Batcher, BatchingOptions, Delivered

logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(message)s")
mode = sys.argv[1]

class Sender:
    name, deduplicates = "exit", False
    def send(self, batch):
        time.sleep(5)  # holds the queue's bound: the next events are refused
        return Delivered()

class AsyncSender(Sender):
    async def send(self, batch):
        await asyncio.sleep(5)
        return Delivered()

options = BatchingOptions(max_queue_events=1, shutdown_timeout=0.2, on_error=lambda *_: None)
if mode == "async":
    batcher = AsyncBatcher(AsyncSender(), options)
    async def main():
        for i in range(6):
            batcher.enqueue(b'{"i":%d}' % i, None)
        await asyncio.sleep(0.05)  # the worker takes the first event
    asyncio.run(main())
else:
    batcher = Batcher(Sender(), options)
    if mode == "after-stop":
        batcher.stop(0.2)
    for i in range(6):
        batcher.enqueue(b'{"i":%d}' % i, None)
"""


@pytest.mark.parametrize(("mode", "dropped"), [("sync", 5), ("async", 5), ("after-stop", 6)])
def test_drops_summed_before_exit_are_logged_by_the_exit_hook(mode: str, dropped: int) -> None:
    result = run_python(DROP_AT_EXIT_SCRIPT, mode)
    assert result.returncode == 0, result.stderr
    assert dropped_in_warnings(result.stdout) == dropped, result.stdout


def test_block_waits_for_room_freed_by_a_slow_sender(make_batcher: MakeBatcher) -> None:
    sender = FakeSender(blocked=True)
    batcher = make_batcher(
        sender,
        overflow="block",
        block_timeout=5.0,
        max_queue_events=2,
        flush_at=1,
        max_batch_events=1,
    )
    enqueue_all(batcher, range(1))
    wait_until(lambda: batcher.stats().in_flight == 1, what="one batch in flight")
    enqueue_all(batcher, range(1, 2))  # one in flight + one queued: the bound is reached
    outcome: dict[str, Any] = {}

    def blocked_call() -> None:
        outcome["accepted"] = batcher.enqueue(payload(2), None)
        outcome["at"] = time.monotonic()

    caller = threading.Thread(target=blocked_call)
    caller.start()
    caller.join(0.3)
    assert caller.is_alive(), "enqueue returned while the queue was full"
    released_at = time.monotonic()
    sender.release()
    caller.join(5.0)
    assert outcome["accepted"] is True
    assert outcome["at"] >= released_at
    assert batcher.flush(5.0)
    assert sender.delivered_ids == [0, 1, 2]
    assert batcher.stats().dropped == 0


def test_block_drops_after_block_timeout(make_batcher: MakeBatcher) -> None:
    drops, clock = Listener(), ManualClock()
    batcher = make_batcher(
        FakeSender(blocked=True),
        overflow="block",
        block_timeout=0.3,
        max_queue_events=1,
        on_drop=drops,
        clock=clock,
    )
    enqueue_all(batcher, range(1))
    call, thread = on_a_thread(lambda: batcher.enqueue(payload(1), None))
    assert waits_on(clock, thread, call)
    clock.advance(0.29)
    assert still_running(call), "the caller gave up before block_timeout"
    clock.advance(0.02)
    assert call.result(timeout=5.0) is False
    assert batcher.stats().dropped == 1
    assert drops.drop_ids == [1]


def test_on_drop_may_call_back_into_the_batcher() -> None:
    # Run apart: if the listener is called with the queue's lock held, the process deadlocks.
    result = run_python(
        """
        from session_analytics._batching import Batcher, BatchingOptions, Delivered

        class Sender:
            name, deduplicates = "drop", False
            def send(self, batch):
                return Delivered()

        seen = []
        batcher = None
        def on_drop(event):
            seen.append(batcher.stats().dropped)

        batcher = Batcher(Sender(), BatchingOptions(max_queue_events=1, on_drop=on_drop))
        batcher.enqueue(b'{"i":0}', None)
        batcher.enqueue(b'{"i":1}', None)
        print("seen", seen, flush=True)
        batcher.stop(2)
        """,
        timeout=10.0,
    )
    assert result.returncode == 0, result.stderr
    assert "seen [1]" in result.stdout


def test_async_batcher_refuses_overflow_block() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        AsyncBatcher(AsyncFakeSender(), options(overflow="block"))
    assert caught.value.field == "overflow"


# ---- delivery, retries, on_error --------------------------------------------------------------


def test_retryable_failures_are_retried_then_delivered(make_batcher: MakeBatcher) -> None:
    errors = Listener()
    sender = FakeSender([always_retryable(0), always_retryable(1)])
    batcher = make_batcher(sender, on_error=errors)
    enqueue_all(batcher, range(3))
    assert batcher.flush(5.0)
    assert sender.batch_ids == [[0, 1, 2]] * 3
    stats = batcher.stats()
    assert (stats.delivered, stats.retried, stats.failed) == (3, 6, 0)
    assert errors.calls == []


@pytest.mark.parametrize("retry_after", [0.3, 0.6])
def test_retry_after_is_a_floor(make_batcher: MakeBatcher, retry_after: float) -> None:
    sender = FakeSender([Failed(RuntimeError("429"), retryable=True, retry_after=retry_after)])
    batcher = make_batcher(sender, retry_initial_delay=0.001, retry_max_delay=0.001)
    enqueue_all(batcher, range(1))
    assert batcher.flush(5.0)
    assert len(sender.times) == 2
    assert sender.times[1] - sender.times[0] >= retry_after - 0.01


def test_a_non_retryable_failure_goes_to_on_error(make_batcher: MakeBatcher) -> None:
    errors, refusal = Listener(), ValueError("400 bad event")
    sender = FakeSender([Failed(refusal, retryable=False)])
    batcher = make_batcher(sender, on_error=errors)
    for i in range(2):
        assert batcher.enqueue(_json.dumps({"i": i, "name": f"e{i}"}), f"key-{i}")
    assert batcher.flush(5.0)
    assert errors.calls == [([{"i": 0, "name": "e0"}, {"i": 1, "name": "e1"}], refusal)]
    assert len(sender.attempts) == 1
    stats = batcher.stats()
    assert (stats.failed, stats.delivered, stats.retried) == (2, 0, 0)


def test_retrying_stops_after_max_retry_time(make_batcher: MakeBatcher) -> None:
    errors = Listener()
    sender = FakeSender(always_retryable)
    batcher = make_batcher(sender, on_error=errors, max_retry_time=0.3)
    started = time.monotonic()
    enqueue_all(batcher, range(2))
    assert batcher.flush(5.0)
    # Retried until the next retry would fall past max_retry_time (retries are <= 0.05 s apart).
    assert time.monotonic() - started >= 0.3 - 0.05
    assert errors.error_ids == [0, 1]
    [error] = errors.errors
    assert isinstance(error, GaveUpError)
    last = sender.outcomes[-1]
    assert isinstance(last, Failed)
    assert error.__cause__ is last.error
    assert len(sender.attempts) >= 2
    assert batcher.stats().failed == 2


def test_a_retry_after_beyond_max_retry_time_gives_up_without_waiting(
    make_batcher: MakeBatcher,
) -> None:
    errors, clock = Listener(), ManualClock()  # the clock stands still: no waiting at all
    sender = FakeSender(lambda _: Failed(RuntimeError("429"), retryable=True, retry_after=30.0))
    batcher = make_batcher(sender, on_error=errors, max_retry_time=0.5, flush_at=1, clock=clock)
    enqueue_all(batcher, range(1))
    wait_until(
        lambda: errors.calls,
        what="on_error: a Retry-After of 30 s held the batch past max_retry_time=0.5",
    )
    assert isinstance(errors.errors[0], GaveUpError)


def test_a_sender_that_raises_does_not_kill_the_worker(make_batcher: MakeBatcher) -> None:
    errors, bug = Listener(), RuntimeError("a bug in the sender")
    sender = FakeSender([bug], name="raises")
    batcher = make_batcher(sender, on_error=errors, flush_at=1, max_batch_events=1)
    enqueue_all(batcher, range(1))
    wait_until(lambda: errors.calls, what="on_error for the failed batch")
    assert errors.calls == [([{"i": 0}], bug)]
    enqueue_all(batcher, range(1, 3))
    wait_until(lambda: sender.delivered_ids == [1, 2], what="the next events to be delivered")
    assert len(workers_named("raises")) == 1
    stats = batcher.stats()
    assert (stats.failed, stats.delivered) == (1, 2)


@pytest.mark.parametrize(
    ("maybe_delivered", "deduplicates", "duplicates"),
    [(True, False, 2), (True, True, 0), (False, False, 0)],
)
def test_possible_duplicates(
    make_batcher: MakeBatcher, maybe_delivered: bool, deduplicates: bool, duplicates: int
) -> None:
    lost_answer = Failed(TimeoutError("read"), retryable=True, maybe_delivered=maybe_delivered)
    batcher = make_batcher(FakeSender([lost_answer], deduplicates=deduplicates))
    enqueue_all(batcher, range(2))
    assert batcher.flush(5.0)
    stats = batcher.stats()
    assert (stats.delivered, stats.possible_duplicates) == (2, duplicates)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_failures_in_a_row_pause_every_send(make_batcher: MakeBatcher, concurrency: int) -> None:
    # A server that is down is not hammered: after max(2, concurrency) failures in a row, no
    # worker sends anything (new batches included) until the back-off delay has passed.
    sender, clock = FakeSender(always_retryable), ManualClock()
    batcher = make_batcher(
        sender,
        concurrency=concurrency,
        max_batch_events=1,
        retry_initial_delay=0.6,
        retry_max_delay=0.6,
        clock=clock,
    )
    enqueue_all(batcher, range(20))
    threshold = max(2, concurrency)
    flushing, thread = on_a_thread(lambda: batcher.flush(0.3))
    assert waits_on(clock, thread, flushing)
    wait_until(lambda: len(sender.attempts) >= threshold, what=f"{threshold} attempts")
    time.sleep(0.05)  # time for sends that should not go out
    clock.advance(0.31)  # the flush's deadline; the back-off (0.45-0.6 s) still runs
    flushing.result(timeout=5.0)
    # Sends already taken when the breaker tripped still go; nothing new is taken.
    assert threshold <= len(sender.attempts) < threshold + concurrency
    clock.advance(0.3)  # the back-off has passed
    wait_until(lambda: len(sender.attempts) > threshold, what="a retry after the back-off")
    assert batcher.stats().queue_depth >= 20 - 2 * threshold


def test_a_delivery_resets_the_failure_count(make_batcher: MakeBatcher) -> None:
    # Two failures in a row pause the queue (for the 1.5-2 s back-off); once deliveries came
    # through, one more failure is not "in a row": the next event goes at once.
    first_try_fails = {0, 1, 2}

    def plan(attempt: int) -> SendOutcome:
        batch = sender.attempts[attempt]
        if ids(batch)[0] in first_try_fails and batch not in sender.attempts[:attempt]:
            return always_retryable(attempt)
        return Delivered()

    sender = FakeSender(plan)
    batcher = make_batcher(
        sender, flush_at=1, max_batch_events=1, retry_initial_delay=2.0, retry_max_delay=2
    )
    enqueue_all(batcher, range(2))
    assert batcher.flush(10.0)
    assert sender.batch_ids[:2] in ([[0], [1]], [[1], [0]])
    assert sorted(sender.delivered_ids) == [0, 1]
    enqueue_all(batcher, range(2, 4))
    wait_until(
        lambda: 3 in sender.delivered_ids, timeout=1.0, what="event 3 to go out without waiting"
    )
    assert 2 not in sender.delivered_ids  # its retry waits for its own back-off


# ---- lifecycle --------------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 3])
def test_workers_start_on_the_first_event(make_batcher: MakeBatcher, concurrency: int) -> None:
    name = f"lazy{concurrency}"
    batcher = make_batcher(FakeSender(name=name), concurrency=concurrency)
    time.sleep(0.05)
    assert workers_named(name) == []
    enqueue_all(batcher, range(1))
    assert len(workers_named(name)) == concurrency
    assert batcher.stop(5.0).pending == 0
    wait_until(lambda: workers_named(name) == [], what="the workers to end")


def test_stop_without_events_starts_nothing(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher(FakeSender(name="idle"))
    result = batcher.stop(1.0)
    assert (result.pending, bool(result)) == (0, True)
    assert workers_named("idle") == []


def test_flush_returns_by_its_deadline_with_what_is_pending(make_batcher: MakeBatcher) -> None:
    sender, clock = FakeSender(blocked=True), ManualClock()
    batcher = make_batcher(sender, clock=clock)
    enqueue_all(batcher, range(3))
    flushing, thread = on_a_thread(lambda: batcher.flush(timeout=0.5))
    assert waits_on(clock, thread, flushing)
    clock.advance(0.49)
    assert still_running(flushing), "flush() returned before its deadline"
    clock.advance(0.02)
    result = flushing.result(timeout=5.0)
    assert (result.pending, bool(result)) == (3, False)
    sender.release()
    assert batcher.flush(5.0)
    assert sender.delivered_ids == [0, 1, 2]


def test_flush_does_not_wait_for_events_queued_after_it(make_batcher: MakeBatcher) -> None:
    hold = {1: threading.Event(), 5: threading.Event()}

    class Holding(FakeSender):
        def send(self, batch: list[Entry]) -> SendOutcome:
            for i in ids(batch):
                if i in hold:
                    hold[i].wait(GATE_LIMIT_S)
            return super().send(batch)

    sender = Holding()
    batcher = make_batcher(sender, flush_at=1, max_batch_events=1)
    enqueue_all(batcher, range(2))  # 1 hangs until released
    outcome: dict[str, Any] = {}
    flusher = threading.Thread(target=lambda: outcome.update(result=batcher.flush(5.0)))
    flusher.start()
    wait_until(lambda: batcher._core.flush_target == 2, what="flush() to set its target")
    enqueue_all(batcher, range(5, 6))  # queued after flush() was called; hangs too
    hold[1].set()
    flusher.join(5.0)
    assert not flusher.is_alive()
    assert (outcome["result"].pending, bool(outcome["result"])) == (0, True)
    assert sender.delivered_ids == [0, 1]
    hold[5].set()
    assert batcher.flush(5.0)
    assert sender.delivered_ids == [0, 1, 5]


@pytest.mark.parametrize(
    "sender",
    [
        pytest.param(lambda: FakeSender(always_retryable), id="failing"),
        pytest.param(lambda: FakeSender(blocked=True), id="hanging"),
    ],
)
def test_stop_keeps_its_deadline_and_hands_the_rest_to_on_error(
    make_batcher: MakeBatcher, sender: Callable[[], FakeSender]
) -> None:
    errors, clock = Listener(), ManualClock()
    batcher = make_batcher(sender(), on_error=errors, flush_at=2, max_batch_events=2, clock=clock)
    enqueue_all(batcher, range(5))
    stopping, thread = on_a_thread(lambda: batcher.stop(timeout=0.5))
    assert waits_on(clock, thread, stopping)
    clock.advance(0.49)
    assert still_running(stopping), "stop() returned before its deadline"
    clock.advance(0.02)
    result = stopping.result(timeout=5.0)
    assert (result.pending, bool(result)) == (5, False)
    assert sorted(errors.error_ids) == [0, 1, 2, 3, 4]
    assert all(isinstance(error, ShutdownError) for error in errors.errors)
    assert batcher.enqueue(payload(9), None) is False
    stats = batcher.stats()
    assert (stats.failed, stats.delivered, stats.queue_depth, stats.in_flight) == (5, 0, 0, 0)
    again = batcher.stop(timeout=0.5)
    assert again.pending == 0
    assert len(errors.error_ids) == 5


def test_stats_account_for_every_event(make_batcher: MakeBatcher) -> None:
    errors, drops = Listener(), Listener()
    sender = FakeSender([Failed(ValueError("400"), retryable=False)])
    batcher = make_batcher(sender, max_queue_events=5, on_error=errors, on_drop=drops)
    enqueue_all(batcher, range(3))
    assert batcher.flush(5.0)  # refused by the API
    assert accounted(batcher.stats())
    sender.gate.clear()  # 3..7 fill the queue and stay held while the send hangs
    for i in range(3, 10):
        batcher.enqueue(payload(i), None)  # 8 and 9 find the queue full
    assert accounted(batcher.stats())
    sender.gate.set()
    assert batcher.flush(5.0)
    sender.gate.clear()
    enqueue_all(batcher, range(10, 12))
    assert batcher.flush(0.2).pending == 2
    assert accounted(batcher.stats())
    assert batcher.stop(0.3).pending == 2
    stats = batcher.stats()
    assert accounted(stats)
    assert (stats.enqueued, stats.delivered, stats.failed, stats.dropped) == (10, 5, 5, 2)
    assert (stats.queue_depth, stats.queue_bytes, stats.in_flight) == (0, 0, 0)
    assert errors.error_ids == [0, 1, 2, 10, 11]
    assert drops.drop_ids == [8, 9]


# ---- the asyncio driver -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_sends_at_flush_at_and_on_flush() -> None:
    sender = AsyncFakeSender()
    async with async_batcher(sender, flush_at=3, max_batch_events=3) as batcher:
        enqueue_all(batcher, range(4))
        await await_until(lambda: len(sender.delivered) == 3, what="the full batch of 3")
        result = await batcher.flush(5.0)
        assert (result.pending, bool(result)) == (0, True)
        assert sender.batch_ids == [[0, 1, 2], [3]]
        assert batcher.stats().delivered == 4


@pytest.mark.anyio
@pytest.mark.parametrize("after_a_flush", [False, True], ids=["first-events", "after-a-flush"])
async def test_async_flush_interval_sends_events_below_flush_at(after_a_flush: bool) -> None:
    clock = ManualClock()
    sender = AsyncFakeSender(now=clock.now)
    async with async_batcher(sender, flush_interval=0.2, clock=clock) as batcher:
        if after_a_flush:
            enqueue_all(batcher, range(100, 101))
            assert await batcher.flush(5.0)
        started = clock.now()
        enqueue_all(batcher, range(2))
        for step in (0.0, 0.19):  # the worker looks at the clock again at each step
            clock.advance(step)
            await asyncio.sleep(0.05)
            assert [i for i in sender.delivered_ids if i < 100] == [], f"sent at +{step} s"
        clock.advance(0.02)
        await await_until(
            lambda: sender.delivered_ids[-2:] == [0, 1],
            what="a send once flush_interval had passed",
        )
        assert sender.times[-1] - started >= 0.19


@pytest.mark.anyio
async def test_async_retries_then_reports_a_refusal() -> None:
    errors, refusal = Listener(), ValueError("400")
    sender = AsyncFakeSender([always_retryable(0), Failed(refusal, retryable=False)])
    async with async_batcher(sender, on_error=errors) as batcher:
        enqueue_all(batcher, range(2))
        assert await batcher.flush(5.0)
        assert errors.calls == [([{"i": 0}, {"i": 1}], refusal)]
        stats = batcher.stats()
        assert (stats.retried, stats.failed, stats.delivered) == (2, 2, 0)


@pytest.mark.anyio
async def test_async_flush_returns_by_its_deadline() -> None:
    sender, clock = AsyncFakeSender(blocked=True), ManualClock()
    async with async_batcher(sender, clock=clock) as batcher:
        enqueue_all(batcher, range(2))
        flushing = asyncio.ensure_future(batcher.flush(0.3))
        await asyncio.sleep(0.05)  # the flush has read its deadline
        clock.advance(0.29)
        await asyncio.sleep(0.05)
        assert not flushing.done(), "flush() returned before its deadline"
        clock.advance(0.02)
        result = await asyncio.wait_for(flushing, 5.0)
        assert (result.pending, bool(result)) == (2, False)


@pytest.mark.anyio
async def test_async_stop_keeps_its_deadline_and_hands_the_rest_to_on_error() -> None:
    errors, clock = Listener(), ManualClock()
    sender = AsyncFakeSender(always_retryable)
    async with async_batcher(sender, on_error=errors, flush_at=1, clock=clock) as batcher:
        enqueue_all(batcher, range(3))
        stopping = asyncio.ensure_future(batcher.stop(0.5))
        await asyncio.sleep(0.05)  # the stop has read its deadline
        clock.advance(0.49)
        await asyncio.sleep(0.05)
        assert not stopping.done(), "stop() returned before its deadline"
        clock.advance(0.02)
        result = await asyncio.wait_for(stopping, 5.0)
        assert result.pending == 3
        assert sorted(errors.error_ids) == [0, 1, 2]
        assert all(isinstance(error, ShutdownError) for error in errors.errors)
        assert batcher.enqueue(payload(9), None) is False
        assert batcher.stats().failed == 3


def test_an_async_batcher_moves_to_a_new_event_loop() -> None:
    # Each asyncio.run() is a new loop: a batch in flight when the first loop ended is sent
    # again from the second one, with what the first loop left queued.
    sender = AsyncFakeSender(blocked=True)
    batcher = AsyncBatcher(sender, options(flush_at=2, max_batch_events=2))

    async def first() -> None:
        enqueue_all(batcher, range(3))  # 0 and 1 go in flight, 2 stays queued
        await await_until(lambda: batcher.stats().in_flight == 2, what="two batches in flight")

    async def second() -> tuple[bool, BatcherStats]:
        sender.release()
        enqueue_all(batcher, range(3, 4))
        flushed = bool(await batcher.flush(5.0))
        stats = batcher.stats()
        await batcher.stop(2.0)
        return flushed, stats

    asyncio.run(first())
    flushed, stats = asyncio.run(second())
    assert flushed
    assert sorted(sender.delivered_ids) == [0, 1, 2, 3]
    assert (stats.enqueued, stats.delivered, stats.failed, stats.dropped) == (4, 4, 0, 0)


# ---- fork -------------------------------------------------------------------------------------


@needs_fork
@fork_warning_ok
def test_a_forked_child_gets_an_empty_queue_and_its_own_worker(
    make_batcher: MakeBatcher, tmp_path: Path
) -> None:
    sender = FileSender(tmp_path, name="forked")
    batcher = make_batcher(sender)
    enqueue_all(batcher, range(3))  # queued in the parent, not flushed
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code, never return into pytest
        code = 1
        try:
            fresh = batcher.stats().enqueued == 0
            enqueue_all(batcher, range(100, 103))
            flushed = bool(batcher.flush(5.0))
            stats = batcher.stats()
            ok = fresh and flushed and (stats.enqueued, stats.delivered) == (3, 3)
            code = 0 if ok and len(workers_named("forked")) == 1 else 3
        finally:
            os._exit(code)
    assert wait_child(pid) == 0
    assert sender.ids_of(pid) == [100, 101, 102]
    assert sender.ids_of(os.getpid()) == []
    assert batcher.stats().queue_depth == 3
    assert batcher.flush(5.0)
    assert sender.ids_of(os.getpid()) == [0, 1, 2]


@needs_fork
@fork_warning_ok
def test_a_stopped_client_stays_stopped_in_a_forked_child(make_batcher: MakeBatcher) -> None:
    drops = Listener()
    batcher = make_batcher(FakeSender(name="stopped"), on_drop=drops)
    batcher.stop(1.0)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            refused = batcher.enqueue(payload(1), None) is False
            code = 0 if refused and workers_named("stopped") == [] else 3
        finally:
            os._exit(code)
    assert wait_child(pid) == 0


MULTIPROCESSING_CHILD = """
import multiprocessing, sys
from session_analytics._batching import Batcher, BatchingOptions, Delivered
from session_analytics._batching.outcome import decode
from session_analytics import _json

out = sys.argv[1]

class Sender:
    name, deduplicates = "mp", False
    def send(self, batch):
        with open(out, "a") as f:
            f.writelines(str(decode(data)["i"]) + "\\n" for data, _, _ in batch)
        return Delivered()

batcher = Batcher(Sender(), BatchingOptions(flush_at=1000, flush_interval=3600))

def child():
    for i in range(100, 105):
        batcher.enqueue(_json.dumps({"i": i}), None)
    # returns with the events queued: multiprocessing ends the child with os._exit()

if __name__ == "__main__":
    worker = multiprocessing.get_context("fork").Process(target=child)
    worker.start()
    worker.join(20)
    print("child exit code", worker.exitcode, flush=True)
"""


@needs_fork
def test_a_multiprocessing_child_delivers_its_queue_before_it_exits(tmp_path: Path) -> None:
    # os._exit() skips atexit: the drain runs from multiprocessing's own exit hook instead.
    out = tmp_path / "delivered.txt"
    result = run_python(MULTIPROCESSING_CHILD, str(out))
    assert result.returncode == 0, result.stderr
    assert "child exit code 0" in result.stdout
    assert out.read_text().split() == ["100", "101", "102", "103", "104"]


def test_event_ids_are_unique() -> None:
    made = [_ids.event_id() for _ in range(100_000)]
    assert len(set(made)) == len(made)


@needs_fork
@fork_warning_ok
def test_a_forked_child_makes_other_event_ids(tmp_path: Path) -> None:
    out = tmp_path / "child-ids.txt"
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            out.write_text("\n".join(_ids.event_id() for _ in range(1000)))
            code = 0
        finally:
            os._exit(code)
    parent = {_ids.event_id() for _ in range(1000)}
    assert wait_child(pid) == 0
    child = set(out.read_text().split("\n"))
    assert len(child) == 1000
    assert parent.isdisjoint(child)
    assert {i.split(".")[0] for i in parent}.isdisjoint({i.split(".")[0] for i in child})


# ---- the exit hook ----------------------------------------------------------------------------

EXIT_SCRIPT = """
import sys, threading, time
from session_analytics._batching import Batcher, BatchingOptions, Delivered, Failed, ManualClock
from session_analytics._batching.outcome import decode
from session_analytics import _json

mode, out = sys.argv[1], sys.argv[2]

def write(line):
    with open(out, "a") as f:
        f.write(line + "\\n")

class Sender:
    name, deduplicates = "exit", False
    def send(self, batch):
        if mode == "fail":
            return Failed(RuntimeError("503"), retryable=True)
        for data, _, _ in batch:
            write(str(decode(data)["i"]))
        return Delivered()

def on_error(events, error):
    write(type(error).__name__ + " " + " ".join(str(e["i"]) for e in events))

clock = ManualClock()

def move_clock():
    # The exit drain (on the main thread) waits on the clock: move it to just before the drain's
    # deadline, say so, then past it.
    while threading.main_thread().ident not in clock.waiters:
        time.sleep(0.005)
    time.sleep(0.05)
    clock.advance(0.49)
    time.sleep(0.05)
    write("before-the-deadline")
    clock.advance(0.02)

batcher = Batcher(Sender(), BatchingOptions(
    flush_at=1000, flush_interval=3600, shutdown_timeout=0.5, on_error=on_error,
    retry_initial_delay=0.01, retry_max_delay=0.05,
), clock=clock)
for i in range(20):
    batcher.enqueue(_json.dumps({"i": i}), None)
if mode == "fail":
    threading.Thread(target=move_clock, daemon=True).start()
"""


def test_the_exit_hook_delivers_what_is_queued(tmp_path: Path) -> None:
    out = tmp_path / "delivered.txt"
    result = run_python(EXIT_SCRIPT, "deliver", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text().split() == [str(i) for i in range(20)]


def test_the_exit_hook_keeps_shutdown_timeout_and_reports_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "errors.txt"
    result = run_python(EXIT_SCRIPT, "fail", str(out))
    assert result.returncode == 0, result.stderr
    # Nothing handed over before the deadline (shutdown_timeout); everything once it passed.
    assert out.read_text().split() == [
        "before-the-deadline",
        "ShutdownError",
        *[str(i) for i in range(20)],
    ]


# ---- the spool --------------------------------------------------------------------------------

CRASHED_OWNER = """
import os, sys
from session_analytics._spool import Spool
from session_analytics import _json

spool = Spool(sys.argv[1])
rows = [spool.insert(_json.dumps({"i": i}), f"key-{i}") for i in range(3)]
spool.mark_attempted(rows[int(a)] for a in sys.argv[2:])
os._exit(1)
"""


def test_spooled_events_are_on_disk_before_enqueue_returns(
    make_batcher: MakeBatcher, tmp_path: Path
) -> None:
    sender = FakeSender()
    batcher = make_batcher(sender, spool_path=tmp_path)
    for i in range(3):
        assert batcher.enqueue(payload(i), f"key-{i}")
        assert spool_rows(tmp_path)[-1] == (payload(i), f"key-{i}")
    assert batcher.stats().spooled == 3
    assert batcher.flush(5.0)
    assert sender.delivered_ids == [0, 1, 2]
    assert spool_rows(tmp_path) == []
    assert batcher.stats().spooled == 0


def test_a_crashed_owners_events_are_adopted_and_sent_first(
    make_batcher: MakeBatcher, tmp_path: Path
) -> None:
    crashed = run_python(CRASHED_OWNER, str(tmp_path))
    assert crashed.returncode == 1, crashed.stderr
    assert len(spool_rows(tmp_path)) == 3
    sender = FakeSender()
    batcher = make_batcher(sender, spool_path=tmp_path)
    assert batcher.enqueue(payload(10), "key-10")
    assert batcher.flush(5.0)
    assert [(decode(data)["i"], key) for data, key, _ in sender.delivered] == [
        (0, "key-0"),
        (1, "key-1"),
        (2, "key-2"),
        (10, "key-10"),
    ]
    assert spool_rows(tmp_path) == []
    assert len(list(tmp_path.glob("spool-*.lock"))) == 1  # ours; the dead owner's is gone
    assert batcher.stats().possible_duplicates == 0


def test_a_spool_file_without_its_lock_file_is_adopted(
    make_batcher: MakeBatcher, tmp_path: Path
) -> None:
    crashed = run_python(CRASHED_OWNER, str(tmp_path))
    assert crashed.returncode == 1, crashed.stderr
    for lock in tmp_path.glob("spool-*.lock"):
        lock.unlink()  # cleaned away by hand, say: the database alone is still an orphan
    sender = FakeSender()
    batcher = make_batcher(sender, spool_path=tmp_path)
    assert batcher.flush(5.0)
    assert sender.delivered_ids == [0, 1, 2]
    assert spool_rows(tmp_path) == []
    assert len(list(tmp_path.glob("spool-*.sqlite3"))) == 1  # ours


def test_adopted_events_sent_before_count_as_possible_duplicates(
    make_batcher: MakeBatcher, tmp_path: Path
) -> None:
    crashed = run_python(CRASHED_OWNER, str(tmp_path), "1")  # row 1 was being sent
    assert crashed.returncode == 1, crashed.stderr
    sender = FakeSender()
    batcher = make_batcher(sender, spool_path=tmp_path)
    assert batcher.flush(5.0)
    assert sender.delivered_ids == [0, 1, 2]
    assert batcher.stats().possible_duplicates == 1


def test_a_live_owners_spool_is_not_adopted(make_batcher: MakeBatcher, tmp_path: Path) -> None:
    live = Spool(tmp_path)
    try:
        live.insert(payload(99), "live")
        sender = FakeSender()
        batcher = make_batcher(sender, spool_path=tmp_path)
        enqueue_all(batcher, range(1))
        assert batcher.flush(5.0)
        assert sender.delivered_ids == [0]
        assert live.count() == 1
        assert live.path.exists()
    finally:
        live.close()


def test_a_backlog_beyond_the_queue_bound_is_sent_in_turns(
    make_batcher: MakeBatcher, tmp_path: Path
) -> None:
    crashed = run_python(CRASHED_OWNER, str(tmp_path))
    assert crashed.returncode == 1, crashed.stderr
    sender = FakeSender()
    batcher = make_batcher(sender, spool_path=tmp_path, max_queue_events=2, flush_at=1)
    assert batcher.flush(5.0)
    wait_until(lambda: sender.delivered_ids == [0, 1, 2], what="the spooled events delivered")
    wait_until(lambda: spool_rows(tmp_path) == [], what="the spool to be emptied")
    stats = batcher.stats()
    assert (stats.enqueued, stats.delivered, stats.spooled) == (3, 3, 0)


def test_a_spool_path_that_cannot_hold_a_spool_is_refused_at_construction(
    tmp_path: Path,
) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    with pytest.raises(InvalidArgumentError) as caught:
        Batcher(FakeSender(), options(spool_path=not_a_directory))
    assert caught.value.field == "spool_path"
    assert str(not_a_directory) in str(caught.value)


def test_an_event_the_spool_cannot_store_is_kept_in_memory_and_delivered(
    make_batcher: MakeBatcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A spool that cannot be written degrades to memory-only delivery: a deliverable event is
    # never refused because the disk is full (tests/test_spool_full_disk.py does it for real).
    drops = Listener()
    sender = FakeSender()
    batcher = make_batcher(sender, spool_path=tmp_path, on_drop=drops)
    enqueue_all(batcher, range(1))

    def disk_full(self: Spool, payload: bytes, key: str | None) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Spool, "insert", disk_full)
    assert batcher.enqueue(payload(1), None) is True  # kept in memory only, one warning
    monkeypatch.undo()
    assert batcher.flush(5.0)
    assert sender.delivered_ids == [0, 1]
    assert drops.drop_ids == []
    stats = batcher.stats()
    assert (stats.enqueued, stats.delivered, stats.dropped) == (2, 2, 0)


# ---- validation at the call site: Smartlook ---------------------------------------------------


def smartlook(**overrides: Any) -> bytes:
    return smartlook_bytes(**overrides)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, {"type": "custom", "vid": "v1", "name": "signup"}),
        (
            {"value": "x", "sid": "s1", "event_type": "error"},
            {"type": "error", "vid": "v1", "name": "signup", "value": "x", "sid": "s1"},
        ),
        (
            {"props": {"s": "a", "n": 1, "f": 1.5, "b": True}},
            {
                "type": "custom",
                "vid": "v1",
                "name": "signup",
                "props": {"s": "a", "n": 1, "f": 1.5, "b": True},
            },
        ),
    ],
)
def test_smartlook_event_payload_accepts(overrides: dict[str, Any], expected: Any) -> None:
    assert decode(smartlook(**overrides)) == expected


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"vid": ""}, "vid"),
        ({"vid": 42}, "vid"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"value": 3}, "value"),
        ({"event_type": "click"}, "type"),
        ({"event_type": None}, "type"),
        ({"sid": 7}, "sid"),
        ({"props": [("a", 1)]}, "props"),
        ({"props": {1: "a"}}, "props"),
        ({"props": {"a": {"b": 1}}}, "props.a"),
        ({"props": {"a": None}}, "props.a"),
        ({"props": {"a": math.nan}}, "props.a"),
        ({"props": {"a": -math.inf}}, "props.a"),
        ({"props": {"a": [1, 2]}}, "props.a"),
        ({"props": {"a": b"bytes"}}, "props.a"),
        ({"props": {"a": dt.datetime.now(dt.timezone.utc)}}, "props.a"),
        ({"props": {"a": 2**64}}, "props.a"),
        ({"name": "bad \ud800 surrogate"}, "name"),
    ],
)
def test_smartlook_event_payload_names_the_bad_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(SmartlookInvalidArgumentError) as caught:
        smartlook(**overrides)
    assert caught.value.field == field
    assert isinstance(caught.value, InvalidArgumentError)


# ---- validation at the call site: FullStory ---------------------------------------------------


def track(**overrides: Any) -> dict[str, Any]:
    return decode(track_bytes(**{"name": "Order Completed", **overrides}))


PLUS_TWO = dt.timezone(dt.timedelta(hours=2))


@pytest.mark.parametrize(
    ("overrides", "key", "expected"),
    [
        ({"user": {"uid": "u1"}}, "user", {"uid": "u1"}),
        ({"user": {"id": "fs-1"}}, "user", {"id": "fs-1"}),
        ({"user": {"uid": "u" * 256}}, "user", {"uid": "u" * 256}),
        ({"properties": {"plan": {"tier": "pro"}}}, "properties", {"plan": {"tier": "pro"}}),
        ({"properties": {"tags": ("a", "b")}}, "properties", {"tags": ["a", "b"]}),
        (
            {"properties": {"at": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=PLUS_TWO)}},
            "properties",
            {"at": "2024-01-02T01:04:05.000Z"},
        ),
        ({"timestamp": "2024-02-01T12:30:00Z"}, "timestamp", "2024-02-01T12:30:00Z"),
        (
            {"timestamp": dt.datetime(2024, 2, 1, 14, 30, tzinfo=PLUS_TWO)},
            "timestamp",
            "2024-02-01T12:30:00.000Z",
        ),
    ],
)
def test_track_payload_accepts_and_normalises(
    overrides: dict[str, Any], key: str, expected: Any
) -> None:
    event = track(**overrides)
    assert event["name"] == "Order Completed"
    assert event[key] == expected


def test_track_payload_stamps_now_in_utc_with_z() -> None:
    stamp = track()["timestamp"]
    assert stamp.endswith("Z")
    when = dt.datetime.fromisoformat(stamp.removesuffix("Z") + "+00:00")
    assert abs((dt.datetime.now(dt.timezone.utc) - when).total_seconds()) < 5


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"user": {"email": "a@b.c"}}, "user.email"),
        ({"user": {"uid": "u" * 257}}, "user.uid"),
        ({"user": {"id": "fs-1", "uid": "u1"}}, "user"),
        ({"user": {"id": 1}}, "user.id"),
        ({"properties": {"1st": 1}}, "properties.1st"),
        ({"properties": {"a-b": 1}}, "properties.a-b"),
        ({"properties": {"_a": 1}}, "properties._a"),
        ({"properties": {"plan": {"bad name": 1}}}, "properties.plan.bad name"),
        ({"properties": {"x": math.nan}}, "properties.x"),
        ({"properties": {"x": math.inf}}, "properties.x"),
        ({"properties": {"x": dt.datetime(2024, 1, 1)}}, "properties.x"),  # naive
        ({"properties": {"x": {1, 2}}}, "properties.x"),
        ({"properties": {"x": [{"a": 1}]}}, "properties.x"),
        ({"properties": {"x": 2**64}}, "properties.x"),
        ({"properties": {"x": "bad \ud800 surrogate"}}, "properties.x"),
        ({"properties": "plan=pro"}, "properties"),
        ({"session": {"bogus": True}}, "session.bogus"),
        ({"timestamp": dt.datetime(2024, 1, 1)}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
    ],
)
def test_track_payload_names_the_bad_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(FSInvalidArgumentError) as caught:
        track(**overrides)
    assert caught.value.field == field
