"""Django middleware: one FullStory client per process, made from ``settings.SESSION_ANALYTICS``
when the middleware is loaded, and each request's user set before its view runs, so that
``track(name)`` in a view needs no ``user=``. Sync and async (WSGI and ASGI) alike. Django has no
shutdown hook: the SDK's exit drain (atexit and SIGTERM) delivers what is queued.

    # settings.py
    MIDDLEWARE = [..., "django.contrib.auth.middleware.AuthenticationMiddleware",
                  "session_analytics.integrations.django.SessionAnalyticsMiddleware"]
    SESSION_ANALYTICS = {"FULLSTORY_API_KEY": os.environ["FULLSTORY_API_KEY"]}

    # views.py
    from session_analytics.integrations.django import client
    client().events.track("Order Shipped", properties={"order_id": order.pk})
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.utils.module_loading import import_string

from .._batching import FlushResult
from ..fullstory import FullStory
from ..fullstory._identity import restore, set_for_request

__all__ = ["SessionAnalyticsMiddleware", "client", "close", "default_user"]

_making = threading.Lock()
_client: FullStory | None = None


def _settings() -> dict[str, Any]:
    return dict(getattr(settings, "SESSION_ANALYTICS", None) or {})


def client() -> FullStory:
    """The process's FullStory client, made on first use from ``settings.SESSION_ANALYTICS``:
    FULLSTORY_API_KEY and FULLSTORY_BASE_URL (each falls back to the environment variable of the
    same name), and FULLSTORY_OPTIONS (more keyword arguments of ``FullStory``, e.g. ``timeout``
    or ``batching``). A forked worker keeps it: the client starts afresh in the child."""
    global _client
    made = _client
    if made is None:
        with _making:
            made = _client
            if made is None:
                conf = _settings()
                made = _client = FullStory(
                    api_key=conf.get("FULLSTORY_API_KEY"),
                    base_url=conf.get("FULLSTORY_BASE_URL"),
                    **dict(conf.get("FULLSTORY_OPTIONS") or {}),
                )
    return made


def close(timeout: float = 10.0) -> FlushResult:
    """Deliver what the client queued (up to ``timeout`` s) and close it; the next ``client()``
    makes a new one. The exit drain does this at exit; call it to drain earlier (a management
    command that ends, a test that changes the settings)."""
    global _client
    with _making:
        closing, _client = _client, None
    if closing is None:
        return FlushResult(0)
    return closing.close(timeout)


def default_user(request: Any) -> str | None:
    """The uid of a request whose ``request.user`` is authenticated: its primary key."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return str(user.pk)


def _user_reader(conf: dict[str, Any]) -> Callable[[Any], Any]:
    reader = conf.get("USER", default_user)
    if isinstance(reader, str):
        reader = import_string(reader)
    if not callable(reader):
        raise TypeError("SESSION_ANALYTICS['USER'] must be a callable or its dotted path")
    return reader  # type: ignore[no-any-return]


class SessionAnalyticsMiddleware:
    """Set each request's user: ``SESSION_ANALYTICS["USER"]`` (a callable of the request, or its
    dotted path; it returns a uid string or int, a ``{"uid": ...}``/``{"id": ...}`` dict, or
    None), by default the primary key of an authenticated ``request.user``. Put it after
    AuthenticationMiddleware. In an async stack a plain ``USER`` callable runs in a thread
    (``sync_to_async``), so it may touch the database; an ``async def`` one is awaited."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        self.user_of = _user_reader(_settings())
        client()  # made with the app, on the thread that loads it (the exit drain is set up)

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self.__acall__(request)
        token = set_for_request(self.user_of(request))
        try:
            return self.get_response(request)
        finally:
            restore(token)

    async def __acall__(self, request: Any) -> Any:
        token = set_for_request(await self._user_async(request))
        try:
            return await self.get_response(request)
        finally:
            restore(token)

    async def _user_async(self, request: Any) -> Any:
        if iscoroutinefunction(self.user_of):
            return await self.user_of(request)
        if self.user_of is default_user and hasattr(request, "auser"):
            user = await request.auser()
            return str(user.pk) if user.is_authenticated else None
        return await sync_to_async(self.user_of)(request)
