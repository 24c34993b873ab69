"""``flush_on_return``: a handler run the way a Lambda-style runtime runs it (a loop in a process of
its own, frozen with SIGSTOP after every return) has every event of an invocation in the sandbox
when it returns; a flush that cannot finish within the time left says what it left, and where;
async handlers, a handler that raises, and a script's ``with`` block.

The handler's client batches (100 events or 60 s): without the decorator nothing leaves within
an invocation, and the tests that run without it show that they then fail.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serverless_support import (
    ANSWER_TIMEOUT_S,
    APPS,
    CuttableProxy,
    Runtime,
    arrived,
    expected,
)
from support import Collected, sandbox_env

from session_analytics import smartlook
from session_analytics.errors import InvalidArgumentError
from session_analytics.fullstory import AsyncFullStory, BatchingOptions, FullStory
from session_analytics.sandbox import Sandbox
from session_analytics.serverless import FlushReport, flush_on_return

SCRIPT = APPS / "flush_script.py"
# A client that batches: nothing leaves on its own within a test.
HELD_FIELDS: dict[str, Any] = {"flush_at": 100, "flush_interval": 60.0}
HELD = BatchingOptions(**HELD_FIELDS)


@pytest.fixture
def runtimes(tmp_path: Path) -> Iterator[list[Runtime]]:
    started: list[Runtime] = []
    yield started
    for runtime in started:
        runtime.kill()


def start(runtimes: list[Runtime], env: dict[str, str], stderr_path: Path) -> Runtime:
    runtime = Runtime(env, stderr_path)
    runtimes.append(runtime)
    return runtime


@pytest.mark.parametrize(
    ("decorated", "reset"),
    [(True, True), (True, False), (False, True)],
    ids=["flush_on_return-reset", "flush_on_return-closed", "undecorated"],
)
def test_every_event_of_an_invocation_is_delivered_before_it_returns(
    sandbox: Sandbox, tmp_path: Path, runtimes: list[Runtime], decorated: bool, reset: bool
) -> None:
    """The runtime freezes the process at each return: counted then, each invocation's events
    are all there, once. Between invocations the connections die (reset, or closed by the
    other end, while frozen): the next invocation's first events still go out. Without the
    decorator they are missing."""
    proxy = CuttableProxy(sandbox.url)
    env = {**sandbox_env(sandbox), "FULLSTORY_BASE_URL": proxy.url}
    if not decorated:
        env["LAMBDA_FLUSH"] = "0"
    runtime = start(runtimes, env, tmp_path / "stderr.txt")
    counts = {0: 3, 1: 1, 2: 5, 3: 2}
    seen_at_return = []
    try:
        for invocation, count in counts.items():
            answer = runtime.invoke(invocation=invocation, count=count)
            assert answer == {"tracked": count}
            seen_at_return.append(arrived(sandbox))
            proxy.cut(reset=reset)  # frozen: the idle connections die meanwhile
        runtime.end()
    finally:
        proxy.close()
    if not decorated:
        assert seen_at_return[0] != expected({0: 3}), "events left before the return by themselves"
        return
    so_far: dict[int, int] = {}
    for invocation, count in counts.items():
        so_far[invocation] = count
        assert seen_at_return[invocation] == expected(so_far)
    assert proxy.accepted >= len(counts)  # a new connection after each freeze
    assert "WARNING" not in (tmp_path / "stderr.txt").read_text()


@pytest.mark.parametrize("next_start", ["same_process", "cold_start"])
def test_a_flush_out_of_time_says_what_it_left_and_the_next_invocation_sends_it(
    sandbox: Sandbox, tmp_path: Path, runtimes: list[Runtime], next_start: str
) -> None:
    """An invocation with little time left: the flush gives up at its budget (the remaining
    time less the safety margin), reports the events as spooled, and the next invocation (of
    the same frozen process, or of a new one after the first was ended) delivers them."""
    spool = tmp_path / "spool"
    env = {**sandbox_env(sandbox), "LAMBDA_SPOOL": str(spool)}
    stderr_path = tmp_path / "stderr.txt"
    runtime = start(runtimes, env, stderr_path)
    assert runtime.invoke(invocation=0, count=1) == {"tracked": 1}
    sandbox.set_faults(latency_ms=3000)
    # 700 ms left, 500 kept back: about 0.2 s to flush answers that take 3 s.
    assert runtime.invoke(invocation=1, count=3, timeout_ms=700) == {"tracked": 3}
    text = stderr_path.read_text()
    left = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("left ")]
    [[client]] = left  # one report, one client
    assert client["client"] == "FullStory"
    assert client["pending"] > 0
    assert client["where"] == "spooled"
    assert "will be sent by the next invocation that starts the client" in text
    assert sandbox.api_key not in text
    sandbox.set_faults()
    if next_start == "cold_start":
        runtime.kill()
        runtime = start(runtimes, env, stderr_path)
    assert runtime.invoke(invocation=2, count=2) == {"tracked": 2}
    assert arrived(sandbox) == expected({0: 1, 1: 3, 2: 2})
    runtime.end()


def test_a_handler_that_raises_is_flushed_and_its_exception_goes_on(sandbox: Sandbox) -> None:
    reports: list[FlushReport] = []
    with FullStory(api_key=sandbox.api_key, base_url=sandbox.url, batching=HELD) as fs:

        @flush_on_return(fs, on_left=reports.append)
        def handler(event: dict[str, Any], context: Any) -> None:
            for number in range(event["count"]):
                fs.events.track(
                    "Invoked", user={"uid": "u1"}, properties={"invocation": 0, "n": number}
                )
            raise ValueError("bad order")

        with pytest.raises(ValueError, match="bad order"):
            handler({"count": 4}, None)
        assert arrived(sandbox) == expected({0: 4})
    assert reports == []  # nothing left: on_left is not called


def test_an_async_handler_is_flushed_before_it_returns(sandbox: Sandbox) -> None:
    """An async client and a sync one (flushed in a thread, while the loop sends the other's)."""
    sync_fs = FullStory(api_key=sandbox.api_key, base_url=sandbox.url, batching=HELD)

    async def run() -> tuple[Any, Counter[tuple[int, int]], FlushReport | None]:
        # The handler's events are there at its return, and the block's at its end.
        async with AsyncFullStory(
            api_key=sandbox.api_key, base_url=sandbox.url, batching=HELD
        ) as fs:
            flusher = flush_on_return(fs, sync_fs)

            @flusher
            async def handler(event: dict[str, Any], context: Any) -> str:
                for number in range(event["count"]):
                    await asyncio.sleep(0)
                    fs.events.track(
                        "Invoked", user={"uid": "u1"}, properties={"invocation": 0, "n": number}
                    )
                sync_fs.events.track(
                    "Invoked", user={"uid": "u1"}, properties={"invocation": 2, "n": 0}
                )
                return "ok"

            answer = await handler({"count": 3}, None)
            at_return = arrived(sandbox)
            async with flusher:  # an asyncio script's block
                fs.events.track("Invoked", user={"uid": "u1"}, properties={"invocation": 1, "n": 0})
            return answer, at_return + arrived(sandbox), flusher.last_report

    try:
        answer, seen, report = asyncio.run(run())
    finally:
        sync_fs.close()
    assert answer == "ok"
    assert seen == expected({0: 3, 2: 1}) + expected({0: 3, 1: 1, 2: 1})
    assert report is not None
    assert [(c.client, c.pending) for c in report.clients] == [
        ("AsyncFullStory", 0),
        ("FullStory", 0),
    ]
    assert bool(report) is True


def test_a_sync_handler_says_it_cannot_flush_an_async_client(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    async def run() -> FlushReport | None:
        async with AsyncFullStory(
            api_key=sandbox.api_key, base_url=sandbox.url, batching=HELD
        ) as fs:
            flusher = flush_on_return(fs)
            fs.events.track("Queued", user={"uid": "u1"})
            with caplog.at_level(logging.WARNING, logger="session_analytics"), flusher:
                pass
            return flusher.last_report

    report = asyncio.run(run())
    assert report is not None
    assert [(c.client, c.pending) for c in report.clients] == [("AsyncFullStory", 1)]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("AsyncFullStory is an async client" in m for m in messages) == 1
    assert sum("AsyncFullStory: 1 still queued" in m for m in messages) == 1


def test_clients_share_the_budget_and_the_report_names_each(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """Two clients, one budget too small for either: both are reported, still queued (no
    spool), in one WARNING line; a client given as a callable is made when the block starts."""
    made: list[FullStory] = []

    def lazy() -> FullStory:
        made.append(FullStory(api_key=sandbox.api_key, base_url=sandbox.url, batching=HELD))
        return made[0]

    with FullStory(api_key=sandbox.api_key, base_url=sandbox.url, batching=HELD) as first:
        sandbox.set_faults(latency_ms=2000)
        flusher = flush_on_return(first, lazy, budget=0.1)
        with caplog.at_level(logging.WARNING, logger="session_analytics"), flusher:
            first.events.track("A", user={"uid": "u1"})
            made[0].events.track("B", user={"uid": "u1"})
        report = flusher.last_report
        assert report is not None
        assert [(c.client, c.pending, c.where) for c in report.clients] == [
            ("FullStory", 1, "still queued"),
            ("FullStory", 1, "still queued"),
        ]
        assert report.budget == 0.1
        warnings = [r.getMessage() for r in caplog.records if "flush at return" in r.getMessage()]
        assert len(warnings) == 1
        assert warnings[0].count("1 still queued") == 2
        assert sandbox.api_key not in warnings[0]
        sandbox.set_faults()
        made[0].close()


def test_one_flusher_serves_blocks_in_several_threads_at_once(sandbox: Sandbox) -> None:
    with FullStory(api_key=sandbox.api_key, base_url=sandbox.url, batching=HELD) as fs:
        flusher = flush_on_return(fs)
        entered = threading.Barrier(4)
        seen: list[int] = []

        def work(number: int) -> None:
            with flusher:
                fs.events.track("Threaded", user={"uid": "u1"}, properties={"n": number})
                entered.wait(30)  # every block is open at once
            seen.append(len(sandbox.events("fullstory")))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(e["properties"]["n"] for e in sandbox.events("fullstory")) == [0, 1, 2, 3]
        assert seen == [4, 4, 4, 4]  # each block ended after all four were queued: all sent


def test_events_given_up_on_are_reported_as_handed_to_on_error(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """Sends that fail with no time left to retry: nothing is pending, but what went to
    ``on_error`` during the invocation is said (and the key is not)."""
    collected = Collected()
    batching = BatchingOptions(on_error=collected, max_retry_time=0, **HELD_FIELDS)
    reports: list[FlushReport] = []
    sandbox.set_faults(error_rate=1.0)
    with FullStory(api_key=sandbox.api_key, base_url=sandbox.url, batching=batching) as fs:

        @flush_on_return(fs, on_left=reports.append)
        def handler(event: dict[str, Any], context: Any) -> str:
            for number in range(2):
                fs.events.track("Refused", user={"uid": "u1"}, properties={"n": number})
            return "ok"

        with caplog.at_level(logging.WARNING, logger="session_analytics"):
            assert handler({}, None) == "ok"
    assert len(collected.events) == 2
    [report] = reports
    assert (report.pending, report.failed) == (0, 2)
    [line] = [r.getMessage() for r in caplog.records if "flush at return" in r.getMessage()]
    assert "FullStory: 2 handed to on_error" in line
    assert sandbox.api_key not in caplog.text


def test_the_budget_comes_from_the_context_when_it_tells_the_time_left() -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 2500

    flusher = flush_on_return(safety_margin=0.5)

    @flusher
    def handler(event: Any, context: Any) -> str:
        return "ok"

    assert handler({}, Context()) == "ok"
    assert flusher.last_report is not None
    assert flusher.last_report.budget == pytest.approx(2.0)
    assert handler({}, None) == "ok"
    assert flusher.last_report.budget == 10.0  # no context: the default


def test_the_smartlook_module_and_a_fullstory_client_in_one_handler(sandbox: Sandbox) -> None:
    """The module-level ``smartlook`` calls are a client too: its default client is flushed."""
    smartlook.init(
        sandbox.smartlook_key, host=sandbox.url, batching=smartlook.BatchingOptions(**HELD_FIELDS)
    )
    try:
        with FullStory(api_key=sandbox.api_key, base_url=sandbox.url, batching=HELD) as fs:
            flusher = flush_on_return(fs, smartlook)

            @flusher
            def handler(event: dict[str, Any], context: Any) -> str:
                fs.events.track("Ordered", user={"uid": "u1"})
                smartlook.event(vid="u1", name="ordered")
                return "ok"

            assert handler({}, None) == "ok"
            assert [e["name"] for e in sandbox.events("fullstory")] == ["Ordered"]
            assert [e["name"] for e in sandbox.events("smartlook")] == ["ordered"]
            report = flusher.last_report
            assert report is not None
            assert [(c.client, c.pending) for c in report.clients] == [
                ("FullStory", 0),
                ("smartlook", 0),
            ]
    finally:
        smartlook.stop()


@pytest.mark.parametrize("flushed", [True, False], ids=["with_block", "without"])
def test_a_script_block_delivers_before_it_ends(
    sandbox: Sandbox, tmp_path: Path, flushed: bool
) -> None:
    """The script stops itself right after its ``with`` block: what arrived by then is what the
    block sent (the exit hook has not run)."""
    env = {**sandbox_env(sandbox), "SCRIPT_EVENTS": "5"}
    if not flushed:
        env["SCRIPT_FLUSH"] = "0"
    with subprocess.Popen(
        [sys.executable, str(SCRIPT)], stdout=subprocess.PIPE, env=env, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], ANSWER_TIMEOUT_S)
            assert ready
            assert proc.stdout.readline() == "after\n"
            _, status = os.waitpid(proc.pid, os.WUNTRACED)
            assert os.WIFSTOPPED(status)
            names = [event["name"] for event in sandbox.events("fullstory")]
            os.kill(proc.pid, signal.SIGCONT)
            assert proc.wait(ANSWER_TIMEOUT_S) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    if flushed:
        assert names == ["Scripted"] * 5
    else:
        assert names == []
        assert len(sandbox.events("fullstory")) == 5  # the exit hook sent them, later


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"budget": -1}, "budget"),
        ({"budget": float("nan")}, "budget"),
        ({"budget": True}, "budget"),
        ({"safety_margin": None}, "safety_margin"),
        ({"on_left": "print"}, "on_left"),
    ],
)
def test_bad_arguments_are_refused_before_any_handler_runs(
    arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        flush_on_return(**arguments)
    assert raised.value.field == field
