"""``fs.events.track()``, the background event batcher of FullStory and AsyncFullStory, against the
real sandbox over loopback HTTP.

What is proven here, each time by counting what the sandbox recorded:
- the basics: one POST /v2/events per event, each with an Idempotency-Key of its own and a
  timestamp taken when ``track()`` was called; bad input refused before anything is queued; the
  queue bound; at most ``concurrency`` requests in flight;
- under injected faults (500s, 429s with Retry-After, connections dropped after the event was
  recorded): nothing lost, nothing recorded twice;
- the API down for 10 s, then up: everything arrives, the first event within 2 s of recovery;
- ``close(timeout=2)`` with the API down: it returns in time and every pending event goes to
  ``on_error``, or stays in the spool for the next client;
- ``os.fork()``: parent and child each deliver their own events, once, and neither hangs;
- the spool: a process killed with SIGKILL mid-stream loses none of the events ``track()``
  accepted, and a new client delivers them without recording any twice.

Tests that need one client run on both flavors (``fs`` / ``make_fs``); the process-level ones
(outage, close, fork, spool) use the sync client only.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

import attrs
import pytest
from support import wait_child, wait_until

from session_analytics.errors import FSInvalidArgumentError
from session_analytics.fullstory import BatchingOptions, FullStory
from session_analytics.sandbox import Sandbox

EVENTS_ROUTE = "POST /v2/events"
# Every event is sent at once and alone: what the tests count is what each request carries.
EAGER = {"flush_at": 1, "max_batch_events": 1, "flush_interval": 0.05}

# `make test` proves the fault scenario on 20,000 events; `make soak` sets 200,000.
SOAK_EVENTS = int(os.environ.get("SESSION_ANALYTICS_SOAK_EVENTS", "20000"))
# The async flavor runs the same scenario on fewer events, to keep `make test` reasonably short:
# the sync run already carries the volume, this one proves the asyncio driver.
ASYNC_SOAK_EVENTS = min(SOAK_EVENTS, 3000)
SOAK_FAULTS = {
    "error_rate": 0.2,
    "rate_limit_rate": 0.1,
    "retry_after_s": 1,
    "reset_rate": 0.05,
    "seed": 11,
}
# A batch waiting for its Retry-After is parked, so it does not hold a worker: with 8 requests
# in flight, 20,000 events take under a minute here (the sandbox, in this process, is the limit).
SOAK_CONCURRENCY = 8

OUTAGE_S = 10.0
OUTAGE_EVENTS = 1000
RECOVERY_LIMIT_S = 2.0

CLOSE_EVENTS = 200
CLOSE_TIMEOUT_S = 2.0
CLOSE_LIMIT_S = 3.5

FORK_EVENTS = 50
CHILD_DEADLINE_S = 60.0

# The killed writer: track, then say so (only an event whose track() returned is promised).
SPOOL_WRITER = """
import sys, time
from session_analytics.fullstory import BatchingOptions, FullStory

url, api_key, spool_path = sys.argv[1:4]
fs = FullStory(
    api_key,
    base_url=url,
    batching=BatchingOptions(
        spool_path=spool_path, flush_at=1, max_batch_events=1, flush_interval=0.05, concurrency=2
    ),
)
for i in range(1_000_000):
    fs.events.track("Spooled", properties={"i": i})
    print(i, flush=True)
    time.sleep(0.002)
