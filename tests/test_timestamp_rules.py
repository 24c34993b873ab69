"""Timestamps and session ids: what the API refuses, the SDK refuses at the call site.

The SDK (``_inputs``, ``track()``) and the sandbox (its schema check and its session rules) use
one function per rule, in ``session_analytics._rules``. These tests hold both sides to the same
table of values, through the SDK's checks and through the sandbox over HTTP, and against an
oracle of their own written from RFC 3339.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import track_bytes

from session_analytics import _rules
from session_analytics.errors import FSInvalidArgumentError
from session_analytics.fullstory import _inputs, _requests
from session_analytics.sandbox import Sandbox, spec

UTC = dt.timezone.utc

# ---- the tables -------------------------------------------------------------------------------

VALID_TIMESTAMPS = [
    "2024-02-01T12:30:00Z",
    "2024-02-01T12:30:00.5Z",
    "2024-02-01T12:30:00.123Z",
    "2024-02-01T12:30:00.123456789Z",
    "2024-02-01T14:30:00+02:00",
    "2024-02-01T07:00:00-05:30",
    "2024-02-01t12:30:00z",  # RFC 3339 allows lower case
    "2024-02-29T00:00:00Z",  # a leap year
    "2000-02-29T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:30:00+00:30",  # 0001-01-01T00:00:00Z in UTC
    "9999-12-31T23:59:59.999999999Z",
    "9999-12-31T23:30:00-00:29",
    "2024-02-01T23:59:59+23:59",
]

# (value, a part of the reason)
INVALID_TIMESTAMPS = [
    ("2024-02-01T12:30Z", "seconds"),
    ("2024-02-01T12:30+02:00", "seconds"),
    ("20240201T123000Z", "separators"),
    ("2024-02-01 12:30:00Z", "a T goes between"),
    ("2024-W05-4T12:30:00Z", "week"),
    ("2024W054T123000Z", "week"),
    ("2024-032T12:30:00Z", "ordinal"),
    ("2024-02-01T12:30:00+0200", "+HH:MM"),
    ("2024-02-01T12:30:00+02", "+HH:MM"),
    ("2024-02-01T12:30:00", "add Z or an offset"),
    ("2024-02-01T12:30:00.250", "add Z or an offset"),
    ("2024-02-01", "not a date alone"),
    ("2024-02-30T12:30:00Z", "no day 2024-02-30"),
    ("2023-02-29T12:00:00Z", "no day"),
    ("1900-02-29T12:00:00Z", "no day"),
    ("2024-13-01T00:00:00Z", "no day"),
    ("2024-00-10T00:00:00Z", "no day"),
    ("0000-01-01T00:00:00Z", "no day"),
    ("2024-02-01T24:00:00Z", "no time 24:00:00"),
    ("2024-02-01T12:60:00Z", "no time"),
    ("2024-12-31T23:59:60Z", "no time"),  # leap seconds are not taken
    ("2024-02-01T12:30:00.1234567890Z", "at most 9 digits"),
    ("2024-02-01T12:30:00+24:00", "no offset +24:00"),
    ("2024-02-01T12:30:00+02:60", "no offset"),
    ("0001-01-01T00:00:00+01:00", "outside the years 0001 to 9999"),
    ("9999-12-31T23:59:59-00:01", "outside the years 0001 to 9999"),
    ("2024-02-01T12:30:00UTC", ""),
    ("2024-02-01T12:30:00 Z", ""),
    ("2024-02-01T12:30:00.Z", ""),
    ("2024-02-01T12:30:00Z ", ""),
    ("2024-02-01T12:30:00Z\n", ""),
    (" 2024-02-01T12:30:00Z", ""),
    ("+2024-02-01T12:30:00Z", ""),
    ("2024-2-1T12:30:00Z", ""),
    ("\uff12\uff10\uff12\uff14-02-01T12:30:00Z", ""),  # full-width digits are no digits here
    ("\u0662\u0660\u0662\u0664-02-01T12:30:00Z", ""),  # nor are Arabic-Indic ones
    ("yesterday", ""),
    ("", ""),
]

NUMERIC_SESSION = "406214335320288249:3829143070270885557"
UUID_A = "0f8fad5b-d9cb-469f-a165-70867728950e"
UUID_B = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
VALID_SESSION_IDS = [
    NUMERIC_SESSION,
    "1:2",
    "0:0",
    f"{2**64 - 1}:{2**64 - 1}",
    f"{UUID_A}:{UUID_B}",
    f"{UUID_A.upper()}:{UUID_B}",
]
INVALID_SESSION_IDS = [
    "s1",
    "12345",
    "1:",
    ":1",
    "1:2:3",
    "1 :2",
    " 1:2",
    "1:2\n",
    "-1:2",
    "1.5:2",
    "abc:def",
    "12:ab",
    f"{2**64}:1",  # beyond 64 bits
    "123456789012345678901:1",
    "\u0661:\u0662",  # Arabic-Indic digits
    "\uff11:\uff12",  # full-width digits
    UUID_A,
    f"{UUID_A}:12",
    f"{UUID_A}:zz",
    f"{UUID_A[:-1]}:{UUID_B}",
    f"{{{UUID_A}}}:{UUID_B}",
]


# ---- an oracle of our own, written from RFC 3339 §5.6 -----------------------------------------

RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def oracle_accepts(text: str) -> bool:
    """RFC 3339 syntax, then Python's own reading of the instant (a fraction cut to 6 digits,
    which Python keeps), within the years 0001 to 9999 in UTC. No leap seconds."""
    found = RFC3339.fullmatch(text)
    if found is None:
        return False
    if found[8][0] in "+-" and int(found[8][4:]) > 59:  # Python would take +02:60 as +03:00
        return False
    fraction = f".{found[7][:6]}" if found[7] else ""
    zone = found[8].upper().replace("Z", "+00:00")
    normalised = f"{text[:10]}T{text[11:19]}{fraction}{zone}"
    try:
        dt.datetime.fromisoformat(normalised).astimezone(UTC)
    except (ValueError, OverflowError):
        return False
    return True


def test_the_oracle_reads_the_table_as_the_rule_does() -> None:
    assert all(oracle_accepts(value) for value in VALID_TIMESTAMPS)
    assert not any(oracle_accepts(value) for value, _ in INVALID_TIMESTAMPS)


def refusal(call: Callable[[], Any]) -> FSInvalidArgumentError | None:
    """The FSInvalidArgumentError that ``call`` raises, or None when it returns."""
    try:
        call()
    except FSInvalidArgumentError as error:
        return error
    return None


# ---- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", VALID_TIMESTAMPS)
def test_the_rule_takes_rfc_3339(value: str) -> None:
    assert _rules.timestamp_problem(value) is None
    assert _rules.is_timestamp(value)


@pytest.mark.parametrize(("value", "reason"), INVALID_TIMESTAMPS)
def test_the_rule_refuses_the_rest_and_says_why(value: str, reason: str) -> None:
    problem = _rules.timestamp_problem(value)
    assert problem is not None
    assert problem.startswith("must be an ISO 8601 date-time with a time zone")
    assert reason in problem
    assert not _rules.is_timestamp(value)


# ---- the SDK: every way a timestamp comes in --------------------------------------------------


def track_event(**given: Any) -> dict[str, Any]:
    event: dict[str, Any] = orjson.loads(track_bytes(**given))
    return event


@pytest.mark.parametrize("value", VALID_TIMESTAMPS)
def test_the_sdk_sends_a_valid_timestamp_as_written(value: str) -> None:
    assert _inputs.timestamp(value, "timestamp") == value
    assert _inputs.event_request({"name": "x", "timestamp": value})["timestamp"] == value
    assert track_event(timestamp=value)["timestamp"] == value
    item = _requests.prepare_item("events", {"name": "x", "timestamp": value}, "items[0]")
    assert item["timestamp"] == value


@pytest.mark.parametrize(("value", "reason"), INVALID_TIMESTAMPS)
def test_the_sdk_refuses_at_the_call_site(value: str, reason: str) -> None:
    problem = _rules.timestamp_problem(value)
    calls = [
        ("timestamp", lambda: _inputs.event_request({"name": "x", "timestamp": value})),
        ("timestamp", lambda: track_event(timestamp=value)),
        (
            "items[7].timestamp",
            lambda: _requests.prepare_item("events", {"name": "x", "timestamp": value}, "items[7]"),
        ),
    ]
    for field, call in calls:
        with pytest.raises(FSInvalidArgumentError) as caught:
            call()
        assert caught.value.field == field
        assert str(caught.value) == f"{field}: {problem}"


# ---- the sandbox: the same table over HTTP ----------------------------------------------------


@pytest.fixture
def fs_http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.url,
        headers={"Authorization": f"Basic {sandbox.api_key}"},
        timeout=30.0,
    ) as client:
        yield client


def sandbox_refusal(fs_http: httpx.Client, body: dict[str, Any]) -> str | None:
    """The sandbox's message for ``body`` sent to POST /v2/events, or None when it took it."""
    response = fs_http.post("/v2/events", json=body)
    if response.status_code == 200:
        return None
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_argument"
    message: str = response.json()["message"]
    return message


