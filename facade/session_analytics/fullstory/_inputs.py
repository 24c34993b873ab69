"""Check and normalise what callers pass in, before any I/O: the typed error names the field.

A request may be a dict or a generated model. Unknown keys are refused (a typo such as
``displayName`` would otherwise be dropped without a word), values are checked against the API's
rules, and JSON-unfriendly values are converted where the conversion is unambiguous: an aware
``datetime`` becomes an ISO 8601 UTC string, a ``date`` an ISO date, a tuple a list. A naive
datetime (or a timestamp string without an offset), NaN, Infinity or any other type is refused,
and so is what JSON cannot carry: an object that contains itself, nesting deeper than
MAX_NESTING levels, an integer beyond 64 bits, a string holding a lone surrogate.

Whatever is passed, the checks raise FSInvalidArgumentError and nothing else.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any

from .. import _properties as props
from .. import _rules
from ..errors import FSInvalidArgumentError

Check = Callable[[Any, str], Any]
ObjectCheck = Callable[[Any, str], dict[str, Any]]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# What a JSON number may be to be sent at all: the encoder of track() and event() takes no more.
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
# Objects and arrays inside one value; the request around it adds a few levels, and the JSON
# encoder takes at most 254.
MAX_NESTING = 200
LONE_SURROGATE = "holds a lone surrogate (not valid Unicode text): JSON cannot carry it"
DATE_TIME_WITH_ZONE = _rules.DATE_TIME_WITH_ZONE


def _fail(where: str, message: str) -> FSInvalidArgumentError:
    """The error for the field ``where`` ("" for the request as a whole)."""
    if not where:
        return FSInvalidArgumentError(f"the request {message}", field=where)
    return FSInvalidArgumentError(f"{where}: {message}", field=where)


def _unicode(text: str) -> bool:
    """Whether ``text`` can be encoded (no lone surrogate); ASCII, the usual case, at once."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def iso_utc(value: dt.datetime, where: str) -> str:
    try:
        offset = value.utcoffset()
    except Exception as error:  # the caller's own tzinfo may fail in any way
        raise _fail(where, f"its tzinfo gave no offset ({error!r})") from None
    if value.tzinfo is None or offset is None:
        raise _fail(
            where,
            "a naive datetime has no time zone; pass an aware one, e.g. datetime.now(timezone.utc)",
        )
    try:
        utc = value.astimezone(dt.timezone.utc)
    except OverflowError:
        raise _fail(
            where, "is out of range: in UTC it falls outside the years 0001 to 9999"
        ) from None
    except Exception as error:
        raise _fail(where, f"could not be turned into UTC ({error!r})") from None
    return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def json_value(value: Any, where: str) -> Any:
    """A value as JSON will carry it; raises for what JSON cannot hold."""
    return _json_value(value, where, set())


def _json_value(value: Any, where: str, holding: set[int]) -> Any:
    """``holding``: the ids of the objects and arrays that ``value`` sits in."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if not _unicode(value):
            raise _fail(where, LONE_SURROGATE)
        return value
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise _fail(where, "an integer beyond 64 bits cannot be sent; pass a float or a string")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(where, "NaN and Infinity are not valid JSON numbers")
        return value
    if isinstance(value, dt.datetime):
        return iso_utc(value, where)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple):
        if id(value) in holding:
            raise _fail(where, "refers back to an object that holds it (a cycle)")
        if len(holding) >= MAX_NESTING:
            raise _fail(where, f"nested more than {MAX_NESTING} levels deep")
        holding.add(id(value))
        try:
            if isinstance(value, Mapping):
                out = {}
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise _fail(
                            _rules.member(where, key),
                            f"object keys must be strings, not {type(key).__name__}",
                        )
                    if not _unicode(key):
                        raise _fail(_rules.member(where, key), f"the name {LONE_SURROGATE}")
                    out[key] = _json_value(item, _rules.member(where, key), holding)
                return out
            return [_json_value(item, f"{where}[{i}]", holding) for i, item in enumerate(value)]
        finally:
            holding.discard(id(value))
    raise _fail(
        where,
        f"{type(value).__name__} is not a JSON value "
        "(use str, int, float, bool, None, dict, list, date or an aware datetime)",
    )


def text(max_chars: int | None = None, *, non_empty: bool = False) -> Check:
    def check(value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise _fail(where, f"must be a string, not {type(value).__name__}")
        if not _unicode(value):
            raise _fail(where, LONE_SURROGATE)
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
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise _fail(where, "an integer beyond 64 bits cannot be sent")
        return value
    if not math.isfinite(value):
        raise _fail(where, "NaN and Infinity are not valid JSON numbers")
    return value


def timestamp(value: Any, where: str) -> str:
    """An aware datetime (sent in UTC) or a string the API takes: an RFC 3339 date-time (its
    ``format: date-time``), where the offset (``Z`` or ``+02:00``) is not optional. The rule is
    ``_rules.timestamp_problem``, the sandbox's too."""
    if isinstance(value, dt.datetime):
        return iso_utc(value, where)
    if isinstance(value, str):
        problem = _rules.timestamp_problem(value)
        if problem is not None:
            raise _fail(where, problem)
        return value
    raise _fail(
        where,
        f"must be an aware datetime or {DATE_TIME_WITH_ZONE}, not {type(value).__name__}",
    )


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
            field = fields.get(key) if isinstance(key, str) else None
            if field is None:
                known = ", ".join(fields)
                raise _fail(_rules.member(where, key), f"unknown field; known: {known}")
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


