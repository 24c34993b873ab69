"""The Flask extension with Flask's test client and with a real ``flask run`` process stopped by
SIGTERM: each request's user reaches the events tracked without ``user=``, in sync and async
views, nothing carries over to the next request, and every event arrives once.
"""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest
from apps.flask_app import create_app
from integrations.real_servers import free_port, server_env, wait_delivered

from session_analytics import fullstory
from session_analytics.fullstory import FullStory
from session_analytics.sandbox import Sandbox


def test_the_request_user_reaches_track_in_sync_and_async_views(sandbox: Sandbox) -> None:
    app = create_app({"FULLSTORY_API_KEY": sandbox.api_key, "FULLSTORY_BASE_URL": sandbox.url})
    http = app.test_client()
    answers = [
        http.get("/track/Sync Order", headers={"X-User": "ann"}).json,
        http.get("/async-track/Async Order", headers={"X-User": "bob"}).json,
        http.get("/identify/cy/Identified Order").json,
        http.get("/track/Anonymous Order").json,
    ]
    assert answers == [
        {"user": {"uid": "ann"}},
        {"user": {"uid": "bob"}},
        {"user": {"uid": "cy"}},
        {"user": None},
    ]
    assert fullstory.current_user() is None  # each request's user ended with it
    with app.app_context():
        from session_analytics.integrations.flask import client

        made = client()
        assert made.flush()  # the client outlives the app contexts: not closed at teardown
        made.close()
    assert wait_delivered(sandbox, 4) == {
        ("Sync Order", "ann"): 1,
        ("Async Order", "bob"): 1,
        ("Identified Order", "cy"): 1,
        ("Anonymous Order", None): 1,
    }


def test_a_client_given_is_the_one_used(sandbox: Sandbox) -> None:
    given = FullStory(api_key=sandbox.api_key, base_url=sandbox.url)
    app = create_app(extension=False)
    from session_analytics.integrations.flask import SessionAnalytics

    SessionAnalytics(fullstory=given, user=lambda: "dee").init_app(app)
    assert app.test_client().get("/track/Given").json == {"user": {"uid": "dee"}}
    given.close()
    assert wait_delivered(sandbox, 1) == {("Given", "dee"): 1}


def test_without_the_extension_there_is_no_client() -> None:
    app = create_app({"TESTING": True}, extension=False)
    with pytest.raises(RuntimeError, match="SessionAnalytics"):
        app.test_client().get("/track/Lost", headers={"X-User": "ann"})


@pytest.mark.parametrize("hold", [False, True], ids=["config", "held-until-exit"])
def test_a_flask_run_server_stopped_by_sigterm_delivers_every_event_once(
    sandbox: Sandbox, real_server: Any, hold: bool
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "flask", "--app", "flask_app:create_app()", "run"]
    server = real_server(
        [*command, "--port", str(port), "--no-reload", "--no-debugger"],
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
