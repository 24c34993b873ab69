"""A Lambda-style handler for ``tests/test_serverless.py``: a module-level FullStory client, made
on first use, and ``handler(event, context)`` tracking ``event["count"]`` events.

Settings from the environment: FULLSTORY_API_KEY and FULLSTORY_BASE_URL (the sandbox);
LAMBDA_FLUSH=0: the handler is NOT decorated (the test proves it then loses events at return);
LAMBDA_SPOOL: a spool directory. The client batches (100 events or 60 s), as a client does to
spare requests: nothing leaves on its own within an invocation.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

from session_analytics import fullstory
from session_analytics.serverless import FlushReport, flush_on_return

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

_client: fullstory.FullStory | None = None


def client() -> fullstory.FullStory:
    """The module's client, made by the first invocation (a cold start)."""
    global _client
    if _client is None:
        _client = fullstory.init(
            batching=fullstory.BatchingOptions(
                flush_at=100,
                flush_interval=60.0,
                retry_initial_delay=0.01,
                retry_max_delay=0.05,
                spool_path=os.environ.get("LAMBDA_SPOOL") or None,
            )
        )
    return _client


def report_left(report: FlushReport) -> None:
    """``on_left``: what the flush left, one JSON line on stderr."""
    left = [{"client": c.client, "pending": c.pending, "where": c.where} for c in report.clients]
    print("left " + json.dumps(left), file=sys.stderr, flush=True)


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    fs = client()
    for number in range(event["count"]):
        fs.events.track(
            "Invoked",
            user={"uid": "lambda-user"},
            properties={"invocation": event["invocation"], "n": number},
        )
    if event.get("fail"):
        raise RuntimeError("the handler failed")
    return {"tracked": event["count"]}


flusher = flush_on_return(client, on_left=report_left)
handler = handle if os.environ.get("LAMBDA_FLUSH") == "0" else flusher(handle)
