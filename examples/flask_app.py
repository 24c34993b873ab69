"""A Flask app that tracks server-side events for the user of each request.

The SessionAnalytics extension makes one FullStory client from the app's config (or the
environment) and makes each request's user current, read here from the X-User-Id header (with
Flask-Login, return ``current_user.get_id()``); views call ``client().events.track()`` with no
``user=``. Queued events are sent in the background, and the SDK's exit drain delivers what is
left when the process exits (a normal exit or a SIGTERM).

    FULLSTORY_API_KEY=... flask --app examples.flask_app:create_app run
    # or against a sandbox: FULLSTORY_BASE_URL=http://127.0.0.1:8765 FULLSTORY_API_KEY=any ...
    curl -X POST localhost:5000/orders/o-1/ship -H 'X-User-Id: user-42'
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from session_analytics.integrations.flask import SessionAnalytics, client


def user_from_header() -> str | None:
    """The request's user: the X-User-Id header, or nobody."""
    return request.headers.get("X-User-Id") or None


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The app; ``config`` may set FULLSTORY_API_KEY and FULLSTORY_BASE_URL."""
    app = Flask(__name__)
    app.config.update(config or {})
    SessionAnalytics(app, user=user_from_header)

    @app.post("/orders/<order_id>/ship")
    def ship_order(order_id: str) -> dict[str, str]:
        client().events.track("Order Shipped", properties={"order_id": order_id})
        return {"shipped": order_id}

    @app.post("/orders/<order_id>/refund")
    async def refund_order(order_id: str) -> dict[str, str]:  # async views need flask[async]
        client().events.track("Order Refunded", properties={"order_id": order_id})
        return {"refunded": order_id}

    return app
