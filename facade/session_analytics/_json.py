"""JSON for the event hot path: orjson, with each result copied to its exact size.

orjson hands back bytes that keep a 4 KiB allocation behind them; a queue of 100,000 small
events would hold 400 MiB. Copying through a memoryview costs ~50 ns and makes a queued event
cost what it weighs (about 150 bytes for a typical backend event).
"""

from __future__ import annotations

from typing import Any

import orjson

from ._rules import member

loads = orjson.loads
JSONDecodeError = orjson.JSONDecodeError


OPTIONS = orjson.OPT_UTC_Z  # an aware UTC datetime ends in "Z"
MAX_DEPTH = 254  # the encoder's own limit


def dumps(value: Any) -> bytes:
    return bytes(memoryview(orjson.dumps(value, option=OPTIONS)))


def unserializable(value: Any, where: str) -> tuple[str, str]:
    """Where in ``value`` JSON encoding fails, and why (for an error that names the field);
    ``("", "")`` when no part of it fails on its own."""
    return _unserializable(value, where, 0)


def _unserializable(value: Any, where: str, depth: int) -> tuple[str, str]:
    if depth > MAX_DEPTH:
        return where or "value", f"nested more than {MAX_DEPTH} levels deep"
    if isinstance(value, dict):
        for key, item in value.items():
            inner = member(where, key)
            if not isinstance(key, str):
                return inner, f"object keys must be strings, not {type(key).__name__}"
            try:
                key.encode("utf-8")
            except UnicodeEncodeError:
                return inner, "the name holds a lone surrogate (not valid Unicode text)"
            found = _unserializable(item, inner, depth + 1)
            if found[0]:
                return found
        return "", ""
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _unserializable(item, f"{where}[{index}]", depth + 1)
            if found[0]:
                return found
        return "", ""
    try:
        orjson.dumps(value, option=OPTIONS)
    except TypeError as err:
        return where or "value", str(err)
    return "", ""
