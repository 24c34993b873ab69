"""One Smartlook event, checked on the caller's thread and serialised for the queue."""

from __future__ import annotations

import math
from typing import Any

from .. import _json
from .._rules import member
from ..errors import SmartlookInvalidArgumentError

EVENT_TYPES = ("custom", "error")


def _fail(field: str, message: str) -> SmartlookInvalidArgumentError:
    return SmartlookInvalidArgumentError(f"{field}: {message}", field=field)


def event_payload(vid: Any, name: Any, value: Any, props: Any, sid: Any, event_type: Any) -> bytes:
    """The JSON of one backend event; raises SmartlookInvalidArgumentError naming the field."""
    if type(vid) is not str or not vid:
        raise _fail("vid", "must be a non-empty string (the visitor id, or any id of yours)")
    if type(name) is not str or not name:
        raise _fail("name", "must be a non-empty string")
    if event_type != "custom" and event_type not in EVENT_TYPES:
        raise _fail("type", f"must be one of {', '.join(EVENT_TYPES)}")
    event: dict[str, Any] = {"type": event_type, "vid": vid, "name": name}
    if value is not None:
        if type(value) is not str:
            raise _fail("value", f"must be a string, not {type(value).__name__}")
        event["value"] = value
    if props is not None:
        if type(props) is not dict:
            raise _fail("props", f"must be a dict, not {type(props).__name__}")
        for key, item in props.items():
            if type(key) is not str:
                raise _fail("props", f"keys must be strings, not {type(key).__name__}")
            kind = type(item)
            if kind is str or kind is int or kind is bool:
                continue
            if kind is float and math.isfinite(item):
                continue
            raise _fail(
                member("props", key),
                "values are strings, numbers or booleans (flat; no None, NaN, lists or dicts)",
            )
        event["props"] = props
    if sid is not None:
        if type(sid) is not str:
            raise _fail("sid", f"must be a string, not {type(sid).__name__}")
        event["sid"] = sid
    try:
        return _json.dumps(event)
    except TypeError as error:  # an integer beyond 64 bits, a lone surrogate in a string
        field, reason = _json.unserializable(event, "")
        if not field:
            field, reason = "event", str(error)
        raise _fail(field, f"cannot be sent as JSON ({reason})") from None
