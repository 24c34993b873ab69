"""`make demo`: start a sandbox on a free port, run examples/quickstart.py against it, stop it.

Exits with the quickstart's exit code (0: everything arrived, nothing lost).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
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
    try:
        assert sandbox.stdout is not None
        url = None
        deadline = time.monotonic() + START_TIMEOUT_S
        while url is None and time.monotonic() < deadline and sandbox.poll() is None:
            found = re.search(r"ready at (\S+)", sandbox.stdout.readline())
            url = found.group(1) if found else None
        if url is None:
            print("the sandbox did not start; see the messages above", file=sys.stderr)
            return 1
        print(f"sandbox running at {url}")
        env = dict(os.environ, SESSION_ANALYTICS_SANDBOX_URL=url)
        return subprocess.call([sys.executable, str(ROOT / "examples" / "quickstart.py")], env=env)
    finally:
        sandbox.terminate()
        try:
            sandbox.wait(10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
        print("sandbox stopped")


if __name__ == "__main__":
    raise SystemExit(main())
