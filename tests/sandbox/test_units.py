"""Pure-logic tests of the sandbox's building blocks, without HTTP.

Property rules (``_properties``), fault settings and decisions, the idempotency store, batch job
timing on a fake clock, and the sandbox settings.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from session_analytics import _properties as props
from session_analytics.sandbox.config import DEFAULT_API_KEY, TUNABLE, SandboxConfig
from session_analytics.sandbox.errors import ApiError
from session_analytics.sandbox.faults import FATES, FaultInjector, Faults, parse_faults
from session_analytics.sandbox.fullstory import Clock, FullStoryState
from session_analytics.sandbox.idempotency import (
    REUSED_KEY_MESSAGE,
    IdempotencyStore,
    fingerprint,
)
from session_analytics.sandbox.jobs import JOB_LIMIT_MESSAGE, JobBoard

# ---- _properties: leaves ----------------------------------------------------------------------

A512 = "a" * 512
NESTED_512 = ("a" * 255, "b" * 256)  # "aaa…a.bbb…b" is exactly 512 characters
NESTED_513 = ("a" * 256, "b" * 256)
FIVE_HUNDRED = {f"p{i}": i for i in range(500)}
FIVE_HUNDRED_ONE = {f"p{i}": i for i in range(501)}

GOOD_PROPERTIES = [
    pytest.param({}, [], id="empty"),
    pytest.param(
        {"a": 1, "B_2": "x", "c9": True, "d": None, "e": 1.5, "f": -7},
        [("a", 1), ("B_2", "x"), ("c9", True), ("d", None), ("e", 1.5), ("f", -7)],
        id="primitives",
    ),
    pytest.param(
        {"plan": {"tier": "gold", "seats": 3}, "x": 1},
        [("plan.tier", "gold"), ("plan.seats", 3), ("x", 1)],
        id="nested",
    ),
    pytest.param({"a": {"b": {"c": "deep"}}}, [("a.b.c", "deep")], id="three-levels"),
    pytest.param({"plan": {}}, [], id="empty-nested-object-has-no-leaf"),
    pytest.param(
        {"s": ["a", "b"], "n": [1, 2.5], "b": [True, False], "e": []},
        [("s", ["a", "b"]), ("n", [1, 2.5]), ("b", [True, False]), ("e", [])],
        id="arrays-of-one-primitive-type",
    ),
    pytest.param({"t": ("a", "b")}, [("t", ("a", "b"))], id="tuple-is-an-array"),
    pytest.param({"big": 2**63, "tiny": 1e-300}, [("big", 2**63), ("tiny", 1e-300)], id="numbers"),
    pytest.param(FIVE_HUNDRED, list(FIVE_HUNDRED.items()), id="500-properties"),
    pytest.param(
        {"g": {f"p{i}": i for i in range(250)}, "h": {f"q{i}": i for i in range(250)}},
        [(f"g.p{i}", i) for i in range(250)] + [(f"h.q{i}", i) for i in range(250)],
        id="500-nested-properties",
    ),
    pytest.param({A512: 1}, [(A512, 1)], id="512-char-name"),
    pytest.param(
        {NESTED_512[0]: {NESTED_512[1]: 1}}, [(".".join(NESTED_512), 1)], id="512-char-dotted-path"
    ),
    pytest.param({"s": "x" * 8192}, [("s", "x" * 8192)], id="8192-ascii-bytes"),
    pytest.param({"s": "é" * 4096}, [("s", "é" * 4096)], id="8192-bytes-of-2-byte-chars"),
    pytest.param({"s": "€" * 2730}, [("s", "€" * 2730)], id="8190-bytes-of-3-byte-chars"),
    pytest.param({"s": "😀" * 2048}, [("s", "😀" * 2048)], id="8192-bytes-of-4-byte-chars"),
    pytest.param({"s": ["x" * 8188]}, [("s", ["x" * 8188])], id="array-of-8192-json-bytes"),
]


@pytest.mark.parametrize(("properties", "expected"), GOOD_PROPERTIES)
def test_leaves_accepts_valid_properties(properties: Any, expected: list[Any]) -> None:
    assert props.leaves(properties) == expected


BAD_PROPERTIES = [
    pytest.param([1], "properties", "must be an object", id="not-an-object"),
    pytest.param("x", "properties", "must be an object", id="a-string"),
    pytest.param({"1a": 1}, "properties.1a", "starts with a letter", id="digit-first"),
    pytest.param({"_a": 1}, "properties._a", "starts with a letter", id="underscore-first"),
    pytest.param({"a-b": 1}, "properties.a-b", "starts with a letter", id="dash"),
    pytest.param({"a.b": 1}, "properties.a.b", "starts with a letter", id="dot-in-a-name"),
    pytest.param({"a b": 1}, "properties.a b", "starts with a letter", id="space"),
    pytest.param({"": 1}, "properties.", "starts with a letter", id="empty-name"),
    pytest.param({"é": 1}, "properties.é", "starts with a letter", id="non-ascii-letter"),
    pytest.param({"a\n": 1}, "properties.a\n", "starts with a letter", id="trailing-newline"),
    pytest.param({1: "x"}, "properties.1", "starts with a letter", id="non-string-name"),
    pytest.param(
        {"plan": {"Tier-1": "x"}}, "properties.plan.Tier-1", "starts with a letter", id="nested"
    ),
    pytest.param({"a" * 513: 1}, "properties." + "a" * 513, "longer than 512", id="513-char-name"),
    pytest.param(
        {NESTED_513[0]: {NESTED_513[1]: 1}},
        "properties." + ".".join(NESTED_513),
        "longer than 512",
        id="513-char-dotted-path",
    ),
    pytest.param(FIVE_HUNDRED_ONE, "properties", "holds 501 properties", id="501-properties"),
    pytest.param(
        {"g": FIVE_HUNDRED, "h": 1}, "properties", "holds 501 properties", id="501-nested"
    ),
    pytest.param({"s": "x" * 8193}, "properties.s", "over 8192 bytes", id="8193-ascii-bytes"),
    pytest.param({"s": "é" * 4097}, "properties.s", "over 8192 bytes", id="8194-bytes-2-byte"),
    pytest.param({"s": "€" * 2731}, "properties.s", "over 8192 bytes", id="8193-bytes-3-byte"),
    pytest.param({"s": "😀" * 2049}, "properties.s", "over 8192 bytes", id="8196-bytes-4-byte"),
    pytest.param({"s": ["x" * 8189]}, "properties.s", "over 8192 bytes", id="array-8193-bytes"),
    pytest.param({"s": ["x" * 8193]}, "properties.s", "over 8192 bytes", id="array-item-too-big"),
    pytest.param({"n": math.nan}, "properties.n", "NaN and Infinity", id="nan"),
    pytest.param({"n": math.inf}, "properties.n", "NaN and Infinity", id="infinity"),
    pytest.param({"n": [1.0, -math.inf]}, "properties.n", "NaN and Infinity", id="inf-in-array"),
    pytest.param({"a": [{"b": 1}]}, "properties.a", "not objects or arrays", id="array-of-objects"),
    pytest.param({"a": [[1]]}, "properties.a", "not objects or arrays", id="array-of-arrays"),
    pytest.param({"a": ["x", None]}, "properties.a", "may not hold null", id="null-in-array"),
    pytest.param({"a": [1, "x"]}, "properties.a", "one type", id="numbers-and-strings"),
    pytest.param({"a": [True, 1]}, "properties.a", "one type", id="booleans-and-numbers"),
    pytest.param({"a": {1, 2}}, "properties.a", "set is not a JSON value", id="set"),
    pytest.param({"a": b"x"}, "properties.a", "bytes is not a JSON value", id="bytes"),
    pytest.param(
        {"a": decimal.Decimal("1.5")}, "properties.a", "Decimal is not a JSON value", id="decimal"
    ),
    pytest.param(
        {"a": {"b": dt.date(2024, 1, 1)}}, "properties.a.b", "date is not a JSON value", id="date"
    ),
]


@pytest.mark.parametrize(("properties", "field", "reason"), BAD_PROPERTIES)
def test_leaves_refuses_invalid_properties(properties: Any, field: str, reason: str) -> None:
    with pytest.raises(props.PropertyRuleError) as caught:
        props.leaves(properties)
    assert caught.value.field == field
    assert reason in caught.value.reason
    assert str(caught.value) == f"{field}: {caught.value.reason}"


def test_leaves_names_the_field_given() -> None:
    with pytest.raises(props.PropertyRuleError) as caught:
        props.leaves({"ok": {"9bad": 1}}, "requests[2].properties")
    assert caught.value.field == "requests[2].properties.ok.9bad"


# ---- _properties: infer_type, declared_types, check_declared ---------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, "bool"),
        (False, "bool"),
        (0, "real"),
        (2, "real"),
        (2.5, "real"),
        ("", "str"),
        ("2024-01-01T00:00:00Z", "str"),
        ([], None),
        (["a"], "strs"),
        ([1], "reals"),
        ([1.5, 2], "reals"),
        ([True], "bools"),
        (("a", "b"), "strs"),
    ],
)
def test_infer_type(value: Any, expected: str | None) -> None:
    assert props.infer_type(value) == expected


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (None, {}),
        ({}, {}),
        ({"properties": None}, {}),
        ({"properties": {}}, {}),
        ({"properties": {"a": "int", "b.c": "dates"}}, {"a": "int", "b.c": "dates"}),
        (
            {"properties": {name: name for name in sorted(props.TYPE_NAMES)}},
            {name: name for name in sorted(props.TYPE_NAMES)},
        ),
    ],
)
def test_declared_types_reads_valid_schemas(schema: Any, expected: dict[str, str]) -> None:
    assert props.declared_types(schema) == expected


@pytest.mark.parametrize(
    ("schema", "field", "reason"),
    [
        ("str", "schema", "must be an object"),
        (["int"], "schema", "must be an object"),
        ({"properties": "x"}, "schema.properties", "must be an object"),
        ({"properties": ["a"]}, "schema.properties", "must be an object"),
        ({"properties": {"a": "integer"}}, "schema.properties.a", "unknown type 'integer'"),
        ({"properties": {"a": "Int"}}, "schema.properties.a", "unknown type 'Int'"),
        ({"properties": {"a": None}}, "schema.properties.a", "unknown type None"),
        ({"properties": {"a": 1}}, "schema.properties.a", "unknown type 1"),
        ({"properties": {"ok": "str", "b": "strings"}}, "schema.properties.b", "unknown type"),
        # An unhashable type name must be refused like any other unknown type name.
        pytest.param(
            {"properties": {"a": ["int"]}},
            "schema.properties.a",
            "unknown type",
            id="unhashable-list-type-name",
        ),
        pytest.param(
            {"properties": {"a": {"type": "int"}}},
            "schema.properties.a",
            "unknown type",
            id="unhashable-object-type-name",
        ),
    ],
)
def test_declared_types_refuses_malformed_schemas(schema: Any, field: str, reason: str) -> None:
    with pytest.raises(props.PropertyRuleError) as caught:
        props.declared_types(schema)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_declared_types_names_the_field_given() -> None:
    with pytest.raises(props.PropertyRuleError) as caught:
        props.declared_types({"properties": {"x": "nope"}}, "requests[0].schema")
    assert caught.value.field == "requests[0].schema.properties.x"


DATE = "2024-02-01T12:30:00Z"


@pytest.mark.parametrize(
    ("declared", "value"),
    [
        ("int", 2),
        ("int", 2.0),
        ("int", -5),
        ("int", 10**20),
        ("real", 1),
        ("real", 1.5),
        ("str", ""),
        ("str", "x"),
        ("bool", False),
        ("date", DATE),
        ("date", "2024-02-01"),
        ("date", "2024-02-01T12:30:00.123+02:00"),
        ("strs", ["a", "b"]),
        ("strs", []),
        ("ints", [1, 2.0]),
        ("reals", [1, 2.5]),
        ("bools", [True, False]),
        ("dates", [DATE, "2024-03-01"]),
        ("ints", (1, 2)),
        ("int", None),
        ("dates", None),
    ],
)
def test_check_declared_accepts_fitting_values(declared: str, value: Any) -> None:
    props.check_declared([("plan.v", value)], {"plan.v": declared}, "properties")


@pytest.mark.parametrize(
    ("declared", "value", "reason"),
    [
        ("int", 2.5, "declared int, but the value 2.5 is not one"),
        ("int", True, "declared int"),
        ("int", "2", "declared int"),
        ("real", "1", "declared real"),
        ("real", False, "declared real"),
        ("str", 1, "declared str"),
        ("str", ["a"], "declared str"),
        ("bool", 1, "declared bool"),
        ("bool", "true", "declared bool"),
        ("date", "yesterday", "declared date"),
        ("date", "2024-02-30", "declared date"),
        ("date", 20240201, "declared date"),
        ("strs", "a", "declared strs: needs an array"),
        ("ints", [1, 2.5], "declared ints, but the value 2.5 is not one"),
        ("bools", [1], "declared bools"),
        ("dates", [DATE, "soon"], "declared dates"),
    ],
)
def test_check_declared_refuses_values_of_another_type(
    declared: str, value: Any, reason: str
) -> None:
    with pytest.raises(props.PropertyRuleError) as caught:
        props.check_declared([("plan.v", value)], {"plan.v": declared}, "event.properties")
    assert caught.value.field == "event.properties.plan.v"
    assert reason in caught.value.reason


def test_check_declared_ignores_undeclared_and_unsent_paths() -> None:
    props.check_declared([("a", "text"), ("b", 1.5)], {"c": "int", "A": "int"}, "properties")


def test_check_declared_names_the_first_misfit() -> None:
    leaves = props.leaves({"ok": 1, "plan": {"seats": "many"}, "late": "x"})
    with pytest.raises(props.PropertyRuleError) as caught:
        props.check_declared(leaves, {"ok": "int", "plan.seats": "int", "late": "int"}, "p")
    assert caught.value.field == "p.plan.seats"


# ---- _properties: properties of any valid input -----------------------------------------------

NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,7}", fullmatch=True)
PRIMITIVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
ARRAYS = st.one_of(
    st.lists(st.text(max_size=10), max_size=5),
    st.lists(st.integers(), max_size=5),
    st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=5),
    st.lists(st.booleans(), max_size=5),
)
VALUES = st.recursive(
    st.one_of(PRIMITIVES, ARRAYS),
    lambda children: st.dictionaries(NAMES, children, max_size=4),
    max_leaves=20,
)
VALID_PROPERTIES = st.dictionaries(NAMES, VALUES, max_size=8)


def _flatten(obj: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name, value in obj.items():
        if isinstance(value, dict):
            out += _flatten(value, f"{prefix}{name}.")
        else:
            out.append((f"{prefix}{name}", value))
    return out


@settings(deadline=None)  # pure logic: no timing to check, and CI machines stall
@given(VALID_PROPERTIES)
def test_valid_properties_pass_with_one_leaf_per_primitive(properties: dict[str, Any]) -> None:
    found = props.leaves(properties)
    assert found == _flatten(properties)
    props.check_declared(found, {}, "properties")
    for path, value in found:
        assert props.infer_type(value) in {None, *props.TYPE_NAMES}, path


@settings(deadline=None)
@given(
    VALID_PROPERTIES,
    st.lists(NAMES, max_size=3),
    st.from_regex(r"[0-9_.\- ][A-Za-z0-9_]{0,5}", fullmatch=True),
)
def test_the_error_names_the_offending_property(
    valid: dict[str, Any], parents: list[str], bad: str
) -> None:
    chain: Any = {bad: 1}
    for name in reversed(parents):
        chain = {name: chain}
    ((first, branch),) = chain.items()
    properties = {first: branch, **{k: v for k, v in valid.items() if k != first}}
    with pytest.raises(props.PropertyRuleError) as caught:
        props.leaves(properties)
    assert caught.value.field == "properties." + ".".join([*parents, bad])


# ---- faults.parse_faults ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, Faults()),
        ({"error_rate": 1}, Faults(error_rate=1.0)),
        (
            {"error_rate": 0, "rate_limit_rate": 0.5, "reset_rate": 0.25, "malformed_rate": 1.0},
            Faults(rate_limit_rate=0.5, reset_rate=0.25, malformed_rate=1.0),
        ),
        ({"retry_after_s": 30, "latency_ms": 1500}, Faults(retry_after_s=30.0, latency_ms=1500.0)),
        ({"seed": 0}, Faults(seed=0)),
        ({"seed": -3}, Faults(seed=-3)),
        ({"seed": None}, Faults()),
        ({"paths": ["/v2/users", "/events"]}, Faults(paths=("/v2/users", "/events"))),
        ({"script": list(FATES)}, Faults(script=FATES)),
        ({"paths": [], "script": []}, Faults()),
    ],
)
def test_parse_faults_reads_valid_settings(data: Any, expected: Faults) -> None:
    parsed = parse_faults(data)
    assert parsed == expected
    assert all(isinstance(getattr(parsed, n), float) for n in ("error_rate", "latency_ms"))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([], "faults must be a JSON object"),
        ("error_rate", "faults must be a JSON object"),
        (None, "faults must be a JSON object"),
        ({"error_rate": 1.5}, "error_rate must be between 0 and 1"),
        ({"malformed_rate": 1.0001}, "malformed_rate must be between 0 and 1"),
        ({"error_rate": -0.1}, "error_rate must be a finite number >= 0"),
        ({"rate_limit_rate": "0.5"}, "rate_limit_rate must be a finite number >= 0"),
        ({"reset_rate": True}, "reset_rate must be a finite number >= 0"),
        ({"malformed_rate": None}, "malformed_rate must be a finite number >= 0"),
        ({"latency_ms": -1}, "latency_ms must be a finite number >= 0"),
        ({"retry_after_s": -1}, "retry_after_s must be a finite number >= 0"),
        ({"bogus": 1, "also": 2}, "unknown fault(s) also, bogus; known: "),
        ({"seed": "7"}, "seed must be an integer"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"seed": True}, "seed must be an integer"),
        ({"paths": "/v2"}, "paths must be a list of strings"),
        ({"paths": [1]}, "paths must be a list of strings"),
        ({"script": "error"}, "script must be a list of strings"),
        ({"script": ["error", "explode"]}, "unknown fate(s) in script: explode"),
    ],
)
def test_parse_faults_refuses_bad_settings(data: Any, reason: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_faults(data)
    assert (caught.value.status, caught.value.code) == (400, "invalid_argument")
    assert reason in caught.value.message


@pytest.mark.parametrize(
    "data",
    [
        {"error_rate": math.nan},
        {"reset_rate": math.nan},
        {"latency_ms": math.nan},
        {"latency_ms": math.inf},
        {"retry_after_s": math.inf},
    ],
    ids=["nan-rate", "nan-reset-rate", "nan-latency", "infinite-latency", "infinite-retry-after"],
)
def test_parse_faults_refuses_non_finite_numbers(data: dict[str, float]) -> None:
    # NaN passes both "< 0" and "> 1" checks; such settings cannot even be shown as JSON.
    with pytest.raises(ApiError) as caught:
        parse_faults(data)
    assert caught.value.status == 400


FAULT_SETTINGS = st.builds(
    Faults,
    error_rate=st.floats(0, 1),
    rate_limit_rate=st.floats(0, 1),
    retry_after_s=st.floats(0, 3600),
    reset_rate=st.floats(0, 1),
    malformed_rate=st.floats(0, 1),
    latency_ms=st.floats(0, 10_000),
    seed=st.none() | st.integers(),
    paths=st.lists(st.text(max_size=8), max_size=3).map(tuple),
    script=st.lists(st.sampled_from(FATES), max_size=5).map(tuple),
)


@given(FAULT_SETTINGS)
def test_fault_settings_survive_a_json_round_trip(faults: Faults) -> None:
    assert parse_faults(json.loads(json.dumps(faults.to_json()))) == faults


# ---- faults.FaultInjector.decide --------------------------------------------------------------


def _fates(faults: Faults, n: int, path: str = "/v2/users") -> list[str]:
    injector = FaultInjector()
    injector.configure(faults)
    return [injector.decide(path).fate for _ in range(n)]


def test_no_faults_by_default() -> None:
    injector = FaultInjector()
    decisions = [injector.decide("/v2/events") for _ in range(200)]
    assert {(d.fate, d.latency_s) for d in decisions} == {("ok", 0.0)}
    assert injector.injected == {}


@pytest.mark.parametrize(
    ("setting", "fate"),
    [
        ("error_rate", "error"),
        ("rate_limit_rate", "rate_limit"),
        ("reset_rate", "reset"),
        ("malformed_rate", "malformed"),
    ],
)
def test_a_rate_of_one_always_injects(setting: str, fate: str) -> None:
    injector = FaultInjector()
    injector.configure(parse_faults({setting: 1}))
    assert [injector.decide("/v2/users").fate for _ in range(50)] == [fate] * 50
    assert injector.injected == {fate: 50}


def test_error_wins_over_the_other_faults() -> None:
    every = Faults(error_rate=1, rate_limit_rate=1, reset_rate=1, malformed_rate=1)
    assert _fates(every, 10) == ["error"] * 10
    assert _fates(Faults(rate_limit_rate=1, reset_rate=1), 3) == ["rate_limit"] * 3
    assert _fates(Faults(reset_rate=1, malformed_rate=1), 3) == ["reset"] * 3


def test_latency_applies_to_every_fate() -> None:
    injector = FaultInjector()
    injector.configure(Faults(latency_ms=250, script=("error", "ok")))
    assert [(d.fate, d.latency_s) for d in (injector.decide("/v2/users") for _ in range(3))] == [
        ("error", 0.25),
        ("ok", 0.25),
        ("ok", 0.25),
    ]


def test_the_script_comes_first_then_the_rates() -> None:
    script = ("rate_limit", "ok", "reset", "malformed", "error")
    assert _fates(Faults(error_rate=1, script=script), 7) == [*script, "error", "error"]
    assert _fates(Faults(script=("error",)), 3) == ["error", "ok", "ok"]


def test_paths_limit_faults_and_do_not_use_up_the_script() -> None:
    injector = FaultInjector()
    injector.configure(Faults(paths=("/v2/events",), script=("reset",), error_rate=1))
    assert injector.decide("/v2/users").fate == "ok"
    assert injector.decide("/rec/check/backend").fate == "ok"
    assert injector.decide("/v2/events").fate == "reset"
    assert injector.decide("/v2/events/batch").fate == "error"
    assert injector.decide("/v2beta/events").fate == "ok"
    assert injector.injected == {"reset": 1, "error": 1}


def test_a_path_outside_paths_gets_no_latency() -> None:
    injector = FaultInjector()
    injector.configure(Faults(paths=("/v2/events",), latency_ms=500))
    assert injector.decide("/v2/users").latency_s == 0.0
    assert injector.decide("/v2/events").latency_s == 0.5


MIXED = Faults(
    seed=20240201, error_rate=0.2, rate_limit_rate=0.2, reset_rate=0.2, malformed_rate=0.2
)


def test_a_seed_gives_the_same_faults() -> None:
    first = _fates(MIXED, 200)
    assert first == _fates(MIXED, 200)
    assert set(first) == set(FATES)
    assert _fates(attrs.evolve(MIXED, seed=7), 200) != first


def test_configuring_again_restarts_the_sequence() -> None:
    injector = FaultInjector()
    injector.configure(MIXED)
    first = [injector.decide("/v2/users").fate for _ in range(50)]
    injector.configure(MIXED)
    assert [injector.decide("/v2/users").fate for _ in range(50)] == first


@given(
    seed=st.integers(0, 2**32),
    error_rate=st.floats(0, 1),
    others=st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)),
)
def test_errors_fall_on_the_same_requests_whatever_the_other_rates(
    seed: int, error_rate: float, others: tuple[float, float, float]
) -> None:
    alone = _fates(Faults(seed=seed, error_rate=error_rate), 40)
    rate_limit, reset, malformed = others
    mixed = _fates(
        Faults(
            seed=seed,
            error_rate=error_rate,
            rate_limit_rate=rate_limit,
            reset_rate=reset,
            malformed_rate=malformed,
        ),
        40,
    )
    assert [f == "error" for f in alone] == [f == "error" for f in mixed]


# ---- idempotency.IdempotencyStore -------------------------------------------------------------


class FakeClock:
    """Monotonic and wall time that only move when a test says so."""

    WALL_EPOCH = 1_700_000_000.0  # 2023-11-14T22:13:20Z

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.WALL_EPOCH + self.now

    def clock(self) -> Clock:
        return Clock(monotonic=self.monotonic, wall=self.wall)


SCOPE = ("key-1", "POST", "/v2/users", "idem-1")
BODY = {"uid": "u1", "properties": {"a": 1, "b": 2}}


def _store() -> tuple[FakeClock, IdempotencyStore]:
    clock = FakeClock()
    return clock, IdempotencyStore(clock.monotonic)


def test_an_answer_is_replayed_for_the_same_key_and_body() -> None:
    clock, store = _store()
    assert store.replay(SCOPE, fingerprint(BODY)) is None
    store.remember(SCOPE, fingerprint(BODY), 200, b'{"id":"1"}', {"x": "y"}, ttl_s=60)
    clock.now = 30.0
    same_body_reordered = {"properties": {"b": 2, "a": 1}, "uid": "u1"}
    kept = store.replay(SCOPE, fingerprint(same_body_reordered))
    assert kept is not None
    assert (kept.status, kept.body, kept.headers) == (200, b'{"id":"1"}', {"x": "y"})
    assert len(store) == 1


def test_the_same_key_with_another_body_is_refused() -> None:
    _, store = _store()
    store.remember(SCOPE, fingerprint(BODY), 200, b"{}", {}, ttl_s=60)
    with pytest.raises(ApiError) as caught:
        store.replay(SCOPE, fingerprint({**BODY, "uid": "u2"}))
    assert caught.value.body() == {"code": "invalid_argument", "message": REUSED_KEY_MESSAGE}
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "other",
    [
        ("key-2", "POST", "/v2/users", "idem-1"),
        ("key-1", "POST", "/v2/events", "idem-1"),
        ("key-1", "POST", "/v2/users", "idem-2"),
    ],
    ids=["another-api-key", "another-path", "another-idempotency-key"],
)
def test_a_key_belongs_to_its_scope(other: tuple[str, str, str, str]) -> None:
    _, store = _store()
    store.remember(SCOPE, fingerprint(BODY), 200, b"{}", {}, ttl_s=60)
    assert store.replay(other, fingerprint({"different": True})) is None


@pytest.mark.parametrize(
    ("status", "kept"),
    [
        *[(status, True) for status in (200, 400, 404, 409, 499)],
        *[(status, False) for status in (429, 500, 502, 503, 599)],
    ],
)
def test_only_answers_that_should_not_be_retried_are_kept(status: int, kept: bool) -> None:
    _, store = _store()
    store.remember(SCOPE, fingerprint(BODY), status, b"{}", {}, ttl_s=60)
    assert (store.replay(SCOPE, fingerprint(BODY)) is not None) is kept
    assert len(store) == int(kept)


def test_a_key_is_forgotten_after_its_ttl() -> None:
    clock, store = _store()
    clock.now = 100.0
    store.remember(SCOPE, fingerprint(BODY), 200, b"{}", {}, ttl_s=10)
    clock.now = 109.999
    assert store.replay(SCOPE, fingerprint(BODY)) is not None
    clock.now = 110.0
    assert store.replay(SCOPE, fingerprint({"another": "body"})) is None
    assert len(store) == 0


@given(st.dictionaries(st.text(max_size=5), st.integers(), min_size=2, max_size=6))
def test_fingerprints_ignore_key_order(body: dict[str, int]) -> None:
    reordered = dict(reversed(list(body.items())))
    assert fingerprint(reordered) == fingerprint(body)
    assert fingerprint({**body, "\x00extra": 0}) != fingerprint(body)


# ---- jobs.JobBoard ----------------------------------------------------------------------------


class Board:
    """A JobBoard over a FullStoryState, both on a fake clock, with settings a test can change."""

    def __init__(self, **settings: Any) -> None:
        self.clock = FakeClock()
        self.config = SandboxConfig(**settings)
        clock = self.clock.clock()
        self.fullstory = FullStoryState(clock, lambda: self.config)
        self.jobs = JobBoard(clock, lambda: self.config, self.fullstory)
        self._uids = 0

    def at(self, seconds: float) -> Board:
        self.clock.now = seconds
        return self

    def create(self, items: int, kind: str = "users") -> str:
        requests: list[dict[str, Any]] = []
        for _ in range(items):
            self._uids += 1
            requests.append({"uid": f"u{self._uids}"} if kind == "users" else {"name": "e"})
        answer = self.jobs.create(
            kind,  # type: ignore[arg-type]
            {"requests": requests},
            integration_source=None,
            idempotency_key=None,
        )
        job_id: str = answer["job"]["id"]
        return job_id

    def status(self, job_id: str, kind: str = "users") -> dict[str, Any]:
        return self.jobs.status(kind, job_id)  # type: ignore[arg-type]

    def progress(self, job_id: str) -> tuple[str, int]:
        answer = self.status(job_id)
        return answer["job"]["status"], answer["imports"]


def _iso(seconds: float) -> str:
    stamp = dt.datetime.fromtimestamp(FakeClock.WALL_EPOCH + seconds, tz=dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def test_a_job_imports_nothing_before_its_delay_then_items_per_second() -> None:
    board = Board(job_delay_s=1.0, job_items_per_s=8.0)
    job = board.create(20)  # ends at 1 + 20/8 = 3.5 s
    created = board.status(job)["job"]
    assert created == {"id": job, "status": "PROCESSING", "created": _iso(0)}
    timeline = [(0.5, 0), (1.0, 0), (1.125, 1), (1.25, 2), (2.0, 8), (3.0, 16), (3.375, 19)]
    for moment, imported in timeline:
        assert board.at(moment).progress(job) == ("PROCESSING", imported), moment
        assert len(board.fullstory.users) == imported, moment
    answer = board.at(3.5).status(job)
    assert answer == {
        "imports": 20,
        "errors": 0,
        "job": {"id": job, "status": "COMPLETED", "created": _iso(0), "finished": _iso(3.5)},
    }


def test_a_queued_job_starts_exactly_when_a_running_job_ends() -> None:
    board = Board(job_delay_s=1.0, job_items_per_s=8.0, max_running_jobs=1)
    first = board.create(8)  # runs from 0, ends at 2.0
    second = board.at(0.5).create(8)  # queued, starts at 2.0, ends at 4.0
    assert board.at(1.5).jobs.summary() == {
        "total": 2,
        "running": 1,
        "queued": 1,
        "completed": 0,
        "failed": 0,
    }
    assert board.progress(first) == ("PROCESSING", 4)
    assert board.progress(second) == ("PROCESSING", 0)
    # Nothing reads the board between 1.5 s and 3.5 s: the queued job still started at 2.0.
    assert board.at(3.5).progress(second) == ("PROCESSING", 4)
    assert board.status(first)["job"]["finished"] == _iso(2.0)
    done = board.at(4.0).status(second)["job"]
    assert done == {
        "id": second,
        "status": "COMPLETED",
        "created": _iso(0.5),
        "finished": _iso(4.0),
    }


def test_queued_jobs_start_in_creation_order_as_slots_free_up() -> None:
    board = Board(job_delay_s=0.0, job_items_per_s=4.0, max_running_jobs=2)
    a, b, c, d = board.create(4), board.create(8), board.create(4), board.create(4)
    # a: 0-1, b: 0-2, c: starts at 1 (after a) ends at 2, d: starts at 2 ends at 3.
    assert board.at(1.5).progress(c) == ("PROCESSING", 2)
    assert board.progress(d) == ("PROCESSING", 0)
    assert board.at(2.5).progress(d) == ("PROCESSING", 2)
    finished = {j: board.at(3.0).status(j)["job"]["finished"] for j in (a, b, c, d)}
    assert finished == {a: _iso(1), b: _iso(2), c: _iso(2), d: _iso(3)}


def test_a_job_with_a_bad_item_fails_but_keeps_its_good_items() -> None:
    board = Board(job_delay_s=0.0, job_items_per_s=100.0)
    answer = board.jobs.create(
        "users",
        {"requests": [{"uid": "good"}, {"uid": "x" * 257}, {"uid": "fine"}]},
        integration_source=None,
        idempotency_key=None,
    )
    job = answer["job"]["id"]
    assert board.at(1.0).progress(job) == ("FAILED", 2)
    assert board.status(job)["errors"] == 1
    errors = board.jobs.errors("users", job, None)
    assert errors is not None
    assert errors["results"][0]["code"] == "invalid_argument"
    assert errors["results"][0]["user"] == {"uid": "x" * 257}
    imports = board.jobs.imports("users", job, None, include_schema=False)
    assert imports is not None
    assert [r["uid"] for r in imports["results"]] == ["good", "fine"]


def test_results_are_not_ready_while_processing() -> None:
    board = Board(job_delay_s=1.0, job_items_per_s=8.0)
    job = board.create(8)
    assert board.at(1.5).jobs.imports("users", job, None, include_schema=False) is None
    assert board.jobs.errors("users", job, None) is None
    ready = board.at(2.0).jobs.imports("users", job, None, include_schema=False)
    assert ready is not None
    assert ready["total_records"] == "8"


@pytest.mark.parametrize(
    ("moment", "retry_after"),
    [(0.0, 2), (0.3, 2), (1.0, 1), (1.5, 1), (1.99, 1)],
)
def test_too_many_jobs_get_429_until_the_next_running_job_ends(
    moment: float, retry_after: int
) -> None:
    board = Board(job_delay_s=1.0, job_items_per_s=8.0, max_running_jobs=1, max_jobs_in_progress=2)
    board.create(8)  # ends at 2.0
    board.create(8)  # queued
    with pytest.raises(ApiError) as caught:
        board.at(moment).create(1)
    assert (caught.value.status, caught.value.code) == (429, "too_many_requests")
    assert caught.value.message == JOB_LIMIT_MESSAGE
    assert caught.value.headers == {"Retry-After": str(retry_after)}
    assert board.jobs.summary()["total"] == 2


def test_a_job_slot_frees_up_when_a_job_ends() -> None:
    board = Board(job_delay_s=1.0, job_items_per_s=8.0, max_running_jobs=1, max_jobs_in_progress=2)
    first = board.create(8)
    board.create(8)
    third = board.at(2.0).create(1)
    assert board.progress(first) == ("COMPLETED", 8)
    assert board.progress(third) == ("PROCESSING", 0)


def test_retry_after_counts_from_the_earliest_running_job() -> None:
    board = Board(job_delay_s=1.0, job_items_per_s=8.0, max_jobs_in_progress=2)
    board.create(80)  # ends at 11.0
    board.create(16)  # ends at 3.0
    with pytest.raises(ApiError) as caught:
        board.at(0.25).create(1)
    assert caught.value.headers == {"Retry-After": "3"}


@pytest.mark.parametrize(("in_progress", "accepted"), [(19, True), (20, False), (25, False)])
def test_jobs_are_refused_once_the_operations_in_progress_reach_the_limit(
    in_progress: int, accepted: bool
) -> None:
    board = Board(job_delay_s=1.0, job_items_per_s=8.0, max_operations_in_progress=20)
    board.create(8)  # ends at 2.0
    board.create(in_progress - 8)
    if accepted:
        board.create(30)  # the size of the new job does not count
        return
    with pytest.raises(ApiError) as caught:
        board.at(0.5).create(1)
    assert (caught.value.status, caught.value.headers) == (429, {"Retry-After": "2"})


def test_operations_done_no_longer_count_as_in_progress() -> None:
    board = Board(job_delay_s=1.0, job_items_per_s=8.0, max_operations_in_progress=20)
    board.create(10)
    board.create(10)
    with pytest.raises(ApiError):
        board.create(1)
    board.at(1.25).create(1)  # two items of each job are done: 16 in progress


@pytest.mark.parametrize(
    ("items", "reason"),
    [(0, "at least one item"), (4, "at most 3 items")],
)
def test_batch_size_limits(items: int, reason: str) -> None:
    board = Board(max_batch_items=3)
    with pytest.raises(ApiError) as caught:
        board.create(items)
    assert caught.value.status == 400
    assert reason in caught.value.message
    assert board.create(3)


def test_unknown_jobs_and_jobs_of_the_other_kind_are_not_found() -> None:
    board = Board()
    job = board.create(1)
    for kind, job_id in (("users", "nope"), ("events", job)):
        with pytest.raises(ApiError) as caught:
            board.status(job_id, kind)
        assert (caught.value.status, caught.value.code) == (404, "resource_not_found")


# ---- config.SandboxConfig ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, {}),
        ({"job_delay_s": 0}, {"job_delay_s": 0.0}),
        ({"job_delay_s": 2}, {"job_delay_s": 2.0}),
        ({"job_items_per_s": 0.5}, {"job_items_per_s": 0.5}),
        ({"max_body_bytes": 1000}, {"max_body_bytes": 1000}),
        ({"max_body_bytes": 1000.0}, {"max_body_bytes": 1000}),
        ({"smartlook_analytics_enabled": False}, {"smartlook_analytics_enabled": False}),
        (
            {"deletion_window_s": 0, "list_page_size": 3, "idempotency_ttl_s": 1.5},
            {"deletion_window_s": 0.0, "list_page_size": 3, "idempotency_ttl_s": 1.5},
        ),
    ],
)
def test_updated_applies_known_settings(changes: dict[str, Any], expected: dict[str, Any]) -> None:
    original = SandboxConfig(api_keys={"k": "admin"})
    changed = original.updated(changes)
    for name, value in expected.items():
        assert getattr(changed, name) == value
        assert type(getattr(changed, name)) is type(value)
    for name in TUNABLE - set(expected):
        assert getattr(changed, name) == getattr(original, name), name
    assert changed.api_keys == {"k": "admin"}
    assert original == SandboxConfig(api_keys={"k": "admin"})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"api_keys": {"x": "admin"}}, "unknown setting(s) api_keys"),
        ({"smartlook_keys": ["x"]}, "unknown setting(s) smartlook_keys"),
        ({"nope": 1, "job_delay_s": 1}, "unknown setting(s) nope; known: "),
        ({"job_delay_s": "1"}, "job_delay_s must be a finite number"),
        ({"job_delay_s": True}, "job_delay_s must be a finite number"),
        ({"job_delay_s": None}, "job_delay_s must be a finite number"),
        ({"max_body_bytes": 1.5}, "max_body_bytes must be a whole number"),
        ({"max_body_bytes": [1]}, "max_body_bytes must be a finite number"),
        ({"smartlook_analytics_enabled": 1}, "smartlook_analytics_enabled must be true or false"),
        ({"smartlook_analytics_enabled": "yes"}, "must be true or false"),
        ({"job_delay_s": -1}, "job_delay_s must be >= 0"),
        ({"job_items_per_s": 0}, "job_items_per_s must be > 0"),
        ({"max_body_bytes": 0}, "max_body_bytes must be > 0"),
        ({"list_page_size": -5}, "list_page_size must be > 0"),
    ],
)
def test_updated_refuses_bad_settings(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(ApiError) as caught:
        SandboxConfig().updated(changes)
    assert (caught.value.status, caught.value.code) == (400, "invalid_argument")
    assert reason in caught.value.message


@pytest.mark.parametrize("name", ["job_delay_s", "idempotency_ttl_s", "job_items_per_s"])
def test_updated_refuses_nan(name: str) -> None:
    # NaN passes "< 0" and "<= 0" checks, and a NaN setting can no longer be shown as JSON.
    with pytest.raises(ApiError):
        SandboxConfig().updated({name: math.nan})


def test_public_hides_the_keys() -> None:
    config = SandboxConfig(
        api_keys={"sekrit-admin": "admin", "sekrit-std": "standard"},
        smartlook_keys=frozenset({"sekrit-project"}),
    )
    shown = config.public()
    assert set(shown) == TUNABLE | {"api_keys", "smartlook_keys"}
    assert shown["api_keys"] == "2 configured"
    assert shown["smartlook_keys"] == "1 configured"
    assert {n: shown[n] for n in TUNABLE} == {n: getattr(config, n) for n in TUNABLE}
    assert "sekrit" not in json.dumps(shown)
    assert "sekrit" not in repr(config)


def test_public_of_an_open_sandbox() -> None:
    shown = SandboxConfig().public()
    assert (shown["api_keys"], shown["smartlook_keys"]) == ("any", "any")
    assert shown["max_body_bytes"] == 64 * 1024 * 1024


@pytest.mark.parametrize(
    ("api_keys", "expected"),
    [
        (None, DEFAULT_API_KEY),
        ({"s": "standard", "a": "admin", "r": "architect"}, "a"),
        ({"s": "standard", "r": "architect"}, "s"),
    ],
)
def test_client_key(api_keys: dict[str, str] | None, expected: str) -> None:
    assert SandboxConfig(api_keys=api_keys).client_key() == expected


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: SandboxConfig(api_keys={"": "admin"}), "must not be empty"),
        (lambda: SandboxConfig(api_keys={"k": "root"}), "unknown key level 'root'"),
        (lambda: SandboxConfig(job_delay_s=-0.5), "job_delay_s must be >= 0"),
        (lambda: SandboxConfig(max_running_jobs=0), "max_running_jobs must be > 0"),
    ],
)
def test_invalid_configs_are_refused(make: Callable[[], SandboxConfig], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        make()
