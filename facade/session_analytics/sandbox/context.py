"""Session context (POST /v2/sessions/{id}/context): which of a session's events a request keeps
(slice, event types) and which context elements it shows, built deterministically from what the
session received. Summaries (``summaries.py``) select their events with the same options.

The stand-in answer is ``{"context_data": {"context": {...}, "pages": [...]}}``:

- ``context``: ``session_id``, ``session_url`` (the session's ``app_url``), ``session_created_at``,
  then the elements asked for: ``user_context`` (``user_uid``, ``display_name``, ``email`` when
  set, ``properties`` flattened to dotted names with string values), ``org_context``
  (``{"org_id": "sandbox", "name": "Sandbox"}``), ``location_context`` (country, region, city)
  and ``device_context`` (``screen_size``, ``viewport_size``), the last two from the first event
  of the session whose context has them, left out when none has.
- ``pages``: the kept events in time order, grouped by ``context.browser.url`` in order of first
  appearance (events without one go to a page with url ``""``); each event is ``{"type":
  "custom", "description": <name>, "timestamp": <its timestamp>, "properties": {...}}``.

Elements: ``context.include`` (if given) names the only ones shown, ``context.exclude`` removes
some; when neither is given the ``exclude_*`` flags apply. Slice: events before ``end_timestamp``
and from ``start_timestamp`` on; mode FIRST (the default, also UNSPECIFIED) and TIMESTAMP keep
those within ``duration_limit_ms`` of the start (``start_timestamp`` or the first event) and then
the first ``event_limit``; LAST keeps those within ``duration_limit_ms`` of the last event and
then the last ``event_limit``; a limit <= 0 keeps all. Every sandbox event has the type
``custom``: ``events.include_types`` without it, ``exclude_types`` with it or
``exclude_api_events`` keep none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from .. import _rules
from .errors import bad_request
from .fullstory import Session, User, utc_iso

ELEMENTS = ("user", "org", "location", "device")
SLICE_MODES = ("UNSPECIFIED", "FIRST", "LAST", "TIMESTAMP")
EVENT_TYPE = "custom"
SANDBOX_ORG = {"org_id": "sandbox", "name": "Sandbox"}
CONFIGURATION_PARTS = ("slice", "context", "events", "cache")

_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<zone>[Zz]|[+-]\d{2}:\d{2})\Z"
)


def parse_time(text: str) -> datetime:
    """An RFC 3339 date-time (as the API takes them) as an aware datetime, to the microsecond."""
    found = _TIMESTAMP.match(text)
    if found is None:
        raise ValueError(f"not a date-time: {text!r}")
    fraction = (found["fraction"] or "")[:6].ljust(6, "0")
    zone = "+00:00" if found["zone"] in ("Z", "z") else found["zone"]
    return datetime.fromisoformat(f"{found['date']}T{found['time']}.{fraction}{zone}")


# ---- reading the options ------------------------------------------------------------------------


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise bad_request(f"{where} must be an object")
    return value


def _flag(part: Mapping[str, Any], name: str, where: str) -> bool:
    value = part.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_request(f"{where}.{name} must be true or false")
    return value


def _texts(part: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = part.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request(f"{where}.{name} must be an array of strings")
    return tuple(value)


def _integer(part: Mapping[str, Any], name: str, where: str, *, as_text: bool = False) -> int:
    """An integer field; ``as_text`` also takes the API's string encoding of 64-bit integers."""
    value = part.get(name)
    if value is None:
        return 0
    if as_text and isinstance(value, str) and re.fullmatch(r"-?\d{1,19}", value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        kind = "an integer (or its decimal string)" if as_text else "an integer"
        raise bad_request(f"{where}.{name} must be {kind}")
    return value


def _time(part: Mapping[str, Any], name: str, where: str) -> datetime | None:
    value = part.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{where}.{name} must be a string")
    problem = _rules.timestamp_problem(value)
    if problem is not None:
        raise bad_request(f"{where}.{name} {problem}")
    return parse_time(value)


def _shifted(moment: datetime, milliseconds: int) -> datetime | None:
    """``moment`` moved by ``milliseconds``; None past the calendar's ends (then no bound)."""
    try:
        return moment + timedelta(milliseconds=milliseconds)
    except OverflowError:
        return None


@attrs.frozen
class EventSelection:
    """What a context or summary request keeps of a session: its slice and event types."""

    mode: str = "FIRST"
    event_limit: int = 0
    duration_limit_ms: int = 0
    start: datetime | None = None
    end: datetime | None = None
    keeps_custom: bool = True
    timestamps: bool = True

    def select(self, events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The kept events, in time order (events with the same time keep their arrival order)."""
        if not self.keeps_custom:
            return []
        timed = sorted(((parse_time(e["timestamp"]), e) for e in events), key=lambda p: p[0])
        if self.end is not None:
            timed = [p for p in timed if p[0] < self.end]
        if self.start is not None:
            timed = [p for p in timed if p[0] >= self.start]
        if self.mode == "LAST":
            if self.duration_limit_ms > 0 and timed:
                edge = _shifted(timed[-1][0], -self.duration_limit_ms)
                timed = [p for p in timed if edge is None or p[0] >= edge]
            if self.event_limit > 0:
                timed = timed[-self.event_limit :]
        else:
            if self.duration_limit_ms > 0 and timed:
                edge = _shifted(self.start or timed[0][0], self.duration_limit_ms)
                timed = [p for p in timed if edge is None or p[0] <= edge]
            if self.event_limit > 0:
                timed = timed[: self.event_limit]
        return [event for _, event in timed]


@attrs.frozen
class ContextOptions:
    selection: EventSelection
    elements: frozenset[str]


def read_selection(configuration: Mapping[str, Any]) -> EventSelection:
    """The slice and event options of a request body or a stored profile configuration.

    Raises:
        ApiError: 400 naming the field that is not what the API takes.
    """
    slice_part = _object(configuration.get("slice"), "slice")
    events_part = _object(configuration.get("events"), "events")
    cache_part = _object(configuration.get("cache"), "cache")
    _flag(cache_part, "enable_event_cache", "cache")
    mode = slice_part.get("mode", "FIRST")
    if mode not in SLICE_MODES:
        raise bad_request(f"slice.mode must be one of {', '.join(SLICE_MODES)}")
    start = _time(slice_part, "start_timestamp", "slice")
    if mode == "TIMESTAMP" and start is None:
        raise bad_request("slice.start_timestamp is required when slice.mode is TIMESTAMP")
    include_types = _texts(events_part, "include_types", "events")
    exclude_types = _texts(events_part, "exclude_types", "events")
    for name in (
        "exclude_defined_events",
        "exclude_selectors",
        "include_selector_tags",
        "include_tab_index",
        "include_descriptions",
    ):
        _flag(events_part, name, "events")
    _integer(events_part, "trim_to_last_n_selectors", "events")
    keeps_custom = not (
        _flag(events_part, "exclude_api_events", "events")
        or EVENT_TYPE in exclude_types
        or (include_types and EVENT_TYPE not in include_types)
    )
    return EventSelection(
        mode="LAST" if mode == "LAST" else "FIRST",
        event_limit=_integer(slice_part, "event_limit", "slice"),
        duration_limit_ms=_integer(slice_part, "duration_limit_ms", "slice", as_text=True),
        start=start,
        end=_time(slice_part, "end_timestamp", "slice"),
        keeps_custom=keeps_custom,
        timestamps=not _flag(events_part, "exclude_event_timestamps", "events"),
    )


def read_options(configuration: Mapping[str, Any]) -> ContextOptions:
    """The options of a context request: its event selection and the elements to show."""
    part = _object(configuration.get("context"), "context")
    include = _texts(part, "include", "context")
    exclude = _texts(part, "exclude", "context")
    for name, chosen in (("include", include), ("exclude", exclude)):
        for index, element in enumerate(chosen):
            if element not in ELEMENTS:
                raise bad_request(f"context.{name}[{index}] must be one of {', '.join(ELEMENTS)}")
    flags = {
        "user": _flag(part, "exclude_user_context", "context"),
        "org": _flag(part, "exclude_org_context", "context"),
        "location": _flag(part, "exclude_location", "context"),
        "device": _flag(part, "exclude_device", "context"),
    }
    _flag(part, "exclude_descriptions", "context")
    if include or exclude:
        elements = frozenset(include or ELEMENTS) - frozenset(exclude)
    else:
        elements = frozenset(e for e in ELEMENTS if not flags[e])
    return ContextOptions(read_selection(configuration), elements)


# ---- building the answer ------------------------------------------------------------------------


def flat_strings(values: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested properties as dotted names with string values (JSON text for non-strings)."""
    out: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat_strings(value, f"{name}."))
        elif isinstance(value, str):
            out[name] = value
        elif value is not None:
            out[name] = json.dumps(value)
    return out


def _first_context(events: Sequence[Mapping[str, Any]], part: str) -> Mapping[str, Any]:
    for event in events:
        found = (event.get("context") or {}).get(part)
        if isinstance(found, Mapping) and found:
            return found
    return {}


def _location(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    where = _first_context(events, "location")
    return {k: where[k] for k in ("country", "region", "city") if isinstance(where.get(k), str)}


def _device(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    device = _first_context(events, "device")
    out: dict[str, Any] = {}
    for size in ("screen", "viewport"):
        width, height = device.get(f"{size}_width"), device.get(f"{size}_height")
        if isinstance(width, int) and isinstance(height, int):
            out[f"{size}_size"] = {"height_pixels": height, "width_pixels": width}
    return out


def user_context(user: User) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, value in (
        ("user_uid", user.uid),
        ("display_name", user.display_name),
        ("email", user.email),
    ):
        if value is not None:
            out[field] = value
    out["properties"] = flat_strings(user.properties.values)
    return out


def page_url(event: Mapping[str, Any]) -> str:
    browser = (event.get("context") or {}).get("browser") or {}
    url = browser.get("url") if isinstance(browser, Mapping) else None
    return url if isinstance(url, str) else ""


def build_context(
    session: Session, user: User, options: ContextOptions, app_url: str
) -> dict[str, Any]:
    """The ``context_data`` of ``session`` (see the module doc)."""
    context: dict[str, Any] = {
        "session_id": session.id,
        "session_url": app_url,
        "session_created_at": utc_iso(session.created_wall),
    }
    if "user" in options.elements:
        context["user_context"] = user_context(user)
    if "org" in options.elements:
        context["org_context"] = dict(SANDBOX_ORG)
    if "location" in options.elements and (location := _location(session.events)):
        context["location_context"] = location
    if "device" in options.elements and (device := _device(session.events)):
        context["device_context"] = device
    pages: dict[str, list[dict[str, Any]]] = {}
    for event in options.selection.select(session.events):
        shown: dict[str, Any] = {"type": EVENT_TYPE, "description": event["name"]}
        if options.selection.timestamps:
            shown["timestamp"] = event["timestamp"]
        shown["properties"] = json.loads(json.dumps(event["properties"]))
        pages.setdefault(page_url(event), []).append(shown)
    return {
        "context": context,
        "pages": [{"url": url, "events": events} for url, events in pages.items()],
    }
