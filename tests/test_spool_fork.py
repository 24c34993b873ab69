"""fork() while the parent is inside SQLite: no child hangs, every event is sent once.

A parent process (a script of its own) tracks Smartlook events with a spool at full speed on a
thread (they pile up on disk, sent at the end), another thread reading ``stats()`` (a count over
the spool) all along, and forks 240 children (half with
``os.fork()``, half through ``multiprocessing`` with the fork context), a few at a time. Each
child queues three events of its own and ends (``stop()`` after ``os.fork()``; the exit drain for
multiprocessing). A child that has not ended within CHILD_DEADLINE_S hangs: it is killed and
counted. A child inherits SQLite's mutexes as they were at the fork, so one that touched SQLite
while a parent thread held one would wait forever: here nothing of the spool runs in the child
before its first event, and fork() waits for our threads to leave SQLite first.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from session_analytics.sandbox import Sandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="needs fork()"),
]

FORKS = 240
CHILD_EVENTS = 3

PARENT = """
import json, multiprocessing, os, signal, sys, threading, time
from session_analytics.smartlook import BatchingOptions, Smartlook

url, key, spool = sys.argv[1:4]
forks, deadline, CHILD_EVENTS = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
# The parent's events pile up on disk (sent at the end), and a monitor reads stats() (a count
# over the growing spool) all along: its threads are inside SQLite most of the time.
sl = Smartlook(key, host=url, batching=BatchingOptions(
    spool_path=spool, flush_at=10**9, flush_interval=float("inf"), max_queue_events=10**6))
stop = threading.Event()
tracked = [0]


def monitor():
    while not stop.is_set():
        sl.stats()


def track():
    i = 0
    while not stop.is_set():
        for _ in range(50):  # full speed, with a breath now and then for the forks
            sl.event("parent", "forked", props={"who": "parent", "i": i})
            i += 1
        tracked[0] = i
        time.sleep(0.001)


def child_events(tag):
    return all(sl.event("child", "forked", props={"who": tag, "i": j}) for j in range(CHILD_EVENTS))


def in_multiprocessing_child(tag):
    if not child_events(tag):
        sys.exit(3)  # the exit drain delivers the events


def start(k):
    tag = f"{'fork' if k % 2 else 'mp'}-{k}"
    if k % 2:
        pid = os.fork()
        if pid == 0:
            ok = child_events(tag) and sl.stop(deadline / 2).pending == 0
            os._exit(0 if ok else 4)
        return tag, pid, None
    process = multiprocessing.get_context("fork").Process(target=in_multiprocessing_child,
                                                           args=(tag,))
    process.start()
    return tag, process.pid, process


def finish(tag, pid, process, hung, failed):
    if process is not None:
        process.join(deadline)
        if process.exitcode is None:
            process.kill()
            process.join()
            hung.append(tag)
        elif process.exitcode != 0:
            failed.append([tag, process.exitcode])
        return
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                failed.append([tag, code])
            return
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    hung.append(tag)


thread = threading.Thread(target=track)
thread.start()
watcher = threading.Thread(target=monitor)
hung, failed, started = [], [], []
try:
    while tracked[0] < 50_000:
        time.sleep(0.01)
    watcher.start()
    for wave in range(0, forks, 4):
        if len(hung) >= 3:
            break  # enough to fail; no need to wait for more
        children = [start(k) for k in range(wave, min(forks, wave + 4))]
        started += [tag for tag, _, _ in children]
        for tag, pid, process in children:
            finish(tag, pid, process, hung, failed)
finally:
    stop.set()
    thread.join()
    if watcher.is_alive():
        watcher.join()
result = sl.stop(60)
print(json.dumps({"hung": hung, "failed": failed, "children": started, "parent": tracked[0],
                  "pending": result.pending}))
"""


def spooled_rows(directory: Path) -> int:
    rows = 0
    for path in directory.glob("spool-*.sqlite3"):
        with closing(sqlite3.connect(path)) as db:
            rows += db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    return rows


def test_forks_while_the_parent_spools_never_hang_and_send_each_event_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    deadline = 20.0
    try:
        done = subprocess.run(
            [sys.executable, "-c", PARENT, sandbox.url, sandbox.smartlook_key, str(spool),
             str(FORKS), str(deadline), str(CHILD_EVENTS)],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"the parent hung: {hung.stderr!r}")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    hung = report["hung"]
    assert hung == [], f"{len(hung)} of {len(report['children'])} children hung: {hung[:10]}"
    assert report["failed"] == [], report["failed"][:10]
    assert len(report["children"]) == FORKS
    assert report["pending"] == 0

    counts = Counter(
        (e["props"]["who"], e["props"]["i"]) for e in sandbox.events("smartlook", name="forked")
    )
    twice = {k: n for k, n in counts.items() if n > 1}
    assert not twice, list(twice.items())[:10]
    parent = {i for who, i in counts if who == "parent"}
    assert parent == set(range(report["parent"]))
    for tag in report["children"]:
        assert {i for who, i in counts if who == tag} == set(range(CHILD_EVENTS)), tag
    assert spooled_rows(spool) == 0
    assert "Traceback" not in done.stderr, done.stderr[-3000:]


CHILD_WITHOUT_EVENTS = """
import os, sys
from session_analytics.smartlook import BatchingOptions, Smartlook

url, key, spool = sys.argv[1:4]
sl = Smartlook(key, host=url, batching=BatchingOptions(spool_path=spool))
sl.event("parent", "opened")  # the parent's spool is open
before = sorted(os.listdir(spool))
pid = os.fork()
if pid == 0:
    # Nothing of the spool ran in the at-fork hook: no file of the child's yet.
    os._exit(0 if sorted(os.listdir(spool)) == before else 5)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
sl.stop(10)
"""


def test_a_forked_child_opens_no_spool_before_its_first_event(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    done = subprocess.run(
        [sys.executable, "-c", CHILD_WITHOUT_EVENTS, sandbox.url, sandbox.smartlook_key,
         str(spool)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0"], done.stderr
