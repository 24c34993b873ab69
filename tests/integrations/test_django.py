"""The Django middleware with Django's test clients (sync: WSGI; async: ASGI) and with a real
``runserver`` process stopped by SIGTERM: each request's user reaches the events tracked without
``user=``, in sync and async views, and every event arrives once.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any

import django
import httpx
import pytest
from django.conf import settings
from integrations.real_servers import free_port, server_env, wait_delivered

from session_analytics import fullstory
from session_analytics.integrations import django as integration
from session_analytics.sandbox import Sandbox

SITE = "apps.django_site"

if not settings.configured:
    from apps import django_site

    settings.configure(
        **{name: getattr(django_site, name) for name in dir(django_site) if name.isupper()}
    )
    django.setup()

from django.test import AsyncClient, Client, override_settings  # noqa: E402 - after configure


@pytest.fixture
def site(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The site's settings pointed at the sandbox; the process's client closed afterwards."""
    conf = {"FULLSTORY_API_KEY": sandbox.api_key, "FULLSTORY_BASE_URL": sandbox.url}
    with override_settings(SESSION_ANALYTICS=conf, ROOT_URLCONF=SITE):
        yield sandbox
        integration.close()


def test_the_request_user_reaches_track_in_sync_views(site: Sandbox) -> None:
    http = Client()
    answers = [
        http.get("/track/Sync Order", headers={"X-User": "41"}).json(),
        http.get("/identify/cy/Identified Order").json(),
        http.get("/track/Anonymous Order").json(),
        # An async view under the WSGI handler: Django runs it in an event loop of its own.
        http.get("/async-track/Async Order", headers={"X-User": "42"}).json(),
    ]
    assert answers == [
        {"user": {"uid": "41"}},
        {"user": {"uid": "cy"}},
        {"user": None},
        {"user": {"uid": "42"}},
    ]
    assert fullstory.current_user() is None  # each request's user ended with it
    assert integration.close()  # everything delivered
    assert wait_delivered(site, 4) == {
        ("Sync Order", "41"): 1,
        ("Identified Order", "cy"): 1,
        ("Anonymous Order", None): 1,
        ("Async Order", "42"): 1,
    }


def test_the_request_user_reaches_track_in_the_async_stack(site: Sandbox) -> None:
    async def requests() -> list[Any]:
        http = AsyncClient()
        found = []
        for path, user in [
            ("/async-track/Async Order", "7"),
            ("/track/Sync Order", "8"),  # a sync view in the ASGI stack: on a thread
            ("/async-track/Anonymous Order", None),
        ]:
            headers = {"X-User": user} if user else {}
            found.append((await http.get(path, headers=headers)).json())
        return found

    assert asyncio.run(requests()) == [
        {"user": {"uid": "7"}},
        {"user": {"uid": "8"}},
        {"user": None},
    ]
    assert integration.close()
    assert wait_delivered(site, 3) == {
        ("Async Order", "7"): 1,
        ("Sync Order", "8"): 1,
        ("Anonymous Order", None): 1,
    }


@pytest.mark.parametrize("stack", ["sync", "async"])
def test_a_user_callable_named_in_the_settings(site: Sandbox, stack: str) -> None:
    conf = {**settings.SESSION_ANALYTICS, "USER": f"{SITE}.user_from_query"}
    with override_settings(SESSION_ANALYTICS=conf):
        if stack == "sync":
            answer = Client().get("/track/Query Order?user=q1", headers={"X-User": "no"}).json()
        else:
            answer = asyncio.run(AsyncClient().get("/async-track/Query Order?user=q1")).json()
    assert answer == {"user": {"uid": "q1"}}
    integration.close()
    assert wait_delivered(site, 1) == {("Query Order", "q1"): 1}


def test_without_the_middleware_the_event_has_no_user(site: Sandbox) -> None:
    with override_settings(MIDDLEWARE=settings.MIDDLEWARE[:1]):
        answer = Client().get("/track/Lost", headers={"X-User": "41"}).json()
    assert answer == {"user": None}
    integration.close()
    assert wait_delivered(site, 1) == {("Lost", None): 1}


@pytest.mark.parametrize("hold", [False, True], ids=["settings", "held-until-exit"])
def test_a_runserver_process_stopped_by_sigterm_delivers_every_event_once(
    sandbox: Sandbox, real_server: Any, hold: bool
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}"]
    server = real_server(
        [*command, "--noreload", "--settings=django_site"],
        server_env(sandbox, HOLD_EVENTS="1" if hold else "0"),
    )
    server.wait_ready(url)
    with httpx.Client(base_url=url, timeout=30) as http:
        for number in range(30):
            route = "async-track" if number % 2 else "track"
            response = http.get(f"/{route}/Order {number}", headers={"X-User": f"u{number}"})
            assert response.status_code == 200, response.text
    if hold:
        assert sandbox.events("fullstory") == []  # only the exit drain sends them
    server.stop()
    expected = {(f"Order {number}", f"u{number}"): 1 for number in range(30)}
    assert wait_delivered(sandbox, 30) == expected, server.text()
