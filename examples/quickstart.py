"""session-analytics in under a minute: FullStory users, events, batch imports and track(), then
Smartlook events, and a closing check that nothing was lost.

    make demo                                   # starts a sandbox and runs this against it
    SESSION_ANALYTICS_SANDBOX_URL=http://127.0.0.1:8765 python examples/quickstart.py
    FULLSTORY_API_KEY=... SMARTLOOK_KEY=... python examples/quickstart.py   # the real APIs

Against the sandbox, the summary at the end is read back from the sandbox itself. Against the
real APIs, only the parts whose key is set run, and the users and jobs it creates are named
``quickstart-*`` (the users are deleted again).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from session_analytics import fullstory, smartlook
from session_analytics.errors import FSError, SmartlookError
from session_analytics.fullstory import BatchJobOptions

TRACKED_EVENTS = 1_000
SMARTLOOK_EVENTS = 1_000


def step(title: str) -> None:
    print(f"\n== {title}")


def fullstory_tour(fs: fullstory.FullStory, run: str) -> dict[str, int]:
    sent = {"events": 0, "tracked": 0, "imported_events": 0}

    step("users: create, get, update, list, delete")
    created = fs.users.create(
        {
            "uid": f"{run}-ann",
            "display_name": "Ann Example",
            "email": "ann@example.com",
            "properties": {"plan": "pro", "seats": 3, "address": {"city": "Prague"}},
        }
    )
    print(f"created user {created.id}")
    user = fs.users.get(created.id, include_schema=True)
    print(f"got {user.display_name} <{user.email}>, property types: {user.schema.to_dict()}")
    fs.users.update(created.id, {"display_name": "Ann B. Example", "properties": {"seats": 4}})
    print(f"updated: now {fs.users.get(created.id).display_name}")
    found = [u.uid for u in fs.users.iter(uid=f"{run}-ann")]
    print(f"listed by uid: {found}")

    step("an event, recorded now")
    fs.events.create(
        {
            "name": "Support Ticket",
            "timestamp": datetime.now(timezone.utc),
            "user": {"uid": f"{run}-ann"},
            "properties": {"priority": "high", "tags": ["billing", "refund"]},
        }
    )
    sent["events"] += 1
    print("recorded 'Support Ticket'")

    step("a batch import of users, followed as it runs")
    options = BatchJobOptions(poll_interval=0.5)
    job = fs.users.batch_create(
        [{"uid": f"{run}-user-{i}", "display_name": f"User {i}"} for i in range(5)],
        options=options,
    )
    job.add({"uid": f"{run}-user-5", "properties": {"plan": "free"}})
    job.on("created", lambda metadata: print(f"job {metadata.id} created"))
    job.on("processing", lambda j: print(f"job {j.id} processing..."))
    job.on("error", lambda error: print(f"job error: {error}"))
    job.on(
        "done",
        lambda imported, failed: print(f"done: {len(imported)} imported, {len(failed)} failed"),
    )
    job.execute()
    result = job.wait(timeout=300)
    print(f"users job {result.job_id}: {result.status.value}, {result.imports_count} imported")

    step("a batch import of events (one of them invalid: FAILED keeps the good ones)")
    events_job = fs.events.batch_create(
        [
            {"name": "Imported Order", "user": {"uid": f"{run}-ann"}, "properties": {"n": i}}
            for i in range(4)
        ]
        + [{"name": "Imported Order", "user": {"id": "no-such-user"}}],
        options=options,
    ).execute()
    events_result = events_job.wait(timeout=300)
    sent["imported_events"] = len(events_result.imported)
    print(
        f"events job {events_result.job_id}: {events_result.status.value}, "
        f"{len(events_result.imported)} imported, {len(events_result.failed)} failed"
    )
    for failure in events_result.failed:
        print(f"  failed: {failure.code}: {failure.message}")

    step(f"track(): {TRACKED_EVENTS} events queued from 'request handlers', sent in the background")
    started = time.perf_counter()
    for i in range(TRACKED_EVENTS):
        fs.events.track("Order Shipped", user={"uid": f"{run}-ann"}, properties={"order": i})
    queued = time.perf_counter() - started
    print(f"queued in {queued * 1000:.1f} ms ({queued / TRACKED_EVENTS * 1e6:.1f} µs per call)")
    flushed = fs.flush(timeout=120)
    stats = fs.stats()
    sent["tracked"] = TRACKED_EVENTS
    print(
        f"delivered {stats.delivered}, retried {stats.retried}, failed {stats.failed}, "
        f"dropped {stats.dropped}, still pending {flushed.pending}"
    )

    fs.users.delete(created.id)
    print(f"\ndeleted user {created.id}")
    return sent


def smartlook_tour(**settings: Any) -> int:
    step(f"Smartlook: init, {SMARTLOOK_EVENTS} events, stop")
    smartlook.init(**settings)
    for i in range(SMARTLOOK_EVENTS):
        smartlook.event(
            vid=f"visitor-{i % 50}", name="backend_login", props={"source": "google", "n": i}
        )
    stats = smartlook.stats()
    stopped = smartlook.stop()
    print(f"enqueued {stats.enqueued}; stop() left {stopped.pending} pending")
    return SMARTLOOK_EVENTS


def summary(sandbox_url: str, sent: dict[str, int], smartlook_sent: int) -> int:
    import httpx

    step("what the sandbox received")
    stats = httpx.get(f"{sandbox_url}/_sandbox/stats").json()
    received = stats["events"]
    expected_fullstory = sent["events"] + sent["tracked"] + sent["imported_events"]
    print(f"FullStory events: {received['fullstory']} (sent {expected_fullstory})")
    print(f"Smartlook events: {received['smartlook']} (sent {smartlook_sent})")
    print(f"users: {stats['users']}, jobs: {stats['jobs']}")
    ok = received["fullstory"] == expected_fullstory and received["smartlook"] == smartlook_sent
    print("nothing lost" if ok else "MISMATCH: something was lost or duplicated")
    return 0 if ok else 1


def main() -> int:
    sandbox_url = os.environ.get("SESSION_ANALYTICS_SANDBOX_URL")
    run = f"quickstart-{uuid.uuid4().hex[:8]}"
    fullstory_settings: dict[str, Any] | None = None
    smartlook_settings: dict[str, Any] | None = None
    if sandbox_url:
        print(f"against the sandbox at {sandbox_url}")
        # Any key works on a sandbox started without --api-key / --smartlook-key; the
        # FULLSTORY_API_KEY / SMARTLOOK_KEY variables are used when set.
        fullstory_settings = {
            "api_key": os.environ.get("FULLSTORY_API_KEY", "sandbox-key"),
            "base_url": sandbox_url,
        }
        smartlook_settings = {
            "key": os.environ.get("SMARTLOOK_KEY", "sandbox-project-key"),
            "host": sandbox_url,
        }
    else:
        if os.environ.get("FULLSTORY_API_KEY"):
            fullstory_settings = {}
        if os.environ.get("SMARTLOOK_KEY"):
            smartlook_settings = {}
        if fullstory_settings is None and smartlook_settings is None:
            print(
                "Nothing to talk to: run `make demo` (it starts a sandbox), or set\n"
                "SESSION_ANALYTICS_SANDBOX_URL to a running sandbox "
                "(`session-analytics sandbox`), or FULLSTORY_API_KEY and/or SMARTLOOK_KEY "
                "for the real APIs.",
                file=sys.stderr,
            )
            return 2
        print("against the real APIs")
    sent = {"events": 0, "tracked": 0, "imported_events": 0}
    smartlook_sent = 0
    try:
        if fullstory_settings is not None:
            with fullstory.init(**fullstory_settings) as fs:
                sent = fullstory_tour(fs, run)
        if smartlook_settings is not None:
            smartlook_sent = smartlook_tour(**smartlook_settings)
    except (FSError, SmartlookError) as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 1
    if sandbox_url:
        return summary(sandbox_url, sent, smartlook_sent)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
