"""Flask extension: one FullStory client per app, made from the app's config, and each request's
user set before its view runs, so that ``track(name)`` in a view needs no ``user=``. Flask has no
shutdown hook: the SDK's exit drain (atexit and SIGTERM) delivers what is queued.

    from session_analytics.integrations.flask import SessionAnalytics, client

    analytics = SessionAnalytics(app, user=lambda: session.get("user_id"))

    @app.post("/orders/<order_id>/ship")
    def ship(order_id):
        client().events.track("Order Shipped", properties={"order_id": order_id})
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextvars import Token
from typing import Any

from flask import Flask, current_app, g

from ..fullstory import FullStory
from ..fullstory._identity import restore, set_for_request

__all__ = ["EXTENSION_KEY", "SessionAnalytics", "client"]

EXTENSION_KEY = "session_analytics"
_RESTORE = "_session_analytics_user_restore"  # on flask.g: what ends the request's user


def client() -> FullStory:
    """The FullStory client of the current app (inside a request or an app context)."""
    try:
        extension: SessionAnalytics = current_app.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError(
            "no FullStory client on this app: call SessionAnalytics(app) or init_app(app)"
        ) from None
    return extension.clients[current_app.name]


class SessionAnalytics:
    """Give each request its user, and the app a FullStory client.

    Args:
        app: the Flask app; or call :meth:`init_app` later (the app factory pattern).
        fullstory: a ``FullStory`` client to use; by default ``init_app`` makes one from the
            app's config: FULLSTORY_API_KEY and FULLSTORY_BASE_URL (each falls back to the
            environment variable of the same name).
        user: ``user()`` returns the request's user (it may read ``flask.request``,
            ``flask.session`` or Flask-Login's ``current_user``): a uid string (or int), a
            ``{"uid": ...}``/``{"id": ...}`` dict, or None for nobody.

    The client lives as long as the process: ``teardown_appcontext`` does not close it (an app
    context ends after every request). What is queued at exit (a normal exit, or SIGTERM from
    gunicorn or a container stop) is delivered by the SDK's exit drain; call ``close()`` on
    the client yourself to drain earlier.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        fullstory: FullStory | None = None,
        user: Callable[[], Any] | None = None,
    ) -> None:
        self.fullstory = fullstory
        self.user = user
        self.clients: dict[str, FullStory] = {}
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        made = self.fullstory
        if made is None:
            made = FullStory(
                api_key=app.config.get("FULLSTORY_API_KEY"),
                base_url=app.config.get("FULLSTORY_BASE_URL"),
            )
        self.clients[app.name] = made
        app.extensions[EXTENSION_KEY] = self
        app.before_request(self._identify)
        app.teardown_request(self._forget)

    def _identify(self) -> None:
        user = None
        if self.user is not None:
            user = self.user()
            if inspect.isawaitable(user):
                raise TypeError("SessionAnalytics(user=...) must be a plain function in Flask")
        setattr(g, _RESTORE, set_for_request(user))

    def _forget(self, error: BaseException | None = None) -> None:
        token: Token[Any] | None = g.pop(_RESTORE, None)
        if token is not None:
            restore(token)
