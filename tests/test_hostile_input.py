"""Hostile input at the call site: a typed error naming the field, never another exception.

Every public input of both APIs is fed values that JSON cannot carry or the API refuses: objects
that contain themselves, nesting a thousand levels deep, integers beyond 64 bits, NaN and
Infinity, strings with lone surrogates, datetimes across the whole range with odd tzinfos,
timestamps as strings. Each call either succeeds, and then what it would send is JSON that the
sandbox takes, or raises FSInvalidArgumentError / SmartlookInvalidArgumentError whose ``field``
names the input and whose message can be printed. Calls that would reach the network are checked
through the pure request builders (what the clients call before sending) and, end to end, against
the ``sandbox`` fixture.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import smartlook_bytes, track_bytes

from session_analytics import fullstory
from session_analytics.errors import (
    FSInvalidArgumentError,
    SmartlookInvalidArgumentError,
)
from session_analytics.fullstory import BatchJobOptions, _inputs, _requests
from session_analytics.fullstory._track import track_payload
from session_analytics.sandbox import Sandbox, spec
from session_analytics.sandbox.fullstory import checked_properties
from session_analytics.smartlook import Smartlook
from session_analytics.smartlook._events import event_payload

UTC = dt.timezone.utc
PLUS_5 = dt.timezone(dt.timedelta(hours=5))
MINUS_5 = dt.timezone(dt.timedelta(hours=-5))
FAST = BatchJobOptions(poll_interval=0.05)
# Whatever the input, no error may come from the safety net that turns a surprise into a
# typed error: each refusal has a reason of its own.
SAFETY_NET = "could not be read"


# ---- hostile values ---------------------------------------------------------------------------


class RaisingTz(dt.tzinfo):
    def utcoffset(self, moment: dt.datetime | None) -> dt.timedelta:
        raise RuntimeError("no offset today")

    def dst(self, moment: dt.datetime | None) -> dt.timedelta:
        raise RuntimeError("no dst today")


class NoOffsetTz(dt.tzinfo):  # aware by type, naive by its answer
    def utcoffset(self, moment: dt.datetime | None) -> None:
        return None

    def dst(self, moment: dt.datetime | None) -> None:
        return None


class FullDayTz(dt.tzinfo):  # an offset Python itself refuses (not strictly within a day)
    def utcoffset(self, moment: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(hours=24)

    def dst(self, moment: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(0)


class TextTz(dt.tzinfo):  # not even a timedelta
    def utcoffset(self, moment: dt.datetime | None) -> Any:
        return "+02:00"

    def dst(self, moment: dt.datetime | None) -> Any:
        return None


class SecondsTz(dt.tzinfo):  # odd but valid: 13 h 59 min 59.5 s east
    def utcoffset(self, moment: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(hours=13, minutes=59, seconds=59, microseconds=500_000)

    def dst(self, moment: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(0)


ZONES = [zoneinfo.ZoneInfo(name) for name in ("Pacific/Kiritimati", "America/St_Johns", "UTC")]
ODD_TZINFOS = [RaisingTz(), NoOffsetTz(), FullDayTz(), TextTz(), SecondsTz(), *ZONES]

FIXED_OFFSETS = st.builds(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)),
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
)
DATETIMES = st.one_of(
    st.datetimes(),  # naive
    st.builds(lambda moment, tz: moment.replace(tzinfo=tz), st.datetimes(), FIXED_OFFSETS),
    st.builds(
        lambda moment, tz: moment.replace(tzinfo=tz), st.datetimes(), st.sampled_from(ODD_TZINFOS)
    ),
    st.sampled_from(
        [
            dt.datetime(1, 1, 1, tzinfo=PLUS_5),  # before the year 1 in UTC
            dt.datetime(1, 1, 1, 4, 59, tzinfo=PLUS_5),
            dt.datetime(9999, 12, 31, 23, 0, tzinfo=MINUS_5),  # after 9999 in UTC
            dt.datetime(9999, 12, 31, 18, 59, 59, 999999, tzinfo=MINUS_5),
            dt.datetime.max.replace(tzinfo=zoneinfo.ZoneInfo("America/St_Johns")),
            dt.datetime.min.replace(tzinfo=zoneinfo.ZoneInfo("Pacific/Kiritimati")),
        ]
    ),
)
SURROGATES = st.characters(categories=["Cs"])
TEXT = st.one_of(
    st.text(max_size=10),
    st.text(alphabet=st.one_of(st.characters(), SURROGATES), min_size=1, max_size=6),
)
NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,7}", fullmatch=True)
KEYS = st.one_of(
    NAMES, NAMES, TEXT, st.integers(-2, 2), st.none(), st.booleans(), st.tuples(st.integers())
)
HUGE_INTS = st.one_of(
    st.integers(min_value=2**63 - 2, max_value=2**64 + 2),
    st.integers(min_value=-(2**63) - 2, max_value=-(2**63) + 2),
    st.sampled_from([10**400, -(10**400), 2**1000]),
)
TIMESTAMP_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "2024-02-01T12:30:00Z",
            "2024-02-01T12:30Z",
            "20240201T123000Z",
            "2024-02-01 12:30:00Z",
            "2024-W05-4T12:30:00Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2024-02-30T00:00:00Z",
            "2024-02-01T12:30:00.1234567891Z",
            "2024-02-01T12:30:00\ud800Z",
        ]
    ),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE_INTS,
    st.floats(),  # NaN and both infinities included
    TEXT,
    TIMESTAMP_TEXT,
    DATETIMES,
    st.dates(),
    st.binary(max_size=4),
    st.sets(st.integers(), max_size=2),
    st.complex_numbers(max_magnitude=4),
    st.just(object()),
)


def json_ish(leaves: st.SearchStrategy[Any] = SCALARS) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.tuples(inner, inner),
            st.dictionaries(KEYS, inner, max_size=3),
        ),
        max_leaves=10,
    )


def with_cycle(base: dict[Any, Any], key: str, how: int) -> dict[Any, Any]:
    """``base`` made to contain itself: directly, through a list, or through a nested dict."""
    if how == 0:
        base[key] = base
    elif how == 1:
        base[key] = [1, base]
    else:
        base[key] = {"inner": {"deeper": base}}
    return base


def deep(levels: int, how: int) -> Any:
    """``levels`` dicts, lists, or both in turn, one inside the other."""
    value: Any = 1
    for level in range(levels):
        value = {"a": value} if how == 0 or (how == 2 and level % 2) else [value]
    return value


CYCLES = st.builds(
    with_cycle, st.dictionaries(NAMES, SCALARS, max_size=2), NAMES, st.integers(0, 2)
)
DEEP = st.builds(deep, st.integers(min_value=150, max_value=1200), st.integers(0, 2))
HOSTILE = st.one_of(
    json_ish(), CYCLES, DEEP, st.builds(lambda v: {"p": v}, st.one_of(CYCLES, DEEP))
)


def mostly(
    valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Three valid values to one hostile: so that a check late in the order (``schema`` after
    ``name``) sees hostile values too, not only what an earlier field let through."""
    return st.integers(0, 3).flatmap(lambda pick: hostile if pick == 0 else valid)


