"""The sandbox's Smartlook backend events API, over HTTP against a running server.

Covers API-FACTS §10 and §11 items 30-33: the handshake (`/rec/check/backend`, also with the
trailing `?` the Node SDK sends), ingestion at the analytics host it hands out
(`/events/backend?pid=&group=`), event validation, unknown projects, restricted keys, analytics
switched off, no auth and no idempotency, bodies of any Content-Type or chunked, and the
generated client against the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from session_analytics.sandbox import Sandbox, SandboxConfig
from smartlook_api import Client
from smartlook_api.api.backend import check_backend, send_backend_events
from smartlook_api.models import (
    BackendEvent,
    CheckRequest,
    CheckResponse,
    EventProps,
    EventsAccepted,
    EventsRequest,
    EventType,
)

CHECK = "/rec/check/backend"


# ---- helpers --------------------------------------------------------------------------------


def check(client: httpx.Client, key: str, path: str = CHECK) -> dict[str, Any]:
    response = client.post(path, json={"key": key})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def send(
    client: httpx.Client, project: dict[str, Any], events: list[Any], **query: str
) -> httpx.Response:
    """POST a batch to the analytics host named by a check answer."""
    params = {"pid": project["pid"], "group": project["options"]["storeGroup"], **query}
    url = f"http://{project['analytics']['host']}/events/backend"
    return client.post(url, params=params, json={"events": events})


def assert_bad_request(
    response: httpx.Response, *words: str, codes: tuple[str, ...] = ("invalid_argument",)
) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] in codes
    for word in words:
        assert word in body["message"], body["message"]


@pytest.fixture
def project(sandbox: Sandbox, raw: httpx.Client) -> dict[str, Any]:
    """The check answer for the sandbox's own Smartlook key."""
    return check(raw, sandbox.smartlook_key)


# ---- the handshake ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CHECK, CHECK + "?"], ids=["plain", "trailing-question-mark"])
def test_check_answers_the_project_and_the_analytics_host(
    sandbox: Sandbox, raw: httpx.Client, path: str
) -> None:
    body = check(raw, sandbox.smartlook_key, path)
    assert set(body) == {"pid", "analytics", "options"}
    assert isinstance(body["pid"], str)
    assert body["pid"]
    assert body["analytics"] == {"ok": True, "host": urlsplit(sandbox.url).netloc}
    assert "://" not in body["analytics"]["host"]
    assert isinstance(body["options"]["storeGroup"], str)
    assert body["options"]["storeGroup"]


def test_same_key_same_project_other_key_other_project(raw: httpx.Client) -> None:
    first = check(raw, "key-one")
    again = check(raw, "key-one")
    other = check(raw, "key-two")
    assert (again["pid"], again["options"]) == (first["pid"], first["options"])
    assert other["pid"] != first["pid"]
    assert other["options"]["storeGroup"] != first["options"]["storeGroup"]


@pytest.mark.parametrize("body", [{}, {"key": ""}, {"key": 42}], ids=["missing", "empty", "number"])
def test_check_needs_a_key(raw: httpx.Client, body: dict[str, Any]) -> None:
    assert_bad_request(raw.post(CHECK, json=body), "key")


def test_restricted_keys_only_know_their_projects() -> None:
    with (
        Sandbox(SandboxConfig(smartlook_keys=frozenset({"good"}))) as sandbox,
        httpx.Client(base_url=sandbox.url, timeout=30.0) as client,
    ):
        wrong = client.post(CHECK, json={"key": "wrong"})
        assert wrong.status_code == 404, wrong.text
        assert wrong.json()["code"] == "project_not_found"

        project = check(client, "good")
        assert project["analytics"] == {"ok": True, "host": urlsplit(sandbox.url).netloc}
        response = send(client, project, [{"vid": "v1", "name": "signup"}])
        assert response.status_code == 200, response.text
        assert [e["name"] for e in sandbox.events("smartlook")] == ["signup"]


