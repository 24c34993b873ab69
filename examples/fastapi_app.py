"""A FastAPI app that records server-side events without slowing its requests down.

SessionAnalyticsMiddleware owns one AsyncFullStory for the app's lifetime (made at lifespan
startup, drained at lifespan shutdown) and makes each request's user current, read here from the
X-User-Id header (behind an auth layer, read the authenticated user instead). Handlers get the
client with ``client(request)`` and call ``track()`` with no ``user=``: it queues the event in
about two microseconds and returns, while a task of the event loop sends it.

    FULLSTORY_API_KEY=... uvicorn examples.fastapi_app:app
    # or against a sandbox: FULLSTORY_BASE_URL=http://127.0.0.1:8765 FULLSTORY_API_KEY=any ...
    curl -X POST localhost:8000/orders -H 'X-User-Id: user-42' -H 'Content-Type: application/json' \
        -d '{"order_id": "o-1", "total": 12.5}'
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel

from session_analytics.fullstory import AsyncFullStory
from session_analytics.integrations.asgi import SessionAnalyticsMiddleware, client


def user_from_header(scope: MutableMapping[str, Any]) -> str | None:
    """The request's user: the X-User-Id header, or nobody."""
    for name, value in scope["headers"]:
        if name == b"x-user-id":
            return str(value.decode()) or None
    return None


def make_fullstory() -> AsyncFullStory:
    # FULLSTORY_API_KEY and FULLSTORY_BASE_URL come from the environment. The async client suits
    # an app whose endpoints are all async; with sync endpoints, use FullStory (the default).
    return AsyncFullStory(integration_source="fastapi-example")


app = FastAPI()
# At shutdown the middleware delivers what is still queued (for up to 10 s), then closes.
app.add_middleware(SessionAnalyticsMiddleware, fullstory=make_fullstory, user=user_from_header)


class Order(BaseModel):
    order_id: str
    total: float


@app.post("/orders")
async def create_order(order: Order, request: Request) -> dict[str, str]:
    # ... store the order ...
    client(request).events.track(
        "Order Placed", properties={"order_id": order.order_id, "total": order.total}
    )
    return {"status": "accepted", "order_id": order.order_id}


@app.get("/tracking")
async def tracking_stats(request: Request) -> dict[str, int]:
    stats = client(request).stats()
    return {"enqueued": stats.enqueued, "delivered": stats.delivered, "failed": stats.failed}
