"""The sandbox's sessions over real HTTP: sessions started by events, GET /v2/sessions, a
session's events, its replay page, the context stand-in, and the pipeline (faults, auth, stats)
on these routes.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from support import wait_until

from session_analytics.sandbox import Sandbox

NUMERIC_SESSION = "406214335320288249:3829143070270885557"


# ---- helpers -------------------------------------------------------------------------------------


def encoded(session_id: str) -> str:
    return session_id.replace(":", "%3A")


def send(fs: httpx.Client, body: dict[str, Any]) -> None:
    response = fs.post("/v2/events", json=body)
    assert response.status_code == 200, response.text


def create_user(fs: httpx.Client, **body: Any) -> str:
    response = fs.post("/v2/users", json=body)
    assert response.status_code == 200, response.text
    user_id: str = response.json()["id"]
    return user_id


def sessions_of(fs: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = fs.get("/v2/sessions", params=params)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"results"}
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def recent(uid: str, name: str, **extra: Any) -> dict[str, Any]:
    """An event for the user ``uid``'s most recent session."""
    return {"name": name, "user": {"uid": uid}, "session": {"use_most_recent": True}, **extra}


def context_of(fs: httpx.Client, session_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = fs.post(f"/v2/sessions/{encoded(session_id)}/context", json=body)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"context_data"}
    data: dict[str, Any] = response.json()["context_data"]
    return data


def described(data: dict[str, Any]) -> list[str]:
    return [event["description"] for page in data["pages"] for event in page["events"]]


def assert_400(response: httpx.Response, *fragments: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"code", "message"}
    for fragment in fragments:
        assert fragment in body["message"]


# ---- sessions come from events -------------------------------------------------------------------


