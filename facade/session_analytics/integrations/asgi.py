"""ASGI middleware (Starlette, FastAPI, any ASGI app): owns a FullStory client for the app's
lifespan (made at startup, drained at shutdown) and sets the current user of each request, so that
``track(name)`` in a view needs no ``user=``. Plain ASGI: it imports no framework.

    from session_analytics.integrations.asgi import SessionAnalyticsMiddleware, client

    app.add_middleware(SessionAnalyticsMiddleware, user=lambda scope: scope["user"].identity)

    async def checkout(request):
        client(request).events.track("Order Shipped", properties={"total": 42})
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeAlias

from ..fullstory import AsyncFullStory, FullStory
from ..fullstory._identity import restore, set_for_request

__all__ = ["SCOPE_KEY", "SessionAnalyticsMiddleware", "client"]

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
Client: TypeAlias = "FullStory | AsyncFullStory"
UserOf: TypeAlias = Callable[[Scope], Any]

# Where each request's scope (and, on servers that keep one, the lifespan state) holds the client.
SCOPE_KEY = "session_analytics.fullstory"
DEFAULT_CLOSE_TIMEOUT_S = 10.0

logger = logging.getLogger("session_analytics.integrations")


def client(request: Any) -> FullStory | AsyncFullStory:
    """The FullStory client of the middleware around the app that got ``request`` (a Starlette or
    FastAPI ``Request``, a ``WebSocket``, or an ASGI scope)."""
    scope = getattr(request, "scope", request)
    try:
        found: FullStory | AsyncFullStory = scope[SCOPE_KEY]
    except KeyError:
        raise RuntimeError(
            "no FullStory client on this request: wrap the app in SessionAnalyticsMiddleware"
        ) from None
    return found


class SessionAnalyticsMiddleware:
    """Give each HTTP and WebSocket request its user and the app's FullStory client.

    Args:
        app: the ASGI app to wrap.
        fullstory: a ``FullStory`` or ``AsyncFullStory`` client, or a callable that makes one
            (called at lifespan startup, on the server's event loop). Default: ``FullStory()``,
            configured from FULLSTORY_API_KEY and FULLSTORY_BASE_URL. The sync client suits apps
            with sync endpoints too (they run on a thread pool, where an ``AsyncFullStory`` must
            not be used).
        user: ``user(scope)`` returns the request's user: a uid string (or int), a
            ``{"uid": ...}``/``{"id": ...}`` dict, or None for nobody; it may be ``async``.
            Without it no user is set, but ``fullstory.identify()`` in a view still lasts only
            for its request.
        close_timeout: seconds the shutdown waits for tracked events to be delivered.

    The client is drained (``close()``/``aclose()``) when the app has run its own shutdown, just
    before the server is told it is complete. A server run without lifespan leaves it to the
    SDK's exit drain.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        fullstory: Client | Callable[[], Client] | None = None,
        user: UserOf | None = None,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT_S,
    ) -> None:
        self.app = app
        self.user = user
        self.close_timeout = close_timeout
        self.fullstory: FullStory | AsyncFullStory | None = None
        self._make: Callable[[], Client] = FullStory
        if isinstance(fullstory, (FullStory, AsyncFullStory)):
            self.fullstory = fullstory
        elif fullstory is not None:
            self._make = fullstory
        self._making = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        scope[SCOPE_KEY] = self._client()
        user = None
        if self.user is not None:
            user = self.user(scope)
            if inspect.isawaitable(user):
                user = await user
        token = set_for_request(user)
        try:
            await self.app(scope, receive, send)
        finally:
            restore(token)

    def _client(self) -> FullStory | AsyncFullStory:
        """The client; made now if no lifespan startup made it (a server run without one)."""
        made = self.fullstory
        if made is None:
            with self._making:
                made = self.fullstory
                if made is None:
                    made = self.fullstory = self._make()
        return made

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def receive_and_start() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                started = self._client()
                state = scope.get("state")
                if isinstance(state, MutableMapping):
                    state[SCOPE_KEY] = started
            return message

        async def drain_then_send(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.drain()
            await send(message)

        await self.app(scope, receive_and_start, drain_then_send)

    async def drain(self) -> None:
        """Deliver what the client queued (up to ``close_timeout`` s) and close it; the next
        request, if any, makes a new one. Called at lifespan shutdown."""
        closing, self.fullstory = self.fullstory, None
        if closing is None:
            return
        if isinstance(closing, AsyncFullStory):
            result = await closing.aclose(self.close_timeout)
        else:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(None, closing.close, self.close_timeout)
        if result.pending:
            logger.warning(
                "session-analytics: %d tracked events were not delivered by the shutdown's "
                "deadline (%g s)",
                result.pending,
                self.close_timeout,
            )
