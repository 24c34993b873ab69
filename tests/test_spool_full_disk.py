"""A spool on a full disk, and a spool that dead processes left behind.

- Full disk (a 256 KiB tmpfs, filled): events tracked before and after the disk filled up are all
  delivered, once; the failed spool writes give one warning and no ``on_error``; a later process
  on the same spool sends nothing again. A client made when the disk is full already does the
  same (the spool cannot even be opened). Needs root to mount the tmpfs (else skipped, saying so).
- ``close()`` right after a crash adopts what the dead process left and sends it; when it cannot
  within its timeout, ``pending`` says how many events wait in the spool (not 0).
"""

from __future__ import annotations

import errno
import logging
import math
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from session_analytics import fullstory
from session_analytics.sandbox import Sandbox
from session_analytics.smartlook import BatchingOptions, Smartlook

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the spool needs POSIX")

DISK_SIZE = "256k"


# ---- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs mounted for the test (skipped, with the reason, where that is impossible)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Fill ``disk`` up; the filler file (remove it to give the space back)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (65536, 4096, 512, 1):
            while True:
                try:
                    out.write(b"x" * size)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    return filler


class Failures:
    def __init__(self) -> None:
        self.calls: list[tuple[int, BaseException]] = []

    def __call__(self, events: list[dict[str, Any]], error: BaseException) -> None:
        self.calls.append((len(events), error))


def make_client(kind: str, sandbox: Sandbox, spool: Path, on_error: Any) -> Any:
    if kind == "smartlook":
        options = BatchingOptions(
            spool_path=spool, flush_interval=math.inf, flush_at=100_000, on_error=on_error
        )
        return Smartlook(sandbox.smartlook_key, host=sandbox.url, batching=options)
    options = fullstory.BatchingOptions(
        spool_path=spool, flush_interval=math.inf, flush_at=100_000, max_batch_events=1,
        on_error=on_error,
    )  # fmt: skip
    return fullstory.FullStory(api_key=sandbox.api_key, base_url=sandbox.url, batching=options)


def track(client: Any, kind: str, numbers: range) -> None:
    for i in numbers:
        if kind == "smartlook":
            assert client.event("v", "disk", props={"i": i}) is True
        else:
            assert client.events.track("disk", user={"uid": "u"}, properties={"i": i}) is True


def stop(client: Any, timeout: float = 30.0) -> Any:
    return client.stop(timeout) if hasattr(client, "stop") else client.close(timeout)


def arrived(sandbox: Sandbox, kind: str, name: str) -> Counter[int]:
    field = "props" if kind == "smartlook" else "properties"
    return Counter(e[field]["i"] for e in sandbox.events(kind, name=name))


def sdk_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name.startswith("session_analytics")
        and not r.name.startswith("session_analytics.sandbox")
        and r.levelno >= level
    ]


def spooled_rows(directory: Path) -> int:
    rows = 0
    for path in directory.glob("spool-*.sqlite3"):
        with closing(sqlite3.connect(path)) as db:
            rows += db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    return rows


# ---- a full disk ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["smartlook", "fullstory"])
@pytest.mark.parametrize("full_at_start", [False, True], ids=["fills-up", "full-at-start"])
def test_a_full_disk_degrades_to_memory_and_delivers_every_event_once(
    sandbox: Sandbox,
    small_disk: Path,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    full_at_start: bool,
) -> None:
    caplog.set_level(logging.DEBUG, logger="session_analytics")
    spool = small_disk / "spool"
    failures = Failures()
    before = 0 if full_at_start else 200
    total = before + 2_000
    filler = fill(small_disk) if full_at_start else None
    client = make_client(kind, sandbox, spool, failures)
    try:
        track(client, kind, range(before))  # on disk and in memory
        if filler is None:
            filler = fill(small_disk)
        track(client, kind, range(before, total))  # the disk is full: in memory only
        assert client.flush(60).pending == 0
        stats = client.stats()
    finally:
        result = stop(client)
    assert result.pending == 0
    assert failures.calls == []
    assert (stats.enqueued, stats.delivered, stats.dropped, stats.failed) == (total, total, 0, 0)
    numbers = arrived(sandbox, kind, "disk")
    assert sorted(numbers) == list(range(total))
    assert set(numbers.values()) == {1}
    warnings = sdk_records(caplog, logging.WARNING)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "memory only" in warnings[0].getMessage()
    assert not any(r.exc_info for r in sdk_records(caplog, logging.DEBUG))

    # The space comes back: a new process on the same spool has nothing to send again.
    filler.unlink()
    again = make_client(kind, sandbox, spool, failures)
    assert again.flush(30).pending == 0
    assert stop(again).pending == 0
    assert arrived(sandbox, kind, "disk") == numbers
    assert failures.calls == []
    assert spooled_rows(spool) == 0


# ---- close() after a crash --------------------------------------------------------------------

CRASHED = """
import os, sys
from session_analytics import fullstory
from session_analytics.smartlook import BatchingOptions, Smartlook

url, fs_key, sl_key, kind, spool = sys.argv[1:6]
if kind == "smartlook":
    client = Smartlook(sl_key, host=url, batching=BatchingOptions(
        spool_path=spool, flush_interval=float("inf"), flush_at=100_000))
    for i in range(50):
        client.event("v", "left", props={"i": i})
else:
    client = fullstory.FullStory(api_key=fs_key, base_url=url, batching=fullstory.BatchingOptions(
        spool_path=spool, flush_interval=float("inf"), flush_at=100_000, max_batch_events=1))
    for i in range(50):
        client.events.track("left", user={"uid": "u"}, properties={"i": i})
os._exit(0)  # a crash: no drain, no stop
"""


def crash_with_50_spooled(sandbox: Sandbox, kind: str, spool: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CRASHED, sandbox.url, sandbox.api_key, sandbox.smartlook_key,
         kind, str(spool)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert spooled_rows(spool) == 50


@pytest.mark.parametrize("kind", ["smartlook", "fullstory"])
def test_close_right_after_a_crash_sends_what_the_dead_process_left(
    sandbox: Sandbox, tmp_path: Path, kind: str
) -> None:
    spool = tmp_path / "spool"
    crash_with_50_spooled(sandbox, kind, spool)
    client = make_client(kind, sandbox, spool, Failures())
    result = stop(client)  # no event of its own, no flush: close() alone
    assert result.pending == 0
    numbers = arrived(sandbox, kind, "left")
    assert sorted(numbers) == list(range(50))
    assert spooled_rows(spool) == 0


@pytest.mark.parametrize("kind", ["smartlook", "fullstory"])
def test_close_after_a_crash_says_how_many_events_wait_in_the_spool(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    spool = tmp_path / "spool"
    crash_with_50_spooled(sandbox, kind, spool)
    sandbox.set_faults(error_rate=1.0, paths=["/v2/events", "/events/backend"])
    failures = Failures()
    client = make_client(kind, sandbox, spool, failures)
    result = stop(client, timeout=1.0)
    assert result.pending == 50
    assert failures.calls == []  # they are not failed: they wait in the spool
    assert spooled_rows(spool) == 50
    assert any("50 events stay in the spool" in r.getMessage() for r in caplog.records)
