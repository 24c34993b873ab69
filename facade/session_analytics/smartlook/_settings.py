"""Smartlook's client settings: the init arguments, then SMARTLOOK_* environment variables, then
the defaults of ``_constants.py``; checked once, before any I/O (as ``fullstory/_config.py`` is
for FullStory)."""

from __future__ import annotations

import logging
import math
import os
from typing import Any

import attrs
import httpx

from .._batching import BatchingOptions
from .._constants import (
    SMARTLOOK_FLUSH_INTERVAL_ENV,
    SMARTLOOK_FLUSH_INTERVAL_MS,
    SMARTLOOK_HOST,
    SMARTLOOK_HOST_ENV,
    SMARTLOOK_KEY_ENV,
    SMARTLOOK_LOG_LEVEL_ENV,
    SMARTLOOK_MAX_CONCURRENCY,
    SMARTLOOK_MIN_CONCURRENCY,
)
from ..errors import SmartlookInvalidArgumentError

logger = logging.getLogger("session_analytics.smartlook")

TRACE = 5
LOG_LEVELS = {
    "mute": logging.CRITICAL + 10,
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "error": logging.ERROR,
}


@attrs.frozen(kw_only=True)
class SmartlookSettings:
    key: str = attrs.field(repr=False)
    host_url: str
    flush_interval_s: float
    log_level: str | None
    timeout: float

    def __repr__(self) -> str:
        return (
            f"SmartlookSettings(host_url={self.host_url!r}, key='***', "
            f"flush_interval_s={self.flush_interval_s}, log_level={self.log_level!r})"
        )


def invalid(field: str, message: str) -> SmartlookInvalidArgumentError:
    """The error for a bad argument, named by its field."""
    return SmartlookInvalidArgumentError(f"{field}: {message}", field=field)


def host_url(host: str) -> str:
    """``manager.smartlook.com`` -> ``https://manager.smartlook.com``; a scheme is kept."""
    host = host.strip()
    url = host if "://" in host else f"https://{host}"
    return url[:-1] if url.endswith("/") and not url.endswith("://") else url


def resolve_settings(
    key: str | None,
    host: str | None,
    flush_interval_millis: Any,
    log_level: str | None,
    timeout: Any,
) -> SmartlookSettings:
    """Arguments first, then SMARTLOOK_* environment variables, then defaults."""
    key = key if key is not None else os.environ.get(SMARTLOOK_KEY_ENV)
    if not isinstance(key, str) or not key.strip():
        raise invalid(
            "key",
            "no Smartlook project key: pass key=... or set SMARTLOOK_KEY (Smartlook > project "
            "settings > project key)",
        )
    host = host or os.environ.get(SMARTLOOK_HOST_ENV) or SMARTLOOK_HOST
    url = host_url(host) if isinstance(host, str) else ""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = httpx.URL("")
    if (
        parsed.scheme not in ("http", "https")
        or not parsed.host
        or any(c.isspace() for c in url)
        or parsed.path not in ("", "/")
    ):
        raise invalid(
            "host", f"{host!r} is not a host name (manager.smartlook.com) or an http(s) URL"
        )
    if flush_interval_millis is None:
        raw_interval = os.environ.get(SMARTLOOK_FLUSH_INTERVAL_ENV)
        try:
            flush_interval_millis = (
                int(raw_interval) if raw_interval else SMARTLOOK_FLUSH_INTERVAL_MS
            )
        except ValueError:
            raise invalid(
                SMARTLOOK_FLUSH_INTERVAL_ENV, f"must be whole milliseconds, not {raw_interval!r}"
            ) from None
    if (
        isinstance(flush_interval_millis, bool)
        or not isinstance(flush_interval_millis, int | float)
        or not math.isfinite(flush_interval_millis)
        or flush_interval_millis < 0
    ):
        raise invalid("flush_interval_millis", "must be milliseconds >= 0 (0: no timer)")
    level = log_level or os.environ.get(SMARTLOOK_LOG_LEVEL_ENV) or None
    if level is not None and level.lower() not in LOG_LEVELS:
        raise invalid("log_level", f"must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    if (
        timeout is None
        or isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise invalid("timeout", "must be a positive number of seconds")
    return SmartlookSettings(
        key=key.strip(),
        host_url=url,
        flush_interval_s=math.inf if flush_interval_millis == 0 else flush_interval_millis / 1000,
        log_level=level.lower() if level else None,
        timeout=float(timeout),
    )


def check_bound(value: Any) -> float | None:
    """``check_timeout``: a positive number of seconds, or None (no bound)."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise invalid("check_timeout", "must be a positive number of seconds, or None (no bound)")
    return float(value)


def apply_log_level(level: str | None) -> None:
    """Map the Smartlook log level onto the ``session_analytics.smartlook`` logger (the SDK never
    adds handlers: configure logging to see the lines)."""
    if level is not None:
        logging.addLevelName(TRACE, "TRACE")
        logger.setLevel(LOG_LEVELS[level])


def batching_options(
    settings: SmartlookSettings, batching: BatchingOptions | None, interval_given: bool
) -> BatchingOptions:
    """The queue settings; an explicit ``flush_interval_millis`` wins over ``batching``'s."""
    if batching is None:
        batching = BatchingOptions(flush_interval=settings.flush_interval_s)
    elif not isinstance(batching, BatchingOptions):
        raise invalid("batching", "must be a BatchingOptions")
    elif interval_given:
        batching = attrs.evolve(batching, flush_interval=settings.flush_interval_s)
    # One batch at a time while the queue keeps up; more when a backlog waits.
    return batching.with_concurrency(SMARTLOOK_MIN_CONCURRENCY, SMARTLOOK_MAX_CONCURRENCY)