"""
SPOOL_KILL_AFTER_EVENTS = 300


# ---- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def new_fs(sandbox: Sandbox) -> Iterator[Callable[..., FullStory]]:
    """Build sync FullStory clients on the sandbox; closed (faults cleared first) at teardown.

    The garbage is collected at teardown so that a resource a client leaked shows up (as a
    ResourceWarning, an error here) in the test that made it, not in a later one.
    """
    made: list[FullStory] = []

    def make(**kwargs: Any) -> FullStory:
        kwargs.setdefault("api_key", sandbox.api_key)
        kwargs.setdefault("base_url", sandbox.url)
        client = FullStory(**kwargs)
        made.append(client)
        return client

    yield make
    sandbox.set_faults()
    while made:
        made.pop().close(timeout=5)
    gc.collect()


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def flush_all(fs: Any, timeout: float) -> int:
    """Flush until nothing is pending or ``timeout`` s have passed; what is left pending.

    In slices of at most a minute, so that the async wrapper's per-call limit never cuts in.
    """
    deadline = time.monotonic() + timeout
    while True:
        pending = int(fs.flush(timeout=max(0.0, min(60.0, deadline - time.monotonic()))).pending)
        if pending == 0 or time.monotonic() >= deadline:
            return pending


def recorded(sandbox: Sandbox, name: str) -> list[dict[str, Any]]:
    return sandbox.events("fullstory", name=name)


def recorded_count(sandbox: Sandbox) -> int:
    return int(sandbox.stats()["events"]["fullstory"])


def counts_of(events: Iterable[dict[str, Any]], *fields: str) -> Counter[Any]:
    """How many times each value (a tuple when several fields) of ``properties`` arrived."""
    if len(fields) == 1:
        return Counter(e["properties"][fields[0]] for e in events)
    return Counter(tuple(e["properties"][f] for f in fields) for e in events)


def twice_or_more(counts: Counter[Any]) -> dict[Any, int]:
    return {value: n for value, n in counts.items() if n > 1}


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def spool_payloads(spool_dir: Path) -> list[dict[str, Any]]:
    """The events in every SQLite file of a spool directory, read with a connection of our own."""
    found: list[dict[str, Any]] = []
    for path in sorted(spool_dir.glob("*.sqlite3")):
        with contextlib.closing(sqlite3.connect(path)) as db:
            found += [json.loads(row[0]) for row in db.execute("SELECT payload FROM events")]
    return found


def spooled_numbers(spool_dir: Path) -> Counter[int]:
    return Counter(event["properties"]["i"] for event in spool_payloads(spool_dir))


class Collector:
    """An ``on_error`` listener that keeps what it was given (called from the SDK's threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[list[dict[str, Any]], BaseException]] = []

    def __call__(self, events: list[dict[str, Any]], error: BaseException) -> None:
        with self._lock:
            self.calls.append((list(events), error))

    @property
    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [event for events, _ in self.calls for event in events]


def down_and_track(sandbox: Sandbox, fs: FullStory, name: str, count: int) -> None:
    """The API answers 500 to everything; ``count`` events are tracked and being retried."""
    sandbox.set_faults(error_rate=1.0)
    for i in range(count):
        assert fs.events.track(name, properties={"i": i}) is True
    wait_until(lambda: fs.stats().retried > 0, timeout=10, what="the first failed attempts")


def timed_close(fs: FullStory, timeout: float) -> tuple[int, float]:
    started = time.monotonic()
    result = fs.close(timeout=timeout)
    return result.pending, time.monotonic() - started


# ---- basics -----------------------------------------------------------------------------------


def test_track_sends_one_request_per_event_each_with_its_own_idempotency_key(
    fs: Any, sandbox: Sandbox
) -> None:
    for i in range(5):
        accepted = fs.events.track(
            "Signed Up", user={"uid": "user-1"}, properties={"plan": "pro", "i": i}
        )
        assert accepted is True

    assert fs.flush(timeout=30).pending == 0

    events = recorded(sandbox, "Signed Up")
    assert sorted(e["properties"]["i"] for e in events) == [0, 1, 2, 3, 4]
    assert all(e["properties"]["plan"] == "pro" for e in events)
    assert {e["user"].get("uid") for e in events} == {"user-1"}
    keys = [e["idempotency_key"] for e in events]
    assert all(isinstance(key, str) and key for key in keys), keys
    assert len(set(keys)) == 5, keys
    assert sandbox.stats()["requests"][EVENTS_ROUTE] == {"200": 5}
    stats = fs.stats()
    assert (stats.enqueued, stats.delivered, stats.retried) == (5, 5, 0)
    assert (stats.failed, stats.dropped, stats.possible_duplicates) == (0, 0, 0)
    assert (stats.queue_depth, stats.queue_bytes, stats.in_flight) == (0, 0, 0)


def test_track_stamps_the_event_when_called_not_when_sent(fs: Any, sandbox: Sandbox) -> None:
    sandbox.set_faults(latency_ms=500, paths=["/v2/events"])
    before = datetime.now(timezone.utc)
    assert fs.events.track("Timed", user={"uid": "user-t"}) is True
    after = datetime.now(timezone.utc)

    assert fs.flush(timeout=30).pending == 0

    [event] = recorded(sandbox, "Timed")
    stamp, arrival = parse_time(event["timestamp"]), parse_time(event["received_at"])
    assert stamp.tzinfo is not None, event["timestamp"]
    assert before <= stamp <= after, (before, event["timestamp"], after)
    # The request waited 500 ms in the sandbox before it was recorded (arrival: to the ms).
    assert arrival - stamp >= timedelta(milliseconds=450), (event["timestamp"], arrival)


def test_track_keeps_a_timestamp_it_is_given(fs: Any, sandbox: Sandbox) -> None:
    given = "2024-03-01T12:00:00.250Z"
    assert fs.events.track("Backdated", timestamp=given) is True
    assert fs.flush(timeout=30).pending == 0
    [event] = recorded(sandbox, "Backdated")
    assert parse_time(event["timestamp"]) == parse_time(given)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        pytest.param({"name": ""}, "name", id="empty-name"),
        pytest.param({"name": 42}, "name", id="name-not-a-string"),
        pytest.param({"user": {"email": "a@example.com"}}, "user.email", id="unknown-user-field"),
        pytest.param({"user": {"uid": "u" * 257}}, "user.uid", id="uid-too-long"),
        pytest.param({"user": {"id": "1", "uid": "u1"}}, "user", id="user-id-and-uid"),
        pytest.param({"properties": {"bad-name": 1}}, "properties.bad-name", id="property-name"),
        pytest.param({"properties": {"score": math.nan}}, "properties.score", id="nan"),
        pytest.param({"properties": {"tags": ["a", 1]}}, "properties.tags", id="mixed-array"),
        pytest.param(
            {"session": {"use_most_recent": True}},
            "session.use_most_recent",
            id="most-recent-session-without-user",
        ),
        pytest.param(
            {"user": {"uid": "u1"}, "session": {"id": "1:2"}}, "session.id", id="session-and-user"
        ),
    ],
)
def test_bad_input_is_refused_before_anything_is_queued(
    fs: Any, sandbox: Sandbox, arguments: dict[str, Any], field: str
) -> None:
    assert fs.events.track("Fine", properties={"ok": True}) is True
    kwargs = {"name": "Refused", **arguments}
    name = kwargs.pop("name")

    with pytest.raises(FSInvalidArgumentError) as caught:
        fs.events.track(name, **kwargs)

    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}:"), str(caught.value)
    assert fs.stats().enqueued == 1
    assert fs.flush(timeout=30).pending == 0
    assert [e["name"] for e in sandbox.events("fullstory")] == ["Fine"]
    assert sandbox.stats()["requests"][EVENTS_ROUTE] == {"200": 1}