def test_an_event_with_a_session_id_shows_in_the_users_sessions_and_events(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    user_id = create_user(fs, uid="buyer", email="buyer@example.com")
    session_id = f"{user_id}:3829143070270885557"

    send(fs, {"name": "Viewed", "session": {"id": session_id}, "timestamp": "2024-02-01T10:00:00Z"})
    send(fs, {"name": "Bought", "session": {"id": session_id}, "properties": {"total": 12.5}})

    (listed,) = sessions_of(fs, uid="buyer")
    assert set(listed) == {"id", "app_url", "created_time"}
    assert listed["id"] == session_id
    assert listed["app_url"] == f"{sandbox.url}/ui/sandbox/session/{user_id}%3A3829143070270885557"
    assert listed["created_time"].endswith("Z")
    response = fs.get(f"/v2/sessions/{encoded(session_id)}/events")
    assert response.status_code == 200, response.text
    viewed, bought = response.json()["events"]
    assert viewed == {
        "device_id": user_id,
        "session_id": "3829143070270885557",
        "view_id": "1",
        "event_time": "2024-02-01T10:00:00Z",
        "event_type": "custom",
        "event_properties": {"event_name": "Viewed"},
        "source_type": "server",
        "source_properties": {},
    }
    assert bought["event_properties"] == {"event_name": "Bought", "total": 12.5}


def test_an_unknown_session_of_an_unknown_user_is_listed_by_the_session_id(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    send(fs, {"name": "Anonymous", "session": {"id": NUMERIC_SESSION}})

    (listed,) = sessions_of(fs, session_uid=NUMERIC_SESSION)
    assert listed["id"] == NUMERIC_SESSION
    events = fs.get(f"/v2/sessions/{encoded(NUMERIC_SESSION)}/events").json()["events"]
    assert [e["event_properties"]["event_name"] for e in events] == ["Anonymous"]
    assert events[0]["device_id"] == "406214335320288249"


def test_use_most_recent_starts_a_session_then_keeps_using_it(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    send(fs, recent("shopper", "First"))
    send(fs, recent("shopper", "Second"))

    (listed,) = sessions_of(fs, uid="shopper")
    events = fs.get(f"/v2/sessions/{encoded(listed['id'])}/events").json()["events"]
    assert [e["event_properties"]["event_name"] for e in events] == ["First", "Second"]


def test_the_event_context_gives_the_source_properties(sandbox: Sandbox, fs: httpx.Client) -> None:
    browser = {"url": "https://shop.example.com/cart?x=1", "user_agent": "Mozilla/5.0 Test"}
    send(fs, recent("surfer", "Cart", context={"browser": browser}))

    (listed,) = sessions_of(fs, uid="surfer")
    (event,) = fs.get(f"/v2/sessions/{encoded(listed['id'])}/events").json()["events"]
    assert event["source_properties"] == {
        "url": {"full_url": browser["url"], "host": "shop.example.com", "path": "/cart"},
        "user_agent": {"raw_user_agent": "Mozilla/5.0 Test"},
    }


def test_an_events_import_item_with_a_session_id_joins_the_session(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    sandbox.configure(job_delay_s=0)
    item = {"name": "Imported", "session": {"id": NUMERIC_SESSION}}
    response = fs.post("/v2/events/batch", json={"requests": [item]})
    assert response.status_code == 200, response.text

    def imported() -> list[dict[str, Any]]:
        return fs.get(f"/v2/sessions/{encoded(NUMERIC_SESSION)}/events").json().get("events", [])

    (event,) = wait_until(imported, what="the imported event in its session")
    assert event["event_properties"] == {"event_name": "Imported"}


# ---- GET /v2/sessions ----------------------------------------------------------------------------


def test_sessions_are_listed_most_recent_first_up_to_the_limit(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    started = [sandbox.create_session(uid="regular")["id"] for _ in range(3)]

    assert [s["id"] for s in sessions_of(fs, uid="regular")] == started[::-1]
    assert [s["id"] for s in sessions_of(fs, uid="regular", limit=2)] == started[:0:-1]


def test_the_default_limit_is_twenty(sandbox: Sandbox, fs: httpx.Client) -> None:
    for _ in range(21):
        sandbox.create_session(uid="many")

    assert len(sessions_of(fs, uid="many")) == 20
    assert len(sessions_of(fs, uid="many", limit=21)) == 21


def test_uid_and_email_together_list_the_sessions_of_every_user_found(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    create_user(fs, uid="by-uid")
    mailed = create_user(fs, uid="by-mail", email="shared@example.com")
    also_mailed = create_user(fs, email="shared@example.com")
    first = sandbox.create_session(uid="by-uid")["id"]
    second = sandbox.create_session(user_id=mailed)["id"]
    third = sandbox.create_session(user_id=also_mailed)["id"]
    sandbox.create_session(uid="someone-else")

    found = sessions_of(fs, uid="by-uid", email="shared@example.com")

    assert [s["id"] for s in found] == [third, second, first]
    assert [s["id"] for s in sessions_of(fs, email="shared@example.com")] == [third, second]


def test_an_unknown_user_has_no_sessions(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.create_session(uid="known")

    assert sessions_of(fs, uid="nobody") == []
    assert sessions_of(fs, email="nobody@example.com") == []
    assert sessions_of(fs, session_uid="no-such-session") == []


def test_session_uid_finds_the_session_started_with_it(sandbox: Sandbox, fs: httpx.Client) -> None:
    wanted = sandbox.create_session(uid="owner", session_uid="checkout-42")
    sandbox.create_session(uid="owner")

    (found,) = sessions_of(fs, session_uid="checkout-42")

    assert found["id"] == wanted["id"]


def test_sessions_go_with_their_deleted_user(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.configure(deletion_window_s=0)
    session = sandbox.create_session(uid="leaving")
    assert fs.delete("/v2/users", params={"uid": "leaving"}).status_code == 200

    assert sessions_of(fs, uid="leaving") == []
    assert fs.get(f"/v2/sessions/{encoded(session['id'])}/events").status_code == 404


@pytest.mark.parametrize(
    ("params", "fragments"),
    [
        ({}, ("uid", "email", "session_uid")),
        ({"session_uid": "s", "uid": "u"}, ("session_uid", "uid")),
        ({"session_uid": "s", "email": "e@example.com"}, ("session_uid", "email")),
        (
            {"session_uid": "s", "uid": "u", "email": "e@example.com"},
            ("session_uid", "uid and email"),
        ),
        ({"uid": "u", "limit": "0"}, ("limit",)),
        ({"uid": "u", "limit": "-3"}, ("limit",)),
        ({"uid": "u", "limit": "ten"}, ("limit",)),
        ({"uid": "u", "limit": "2.5"}, ("limit",)),
    ],
)
def test_list_sessions_refuses_bad_queries(
    sandbox: Sandbox, fs: httpx.Client, params: dict[str, str], fragments: tuple[str, ...]
) -> None:
    assert_400(fs.get("/v2/sessions", params=params), *fragments)


# ---- session events and the replay page ----------------------------------------------------------


def test_events_of_an_unknown_session_is_404(sandbox: Sandbox, fs: httpx.Client) -> None:
    response = fs.get(f"/v2/sessions/{encoded(NUMERIC_SESSION)}/events")

    assert response.status_code == 404
    assert set(response.json()) == {"code", "message"}


def test_the_app_url_opens_a_page_listing_the_events_escaped(
    sandbox: Sandbox, fs: httpx.Client, raw: httpx.Client
) -> None:
    send(fs, recent("viewer", "<script>alert(1)</script>", properties={"note": "a & b"}))
    (listed,) = sessions_of(fs, uid="viewer")

    page = raw.get(listed["app_url"])

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>" not in page.text
    assert "a &amp; b" in page.text
    assert raw.get(f"/ui/sandbox/session/{encoded(NUMERIC_SESSION)}").status_code == 404


# ---- context -------------------------------------------------------------------------------------


@pytest.fixture
def timeline(sandbox: Sandbox, fs: httpx.Client) -> str:
    """A session of "reader" (with properties, location and device) and four timed events on
    two pages; returns its id."""
    create_user(
        fs,
        uid="reader",
        display_name="Rita Reader",
        email="rita@example.com",
        properties={"plan": "pro", "seats": 3, "billing": {"annual": True}},
    )
    context = {
        "browser": {"url": "https://example.com/a"},
        "location": {"country": "FR", "city": "Lyon"},
        "device": {"screen_width": 1920, "screen_height": 1080},
    }
    events = [
        ("Open", "2024-02-01T10:00:00Z", context),
        ("Scroll", "2024-02-01T10:00:01.500Z", {"browser": {"url": "https://example.com/b"}}),
        ("Click", "2024-02-01T10:00:03Z", None),
        ("Leave", "2024-02-01T10:00:10Z", {"browser": {"url": "https://example.com/a"}}),
    ]
    for name, timestamp, where in events:
        body = recent("reader", name, timestamp=timestamp, properties={"step": name.lower()})
        if where:
            body["context"] = where
        send(fs, body)
    (listed,) = sessions_of(fs, uid="reader")
    session_id: str = listed["id"]
    return session_id


def test_context_shows_the_session_user_org_location_device_and_pages(
    sandbox: Sandbox, fs: httpx.Client, timeline: str
) -> None:
    data = context_of(fs, timeline, {})

    context = data["context"]
    assert context["session_id"] == timeline
    assert context["session_url"] == f"{sandbox.url}/ui/sandbox/session/{encoded(timeline)}"
    assert context["session_created_at"].endswith("Z")
    assert context["user_context"] == {
        "user_uid": "reader",
        "display_name": "Rita Reader",
        "email": "rita@example.com",
        "properties": {"plan": "pro", "seats": "3", "billing.annual": "true"},
    }
    assert context["org_context"] == {"org_id": "sandbox", "name": "Sandbox"}
    assert context["location_context"] == {"country": "FR", "city": "Lyon"}
    assert context["device_context"] == {
        "screen_size": {"height_pixels": 1080, "width_pixels": 1920}
    }
    assert [page["url"] for page in data["pages"]] == [
        "https://example.com/a",
        "https://example.com/b",
        "",
    ]
    first_page = data["pages"][0]["events"]
    assert first_page[0] == {
        "type": "custom",
        "description": "Open",
        "timestamp": "2024-02-01T10:00:00Z",
        "properties": {"step": "open"},
    }
    assert described(data) == ["Open", "Leave", "Scroll", "Click"]


@pytest.mark.parametrize(
    ("context", "shown"),
    [
        ({"include": ["user", "device"]}, {"user_context", "device_context"}),
        ({"exclude": ["org", "location"]}, {"user_context", "device_context"}),
        ({"include": ["user", "org"], "exclude": ["org"]}, {"user_context"}),
        (
            {"exclude_user_context": True, "exclude_device": True},
            {"org_context", "location_context"},
        ),
        (
            {"exclude_org_context": True, "exclude_location": True},
            {"user_context", "device_context"},
        ),
        ({"include": ["org"], "exclude_org_context": True}, {"org_context"}),
    ],
)
def test_context_elements_follow_include_exclude_and_the_flags(
    sandbox: Sandbox,
    fs: httpx.Client,
    timeline: str,
    context: dict[str, Any],
    shown: set[str],
) -> None:
    data = context_of(fs, timeline, {"context": context})

    always = {"session_id", "session_url", "session_created_at"}
    assert set(data["context"]) == always | shown


@pytest.mark.parametrize(
    ("slice_", "kept"),
    [
        ({}, ["Open", "Scroll", "Click", "Leave"]),
        ({"mode": "FIRST", "event_limit": 2}, ["Open", "Scroll"]),
        ({"mode": "LAST", "event_limit": 2}, ["Click", "Leave"]),
        ({"mode": "UNSPECIFIED", "event_limit": 0}, ["Open", "Scroll", "Click", "Leave"]),
        ({"duration_limit_ms": "3000"}, ["Open", "Scroll", "Click"]),
        ({"mode": "LAST", "duration_limit_ms": "7000"}, ["Click", "Leave"]),
        ({"end_timestamp": "2024-02-01T10:00:03Z"}, ["Open", "Scroll"]),
        (
            {"mode": "TIMESTAMP", "start_timestamp": "2024-02-01T10:00:01Z", "event_limit": 2},
            ["Scroll", "Click"],
        ),
        (
            {
                "mode": "TIMESTAMP",
                "start_timestamp": "2024-02-01T11:00:01+01:00",
                "duration_limit_ms": "2000",
            },
            ["Scroll", "Click"],
        ),
    ],
)
def test_context_keeps_the_slice_asked_for(
    sandbox: Sandbox, fs: httpx.Client, timeline: str, slice_: dict[str, Any], kept: list[str]
) -> None:
    data = context_of(fs, timeline, {"slice": slice_})

    assert sorted(described(data)) == sorted(kept)
    in_time_order = sorted(
        (e["timestamp"], e["description"]) for page in data["pages"] for e in page["events"]
    )
    assert [name for _, name in in_time_order] == kept


@pytest.mark.parametrize(
    ("events", "kept"),
    [
        ({"include_types": ["custom"]}, 4),
        ({"include_types": ["click"]}, 0),
        ({"exclude_types": ["custom"]}, 0),
        ({"exclude_types": ["navigate"]}, 4),
        ({"exclude_api_events": True}, 0),
    ],
)
def test_context_keeps_the_event_types_asked_for(
    sandbox: Sandbox, fs: httpx.Client, timeline: str, events: dict[str, Any], kept: int
) -> None:
    data = context_of(fs, timeline, {"events": events})

    assert len(described(data)) == kept
    if not kept:
        assert data["pages"] == []


def test_context_can_leave_out_the_event_timestamps(
    sandbox: Sandbox, fs: httpx.Client, timeline: str
) -> None:
    data = context_of(fs, timeline, {"events": {"exclude_event_timestamps": True}})

    events = [e for page in data["pages"] for e in page["events"]]
    assert len(events) == 4
    assert all(set(e) == {"type", "description", "properties"} for e in events)


def test_context_of_an_unknown_session_is_404(sandbox: Sandbox, fs: httpx.Client) -> None:
    response = fs.post(f"/v2/sessions/{encoded(NUMERIC_SESSION)}/context", json={})

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ({"slice": {"mode": "MIDDLE"}}, ("slice.mode",)),
        ({"slice": {"mode": "TIMESTAMP"}}, ("slice.start_timestamp",)),
        ({"slice": {"event_limit": "many"}}, ("slice.event_limit",)),
        ({"slice": {"duration_limit_ms": "soon"}}, ("slice.duration_limit_ms",)),
        ({"slice": {"end_timestamp": "yesterday"}}, ("slice.end_timestamp",)),
        ({"slice": []}, ("slice",)),
        ({"context": {"include": ["weather"]}}, ("context.include[0]",)),
        ({"context": {"exclude_device": "yes"}}, ("context.exclude_device",)),
        ({"events": {"include_types": "custom"}}, ("events.include_types",)),
        ({"cache": {"enable_event_cache": 1}}, ("cache.enable_event_cache",)),
    ],
)
def test_context_refuses_bad_options(
    sandbox: Sandbox,
    fs: httpx.Client,
    timeline: str,
    body: dict[str, Any],
    fragments: tuple[str, ...],
) -> None:
    assert_400(fs.post(f"/v2/sessions/{encoded(timeline)}/context", json=body), *fragments)


# ---- the pipeline on the new routes --------------------------------------------------------------


def test_a_configured_fault_hits_list_sessions(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.create_session(uid="faulty")
    sandbox.set_faults(error_rate=1, paths=["/v2/sessions"])

    failed = fs.get("/v2/sessions", params={"uid": "faulty"})
    unaffected = fs.get("/v2/organization/quotas")

    assert failed.status_code == 500
    assert failed.json()["code"] == "server_error"
    assert unaffected.status_code == 200
    stats = sandbox.stats()
    assert stats["faults_injected"] == {"error": 1}
    assert stats["requests"]["GET /v2/sessions"] == {"500": 1}
    sandbox.set_faults()
    assert len(sessions_of(fs, uid="faulty")) == 1


def test_the_new_routes_need_a_key(sandbox: Sandbox, raw: httpx.Client) -> None:
    for method, path in [
        ("GET", "/v2/sessions?uid=x"),
        ("GET", f"/v2/sessions/{encoded(NUMERIC_SESSION)}/events"),
        ("POST", "/v2/annotations"),
        ("GET", "/v2/organization/quotas"),
        ("GET", "/v2/visit_profile"),
    ]:
        response = raw.request(method, path, json={"text": "t"} if method == "POST" else None)
        assert response.status_code == 401, (method, path)
