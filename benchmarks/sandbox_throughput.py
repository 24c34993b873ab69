"""How much one sandbox process takes: single FullStory event creates and Smartlook events.

The sandbox runs in its own process (as `session-analytics sandbox` would); the load comes from
asyncio httpx clients in this process. Results go to benchmarks/results/sandbox_throughput.json.

    python benchmarks/sandbox_throughput.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from pathlib import Path

import httpx
from _sandbox_process import start_sandbox

RESULTS = Path(__file__).resolve().parent / "results" / "sandbox_throughput.json"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    server_pid: int,
    url: str,
    seconds: float,
    concurrency: int,
    request: dict[str, object],
    per_request: int,
) -> dict[str, float]:
    cpu_before = cpu_seconds(server_pid)
    result = asyncio.run(hammer(url, seconds, concurrency, request, per_request))
    cpu = cpu_seconds(server_pid) - cpu_before
    # The load generator shares this machine's cores; the server's own CPU time per request
    # says how much one sandbox process could take with the client elsewhere.
    result["server_cpu_us_per_request"] = round(cpu / max(result["requests"], 1) * 1e6, 1)
    result["server_capacity_items_per_cpu_s"] = (
        round(result["requests"] * per_request / cpu, 1) if cpu else 0.0
    )
    return result


async def hammer(
    url: str, seconds: float, concurrency: int, request: dict[str, object], per_request: int
) -> dict[str, float]:
    done = 0
    errors = 0
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal done, errors
            while time.perf_counter() < stop_at:
                response = await client.request(**request)  # type: ignore[arg-type]
                if response.status_code == 200:
                    done += 1
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests_per_s": round(done / elapsed, 1),
        "items_per_s": round(done * per_request / elapsed, 1),
        "requests": done,
        "errors": errors,
        "concurrency": concurrency,
        "items_per_request": per_request,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    proc, url = start_sandbox("--log-level", "error")
    try:
        check = httpx.post(f"{url}/rec/check/backend", json={"key": "bench"}).json()
        events_url = f"http://{check['analytics']['host']}"
        query = f"pid={check['pid']}&group={check['options']['storeGroup']}"
        batch = 500
        smartlook_body = {
            "events": [
                {"vid": f"v{i}", "name": "backend_login", "props": {"source": "bench", "n": i}}
                for i in range(batch)
            ]
        }
        fullstory_event = {
            "method": "POST",
            "url": "/v2/events",
            "json": {
                "name": "Order Shipped",
                "user": {"uid": "bench-user"},
                "properties": {"order_id": "o-1", "total": 12.5},
            },
            "headers": {"Authorization": "Basic bench"},
        }
        results = {
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
            },
            "seconds_per_scenario": args.seconds,
            "fullstory_single_event_creates": measure(
                proc.pid, url, args.seconds, 16, fullstory_event, 1
            ),
            "smartlook_events_in_batches_of_500": measure(
                proc.pid,
                events_url,
                args.seconds,
                4,
                {"method": "POST", "url": f"/events/backend?{query}", "json": smartlook_body},
                batch,
            ),
        }
    finally:
        proc.terminate()
        proc.wait(10)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
