"""The sandbox's FullStory POST /v2/events, over real HTTP (API-FACTS §4, §6, §8; §11 items 13-18
and 28): what is stored, how an event is tied to a user and a session, the property and context
rules, and Idempotency-Key across a dropped connection.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from session_analytics.sandbox import Sandbox

REPLAY_HEADER = "X-Sandbox-Idempotent-Replay"
EMPTY_NAME_MESSAGE = "events must have a non-empty name"
UUID_A = "0b6f3c1e-5a4d-4c2b-9e8f-1a2b3c4d5e6f"
UUID_B = "9f8e7d6c-5b4a-4321-8fed-cba987654321"
NUMERIC_SESSION = re.compile(r"\d+:\d+")
UUID_SESSION = re.compile(
    r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}:[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"
)


# ---- helpers -------------------------------------------------------------------------------------


def send(fs: httpx.Client, body: dict[str, Any], **headers: str) -> httpx.Response:
    return fs.post("/v2/events", json=body, headers=headers)


def send_ok(fs: httpx.Client, body: dict[str, Any], **headers: str) -> None:
    response = send(fs, body, **headers)
    assert response.status_code == 200, response.text
    assert response.json() == {}


def stored(sandbox: Sandbox) -> list[dict[str, Any]]:
    return sandbox.events("fullstory")


def only_event(sandbox: Sandbox) -> dict[str, Any]:
    (event,) = stored(sandbox)
    return event


def create_user(fs: httpx.Client, **body: Any) -> str:
    response = fs.post("/v2/users", json=body)
    assert response.status_code == 200, response.text
    user_id: str = response.json()["id"]
    return user_id


def users_with(fs: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    response = fs.get("/v2/users", params=filters)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def assert_refused(response: httpx.Response, sandbox: Sandbox, *fragments: str) -> None:
    """400 invalid_argument naming ``fragments``, and nothing stored."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == "invalid_argument"
    for fragment in fragments:
        assert fragment in body["message"]
    assert stored(sandbox) == []


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---- what is stored ------------------------------------------------------------------------------


def test_an_event_is_accepted_and_stored(sandbox: Sandbox, fs: httpx.Client) -> None:
    user_id = create_user(fs, uid="ev-user")
    properties = {"plan": "pro", "amount": 12.5, "items": {"count": 2}, "tags": ["a", "b"]}

    send_ok(
        fs,
        {
            "name": "Order Completed",
            "timestamp": "2024-02-01T12:30:00.000Z",
            "user": {"uid": "ev-user"},
            "properties": properties,
        },
        **{"Idempotency-Key": "evt-1", "Integration-Source": "my-integration"},
    )

    event = only_event(sandbox)
    assert event["name"] == "Order Completed"
    assert event["timestamp"] == "2024-02-01T12:30:00.000Z"
    assert event["user"] == {"id": user_id, "uid": "ev-user"}
    assert event["session"] is None
    assert event["properties"] == properties
    assert event["idempotency_key"] == "evt-1"
    assert event["integration_source"] == "my-integration"
    assert sandbox.stats()["integration_sources"] == {"my-integration": 1}


def test_an_event_without_key_or_source_stores_neither(sandbox: Sandbox, fs: httpx.Client) -> None:
    send_ok(fs, {"name": "Plain"})

    event = only_event(sandbox)
    assert (event["idempotency_key"], event["integration_source"]) == (None, None)


@pytest.mark.parametrize("body", [{"name": ""}, {}, {"name": None}, {"properties": {"a": 1}}])
def test_an_event_needs_a_non_empty_name(
    sandbox: Sandbox, fs: httpx.Client, body: dict[str, Any]
) -> None:
    assert_refused(send(fs, body), sandbox, EMPTY_NAME_MESSAGE)


def test_a_missing_timestamp_is_the_server_time(sandbox: Sandbox, fs: httpx.Client) -> None:
    before = datetime.now(timezone.utc)
    send_ok(fs, {"name": "Now"})
    after = datetime.now(timezone.utc)

    stamp = parse_time(only_event(sandbox)["timestamp"])

    assert stamp.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= stamp <= after + timedelta(seconds=1)


def test_a_given_timestamp_is_kept(sandbox: Sandbox, fs: httpx.Client) -> None:
    send_ok(fs, {"name": "Then", "timestamp": "2021-06-30T23:59:59.123+02:00"})

    assert only_event(sandbox)["timestamp"] == "2021-06-30T23:59:59.123+02:00"


def test_a_timestamp_that_is_not_iso_8601_is_refused(sandbox: Sandbox, fs: httpx.Client) -> None:
    assert_refused(send(fs, {"name": "When", "timestamp": "yesterday"}), sandbox, "timestamp")


