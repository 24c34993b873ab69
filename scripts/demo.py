"""`make demo`: start a sandbox on a free port, run examples/quickstart.py against it, stop it.

Exits with the quickstart's exit code (0: everything arrived, nothing lost).
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30


def main() -> int:
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "session_analytics.sandbox", "--port", "0", "--job-delay", "1.5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    # Read the sandbox's output on a thread: a deadline on the ready line must not hang on a
    # blocking read, and the pipe must keep draining afterwards.
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(sandbox, lines), daemon=True)
    reader.start()
    try:
        url = _ready_url(sandbox, lines)
        if url is None:
            print("the sandbox did not start; see the messages above", file=sys.stderr)
            return 1
        print(f"sandbox running at {url}", flush=True)
        env = dict(os.environ, SESSION_ANALYTICS_SANDBOX_URL=url)
        return subprocess.call([sys.executable, str(ROOT / "examples" / "quickstart.py")], env=env)
    finally:
        sandbox.terminate()
        try:
            sandbox.wait(10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
            sandbox.wait(10)
        reader.join(5)
        print("sandbox stopped", flush=True)


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert process.stdout is not None
    with process.stdout:
        for line in process.stdout:
            lines.put(line)


def _ready_url(process: subprocess.Popen[str], lines: queue.Queue[str]) -> str | None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        found = re.search(r"ready at (\S+)", line)
        if found:
            return found.group(1)
    return None


if __name__ == "__main__":
    raise SystemExit(main())