def test_a_full_queue_refuses_the_newest_events_and_says_so(
    make_fs: Callable[..., Any], sandbox: Sandbox
) -> None:
    dropped: list[dict[str, Any]] = []
    fs = make_fs(
        batching=BatchingOptions(
            max_queue_events=3,
            flush_at=1000,
            flush_interval=math.inf,  # only a full queue is sent before flush()
            max_batch_events=1,
            on_drop=dropped.append,
        )
    )
    # A full queue is sent at once, and its events count against the bound until delivered:
    # a slow answer keeps them there while the last two arrive.
    sandbox.set_faults(latency_ms=3000, paths=["/v2/events"])

    accepted = [fs.events.track("Bounded", properties={"i": i}) for i in range(5)]

    assert accepted == [True, True, True, False, False]
    assert [event["properties"]["i"] for event in dropped] == [3, 4]
    stats = fs.stats()
    # Held: waiting in the queue, or taken by a worker and waiting for the slow answer.
    assert (stats.enqueued, stats.dropped, stats.queue_depth + stats.in_flight) == (3, 2, 3)
    assert fs.flush(timeout=30).pending == 0
    assert sorted(counts_of(recorded(sandbox, "Bounded"), "i").elements()) == [0, 1, 2]
    assert fs.stats().delivered == 3