# ---- identification by user ----------------------------------------------------------------------


def test_an_unknown_uid_creates_that_user(sandbox: Sandbox, fs: httpx.Client) -> None:
    send_ok(fs, {"name": "First", "user": {"uid": "brand-new"}})
    send_ok(fs, {"name": "Second", "user": {"uid": "brand-new"}})

    (user,) = users_with(fs, uid="brand-new")
    assert [e["user"] for e in stored(sandbox)] == [{"id": user["id"], "uid": "brand-new"}] * 2


def test_user_id_ties_the_event_to_that_user(sandbox: Sandbox, fs: httpx.Client) -> None:
    user_id = create_user(fs, display_name="Anonymous Ann")

    send_ok(fs, {"name": "Clicked", "user": {"id": user_id}})

    assert only_event(sandbox)["user"] == {"id": user_id}
    assert len(users_with(fs)) == 1


def test_an_unknown_user_id_is_404(sandbox: Sandbox, fs: httpx.Client) -> None:
    response = send(fs, {"name": "Clicked", "user": {"id": "123456789"}})

    assert response.status_code == 404
    assert response.json() == {
        "code": "user_not_found",
        "message": "User with that ID does not exist",
    }
    assert stored(sandbox) == []


def test_user_id_and_uid_together_are_refused(sandbox: Sandbox, fs: httpx.Client) -> None:
    user_id = create_user(fs, uid="u-1")

    response = send(fs, {"name": "Clicked", "user": {"id": user_id, "uid": "u-1"}})

    assert_refused(response, sandbox, "user")


def test_no_identification_makes_a_new_anonymous_user_per_event(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    send_ok(fs, {"name": "Visit"})
    send_ok(fs, {"name": "Visit"})

    first, second = (e["user"] for e in stored(sandbox))
    assert first["id"] != second["id"]
    assert "uid" not in first
    assert "uid" not in second
    anonymous = users_with(fs, is_identified="false")
    assert sorted(u["id"] for u in anonymous) == sorted([first["id"], second["id"]])


# ---- identification by session -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "pattern"), [("numeric", NUMERIC_SESSION), ("uuid", UUID_SESSION)]
)
def test_session_id_ties_the_event_to_that_session_and_its_user(
    sandbox: Sandbox, fs: httpx.Client, form: str, pattern: re.Pattern[str]
) -> None:
    session = sandbox.create_session(uid="sess-user", format=form)
    assert pattern.fullmatch(session["id"])

    send_ok(fs, {"name": "In Session", "session": {"id": session["id"]}})

    event = only_event(sandbox)
    assert event["session"] == {"id": session["id"]}
    assert event["user"] == {"id": session["user_id"], "uid": "sess-user"}
    assert len(users_with(fs)) == 1


@pytest.mark.parametrize("by", ["id", "uid"])
def test_session_id_together_with_user_is_refused(
    sandbox: Sandbox, fs: httpx.Client, by: str
) -> None:
    session = sandbox.create_session(uid="sess-user")
    user = {"id": session["user_id"]} if by == "id" else {"uid": "sess-user"}

    response = send(fs, {"name": "Both", "session": {"id": session["id"]}, "user": user})

    assert_refused(response, sandbox)


@pytest.mark.parametrize(
    "session_id",
    ["12345", "abc:def", "1:2:3", "12:ab", ":12", "1:", UUID_A, f"{UUID_A}:12", f"{UUID_A}:zz"],
)
def test_a_malformed_session_id_is_refused(
    sandbox: Sandbox, fs: httpx.Client, session_id: str
) -> None:
    assert_refused(send(fs, {"name": "Bad", "session": {"id": session_id}}), sandbox, "session.id")


@pytest.mark.parametrize(
    "session_id",
    ["406214335320288249:3829143070270885557", f"{UUID_A}:{UUID_B}"],
    ids=["numeric", "uuid"],
)
def test_an_unknown_session_id_starts_that_session_for_a_new_anonymous_user(
    sandbox: Sandbox, fs: httpx.Client, session_id: str
) -> None:
    sandbox.create_session(uid="someone-else")

    send_ok(fs, {"name": "Found", "session": {"id": session_id}})
    send_ok(fs, {"name": "Again", "session": {"id": session_id}})

    first, second = stored(sandbox)
    assert first["session"] == second["session"] == {"id": session_id}
    assert first["name"] == "Found"
    assert first["user"] == second["user"] == {"id": session_id.partition(":")[0]}
    assert sandbox.stats()["sessions"] == 2


