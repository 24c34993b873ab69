"""The httpx clients every API client sends through: pool limits, timeouts, default headers,
and the retrying transport under them, with the auth and the idempotent-request rule that the
API package hands in. Knows no API.
"""

from __future__ import annotations

import logging
import socket
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

from ._constants import (
    DEFAULT_CONNECT_TIMEOUT_S,
    INTEGRATION_SOURCE_HEADER,
    MAX_CONNECTIONS,
    MAX_KEEPALIVE_CONNECTIONS,
)
from ._retry import RetryPolicy
from ._transport import (
    AsyncRetryTransport,
    AsyncThroughClient,
    RetryTransport,
    TakesIdempotencyKey,
    ThroughClient,
)
from ._version import __version__
from .errors import InvalidArgumentError

logger = logging.getLogger("session_analytics")

USER_AGENT = (
    f"session-analytics/{__version__} python/{'.'.join(map(str, sys.version_info[:3]))} "
    f"httpx/{httpx.__version__}"
)
# asyncio turns Nagle off by itself; the sync transport must ask, or a POST whose headers and
# body go out in two writes can wait for a delayed ACK.
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def require_h2(http2: bool, error: type[InvalidArgumentError] = InvalidArgumentError) -> bool:
    """``http2`` as given, once we know the h2 package is there to speak it."""
    if http2:
        try:
            import h2  # noqa: F401
        except ImportError:
            raise error(
                "http2=True needs the h2 package: pip install 'session-analytics[http2]'",
                field="http2",
            ) from None
    return http2


def _limits() -> httpx.Limits:
    return httpx.Limits(
        max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS
    )


def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, DEFAULT_CONNECT_TIMEOUT_S))


def default_headers(integration_source: str | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if integration_source:
        headers[INTEGRATION_SOURCE_HEADER] = integration_source
    return headers


def warn_shared_client_after_fork(api: str) -> None:
    """In a forked child of a client made with the caller's ``http_client``: that client's pool
    holds the parent's connections, which the two processes would now share."""
    logger.warning(
        "%s client: this process was forked after the client was made with your http_client; "
        "its pooled connections are shared with the parent process, which can mix up answers. "
        "Make the client after the fork (a post-fork hook of your server), or leave "
        "http_client out and let the client dial its own connections in each process.",
        api,
    )


def sync_client(
    *,
    base_url: str,
    auth: httpx.Auth | None,
    idempotent: TakesIdempotencyKey,
    timeout: float,
    policy: RetryPolicy,
    integration_source: str | None,
    http_client: httpx.Client | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    http2: bool = False,
) -> httpx.Client:
    inner: httpx.BaseTransport
    if transport is not None:
        inner = transport
    elif http_client is not None:
        inner = ThroughClient(http_client)
    else:
        inner = httpx.HTTPTransport(
            limits=_limits(), socket_options=NO_DELAY, http2=require_h2(http2)
        )
    return httpx.Client(
        base_url=base_url,
        auth=auth,
        headers=default_headers(integration_source),
        timeout=_timeout(timeout),
        transport=RetryTransport(inner, policy, idempotent, sleep),
    )


def async_client(
    *,
    base_url: str,
    auth: httpx.Auth | None,
    idempotent: TakesIdempotencyKey,
    timeout: float,
    policy: RetryPolicy,
    integration_source: str | None,
    http_client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    http2: bool = False,
) -> httpx.AsyncClient:
    inner: httpx.AsyncBaseTransport
    if transport is not None:
        inner = transport
    elif http_client is not None:
        inner = AsyncThroughClient(http_client)
    else:
        inner = httpx.AsyncHTTPTransport(limits=_limits(), http2=require_h2(http2))
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        headers=default_headers(integration_source),
        timeout=_timeout(timeout),
        transport=AsyncRetryTransport(inner, policy, idempotent, sleep),
    )