def test_at_most_concurrency_requests_are_in_flight(
    make_fs: Callable[..., Any], sandbox: Sandbox
) -> None:
    fs = make_fs(batching=BatchingOptions(concurrency=2, **EAGER))
    sandbox.set_faults(latency_ms=200, paths=["/v2/events"])
    started = time.monotonic()
    for i in range(10):
        assert fs.events.track("Throttled", properties={"i": i}) is True

    most = 0
    deadline = started + 30
    while (stats := fs.stats()).delivered < 10:
        most = max(most, stats.in_flight)
        assert time.monotonic() < deadline, f"not delivered in 30 s: {stats}"
        time.sleep(0.01)
    elapsed = time.monotonic() - started

    # Two at a time, 200 ms each: five rounds. All at once would take 0.2 s.
    assert elapsed >= 0.9, elapsed
    assert most == 2, most
    assert sorted(counts_of(recorded(sandbox, "Throttled"), "i")) == list(range(10))


# ---- under faults -----------------------------------------------------------------------------


@pytest.mark.slow
def test_no_event_is_lost_or_recorded_twice_under_faults(
    make_fs: Callable[..., Any], flavor: str, sandbox: Sandbox
) -> None:
    count = SOAK_EVENTS if flavor == "sync" else ASYNC_SOAK_EVENTS
    fs = make_fs(
        batching=BatchingOptions(
            max_queue_events=count + 1000, concurrency=SOAK_CONCURRENCY, **EAGER
        )
    )
    sandbox.set_faults(**SOAK_FAULTS)

    started = time.monotonic()
    for i in range(count):
        assert fs.events.track("Soak", properties={"i": i}) is True
    pending = flush_all(fs, timeout=max(600.0, count / 100))
    elapsed = time.monotonic() - started

    stats = fs.stats()
    assert pending == 0, f"{pending} events still pending after {elapsed:.0f} s: {stats}"
    events = recorded(sandbox, "Soak")
    numbers = counts_of(events, "i")
    lost = count - len(numbers)
    assert (lost, twice_or_more(numbers)) == (0, {}), f"lost {lost}"
    assert set(numbers) == set(range(count))
    assert len(events) == count
    assert len({e["idempotency_key"] for e in events}) == count
    assert (stats.enqueued, stats.delivered, stats.failed, stats.dropped) == (count, count, 0, 0)
    assert stats.possible_duplicates == 0
    assert stats.retried > 0
    injected = sandbox.stats()["faults_injected"]
    assert all(injected.get(fate, 0) > 0 for fate in ("error", "rate_limit", "reset")), injected
    print(f"{flavor}: {count} events under faults in {elapsed:.1f} s; {stats}; {injected}")


