"""A Flask app with the SessionAnalytics extension, for the Flask integration tests: the user
comes from the X-User header; sync and async views track an event with no ``user=``.

Run by ``flask --app "flask_app:create_app()" run`` (its client configured from the environment);
the tests also build it with ``create_app(config)`` for Flask's test client. With HOLD_EVENTS=1
in the environment its client sends nothing before it is drained.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify, request

from session_analytics import fullstory
from session_analytics.fullstory import BatchingOptions, FullStory
from session_analytics.integrations.flask import SessionAnalytics, client


def user_from_header() -> str | None:
    return request.headers.get("X-User")


def create_app(config: dict[str, Any] | None = None, *, extension: bool = True) -> Flask:
    app = Flask(__name__)
    app.config.update(config or {})
    if extension:
        given = None
        if os.environ.get("HOLD_EVENTS") == "1":  # sent only by the exit drain
            given = FullStory(batching=BatchingOptions(flush_interval=3600))
        SessionAnalytics(app, fullstory=given, user=user_from_header)

    @app.get("/track/<name>")
    def track(name: str) -> Any:
        client().events.track(name, properties={"kind": "sync"})
        return jsonify(user=fullstory.current_user())

    @app.get("/async-track/<name>")
    async def track_async(name: str) -> Any:
        client().events.track(name, properties={"kind": "async"})
        return jsonify(user=fullstory.current_user())

    @app.get("/identify/<uid>/<name>")
    def identify_then_track(uid: str, name: str) -> Any:
        fullstory.identify(uid=uid)
        client().events.track(name)
        return jsonify(user=fullstory.current_user())

    @app.get("/health")
    def health() -> str:
        return "ok"

    return app