def test_check_with_analytics_switched_off(sandbox: Sandbox, raw: httpx.Client) -> None:
    sandbox.configure(smartlook_analytics_enabled=False)
    body = check(raw, sandbox.smartlook_key)
    assert body["analytics"]["ok"] is False
    assert "host" not in body["analytics"]
    assert isinstance(body["analytics"]["error"], str)
    assert body["analytics"]["error"]
    assert body["pid"]
    assert body["options"]["storeGroup"]

    refused = raw.post(
        "/events/backend",
        params={"pid": body["pid"], "group": body["options"]["storeGroup"]},
        json={"events": [{"vid": "v1", "name": "signup"}]},
    )
    assert refused.status_code >= 400
    assert sandbox.events("smartlook") == []


# ---- sending events ---------------------------------------------------------------------------


def test_events_are_stored_under_their_project(
    sandbox: Sandbox, raw: httpx.Client, project: dict[str, Any]
) -> None:
    events: list[dict[str, Any]] = [
        {"vid": "visitor-1", "name": "signup"},
        {
            "type": "error",
            "vid": "visitor-2",
            "name": "payment failed",
            "value": "card declined",
            "props": {"plan": "pro", "amount": 12.5, "retry": False},
            "sid": "session-9",
        },
    ]
    response = send(raw, project, events)
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True}

    stored = sandbox.events("smartlook")
    picked = [
        {k: e[k] for k in ("type", "vid", "name", "value", "props", "sid", "pid", "group")}
        for e in stored
    ]
    pid, group = project["pid"], project["options"]["storeGroup"]
    assert picked == [
        {
            "type": "custom",
            "vid": "visitor-1",
            "name": "signup",
            "value": None,
            "props": {},
            "sid": None,
            "pid": pid,
            "group": group,
        },
        {**events[1], "pid": pid, "group": group},
    ]
    assert sandbox.events("fullstory") == []
    assert sandbox.stats()["smartlook_batches"] == 1


def test_an_unknown_event_type_is_refused(
    sandbox: Sandbox, raw: httpx.Client, project: dict[str, Any]
) -> None:
    response = send(raw, project, [{"type": "pageview", "vid": "v1", "name": "x"}])
    assert_bad_request(response, "events[0].type")
    assert sandbox.events("smartlook") == []


@pytest.mark.parametrize("field", ["vid", "name"])
def test_vid_and_name_are_required(
    sandbox: Sandbox, raw: httpx.Client, project: dict[str, Any], field: str
) -> None:
    second = {"vid": "v2", "name": "second"}
    del second[field]
    response = send(raw, project, [{"vid": "v1", "name": "first"}, second])
    assert_bad_request(response, f"events[1].{field} is required")
    assert sandbox.events("smartlook") == []  # the whole batch is refused


@pytest.mark.parametrize(
    "props",
    [{"plan": {"tier": "pro"}}, {"tags": ["a", "b"]}, {"gone": None}],
    ids=["nested-object", "array", "null"],
)
def test_props_must_be_flat_strings_numbers_or_booleans(
    sandbox: Sandbox, raw: httpx.Client, project: dict[str, Any], props: dict[str, Any]
) -> None:
    response = send(raw, project, [{"vid": "v1", "name": "x", "props": props}])
    assert_bad_request(response, "props")
    assert sandbox.events("smartlook") == []


def test_unknown_project_or_group_mismatch_is_not_found(
    sandbox: Sandbox, raw: httpx.Client, project: dict[str, Any]
) -> None:
    other = check(raw, "another-key")
    events = [{"vid": "v1", "name": "x"}]
    for pid, group in [
        ("sl-unknown", project["options"]["storeGroup"]),
        (project["pid"], other["options"]["storeGroup"]),
        (project["pid"], "sandbox-nope"),
    ]:
        response = raw.post(
            "/events/backend", params={"pid": pid, "group": group}, json={"events": events}
        )
        assert response.status_code == 404, (pid, group, response.text)
        assert response.json()["code"] == "project_not_found"
    assert sandbox.events("smartlook") == []


@pytest.mark.parametrize("missing", ["pid", "group"])
def test_pid_and_group_are_required(
    sandbox: Sandbox, raw: httpx.Client, project: dict[str, Any], missing: str
) -> None:
    params = {"pid": project["pid"], "group": project["options"]["storeGroup"]}
    del params[missing]
    response = raw.post(
        "/events/backend", params=params, json={"events": [{"vid": "v1", "name": "x"}]}
    )
    assert_bad_request(response, missing, codes=("invalid_argument", "required_field"))
    assert sandbox.events("smartlook") == []