def test_the_sandbox_takes_every_valid_timestamp(sandbox: Sandbox, fs_http: httpx.Client) -> None:
    for value in VALID_TIMESTAMPS:
        assert sandbox_refusal(fs_http, {"name": "x", "timestamp": value}) is None, value
    assert [e["timestamp"] for e in sandbox.events("fullstory")] == VALID_TIMESTAMPS


def test_the_sandbox_refuses_every_invalid_timestamp_with_the_same_reason(
    sandbox: Sandbox, fs_http: httpx.Client
) -> None:
    for value, _ in INVALID_TIMESTAMPS:
        message = sandbox_refusal(fs_http, {"name": "x", "timestamp": value})
        assert message == f"timestamp {_rules.timestamp_problem(value)}", value
    assert sandbox.events("fullstory") == []


def test_the_sandbox_schema_check_uses_the_rule() -> None:
    """Without HTTP: the compiled schema's date-time format is the rule."""
    for value in VALID_TIMESTAMPS:
        assert (
            spec.problem("fullstory", "CreateEventRequest", {"name": "x", "timestamp": value})
            is None
        )
    for value, _ in INVALID_TIMESTAMPS:
        body = {"name": "x", "timestamp": value}
        assert spec.problem("fullstory", "CreateEventRequest", body) == (
            f"timestamp {_rules.timestamp_problem(value)}"
        )