VALID_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
HOSTILE_PROPERTIES = st.one_of(
    st.dictionaries(NAMES, json_ish(), max_size=4),
    st.dictionaries(KEYS, json_ish(), max_size=3),
    CYCLES,
    st.builds(lambda v: {"p": v}, DEEP),
    HOSTILE,
)
HOSTILE_TIMESTAMPS = st.one_of(DATETIMES, TIMESTAMP_TEXT, st.integers(), st.dates())
PROPERTIES = mostly(
    st.dictionaries(
        NAMES,
        st.one_of(
            VALID_SCALARS,
            st.lists(st.text(max_size=5), max_size=3),
            st.dictionaries(NAMES, VALID_SCALARS, max_size=3),
        ),
        max_size=4,
    ),
    HOSTILE_PROPERTIES,
)
SCHEMAS = mostly(
    st.one_of(
        st.none(),
        st.builds(
            lambda types: {"properties": types},
            st.dictionaries(NAMES, st.sampled_from(["str", "int", "real", "bool"]), max_size=2),
        ),
    ),
    st.one_of(
        st.builds(lambda types: {"properties": types}, st.dictionaries(KEYS, TEXT, max_size=2)),
        HOSTILE,
    ),
)
USERS_REF = mostly(
    st.one_of(st.none(), st.builds(lambda uid: {"uid": uid}, NAMES)),
    st.one_of(
        st.fixed_dictionaries({}, optional={"uid": TEXT, "id": TEXT}),
        st.dictionaries(KEYS, SCALARS, max_size=2),
        HOSTILE,
    ),
)
SESSIONS = mostly(
    st.none(),
    st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "id": st.one_of(TEXT, st.just("1:2"), st.integers()),
                "use_most_recent": st.one_of(st.booleans(), SCALARS),
            },
        ),
        HOSTILE,
    ),
)
CONTEXTS = mostly(
    st.one_of(st.none(), st.just({"browser": {"url": "https://example.com/"}})),
    st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "browser": st.fixed_dictionaries({}, optional={"url": TEXT}),
                "device": st.fixed_dictionaries(
                    {},
                    optional={"screen_width": st.one_of(st.integers(), HUGE_INTS, st.floats())},
                ),
                "location": st.fixed_dictionaries(
                    {},
                    optional={
                        "latitude": st.one_of(st.floats(), HUGE_INTS),
                        "country": TEXT,
                    },
                ),
            },
        ),
        HOSTILE,
    ),
)
TIMESTAMPS = mostly(
    st.one_of(
        st.none(),
        st.just("2024-02-01T12:30:00Z"),
        st.datetimes(timezones=st.just(UTC), min_value=dt.datetime(1, 1, 2)),
    ),
    HOSTILE_TIMESTAMPS,
)
EVENT_NAMES = mostly(st.one_of(st.just("Paid"), NAMES), st.one_of(TEXT, SCALARS))
IDEMPOTENCY_KEYS = mostly(
    st.one_of(st.none(), st.just("order-1234")), st.one_of(TEXT, st.integers())
)


