"""Start-up cost: how long ``import X`` takes, for the SDK's packages and for peer SDKs.

Each run is a fresh interpreter started with ``-X importtime``; the figure kept for a module is
the best (lowest) of N runs of the cumulative import time on X's line of the report, in ms (for
``import a.b`` that line includes the parent package ``a``). Peer SDKs that are not installed are
skipped, and the results say so.

httpx 0.28 imports its command line (click, rich, pygments) on ``import httpx`` whenever the
three are installed (``pip install session-analytics[all]`` does that: rich from ``[cli]``, click
from uvicorn in ``[sandbox]``). ``without_httpx_cli_ms`` is the same import with that part
hidden (``sys.modules["httpx._main"] = None``, what httpx meets when they are not installed):
the figure of an install without the extras.

Compiled bytecode is kept in a private cache directory (``PYTHONPYCACHEPREFIX``), filled by one
warm-up run, so the numbers are those of an installed wheel (whose .pyc files pip writes) even
where ``PYTHONDONTWRITEBYTECODE`` is set, and nothing is written next to the sources.
Results go to benchmarks/results/import_time.json.

    python benchmarks/import_time.py [--runs 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "import_time.json"

MODULES = [
    "httpx",
    "session_analytics",
    "session_analytics.fullstory",
    "session_analytics.smartlook",
    # Peers, for comparison (`pip install -e '.[bench]'`).
    "segment.analytics",
    "posthog",
]
# What makes each one usable: the package of session_analytics.fullstory loads its client on
# first use, so ``import`` alone does not say what a program pays before its first call.
FIRST_USE = {
    "session_analytics.fullstory": "from session_analytics.fullstory import FullStory",
    "session_analytics.smartlook": "from session_analytics.smartlook import Smartlook",
    "segment.analytics": "from segment.analytics import Client",
    "posthog": "from posthog import Posthog",
}
# Modules worth knowing about when they come along with an import.
WATCH = ["httpx", "fullstory_api.models", "smartlook_api.models", "rich", "click", "pygments"]

ROW = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def parse(report: str) -> list[tuple[int, int, str]]:
    """(depth, cumulative us, module) for each line of an ``-X importtime`` report."""
    rows = []
    for line in report.splitlines():
        found = ROW.match(line)
        if found:
            rows.append(((len(found[3]) - 1) // 2, int(found[2]), found[4]))
    return rows


HIDE_HTTPX_CLI = "import sys; sys.modules['httpx._main'] = None; "


def one_run(module: str, env: dict[str, str], prelude: str = "") -> tuple[float, set[str]]:
    """(ms, names imported) for one fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"{prelude}import {module}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = parse(done.stderr)
    # The interpreter's own start-up ends with `site`; what follows is the import's.
    start = max(i for i, (depth, _, name) in enumerate(rows) if depth == 0 and name == "site")
    mine = rows[start + 1 :]
    module_us = next(us for depth, us, name in mine if depth == 0 and name == module)
    return module_us / 1000, {name for _, _, name in mine}


def timed(statement: str, env: dict[str, str]) -> float:
    """Wall milliseconds of ``statement`` in a fresh interpreter (after its start-up)."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout) * 1000


def measure(module: str, runs: int, env: dict[str, str]) -> dict[str, Any] | str:
    """The best of ``runs``, or why the module was skipped."""
    warm_up = subprocess.run(
        [sys.executable, "-c", f"import {module}"], env=env, capture_output=True, text=True
    )
    if warm_up.returncode != 0:
        last = (warm_up.stderr.strip().splitlines() or ["failed"])[-1]
        return f"not measured: {last}"
    module_ms: list[float] = []
    seen: set[str] = set()
    for _ in range(runs):
        ms, seen = one_run(module, env)
        module_ms.append(ms)
    hidden = [one_run(module, env, HIDE_HTTPX_CLI)[0] for _ in range(runs)]
    first_use = {}
    if module in FIRST_USE:
        statement = FIRST_USE[module]
        first_use = {
            "first_use": statement,
            "first_use_ms": round(min(timed(statement, env) for _ in range(runs)), 1),
        }
    return {
        **first_use,
        "module_ms": round(min(module_ms), 1),
        "without_httpx_cli_ms": round(min(hidden), 1),
        "median_module_ms": round(statistics.median(module_ms), 1),
        "also_imports": [name for name in WATCH if name in seen],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per module")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-time-pycache-") as cache:
        env = dict(os.environ, PYTHONPYCACHEPREFIX=cache)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        measured: dict[str, dict[str, Any]] = {}
        skipped: dict[str, str] = {}
        for module in MODULES:
            result = measure(module, args.runs, env)
            if isinstance(result, str):
                skipped[module] = result
                print(f"{module:30} skipped ({result})", flush=True)
                continue
            measured[module] = result
            print(
                f"{module:30} {result['module_ms']:7.1f} ms  (median {result['median_module_ms']}"
                f" ms, without httpx's CLI "
                f"{result['without_httpx_cli_ms']} ms)  also: "
                f"{', '.join(result['also_imports']) or '-'}"
                + (f"; first use {result['first_use_ms']} ms" if "first_use_ms" in result else ""),
                flush=True,
            )
    results = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date": dt.date.today().isoformat(),
        "what": f"-X importtime, fresh interpreter per run, best of {args.runs}, in ms",
        "runs": args.runs,
        "modules": measured,
        "skipped": skipped,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