@pytest.mark.slow
def test_everything_arrives_after_an_outage_and_delivery_resumes_quickly(
    new_fs: Callable[..., FullStory], sandbox: Sandbox
) -> None:
    fs = new_fs()  # track()'s defaults: a queue of 20,000, four requests at a time
    sandbox.set_faults(error_rate=1.0)
    down_at = time.monotonic()
    bursts = 10
    for burst in range(bursts):  # traffic goes on during the outage
        for j in range(OUTAGE_EVENTS // bursts):
            assert fs.events.track("Outage", properties={"i": burst * 100 + j}) is True
        sleep_until(down_at + (burst + 1) * (OUTAGE_S - 1) / bursts)
    sleep_until(down_at + OUTAGE_S)

    during = fs.stats()
    assert recorded_count(sandbox) == 0
    assert (during.enqueued, during.delivered, during.failed) == (OUTAGE_EVENTS, 0, 0)
    assert during.retried > 0
    assert during.queue_depth + during.in_flight == OUTAGE_EVENTS

    sandbox.set_faults()
    up_at = time.monotonic()
    first = wait_until(
        lambda: recorded_count(sandbox) > 0 and time.monotonic(),
        timeout=10,
        what="a delivery",
        interval=0.1,
    )
    assert first - up_at <= RECOVERY_LIMIT_S, f"first delivery {first - up_at:.2f} s after"

    assert fs.flush(timeout=60).pending == 0
    numbers = counts_of(recorded(sandbox, "Outage"), "i")
    assert (set(numbers), twice_or_more(numbers)) == (set(range(OUTAGE_EVENTS)), {})
    stats = fs.stats()
    assert (stats.delivered, stats.failed, stats.dropped) == (OUTAGE_EVENTS, 0, 0)


def test_an_outage_is_warned_once_not_per_attempt_and_its_end_is_logged(
    new_fs: Callable[..., FullStory], sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="session_analytics")
    fs = new_fs(batching=BatchingOptions(retry_initial_delay=0.01, retry_max_delay=0.05, **EAGER))
    sandbox.set_faults(error_rate=1.0)
    for i in range(20):
        assert fs.events.track("Outage", properties={"i": i})

    def logged(level: int) -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.levelno == level and r.getMessage().startswith("fullstory: track(): ")
        ]

    wait_until(
        lambda: sandbox.stats()["requests"].get(EVENTS_ROUTE, {}).get("500", 0) >= 40,
        timeout=10,
        what="40 failed sends",
    )
    # The sandbox counts an answer before the client has read it: wait for the client's log.
    wait_until(lambda: len(logged(logging.DEBUG)) >= 39, timeout=10, what="39 DEBUG lines")

    [warning] = logged(logging.WARNING)
    assert "answered 500" in warning
    assert "further failures are logged at DEBUG level" in warning
    assert logged(logging.INFO) == []

    sandbox.set_faults()
    assert fs.flush(timeout=30)
    [recovered] = logged(logging.INFO)
    assert "requests succeed again, after " in recovered
    assert len(logged(logging.WARNING)) == 1
    assert sandbox.api_key not in caplog.text


# ---- close() with the API down ----------------------------------------------------------------


def test_close_with_the_api_down_returns_in_time_and_hands_pending_events_to_on_error(
    new_fs: Callable[..., FullStory], sandbox: Sandbox
) -> None:
    collector = Collector()
    fs = new_fs(batching=BatchingOptions(concurrency=4, on_error=collector, **EAGER))
    down_and_track(sandbox, fs, "Closing", CLOSE_EVENTS)

    pending, elapsed = timed_close(fs, CLOSE_TIMEOUT_S)

    assert elapsed < CLOSE_LIMIT_S, elapsed
    assert pending == CLOSE_EVENTS
    numbers = counts_of(collector.events, "i")
    assert (set(numbers), twice_or_more(numbers)) == (set(range(CLOSE_EVENTS)), {})
    assert {e["name"] for e in collector.events} == {"Closing"}
    assert all(isinstance(error, Exception) for _, error in collector.calls)
    stats = fs.stats()
    assert (stats.delivered, stats.failed, stats.queue_depth, stats.in_flight) == (
        0,
        CLOSE_EVENTS,
        0,
        0,
    )
    assert recorded_count(sandbox) == 0