def test_an_events_import_item_with_a_bad_timestamp_fails_alone_in_the_sandbox(
    sandbox: Sandbox, fs_http: httpx.Client
) -> None:
    body = {
        "requests": [
            {"name": "ok", "timestamp": "2024-02-01T12:30:00Z"},
            {"name": "bad", "timestamp": "2024-02-01T12:30Z"},
        ]
    }
    response = fs_http.post("/v2/events/batch", json=body)
    assert response.status_code == 200, response.text
    job_id = response.json()["job"]["id"]
    deadline = time.monotonic() + 10
    status = fs_http.get(f"/v2/events/batch/{job_id}").json()
    while status["job"]["status"] == "PROCESSING" and time.monotonic() < deadline:
        time.sleep(0.05)
        status = fs_http.get(f"/v2/events/batch/{job_id}").json()
    assert status["job"]["status"] == "FAILED"
    errors = fs_http.get(f"/v2/events/batch/{job_id}/errors").json()["results"]
    assert [e["event"]["name"] for e in errors] == ["bad"]
    assert "seconds" in errors[0]["message"]


# ---- session ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", VALID_SESSION_IDS)
def test_a_valid_session_id_passes_both_sides(
    value: str, sandbox: Sandbox, fs_http: httpx.Client
) -> None:
    assert _rules.session_id_problem(value) is None
    event = {"name": "x", "session": {"id": value}}
    assert _inputs.event_request(event)["session"] == {"id": value}
    assert track_event(session={"id": value})["session"] == {"id": value}
    assert sandbox_refusal(fs_http, event) is None


@pytest.mark.parametrize("value", INVALID_SESSION_IDS)
def test_a_malformed_session_id_is_refused_by_both_sides(
    value: str, sandbox: Sandbox, fs_http: httpx.Client
) -> None:
    problem = _rules.session_id_problem(value)
    assert problem is not None
    assert problem.startswith("must be '<device id>:<session id>'")
    event = {"name": "x", "session": {"id": value}}
    for call in (lambda: _inputs.event_request(event), lambda: track_event(session={"id": value})):
        with pytest.raises(FSInvalidArgumentError) as caught:
            call()
        assert caught.value.field == "session.id"
        assert str(caught.value) == f"session.id: {problem}"
    assert sandbox_refusal(fs_http, event) == f"session.id {problem}"


def test_an_empty_session_id_is_no_session_id_on_both_sides(
    sandbox: Sandbox, fs_http: httpx.Client
) -> None:
    """The API reads "" as a field not given; so do the SDK and the sandbox."""
    event = {"name": "x", "session": {"id": ""}, "user": {"uid": "u1"}}
    assert _inputs.event_request(event)["session"] == {"id": ""}
    assert sandbox_refusal(fs_http, event) is None


# ---- property-based: the two sides and the oracle agree on any string -------------------------

DIGIT = st.sampled_from("0123456789")


