"""FullStory and AsyncFullStory: one configured transport, the resources, and ``raw``."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import httpx

import fullstory_api

from .. import _constants as C
from .._config import FullStoryConfig, fullstory_config
from .._retry import RetryPolicy
from .._transport import async_client, sync_client
from ._events import AsyncEvents, Events
from ._users import AsyncUsers, Users


class _Base:
    config: FullStoryConfig

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.config.base_url!r}, api_key='***')"


class FullStory(_Base):
    """A FullStory Server API v2 client (sync). Thread-safe; use one per process.

    Args:
        api_key: the API key; defaults to the FULLSTORY_API_KEY environment variable.
        integration_source: sent as the Integration-Source header on every request.
        base_url: defaults to FULLSTORY_BASE_URL, then https://api.fullstory.com.
        timeout: seconds to wait for each attempt (connect, read, write).
        max_retries: retries of 429, 5xx, connection errors and timeouts (0: none).
        http_client: your own ``httpx.Client`` (proxies, TLS, pool) to send through; you keep
            owning it.

    Raises:
        FSInvalidArgumentError: no API key, or a bad setting; raised before any I/O.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        integration_source: str | None = None,
        base_url: str | None = None,
        timeout: float = C.DEFAULT_TIMEOUT_S,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = fullstory_config(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            integration_source=integration_source,
        )
        policy = retry_policy or RetryPolicy(max_retries=self.config.max_retries)
        self._sleep = sleep
        self._http = sync_client(
            base_url=self.config.base_url,
            api_key=self.config.api_key,
            timeout=self.config.timeout,
            policy=policy,
            integration_source=self.config.integration_source,
            http_client=http_client,
            transport=transport,
            sleep=sleep,
        )
        # The generated client, sending through the same transport: auth, retries, timeouts.
        self.raw = fullstory_api.Client(base_url=self.config.base_url)
        self.raw.set_httpx_client(self._http)
        self._jobs: weakref.WeakSet[Any] = weakref.WeakSet()
        self._closed = False
        self.users = Users(self)
        self.events = Events(self)

    def _track_job(self, job: Any) -> None:
        self._jobs.add(job)

    def close(self) -> None:
        """Stop following jobs and close the connections. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for job in list(self._jobs):
            job._stop_following()
        self._http.close()

    def __enter__(self) -> FullStory:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncFullStory(_Base):
    """A FullStory Server API v2 client for asyncio; the same calls as :class:`FullStory`,
    awaited. Bound to the event loop it is used on: create one per loop and ``aclose()`` it
    (or use ``async with``)."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        integration_source: str | None = None,
        base_url: str | None = None,
        timeout: float = C.DEFAULT_TIMEOUT_S,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = fullstory_config(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            integration_source=integration_source,
        )
        policy = retry_policy or RetryPolicy(max_retries=self.config.max_retries)
        self._sleep = sleep
        self._http = async_client(
            base_url=self.config.base_url,
            api_key=self.config.api_key,
            timeout=self.config.timeout,
            policy=policy,
            integration_source=self.config.integration_source,
            http_client=http_client,
            transport=transport,
            sleep=sleep,
        )
        self.raw = fullstory_api.Client(base_url=self.config.base_url)
        self.raw.set_async_httpx_client(self._http)
        self._jobs: weakref.WeakSet[Any] = weakref.WeakSet()
        self._closed = False
        self.users = AsyncUsers(self)
        self.events = AsyncEvents(self)

    def _track_job(self, job: Any) -> None:
        self._jobs.add(job)

    async def aclose(self) -> None:
        """Stop following jobs and close the connections. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for job in list(self._jobs):
            job._stop_following()
        await self._http.aclose()

    async def __aenter__(self) -> AsyncFullStory:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def init(
    api_key: str | None = None,
    *,
    integration_source: str | None = None,
    base_url: str | None = None,
    timeout: float = C.DEFAULT_TIMEOUT_S,
    max_retries: int = C.DEFAULT_MAX_RETRIES,
    http_client: httpx.Client | None = None,
) -> FullStory:
    """A :class:`FullStory` client; the API key defaults to FULLSTORY_API_KEY."""
    return FullStory(
        api_key,
        integration_source=integration_source,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        http_client=http_client,
    )
