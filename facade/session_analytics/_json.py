"""JSON for the event hot path: orjson, with each result copied to its exact size.

orjson hands back bytes that keep a 4 KiB allocation behind them; a queue of 100,000 small
events would hold 400 MiB. Copying through a memoryview costs ~50 ns and makes a queued event
cost what it weighs (about 150 bytes for a typical backend event).
"""

from __future__ import annotations

from typing import Any

import orjson

loads = orjson.loads
JSONDecodeError = orjson.JSONDecodeError


OPTIONS = orjson.OPT_UTC_Z  # an aware UTC datetime ends in "Z"


def dumps(value: Any) -> bytes:
    return bytes(memoryview(orjson.dumps(value, option=OPTIONS)))


def unserializable(value: Any, where: str) -> tuple[str, str]:
    """Where in ``value`` JSON encoding fails, and why (for an error that names the field)."""
    if isinstance(value, dict):
        for key, item in value.items():
            found = unserializable(item, f"{where}.{key}" if where else str(key))
            if found[0]:
                return found
        return "", ""
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = unserializable(item, f"{where}[{index}]")
            if found[0]:
                return found
        return "", ""
    try:
        orjson.dumps(value, option=OPTIONS)
    except TypeError as err:
        return where or "value", str(err)
    return "", ""
