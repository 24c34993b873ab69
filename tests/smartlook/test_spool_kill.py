"""A Smartlook process killed with SIGKILL loses no event that ``event()`` had accepted.

A writer process sends events with a spool while the sandbox records every batch and then drops
the connection (so nothing is ever acknowledged and everything stays on disk); the test kills it
with SIGKILL, and a new client on the same spool delivers every event the writer had printed as
accepted. Smartlook has no idempotency key, so events the writer had already sent arrive again:
the new client counts exactly those as possible duplicates.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
from support import wait_until

from session_analytics.sandbox import Sandbox
from session_analytics.smartlook import BatchingOptions, Smartlook

WRITER = """
import sys, time
from session_analytics.smartlook import BatchingOptions, Smartlook

url, key, spool_path = sys.argv[1:4]
sl = Smartlook(
    key,
    host=url,
    batching=BatchingOptions(spool_path=spool_path, flush_at=10, max_batch_events=10,
                             flush_interval=0.05),
)
for i in range(1_000_000):
    sl.event("visitor", "spooled", props={"i": i})
    print(i, flush=True)
    time.sleep(0.002)
"""
KILL_AFTER_EVENTS = 300


def printed_numbers(path: Path) -> list[int]:
    """The numbers the writer printed in full (a last line cut short is not counted)."""
    return [int(line) for line in path.read_text().split("\n")[:-1]]


def spooled_numbers(spool: Path) -> list[int]:
    numbers = []
    for db in spool.glob("spool-*.sqlite3"):
        with sqlite3.connect(db) as connection:
            rows = connection.execute("SELECT payload FROM events").fetchall()
        numbers += [orjson.loads(row[0])["props"]["i"] for row in rows]
    return numbers


def arrived(sandbox: Sandbox) -> Counter[int]:
    return Counter(e["props"]["i"] for e in sandbox.events("smartlook", name="spooled"))


def wait_for_printed(writer: subprocess.Popen[bytes], out: Path, count: int) -> None:
    """Until the writer has printed ``count`` accepted events, or has ended."""
    wait_until(
        lambda: writer.poll() is not None or len(printed_numbers(out)) >= count,
        timeout=60,
        what=f"the writer to print {count} accepted events",
        interval=0.05,
    )


def test_a_killed_writer_loses_nothing_it_accepted(sandbox: Sandbox, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    out, err = tmp_path / "writer.out", tmp_path / "writer.err"
    # Every batch is recorded, then its connection dropped; the answers are slow, so some
    # events have not even been sent when the writer dies.
    sandbox.set_faults(reset_rate=1.0, latency_ms=300, paths=["/events/backend"])
    with out.open("wb") as stdout, err.open("wb") as stderr:
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, sandbox.url, sandbox.smartlook_key, str(spool)],
            stdout=stdout,
            stderr=stderr,
        )
    try:
        wait_for_printed(writer, out, KILL_AFTER_EVENTS)
        assert writer.poll() is None, f"the writer died: {err.read_text()}"
    finally:
        writer.kill()  # SIGKILL: no atexit hook, no flush, no stop
        writer.wait(10)
    assert writer.returncode == -signal.SIGKILL

    printed = printed_numbers(out)
    on_disk = spooled_numbers(spool)
    sent_before = arrived(sandbox)
    assert len(printed) >= KILL_AFTER_EVENTS
    assert set(printed) <= set(on_disk), "an accepted event was not in the spool"
    assert sent_before, "no batch was sent before the kill: the duplicate path is not exercised"
    assert len(sent_before) < len(printed), "every event was sent: the leftover path is not"

    sandbox.set_faults()
    adopter = Smartlook(
        sandbox.smartlook_key, host=sandbox.url, batching=BatchingOptions(spool_path=spool)
    )
    try:
        assert adopter.flush(timeout=60).pending == 0
        stats = adopter.stats()
    finally:
        adopter.stop()

    numbers = arrived(sandbox)
    assert set(printed) <= set(numbers), sorted(set(printed) - set(numbers))[:20]
    assert set(numbers) == set(on_disk) | set(sent_before)
    # Copies beyond the first are exactly the events sent before the kill, and the adopter
    # counted every one of them as a possible duplicate.
    extra = sum(numbers.values()) - len(numbers)
    assert extra == sum(sent_before.values())
    assert stats.possible_duplicates >= extra
    assert (stats.delivered, stats.failed) == (len(on_disk), 0)
    assert spooled_numbers(spool) == []
