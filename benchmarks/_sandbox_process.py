"""A sandbox in its own process, for the benchmarks: its CPU and memory are not the client's."""

from __future__ import annotations

import re
import subprocess
import sys
import time

START_TIMEOUT_S = 30


def start_sandbox(*options: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m session_analytics.sandbox --port 0 OPTIONS``; (process, url)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "session_analytics.sandbox", "--port", "0", *options],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        found = re.search(r"ready at (\S+)", proc.stdout.readline())
        if found:
            return proc, found.group(1)
    proc.kill()
    raise SystemExit("the sandbox did not start")
