"""The sandbox as an ASGI application: the API routes behind the pipeline, the admin routes,
the session replay pages (``sessions.py``) and the API's answers for unknown routes and methods.

The app stays neutral about the server that runs it; a server that can report connections as they
open and close does so through ``SandboxState.connections`` (see ``connections.py``). A dropped
connection (the ``reset_rate`` fault) needs the server's help: see ``connection_drop.py``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from .admin import AdminRoutes
from .config import SandboxConfig
from .connection_drop import drop_marked_responses
from .connections import peer_of
from .faults import Faults
from .pipeline import ApiPipeline
from .routes import ENDPOINTS
from .sessions import page_route
from .state import SandboxState


class SandboxApp:
    """Builds the Starlette app over a :class:`SandboxState`."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        pipeline = ApiPipeline(state)
        routes = [
            Route(e.path, pipeline.handler_for(e), methods=[e.method], name=e.name)
            for e in ENDPOINTS
        ]
        routes += AdminRoutes(state).routes()
        routes.append(page_route(lambda: state.fullstory))
        self.starlette = Starlette(
            routes=routes,
            exception_handlers={404: self._not_found, 405: self._not_allowed},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.starlette(scope, receive, send)
            return
        self.state.connections.request_from(peer_of(scope.get("client")))
        await self.starlette(scope, receive, drop_marked_responses(scope, send))

    # ---- errors for unknown routes -------------------------------------------------------------

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return JSONResponse(
            {"code": "resource_not_found", "message": "Requested resource does not exist"}, 404
        )

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        # Several routes share a path (one per method); name every method served there.
        allowed = sorted(
            {
                method
                for route in self.starlette.routes
                if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE
                for method in route.methods or ()
            }
        )
        return JSONResponse(
            {"code": "method_not_allowed", "message": f"{request.method} is not allowed here"},
            405,
            headers={"Allow": ", ".join(allowed)},
        )


def build_app(config: SandboxConfig | None = None, faults: Faults | None = None) -> SandboxApp:
    """The sandbox as an ASGI app, for any ASGI server or ``httpx.ASGITransport``; ``faults``
    apply from the start and come back at every reset."""
    return SandboxApp(SandboxState(config or SandboxConfig(), faults=faults))
