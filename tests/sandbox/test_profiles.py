"""The sandbox's summary profiles (/v2/visit_profile) and session summaries over real HTTP: the
CRUD round trip, paging, the deterministic summary and structured response, overrides merged
over a profile, and every refusal.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from session_analytics.sandbox import Sandbox, spec

SCHEMA = {
    "type": "OBJECT",
    "properties": {
        "summary": {"type": "STRING"},
        "sentiment": {"type": "STRING", "enum": ["neutral", "negative"]},
        "steps": {"type": "ARRAY", "items": {"type": "STRING"}},
        "count": {"type": "INTEGER"},
        "score": {"type": "NUMBER"},
        "converted": {"type": "BOOLEAN"},
        "detail": {"type": "OBJECT", "properties": {"first": {"type": "STRING"}}},
    },
    "required": ["summary"],
}


def nulls_in(value: Any, where: str = "") -> list[str]:
    if value is None:
        return [where or "the body"]
    if isinstance(value, dict):
        return [n for key, inner in value.items() for n in nulls_in(inner, f"{where}.{key}")]
    if isinstance(value, list):
        return [n for i, inner in enumerate(value) for n in nulls_in(inner, f"{where}[{i}]")]
    return []


def conforms(body: Any, schema_name: str) -> None:
    """``body`` fits the spec's schema (the sandbox's own checker raises on a mismatch) and
    holds no null."""
    spec.validate("fullstory", schema_name, body)
    assert nulls_in(body) == []


def create(fs: httpx.Client, body: dict[str, Any]) -> str:
    response = fs.post("/v2/visit_profile", json=body)
    assert response.status_code == 200, response.text
    conforms(response.json(), "SummaryProfileId")
    profile_id: str = response.json()["id"]
    return profile_id


def read(fs: httpx.Client, profile_id: str) -> dict[str, Any]:
    response = fs.get(f"/v2/visit_profile/{profile_id}")
    assert response.status_code == 200, response.text
    conforms(response.json(), "SummaryProfile")
    body: dict[str, Any] = response.json()
    return body


def summary(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    conforms(response.json(), "SessionSummaryResponse")
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def session_id(sandbox: Sandbox, fs: httpx.Client) -> str:
    """A session with three events a second apart: Land, Browse, Pay."""
    for second, name in enumerate(["Land", "Browse", "Pay"]):
        event = {
            "name": name,
            "timestamp": f"2024-03-01T09:00:0{second}Z",
            "user": {"uid": "summed"},
            "session": {"use_most_recent": True},
        }
        assert fs.post("/v2/events", json=event).status_code == 200
    (listed,) = fs.get("/v2/sessions", params={"uid": "summed"}).json()["results"]
    found: str = listed["id"]
    return found


# ---- profiles ------------------------------------------------------------------------------------


def test_a_profile_round_trips_with_its_settings_under_configuration(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    body = {
        "name": "Checkout",
        "slice": {"mode": "LAST", "event_limit": 50},
        "context": {"exclude": ["org"]},
        "events": {"exclude_types": ["navigate"]},
        "cache": {"enable_event_cache": True},
        "llm": {"pre_prompt": "Be brief.", "temperature": 0.2, "response_schema": SCHEMA},
    }
    profile_id = create(fs, body)

    assert read(fs, profile_id) == {
        "id": profile_id,
        "name": "Checkout",
        "configuration": {
            "slice": {"mode": "LAST", "event_limit": 50},
            "context": {"exclude": ["org"]},
            "events": {"exclude_types": ["navigate"]},
            "cache": {"enable_event_cache": True},
        },
        "llm": {"pre_prompt": "Be brief.", "temperature": 0.2, "response_schema": SCHEMA},
    }


def test_an_empty_profile_reads_back_with_every_part_empty(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    profile_id = create(fs, {})

    assert read(fs, profile_id) == {
        "id": profile_id,
        "name": "",
        "configuration": {"slice": {}, "context": {}, "events": {}, "cache": {}},
        "llm": {},
    }


def test_update_replaces_the_profile_and_delete_forgets_it(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    profile_id = create(
        fs, {"name": "Old", "slice": {"event_limit": 5}, "llm": {"pre_prompt": "x"}}
    )

    updated = fs.post(f"/v2/visit_profile/{profile_id}", json={"name": "New"})
    assert updated.status_code == 200, updated.text
    assert updated.json() == {"id": profile_id}
    assert read(fs, profile_id)["name"] == "New"
    assert read(fs, profile_id)["configuration"]["slice"] == {}
    assert read(fs, profile_id)["llm"] == {}

    deleted = fs.delete(f"/v2/visit_profile/{profile_id}")
    assert deleted.status_code == 200
    assert deleted.json() == {}
    for response in (
        fs.get(f"/v2/visit_profile/{profile_id}"),
        fs.post(f"/v2/visit_profile/{profile_id}", json={}),
        fs.delete(f"/v2/visit_profile/{profile_id}"),
    ):
        assert response.status_code == 404
        assert set(response.json()) == {"code", "message"}


def test_profiles_are_listed_in_pages(sandbox: Sandbox, fs: httpx.Client) -> None:
    made = [create(fs, {"name": f"p{i}"}) for i in range(5)]

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"page_token": token} if token else {})}
        response = fs.get("/v2/visit_profile", params=params)
        assert response.status_code == 200, response.text
        conforms(response.json(), "ListSummaryProfilesResponse")
        seen += [p["id"] for p in response.json()["profiles"]]
        pages += 1
        token = response.json()["next_page_token"]
        if not token:
            break
    assert seen == made
    assert pages == 3
    default = fs.get("/v2/visit_profile").json()
    assert [p["id"] for p in default["profiles"]] == made
    assert default["next_page_token"] == ""


@pytest.mark.parametrize("limit", ["0", "101", "-1", "many"])
def test_list_profiles_refuses_a_bad_limit(sandbox: Sandbox, fs: httpx.Client, limit: str) -> None:
    response = fs.get("/v2/visit_profile", params={"limit": limit})

    assert response.status_code == 400, response.text
    assert "limit" in response.json()["message"]


def test_list_profiles_refuses_a_token_it_did_not_give(sandbox: Sandbox, fs: httpx.Client) -> None:
    response = fs.get("/v2/visit_profile", params={"page_token": "not-a-token"})

    assert response.status_code == 400
    assert "page_token" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([], "body"),
        ({"name": 7}, "name"),
        ({"slice": {"mode": "SIDEWAYS"}}, "slice.mode"),
        ({"context": {"include": ["planet"]}}, "context.include"),
        ({"llm": {"temperature": "hot"}}, "llm.temperature"),
        ({"llm": {"response_schema": {"type": "TEXT"}}}, "llm.response_schema.type"),
        ({"llm": {"response_schema": {"properties": {"a": {"type": "BLOB"}}}}}, "type"),
    ],
)
def test_a_bad_profile_is_refused(
    sandbox: Sandbox, fs: httpx.Client, body: Any, fragment: str
) -> None:
    profile_id = create(fs, {"name": "kept"})

    for response in (
        fs.post("/v2/visit_profile", json=body),
        fs.post(f"/v2/visit_profile/{profile_id}", json=body),
    ):
        assert response.status_code == 400, response.text
        assert fragment in response.json()["message"]
    assert read(fs, profile_id)["name"] == "kept"
    assert len(fs.get("/v2/visit_profile").json()["profiles"]) == 1


# ---- summaries -----------------------------------------------------------------------------------


def test_a_summary_without_profile_names_the_session_and_its_events(
    sandbox: Sandbox, fs: httpx.Client, session_id: str
) -> None:
    path = f"/v2/sessions/{session_id.replace(':', '%3A')}/summary"

    assert summary(fs.get(path)) == {
        "summary": f"Session {session_id}: 3 events: Land, Browse, Pay"
    }
    assert summary(fs.post(path, json={})) == summary(fs.get(path))


def test_a_summary_follows_the_profile_prompts_slice_and_schema(
    sandbox: Sandbox, fs: httpx.Client, session_id: str
) -> None:
    profile_id = create(
        fs,
        {
            "slice": {"mode": "LAST", "event_limit": 2},
            "llm": {"pre_prompt": "Before", "post_prompt": "After", "response_schema": SCHEMA},
        },
    )

    answer = summary(
        fs.get(f"/v2/sessions/{session_id}/summary", params={"config_profile": profile_id})
    )

    text = f"Before | Session {session_id}: 2 events: Browse, Pay | After"
    assert answer == {
        "summary": text,
        "response": {
            "summary": text,
            "sentiment": "neutral",
            "steps": ["Browse", "Pay"],
            "count": 2,
            "score": 2,
            "converted": True,
            "detail": {"first": text},
        },
        "response_schema": SCHEMA,
    }


def test_end_timestamp_keeps_the_events_before_it(
    sandbox: Sandbox, fs: httpx.Client, session_id: str
) -> None:
    answer = summary(
        fs.get(
            f"/v2/sessions/{session_id}/summary",
            params={"end_timestamp": "2024-03-01T09:00:02Z"},
        )
    )

    assert answer["summary"] == f"Session {session_id}: 2 events: Land, Browse"


def test_overrides_replace_values_and_add_to_arrays(
    sandbox: Sandbox, fs: httpx.Client, session_id: str
) -> None:
    profile_id = create(
        fs,
        {
            "slice": {"mode": "FIRST", "event_limit": 1},
            "events": {"include_types": ["click"]},
            "llm": {"pre_prompt": "Profile", "post_prompt": "Kept"},
        },
    )
    path = f"/v2/sessions/{session_id}/summary"
    # The profile keeps only "click" events: none of the sandbox's custom events.
    assert summary(fs.get(path, params={"config_profile": profile_id}))["summary"] == (
        f"Profile | Session {session_id}: 0 events | Kept"
    )

    answer = summary(
        fs.post(
            path,
            json={
                "config_profile": profile_id,
                "slice": {"mode": "LAST"},  # replaces the mode, keeps event_limit 1
                "events": {"include_types": ["custom"]},  # added to ["click"]
                "llm": {"pre_prompt": "Override"},
            },
        )
    )

    assert answer["summary"] == f"Override | Session {session_id}: 1 events: Pay | Kept"
    stored = read(fs, profile_id)  # the profile itself is unchanged
    assert stored["configuration"]["events"] == {"include_types": ["click"]}
    assert stored["llm"]["pre_prompt"] == "Profile"


def test_a_non_object_schema_answers_under_value(
    sandbox: Sandbox, fs: httpx.Client, session_id: str
) -> None:
    schema = {"type": "ARRAY", "items": {"type": "STRING"}}

    answer = summary(
        fs.post(f"/v2/sessions/{session_id}/summary", json={"llm": {"response_schema": schema}})
    )

    assert answer["response"] == {"value": ["Land", "Browse", "Pay"]}
    assert answer["response_schema"] == schema


def test_summary_of_an_unknown_session_or_profile_is_404(
    sandbox: Sandbox, fs: httpx.Client, session_id: str
) -> None:
    unknown_session = "/v2/sessions/111%3A222/summary"
    assert fs.get(unknown_session).status_code == 404
    assert fs.post(unknown_session, json={}).status_code == 404
    path = f"/v2/sessions/{session_id}/summary"
    missing = {"config_profile": "no-such-profile"}
    assert fs.get(path, params=missing).status_code == 404
    assert fs.post(path, json=missing).status_code == 404


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"config_profile": 5}, "config_profile"),
        ({"slice": {"event_limit": "x"}}, "slice.event_limit"),
        ({"llm": {"response_schema": {"enum": "a"}}}, "llm.response_schema.enum"),
    ],
)
def test_summary_refuses_bad_overrides(
    sandbox: Sandbox, fs: httpx.Client, session_id: str, body: dict[str, Any], fragment: str
) -> None:
    response = fs.post(f"/v2/sessions/{session_id}/summary", json=body)

    assert response.status_code == 400, response.text
    assert fragment in response.json()["message"]


def test_summary_refuses_a_bad_end_timestamp(
    sandbox: Sandbox, fs: httpx.Client, session_id: str
) -> None:
    response = fs.get(
        f"/v2/sessions/{session_id}/summary", params={"end_timestamp": "2024-03-01 09:00"}
    )

    assert response.status_code == 400, response.text
    assert "end_timestamp" in response.json()["message"]


def test_a_lone_surrogate_is_refused_and_a_pair_is_kept(sandbox: Sandbox, fs: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}

    lone = fs.post("/v2/visit_profile", content=b'{"name": "x\\ud800"}', headers=headers)
    pair = fs.post("/v2/visit_profile", content=b'{"name": "\\ud83d\\ude00"}', headers=headers)

    assert lone.status_code == 400, lone.text
    assert "lone surrogate" in lone.json()["message"]
    assert pair.status_code == 200, pair.text
    assert read(fs, pair.json()["id"])["name"] == "\U0001f600"