def test_an_unknown_session_id_of_a_known_user_starts_a_session_of_that_user(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    user_id = create_user(fs, uid="known")
    session_id = f"{user_id}:3829143070270885557"

    send_ok(fs, {"name": "Mine", "session": {"id": session_id}})

    event = only_event(sandbox)
    assert event["session"] == {"id": session_id}
    assert event["user"] == {"id": user_id, "uid": "known"}


@pytest.mark.parametrize("by", ["id", "uid"])
def test_use_most_recent_puts_the_event_in_the_users_recent_session(
    sandbox: Sandbox, fs: httpx.Client, by: str
) -> None:
    session = sandbox.create_session(uid="recent")
    user = {"id": session["user_id"]} if by == "id" else {"uid": "recent"}

    send_ok(fs, {"name": "Recent", "user": user, "session": {"use_most_recent": True}})

    event = only_event(sandbox)
    assert event["session"] == {"id": session["id"]}
    assert event["user"] == {"id": session["user_id"], "uid": "recent"}


def test_use_most_recent_picks_the_most_recently_active_session(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    older = sandbox.create_session(uid="busy")
    newer = sandbox.create_session(uid="busy")
    most_recent = {"user": {"uid": "busy"}, "session": {"use_most_recent": True}}

    send_ok(fs, {"name": "A", **most_recent})
    send_ok(fs, {"name": "B", "session": {"id": older["id"]}})  # the older one is active again
    send_ok(fs, {"name": "C", **most_recent})

    assert [e["session"]["id"] for e in stored(sandbox)] == [newer["id"], older["id"], older["id"]]


def test_use_most_recent_without_a_recent_session_starts_one_for_the_user(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    user_id = create_user(fs, uid="no-sessions")
    other = sandbox.create_session(uid="someone-else")
    most_recent = {"user": {"id": user_id}, "session": {"use_most_recent": True}}

    send_ok(fs, {"name": "Alone", **most_recent})
    send_ok(fs, {"name": "Still", **most_recent})

    first, second = stored(sandbox)
    assert first["session"] is not None
    assert first["session"]["id"] != other["id"]
    assert first["session"]["id"].startswith(f"{user_id}:")
    assert NUMERIC_SESSION.fullmatch(first["session"]["id"])
    assert second["session"] == first["session"]
    assert first["user"] == second["user"] == {"id": user_id, "uid": "no-sessions"}


@pytest.mark.parametrize("given", ["no-user", "empty-user", "id-and-uid"])
def test_use_most_recent_needs_exactly_one_of_user_id_and_uid(
    sandbox: Sandbox, fs: httpx.Client, given: str
) -> None:
    session = sandbox.create_session(uid="recent")
    body: dict[str, Any] = {"name": "Which", "session": {"use_most_recent": True}}
    if given == "empty-user":
        body["user"] = {}
    elif given == "id-and-uid":
        body["user"] = {"id": session["user_id"], "uid": "recent"}

    assert_refused(send(fs, body), sandbox, "user")


def test_the_session_window_expires(sandbox: Sandbox, fs: httpx.Client) -> None:
    window = 0.2
    sandbox.configure(session_window_s=window)
    session = sandbox.create_session(uid="sleepy")
    most_recent = {"user": {"uid": "sleepy"}, "session": {"use_most_recent": True}}

    send_ok(fs, {"name": "Active", **most_recent})
    time.sleep(window + 0.1)  # no activity for longer than the window
    send_ok(fs, {"name": "Later", **most_recent})

    active, later = stored(sandbox)
    assert active["session"] == {"id": session["id"]}
    assert later["session"] is not None
    assert later["session"]["id"] != session["id"]  # a new session started
    assert later["user"] == active["user"]


# ---- properties and context ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "schema", "named"),
    [
        pytest.param({"first-name": "x"}, None, "first-name", id="bad-name"),
        pytest.param(
            {"cart": {"items": [{"sku": "a"}]}}, None, "cart.items", id="array-of-objects"
        ),
        pytest.param({"bio": "x" * 8193}, None, "bio", id="value-over-8192-bytes"),
        pytest.param({"qty": 1.5}, {"qty": "int"}, "qty", id="declared-mismatch"),
    ],
)
def test_property_rules_apply_to_events(
    sandbox: Sandbox,
    fs: httpx.Client,
    properties: dict[str, Any],
    schema: dict[str, str] | None,
    named: str,
) -> None:
    body: dict[str, Any] = {"name": "Props", "properties": properties}
    if schema is not None:
        body["schema"] = {"properties": schema}

    assert_refused(send(fs, body), sandbox, named)


def test_a_context_with_every_block_is_stored(sandbox: Sandbox, fs: httpx.Client) -> None:
    context = {
        "browser": {
            "url": "https://example.com/checkout",
            "user_agent": "Mozilla/5.0",
            "initial_referrer": "https://search.example.org/",
        },
        "mobile": {
            "app_id": "com.example.app",
            "app_version": "3.2.1",
            "app_name": "Example",
            "build_variant": "release",
        },
        "device": {
            "manufacturer": "Acme",
            "model": "Phone 9",
            "screen_width": 1170,
            "screen_height": 2532,
            "viewport_width": 390,
            "viewport_height": 844,
        },
        "location": {
            "country": "FR",
            "region": "FR-IDF",
            "city": "Paris",
            "latitude": 48.8566,
            "longitude": 2.3522,
            "ip_address": "203.0.113.7",
        },
    }

    send_ok(fs, {"name": "With Context", "context": context})

    assert only_event(sandbox)["context"] == context


@pytest.mark.parametrize("width", ["wide", 1.5, True, 2**31, -(2**31) - 1])
def test_an_int32_context_field_of_the_wrong_type_is_refused(
    sandbox: Sandbox, fs: httpx.Client, width: Any
) -> None:
    body = {"name": "Device", "context": {"device": {"screen_width": width}}}

    assert_refused(send(fs, body), sandbox, "context.device.screen_width")


def test_int32_bounds_are_accepted(sandbox: Sandbox, fs: httpx.Client) -> None:
    device = {"screen_width": 2**31 - 1, "screen_height": -(2**31)}

    send_ok(fs, {"name": "Device", "context": {"device": device}})

    assert only_event(sandbox)["context"] == {"device": device}


# ---- Idempotency-Key on POST /v2/events ----------------------------------------------------------


def test_a_retried_event_with_the_same_key_is_stored_once(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    body = {"name": "Paid", "user": {"uid": "payer"}, "properties": {"amount": 10}}

    first = send(fs, body, **{"Idempotency-Key": "pay-1"})
    again = send(fs, body, **{"Idempotency-Key": "pay-1"})

    assert (first.status_code, first.json()) == (again.status_code, again.json()) == (200, {})
    assert again.headers[REPLAY_HEADER] == "true"
    assert [e["idempotency_key"] for e in stored(sandbox)] == ["pay-1"]


def test_the_same_key_with_another_event_is_refused(sandbox: Sandbox, fs: httpx.Client) -> None:
    send_ok(fs, {"name": "Paid", "properties": {"amount": 10}}, **{"Idempotency-Key": "pay-1"})

    response = send(
        fs, {"name": "Paid", "properties": {"amount": 11}}, **{"Idempotency-Key": "pay-1"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_argument",
        "message": "Idempotency-Key was already used with a different request body",
    }
    assert [e["properties"] for e in stored(sandbox)] == [{"amount": 10}]


def test_a_key_used_on_users_does_not_replay_on_events(sandbox: Sandbox, fs: httpx.Client) -> None:
    key = {"Idempotency-Key": "same-key"}
    user = fs.post("/v2/users", json={"uid": "u-1"}, headers=key)

    event = send(fs, {"name": "Other Route"}, **key)

    assert user.status_code == event.status_code == 200
    assert event.json() == {}
    assert REPLAY_HEADER not in event.headers
    assert [e["name"] for e in stored(sandbox)] == ["Other Route"]


def test_a_dropped_answer_then_a_retry_with_the_key_stores_one_event(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    sandbox.set_faults(script=["reset"])
    body = {"name": "Signed Up", "user": {"uid": "new-user"}}

    with pytest.raises(httpx.RemoteProtocolError):
        send(fs, body, **{"Idempotency-Key": "signup-1"})
    assert len(stored(sandbox)) == 1  # processed, though the answer was lost
    retried = send(fs, body, **{"Idempotency-Key": "signup-1"})

    assert (retried.status_code, retried.json()) == (200, {})
    assert retried.headers[REPLAY_HEADER] == "true"
    assert [e["name"] for e in stored(sandbox)] == ["Signed Up"]
    assert len(users_with(fs, uid="new-user")) == 1


def test_a_dropped_answer_then_a_retry_without_key_stores_two_events(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    sandbox.set_faults(script=["reset"])
    body = {"name": "Signed Up", "user": {"uid": "new-user"}}

    with pytest.raises(httpx.RemoteProtocolError):
        send(fs, body)
    retried = send(fs, body)

    assert (retried.status_code, retried.json()) == (200, {})
    assert REPLAY_HEADER not in retried.headers
    assert [e["name"] for e in stored(sandbox)] == ["Signed Up", "Signed Up"]