def test_no_authorization_header_is_sent_or_needed(sandbox: Sandbox, raw: httpx.Client) -> None:
    project = check(raw, sandbox.smartlook_key)
    assert send(raw, project, [{"vid": "v1", "name": "x"}]).status_code == 200
    seen = [r for r in sandbox.requests() if r["route"].startswith("POST /")]
    assert [r["route"] for r in seen] == ["POST /rec/check/backend", "POST /events/backend"]
    assert all("authorization" not in {h.lower() for h in r["headers"]} for r in seen)


def test_a_batch_sent_twice_is_stored_twice(
    sandbox: Sandbox, raw: httpx.Client, project: dict[str, Any]
) -> None:
    events = [{"vid": "v1", "name": "signup"}, {"vid": "v1", "name": "upgrade"}]
    assert send(raw, project, events).status_code == 200
    assert send(raw, project, events).status_code == 200
    stored = sandbox.events("smartlook")
    assert [e["name"] for e in stored] == ["signup", "upgrade", "signup", "upgrade"]
    assert [e["batch"] for e in stored] == [1, 1, 2, 2]


# ---- how the body travels ----------------------------------------------------------------------


def test_body_is_read_whatever_the_content_type(sandbox: Sandbox, raw: httpx.Client) -> None:
    text = {"Content-Type": "text/plain"}
    response = raw.post(CHECK, content=f'{{"key": "{sandbox.smartlook_key}"}}', headers=text)
    assert response.status_code == 200, response.text
    project = response.json()
    assert project["analytics"]["ok"] is True

    response = raw.post(
        "/events/backend",
        params={"pid": project["pid"], "group": project["options"]["storeGroup"]},
        content='{"events": [{"vid": "v1", "name": "plain text"}]}',
        headers=text,
    )
    assert response.status_code == 200, response.text
    assert [e["name"] for e in sandbox.events("smartlook")] == ["plain text"]


def test_chunked_bodies_are_read(sandbox: Sandbox, raw: httpx.Client) -> None:
    def chunks(*parts: str) -> Iterator[bytes]:
        for part in parts:
            yield part.encode()

    key = sandbox.smartlook_key
    response = raw.post(CHECK, content=chunks('{"ke', f'y": "{key}', '"}'))
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 200, response.text
    project = response.json()

    response = raw.post(
        "/events/backend",
        params={"pid": project["pid"], "group": project["options"]["storeGroup"]},
        content=chunks('{"events": [{"vid": "v1", ', '"name": "chunk', 'ed"}]}'),
    )
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 200, response.text
    assert [e["name"] for e in sandbox.events("smartlook")] == ["chunked"]


# ---- the generated client --------------------------------------------------------------------


def test_generated_client_checks_and_sends(sandbox: Sandbox) -> None:
    with Client(base_url=sandbox.url) as manager:
        answer = check_backend.sync(client=manager, body=CheckRequest(key=sandbox.smartlook_key))
    assert isinstance(answer, CheckResponse)
    assert answer.analytics.ok is True
    assert answer.analytics.host == urlsplit(sandbox.url).netloc

    props = EventProps()
    props.additional_properties = {"plan": "pro", "seats": 3, "trial": True}
    body = EventsRequest(
        events=[
            BackendEvent(vid="v1", name="signup", props=props),
            BackendEvent(vid="v2", name="crash", type_=EventType.ERROR, sid="s-1"),
        ]
    )
    with Client(base_url=f"http://{answer.analytics.host}") as analytics:
        sent = send_backend_events.sync_detailed(
            client=analytics, body=body, pid=answer.pid, group=answer.options.store_group
        )
    assert sent.status_code == 200
    assert isinstance(sent.parsed, EventsAccepted)
    assert sent.parsed.ok is True

    stored = sandbox.events("smartlook")
    assert [(e["type"], e["vid"], e["name"], e["sid"]) for e in stored] == [
        ("custom", "v1", "signup", None),
        ("error", "v2", "crash", "s-1"),
    ]
    assert stored[0]["props"] == {"plan": "pro", "seats": 3, "trial": True}
    assert {e["pid"] for e in stored} == {answer.pid}
