"""A Starlette app that tracks one FullStory and one Smartlook event per request, for
``tests/test_shutdown.py``: run by uvicorn or gunicorn in a process of its own, then stopped.

Settings from the environment: FULLSTORY_API_KEY, FULLSTORY_BASE_URL, SMARTLOOK_KEY and
SMARTLOOK_HOST (the sandbox); SHUTDOWN_APP_FAILED: a file where ``on_error`` writes what it is
handed, one JSON line per event; SHUTDOWN_APP_LIFESPAN=1: close the clients in the lifespan (the
pattern the README shows), else leave them to the exit hook; SHUTDOWN_APP_SYNC=1: the endpoints
are sync (Starlette runs them in its thread pool: events are queued from threads only). The
clients are made at import, as most apps do (with gunicorn ``--preload``, in the master, before
the workers are forked).
Smartlook events wait for a 60 s timer: when the server stops, they are all still queued.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from session_analytics import fullstory, smartlook

FAILED_PATH = os.environ.get("SHUTDOWN_APP_FAILED")
SHUTDOWN_TIMEOUT_S = float(os.environ.get("SHUTDOWN_APP_TIMEOUT", "10"))
_failed_lock = threading.Lock()


def on_error(api: str) -> Any:
    def report(events: list[dict[str, Any]], error: BaseException) -> None:
        lines = []
        for event in events:
            number = (event.get("properties") or event.get("props") or {}).get("i")
            lines.append(json.dumps({"api": api, "i": number, "error": repr(error)}) + "\n")
        if FAILED_PATH:
            with _failed_lock, open(FAILED_PATH, "a") as out:
                out.writelines(lines)

    return report


fs = fullstory.init(
    batching=fullstory.BatchingOptions(
        flush_at=1,
        max_batch_events=1,
        flush_interval=0.5,
        on_error=on_error("fullstory"),
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
)
smartlook.init(
    batching=smartlook.BatchingOptions(
        flush_interval=60.0,
        on_error=on_error("smartlook"),
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
)


def track_sync(request: Request) -> PlainTextResponse:
    number = int(request.path_params["number"])
    tracked = fs.events.track(
        "request", user={"uid": f"user-{number % 50}"}, properties={"i": number}
    )
    queued = smartlook.event(vid=f"visitor-{number % 50}", name="request", props={"i": number})
    return PlainTextResponse(
        "ok" if tracked and queued else "refused", 200 if tracked and queued else 503
    )


async def track(request: Request) -> PlainTextResponse:
    return track_sync(request)


def health_sync(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(os.getpid()))


async def health(request: Request) -> PlainTextResponse:
    return health_sync(request)


SYNC = os.environ.get("SHUTDOWN_APP_SYNC") == "1"


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    if os.environ.get("SHUTDOWN_APP_LIFESPAN") == "1":
        fs.close(timeout=SHUTDOWN_TIMEOUT_S)
        smartlook.stop(timeout=SHUTDOWN_TIMEOUT_S)


app = Starlette(
    routes=[
        Route("/track/{number}", track_sync if SYNC else track),
        Route("/health", health_sync if SYNC else health),
    ],
    lifespan=lifespan,
)
