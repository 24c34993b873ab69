"""The ASGI middleware with Starlette's TestClient (which runs the lifespan) and with a real
uvicorn process stopped by SIGTERM: each request's user reaches the events tracked without
``user=``, in async and sync endpoints, and every event arrives once.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import httpx
import pytest
from apps.asgi_app import ROUTES, make_app
from fastapi import FastAPI, Request  # the annotations of the views below name Request
from integrations.real_servers import free_port, server_env, wait_delivered
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning

from session_analytics.fullstory import AsyncFullStory, BatchingOptions, FullStory
from session_analytics.integrations.asgi import SessionAnalyticsMiddleware, client
from session_analytics.sandbox import Sandbox

# Starlette's test client warns that it will move to another HTTP library; it works with httpx.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


@pytest.mark.parametrize("kind", ["sync-client", "async-client", "instance"])
def test_the_request_user_reaches_track_in_sync_and_async_endpoints(
    sandbox: Sandbox, kind: str
) -> None:
    made: list[Any] = []

    def factory() -> FullStory | AsyncFullStory:
        cls = AsyncFullStory if kind == "async-client" else FullStory
        made.append(cls(api_key=sandbox.api_key, base_url=sandbox.url))
        return made[-1]

    fullstory = factory() if kind == "instance" else factory
    with TestClient(make_app(fullstory=fullstory)) as http:
        answers = [
            http.get("/async/Async Order", headers={"X-User": "ann"}).json(),
            http.get("/identify/bob/Identified Order").json(),
            http.get("/async/Anonymous Order").json(),
        ]
        if kind != "async-client":  # an AsyncFullStory is used from its event loop only
            answers.append(http.get("/sync/Sync Order", headers={"X-User": "cy"}).json())
        # Nothing is delivered by the test's deadline but by the lifespan's shutdown drain.
    assert len(made) == 1
    assert answers[:3] == [{"user": {"uid": "ann"}}, {"user": {"uid": "bob"}}, {"user": None}]
    expected = {
        ("Async Order", "ann"): 1,
        ("Identified Order", "bob"): 1,
        ("Anonymous Order", None): 1,
    }
    if kind != "async-client":
        assert answers[3] == {"user": {"uid": "cy"}}
        expected[("Sync Order", "cy")] = 1
    assert wait_delivered(sandbox, len(expected)) == expected
    assert made[0].stats().enqueued == len(expected)


def test_the_client_is_drained_at_lifespan_shutdown(sandbox: Sandbox) -> None:
    # A flush interval far longer than the test: only the shutdown's drain sends the events.
    made: list[FullStory] = []

    def factory() -> FullStory:
        made.append(
            FullStory(
                api_key=sandbox.api_key,
                base_url=sandbox.url,
                batching=BatchingOptions(flush_interval=3600),
            )
        )
        return made[-1]

    with TestClient(make_app(fullstory=factory)) as http:
        for number in range(20):
            http.get(f"/async/Drained {number}", headers={"X-User": f"u{number}"})
        assert sandbox.events("fullstory") == []
    assert made[0]._closed
    expected = {(f"Drained {number}", f"u{number}"): 1 for number in range(20)}
    assert wait_delivered(sandbox, 20) == expected


def test_a_user_callable_may_be_async_and_identities_do_not_leak(sandbox: Sandbox) -> None:
    async def user(scope: Any) -> dict[str, str] | None:
        query = scope["query_string"].decode()
        return {"id": query} if query else None

    app = make_app(
        fullstory=lambda: FullStory(api_key=sandbox.api_key, base_url=sandbox.url), user=user
    )
    with TestClient(app) as http:
        assert http.get("/async/With Id?fs-7").json() == {"user": {"id": "fs-7"}}
        assert http.get("/async/No Id").json() == {"user": None}


def test_without_the_middleware_there_is_no_client() -> None:
    bare = Starlette(routes=ROUTES)  # the same app, SessionAnalyticsMiddleware left out
    with TestClient(bare) as http, pytest.raises(RuntimeError, match="SessionAnalyticsMiddleware"):
        http.get("/async/Lost", headers={"X-User": "ann"})


@pytest.mark.parametrize("hold", [False, True], ids=["environment", "held-until-shutdown"])
def test_a_uvicorn_server_stopped_by_sigterm_delivers_every_event_once(
    sandbox: Sandbox, real_server: Any, hold: bool
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = real_server(
        [sys.executable, "-m", "uvicorn", "asgi_app:app", "--port", str(port), "--no-access-log"],
        server_env(sandbox, HOLD_EVENTS="1" if hold else "0"),
    )
    server.wait_ready(url)
    paths = [
        f"/{'sync' if number % 2 else 'async'}/Order {number}?u=u{number}" for number in range(40)
    ]
    send_requests_with_users(url, paths)
    if hold:
        assert sandbox.events("fullstory") == []  # only the shutdown's drain sends them
    server.stop()
    expected = {(f"Order {number}", f"u{number}"): 1 for number in range(40)}
    assert wait_delivered(sandbox, 40) == expected, server.text()


def send_requests_with_users(url: str, paths: list[str]) -> None:
    """Each path once; the user is the ``u`` query parameter, sent as the X-User header."""
    with httpx.Client(base_url=url, timeout=30) as http:
        for path in paths:
            route, _, user = path.partition("?u=")
            response = http.get(route, headers={"X-User": user})
            assert response.status_code == 200, (path, response.status_code, response.text)


def test_a_fastapi_app(sandbox: Sandbox) -> None:
    app = FastAPI()
    app.add_middleware(
        SessionAnalyticsMiddleware,
        fullstory=lambda: FullStory(api_key=sandbox.api_key, base_url=sandbox.url),
        user=lambda scope: dict(scope["headers"]).get(b"x-user", b"").decode() or None,
    )

    @app.post("/orders/{order_id}/ship")
    async def ship(order_id: str, request: Request) -> dict[str, str]:
        client(request).events.track("Order Shipped", properties={"order_id": order_id})
        return {"shipped": order_id}

    @app.get("/sync")
    def sync_view(request: Request) -> dict[str, str]:  # on FastAPI's thread pool
        client(request).events.track("Sync Viewed")
        return {}

    with TestClient(app) as http:
        assert http.post("/orders/o-1/ship", headers={"X-User": "ann"}).json() == {"shipped": "o-1"}
        assert http.get("/sync", headers={"X-User": "bob"}).status_code == 200
    assert wait_delivered(sandbox, 2) == {("Order Shipped", "ann"): 1, ("Sync Viewed", "bob"): 1}