def _read(check: ObjectCheck, value: Any, where: str, what: str) -> dict[str, Any]:
    """``check(value, where)``; whatever goes wrong in it is an FSInvalidArgumentError."""
    try:
        return check(value, where)
    except FSInvalidArgumentError:
        raise
    except RecursionError:
        raise _fail(where or what, "is nested too deeply to be checked") from None
    except Exception as error:  # a Mapping or model of the caller's that fails when it is read
        raise _fail(where or what, f"could not be read ({error!r})") from error


def _user_request(value: Any, where: str) -> dict[str, Any]:
    body = _user(value, where)
    _declared_fit(body, f"{where}." if where else "")
    return body


def _batch_user_request(value: Any, where: str) -> dict[str, Any]:
    body = _batch_user(value, where)
    _declared_fit(body, f"{where}." if where else "")
    return body


def _event_request(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, Mapping) and not value.get("name"):
        raise _fail(f"{where}.name" if where else "name", "events must have a non-empty name")
    body = _event(value, where)
    prefix = f"{where}." if where else ""
    user, session = body.get("user") or {}, body.get("session") or {}
    if user.get("id") and user.get("uid"):
        raise _fail(f"{prefix}user", "give user.id or user.uid, not both")
    session_id = session.get("id")
    if session_id:  # "" is no session id, as the API reads it
        if user:
            raise _fail(
                f"{prefix}session.id", "a session id names its user already; do not also give user"
            )
        if session.get("use_most_recent"):
            raise _fail(f"{prefix}session", "give session.id or use_most_recent, not both")
        problem = _rules.session_id_problem(session_id)
        if problem is not None:
            raise _fail(f"{prefix}session.id", problem)
    elif session.get("use_most_recent") and not (user.get("id") or user.get("uid")):
        raise _fail(f"{prefix}session.use_most_recent", "needs exactly one of user.id and user.uid")
    _declared_fit(body, prefix)
    return body


def user_request(value: Any, where: str = "") -> dict[str, Any]:
    """A user to create or update (CreateUserRequest / UpdateUserRequest)."""
    return _read(_user_request, value, where, "user")


def batch_user_request(value: Any, where: str = "") -> dict[str, Any]:
    """One item of a users import job (may name an existing user by FullStory ``id``)."""
    return _read(_batch_user_request, value, where, "user")


def event_request(value: Any, where: str = "") -> dict[str, Any]:
    """One event (CreateEventRequest), with the API's identification rules."""
    return _read(_event_request, value, where, "event")


def context(value: Any, where: str = "context") -> dict[str, Any]:
    return _read(_context, value, where, "context")


def identifier(value: Any, where: str) -> str:
    """A FullStory id or a uid used in a URL: a non-empty string."""
    return text(non_empty=True)(value, where)  # type: ignore[no-any-return]
