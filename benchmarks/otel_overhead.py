"""What OpenTelemetry costs ``fs.events.track()`` on the caller's thread: off, on, and on with
trace ids added to the events; and, with ``--baseline DIR`` (a tree of ``facade/`` before the
telemetry hooks, e.g. from ``git archive``), the same call without any hook at all.

Each case runs in a fresh interpreter: a FullStory client whose batcher sends nothing during the
measurement (no count trigger, an hour's interval; the events are handed to ``on_error`` at the
end), ``--events`` calls of ``track()`` timed together, ``--runs`` times in each of ``--rounds``
rounds where the modes take turns; the figure kept is the best run, in ns per call, plus the
median. When off, the hook is only read, never entered: the difference between "baseline" and
"off" is the cost of that read, within the run-to-run noise of a shared machine.
Results go to benchmarks/results/otel_overhead.json.

    python benchmarks/otel_overhead.py [--events 50000] [--runs 7] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "otel_overhead.json"

CHILD = """
import json, sys, time
from session_analytics.fullstory import BatchingOptions, FullStory

mode, events, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
span = None
if mode != "baseline":
    from session_analytics import telemetry
if mode in ("on", "trace_ids"):
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider

    tracers = TracerProvider()
    telemetry.enable_opentelemetry(
        meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]),
        tracer_provider=tracers,
        event_trace_ids=(mode == "trace_ids"),
    )
    if mode == "trace_ids":
        span = tracers.get_tracer("bench").start_as_current_span("request")
        span.__enter__()

options = BatchingOptions(
    flush_at=10**9,
    flush_interval=3600,
    max_queue_events=10**7,
    max_queue_bytes=2**34,
    on_error=lambda *args: None,
)
timings = []
for _ in range(runs):
    fs = FullStory(api_key="bench-key", base_url="http://127.0.0.1:9", batching=options)
    track = fs.events.track
    user = {"uid": "bench-user"}
    fs.events.track("Warm", user=user)
    started = time.perf_counter_ns()
    for n in range(events):
        track("Bench", user=user, properties={"n": n, "plan": "pro"})
    timings.append((time.perf_counter_ns() - started) / events)
    fs.close(timeout=0.2)
print(json.dumps(timings))
"""

MODES = ("baseline", "off", "on", "trace_ids")


def run_case(mode: str, events: int, runs: int, baseline: str | None) -> list[float] | None:
    env = dict(os.environ)
    if mode == "baseline":
        if baseline is None:
            return None
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(baseline) / "facade"), *filter(None, [env.get("PYTHONPATH")])]
        )
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), mode, str(events), str(runs)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    timings: list[float] = json.loads(out.stdout.strip().splitlines()[-1])
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3, help="the modes take turns this often")
    parser.add_argument("--baseline", help="a tree with facade/ from before the hooks")
    args = parser.parse_args()
    # The modes take turns, so that a burst of load elsewhere on the machine hits them all.
    measured: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(args.rounds):
        for mode in MODES:
            measured[mode].extend(run_case(mode, args.events, args.runs, args.baseline) or [])
    cases: dict[str, Any] = {}
    for mode, timings in measured.items():
        if not timings:
            cases[mode] = {"skipped": "no --baseline given"}
            continue
        cases[mode] = {
            "best_ns_per_track": round(min(timings), 1),
            "median_ns_per_track": round(statistics.median(timings), 1),
        }
        print(
            f"{mode:>10}: best {min(timings):8.1f} ns, median {statistics.median(timings):8.1f} ns"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "machine": platform.machine(),
                "events_per_run": args.events,
                "runs": args.runs * args.rounds,
                "cases": cases,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
