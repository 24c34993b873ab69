"""The event batcher side by side with segment-analytics-python and posthog, on one machine.

Each client runs in a fresh process against the same loopback sink (benchmarks/sink.py), with
the same event: user "u<i % 1000>", name "backend_login", two properties. Measured:

- caller: the cost of each call on the caller's thread (p50, p99), N calls;
- end to end: events per second from the first call until the sink has counted all N;
- cpu: process CPU time (caller and workers) per event;
- memory: peak RSS, and bytes per queued event (the sink holds every answer, so events stay
  queued; RSS growth divided by the events queued);
- import: the wall time of the statements that make a client usable (``import posthog``;
  ``from session_analytics.fullstory import FullStory``, whose package loads the client on first
  use), best of 7 fresh interpreters, in a fresh venv per client.

Queues are sized for the burst (no client may drop); ``--defaults`` also runs each client with
its default queue to show how many events a burst loses. Results go to
benchmarks/results/batcher_compare.json.

    python benchmarks/batcher_compare.py [--events 200000] [--defaults]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "batcher_compare.json"
CLIENTS = ["session-analytics smartlook", "session-analytics fullstory track", "segment", "posthog"]
IMPORTS = {
    "session-analytics smartlook": ["import session_analytics.smartlook"],
    "session-analytics fullstory track": [
        "import session_analytics.fullstory",
        "from session_analytics.fullstory import FullStory",
    ],
    "segment": ["import segment.analytics"],
    "posthog": ["import posthog"],
}
# FullStory has no bulk events call (one request per event): its end-to-end run is shorter.
FULLSTORY_EVENTS = 20_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sink() -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "sink.py"), str(port)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise SystemExit("the sink did not start")
    return proc, f"http://127.0.0.1:{port}"


# ---- inside a client's process ------------------------------------------------------------


def make_client(name: str, url: str, queue: int | None) -> tuple[Any, Any, Any]:
    """(call(i), drain(), stop()) for one client."""
    if name == "session-analytics smartlook":
        from session_analytics.smartlook import BatchingOptions, Smartlook

        options = BatchingOptions(max_queue_events=queue) if queue else None
        sl = Smartlook("bench-key", host=url, batching=options)

        def call(i: int) -> None:
            sl.event(f"u{i % 1000}", "backend_login", None, {"source": "google", "n": i})

        return call, lambda: sl.flush(600), lambda: sl.stop(10)
    if name == "session-analytics fullstory track":
        from session_analytics.fullstory import BatchingOptions, FullStory

        options = BatchingOptions(
            max_queue_events=queue or 20_000, flush_at=1, max_batch_events=1, concurrency=8
        )
        fs = FullStory("bench-key", base_url=url, batching=options)

        def call(i: int) -> None:
            fs.events.track(
                "backend_login",
                user={"uid": f"u{i % 1000}"},
                properties={"source": "google", "n": i},
            )

        return call, lambda: fs.flush(600), lambda: fs.close(10)
    if name == "segment":
        from segment.analytics.client import Client

        kwargs = {"max_queue_size": queue} if queue else {}
        seg = Client("bench-key", host=url, **kwargs)

        def call(i: int) -> None:
            seg.track(f"u{i % 1000}", "backend_login", {"source": "google", "n": i})

        return call, seg.flush, seg.shutdown
    if name == "posthog":
        from posthog import Posthog

        kwargs = {"max_queue_size": queue} if queue else {}
        ph = Posthog("bench-key", host=url, disable_geoip=True, **kwargs)

        def call(i: int) -> None:
            ph.capture(
                "backend_login", distinct_id=f"u{i % 1000}", properties={"source": "google", "n": i}
            )

        return call, ph.flush, ph.shutdown
    raise SystemExit(f"unknown client {name}")


def sink_count(url: str) -> int:
    return int(httpx.get(f"{url}/count").json()["events"])


def run_speed(name: str, url: str, events: int, queue: int | None) -> dict[str, Any]:
    call, drain, stop = make_client(name, url, queue)
    for i in range(200):  # warm up: imports, connections, the workers
        call(i)
    drain()
    base = sink_count(url)
    samples = [0] * events
    clock = time.perf_counter_ns
    cpu_start = time.process_time()
    started = time.perf_counter()
    for i in range(events):
        t0 = clock()
        call(i)
        samples[i] = clock() - t0
    called = time.perf_counter()
    drain()
    # Until the sink has all N, or (a client that dropped events) its count stops moving.
    deadline = time.monotonic() + 600
    last, still_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        seen = sink_count(url) - base
        if seen >= events:
            break
        if seen != last:
            last, still_since = seen, time.monotonic()
        elif time.monotonic() - still_since > 2.0:
            break
        time.sleep(0.01)
    finished = time.perf_counter()
    delivered = sink_count(url) - base
    cpu = time.process_time() - cpu_start
    stop()
    samples.sort()
    return {
        "events": events,
        "delivered": delivered,
        "lost": events - delivered,
        "caller_p50_us": round(samples[events // 2] / 1000, 2),
        "caller_p99_us": round(samples[int(events * 0.99)] / 1000, 2),
        "caller_mean_us": round(statistics.fmean(samples) / 1000, 2),
        "calls_seconds": round(called - started, 3),
        "end_to_end_events_per_s": round(delivered / (finished - started)),
        "cpu_us_per_event": round(cpu / events * 1e6, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_memory(name: str, url: str, events: int) -> dict[str, Any]:
    call, _, stop = make_client(name, url, events + 10_000)
    for i in range(2000):
        call(i)
    time.sleep(1.0)
    httpx.post(f"{url}/pause")
    time.sleep(0.5)
    before = rss_kib()
    for i in range(events):
        call(i)
    time.sleep(0.5)
    after = rss_kib()
    httpx.post(f"{url}/resume")
    stop()
    return {"queued": events, "bytes_per_queued_event": round((after - before) * 1024 / events)}


def child(args: argparse.Namespace) -> int:
    if args.memory:
        result = run_memory(args.client, args.url, args.events)
    else:
        result = run_speed(args.client, args.url, args.events, args.queue)
    print(json.dumps(result))
    return 0


# ---- the driver -------------------------------------------------------------------------------


def in_child(client: str, url: str, events: int, *extra: str) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            client,
            "--url",
            url,
            "--events",
            str(events),
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# Import time is measured in a fresh venv per client holding only that client and what it
# needs: in a shared venv, httpx imports its CLI (rich, click) when they happen to be installed.
REQUIREMENTS = {
    "session-analytics smartlook": str(HERE.parent),
    "session-analytics fullstory track": str(HERE.parent),
    "segment": "segment-analytics-python==2.4.0",
    "posthog": "posthog==7.91.1",
}


def import_ms(python: str, statement: str) -> float:
    """Milliseconds ``statement`` takes in a fresh interpreter, best of 7 (bytecode cached by a
    first run)."""
    timed = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    best = float("inf")
    for _ in range(8):
        out = subprocess.run(
            [python, "-c", timed], capture_output=True, text=True, check=True, env=env
        )
        best = min(best, float(out.stdout) * 1000)
    return round(best, 1)


def clean_import_ms(requirement: str, modules: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-venv-") as where:
        venv.EnvBuilder(with_pip=True).create(where)
        python = str(Path(where) / "bin" / "python")
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
            check=True,
            capture_output=True,
        )
        return {module: import_ms(python, module) for module in modules}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--defaults", action="store_true", help="also run with default queues")
    parser.add_argument("--clients", nargs="+", default=CLIENTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--queue", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.client = args.child
        return child(args)
    sink, url = start_sink()
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "event": "user u<i % 1000>, name backend_login, properties {source, n}",
        "clients": {},
    }
    try:
        for client in args.clients:
            events = FULLSTORY_EVENTS if "fullstory" in client else args.events
            modules = list(IMPORTS[client])
            if client.startswith("session-analytics"):
                modules.append("import session_analytics")
            row: dict[str, Any] = {
                "speed": in_child(client, url, events, "--queue", str(events + 10_000)),
                "memory": in_child(client, url, min(events, 100_000), "--memory"),
                "import_ms_clean_venv": clean_import_ms(REQUIREMENTS[client], modules),
            }
            if args.defaults and "fullstory" not in client:
                row["default_queue_burst"] = in_child(client, url, events)
            results["clients"][client] = row
            print(client, json.dumps(row), flush=True)
    finally:
        sink.terminate()
        sink.wait(10)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
