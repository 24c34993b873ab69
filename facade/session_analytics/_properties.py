"""FullStory's rules for custom properties and their declared types, in one place.

Pure functions, no I/O: the SDK checks properties before anything is sent or queued, and the
sandbox enforces the same rules on what it receives.

Rules (FullStory Server API v2):
- a name starts with a letter and continues with letters, digits or ``_``;
- the dotted path of a nested name (``parent.child``) is at most 512 characters;
- at most 500 distinct properties (dotted leaf paths) per object;
- one value takes at most 8192 bytes (strings by their UTF-8 size, arrays by their JSON size);
- values are strings, numbers, booleans, null, nested objects, or arrays of one primitive type;
  arrays of objects or of arrays are not supported;
- every number is stored as ``real`` unless ``schema`` declares another type.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ._rules import member

MAX_PROPERTIES = 500
MAX_PROPERTY_PATH_CHARS = 512
MAX_PROPERTY_VALUE_BYTES = 8192
PROPERTY_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

SCALAR_TYPES = frozenset({"str", "int", "real", "bool", "date"})
LIST_TYPES = {"strs": "str", "ints": "int", "reals": "real", "bools": "bool", "dates": "date"}
TYPE_NAMES = SCALAR_TYPES | frozenset(LIST_TYPES)

Leaf = tuple[str, Any]


class PropertyRuleError(ValueError):
    """A property breaks one of the API's rules; ``field`` names it (``properties.plan.tier``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


# Names that already passed the name rule: backends send the same few names again and again, and
# a set lookup is much cheaper than the regular expression. Bounded, so it cannot grow forever.
_KNOWN_NAMES: set[str] = set()
_KNOWN_NAMES_MAX = 10_000
_SCALARS = (str, int, float, bool)


def leaves(properties: Mapping[str, Any], field: str = "properties") -> list[Leaf]:
    """Check ``properties`` against every rule; return its (dotted path, value) leaves.

    Raises:
        PropertyRuleError: naming the first property that breaks a rule.
    """
    if not isinstance(properties, Mapping):
        raise PropertyRuleError(field, "must be an object")
    found: list[Leaf] = []
    try:
        _walk(properties, "", field, found)
    except RecursionError:  # the dotted-name rule stops any nesting long before; a deep caller
        raise PropertyRuleError(field, "is nested too deeply to be checked") from None
    except PropertyRuleError as err:
        if err.reason == PATH_TOO_LONG:  # an object that contains itself gets there too
            cycle = _cycle(properties, field)
            if cycle is not None:
                raise cycle from None
        raise
    if len(found) > MAX_PROPERTIES:
        raise PropertyRuleError(
            field, f"holds {len(found)} properties; at most {MAX_PROPERTIES} are allowed"
        )
    return found


def _walk(obj: Mapping[str, Any], prefix: str, field: str, found: list[Leaf]) -> None:
    for name, value in obj.items():
        if name not in _KNOWN_NAMES:
            if not isinstance(name, str) or not PROPERTY_NAME_RE.match(name):
                raise PropertyRuleError(
                    member(f"{field}.{prefix[:-1]}" if prefix else field, name),
                    "a property name starts with a letter and holds only letters, digits and '_'",
                )
            if len(_KNOWN_NAMES) < _KNOWN_NAMES_MAX:
                _KNOWN_NAMES.add(name)
        path = f"{prefix}{name}" if prefix else name
        if len(path) > MAX_PROPERTY_PATH_CHARS:
            raise PropertyRuleError(f"{field}.{path}", PATH_TOO_LONG)
        kind = type(value)
        if kind is str:
            if len(value) * 4 > MAX_PROPERTY_VALUE_BYTES:
                _check_value(value, f"{field}.{path}")
        elif kind is int or kind is bool or value is None:
            pass
        elif isinstance(value, Mapping):
            _walk(value, f"{path}.", field, found)
            continue
        else:
            _check_value(value, f"{field}.{path}")
        found.append((path, value))


PATH_TOO_LONG = f"the dotted name is longer than {MAX_PROPERTY_PATH_CHARS} characters"


def _cycle(properties: Mapping[str, Any], field: str) -> PropertyRuleError | None:
    """The error for the first object in ``properties`` that holds one of the objects it sits
    in, if there is one (looked for only once a name got too long)."""
    stack: list[tuple[Mapping[str, Any], str, frozenset[int]]] = [(properties, field, frozenset())]
    while stack:
        obj, where, holding = stack.pop()
        holding = holding | {id(obj)}
        for name, value in obj.items():
            if isinstance(value, Mapping):
                inner = member(where, name)
                if id(value) in holding:
                    return PropertyRuleError(
                        inner, "refers back to an object that holds it (a cycle)"
                    )
                if len(holding) <= MAX_PROPERTY_PATH_CHARS:
                    stack.append((value, inner, holding))
    return None


