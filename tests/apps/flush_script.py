"""A short script for ``tests/test_serverless.py``: tracks SCRIPT_EVENTS events inside
``with flush_on_return(fs):`` (SCRIPT_FLUSH=0: without it), writes "after", then stops itself
(SIGSTOP) so that the test counts what arrived before anything else (the exit hook) could run.
"""

from __future__ import annotations

import contextlib
import os
import signal

from session_analytics import fullstory
from session_analytics.serverless import flush_on_return

fs = fullstory.init(batching=fullstory.BatchingOptions(flush_at=100, flush_interval=60.0))
block = flush_on_return(fs) if os.environ.get("SCRIPT_FLUSH") != "0" else contextlib.nullcontext()
with block:
    for number in range(int(os.environ.get("SCRIPT_EVENTS", "5"))):
        fs.events.track("Scripted", user={"uid": "script-user"}, properties={"n": number})
print("after", flush=True)
os.kill(os.getpid(), signal.SIGSTOP)
