"""Check and normalise what callers pass in, before any I/O: the typed error names the field.

A request may be a dict or a generated model. Unknown keys are refused (a typo such as
``displayName`` would otherwise be dropped without a word), values are checked against the API's
rules, and JSON-unfriendly values are converted where the conversion is unambiguous: an aware
``datetime`` becomes an ISO 8601 UTC string, a ``date`` an ISO date, a tuple a list. A naive
datetime (or a timestamp string without an offset), NaN, Infinity or any other type is refused.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any

from . import _properties as props
from .errors import FSInvalidArgumentError

Check = Callable[[Any, str], Any]
ObjectCheck = Callable[[Any, str], dict[str, Any]]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def _fail(where: str, message: str) -> FSInvalidArgumentError:
    return FSInvalidArgumentError(f"{where}: {message}", field=where)


def iso_utc(value: dt.datetime, where: str) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise _fail(
            where,
            "a naive datetime has no time zone; pass an aware one, e.g. datetime.now(timezone.utc)",
        )
    utc = value.astimezone(dt.timezone.utc)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_value(value: Any, where: str) -> Any:
    """A value as JSON will carry it; raises for what JSON cannot hold."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(where, "NaN and Infinity are not valid JSON numbers")
        return value
    if isinstance(value, dt.datetime):
        return iso_utc(value, where)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _fail(where, f"object keys must be strings, not {type(key).__name__}")
            out[key] = json_value(item, f"{where}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [json_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise _fail(
        where,
        f"{type(value).__name__} is not a JSON value "
        "(use str, int, float, bool, None, dict, list, date or an aware datetime)",
    )


def text(max_chars: int | None = None, *, non_empty: bool = False) -> Check:
    def check(value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise _fail(where, f"must be a string, not {type(value).__name__}")
        if non_empty and not value:
            raise _fail(where, "must not be empty")
        if max_chars is not None and len(value) > max_chars:
            raise _fail(where, f"must be at most {max_chars} characters (got {len(value)})")
        return value

    return check


def flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, f"must be True or False, not {type(value).__name__}")
    return value


def int32(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"must be an integer, not {type(value).__name__}")
    if not INT32_MIN <= value <= INT32_MAX:
        raise _fail(where, "must fit in 32 bits")
    return value


def number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise _fail(where, "NaN and Infinity are not valid JSON numbers")
    return value


DATE_TIME_WITH_ZONE = "an ISO 8601 date-time with a time zone, such as 2024-02-01T12:30:00Z"


def timestamp(value: Any, where: str) -> str:
    """An aware datetime (sent in UTC) or a string the API takes: its ``format: date-time`` is
    RFC 3339, where the offset (``Z`` or ``+02:00``) is not optional."""
    if isinstance(value, dt.datetime):
        return iso_utc(value, where)
    if isinstance(value, str):
        from dateutil.parser import isoparse  # only a timestamp given as a string needs it

        try:
            parsed = isoparse(value)
        except (ValueError, OverflowError):
            raise _fail(where, f"must be {DATE_TIME_WITH_ZONE}") from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            if _is_date_only(value):
                raise _fail(where, f"must be {DATE_TIME_WITH_ZONE}, not a date alone")
            raise _fail(where, f"must be {DATE_TIME_WITH_ZONE} (add Z or an offset like +02:00)")
        return value
    raise _fail(
        where,
        f"must be an aware datetime or {DATE_TIME_WITH_ZONE}, not {type(value).__name__}",
    )


def _is_date_only(value: str) -> bool:
    from dateutil.parser import isoparser

    try:
        isoparser().parse_isodate(value)
    except ValueError:
        return False
    return True


def properties(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"must be a dict, not {type(value).__name__}")
    normalized = json_value(value, where)
    try:
        props.leaves(normalized, where)
    except props.PropertyRuleError as err:
        raise FSInvalidArgumentError(str(err), field=err.field) from None
    return normalized  # type: ignore[no-any-return]


