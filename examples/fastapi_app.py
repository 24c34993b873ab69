"""A FastAPI app that records server-side events without slowing its requests down.

One AsyncFullStory for the app's lifetime (created on startup, drained on shutdown); handlers
call ``track()``, a plain function that queues the event in about two microseconds and returns,
while a task of the event loop sends it.

    FULLSTORY_API_KEY=... uvicorn examples.fastapi_app:app
    # or against a sandbox: FULLSTORY_BASE_URL=http://127.0.0.1:8765 FULLSTORY_API_KEY=any ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from pydantic import BaseModel

from session_analytics.fullstory import AsyncFullStory


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # FULLSTORY_API_KEY and FULLSTORY_BASE_URL come from the environment.
    app.state.fullstory = AsyncFullStory(integration_source="fastapi-example")
    try:
        yield
    finally:
        # Deliver what is still queued (for up to 10 s), then close the connections.
        await app.state.fullstory.aclose(timeout=10)


app = FastAPI(lifespan=lifespan)


class Order(BaseModel):
    order_id: str
    user_id: str
    total: float


@app.post("/orders")
async def create_order(order: Order, request: Request) -> dict[str, str]:
    # ... store the order ...
    request.app.state.fullstory.events.track(
        "Order Placed",
        user={"uid": order.user_id},
        properties={"order_id": order.order_id, "total": order.total},
    )
    return {"status": "accepted", "order_id": order.order_id}


@app.get("/tracking")
async def tracking_stats(request: Request) -> dict[str, int]:
    stats = request.app.state.fullstory.stats()
    return {"enqueued": stats.enqueued, "delivered": stats.delivered, "failed": stats.failed}