@st.composite
def events(draw: st.DrawFn) -> Any:
    """An event as a dict with any of its fields, or something that is no event at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(HOSTILE)
    fields = {
        "name": EVENT_NAMES,
        "timestamp": TIMESTAMPS,
        "user": USERS_REF,
        "session": SESSIONS,
        "context": CONTEXTS,
        "properties": st.one_of(st.none(), PROPERTIES),
        "schema": SCHEMAS,
    }
    event = {"name": draw(EVENT_NAMES)}
    for name, strategy in fields.items():
        if draw(st.booleans()):
            event[name] = draw(strategy)
    return event


@st.composite
def users(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(HOSTILE)
    fields = {
        "uid": mostly(NAMES, TEXT),
        "display_name": mostly(NAMES, st.one_of(TEXT, SCALARS)),
        "email": mostly(st.just("ann@example.com"), TEXT),
        "id": mostly(st.just("123"), TEXT),
        "properties": PROPERTIES,
        "schema": SCHEMAS,
        "displayName": TEXT,
    }
    return {
        name: draw(strategy)
        for name, strategy in fields.items()
        if draw(st.integers(0, 3)) == 0 or name == "properties"
    }


# ---- what every outcome must look like ---------------------------------------------------------


def refused_well(error: Exception, kind: type[Exception]) -> None:
    """A refusal: the typed error, a field, a message that names it and can be printed."""
    assert type(error) is kind, repr(error)
    field = error.field  # type: ignore[attr-defined]
    assert isinstance(field, str)
    message = str(error)
    message.encode("utf-8")  # printable: a lone surrogate in a field name is escaped
    field.encode("utf-8")
    assert SAFETY_NET not in message, message
    if not field:  # the request as a whole (not a dict at all)
        assert message.startswith("the request must be a dict"), message
        return
    assert message.startswith(field[:60]), (field, message)
    reason = message[message.index(": ") + 2 :] if ": " in message else ""
    assert reason.strip(), message


def outcome(call: Callable[[], Any], kind: type[Exception]) -> Any:
    """What ``call`` returns, or None after checking the typed error it raised. Any other
    exception goes through: that is what these tests look for."""
    try:
        return call()
    except kind as error:
        refused_well(error, kind)
        return None


def as_httpx_sends(body: Any) -> Any:
    """The body encoded as httpx encodes a ``json=`` body, and read back: raises if the
    request would have failed while being built."""
    return json.loads(
        json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    )


def sandbox_takes_event(event: dict[str, Any]) -> None:
    assert spec.problem("fullstory", "CreateEventRequest", event) is None, event
    checked_properties(event)


def sandbox_takes_user(user: dict[str, Any], schema_name: str) -> None:
    assert spec.problem("fullstory", schema_name, user) is None, user
    checked_properties(user)


# ---- property-based: every public input ----------------------------------------------------------

SETTINGS = settings(max_examples=150, deadline=None)


@SETTINGS
@given(
    name=EVENT_NAMES,
    user=USERS_REF,
    session=SESSIONS,
    properties=st.one_of(st.none(), PROPERTIES),
    context=CONTEXTS,
    timestamp=TIMESTAMPS,
    schema=SCHEMAS,
)
def test_track_refuses_with_a_typed_error_or_builds_json_the_api_takes(
    name: Any,
    user: Any,
    session: Any,
    properties: Any,
    context: Any,
    timestamp: Any,
    schema: Any,
) -> None:
    payload = outcome(
        lambda: track_payload(name, user, session, properties, context, timestamp, schema),
        FSInvalidArgumentError,
    )
    if payload is not None:
        sandbox_takes_event(orjson.loads(payload))


@SETTINGS
@given(properties=HOSTILE_PROPERTIES, timestamp=st.one_of(st.none(), HOSTILE_TIMESTAMPS))
def test_hostile_properties_and_timestamps_in_every_call(properties: Any, timestamp: Any) -> None:
    """Each call on its own, so that no other field is refused first."""
    payload = outcome(
        lambda: track_payload("Paid", None, None, properties, None, timestamp, None),
        FSInvalidArgumentError,
    )
    if payload is not None:
        sandbox_takes_event(orjson.loads(payload))
    event = {"name": "Paid", "properties": properties, "timestamp": timestamp}
    if outcome(lambda: _inputs.event_request(event), FSInvalidArgumentError) is not None:
        sandbox_takes_event(as_httpx_sends(_inputs.event_request(event)))
    user = {"uid": "u1", "properties": properties}
    if outcome(lambda: _inputs.user_request(user), FSInvalidArgumentError) is not None:
        sandbox_takes_user(as_httpx_sends(_inputs.user_request(user)), "CreateUserRequest")
    item = outcome(
        lambda: _requests.prepare_item("users", user, "items[0]"), FSInvalidArgumentError
    )
    if item is not None:
        sandbox_takes_user(as_httpx_sends(item), "BatchUserImportRequest")


@SETTINGS
@given(event=events(), key=IDEMPOTENCY_KEYS)
def test_events_create_refuses_with_a_typed_error_or_sends_json_the_api_takes(
    event: Any, key: Any
) -> None:
    call = outcome(lambda: _requests.create_event_call(event, key), FSInvalidArgumentError)
    if call is not None:
        sandbox_takes_event(as_httpx_sends(_inputs.event_request(event)))


@SETTINGS
@given(user=users(), key=IDEMPOTENCY_KEYS, user_id=st.one_of(st.just("123"), TEXT, SCALARS))
def test_users_create_and_update_refuse_with_a_typed_error(
    user: Any, key: Any, user_id: Any
) -> None:
    if outcome(lambda: _requests.create_user_call(user, key), FSInvalidArgumentError) is not None:
        sandbox_takes_user(as_httpx_sends(_inputs.user_request(user)), "CreateUserRequest")
    if (
        outcome(lambda: _requests.update_user_call(user_id, user), FSInvalidArgumentError)
        is not None
    ):
        sandbox_takes_user(as_httpx_sends(_inputs.user_request(user)), "UpdateUserRequest")


@SETTINGS
@given(item=st.one_of(events(), users()), kind=st.sampled_from(["users", "events"]))
def test_batch_and_import_items_refuse_with_a_typed_error_naming_their_index(
    item: Any, kind: Any
) -> None:
    prepared = outcome(
        lambda: _requests.prepare_item(kind, item, "items[41]"), FSInvalidArgumentError
    )
    if prepared is None:
        with pytest.raises(FSInvalidArgumentError) as caught:
            _requests.prepare_item(kind, item, "items[41]")
        assert caught.value.field is not None
        assert caught.value.field.startswith("items[41]")
        return
    body = as_httpx_sends(prepared)
    if kind == "events":
        sandbox_takes_event(body)
    else:
        sandbox_takes_user(body, "BatchUserImportRequest")


@pytest.fixture(scope="module")
def offline_fs() -> Iterator[fullstory.FullStory]:
    """A client whose calls here never get as far as the network."""
    client = fullstory.FullStory(api_key="unused-key", base_url="http://127.0.0.1:9")
    yield client
    client.close(timeout=1)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(requests=st.lists(st.one_of(events(), users()), min_size=1, max_size=3))
def test_batch_create_refuses_with_a_typed_error_naming_the_request(
    offline_fs: fullstory.FullStory, requests: list[Any]
) -> None:
    for create in (offline_fs.events.batch_create, offline_fs.users.batch_create):
        refusal = None
        try:
            create(requests)
        except FSInvalidArgumentError as error:
            refusal = error
        if refusal is not None:
            refused_well(refusal, FSInvalidArgumentError)
            assert refusal.field is not None
            assert refusal.field.startswith("requests[")


SMARTLOOK_VALUES = st.one_of(st.none(), TEXT, SCALARS, HOSTILE)
SMARTLOOK_PROPS = st.one_of(
    st.none(),
    st.dictionaries(TEXT, st.one_of(TEXT, st.integers(), HUGE_INTS, st.floats(), st.booleans())),
    st.dictionaries(KEYS, SCALARS, max_size=3),
    HOSTILE,
)


@SETTINGS
@given(
    vid=mostly(st.just("v1"), st.one_of(TEXT, SCALARS)),
    name=mostly(st.just("signup"), st.one_of(TEXT, SCALARS)),
    value=mostly(st.none(), SMARTLOOK_VALUES),
    props=SMARTLOOK_PROPS,
    sid=mostly(st.none(), SMARTLOOK_VALUES),
    event_type=mostly(st.sampled_from(["custom", "error"]), st.one_of(TEXT, SCALARS)),
)
def test_smartlook_event_refuses_with_a_typed_error_or_builds_json_the_api_takes(
    vid: Any, name: Any, value: Any, props: Any, sid: Any, event_type: Any
) -> None:
    payload = outcome(
        lambda: event_payload(vid, name, value, props, sid, event_type),
        SmartlookInvalidArgumentError,
    )
    if payload is not None:
        body = {"events": [orjson.loads(payload)]}
        assert spec.problem("smartlook", "EventsRequest", body) is None


# ---- the cases of the issue, named ----------------------------------------------------------


def cyclic() -> dict[str, Any]:
    properties: dict[str, Any] = {"plan": "pro"}
    properties["self"] = properties
    return properties


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels):
        value = {"a": value}
    return value


YEAR_1 = dt.datetime(1, 1, 1, 2, 0, tzinfo=PLUS_5)  # 0000-12-31T21:00 in UTC
YEAR_9999 = dt.datetime(9999, 12, 31, 22, 0, tzinfo=MINUS_5)  # 10000-01-01T03:00 in UTC


def refused(call: Callable[[], Any], kind: type[Exception] = FSInvalidArgumentError) -> Any:
    with pytest.raises(kind) as caught:
        call()
    refused_well(caught.value, kind)
    return caught.value


def track_event(**given: Any) -> bytes:
    return track_bytes(**given)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda p: track_event(properties=p), id="track"),
        pytest.param(
            lambda p: track_event(properties=p, timestamp="2024-02-01T12:30:00Z"),
            id="track-general-path",
        ),
        pytest.param(lambda p: _inputs.event_request({"name": "x", "properties": p}), id="event"),
        pytest.param(lambda p: _inputs.user_request({"properties": p}), id="user"),
    ],
)
def test_an_object_that_contains_itself_is_named_where_it_loops(call: Any) -> None:
    error = refused(lambda: call(cyclic()))
    assert error.field == "properties.self"
    assert "refers back to an object that holds it (a cycle)" in str(error)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda p: track_event(properties=p), id="track"),
        pytest.param(
            lambda p: track_event(properties=p, timestamp="2024-02-01T12:30:00Z"),
            id="track-general-path",
        ),
        pytest.param(lambda p: _inputs.event_request({"name": "x", "properties": p}), id="event"),
        pytest.param(lambda p: _inputs.user_request({"properties": p}), id="user"),
    ],
)
def test_properties_nested_a_thousand_deep_are_refused_by_name(call: Any) -> None:
    error = refused(lambda: call(nested(1000)))
    assert error.field.startswith("properties.a.a.a.")
    assert "nested more than 200 levels deep" in str(
        error
    ) or "the dotted name is longer than 512 characters" in str(error)


def test_nesting_the_api_takes_but_json_encoders_do_not_is_refused_by_name() -> None:
    """253 levels in ``p``: a dotted name of 510 characters, which the API takes; but the
    request would be 255 levels deep, beyond what the JSON encoder takes."""
    properties = {"p": nested(252)}
    error = refused(lambda: track_event(properties=properties))
    assert error.field.startswith("properties.p.a.a")
    assert "nested more than 200 levels deep" in str(error)


@pytest.mark.parametrize("moment", [YEAR_1, YEAR_9999], ids=["year-1", "year-9999"])
@pytest.mark.parametrize(
    ("call", "field"),
    [
        pytest.param(lambda m: track_event(timestamp=m), "timestamp", id="track"),
        pytest.param(
            lambda m: _inputs.event_request({"name": "x", "timestamp": m}), "timestamp", id="event"
        ),
        pytest.param(
            lambda m: track_event(properties={"at": m}), "properties.at", id="track-property"
        ),
        pytest.param(
            lambda m: _inputs.user_request({"properties": {"at": m}}),
            "properties.at",
            id="user-property",
        ),
    ],
)
def test_an_aware_datetime_outside_utc_years_1_to_9999_is_refused(
    call: Any, field: str, moment: dt.datetime
) -> None:
    error = refused(lambda: call(moment))
    assert error.field == field
    assert "in UTC it falls outside the years 0001 to 9999" in str(error)


def test_the_last_moments_inside_the_range_are_sent() -> None:
    first = dt.datetime(1, 1, 1, 5, 0, tzinfo=PLUS_5)
    last = dt.datetime(9999, 12, 31, 18, 59, 59, 999999, tzinfo=MINUS_5)
    assert orjson.loads(track_event(timestamp=first))["timestamp"] == "0001-01-01T00:00:00.000Z"
    assert orjson.loads(track_event(timestamp=last))["timestamp"] == "9999-12-31T23:59:59.999Z"


@pytest.mark.parametrize(
    ("tz", "reason"),
    [
        (RaisingTz(), "its tzinfo gave no offset (RuntimeError('no offset today'))"),
        (NoOffsetTz(), "a naive datetime has no time zone"),
        (FullDayTz(), "its tzinfo gave no offset (ValueError("),
        (TextTz(), "its tzinfo gave no offset (TypeError("),
    ],
)
def test_a_tzinfo_that_gives_no_usable_offset_is_refused_with_its_reason(
    tz: dt.tzinfo, reason: str
) -> None:
    moment = dt.datetime(2024, 2, 1, 12, 30, tzinfo=tz)
    for call in (
        lambda: track_event(timestamp=moment),
        lambda: _inputs.event_request({"name": "x", "timestamp": moment}),
    ):
        error = refused(call)
        assert error.field == "timestamp"
        assert reason in str(error)


def test_an_offset_with_seconds_is_converted_to_utc() -> None:
    moment = dt.datetime(2024, 2, 1, 14, 0, 0, tzinfo=SecondsTz())
    sent = orjson.loads(track_event(timestamp=moment))["timestamp"]
    assert sent == "2024-02-01T00:00:00.500Z"


@pytest.mark.parametrize(
    ("properties", "field", "reason"),
    [
        ({"n": 2**64}, "properties.n", "beyond 64 bits"),
        ({"n": -(2**63) - 1}, "properties.n", "beyond 64 bits"),
        ({"n": [1, 10**400]}, "properties.n[1]", "beyond 64 bits"),
        ({"s": "a\ud800b"}, "properties.s", "lone surrogate"),
        ({"\ud800": 1}, "properties['\\ud800']", ""),
        ({"ok": {"\udfff": 1}}, "properties.ok['\\udfff']", ""),
        ({"n": math.nan}, "properties.n", "NaN"),
    ],
)
def test_values_json_cannot_carry_are_refused_by_every_call(
    properties: dict[str, Any], field: str, reason: str
) -> None:
    for call in (
        lambda: track_event(properties=properties),
        lambda: _inputs.event_request({"name": "x", "properties": properties}),
        lambda: _inputs.user_request({"properties": properties}),
        lambda: _requests.prepare_item("users", {"properties": properties}, ""),
    ):
        error = refused(call)
        assert error.field == field
        assert reason in str(error)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: _inputs.event_request({"name": "x\ud800"}), "name"),
        (lambda: track_event(name="x\ud800"), "name"),
        (lambda: _inputs.user_request({"uid": "\udc00"}), "uid"),
        (lambda: track_event(user={"uid": "\udc00"}), "user.uid"),
        (lambda: _requests.get_user_call("1\ud800", False), "id"),
        (
            lambda: _requests.list_users_call(
                uid="\ud800",
                email=None,
                display_name=None,
                is_identified=None,
                page_token=None,
                include_schema=False,
            ),
            "uid",
        ),
        (
            lambda: _inputs.event_request(
                {"name": "x", "context": {"location": {"latitude": 10**400}}}
            ),
            "context.location.latitude",
        ),
        (lambda: _requests.create_event_call({"name": "x"}, "clé"), "idempotency_key"),
        (lambda: _requests.create_user_call({"uid": "u"}, "key\n"), "idempotency_key"),
        (lambda: _inputs.event_request({"name": "x", 1: 2}), "1"),
    ],
)
def test_other_inputs_json_or_http_cannot_carry_are_refused(call: Any, field: str) -> None:
    assert refused(call).field == field


# ---- end to end, against the sandbox: nothing is sent for a refused input --------------------


@pytest.fixture
def fs(sandbox: Sandbox) -> Iterator[fullstory.FullStory]:
    client = fullstory.FullStory(api_key=sandbox.api_key, base_url=sandbox.url, max_retries=0)
    yield client
    client.close(timeout=2)


def test_events_create_users_create_update_and_track_send_nothing_when_refused(
    sandbox: Sandbox, fs: fullstory.FullStory
) -> None:
    calls: list[tuple[Callable[[], Any], str]] = [
        (lambda: fs.events.create({"name": "x", "properties": cyclic()}), "properties.self"),
        (lambda: fs.events.create({"name": "x", "properties": nested(1000)}), "properties.a"),
        (lambda: fs.events.create({"name": "x", "timestamp": YEAR_1}), "timestamp"),
        (lambda: fs.events.create({"name": "x", "timestamp": "2024-02-01T12:30Z"}), "timestamp"),
        (lambda: fs.users.create({"uid": "u1", "properties": cyclic()}), "properties.self"),
        (lambda: fs.users.update("123", {"properties": nested(1000)}), "properties.a"),
        (lambda: fs.events.track("x", timestamp=YEAR_9999), "timestamp"),
        (lambda: fs.events.track("x", properties=cyclic()), "properties.self"),
        (lambda: fs.events.track("x", session={"id": "s1"}), "session.id"),
    ]
    for call, field in calls:
        error = refused(call)
        assert error.field.startswith(field)
    fs.flush(timeout=2)
    assert sandbox.requests() == []
    assert fs.stats().enqueued == 0


def test_batch_create_refuses_a_bad_request_by_its_position(fs: fullstory.FullStory) -> None:
    good = {"name": "ok"}
    bad = {"name": "x", "properties": cyclic()}
    error = refused(lambda: fs.events.batch_create([good, good, bad]))
    assert error.field == "requests[2].properties.self"
    error = refused(lambda: fs.users.batch_create([{"uid": "u"}, {"properties": nested(1000)}]))
    assert error.field.startswith("requests[1].properties.a.a")


def test_import_reports_each_bad_item_by_its_index_and_imports_the_rest(
    sandbox: Sandbox, fs: fullstory.FullStory
) -> None:
    items = [
        {"name": "first"},
        {"name": "cycle", "properties": cyclic()},
        {"name": "deep", "properties": nested(1000)},
        {"name": "year one", "timestamp": YEAR_1},
        {"name": "no seconds", "timestamp": "2024-02-01T12:30Z"},
        {"name": "bad session", "session": {"id": "s1"}},
        {"name": "surrogate \ud800"},
        {"name": "last", "properties": {"n": 1}},
    ]

    result = fs.events.import_(items, options=FAST)

    assert result.imported == 2
    assert [failure.index for failure in result.failed] == [1, 2, 3, 4, 5, 6]
    assert {failure.code for failure in result.failed} == {"invalid_argument"}
    assert [failure.job_id for failure in result.failed] == [None] * 6
    assert result.failed[0].message.startswith("items[1].properties.self: ")
    assert result.failed[2].message.startswith("items[3].timestamp: ")
    assert result.failed[3].message.startswith("items[4].timestamp: ")
    assert result.failed[4].message.startswith("items[5].session.id: ")
    assert result.failed[5].message.startswith("items[6].name: ")
    assert sorted(e["name"] for e in sandbox.events("fullstory")) == ["first", "last"]


def test_users_import_reports_a_cyclic_item_and_imports_the_rest(
    sandbox: Sandbox, fs: fullstory.FullStory
) -> None:
    items = [{"uid": "a"}, {"uid": "b", "properties": cyclic()}, {"uid": "c"}]
    result = fs.users.import_(items, options=FAST)
    assert result.imported == 2
    assert [(f.index, f.code) for f in result.failed] == [(1, "invalid_argument")]


# ---- Smartlook: a props key with a lone surrogate, and friends ------------------------------


def smartlook_event(**given: Any) -> bytes:
    return smartlook_bytes(**given)


@pytest.mark.parametrize(
    ("given", "field", "reason"),
    [
        ({"props": {"\ud800": 1}}, "props['\\ud800']", "lone surrogate"),
        ({"props": {"ok": 1, "a\udfffb": "x"}}, "props['a\\udfffb']", "lone surrogate"),
        ({"props": {"\ud800": None}}, "props['\\ud800']", "values are strings"),
        ({"props": {"s": "\ud800"}}, "props.s", "surrogates not allowed"),
        ({"props": {"n": 2**64}}, "props.n", "64-bit"),
        ({"vid": "v\ud800"}, "vid", "surrogates not allowed"),
        ({"value": "\udc00"}, "value", "surrogates not allowed"),
        ({"sid": "\udc00"}, "sid", "surrogates not allowed"),
    ],
)
def test_smartlook_names_the_field_and_gives_the_reason(
    given: dict[str, Any], field: str, reason: str
) -> None:
    error = refused(lambda: smartlook_event(**given), SmartlookInvalidArgumentError)
    assert error.field == field
    assert str(error).startswith(f"{field}: ")
    assert reason in str(error)


def test_smartlook_event_refuses_a_surrogate_key_before_queueing(sandbox: Sandbox) -> None:
    client = Smartlook(key=sandbox.smartlook_key, host=sandbox.url, check=False)
    try:
        error = refused(
            lambda: client.event("v1", "signup", props={"\ud800": 1}),
            SmartlookInvalidArgumentError,
        )
        assert error.field == "props['\\ud800']"
        assert client.stats().enqueued == 0
    finally:
        client.stop(timeout=2)