def schema(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        props.declared_types(value, where)
    except props.PropertyRuleError as err:
        raise FSInvalidArgumentError(str(err), field=err.field) from None
    return json_value(value, where)  # type: ignore[no-any-return]


def obj(fields: Mapping[str, Check]) -> ObjectCheck:
    """A dict (or generated model) whose keys are all in ``fields``."""

    def check(value: Any, where: str) -> dict[str, Any]:
        if hasattr(value, "to_dict") and not isinstance(value, Mapping):
            value = value.to_dict()
        if not isinstance(value, Mapping):
            raise _fail(where, f"must be a dict, not {type(value).__name__}")
        out: dict[str, Any] = {}
        for key, item in value.items():
            field = fields.get(key)
            if field is None:
                known = ", ".join(fields)
                raise _fail(
                    f"{where}.{key}" if where else str(key), f"unknown field; known: {known}"
                )
            if item is None:
                continue  # an explicit None means "not given"
            out[key] = field(item, f"{where}.{key}" if where else key)
        return out

    return check


def _declared_fit(body: Mapping[str, Any], where: str) -> None:
    """Declared types must fit the values sent with them."""
    if "schema" not in body or "properties" not in body:
        return
    try:
        declared = props.declared_types(body["schema"], f"{where}schema")
        props.check_declared(props.leaves(body["properties"]), declared, f"{where}properties")
    except props.PropertyRuleError as err:
        raise FSInvalidArgumentError(str(err), field=err.field) from None


_USER_FIELDS: dict[str, Check] = {
    "uid": text(256),
    "display_name": text(256),
    "email": text(128),
    "properties": properties,
    "schema": schema,
}
_user = obj(_USER_FIELDS)
_batch_user = obj({"id": text(non_empty=True), **_USER_FIELDS})

_context = obj(
    {
        "browser": obj({"url": text(), "user_agent": text(), "initial_referrer": text()}),
        "mobile": obj(
            {"app_id": text(), "app_version": text(), "app_name": text(), "build_variant": text()}
        ),
        "device": obj(
            {
                "manufacturer": text(),
                "model": text(),
                "screen_width": int32,
                "screen_height": int32,
                "viewport_width": int32,
                "viewport_height": int32,
            }
        ),
        "location": obj(
            {
                "country": text(),
                "region": text(),
                "city": text(),
                "latitude": number,
                "longitude": number,
                "ip_address": text(),
            }
        ),
    }
)
_event = obj(
    {
        "name": text(non_empty=True),
        "timestamp": timestamp,
        "user": obj({"id": text(), "uid": text(256)}),
        "session": obj({"id": text(), "use_most_recent": flag}),
        "context": _context,
        "properties": properties,
        "schema": schema,
    }
)


def user_request(value: Any, where: str = "") -> dict[str, Any]:
    """A user to create or update (CreateUserRequest / UpdateUserRequest)."""
    body = _user(value, where)
    _declared_fit(body, f"{where}." if where else "")
    return body


def batch_user_request(value: Any, where: str = "") -> dict[str, Any]:
    """One item of a users import job (may name an existing user by FullStory ``id``)."""
    body = _batch_user(value, where)
    _declared_fit(body, f"{where}." if where else "")
    return body


def event_request(value: Any, where: str = "") -> dict[str, Any]:
    """One event (CreateEventRequest), with the API's identification rules."""
    if isinstance(value, Mapping) and not value.get("name"):
        raise _fail(f"{where}.name" if where else "name", "events must have a non-empty name")
    body = _event(value, where)
    prefix = f"{where}." if where else ""
    user, session = body.get("user") or {}, body.get("session") or {}
    if user.get("id") and user.get("uid"):
        raise _fail(f"{prefix}user", "give user.id or user.uid, not both")
    if session.get("id"):
        if user:
            raise _fail(
                f"{prefix}session.id", "a session id names its user already; do not also give user"
            )
        if session.get("use_most_recent"):
            raise _fail(f"{prefix}session", "give session.id or use_most_recent, not both")
    elif session.get("use_most_recent") and not (user.get("id") or user.get("uid")):
        raise _fail(f"{prefix}session.use_most_recent", "needs exactly one of user.id and user.uid")
    _declared_fit(body, prefix)
    return body


def context(value: Any, where: str = "context") -> dict[str, Any]:
    return _context(value, where)


def identifier(value: Any, where: str) -> str:
    """A FullStory id or a uid used in a URL: a non-empty string."""
    return text(non_empty=True)(value, where)  # type: ignore[no-any-return]
