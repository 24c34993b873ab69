"""The ``reset_rate`` fault: a connection dropped before the answer, as a crashed server or a
broken network does it, so that clients meet a real connection reset.

ASGI has no way to drop a connection: an app can only answer. So the pipeline marks the request
(``mark_dropped``) and ``drop_marked_responses`` wraps the server's ``send``: when the marked
answer starts, it finds uvicorn's request/response cycle behind ``send`` (its bound method, or
one that uvicorn's trace-level message logger closes over) and aborts that cycle's transport.
This relies on uvicorn internals (the cycle's ``transport`` and ``disconnected`` attributes);
under any other server (hypercorn) no transport is found and the request answers 500 instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Message, Scope, Send

DROP_CONNECTION = "session_analytics.sandbox.drop"


def mark_dropped(scope: Scope) -> None:
    """Drop the connection of this request instead of answering it."""
    scope[DROP_CONNECTION] = True


def is_dropped(scope: Scope) -> bool:
    return bool(scope.get(DROP_CONNECTION))


def drop_marked_responses(scope: Scope, send: Send) -> Send:
    """Wrap uvicorn's ``send`` so that a request marked for a dropped connection gets no answer."""

    async def guarded(message: Message) -> None:
        if not scope.get(DROP_CONNECTION):
            await send(message)
            return
        if message["type"] != "http.response.start":
            return
        cycle = _uvicorn_cycle(send)
        transport = getattr(cycle, "transport", None)
        if transport is None:
            raise ConnectionResetError("sandbox fault: the connection was dropped")
        transport.abort()
        for _ in range(10):  # let the server notice, so it does not try to answer 500 instead
            if getattr(cycle, "disconnected", True):
                break
            await asyncio.sleep(0)

    return guarded


def _uvicorn_cycle(send: Any, depth: int = 3) -> Any:
    """uvicorn's request/response cycle behind ``send``: its bound method, or one that a
    wrapper (uvicorn's trace-level message logger) closes over."""
    owner = getattr(send, "__self__", None)
    if owner is not None and hasattr(owner, "transport"):
        return owner
    if depth == 0:
        return None
    for cell in getattr(send, "__closure__", None) or ():
        try:
            inner = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if callable(inner):
            found = _uvicorn_cycle(inner, depth - 1)
            if found is not None:
                return found
    return None
