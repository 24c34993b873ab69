"""Checks of the inputs of the session, summary-profile, annotation and quota calls.

Built from the checks of ``_inputs`` (dicts or generated models, unknown keys refused, the typed
error naming the field): session context settings, LLM settings and their response schema,
annotations, and the lookups of ``sessions.list``. Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from .. import _rules
from ..errors import FSInvalidArgumentError
from ._inputs import Check, ObjectCheck, flag, int32, number, obj, text, timestamp

SLICE_MODES = ("UNSPECIFIED", "FIRST", "LAST", "TIMESTAMP")
CONTEXT_ELEMENTS = ("user", "org", "location", "device")
# The type names of a response schema; the API spells them in capitals.
SCHEMA_TYPES = (
    "OPENAPI_TYPE_UNSPECIFIED",
    "STRING",
    "NUMBER",
    "INTEGER",
    "BOOLEAN",
    "ARRAY",
    "OBJECT",
)
MAX_SCHEMA_DEPTH = 32
ANNOTATION_TEXT_MAX_CHARS = 200
ANNOTATION_SOURCE_MAX_CHARS = 40
MAX_PROFILES_PAGE = 100
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DECIMAL = re.compile(r"-?[0-9]+\Z")
_FRACTION = re.compile(r"\.([0-9]+)")


def _fail(where: str, message: str) -> FSInvalidArgumentError:
    return FSInvalidArgumentError(f"{where}: {message}", field=where)


def _model_value(value: Any) -> Any:
    """An enum member of a generated model stands for its value."""
    return getattr(value, "value", value)


def one_of(choices: tuple[str, ...]) -> Check:
    def check(value: Any, where: str) -> str:
        value = _model_value(value)
        if not isinstance(value, str) or value not in choices:
            hint = ""
            if isinstance(value, str) and value.upper() in choices and value not in choices:
                hint = f" (the API spells it {value.upper()})"
            elif isinstance(value, str) and value.lower() in choices and value not in choices:
                hint = f" (the API spells it {value.lower()})"
            raise _fail(where, f"must be one of {', '.join(choices)}, not {value!r}{hint}")
        return value

    return check


def list_of(item: Check) -> Check:
    def check(value: Any, where: str) -> list[Any]:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, list | tuple):
            raise _fail(where, f"must be a list, not {type(value).__name__}")
        return [item(element, f"{where}[{index}]") for index, element in enumerate(value)]

    return check


def int64_decimal(value: Any, where: str) -> str:
    """A 64-bit integer the API writes as a decimal string: an int, or such a string."""
    if isinstance(value, str) and _DECIMAL.match(value):
        number_value = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number_value = value
    else:
        raise _fail(where, f"must be an integer (or its decimal string), not {value!r}")
    if not INT64_MIN <= number_value <= INT64_MAX:
        raise _fail(where, "must fit in 64 bits")
    return str(number_value)


def instant(value: str) -> dt.datetime:
    """The moment a timestamp already checked by ``_inputs.timestamp`` names, in UTC."""
    normalized = value.replace("t", "T").replace("z", "Z")
    if normalized.endswith("Z"):
        normalized = normalized[:-1] + "+00:00"
    # datetime keeps microseconds: more digits are cut (the order of two instants that differ
    # by less than a microsecond is not checked).
    normalized = _FRACTION.sub(lambda found: "." + found[1][:6].ljust(6, "0"), normalized, 1)
    return dt.datetime.fromisoformat(normalized).astimezone(dt.timezone.utc)


def _slice_settings(value: Any, where: str) -> dict[str, Any]:
    body = _slice_fields(value, where)
    start, end = body.get("start_timestamp"), body.get("end_timestamp")
    if start is not None and end is not None and not instant(start) < instant(end):
        raise _fail(f"{where}.end_timestamp", "must be after start_timestamp")
    return body


_slice_fields = obj(
    {
        "mode": one_of(SLICE_MODES),
        "event_limit": int32,
        "duration_limit_ms": int64_decimal,
        "start_timestamp": timestamp,
        "end_timestamp": timestamp,
    }
)
_context_settings = obj(
    {
        "include": list_of(one_of(CONTEXT_ELEMENTS)),
        "exclude": list_of(one_of(CONTEXT_ELEMENTS)),
        "exclude_org_context": flag,
        "exclude_user_context": flag,
        "exclude_location": flag,
        "exclude_device": flag,
        "exclude_descriptions": flag,
    }
)
_event_settings = obj(
    {
        "exclude_types": list_of(text()),
        "include_types": list_of(text()),
        "exclude_defined_events": flag,
        "exclude_api_events": flag,
        "exclude_event_timestamps": flag,
        "exclude_selectors": flag,
        "include_selector_tags": flag,
        "trim_to_last_n_selectors": int32,
        "include_tab_index": flag,
        "include_descriptions": flag,
    }
)
_cache_settings = obj({"enable_event_cache": flag})


def response_schema(value: Any, where: str) -> dict[str, Any]:
    """A response schema: type names in capitals; ``items`` and each of ``properties`` are
    checked the same way, the error naming the path (``llm.response_schema.items.type``)."""
    return _response_schema(value, where, 0)


def _response_schema(value: Any, where: str, depth: int) -> dict[str, Any]:
    if depth > MAX_SCHEMA_DEPTH:
        raise _fail(where, f"nested more than {MAX_SCHEMA_DEPTH} levels deep")

    def nested(item: Any, path: str) -> dict[str, Any]:
        return _response_schema(item, path, depth + 1)

    def properties(item: Any, path: str) -> dict[str, Any]:
        if hasattr(item, "to_dict") and not isinstance(item, Mapping):
            item = item.to_dict()
        if not isinstance(item, Mapping):
            raise _fail(path, f"must be a dict of schemas, not {type(item).__name__}")
        out = {}
        for name, schema in item.items():
            if not isinstance(name, str):
                raise _fail(path, f"property names must be strings, not {type(name).__name__}")
            out[name] = nested(schema, _rules.member(path, name))
        return out

    check = obj(
        {
            "type": one_of(SCHEMA_TYPES),
            "title": text(),
            "description": text(),
            "items": nested,
            "properties": properties,
            "required": list_of(text()),
            "nullable": flag,
            "enum": list_of(text()),
            "format": text(),
        }
    )
    return check(value, where)


_llm_settings = obj(
    {
        "pre_prompt": text(),
        "post_prompt": text(),
        "temperature": number,
        "response_schema": response_schema,
    }
)

_CONTEXT_PARTS: dict[str, Check] = {
    "slice": _slice_settings,
    "context": _context_settings,
    "events": _event_settings,
    "cache": _cache_settings,
}
_summary_request = obj(
    {"config_profile": text(non_empty=True), **_CONTEXT_PARTS, "llm": _llm_settings}
)
_profile_request = obj({"name": text(), **_CONTEXT_PARTS, "llm": _llm_settings})


def _read(check: ObjectCheck, value: Any, where: str) -> dict[str, Any]:
    """``check(value, where)``; whatever goes wrong in it is an FSInvalidArgumentError."""
    try:
        return check(value, where)
    except FSInvalidArgumentError:
        raise
    except RecursionError:
        raise _fail(where, "is nested too deeply to be checked") from None
    except Exception as error:  # a Mapping or model of the caller's that fails when read
        raise _fail(where, f"could not be read ({error!r})") from error


def context_parts(
    *, slice: Any = None, context: Any = None, events: Any = None, cache: Any = None
) -> dict[str, Any]:
    """The parts of a session-context request that were given, each checked."""
    body: dict[str, Any] = {}
    for name, value in (
        ("slice", slice),
        ("context", context),
        ("events", events),
        ("cache", cache),
    ):
        if value is not None:
            body[name] = _read(_CONTEXT_PARTS[name], value, name)
    return body


def llm_settings(value: Any) -> dict[str, Any]:
    return _read(_llm_settings, value, "llm")


def summary_request(value: Any) -> dict[str, Any]:
    """A whole SessionSummaryRequest (dict or model)."""
    return _read(_summary_request, value, "")


def profile_request(value: Any, where: str = "profile") -> dict[str, Any]:
    """A summary profile to create, or the settings that replace a profile's."""
    return _read(_profile_request, value, where)