def _check_value(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise PropertyRuleError(where, "NaN and Infinity are not valid JSON numbers")
        return
    if isinstance(value, str):
        if len(value) * 4 > MAX_PROPERTY_VALUE_BYTES and (
            len(value.encode("utf-8")) > MAX_PROPERTY_VALUE_BYTES
        ):
            raise PropertyRuleError(where, f"the value is over {MAX_PROPERTY_VALUE_BYTES} bytes")
        return
    if isinstance(value, list | tuple):
        kinds = set()
        for item in value:
            if isinstance(item, Mapping | list | tuple):
                raise PropertyRuleError(
                    where, "arrays may hold strings, numbers or booleans, not objects or arrays"
                )
            if item is None:
                raise PropertyRuleError(where, "arrays may not hold null")
            _check_value(item, where)
            kinds.add(_scalar_kind(item))
        if len(kinds) > 1:
            raise PropertyRuleError(where, "an array must hold values of one type")
        size = len(json.dumps(list(value), ensure_ascii=False, separators=(",", ":")).encode())
        if size > MAX_PROPERTY_VALUE_BYTES:
            raise PropertyRuleError(where, f"the value is over {MAX_PROPERTY_VALUE_BYTES} bytes")
        return
    raise PropertyRuleError(
        where, f"{type(value).__name__} is not a JSON value (use str, int, float, bool or None)"
    )


def _scalar_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "real"
    return "str"


def infer_type(value: Any) -> str | None:
    """The type FullStory stores for a leaf value when nothing is declared (None for null/[])."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return f"{_scalar_kind(value[0])}s" if value else None
    return _scalar_kind(value)


def declared_types(schema: Any, field: str = "schema") -> dict[str, str]:
    """Read ``{"properties": {name: type}}``; every type must be a known type name.

    Raises:
        PropertyRuleError: for a malformed schema or an unknown type name.
    """
    if schema is None:
        return {}
    if not isinstance(schema, Mapping):
        raise PropertyRuleError(field, "must be an object")
    types = schema.get("properties")
    if types is None:
        return {}
    if not isinstance(types, Mapping):
        raise PropertyRuleError(f"{field}.properties", "must be an object")
    out: dict[str, str] = {}
    for name, type_name in types.items():
        if not isinstance(name, str) or not all(
            PROPERTY_NAME_RE.match(part) for part in name.split(".")
        ):
            raise PropertyRuleError(
                member(f"{field}.properties", name),
                "names a property that cannot exist: use the dotted property name",
            )
        if not isinstance(type_name, str) or type_name not in TYPE_NAMES:
            known = ", ".join(sorted(TYPE_NAMES))
            raise PropertyRuleError(
                member(f"{field}.properties", name),
                f"unknown type {_shown(type_name)}; use one of {known}",
            )
        out[str(name)] = str(type_name)
    return out


def _shown(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # an int too long to show, say
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else f"{text[:77]}..."


def check_declared(found: list[Leaf], declared: Mapping[str, str], field: str) -> None:
    """Each declared type must fit the value sent with it.

    Raises:
        PropertyRuleError: naming the property whose value does not fit its declared type.
    """
    for path, value in found:
        type_name = declared.get(path)
        if type_name is None or value is None:
            continue
        if type_name in LIST_TYPES:
            if not isinstance(value, list | tuple):
                raise PropertyRuleError(f"{field}.{path}", f"declared {type_name}: needs an array")
            element = LIST_TYPES[type_name]
            for item in value:
                _check_scalar(item, element, f"{field}.{path}", type_name)
        else:
            _check_scalar(value, type_name, f"{field}.{path}", type_name)


def _check_scalar(value: Any, type_name: str, where: str, declared: str) -> None:
    ok: bool
    if type_name == "str":
        ok = isinstance(value, str)
    elif type_name == "bool":
        ok = isinstance(value, bool)
    elif type_name == "real":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif type_name == "int":
        ok = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and float(value).is_integer()
        )
    else:  # date
        ok = isinstance(value, str) and _is_iso_datetime(value)
    if not ok:
        raise PropertyRuleError(
            where, f"declared {declared}, but the value {_shown(value)} is not one"
        )


def _is_iso_datetime(text: str) -> bool:
    from dateutil.parser import isoparse  # only a date property needs it

    try:
        isoparse(text)
    except (ValueError, OverflowError):
        return False
    return True
