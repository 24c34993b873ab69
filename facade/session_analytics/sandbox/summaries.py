"""Summary profiles (/v2/visit_profile) and session summaries (/v2/sessions/{id}/summary): the
profiles are stored as given; a summary is a deterministic stand-in for the model's answer.

The summary of a session, over the events its profile (with any overrides) keeps (see
``context.py`` for the slice and event types), is the parts below joined with ``" | "``:
``llm.pre_prompt`` (when not empty), ``"Session <id>: <N> events"`` followed by
``": <name>, <name>, ..."`` when N > 0, and ``llm.post_prompt`` (when not empty). Without a
profile it is that middle part alone.

With an ``llm.response_schema``, ``response`` follows it: an ``enum`` gives its first value
(except on an OBJECT or an ARRAY),
STRING (or no type) the summary, NUMBER and INTEGER the number of events, BOOLEAN true, ARRAY one
item per event (a STRING item is the event's name), OBJECT each of its properties; a schema whose
root is not an OBJECT gives ``{"value": ...}``. ``response_schema`` echoes the schema.

Overrides (POST): a field that is an array in both is the profile's items followed by the new
ones; any other field replaces the profile's (objects are merged field by field, except
``llm.response_schema``, replaced whole).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .context import CONFIGURATION_PARTS, read_options, read_selection
from .errors import bad_request, not_found
from .fullstory import FullStoryState
from .paging import paginate
from .sessions import find_session

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
DEFAULT_PAGE = 20
MAX_PAGE = 100
SEPARATOR = " | "


@attrs.define
class Profile:
    id: str
    name: str
    configuration: dict[str, Any]  # slice, context, events and cache, each {} when not given
    llm: dict[str, Any]

    def to_api(self) -> dict[str, Any]:
        return copy.deepcopy(
            {"id": self.id, "name": self.name, "configuration": self.configuration, "llm": self.llm}
        )


def _check_schema(schema: Any, where: str, depth: int = 0) -> None:
    if not isinstance(schema, Mapping):
        raise bad_request(f"{where} must be an object")
    if depth > MAX_SCHEMA_DEPTH:
        raise bad_request(f"{where} is nested more than {MAX_SCHEMA_DEPTH} levels deep")
    kind = schema.get("type")
    if kind is not None and kind not in SCHEMA_TYPES:
        raise bad_request(f"{where}.type must be one of {', '.join(SCHEMA_TYPES)}")
    for name in ("title", "description", "format"):
        if schema.get(name) is not None and not isinstance(schema[name], str):
            raise bad_request(f"{where}.{name} must be a string")
    if schema.get("nullable") is not None and not isinstance(schema["nullable"], bool):
        raise bad_request(f"{where}.nullable must be true or false")
    for name in ("required", "enum"):
        value = schema.get(name)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise bad_request(f"{where}.{name} must be an array of strings")
    if schema.get("items") is not None:
        _check_schema(schema["items"], f"{where}.items", depth + 1)
    properties = schema.get("properties")
    if properties is not None:
        if not isinstance(properties, Mapping):
            raise bad_request(f"{where}.properties must be an object")
        for name, inner in properties.items():
            _check_schema(inner, f"{where}.properties.{name}", depth + 1)


def check_llm(llm: Any) -> dict[str, Any]:
    if llm is None:
        return {}
    if not isinstance(llm, Mapping):
        raise bad_request("llm must be an object")
    for name in ("pre_prompt", "post_prompt"):
        if llm.get(name) is not None and not isinstance(llm[name], str):
            raise bad_request(f"llm.{name} must be a string")
    temperature = llm.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float)
    ):
        raise bad_request("llm.temperature must be a number")
    if llm.get("response_schema") is not None:
        _check_schema(llm["response_schema"], "llm.response_schema")
    return {k: copy.deepcopy(v) for k, v in llm.items() if v is not None}


def _check_body(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise bad_request("the request body must be an object")
    read_options(body)  # refuses a bad slice, context, events or cache
    return body


class ProfileStore:
    """The summary profiles of the sandbox's organization, in the order they were created."""

    def __init__(self) -> None:
        self.profiles: dict[str, Profile] = {}

    def _profile(self, body: Any, profile_id: str) -> Profile:
        checked = _check_body(body)
        name = checked.get("name")
        if name is not None and not isinstance(name, str):
            raise bad_request("name must be a string")
        configuration = {
            part: copy.deepcopy(dict(checked.get(part) or {})) for part in CONFIGURATION_PARTS
        }
        return Profile(profile_id, name or "", configuration, check_llm(checked.get("llm")))

    def create(self, body: Any) -> dict[str, Any]:
        profile = self._profile(body, str(uuid.uuid4()))
        self.profiles[profile.id] = profile
        return {"id": profile.id}

    def get(self, profile_id: str) -> Profile:
        profile = self.profiles.get(profile_id)
        if profile is None:
            raise not_found("Profile not found")
        return profile

    def update(self, profile_id: str, body: Any) -> dict[str, Any]:
        self.get(profile_id)
        self.profiles[profile_id] = self._profile(body, profile_id)
        return {"id": profile_id}

    def delete(self, profile_id: str) -> dict[str, Any]:
        self.get(profile_id)
        del self.profiles[profile_id]
        return {}

    def list(self, limit: int, page_token: str | None) -> dict[str, Any]:
        """One page of profiles; ``next_page_token`` is "" on the last page (the API's schema
        makes it a required field)."""
        page, next_token = paginate(list(self.profiles.values()), page_token, limit, "profiles")
        return {"profiles": [p.to_api() for p in page], "next_page_token": next_token or ""}


