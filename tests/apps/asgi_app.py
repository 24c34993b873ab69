"""A Starlette app wrapped in SessionAnalyticsMiddleware, for the ASGI integration tests: the user
comes from the X-User header; async and sync endpoints track an event with no ``user=``.

Run by uvicorn (``uvicorn asgi_app:app``), its client configured from the environment; the tests
also build it with ``make_app(fullstory=...)`` for Starlette's TestClient. With HOLD_EVENTS=1 in
the environment its client sends nothing before the lifespan's shutdown drains it.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from session_analytics import fullstory
from session_analytics.integrations.asgi import SessionAnalyticsMiddleware, client


def user_from_header(scope: Any) -> str | None:
    for key, value in scope["headers"]:
        if key == b"x-user":
            return str(value.decode())
    return None


async def track_async(request: Request) -> JSONResponse:
    name = request.path_params["name"]
    client(request).events.track(name, properties={"kind": "async"})
    return JSONResponse({"user": fullstory.current_user()})


def track_sync(request: Request) -> JSONResponse:  # run on Starlette's thread pool
    name = request.path_params["name"]
    client(request).events.track(name, properties={"kind": "sync"})
    return JSONResponse({"user": fullstory.current_user()})


async def identify_then_track(request: Request) -> JSONResponse:
    fullstory.identify(uid=request.path_params["uid"])
    client(request).events.track(request.path_params["name"])
    return JSONResponse({"user": fullstory.current_user()})


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


ROUTES = [
    Route("/async/{name}", track_async),
    Route("/sync/{name}", track_sync),
    Route("/identify/{uid}/{name}", identify_then_track),
    Route("/health", health),
]


def make_app(*, user: Any = user_from_header, **options: Any) -> Starlette:
    return Starlette(
        routes=ROUTES, middleware=[Middleware(SessionAnalyticsMiddleware, user=user, **options)]
    )


def held_client() -> fullstory.FullStory:
    """A client that sends nothing before it is drained (configured from the environment)."""
    return fullstory.FullStory(batching=fullstory.BatchingOptions(flush_interval=3600))


app = make_app(fullstory=held_client) if os.environ.get("HOLD_EVENTS") == "1" else make_app()
