"""The Smartlook backend custom-events API, with the Node SDK's module-level calls.

    from session_analytics import smartlook

    smartlook.init()                                    # SMARTLOOK_KEY from the environment
    smartlook.event(vid="u1", name="backend_login", props={"source": "google"})
    smartlook.stop()                                    # deliver what is queued, then stop

``Smartlook`` (and ``AsyncSmartlook``) are the same as objects, for more than one project or for
dependency injection.
"""

from __future__ import annotations

import threading
from typing import Any

from .._batching import BatcherStats, BatchingOptions, FlushResult
from ..errors import SmartlookError
from ._client import AsyncSmartlook, Smartlook
from ._sender import Project
from ._settings import SmartlookSettings

_default: Smartlook | None = None
_default_lock = threading.Lock()


def init(
    key: str | None = None,
    *,
    flush_interval_millis: float | None = None,
    log_level: str | None = None,
    host: str | None = None,
    **options: Any,
) -> Smartlook:
    """Start the default client (replacing, after delivering its events, one started before).

    Other keyword arguments go to :class:`Smartlook` (timeout, batching, http_client, check,
    check_timeout).
    """
    global _default
    client = Smartlook(
        key, flush_interval_millis=flush_interval_millis, log_level=log_level, host=host, **options
    )
    with _default_lock:
        previous, _default = _default, client
    if previous is not None:
        previous.stop()
    return client


def _client() -> Smartlook:
    client = _default
    if client is None:
        raise SmartlookError("call smartlook.init() before smartlook.event()")
    return client


def event(
    vid: str,
    name: str,
    value: str | None = None,
    props: dict[str, str | int | float | bool] | None = None,
    sid: str | None = None,
    *,
    type: str = "custom",
) -> bool:
    """Queue one event on the default client; returns at once (False: refused, queue full)."""
    return _client().event(vid, name, value, props, sid, type=type)


def flush(timeout: float = 10.0) -> FlushResult:
    """Send what the default client has queued; wait up to ``timeout`` seconds."""
    return _client().flush(timeout)


def stop(timeout: float = 10.0) -> FlushResult:
    """Deliver what is queued (up to ``timeout`` s) and stop the default client.

    The client stays the default until its stop is finished: after an interrupted stop (Ctrl-C),
    calling ``stop()`` again finishes it (so does the exit hook)."""
    global _default
    with _default_lock:
        client = _default
    if client is None:
        return FlushResult(0)
    result = client.stop(timeout)
    with _default_lock:
        if _default is client:
            _default = None
    return result


def stats() -> BatcherStats:
    """The default client's counters."""
    return _client().stats()


__all__ = [
    "AsyncSmartlook",
    "BatcherStats",
    "BatchingOptions",
    "FlushResult",
    "Project",
    "Smartlook",
    "SmartlookSettings",
    "event",
    "flush",
    "init",
    "stats",
    "stop",
]

for _name in ("AsyncSmartlook", "Smartlook", "SmartlookSettings", "Project"):
    globals()[_name].__module__ = __name__
