"""The rules behind the sandbox's session, summary, quota and stream routes, without HTTP: time
parsing, event selection, the override merge, the structured response, the month of a quota
and the clock-driven stream creates.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from session_analytics.sandbox.config import SandboxConfig
from session_analytics.sandbox.context import EventSelection, flat_strings, parse_time
from session_analytics.sandbox.errors import ApiError
from session_analytics.sandbox.fullstory import Clock, FullStoryState
from session_analytics.sandbox.organization import month_of
from session_analytics.sandbox.stream import UserStreams
from session_analytics.sandbox.summaries import merge_overrides, structured_response


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> Clock:
        return Clock(monotonic=lambda: self.now, wall=lambda: 1_700_000_000.0 + self.now)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-01T12:30:00Z", datetime(2024, 2, 1, 12, 30, tzinfo=timezone.utc)),
        ("2024-02-01t12:30:00.123456789z", datetime(2024, 2, 1, 12, 30, 0, 123456, timezone.utc)),
        ("2024-02-01T14:30:00.5+02:00", datetime(2024, 2, 1, 12, 30, 0, 500000, timezone.utc)),
    ],
)
def test_parse_time_reads_rfc_3339(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


def test_parse_time_refuses_other_text() -> None:
    with pytest.raises(ValueError, match="not a date-time"):
        parse_time("2024-02-01 12:30:00")


def _events(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"name": name, "timestamp": f"2024-01-01T00:00:{second}Z"} for name, second in pairs]


@pytest.mark.parametrize(
    ("selection", "kept"),
    [
        (EventSelection(), ["a", "b", "c", "d"]),
        (EventSelection(event_limit=-1), ["a", "b", "c", "d"]),
        (EventSelection(mode="LAST", event_limit=3), ["b", "c", "d"]),
        (EventSelection(duration_limit_ms=10_000), ["a", "b", "c"]),
        (EventSelection(keeps_custom=False), []),
        (
            EventSelection(start=parse_time("2024-01-01T00:00:05Z"), duration_limit_ms=5_000),
            ["b", "c"],
        ),
        (EventSelection(start=parse_time("2024-01-01T00:00:05Z"), event_limit=1), ["b"]),
        (EventSelection(end=parse_time("2024-01-01T00:00:10Z")), ["a"]),
        (EventSelection(duration_limit_ms=2**63 - 1), ["a", "b", "c", "d"]),
        (EventSelection(mode="LAST", duration_limit_ms=2**63 - 1), ["a", "b", "c", "d"]),
        (EventSelection(duration_limit_ms=315_537_897_599_000), ["a", "b", "c", "d"]),
    ],
)
def test_event_selection(selection: EventSelection, kept: list[str]) -> None:
    # Arrived out of time order; "b" and "c" share a second and keep their arrival order.
    events = _events(("d", "30"), ("a", "00"), ("b", "10"), ("c", "10"))

    assert [e["name"] for e in selection.select(events)] == kept


def test_flat_strings_spells_nested_and_typed_values_as_text() -> None:
    values = {"a": {"b": {"c": 1}}, "d": True, "e": 1.5, "f": [1, "x"], "g": None, "h": "text"}

    assert flat_strings(values) == {
        "a.b.c": "1",
        "d": "true",
        "e": "1.5",
        "f": '[1, "x"]',
        "h": "text",
    }


def test_merge_overrides_replaces_values_merges_objects_and_adds_to_arrays() -> None:
    profile = {
        "slice": {"mode": "FIRST", "event_limit": 5},
        "events": {"include_types": ["click", "navigate"]},
        "llm": {"pre_prompt": "a", "response_schema": {"type": "OBJECT", "required": ["x"]}},
    }
    overrides = {
        "slice": {"mode": "LAST"},
        "events": {"include_types": ["navigate", "custom"]},
        "llm": {"response_schema": {"type": "STRING"}, "post_prompt": None},
    }

    merged = merge_overrides(profile, overrides)

    assert merged == {
        "slice": {"mode": "LAST", "event_limit": 5},
        "events": {"include_types": ["click", "navigate", "custom"]},
        "llm": {"pre_prompt": "a", "response_schema": {"type": "STRING"}},
    }
    assert profile["events"] == {"include_types": ["click", "navigate"]}  # not changed in place


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "STRING"}, {"value": "S"}),
        ({"type": "INTEGER"}, {"value": 2}),
        ({"type": "BOOLEAN"}, {"value": True}),
        ({"enum": ["first", "second"]}, {"value": "first"}),
        ({"type": "ARRAY", "items": {"type": "INTEGER"}}, {"value": [2, 2]}),
        (
            {"type": "ARRAY", "items": {"type": "OBJECT", "properties": {"n": {"type": "NUMBER"}}}},
            {"value": [{"n": 2}, {"n": 2}]},
        ),
        ({"type": "OBJECT"}, {}),
        ({"type": "OBJECT", "enum": ["x"]}, {}),
        ({"type": "ARRAY", "enum": ["x"]}, {"value": ["x", "y"]}),
        (
            {"type": "OBJECT", "properties": {"inner": {"type": "OBJECT", "properties": {}}}},
            {"inner": {}},
        ),
    ],
)
def test_structured_response_follows_the_schema(schema: dict[str, Any], expected: Any) -> None:
    assert structured_response(schema, "S", ["x", "y"]) == expected


@pytest.mark.parametrize(
    ("moment", "start", "end"),
    [
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=timezone.utc), (2026, 12), (2027, 1)),
        (datetime(2026, 1, 1, 0, 0, 0, tzinfo=timezone.utc), (2026, 1), (2026, 2)),
        (datetime(2024, 2, 29, 12, 0, 0, tzinfo=timezone.utc), (2024, 2), (2024, 3)),
    ],
)
def test_the_quota_period_is_the_calendar_month(
    moment: datetime, start: tuple[int, int], end: tuple[int, int]
) -> None:
    first, following = month_of(moment.timestamp())

    assert (first.year, first.month, first.day, first.hour) == (*start, 1, 0)
    assert (following.year, following.month, following.day, following.hour) == (*end, 1, 0)


def test_a_stream_create_runs_once_its_delay_has_passed() -> None:
    fake = FakeClock()
    clock = fake.clock()
    config = SandboxConfig(stream_delay_s=2.0)
    fullstory = FullStoryState(clock, lambda: config)
    streams = UserStreams(clock, lambda: config, fullstory)

    request_id = streams.create({"uid": "later"})["request_id"]
    fake.now += 1.999
    assert streams.status(request_id) == {"id": ""}
    assert fullstory.user_by_uid("later") is None
    fake.now += 0.001
    streams.advance()
    user = fullstory.user_by_uid("later")
    assert user is not None
    assert streams.status(request_id) == {"id": user.id}
    assert streams.pending() == 0


def test_an_unknown_stream_request_is_404() -> None:
    config = SandboxConfig()
    clock = FakeClock().clock()
    streams = UserStreams(clock, lambda: config, FullStoryState(clock, lambda: config))

    with pytest.raises(ApiError) as caught:
        streams.status("nope")

    assert caught.value.status == 404