def session_id(value: Any, where: str = "session_id") -> str:
    """FullStory's session id, ``<user id>:<session id>``."""
    checked: str = text(non_empty=True)(value, where)
    problem = _rules.session_id_problem(checked)
    if problem is not None:
        raise _fail(where, problem)
    return checked


def session_lookup(
    uid: str | None, email: str | None, session_uid: str | None, limit: int | None
) -> None:
    """The lookups of ``sessions.list``: at least one, and ``session_uid`` alone."""
    for name, value in (("uid", uid), ("email", email), ("session_uid", session_uid)):
        if value is not None:
            text(non_empty=True)(value, name)
    if uid is None and email is None and session_uid is None:
        raise FSInvalidArgumentError(
            "give uid, email or session_uid to look sessions up", field="uid"
        )
    if session_uid is not None and (uid is not None or email is not None):
        field = "uid" if uid is not None else "email"
        raise _fail(field, "session_uid finds one session by itself: give it without uid and email")
    positive_int(limit, "limit")


def positive_int(value: Any, where: str, maximum: int | None = None) -> None:
    """None, or a whole number from 1 (to ``maximum``)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"must be a whole number, not {type(value).__name__}")
    if value < 1 or (maximum is not None and value > maximum):
        bound = f"between 1 and {maximum}" if maximum is not None else "at least 1"
        raise _fail(where, f"must be {bound} (got {value})")


def annotation(annotation_text: Any, start_time: Any, end_time: Any, source: Any) -> dict[str, Any]:
    """A CreateAnnotationRequest: text of 1 to 200 characters, source of at most 40, times as
    aware datetimes or RFC 3339 strings, the end after the start."""
    body: dict[str, Any] = {
        "text": text(ANNOTATION_TEXT_MAX_CHARS, non_empty=True)(annotation_text, "text")
    }
    if start_time is not None:
        body["start_time"] = timestamp(start_time, "start_time")
    if end_time is not None:
        body["end_time"] = timestamp(end_time, "end_time")
    if source is not None:
        body["source"] = text(ANNOTATION_SOURCE_MAX_CHARS)(source, "source")
    start, end = body.get("start_time"), body.get("end_time")
    if start is not None and end is not None and not instant(start) < instant(end):
        raise _fail("end_time", "must be after start_time")
    return body


def end_timestamp(value: Any) -> str:
    return timestamp(value, "end_timestamp")
