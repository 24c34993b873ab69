"""A loopback sink for the batcher benchmark: accepts any POST, counts the events in it.

It answers the Smartlook check (so the Smartlook client can run against it), reads
``{"events": [...]}`` (Smartlook), ``{"batch": [...]}`` (segment, posthog) and single FullStory
events, gzip or not. ``GET /count`` gives the counts; ``POST /pause`` holds every answer until
``POST /resume``, to measure how much memory queued events take; ``POST /reset`` zeroes the
counts. With ``--distinct``, ``/count`` also gives how many distinct events it saw, told apart by
their ``n`` property (``properties.n``, or ``props.n`` for Smartlook): stored minus distinct is
the copies a resend added (benchmarks/wan.py).

    python benchmarks/sink.py PORT [--distinct]     # prints "ready" when it serves
"""

from __future__ import annotations

import asyncio
import gzip
import json
import sys
from typing import Any

import uvicorn

counts = {"events": 0, "requests": 0}
released = asyncio.Event()
seen: set[Any] | None = None  # the n of every event, with --distinct


def remember(events: list[Any]) -> None:
    assert seen is not None
    for event in events:
        if isinstance(event, dict):
            props = event.get("properties") or event.get("props")
            if isinstance(props, dict):
                seen.add(props.get("n"))


async def read(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def answer(send: Any, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def app(scope: Any, receive: Any, send: Any) -> None:
    path = scope["path"]
    body = await read(receive)
    if path == "/count":
        await answer(send, 200, counts if seen is None else {**counts, "distinct": len(seen)})
        return
    if path == "/reset":
        counts.update(events=0, requests=0)
        if seen is not None:
            seen.clear()
        await answer(send, 200, counts)
        return
    if path == "/pause":
        released.clear()
        await answer(send, 200, {"paused": True})
        return
    if path == "/resume":
        released.set()
        await answer(send, 200, {"paused": False})
        return
    if path.startswith("/rec/check/backend"):
        host = dict(scope["headers"]).get(b"host", b"").decode()
        await answer(
            send,
            200,
            {
                "pid": "bench",
                "analytics": {"ok": True, "host": host},
                "options": {"storeGroup": "g"},
            },
        )
        return
    await released.wait()
    if dict(scope["headers"]).get(b"content-encoding") == b"gzip":
        body = gzip.decompress(body)
    payload = json.loads(body)
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        events = payload["events"]
    elif isinstance(payload, dict) and isinstance(payload.get("batch"), list):
        events = payload["batch"]
    else:
        events = [payload]
    found = len(events)
    if seen is not None:
        remember(events)
    counts["events"] += found
    counts["requests"] += 1
    await answer(send, 200, {"ok": True})


if __name__ == "__main__":
    port = int(sys.argv[1])
    if "--distinct" in sys.argv[2:]:
        seen = set()

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            print("ready", flush=True)

    released.set()
    Announcing(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="error", access_log=False, lifespan="off"
        )
    ).run()
