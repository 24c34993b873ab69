"""The ASGI integration app with its client made at import, for the pre-fork tests: under
gunicorn ``--preload`` the client is made in the master, before the uvicorn workers are forked,
and each worker uses its inherited copy. It sends nothing before a drain (the lifespan's
shutdown). PREFORK_ASYNC_CLIENT=1 makes an ``AsyncFullStory`` instead of a ``FullStory``.
``/whoami`` tells which process answered and which one made the client.
"""

from __future__ import annotations

import os

from asgi_app import ROUTES, user_from_header
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from session_analytics import fullstory
from session_analytics.integrations.asgi import SessionAnalyticsMiddleware

MADE_IN = os.getpid()  # the process that imported the app and made its client

HELD = fullstory.BatchingOptions(flush_interval=3600)
made: fullstory.FullStory | fullstory.AsyncFullStory = (
    fullstory.AsyncFullStory(batching=HELD)
    if os.environ.get("PREFORK_ASYNC_CLIENT") == "1"
    else fullstory.FullStory(batching=HELD)
)


async def whoami(request: Request) -> JSONResponse:
    return JSONResponse({"worker": os.getpid(), "client_made_in": MADE_IN})


app = Starlette(
    routes=[*ROUTES, Route("/whoami", whoami)],
    middleware=[Middleware(SessionAnalyticsMiddleware, fullstory=made, user=user_from_header)],
)