# ---- summaries ----------------------------------------------------------------------------------


def merge_overrides(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        old = out.get(key)
        if value is None:
            continue
        if key != "response_schema" and isinstance(value, Mapping) and isinstance(old, Mapping):
            out[key] = merge_overrides(old, value)
        elif isinstance(value, list) and isinstance(old, list):
            out[key] = old + [copy.deepcopy(v) for v in value if v not in old]
        else:
            out[key] = copy.deepcopy(value)
    return out


def _value(schema: Mapping[str, Any], summary: str, names: Sequence[str]) -> Any:
    kind = schema.get("type")
    enum = schema.get("enum")
    if enum and kind not in ("OBJECT", "ARRAY"):
        return enum[0]
    if kind == "OBJECT":
        properties = schema.get("properties") or {}
        return {name: _value(inner, summary, names) for name, inner in properties.items()}
    if kind == "ARRAY":
        items = schema.get("items") or {}
        if items.get("type") in (None, "STRING", "OPENAPI_TYPE_UNSPECIFIED") and not items.get(
            "enum"
        ):
            return list(names)
        return [_value(items, summary, names) for _ in names]
    if kind in ("NUMBER", "INTEGER"):
        return len(names)
    if kind == "BOOLEAN":
        return True
    return summary


def structured_response(schema: Mapping[str, Any], summary: str, names: Sequence[str]) -> Any:
    value = _value(schema, summary, names)
    return value if isinstance(value, dict) else {"value": value}


def summarize(
    fullstory: FullStoryState,
    profiles: ProfileStore,
    session_id: str,
    *,
    profile_id: str | None,
    overrides: Mapping[str, Any] | None = None,
    end_timestamp: str | None = None,
) -> dict[str, Any]:
    """GET and POST /v2/sessions/{id}/summary (see the module doc)."""
    settings: dict[str, Any] = {}
    if profile_id:
        profile = profiles.get(profile_id)
        settings = {**profile.configuration, "llm": profile.llm}
    if overrides:
        _check_body(overrides)
        given = {k: overrides[k] for k in (*CONFIGURATION_PARTS, "llm") if k in overrides}
        given["llm"] = check_llm(given.get("llm"))
        settings = merge_overrides(settings, given)
    if end_timestamp is not None:
        settings = merge_overrides(settings, {"slice": {"end_timestamp": end_timestamp}})
    session, _ = find_session(fullstory, session_id)
    names = [str(e["name"]) for e in read_selection(settings).select(session.events)]
    middle = f"Session {session.id}: {len(names)} events"
    if names:
        middle += ": " + ", ".join(names)
    llm = settings.get("llm") or {}
    parts = [llm.get("pre_prompt") or "", middle, llm.get("post_prompt") or ""]
    summary = SEPARATOR.join(part for part in parts if part)
    out: dict[str, Any] = {"summary": summary}
    schema = llm.get("response_schema")
    if schema:
        out["response"] = structured_response(schema, summary, names)
        out["response_schema"] = copy.deepcopy(schema)
    return out
