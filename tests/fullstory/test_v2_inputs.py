"""The input checks of sessions, summaries, summary profiles, annotations, quotas and queued user
creates: each refusal is an FSInvalidArgumentError naming the field, raised before any I/O (the
scripted server fails the test on any request it was not given)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from scripted_http import Harness, resolve

from fullstory_api.models import ResponseSchema, SliceSettings, SliceSettingsMode
from session_analytics.errors import FSInvalidArgumentError
from session_analytics.fullstory import _v2_inputs, _v2_requests

SESSION = "406214335320288249:3829143070270885557"
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def refused(field: str, make: Callable[[], Any]) -> FSInvalidArgumentError:
    with pytest.raises(FSInvalidArgumentError) as raised:
        make()
    assert raised.value.field == field, raised.value.message
    assert field in raised.value.message
    return raised.value


# ---- sessions.list ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "uid"),
        ({"session_uid": "s1", "uid": "u1"}, "uid"),
        ({"session_uid": "s1", "email": "a@b.c"}, "email"),
        ({"uid": "u1", "limit": 0}, "limit"),
        ({"uid": "u1", "limit": -3}, "limit"),
        ({"uid": "u1", "limit": True}, "limit"),
        ({"uid": "u1", "limit": 2.0}, "limit"),
        ({"uid": 7}, "uid"),
        ({"email": ""}, "email"),
    ],
)
def test_session_lookups_are_checked(kwargs: dict[str, Any], field: str) -> None:
    given = {"uid": None, "email": None, "session_uid": None, "limit": None, **kwargs}
    refused(field, lambda: _v2_requests.list_sessions_call(**given))


def test_session_lookups_that_are_taken() -> None:
    for kwargs in (
        {"uid": "u1"},
        {"email": "a@b.c", "uid": "u1", "limit": 5},
        {"session_uid": "s"},
    ):
        given = {"uid": None, "email": None, "session_uid": None, "limit": None, **kwargs}
        assert _v2_requests.list_sessions_call(**given).what == "GET /v2/sessions"


@pytest.mark.parametrize(
    "session_id", ["", "abc", "1:2:3", "1", f"{2**64}:1", "406214335320288249/3829143070270885557"]
)
def test_session_ids_are_checked(session_id: str) -> None:
    refused("session_id", lambda: _v2_requests.session_events_call(session_id))


def test_session_ids_of_both_forms_are_taken() -> None:
    uuid_form = "2f2b6a7c-1c1e-4d3b-9a3e-3f0a1d2c4b5e:7d8e9f00-1111-4222-8333-944455556666"
    for session_id in (SESSION, uuid_form):
        assert _v2_requests.session_events_call(session_id).kwargs["session_id"] == session_id


# ---- context settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        ({"slice": {"mode": "first"}}, "slice.mode"),
        ({"slice": {"mode": "MIDDLE"}}, "slice.mode"),
        ({"slice": {"event_limit": "10"}}, "slice.event_limit"),
        ({"slice": {"event_limit": True}}, "slice.event_limit"),
        ({"slice": {"duration_limit_ms": 1.5}}, "slice.duration_limit_ms"),
        ({"slice": {"duration_limit_ms": "ten"}}, "slice.duration_limit_ms"),
        ({"slice": {"duration_limit_ms": 2**63}}, "slice.duration_limit_ms"),
        ({"slice": {"start_timestamp": datetime(2026, 5, 1)}}, "slice.start_timestamp"),
        ({"slice": {"end_timestamp": "2026-05-01T12:00:00"}}, "slice.end_timestamp"),
        ({"slice": {"start_timestamp": NOW, "end_timestamp": NOW}}, "slice.end_timestamp"),
        (
            {"slice": {"start_timestamp": NOW, "end_timestamp": NOW - timedelta(seconds=1)}},
            "slice.end_timestamp",
        ),
        ({"slice": {"limit": 3}}, "slice.limit"),
        ({"context": {"include": ["user", "browser"]}}, "context.include[1]"),
        ({"context": {"exclude": "user"}}, "context.exclude"),
        ({"context": {"include": ["User"]}}, "context.include[0]"),
        ({"context": {"exclude_device": "yes"}}, "context.exclude_device"),
        ({"events": {"include_types": [1]}}, "events.include_types[0]"),
        ({"events": {"trim_to_last_n_selectors": 2**40}}, "events.trim_to_last_n_selectors"),
        ({"cache": {"enable_event_cache": 1}}, "cache.enable_event_cache"),
        ({"cache": []}, "cache"),
    ],
)
def test_context_settings_are_checked(parts: dict[str, Any], field: str) -> None:
    refused(field, lambda: _v2_inputs.context_parts(**parts))


def test_context_settings_are_normalised_for_the_wire() -> None:
    body = _v2_inputs.context_parts(
        slice={
            "mode": "TIMESTAMP",
            "duration_limit_ms": 60_000,
            "start_timestamp": NOW,
            "end_timestamp": "2026-05-01T15:00:00+02:00",  # 13:00 UTC: after the start
        },
        context={"include": ("user", "device"), "exclude_org_context": True},
        events={"include_types": ["click"], "trim_to_last_n_selectors": 3},
        cache={"enable_event_cache": False},
    )
    assert body["slice"] == {
        "mode": "TIMESTAMP",
        "duration_limit_ms": "60000",  # a 64-bit integer: the API writes it as a string
        "start_timestamp": "2026-05-01T12:00:00.000Z",
        "end_timestamp": "2026-05-01T15:00:00+02:00",  # a string goes out as given
    }
    assert body["context"] == {"include": ["user", "device"], "exclude_org_context": True}


def test_start_and_end_one_instant_apart_in_other_zones_are_refused() -> None:
    refused(
        "slice.end_timestamp",
        lambda: _v2_inputs.context_parts(
            slice={
                "start_timestamp": "2026-05-01T12:00:00Z",
                "end_timestamp": "2026-05-01T14:00:00+02:00",
            }
        ),
    )


def test_generated_models_are_taken_as_inputs() -> None:
    model = SliceSettings(
        mode=SliceSettingsMode.LAST, event_limit=5, duration_limit_ms="1000", start_timestamp=NOW
    )
    body = _v2_inputs.context_parts(slice=model)
    assert body["slice"]["mode"] == "LAST"
    assert body["slice"]["duration_limit_ms"] == "1000"
    naive = SliceSettings(start_timestamp=datetime(2026, 5, 1))
    refused("slice.start_timestamp", lambda: _v2_inputs.context_parts(slice=naive))


# ---- llm settings and the response schema -----------------------------------------------------


@pytest.mark.parametrize(
    ("llm", "field"),
    [
        ({"pre_prompt": 3}, "llm.pre_prompt"),
        ({"temperature": "hot"}, "llm.temperature"),
        ({"temperature": float("nan")}, "llm.temperature"),
        ({"response_schema": {"type": "string"}}, "llm.response_schema.type"),
        (
            {"response_schema": {"type": "OBJECT", "properties": []}},
            "llm.response_schema.properties",
        ),
        (
            {"response_schema": {"type": "OBJECT", "properties": {"n": {"type": "integer"}}}},
            "llm.response_schema.properties.n.type",
        ),
        (
            {"response_schema": {"type": "ARRAY", "items": {"type": "OBJECT", "nullable": "no"}}},
            "llm.response_schema.items.nullable",
        ),
        (
            {"response_schema": {"type": "ARRAY", "items": {"kind": "STRING"}}},
            "llm.response_schema.items.kind",
        ),
        ({"response_schema": {"required": "n"}}, "llm.response_schema.required"),
        ({"model": "x"}, "llm.model"),
    ],
)
def test_llm_settings_are_checked_with_the_path_of_the_field(
    llm: dict[str, Any], field: str
) -> None:
    refused(field, lambda: _v2_inputs.llm_settings(llm))


def test_a_lower_case_type_name_is_told_its_spelling() -> None:
    error = refused(
        "llm.response_schema.type",
        lambda: _v2_inputs.llm_settings({"response_schema": {"type": "boolean"}}),
    )
    assert "BOOLEAN" in error.message


def test_a_deep_response_schema_is_refused_not_recursed_forever() -> None:
    schema: dict[str, Any] = {"type": "STRING"}
    for _ in range(100):
        schema = {"type": "ARRAY", "items": schema}
    with pytest.raises(FSInvalidArgumentError) as raised:
        _v2_inputs.llm_settings({"response_schema": schema})
    assert raised.value.field is not None
    assert raised.value.field.startswith("llm.response_schema.items.items")


def test_a_response_schema_model_and_nested_properties_are_taken() -> None:
    model = ResponseSchema.from_dict(
        {"type": "OBJECT", "properties": {"tags": {"type": "ARRAY", "items": {"type": "STRING"}}}}
    )
    body = _v2_inputs.llm_settings({"temperature": 0, "response_schema": model})
    assert body["response_schema"]["properties"]["tags"]["items"] == {"type": "STRING"}


# ---- summaries ----------------------------------------------------------------------------------


def test_a_summary_without_overrides_is_a_get_with_its_query() -> None:
    call = _v2_requests.session_summary_call(
        SESSION, profile_id="p1", end_timestamp="2026-05-01T12:00:00Z", overrides={}
    )
    assert call.what.startswith("GET ")
    assert call.kwargs["config_profile"] == "p1"
    assert call.kwargs["end_timestamp"].isoformat() == "2026-05-01T12:00:00Z"


def test_a_summary_with_overrides_is_a_post_with_the_end_in_the_slice() -> None:
    call = _v2_requests.session_summary_call(
        SESSION,
        profile_id="p1",
        end_timestamp=NOW,
        overrides={"slice": {"mode": "LAST"}, "llm": {"post_prompt": "Bye"}},
    )
    assert call.what.startswith("POST ")
    assert call.kwargs["body"].to_dict() == {
        "config_profile": "p1",
        "slice": {"mode": "LAST", "end_timestamp": "2026-05-01T12:00:00.000Z"},
        "llm": {"post_prompt": "Bye"},
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"end_timestamp": datetime(2026, 5, 1)}, "end_timestamp"),
        ({"end_timestamp": "yesterday"}, "end_timestamp"),
        ({"profile_id": ""}, "profile_id"),
        ({"overrides": {"slice": {"start_timestamp": "2026-05-01T13:00:00Z"}}}, "end_timestamp"),
        ({"overrides": {"slice": {"end_timestamp": "2026-05-01T11:00:00Z"}}}, "end_timestamp"),
    ],
)
def test_summary_inputs_are_checked(kwargs: dict[str, Any], field: str) -> None:
    given = {"profile_id": None, "end_timestamp": NOW, "overrides": {}, **kwargs}
    refused(field, lambda: _v2_requests.session_summary_call(SESSION, **given))


# ---- summary profiles ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ({"name": 1}, "profile.name"),
        ({"slice": {"mode": "NEWEST"}}, "profile.slice.mode"),
        ({"llm": {"response_schema": {"type": "object"}}}, "profile.llm.response_schema.type"),
        ({"configuration": {}}, "profile.configuration"),
        ("not a profile", "profile"),
    ],
)
def test_profiles_are_checked(profile: Any, field: str) -> None:
    refused(field, lambda: _v2_requests.create_summary_profile_call(profile))
    refused(field, lambda: _v2_requests.update_summary_profile_call("p1", profile))


@pytest.mark.parametrize("limit", [0, 101, True, "10"])
def test_profile_pages_hold_1_to_100(limit: Any) -> None:
    refused("limit", lambda: _v2_requests.list_summary_profiles_call(limit=limit, page_token=None))


def test_profile_ids_are_checked() -> None:
    refused("id", lambda: _v2_requests.get_summary_profile_call(""))
    refused("id", lambda: _v2_requests.delete_summary_profile_call(None))  # type: ignore[arg-type]


# ---- annotations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * 201}, "text"),
        ({"text": None}, "text"),
        ({"source": "s" * 41}, "source"),
        ({"start_time": datetime(2026, 5, 1)}, "start_time"),
        ({"start_time": "2026-05-01"}, "start_time"),
        ({"end_time": 1714560000}, "end_time"),
        ({"start_time": NOW, "end_time": NOW}, "end_time"),
        ({"start_time": NOW, "end_time": NOW - timedelta(minutes=1)}, "end_time"),
    ],
)
def test_annotation_inputs_are_checked(kwargs: dict[str, Any], field: str) -> None:
    given = {"text": "Deploy", "start_time": None, "end_time": None, "source": None, **kwargs}
    refused(field, lambda: _v2_requests.create_annotation_call(**given))


def test_annotation_limits_and_times_that_are_taken() -> None:
    body = _v2_inputs.annotation("x" * 200, NOW, "2026-05-01T12:30:00+00:00", "s" * 40)
    assert body == {
        "text": "x" * 200,
        "start_time": "2026-05-01T12:00:00.000Z",
        "end_time": "2026-05-01T12:30:00+00:00",
        "source": "s" * 40,
    }
    # An end alone is allowed: the API starts the annotation at its own clock.
    assert _v2_inputs.annotation("Deploy", None, NOW, None) == {
        "text": "Deploy",
        "end_time": "2026-05-01T12:00:00.000Z",
    }


# ---- through the facade, both clients: refused before any request -------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda fs: fs.sessions.list(), "uid"),
        (lambda fs: fs.sessions.list(session_uid="s", uid="u"), "uid"),
        (lambda fs: fs.sessions.events("1-2"), "session_id"),
        (lambda fs: fs.sessions.context(SESSION, slice={"mode": "first"}), "slice.mode"),
        (lambda fs: fs.sessions.summary(SESSION, llm={"temperature": "x"}), "llm.temperature"),
        (
            lambda fs: fs.sessions.summary(SESSION, end_timestamp=datetime(2026, 1, 1)),
            "end_timestamp",
        ),
        (lambda fs: fs.summary_profiles.list(limit=500), "limit"),
        (
            lambda fs: fs.summary_profiles.create({"llm": {"pre_prompt": 1}}),
            "profile.llm.pre_prompt",
        ),
        (lambda fs: fs.annotations.create(""), "text"),
        (lambda fs: fs.annotations.create("x", start_time=NOW, end_time=NOW), "end_time"),
        (lambda fs: fs.organization.check_quota(-1), "events"),
        (lambda fs: fs.organization.check_quota(True), "events"),
        (lambda fs: fs.users.create_queued({"uid": 5}), "uid"),
        (lambda fs: fs.users.create_queued({"uid": "u"}, idempotency_key=""), "idempotency_key"),
        (lambda fs: fs.users.queued_status(""), "request_id"),
        (lambda fs: fs.users.queued(""), "request_id"),
    ],
)
async def test_the_facade_refuses_before_any_request(
    call: Callable[[Any], Any], field: str, make: Callable[..., Harness]
) -> None:
    h = make()  # no answers: a request would fail the test
    with pytest.raises(FSInvalidArgumentError) as raised:
        await resolve(call(h.fs))
    assert raised.value.field == field
    assert h.server.seen == []