@st.composite
def near_timestamps(draw: st.DrawFn) -> str:
    """Strings shaped like date-times, with each part sometimes off."""

    def digits(n: int) -> str:
        return "".join(draw(st.lists(DIGIT, min_size=n, max_size=n)))

    year = draw(st.sampled_from(["0000", "0001", "1999", "2024", "9999", digits(4), digits(3)]))
    month = draw(st.sampled_from(["01", "02", "12", "13", "00", digits(2), "1"]))
    day = draw(st.sampled_from(["01", "28", "29", "30", "31", "32", digits(2)]))
    sep = draw(st.sampled_from(["T", "t", " ", "", "_"]))
    hour = draw(st.sampled_from(["00", "12", "23", "24", digits(2)]))
    minute = draw(st.sampled_from(["00", "59", "60", digits(2)]))
    second = draw(st.sampled_from([":00", ":59", ":60", "", f":{digits(2)}"]))
    fraction = draw(st.sampled_from(["", ".", ".5", ".123456", ".123456789", ".1234567890"]))
    zone = draw(
        st.sampled_from(
            ["Z", "z", "", "+02:00", "-05:30", "+0200", "+02", "+23:59", "+24:00", "-00:01", "UTC"]
        )
    )
    date_sep = draw(st.sampled_from(["-", "-", "-", ""]))
    return f"{year}{date_sep}{month}{date_sep}{day}{sep}{hour}:{minute}{second}{fraction}{zone}"


SOME_TEXT = st.one_of(near_timestamps(), st.text(max_size=40))


@settings(max_examples=300, deadline=None)
@given(SOME_TEXT)
def test_the_rule_agrees_with_the_oracle(value: str) -> None:
    assert (_rules.timestamp_problem(value) is None) == oracle_accepts(value)


@settings(max_examples=150, deadline=None)
@given(SOME_TEXT)
def test_the_sdk_and_the_sandbox_schema_agree_on_any_timestamp(value: str) -> None:
    body = {"name": "x", "timestamp": value}
    sandbox_problem = spec.problem("fullstory", "CreateEventRequest", body)
    error = refusal(lambda: _inputs.event_request(body))
    if error is None:
        assert sandbox_problem is None
    else:
        assert error.field == "timestamp"
        assert sandbox_problem == f"timestamp {str(error).removeprefix('timestamp: ')}"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(SOME_TEXT)
def test_the_sdk_and_the_sandbox_over_http_agree_on_any_timestamp(
    fs_http: httpx.Client, value: str
) -> None:
    body = {"name": "x", "timestamp": value}
    sdk_took = refusal(lambda: _inputs.event_request(body)) is None
    if not sdk_took and not _inputs._unicode(value):
        return  # a lone surrogate: the SDK refuses it whatever it is; JSON cannot carry it
    assert (sandbox_refusal(fs_http, body) is None) == sdk_took


SESSION_TEXT = st.one_of(
    st.builds(
        "{}:{}".format,
        st.integers(min_value=-5, max_value=2**66),
        st.integers(min_value=0, max_value=2**66),
    ),
    st.builds("{}:{}".format, st.uuids(), st.uuids()),
    st.text(alphabet="0123456789:abcdef-\u0661 ", max_size=30),
    st.text(max_size=30),
).filter(lambda text: text != "")


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(SESSION_TEXT)
def test_the_sdk_and_the_sandbox_agree_on_any_session_id(fs_http: httpx.Client, value: str) -> None:
    event = {"name": "x", "session": {"id": value}}
    error = refusal(lambda: _inputs.event_request(event))
    sdk_took = error is None
    if error is not None:
        if not _inputs._unicode(value):
            return  # a lone surrogate: JSON cannot carry it to the sandbox
        assert error.field == "session.id"
    assert sdk_took == (_rules.session_id_problem(value) is None)
    assert (sandbox_refusal(fs_http, event) is None) == sdk_took


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59, 999999)
    ),
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
)
def test_what_the_sdk_makes_of_an_aware_datetime_passes_the_rule(
    moment: dt.datetime, offset_minutes: int
) -> None:
    aware = moment.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset_minutes)))
    made: list[str] = []
    error = refusal(lambda: made.append(_inputs.timestamp(aware, "timestamp")))
    if error is not None:  # only when UTC falls outside the years 1 to 9999
        assert "outside the years 0001 to 9999" in str(error)
        with pytest.raises(OverflowError):
            aware.astimezone(UTC)
        return
    (text,) = made
    assert _rules.timestamp_problem(text) is None
    assert dt.datetime.fromisoformat(text.replace("Z", "+00:00")) == aware.replace(
        microsecond=aware.microsecond // 1000 * 1000
    )
