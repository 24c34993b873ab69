"""Memory of ``fs.users.import_()`` is bounded by chunk and page sizes, not by the item count.

Imports N users generated on the fly (never held in a list) into a sandbox running in its own
process, and records this process's peak RSS, for N = 100,000 and N = 1,000,000, each in a fresh
process so that one run cannot inherit the other's high-water mark. Results go to
benchmarks/results/import_memory.json.

    python benchmarks/import_memory.py [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from _sandbox_process import start_sandbox

RESULTS = Path(__file__).resolve().parent / "results" / "import_memory.json"


def one_run(size: int) -> dict[str, float]:
    """Runs in a child process: import ``size`` users, report time and peak memory."""
    import httpx

    from session_analytics import fullstory

    proc, url = start_sandbox("--job-delay", "0")
    try:
        httpx.post(f"{url}/_sandbox/config", json={"job_items_per_s": 1_000_000})
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        with fullstory.init(api_key="bench", base_url=url) as fs:
            result = fs.users.import_(
                (
                    {"uid": f"user-{i}", "display_name": f"User {i}", "properties": {"n": i}}
                    for i in range(size)
                ),
                options=fullstory.BatchJobOptions(poll_interval=0.5),
            )
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        proc.terminate()
        proc.wait(30)
    assert result.imported == size, result
    return {
        "items": size,
        "seconds": round(elapsed, 1),
        "items_per_s": round(size / elapsed),
        "jobs": len(result.job_ids),
        "peak_rss_mib": round(peak / 1024, 1),
        "rss_growth_during_import_mib": round((peak - rss_before) / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(args.child)))
        return 0
    runs = []
    for size in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(size)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(runs[-1]), flush=True)
    results = {
        "python": platform.python_version(),
        "what": "fs.users.import_() of generated users into a sandbox in another process",
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
