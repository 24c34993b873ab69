"""The event clients over a slow network: the same runs at 0, 20, 80 and 150 ms round trips.

Every other benchmark runs over loopback, where a round trip costs nothing. Here each client
sends through benchmarks/latency_proxy.py, which delays every chunk by RTT/2 in each direction
and charges a new connection one more RTT before its first byte (a TCP handshake; pass
``--setup-rtts 2`` or 3 for TLS). Each client runs in a fresh process with its DEFAULT settings
(what users get), with the event of batcher_compare.py (user "u<i % 1000>", name
"backend_login", properties {source, n}):

- our FullStory ``fs.events.track()``, our Smartlook ``smartlook.event()``,
  segment-analytics-python and posthog, all against the same loopback sink
  (benchmarks/sink.py --distinct), which answers at once and costs each request the same, so the
  figures compare the clients and not the servers. (The sandbox checks every event against the
  spec and answers a single create in 270-510 us of CPU: it would bound track() near 1,000
  events/s on this machine. The scenarios below that need the sandbox's limiter, faults or
  Idempotency-Key dedupe use it.)

The sweep, per RTT and client: after a short warm-up (connections, the Smartlook check), N events
are offered as fast as the client takes them, then ``flush()`` is called (without it the last
partial Smartlook batch would wait for the 10 s timer), until the server has counted every event
the client accepted (or a time cap, or no progress for a while). N is picked per client and RTT
so that a run takes about ``--target-seconds``. Measured:

- delivered events/s: events the server counted / seconds from the first call until then;
- CPU: the client process's CPU seconds (caller and workers) per delivered event;
- connections: TCP connections the proxy accepted during the run, the peak open at once, and the
  peak of requests in flight (connections waiting for an answer);
- lost: offered - distinct events stored - events the client said it refused or gave up on;
- duplicated: events stored - distinct events stored (told apart by their property ``n``).

Scenarios (all run by default; ``--only`` picks some):

- ``rate-limit``: track() at 80 ms against a sandbox token bucket of 300 requests/s on
  POST /v2/events (faults ``rate_limit_rps``/``rate_limit_burst``; skipped, saying so, when the
  sandbox does not know them): 5 s unlimited, 10 s limited, 5 s after lifting it; delivered
  events/s in each phase, the share of requests answered 429, seconds back to full speed;
- ``sustained``: track() at 80 ms, 800 events/s offered at a steady pace for
  ``--sustain-seconds``: dropped, max queue depth (``fs.stats().queue_depth``), delivered/s;
  ``--rate-search`` also looks for the highest offered rate that holds (short runs);
- ``burst``: smartlook.event() at 150 ms, 200,000 events at once: the drain rate;
- ``lost-answers``: Smartlook at 0 ms, 50,000 events, 2.5% of answers lost after the request was
  processed (the sandbox's ``reset_rate``): ``stats().possible_duplicates`` and the extra copies
  stored; the same through the proxy's ``--drop-answer-rate`` against the sink for every client.

Results go to benchmarks/results/wan.json and the chart to benchmarks/results/wan.png (needs
matplotlib); a markdown summary is printed at the end. About 7-8 minutes with the defaults on a
2-core machine.

    python benchmarks/wan.py [--rtts 0 20 80 150] [--clients ...] [--only sweep burst ...]
        [--sustain-seconds 180] [--rate-search] [--target-seconds 8] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx
from _sandbox_process import start_sandbox
from latency_proxy import ProxyProcess

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "wan.json"
CHART = HERE / "results" / "wan.png"
FULLSTORY, SMARTLOOK, SEGMENT, POSTHOG = "fullstory track", "smartlook", "segment", "posthog"
CLIENTS = [FULLSTORY, SMARTLOOK, SEGMENT, POSTHOG]
SCENARIOS = ["sweep", "rate-limit", "sustained", "burst", "lost-answers"]
KEY = "bench-key"
POLL_S = 0.05


# ---- inside a client's process --------------------------------------------------------------


@attrs.define
class Client:
    """One client behind the same small interface; ``offer(i)`` is False when refused."""

    offer: Callable[[int], bool]
    flush: Callable[[float], Any]
    close: Callable[[float], Any]
    stats: Callable[[], dict[str, int]] = dict
    failed: list[int] = attrs.field(factory=lambda: [0])  # events the client gave up on


def in_thread(function: Callable[[], Any], timeout: float) -> None:
    """Run a call that takes no timeout (segment, posthog) for at most ``timeout`` seconds."""
    worker = threading.Thread(target=function, daemon=True)
    worker.start()
    worker.join(timeout)


def make_client(name: str, url: str) -> Client:
    props = {"source": "google"}
    if name == FULLSTORY:
        from session_analytics.fullstory import FullStory

        fs = FullStory(api_key=KEY, base_url=url)

        def track(i: int) -> bool:
            return fs.events.track(
                "backend_login", user={"uid": f"u{i % 1000}"}, properties={**props, "n": i}
            )

        return Client(track, fs.flush, fs.close, lambda: attrs.asdict(fs.stats()))
    if name == SMARTLOOK:
        from session_analytics import smartlook

        sl = smartlook.init(key=KEY, host=url)

        def event(i: int) -> bool:
            return smartlook.event(f"u{i % 1000}", "backend_login", None, {**props, "n": i})

        # sl is the default client: its stats stay readable after smartlook.stop().
        return Client(event, smartlook.flush, smartlook.stop, lambda: attrs.asdict(sl.stats()))
    if name == SEGMENT:
        from segment.analytics.client import Client as Segment

        failed = [0]
        seg = Segment(
            KEY, host=url, on_error=lambda _e, batch: failed.__setitem__(0, failed[0] + len(batch))
        )

        def seg_track(i: int) -> bool:
            ok, _ = seg.track(f"u{i % 1000}", "backend_login", {**props, "n": i})
            return bool(ok)

        return Client(
            seg_track,
            lambda t: in_thread(seg.flush, t),
            lambda t: in_thread(seg.shutdown, t),
            failed=failed,
        )
    if name == POSTHOG:
        from posthog import Posthog

        failed = [0]
        ph = Posthog(
            KEY,
            host=url,
            disable_geoip=True,
            on_error=lambda _e, batch: failed.__setitem__(0, failed[0] + len(batch)),
        )

        def capture(i: int) -> bool:
            return (
                ph.capture(
                    "backend_login", distinct_id=f"u{i % 1000}", properties={**props, "n": i}
                )
                is not None
            )

        return Client(
            capture,
            lambda t: in_thread(ph.flush, t),
            lambda t: in_thread(ph.shutdown, t),
            failed=failed,
        )
    raise SystemExit(f"unknown client {name}")


def say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


def child(args: argparse.Namespace) -> int:
    """Warm up, wait for "go", offer the events, wait for "done", close, report."""
    client = make_client(args.child, args.url)
    for i in range(args.warmup):
        client.offer(-1 - i)  # negative n: never counted with the run's events
    client.flush(30)
    say({"warm": True})
    sys.stdin.readline()
    cpu0, started = time.process_time(), time.monotonic()
    say({"started": started})
    refused, max_depth, depth_samples = 0, 0, 0
    if args.rate:  # a steady pace: `rate` events/s for `seconds`
        next_sample = started
        offered = 0
        while True:
            now = time.monotonic()
            elapsed = now - started
            if elapsed >= args.seconds:
                break
            due = min(int(args.rate * elapsed), args.events)
            while offered < due:
                refused += not client.offer(offered)
                offered += 1
            if now >= next_sample:
                depth = client.stats().get("queue_depth", 0)
                max_depth, depth_samples = max(max_depth, depth), depth_samples + 1
                next_sample = now + 0.1
            time.sleep(0.005)
    else:  # everything at once
        offered = args.events
        for i in range(offered):
            refused += not client.offer(i)
    offer_done = time.monotonic()
    flusher = threading.Thread(target=client.flush, args=(args.cap,), daemon=True)
    flusher.start()
    say({"offered": offered, "refused": refused, "offer_done": offer_done})
    sys.stdin.readline()  # "done": the server has them all, or the parent gave up waiting
    cpu = time.process_time() - cpu0
    at_done = client.stats()
    client.close(args.close_timeout)
    say(
        {
            "cpu_s": cpu,
            "max_queue_depth": max_depth if depth_samples else None,
            "stats_at_done": at_done or None,
            "stats_after_close": client.stats() or None,
            "failed_reported": client.failed[0],
        }
    )
    sys.stdout.flush()
    os._exit(0)  # the peers' threads may still be retrying: do not wait for them


# ---- the servers ------------------------------------------------------------------------------


class Server:
    """A sandbox or the sink, in its own process; counts what it stored, by admin routes."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "sandbox":
            self.proc, self.url = start_sandbox("--log-level", "error")
        else:
            from batcher_compare import free_port

            port = free_port()
            self.proc = subprocess.Popen(
                [sys.executable, str(HERE / "sink.py"), str(port), "--distinct"],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert self.proc.stdout is not None
            if self.proc.stdout.readline().strip() != "ready":
                raise SystemExit("the sink did not start")
            self.url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def reset(self) -> None:
        self.http.post("/_sandbox/reset" if self.kind == "sandbox" else "/reset").raise_for_status()

    def stored(self, api: str) -> int:
        if self.kind == "sandbox":
            return int(self.http.get("/_sandbox/stats").json()["events"][api])
        return int(self.http.get("/count").json()["events"])

    def distinct(self, api: str) -> tuple[int, int]:
        """(events stored, distinct events among them by property n; warm-up ones excluded)."""
        if self.kind == "sink":
            counts = self.http.get("/count").json()
            return int(counts["events"]), int(counts["distinct"])
        events = self.http.get("/_sandbox/events", params={"api": api}).json()["events"]
        key = "properties" if api == "fullstory" else "props"
        numbers = [e[key].get("n") for e in events]
        return len(numbers), len(set(numbers))

    def stats(self) -> dict[str, Any]:
        return dict(self.http.get("/_sandbox/stats").json())

    def faults(self, **faults: Any) -> httpx.Response:
        return self.http.post("/_sandbox/faults", json=faults)

    def close(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(10)


API = {FULLSTORY: "fullstory", SMARTLOOK: "smartlook", SEGMENT: "sink", POSTHOG: "sink"}


@attrs.define
class Run:
    """What the parent saw of one child run."""

    offered: int
    refused: int
    seconds: float  # from the first call until the server had them all (or gave up)
    delivered: int  # counted by the server by then
    complete: bool
    timeline: list[tuple[float, int]]  # (seconds since the first call, events counted)
    child: dict[str, Any]
    proxy: dict[str, Any]
    stored: int
    distinct: int

    def rate_between(self, start: float, end: float) -> float:
        """Events/s counted by the server between two times (seconds since the first call)."""

        def at(t: float) -> int:
            best = 0
            for when, count in self.timeline:
                if when > t:
                    break
                best = count
            return best

        return (at(end) - at(start)) / (end - start) if end > start else 0.0


def run_client(
    name: str,
    server: Server,
    proxy: ProxyProcess,
    *,
    events: int,
    cap: float,
    rate: float = 0.0,
    seconds: float = 0.0,
    warmup: int = 0,
    stall: float = 5.0,
    close_timeout: float = 5.0,
    before: Callable[[], None] | None = None,
    at: Callable[[float], None] | None = None,
) -> Run:
    """One fresh client process: warm up, offer, wait for the server to count, close.

    ``before()`` is called once the warm-up is over and the counters are reset, just before the
    first call; ``at(t)`` on each poll with the seconds since the first call (for scenarios that
    set the server's faults for the run, or change them while it goes on).
    """
    api = API[name]
    command = [
        sys.executable,
        __file__,
        "--child",
        name,
        "--url",
        proxy.url,
        "--events",
        str(events),
        "--warmup",
        str(warmup or (20 if name == FULLSTORY else 1000)),
        "--cap",
        str(cap),
        "--close-timeout",
        str(close_timeout),
    ]
    if rate:
        command += ["--rate", str(rate), "--seconds", str(seconds)]
    proxy.reset()  # what a previous client did after its run was counted is not this one's
    # The peers log every refused event ("queue is full"): kept out of the way, shown on failure.
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            bufsize=1,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None

        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            for line in proc.stdout or ():
                lines.put(line)
            lines.put("")  # the end

        threading.Thread(target=pump, daemon=True).start()

        def read(timeout: float = 600) -> dict[str, Any]:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                line = ""
            if not line:
                proc.kill()
                errors.seek(0)
                tail = errors.read()[-2000:]
                raise RuntimeError(f"{name}: the client process ended early:\n{tail}")
            return dict(json.loads(line))

        try:
            read()  # warm
            server.reset()
            warmup_proxy = proxy.reset()
            if before is not None:
                before()
            proc.stdin.write("go\n")
            started = read()["started"]
            offer: dict[str, Any] | None = None  # once the child has offered every event
            target = events
            timeline: list[tuple[float, int]] = []
            last_change, last = time.monotonic(), -1
            while True:
                if offer is None and not lines.empty():
                    offer = read()
                    target = offer["offered"] - offer["refused"]
                now = time.monotonic()
                count = server.stored(api)
                timeline.append((now - started, count))
                if at is not None:
                    at(now - started)
                if count != last:
                    last, last_change = count, now
                if now - started > cap:
                    break
                if offer is not None and (
                    count >= target or (now - last_change > stall and now > offer["offer_done"])
                ):
                    break
                time.sleep(POLL_S)
            finished = timeline[-1]
            if offer is None:
                offer = read()
            proc.stdin.write("done\n")
            result = read()
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
    time.sleep(0.2)  # let the last answers land before counting copies
    stored, distinct = server.distinct(api)
    return Run(
        offered=offer["offered"],
        refused=offer["refused"],
        seconds=finished[0],
        delivered=finished[1],
        complete=finished[1] >= target,
        timeline=timeline,
        child=result,
        proxy={**proxy.stats(), "warmup_connections": warmup_proxy["accepted"]},
        stored=stored,
        distinct=distinct,
    )


def summary(run: Run) -> dict[str, Any]:
    """The row of one run: rates, CPU, connections, losses and copies."""
    after = run.child.get("stats_after_close") or {}
    gave_up = int(after.get("failed", 0)) + int(run.child.get("failed_reported", 0))
    # What the client refused at the door is what it said it dropped (ours count it in stats).
    reported = run.refused + gave_up
    row = {
        "events_offered": run.offered,
        "delivered_events_per_s": round(run.delivered / run.seconds, 1) if run.seconds else 0.0,
        "seconds": round(run.seconds, 2),
        "complete": run.complete,
        "delivered": run.delivered,
        "cpu_us_per_delivered_event": (
            round(run.child["cpu_s"] / run.delivered * 1e6, 1) if run.delivered else None
        ),
        "connections_opened": run.proxy["accepted"],
        "connections_opened_in_warmup": run.proxy["warmup_connections"],
        "peak_connections_open": run.proxy["peak_open"],
        "peak_requests_in_flight": run.proxy["peak_busy"],
        "refused_at_the_door": run.refused,
        "gave_up": gave_up,
        "lost": max(run.offered - run.distinct - reported, 0),
        "duplicated": run.stored - run.distinct,
    }
    if after:
        row["client_stats"] = after
    return row


# ---- the sweep --------------------------------------------------------------------------------

# How fast each client can go at loopback (events/s on this machine: batcher_compare.py and the
# sandbox's capacity), how many events one request carries with the defaults, and about how many
# requests it keeps in flight: (loopback rate, events per request, requests in flight). Only used
# to size N; a client faster than this finishes sooner, a slower one meets the time cap.
SHAPE = {
    FULLSTORY: (1500.0, 1, 128),
    SMARTLOOK: (150_000.0, 1000, 8),
    SEGMENT: (20_000.0, 100, 1),
    POSTHOG: (10_000.0, 100, 1),
}


def events_for(name: str, rtt_ms: float, target_s: float, scale: float) -> int:
    loopback, per_request, in_flight = SHAPE[name]
    rate = min(loopback, per_request * in_flight / (rtt_ms / 1000 + 0.003))
    return int(min(max(rate * target_s * scale, 100), 200_000))


def sweep(
    args: argparse.Namespace, sandbox: Server, sink: Server, proxies: dict[str, ProxyProcess]
) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for rtt in args.rtts:
        for proxy in proxies.values():
            proxy.set(rtt_ms=rtt)
        results[f"{rtt:g}"] = {}
        for name in args.clients:
            events = events_for(name, rtt, args.target_seconds, args.scale)
            server = sink
            run = run_client(
                name, server, proxies[server.kind], events=events, cap=3 * args.target_seconds + 10
            )
            row = summary(run)
            results[f"{rtt:g}"][name] = row
            print(f"rtt {rtt:g} ms, {name}: {json.dumps(row)}", flush=True)
    return results


# ---- the scenarios ----------------------------------------------------------------------------


def request_counts(stats: dict[str, Any]) -> dict[str, int]:
    """Answers to POST /v2/events by status, from the sandbox's stats."""
    for route, by_status in stats["requests"].items():
        if "event" in route.lower() and "batch" not in route.lower() and "POST" in route.upper():
            return {k: int(v) for k, v in by_status.items()}
    for route, by_status in stats["requests"].items():
        if route.lower() in ("create_event", "createevent"):
            return {k: int(v) for k, v in by_status.items()}
    return {}


def rate_limit(
    args: argparse.Namespace, sandbox: Server, proxy: ProxyProcess, reference: float | None
) -> dict[str, Any]:
    """``reference``: track()'s events/s at 80 ms in the sweep, when it ran: full speed."""
    limit = {
        "rate_limit_rps": args.limit_rps,
        "rate_limit_burst": args.limit_burst,
        "paths": ["/v2/events"],
    }
    probe = sandbox.faults(**limit)
    sandbox.faults()
    if probe.status_code == 400:
        message = probe.json().get("message", probe.text)
        print(f"rate-limit: skipped, the sandbox has no token bucket yet ({message})", flush=True)
        return {"skipped": f"the sandbox refused the rate limit faults: {message}"}
    probe.raise_for_status()
    proxy.set(rtt_ms=80)
    before, limited, lifted = 5.0, 10.0, 5.0
    snapshots: dict[str, dict[str, int]] = {}
    state = {"phase": "before"}

    def switch(t: float) -> None:
        if state["phase"] == "before" and t >= before:
            snapshots["start"] = request_counts(sandbox.stats())
            sandbox.faults(**limit).raise_for_status()
            state["phase"] = "limited"
        elif state["phase"] == "limited" and t >= before + limited:
            sandbox.faults().raise_for_status()
            snapshots["end"] = request_counts(sandbox.stats())
            state["phase"] = "lifted"

    # A backlog that outlasts the 20 s at any rate the sandbox can take.
    total = before + limited + lifted
    run = run_client(
        FULLSTORY,
        sandbox,
        proxy,
        events=30_000,
        cap=total,
        stall=math.inf,
        close_timeout=1,
        at=switch,
    )
    sandbox.faults()
    start, end = snapshots.get("start", {}), snapshots.get("end", {})
    answered = {k: end.get(k, 0) - start.get(k, 0) for k in end}
    requests = sum(answered.values())
    unlimited = run.rate_between(1.0, before)  # the first second holds connection setup
    full = reference or unlimited
    after = [run.rate_between(before + limited + s, before + limited + s + 1) for s in range(5)]
    back = next((s for s, r in enumerate(after) if full and r >= 0.9 * full), None)
    row = {
        "rtt_ms": 80,
        "limit": limit,
        "events_per_s_unlimited": round(unlimited, 1),
        "full_speed_events_per_s": round(full, 1),
        "full_speed_from": "the sweep at 80 ms" if reference else "the unlimited phase",
        "events_per_s_limited": round(run.rate_between(before, before + limited), 1),
        "events_per_s_5s_after_lifting": round(
            run.rate_between(before + limited, before + limited + lifted), 1
        ),
        "events_per_s_each_second_after_lifting": [round(r, 1) for r in after],
        "seconds_back_to_90pct_of_full_speed": back,
        "requests_while_limited": requests,
        "share_answered_429": round(answered.get("429", 0) / requests, 3) if requests else None,
        "answers_while_limited": answered,
        "client_stats": run.child.get("stats_at_done"),
        "connections_opened": run.proxy["accepted"],
        "backlog_left": run.offered - run.refused - run.delivered,
    }
    print(f"rate-limit: {json.dumps(row)}", flush=True)
    return row


def sustained_run(
    sandbox: Server, proxy: ProxyProcess, rate: float, seconds: float
) -> dict[str, Any]:
    events = int(rate * seconds) + 1
    run = run_client(
        FULLSTORY,
        sandbox,
        proxy,
        events=events,
        rate=rate,
        seconds=seconds,
        cap=seconds + 10,
        close_timeout=1,
    )
    at_done = run.child.get("stats_at_done") or {}
    delivered_in_window = run.rate_between(0, seconds) * seconds
    return {
        "offered_events_per_s": rate,
        "seconds": seconds,
        "events_offered": run.offered,
        "dropped": int(at_done.get("dropped", run.refused)),
        "max_queue_depth": run.child.get("max_queue_depth"),
        "delivered_events_per_s_while_offering": round(delivered_in_window / seconds, 1),
        "delivered_events_per_s_steady": round(run.rate_between(seconds / 3, seconds), 1),
        "backlog_when_offering_stopped": run.offered - run.refused - int(delivered_in_window),
        "drained_within_10s_after": run.complete,
        "connections_opened": run.proxy["accepted"],
        "peak_requests_in_flight": run.proxy["peak_busy"],
        "cpu_us_per_delivered_event": (
            round(run.child["cpu_s"] / run.delivered * 1e6, 1) if run.delivered else None
        ),
    }


def holds(row: dict[str, Any]) -> bool:
    """A rate holds when nothing is dropped and the queue does not grow (1 s of backlog)."""
    backlog_ok = row["backlog_when_offering_stopped"] <= max(row["offered_events_per_s"], 50)
    return bool(row["dropped"] == 0 and backlog_ok)


def sustained(args: argparse.Namespace, sandbox: Server, proxy: ProxyProcess) -> dict[str, Any]:
    proxy.set(rtt_ms=80)
    row = sustained_run(sandbox, proxy, args.sustain_rate, args.sustain_seconds)
    row["rtt_ms"] = 80
    row["holds"] = holds(row)
    print(f"sustained: {json.dumps(row)}", flush=True)
    if args.rate_search:
        tried: list[dict[str, Any]] = []
        rate, best, worst = 50.0, None, None
        while rate <= 6400 and (worst is None):  # double until a rate fails...
            tried.append(sustained_run(sandbox, proxy, rate, args.search_seconds))
            if holds(tried[-1]):
                best, rate = rate, rate * 2
            else:
                worst = rate
        for _ in range(2):  # ...then halve the gap twice
            if best is None or worst is None:
                break
            middle = round((best + worst) / 2)
            tried.append(sustained_run(sandbox, proxy, middle, args.search_seconds))
            best, worst = (middle, worst) if holds(tried[-1]) else (best, middle)
        row["rate_search"] = {
            "highest_rate_that_holds": best,
            "lowest_rate_that_fails": worst,
            "seconds_per_try": args.search_seconds,
            "tries": tried,
        }
        print(f"sustained rate search: highest that holds {best} events/s", flush=True)
    return row


def burst(args: argparse.Namespace, sink: Server, proxy: ProxyProcess) -> dict[str, Any]:
    proxy.set(rtt_ms=150)
    run = run_client(SMARTLOOK, sink, proxy, events=args.burst_events, cap=180)
    row = {"rtt_ms": 150, "server": "sink", **summary(run)}
    row["drain_events_per_s"] = row.pop("delivered_events_per_s")
    print(f"burst: {json.dumps(row)}", flush=True)
    return row


def lost_answers(
    args: argparse.Namespace, sandbox: Server, sink: Server, proxies: dict[str, ProxyProcess]
) -> dict[str, Any]:
    rate, events = 0.025, args.lost_events
    for proxy in proxies.values():
        proxy.set(rtt_ms=0)
    out: dict[str, Any] = {"rtt_ms": 0, "answer_loss": rate, "events": events}

    # Exactly one request in 40 (the 20th, the 60th, ...) loses its answer, then 2.5% at random:
    # with batches of up to 1000 events, 50,000 events are only some 50 requests.
    script = (["ok"] * 19 + ["reset"] + ["ok"] * 20) * 100

    def inject() -> None:
        sandbox.faults(
            reset_rate=rate, seed=7, paths=["/events/backend"], script=script
        ).raise_for_status()

    # Our Smartlook against the sandbox's own fault: processed, then the connection dropped.
    sandbox_run = run_client(
        SMARTLOOK, sandbox, proxies["sandbox"], events=events, cap=120, before=inject
    )
    faults = sandbox.stats()["faults_injected"]
    sandbox.faults()
    row = summary(sandbox_run)
    stats = sandbox_run.child.get("stats_after_close") or {}
    out["runs"] = [
        {
            "client": SMARTLOOK,
            "how": "sandbox reset_rate",
            **row,
            "answers_lost": faults.get("reset", 0),
            "possible_duplicates": stats.get("possible_duplicates"),
            "extra_copies_stored": row["duplicated"],
        }
    ]
    print(f"lost answers, smartlook (sandbox): {json.dumps(out['runs'][-1])}", flush=True)
    # Everyone through the proxy, which loses answers the same way, against the sink.
    with ProxyProcess(sink.url, 0, drop_answer_rate=rate, seed=7) as lossy:
        for name in [c for c in args.clients if c != FULLSTORY]:
            run = run_client(name, sink, lossy, events=events, cap=120)
            row = summary(run)
            stats = run.child.get("stats_after_close") or {}
            out["runs"].append(
                {
                    "client": name,
                    "how": "sink, answers dropped by the proxy",
                    **row,
                    "answers_lost": run.proxy["answers_dropped"],
                    "possible_duplicates": stats.get("possible_duplicates"),
                    "extra_copies_stored": row["duplicated"],
                }
            )
            print(f"lost answers, {name} (sink): {json.dumps(out['runs'][-1])}", flush=True)
    return out


# ---- report ----------------------------------------------------------------------------------


def chart(results: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep_rows = results.get("sweep") or {}
    if not sweep_rows:
        return
    rtts = sorted(sweep_rows, key=float)
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for name in CLIENTS:
        points = [
            (float(r), sweep_rows[r][name]["delivered_events_per_s"])
            for r in rtts
            if name in sweep_rows[r] and sweep_rows[r][name]["delivered_events_per_s"]
        ]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", linewidth=2, label=LABELS[name])
            for x, y in points:  # segment's and posthog's lines nearly meet: labels apart
                ax.annotate(
                    f"{y:,.0f}",
                    (x, y),
                    textcoords="offset points",
                    xytext=OFFSETS[name],
                    fontsize=8,
                )
    ax.set_yscale("log")
    ax.set_xlabel("round-trip time (ms)")
    ax.set_ylabel("delivered events/s (log)")
    ax.set_xticks([float(r) for r in rtts])
    ax.set_title("Delivered events/s over a slow network, default settings")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(CHART)
    plt.close(fig)


OFFSETS = {FULLSTORY: (4, -12), SMARTLOOK: (4, 6), SEGMENT: (4, 6), POSTHOG: (4, -12)}
LABELS = {
    FULLSTORY: "session-analytics FullStory track()",
    SMARTLOOK: "session-analytics Smartlook event()",
    SEGMENT: "segment-analytics-python 2.4.0",
    POSTHOG: "posthog 7.91.1",
}


def markdown(results: dict[str, Any]) -> str:
    lines: list[str] = []
    sweep_rows = results.get("sweep") or {}
    if sweep_rows:
        rtts = sorted(sweep_rows, key=float)
        lines += [
            "| delivered events/s | " + " | ".join(f"{r} ms" for r in rtts) + " |",
            "|---" * (len(rtts) + 1) + "|",
        ]
        for name in CLIENTS:
            cells = [
                f"{sweep_rows[r][name]['delivered_events_per_s']:,.0f}"
                + ("" if sweep_rows[r][name]["complete"] else " (capped)")
                if name in sweep_rows[r]
                else "-"
                for r in rtts
            ]
            if any(c != "-" for c in cells):
                lines.append(f"| {LABELS[name]} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "| run | CPU µs/event | connections opened | peak in flight | lost | duplicated |",
            "|---|---|---|---|---|---|",
        ]
        for r in rtts:
            for name in CLIENTS:
                row = sweep_rows[r].get(name)
                if row:
                    lines.append(
                        f"| {LABELS[name]}, {r} ms | {row['cpu_us_per_delivered_event']} | "
                        f"{row['connections_opened']} | {row['peak_requests_in_flight']} | "
                        f"{row['lost']} | {row['duplicated']} |"
                    )
    scenarios = results.get("scenarios", {})
    if scenarios:
        lines += ["", "| scenario | result |", "|---|---|"]
    limit = scenarios.get("rate-limit")
    if limit:
        each_second = ", ".join(
            f"{r:,.0f}" for r in limit.get("events_per_s_each_second_after_lifting", [])
        )
        if "skipped" in limit:
            lines.append(f"| rate limit 300 req/s, 80 ms | skipped: {limit['skipped']} |")
        else:
            lines.append(
                f"| rate limit 300 req/s, 80 ms, track() | full speed "
                f"{limit['full_speed_events_per_s']:,.0f} events/s ({limit['full_speed_from']}), "
                f"{limit['events_per_s_limited']:,.0f} limited "
                f"({limit['share_answered_429']} of requests answered 429), "
                f"{limit['events_per_s_5s_after_lifting']:,.0f} in the 5 s after lifting "
                f"(per second: {each_second}) |"
            )
    held = scenarios.get("sustained")
    if held:
        text = (
            f"{held['delivered_events_per_s_while_offering']:,.0f} events/s delivered, "
            f"{held['dropped']:,} dropped, max queue depth {held['max_queue_depth']:,}"
        )
        if "rate_search" in held:
            text += f"; highest rate that holds: {held['rate_search']['highest_rate_that_holds']}"
        lines.append(
            f"| sustained {held['offered_events_per_s']:.0f} events/s for "
            f"{held['seconds']:.0f} s, 80 ms, track() | {text} |"
        )
    drained = scenarios.get("burst")
    if drained:
        lines.append(
            f"| {drained['events_offered']:,} events at once, 150 ms, Smartlook event() | "
            f"drained at {drained['drain_events_per_s']:,.0f} events/s, {drained['lost']} lost |"
        )
    lost = scenarios.get("lost-answers")
    if lost:
        for row in lost["runs"]:
            name, where = row["client"], row["how"]
            duplicates = row["possible_duplicates"]
            said = "" if duplicates is None else f", possible_duplicates {duplicates:,}"
            lines.append(
                f"| {lost['events']:,} events, 2.5% of answers lost, 0 ms, "
                f"{LABELS[name]} ({where}) | {row['answers_lost']} answers lost{said}, "
                f"{row['extra_copies_stored']:,} extra copies stored, {row['lost']} lost, "
                f"{row['refused_at_the_door']:,} refused by the default queue |"
            )
    return "\n".join(lines)


@contextmanager
def servers(args: argparse.Namespace) -> Iterator[tuple[Server, Server, dict[str, ProxyProcess]]]:
    sandbox, sink = Server("sandbox"), Server("sink")
    proxies: dict[str, ProxyProcess] = {}
    try:
        for server in (sandbox, sink):
            proxies[server.kind] = ProxyProcess(
                server.url, 0, jitter_ms=args.jitter_ms, setup_rtts=args.setup_rtts
            )
        yield sandbox, sink, proxies
    finally:
        for proxy in proxies.values():
            proxy.close()
        sandbox.close()
        sink.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtts", type=float, nargs="+", default=[0, 20, 80, 150])
    parser.add_argument("--clients", nargs="+", default=CLIENTS, choices=CLIENTS)
    parser.add_argument("--only", nargs="+", default=SCENARIOS, choices=SCENARIOS)
    parser.add_argument("--target-seconds", type=float, default=8.0, help="per sweep run")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every sweep N")
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--setup-rtts", type=float, default=1.0, help="connection setup cost")
    parser.add_argument("--limit-rps", type=float, default=300)
    parser.add_argument("--limit-burst", type=float, default=300)
    parser.add_argument("--sustain-rate", type=float, default=800)
    parser.add_argument("--sustain-seconds", type=float, default=180)
    parser.add_argument("--rate-search", action="store_true")
    parser.add_argument("--search-seconds", type=float, default=10)
    parser.add_argument("--burst-events", type=int, default=200_000)
    parser.add_argument("--lost-events", type=int, default=50_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--events", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--cap", type=float, default=60, help=argparse.SUPPRESS)
    parser.add_argument("--close-timeout", type=float, default=5, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    started = time.monotonic()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "network": {
            "rtts_ms": args.rtts,
            "jitter_ms": args.jitter_ms,
            "connection_setup_rtts": args.setup_rtts,
        },
        "event": "user u<i % 1000>, name backend_login, properties {source, n}",
        "servers": {FULLSTORY: "sandbox", SMARTLOOK: "sink", SEGMENT: "sink", POSTHOG: "sink"},
        "scenarios": {},
    }
    with servers(args) as (sandbox, sink, proxies):
        if "sweep" in args.only:
            results["sweep"] = sweep(args, sandbox, sink, proxies)
        if "rate-limit" in args.only:
            at_80 = results.get("sweep", {}).get("80", {}).get(FULLSTORY, {})
            reference = at_80.get("delivered_events_per_s") if at_80.get("complete") else None
            results["scenarios"]["rate-limit"] = rate_limit(
                args, sandbox, proxies["sandbox"], reference
            )
        if "sustained" in args.only:
            results["scenarios"]["sustained"] = sustained(args, sandbox, proxies["sandbox"])
        if "burst" in args.only:
            results["scenarios"]["burst"] = burst(args, sink, proxies["sink"])
        if "lost-answers" in args.only:
            results["scenarios"]["lost-answers"] = lost_answers(args, sandbox, sink, proxies)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["wall_seconds"] = round(time.monotonic() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if "sweep" in args.only:
        chart(results)
    print()
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
