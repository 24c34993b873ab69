"""The checks of what callers pass in, before any I/O: the typed error names the field; timestamps
given as strings must be RFC 3339.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import pytest
from scripted_http import Harness, failure

from fullstory_api.models import (
    CreateEventRequest,
    CreateUserRequest,
)
from session_analytics.errors import (
    FSInvalidArgumentError,
)
from session_analytics.fullstory import (
    _inputs,
    _requests,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ---- inputs -----------------------------------------------------------------------------------

PLUS_2 = dt.timezone(dt.timedelta(hours=2))

GOOD_USERS = [
    pytest.param({"uid": "u1"}, {"uid": "u1"}, id="uid"),
    pytest.param({"uid": "u" * 256, "email": "e" * 128}, {"uid": "u" * 256, "email": "e" * 128}),
    pytest.param({"uid": "u1", "email": None}, {"uid": "u1"}, id="none-dropped"),
    pytest.param(
        {"properties": {"plan": {"tier": "gold"}, "seats": 3}},
        {"properties": {"plan": {"tier": "gold"}, "seats": 3}},
        id="nested-properties",
    ),
    pytest.param(
        {"properties": {"at": dt.datetime(2024, 2, 1, 12, 30, tzinfo=PLUS_2)}},
        {"properties": {"at": "2024-02-01T10:30:00.000Z"}},
        id="aware-datetime-to-utc",
    ),
    pytest.param(
        {"properties": {"day": dt.date(2024, 2, 1)}},
        {"properties": {"day": "2024-02-01"}},
        id="date",
    ),
    pytest.param({"properties": {"t": ("a", "b")}}, {"properties": {"t": ["a", "b"]}}, id="tuple"),
    pytest.param(
        CreateUserRequest.from_dict({"uid": "u1", "display_name": "Ann"}),
        {"uid": "u1", "display_name": "Ann"},
        id="model",
    ),
    pytest.param(
        {"properties": {"n": 3}, "schema": {"properties": {"n": "int"}}},
        {"properties": {"n": 3}, "schema": {"properties": {"n": "int"}}},
        id="declared-type-fits",
    ),
]


@pytest.mark.parametrize(("given_user", "sent"), GOOD_USERS)
def test_good_users(given_user: Any, sent: dict[str, Any]) -> None:
    assert _inputs.user_request(given_user) == sent


BAD_USERS = [
    pytest.param({"displayName": "Ann"}, "displayName", "unknown field", id="camel-case-key"),
    pytest.param({"uid": "u" * 257}, "uid", "at most 256", id="uid-too-long"),
    pytest.param({"email": "e" * 129}, "email", "at most 128", id="email-too-long"),
    pytest.param({"uid": 7}, "uid", "must be a string", id="uid-not-string"),
    pytest.param({"properties": {"1st": 1}}, "properties.1st", "starts with a letter"),
    pytest.param({"properties": {"a-b": 1}}, "properties.a-b", "letters, digits"),
    pytest.param({"properties": {"plan": {"9x": 1}}}, "properties.plan.9x", "starts with"),
    pytest.param({"properties": {"tags": [{"a": 1}]}}, "properties.tags", "not objects"),
    pytest.param({"properties": {"mixed": [1, "a"]}}, "properties.mixed", "one type"),
    pytest.param({"properties": {f"p{i}": i for i in range(501)}}, "properties", "at most 500"),
    pytest.param({"properties": {"big": "x" * 8193}}, "properties.big", "8192 bytes"),
    pytest.param({"properties": {"a" * 513: 1}}, "properties." + "a" * 513, "512"),
    pytest.param(
        {"properties": {"at": dt.datetime(2024, 2, 1, 12, 30)}},
        "properties.at",
        "datetime.now(timezone.utc)",
        id="naive-datetime",
    ),
    pytest.param({"properties": {"x": math.nan}}, "properties.x", "NaN", id="nan"),
    pytest.param({"properties": {"x": math.inf}}, "properties.x", "Infinity", id="inf"),
    pytest.param({"properties": {"x": {1, 2}}}, "properties.x", "set is not", id="set"),
    pytest.param({"properties": {"x": object()}}, "properties.x", "object is not", id="object"),
    pytest.param({"properties": ["a"]}, "properties", "must be a dict", id="properties-list"),
    pytest.param(
        {"properties": {"n": "three"}, "schema": {"properties": {"n": "int"}}},
        "properties.n",
        "declared int",
        id="declared-type-misfit",
    ),
    pytest.param(
        {"schema": {"properties": {"n": "integer"}}},
        "schema.properties.n",
        "unknown type",
        id="unknown-declared-type",
    ),
    pytest.param(["uid"], "", "must be a dict", id="not-a-dict"),
]


@pytest.mark.parametrize(("given_user", "field", "reason"), BAD_USERS)
def test_bad_users(given_user: Any, field: str, reason: str) -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _inputs.user_request(given_user)
    assert info.value.field == field
    assert reason in str(info.value)


def test_batch_user_names_its_position() -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _inputs.batch_user_request({"uid": "u" * 257}, "requests[3]")
    assert info.value.field == "requests[3].uid"


GOOD_EVENTS = [
    pytest.param({"name": "Paid"}, {"name": "Paid"}, id="name-only"),
    pytest.param(
        {"name": "Paid", "user": {"uid": "u1"}, "session": {"use_most_recent": True}},
        {"name": "Paid", "user": {"uid": "u1"}, "session": {"use_most_recent": True}},
        id="most-recent-session-of-a-user",
    ),
    pytest.param(
        {"name": "Paid", "session": {"id": "406214335320288249:3829143070270885557"}},
        {"name": "Paid", "session": {"id": "406214335320288249:3829143070270885557"}},
        id="session-id",
    ),
    pytest.param(
        {"name": "Paid", "timestamp": dt.datetime(2024, 2, 1, 12, 30, tzinfo=PLUS_2)},
        {"name": "Paid", "timestamp": "2024-02-01T10:30:00.000Z"},
        id="aware-timestamp",
    ),
    pytest.param(
        {"name": "Paid", "timestamp": "2024-02-01T12:30:00Z", "user": None},
        {"name": "Paid", "timestamp": "2024-02-01T12:30:00Z"},
        id="iso-string-and-none-dropped",
    ),
    pytest.param(
        {"name": "Paid", "context": {"device": {"screen_width": 2**31 - 1}}},
        {"name": "Paid", "context": {"device": {"screen_width": 2**31 - 1}}},
        id="int32-max",
    ),
    pytest.param(
        CreateEventRequest.from_dict({"name": "Clicked", "user": {"uid": "u1"}}),
        {"name": "Clicked", "user": {"uid": "u1"}},
        id="model",
    ),
]


@pytest.mark.parametrize(("given_event", "sent"), GOOD_EVENTS)
def test_good_events(given_event: Any, sent: dict[str, Any]) -> None:
    assert _inputs.event_request(given_event) == sent


BAD_EVENTS = [
    pytest.param({}, "name", "events must have a non-empty name", id="no-name"),
    pytest.param({"name": ""}, "name", "events must have a non-empty name", id="empty-name"),
    pytest.param({"name": "x", "user": {"id": "1", "uid": "u"}}, "user", "not both", id="id+uid"),
    pytest.param(
        {"name": "x", "session": {"id": "s1"}, "user": {"uid": "u"}},
        "session.id",
        "do not also give user",
        id="session+user",
    ),
    pytest.param(
        {"name": "x", "session": {"id": "s1", "use_most_recent": True}},
        "session",
        "not both",
        id="session-id+most-recent",
    ),
    pytest.param(
        {"name": "x", "session": {"use_most_recent": True}},
        "session.use_most_recent",
        "needs exactly one",
        id="most-recent-without-user",
    ),
    pytest.param(
        {"name": "x", "context": {"device": {"screen_width": 2**31}}},
        "context.device.screen_width",
        "32 bits",
        id="int32-overflow",
    ),
    pytest.param(
        {"name": "x", "context": {"device": {"screen_width": True}}},
        "context.device.screen_width",
        "integer",
        id="bool-is-not-int",
    ),
    pytest.param(
        {"name": "x", "context": {"location": {"latitude": math.nan}}},
        "context.location.latitude",
        "NaN",
        id="nan-latitude",
    ),
    pytest.param(
        {"name": "x", "timestamp": dt.datetime(2024, 2, 1)},
        "timestamp",
        "naive",
        id="naive-timestamp",
    ),
    pytest.param({"name": "x", "timestamp": "yesterday"}, "timestamp", "ISO 8601"),
    pytest.param({"name": "x", "userId": "u1"}, "userId", "unknown field", id="camel-case"),
    pytest.param({"name": "x", "user": {"email": "a@b"}}, "user.email", "unknown field"),
]


@pytest.mark.parametrize(("given_event", "field", "reason"), BAD_EVENTS)
def test_bad_events(given_event: Any, field: str, reason: str) -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _inputs.event_request(given_event)
    assert info.value.field == field
    assert reason in str(info.value)


@pytest.mark.anyio
async def test_bad_input_is_refused_before_any_io(make: Callable[..., Harness]) -> None:
    h = make()
    err = await failure(
        FSInvalidArgumentError, lambda: h.fs.users.create({"uid": "u1", "displayName": "Ann"})
    )
    assert err.field == "displayName"
    assert h.server.seen == []


# ---- timestamps given as strings --------------------------------------------------------------

# The API takes an RFC 3339 date-time (``format: date-time``): the offset is not optional.
NAIVE_TIMESTAMPS = [
    "2024-02-01T12:30:00",
    "2024-02-01T12:30:00.250",
    "2024-02-01t12:30:00",
]
NO_OFFSET_HINT = "add Z or an offset like +02:00"


@pytest.mark.parametrize("naive", NAIVE_TIMESTAMPS)
def test_a_timestamp_string_needs_its_offset(naive: str) -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _inputs.timestamp(naive, "timestamp")
    assert info.value.field == "timestamp"
    assert "time zone" in str(info.value)
    assert NO_OFFSET_HINT in str(info.value)
    # The same instant with its offset goes through as it was written.
    for aware in (f"{naive}Z", f"{naive}+02:00", f"{naive}-05:30"):
        assert _inputs.timestamp(aware, "timestamp") == aware


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("yesterday", id="words"),
        pytest.param("2024-02-01", id="date-only"),
        pytest.param("2024-02-01T12:30:00UTC", id="zone-name"),
    ],
)
def test_a_timestamp_that_is_no_date_time_asks_for_one_with_a_time_zone(value: str) -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _inputs.timestamp(value, "timestamp")
    assert info.value.field == "timestamp"
    assert "must be an ISO 8601 date-time with a time zone" in str(info.value)
    assert NO_OFFSET_HINT not in str(info.value)  # the offset is not all that is missing


@pytest.mark.parametrize("naive", NAIVE_TIMESTAMPS)
def test_the_sdk_and_the_api_agree_on_the_offset(naive: str) -> None:
    """What the SDK lets through the API takes (the sandbox checks bodies against the spec)."""
    from session_analytics.sandbox import spec

    problem = spec.problem("fullstory", "CreateEventRequest", {"name": "x", "timestamp": naive})
    assert problem is not None
    assert "with a time zone" in problem
    for aware in (f"{naive}Z", f"{naive}+02:00"):
        body = {"name": "x", "timestamp": aware}
        assert spec.problem("fullstory", "CreateEventRequest", body) is None
        assert _inputs.event_request({"name": "x", "timestamp": aware})["timestamp"] == aware


@pytest.mark.anyio
async def test_create_refuses_a_naive_timestamp_string_before_any_io(
    make: Callable[..., Harness],
) -> None:
    h = make()
    err = await failure(
        FSInvalidArgumentError,
        lambda: h.fs.events.create({"name": "Late", "timestamp": "2024-01-01T00:00:00"}),
    )
    assert err.field == "timestamp"
    assert "time zone" in str(err)
    assert NO_OFFSET_HINT in str(err)
    assert h.server.seen == []


@pytest.mark.anyio
async def test_track_refuses_a_naive_timestamp_string_before_queueing(
    make: Callable[..., Harness],
) -> None:
    h = make()
    with pytest.raises(FSInvalidArgumentError) as info:
        h.fs.events.track("Late", user={"uid": "u1"}, timestamp="2024-01-01T00:00:00")
    assert info.value.field == "timestamp"
    assert NO_OFFSET_HINT in str(info.value)
    assert h.fs.stats().enqueued == 0
    assert h.server.seen == []


def test_a_batch_job_refuses_a_naive_timestamp_string() -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _requests.prepare_item(
            "events", {"name": "e", "timestamp": "2024-01-01T00:00:00"}, "requests[4]"
        )
    assert info.value.field == "requests[4].timestamp"
    assert NO_OFFSET_HINT in str(info.value)
