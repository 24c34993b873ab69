"""Request bodies are checked against the same OpenAPI documents the clients are generated from.

A body that breaks its schema gets 400 ``invalid_argument`` with a message naming the field, such
as ``requests[3].uid must be at most 256 characters``.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import fastjsonschema
import yaml

from .. import _rules
from .errors import ApiError, bad_request

Validator = Callable[[Any], Any]

_SOURCE_TREE_SPECS = Path(__file__).resolve().parents[3] / "openapi"


def spec_text(api: str) -> str:
    """The OpenAPI document of ``api`` ("fullstory" or "smartlook") as shipped with the package."""
    packaged = resources.files(__package__).joinpath("openapi").joinpath(f"{api}.yaml")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    source = _SOURCE_TREE_SPECS / f"{api}.yaml"  # an editable install runs from the source tree
    if source.is_file():
        return source.read_text(encoding="utf-8")
    raise FileNotFoundError(
        f"the OpenAPI document {api}.yaml is missing from this installation of session-analytics"
    )


@functools.cache
def spec(api: str) -> Mapping[str, Any]:
    loaded: Mapping[str, Any] = yaml.safe_load(spec_text(api))
    return loaded


_compile_lock = threading.Lock()


FORMATS: dict[str, Callable[[Any], bool]] = {"date-time": _rules.is_timestamp}
INTEGER_RANGES = {
    "int32": {"minimum": -(2**31), "maximum": 2**31 - 1},
    "int64": {"minimum": -(2**63), "maximum": 2**63 - 1},
}


def _with_integer_bounds(node: Any) -> Any:
    """fastjsonschema ignores ``format: int32`` and ``int64``; spell their ranges out as
    minimum/maximum (a bound the schema gives itself wins)."""
    if isinstance(node, dict):
        out = {k: _with_integer_bounds(v) for k, v in node.items()}
        if out.get("type") == "integer" and out.get("format") in INTEGER_RANGES:
            out = {**INTEGER_RANGES[out["format"]], **out}
        return out
    if isinstance(node, list):
        return [_with_integer_bounds(v) for v in node]
    return node


@functools.cache
def _components(api: str) -> dict[str, Any]:
    components: dict[str, Any] = _with_integer_bounds(spec(api)["components"])
    return components


@functools.cache
def _compiled(api: str, schema_name: str, items_as_objects: bool) -> Validator:
    components = _components(api)
    root: dict[str, Any] = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
    if items_as_objects:
        # The envelope of a batch job: each item is checked on its own, so that one bad item
        # fails alone instead of failing the whole job.
        target = dict(components["schemas"][schema_name])
        props = dict(target["properties"])
        props["requests"] = {**props["requests"], "items": {"type": "object"}}
        target["properties"] = props
        root = {**target, "components": components}
    with _compile_lock:
        # date-time is the SDK's rule (RFC 3339), not fastjsonschema's looser pattern.
        return fastjsonschema.compile(root, use_default=False, formats=FORMATS)


def validate(api: str, schema_name: str, body: Any, *, items_as_objects: bool = False) -> None:
    """Check ``body`` against ``components/schemas/<schema_name>``.

    Raises:
        ApiError: 400 ``invalid_argument`` naming the first field that breaks the schema.
    """
    try:
        _compiled(api, schema_name, items_as_objects)(body)
    except fastjsonschema.JsonSchemaValueException as err:
        raise bad_request(describe(err)) from None


def problem(api: str, schema_name: str, body: Any) -> str | None:
    """Like :func:`validate`, but returns the message instead of raising (None when valid)."""
    try:
        validate(api, schema_name, body)
    except ApiError as err:
        return err.message
    return None


def field_name(path: list[Any] | None) -> str:
    out = ""
    for part in (path or [])[1:]:  # the first element is fastjsonschema's "data"
        # fastjsonschema gives array indexes as strings; property names never are all digits
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_ARTICLES = {"object": "an object", "array": "an array", "integer": "an integer"}


def describe(err: fastjsonschema.JsonSchemaValueException) -> str:
    """A message for people: which field, and what is wrong with it."""
    field = field_name(err.path)
    where = field or "the request body"
    rule = err.rule
    definition = err.rule_definition
    value = err.value
    if rule == "required" and isinstance(value, Mapping):
        missing = [name for name in definition if name not in value]
        name = missing[0] if missing else definition[0]
        return f"{field}.{name} is required" if field else f"{name} is required"
    if rule == "type":
        kinds = definition if isinstance(definition, list) else [definition]
        wanted = " or ".join(_ARTICLES.get(k, f"a {k}") for k in kinds)
        return f"{where} must be {wanted}"
    if rule == "minLength":
        if definition == 1:
            return f"{where} must not be empty"
        return f"{where} must be at least {definition} characters"
    if rule == "maxLength":
        return f"{where} must be at most {definition} characters"
    if rule == "maxItems":
        return f"{where} may hold at most {definition} items"
    if rule == "maxProperties":
        return f"{where} may hold at most {definition} properties"
    if rule == "propertyNames" and isinstance(value, Mapping):
        bad = next((n for n in value if not _name_ok(n, definition)), None)
        return (
            f"{where}.{bad}: a property name starts with a letter and holds only letters, "
            f"digits and '_', at most {definition.get('maxLength', 512)} characters"
        )
    if rule == "enum":
        return f"{where} must be one of {', '.join(map(str, definition))}"
    if rule == "format" and definition == "date-time":
        problem = _rules.timestamp_problem(value) if isinstance(value, str) else None
        return f"{where} {problem or _rules.MUST_BE_DATE_TIME}"
    if rule == "minimum":
        return f"{where} must be at least {definition}"
    if rule == "maximum":
        return f"{where} must be at most {definition}"
    message = str(err.message)
    return message.replace("data.", "", 1) if message.startswith("data.") else message


def _name_ok(name: str, definition: Mapping[str, Any]) -> bool:
    pattern = definition.get("pattern")
    if pattern and not re.search(pattern, name):
        return False
    return len(name) <= int(definition.get("maxLength", len(name)))


_TRUE, _FALSE = ("true", "1"), ("false", "0")


@attrs.frozen
class _Parameter:
    name: str
    location: str
    required: bool
    kind: str | None
    check: Validator


@functools.cache
def _parameters(api: str, method: str, path: str) -> tuple[_Parameter, ...]:
    """The query and header parameters of an operation, each with its compiled validator."""
    document = spec(api)
    item = document["paths"][path]
    declared = [*item.get("parameters", []), *item[method.lower()].get("parameters", [])]
    found = []
    for param in declared:
        if "$ref" in param:
            param = document["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
        if param["in"] in ("query", "header"):
            schema = _with_integer_bounds(param["schema"])
            with _compile_lock:
                check = fastjsonschema.compile(schema)
            found.append(
                _Parameter(
                    param["name"],
                    param["in"],
                    bool(param.get("required")),
                    schema.get("type"),
                    check,
                )
            )
    return tuple(found)


def check_parameters(
    api: str, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> None:
    """Query and header parameters against the operation's declared parameters.

    Raises:
        ApiError: 400 naming the parameter (``required_field`` when a required one is missing).
    """
    declared = _parameters(api, method, path)
    if api == "fullstory":
        known = {p.name for p in declared if p.location == "query"}
        unknown = sorted(set(query) - known)
        if unknown:
            raise bad_request(f"unknown query parameter {unknown[0]!r}")
    for param in declared:
        raw = (query if param.location == "query" else headers).get(param.name)
        if raw is None:
            if param.required:
                raise bad_request(f"{param.name} is required", code="required_field")
            continue
        value: Any = raw
        if param.kind == "boolean":
            if raw.lower() not in _TRUE + _FALSE:
                raise bad_request(f"{param.name} must be true or false, not {raw!r}")
            continue
        if param.kind == "integer":
            try:
                value = int(raw)
            except ValueError:
                raise bad_request(f"{param.name} must be an integer") from None
        try:
            param.check(value)
        except fastjsonschema.JsonSchemaValueException as err:
            raise bad_request(describe(err).replace("the request body", param.name, 1)) from None
