"""Throughput of ``fs.users.import_()`` and ``session-analytics import users`` over a slow network.

Starts a sandbox in its own process (its CPU is not the client's), with every API answer delayed
by ``--latency-ms`` (80 by default, a transatlantic round trip) and jobs processed at the
sandbox's default speed (they start working ``job_delay_s`` after they start, then import
``job_items_per_s`` items per second). Then imports ``--items`` users (200,000 by default) with
``import_()`` (sync and async clients) and with the CLI from an NDJSON file, each into a fresh
sandbox, with the SDK's default options (``jobs_in_flight=4``, ``chunk_size=50_000``,
``poll_interval=2``).

For each run it records items/s, the requests made per route, the most jobs seen PROCESSING at
once, and two bounds:

- ``job_limit_bound_items_per_s``: what the API's job limits allow: the jobs run in waves of
  ``jobs_in_flight``, each wave lasting one job's duration
  (``job_delay_s + chunk_size / job_items_per_s``), so
  ``items / (ceil(jobs / jobs_in_flight) * job duration)``;
- ``sequential_round_trips_s``: the time the requests of the run take if made one after another
  (requests x latency), which bounds a client that makes them that way.

Results go to benchmarks/results/import_wan.json.

    python benchmarks/import_wan.py [--items 200000] [--latency-ms 80] [--runs sync async cli]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from _sandbox_process import start_sandbox

RESULTS = Path(__file__).resolve().parent / "results" / "import_wan.json"
CLI = Path(sys.executable).parent / "session-analytics"
API_KEY = "bench"
JOBS_IN_FLIGHT = 4
CHUNK = 50_000


def users(count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        yield {"uid": f"user-{i}", "display_name": f"User {i}", "properties": {"n": i}}


class Watcher:
    """Polls the sandbox's job summary (an admin route, no latency) to see how many jobs are
    PROCESSING at once."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._stop = threading.Event()
        self.most_running = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        with httpx.Client(base_url=self._url) as client:
            while not self._stop.wait(0.25):
                try:
                    jobs = client.get("/_sandbox/stats").json()["jobs"]
                except httpx.HTTPError:
                    continue
                self.most_running = max(self.most_running, jobs["running"] + jobs["queued"])


def run_sync(url: str, count: int) -> int:
    from session_analytics import fullstory

    with fullstory.init(api_key=API_KEY, base_url=url) as fs:
        return fs.users.import_(users(count)).imported


def run_async(url: str, count: int) -> int:
    from session_analytics import fullstory

    async def go() -> int:
        async with fullstory.AsyncFullStory(api_key=API_KEY, base_url=url) as fs:
            return (await fs.users.import_(users(count))).imported

    return asyncio.run(go())


def run_cli(url: str, path: Path) -> int:
    env = {**os.environ, "FULLSTORY_API_KEY": API_KEY, "FULLSTORY_BASE_URL": url}
    done = subprocess.run(
        [str(CLI), "import", "users", str(path), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the CLI failed ({done.returncode}): {done.stdout}{done.stderr}")
    print("   ", done.stdout.strip().splitlines()[0], flush=True)
    return int(done.stdout.split()[1].replace(",", ""))


def measure(how: str, count: int, latency_ms: float, ndjson: Path | None) -> dict[str, Any]:
    proc, url = start_sandbox("--log-level", "error")
    try:
        httpx.post(f"{url}/_sandbox/faults", json={"latency_ms": latency_ms}).raise_for_status()
        config = httpx.get(f"{url}/_sandbox/config").json()
        started = time.perf_counter()
        with Watcher(url) as watcher:
            if how == "sync":
                imported = run_sync(url, count)
            elif how == "async":
                imported = run_async(url, count)
            else:
                assert ndjson is not None
                imported = run_cli(url, ndjson)
        elapsed = time.perf_counter() - started
        stats = httpx.get(f"{url}/_sandbox/stats").json()
    finally:
        proc.terminate()
        proc.wait(30)
    assert imported == count, (imported, count)
    requests = {
        route: sum(statuses.values())
        for route, statuses in stats["requests"].items()
        if "/batch" in route
    }
    jobs = math.ceil(count / CHUNK)
    job_s = config["job_delay_s"] + min(CHUNK, count) / config["job_items_per_s"]
    waves = math.ceil(jobs / JOBS_IN_FLIGHT)
    return {
        "how": how,
        "items": count,
        "seconds": round(elapsed, 2),
        "items_per_s": round(count / elapsed),
        "jobs": jobs,
        "most_jobs_processing_at_once": watcher.most_running,
        "requests": requests,
        "job_duration_s": round(job_s, 3),
        "job_limit_bound_items_per_s": round(count / (waves * job_s)),
        "sequential_round_trips_s": round(sum(requests.values()) * latency_ms / 1000, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--latency-ms", type=float, default=80.0)
    parser.add_argument("--runs", nargs="+", choices=["sync", "async", "cli"], default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    runs = args.runs or ["sync", "async", "cli"]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        ndjson = Path(tmp) / "users.ndjson"
        if "cli" in runs:
            with ndjson.open("w", encoding="utf-8") as out:
                for user in users(args.items):
                    out.write(json.dumps(user) + "\n")
        for how in runs:
            print(f"{how}: importing {args.items:,} users at {args.latency_ms:g} ms", flush=True)
            results.append(measure(how, args.items, args.latency_ms, ndjson))
            print("   ", json.dumps(results[-1]), flush=True)
    out = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        },
        "latency_ms": args.latency_ms,
        "options": {"jobs_in_flight": JOBS_IN_FLIGHT, "chunk_size": CHUNK, "poll_interval": 2.0},
        "runs": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