def close_with_a_spool(
    new_fs: Callable[..., FullStory], sandbox: Sandbox, spool: Path
) -> tuple[FullStory, Collector]:
    """Track CLOSE_EVENTS with the API down and a spool, close(timeout=2); check the close."""
    collector = Collector()
    fs = new_fs(
        batching=BatchingOptions(concurrency=4, on_error=collector, spool_path=spool, **EAGER)
    )
    down_and_track(sandbox, fs, "Spooled", CLOSE_EVENTS)

    pending, elapsed = timed_close(fs, CLOSE_TIMEOUT_S)

    assert elapsed < CLOSE_LIMIT_S, elapsed
    assert pending == CLOSE_EVENTS
    assert collector.calls == []  # kept for the next start, not given up on
    assert spooled_numbers(spool) == Counter(range(CLOSE_EVENTS))
    assert fs.stats().delivered == 0
    assert recorded_count(sandbox) == 0
    return fs, collector


def test_close_with_the_api_down_leaves_pending_events_in_the_spool(
    new_fs: Callable[..., FullStory], sandbox: Sandbox, tmp_path: Path
) -> None:
    close_with_a_spool(new_fs, sandbox, tmp_path / "spool")


def test_a_new_client_delivers_what_a_closed_one_left_in_the_spool_once(
    new_fs: Callable[..., FullStory], sandbox: Sandbox, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    close_with_a_spool(new_fs, sandbox, spool)
    sandbox.set_faults()

    fs = new_fs(batching=BatchingOptions(spool_path=spool, **EAGER))
    pending = fs.flush(timeout=30).pending

    numbers = counts_of(recorded(sandbox, "Spooled"), "i")
    left = sum(spooled_numbers(spool).values())
    assert (pending, len(numbers), left) == (0, CLOSE_EVENTS, 0), (
        f"the new client delivered {len(numbers)} of {CLOSE_EVENTS}; {left} still on disk; "
        f"its stats: {fs.stats()}"
    )
    assert (set(numbers), twice_or_more(numbers)) == (set(range(CLOSE_EVENTS)), {})
    assert fs.stats().delivered == CLOSE_EVENTS


# ---- fork -------------------------------------------------------------------------------------


def fork() -> int:
    # The SDK's workers (and the in-process sandbox) are threads: Python 3.12+ warns about
    # forking a threaded process. Surviving exactly that is what is tested here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def run_child(fs: FullStory, report: Path) -> NoReturn:
    """In the forked child: track FORK_EVENTS, flush, write what was seen, and _exit (never
    return into pytest). Exit status 0 when the flush left nothing pending."""
    code = 2
    seen: dict[str, Any] = {}
    try:
        seen["at_fork"] = attrs.asdict(fs.stats())
        for i in range(FORK_EVENTS):
            fs.events.track("Forked", properties={"side": "child", "i": i})
        result = fs.flush(timeout=30)
        seen["pending"] = result.pending
        seen["after"] = attrs.asdict(fs.stats())
        code = 0 if result.pending == 0 else 1
    except BaseException:
        seen["error"] = traceback.format_exc()
    finally:
        try:
            report.write_text(json.dumps(seen))
        finally:
            os._exit(code)


@pytest.mark.parametrize("queued_at_fork", [False, True], ids=["flushed", "queued"])
def test_parent_and_child_deliver_their_own_events_once_after_a_fork(
    new_fs: Callable[..., FullStory], sandbox: Sandbox, tmp_path: Path, queued_at_fork: bool
) -> None:
    fs = new_fs(batching=BatchingOptions(concurrency=4, **EAGER))
    before = 40 if queued_at_fork else 3
    if queued_at_fork:
        sandbox.set_faults(latency_ms=100, paths=["/v2/events"])
    for i in range(before):
        fs.events.track("Forked", properties={"side": "before", "i": i})
    if queued_at_fork:
        assert fs.stats().queue_depth > 0, "the parent's events must still be queued at the fork"
    else:
        assert fs.flush(timeout=30).pending == 0
        assert recorded_count(sandbox) == before
    report = tmp_path / "child.json"

    pid = fork()
    if pid == 0:
        run_child(fs, report)

    for i in range(FORK_EVENTS):
        fs.events.track("Forked", properties={"side": "parent", "i": i})
    status = wait_child(pid, CHILD_DEADLINE_S)
    assert fs.flush(timeout=30).pending == 0

    assert status is not None, f"the child did not finish within {CHILD_DEADLINE_S:g} s"
    child = json.loads(report.read_text())
    assert "error" not in child, child.get("error")
    assert status == 0, child
    fresh = child["at_fork"]
    assert (fresh["enqueued"], fresh["queue_depth"], fresh["in_flight"]) == (0, 0, 0), fresh
    assert (child["after"]["enqueued"], child["after"]["delivered"]) == (FORK_EVENTS, FORK_EVENTS)
    arrived = counts_of(recorded(sandbox, "Forked"), "side", "i")
    expected = {("before", i) for i in range(before)}
    expected |= {(side, i) for side in ("parent", "child") for i in range(FORK_EVENTS)}
    assert twice_or_more(arrived) == {}
    assert set(arrived) == expected, sorted(set(arrived) ^ expected)
    stats = fs.stats()
    assert (stats.enqueued, stats.delivered) == (before + FORK_EVENTS, before + FORK_EVENTS)


# ---- the spool after SIGKILL ------------------------------------------------------------------


def printed_numbers(path: Path) -> list[int]:
    """The numbers a killed writer printed in full (a last line cut short is not counted)."""
    text = path.read_text()
    lines = text.split("\n")[:-1]  # the part after the last newline is incomplete or empty
    return [int(line) for line in lines]


def test_a_killed_process_loses_no_accepted_event_and_none_is_recorded_twice(
    new_fs: Callable[..., FullStory], sandbox: Sandbox, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    out, err = tmp_path / "writer.out", tmp_path / "writer.err"
    # Every request is recorded and its answer lost: the writer retries, nothing leaves its
    # spool, and what it sent is on the server already (a re-send must not record it again).
    # The answers are slow too, so some events have not even been tried when the writer dies.
    sandbox.set_faults(reset_rate=1.0, latency_ms=300)
    with out.open("wb") as stdout, err.open("wb") as stderr:
        writer = subprocess.Popen(
            [sys.executable, "-c", SPOOL_WRITER, sandbox.url, sandbox.api_key, str(spool)],
            stdout=stdout,
            stderr=stderr,
        )
    try:
        wait_until(
            lambda: (
                writer.poll() is not None or len(printed_numbers(out)) >= SPOOL_KILL_AFTER_EVENTS
            ),
            timeout=60,
            what="the writer's first events",
            interval=0.02,
        )
        assert writer.poll() is None, f"the writer died: {err.read_text()}"
    finally:
        writer.kill()  # SIGKILL: no atexit, no flush, no close
        writer.wait(10)
    assert writer.returncode == -signal.SIGKILL

    printed = printed_numbers(out)
    on_server = counts_of(recorded(sandbox, "Spooled"), "i")
    on_disk = spooled_numbers(spool)
    assert len(printed) >= SPOOL_KILL_AFTER_EVENTS
    assert set(printed) <= set(on_disk), sorted(set(printed) - set(on_disk))[:20]
    assert len(on_server) < len(printed), "most events must still be undelivered at the kill"
    assert set(on_server) & set(on_disk), "no event was both recorded and still in the spool"

    sandbox.set_faults()
    fs = new_fs(batching=BatchingOptions(spool_path=spool, **EAGER))
    assert fs.flush(timeout=60).pending == 0

    numbers = counts_of(recorded(sandbox, "Spooled"), "i")
    assert twice_or_more(numbers) == {}
    assert set(printed) <= set(numbers), sorted(set(printed) - set(numbers))[:20]
    # Only the event being tracked at the kill may have been accepted without being printed.
    assert set(numbers) <= set(range(len(printed) + 1)), sorted(set(numbers))[-5:]
    assert set(numbers) == set(on_disk) | set(on_server)
    stats = fs.stats()
    assert (stats.delivered, stats.failed, stats.possible_duplicates) == (len(on_disk), 0, 0)
    assert spool_payloads(spool) == []
