"""FullStory and AsyncFullStory: one configured transport, the resources (users, events,
sessions, summary_profiles, annotations, organization), and ``raw``."""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import httpx

import fullstory_api

from .. import _process
from .._batching import AsyncBatcher, Batcher, BatcherStats, BatchingOptions, FlushResult
from .._constants import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_S
from .._direct_post import DirectPost, uses_proxy
from .._http_client import (
    async_client,
    default_headers,
    require_h2,
    sync_client,
    warn_shared_client_after_fork,
)
from .._retry import RetryPolicy
from .._transport import asyncio_sleep
from ..errors import FSInvalidArgumentError
from ._annotations import Annotations, AsyncAnnotations
from ._auth import FullStoryAuth, auth_header, takes_idempotency_key
from ._config import FullStoryConfig, fullstory_config
from ._events import AsyncEvents, Events
from ._organization import AsyncOrganization, Organization
from ._sessions import AsyncSessions, Sessions
from ._summary_profiles import AsyncSummaryProfiles, SummaryProfiles
from ._track import AsyncTrackSender, TrackSender, track_options
from ._users import AsyncUsers, Users


def _batching(options: BatchingOptions | None) -> BatchingOptions:
    return track_options(options)


class _Base:
    """Settings, the http client factory and the state both clients keep."""

    config: FullStoryConfig

    def _setup(
        self,
        make_client: Callable[..., Any],
        *,
        api_key: str | None,
        integration_source: str | None,
        base_url: str | None,
        timeout: float,
        max_retries: int,
        http_client: Any,
        transport: Any,
        retry_policy: RetryPolicy | None,
        sleep: Any,
        http2: bool = False,
    ) -> None:
        require_h2(http2, FSInvalidArgumentError)
        self.config = fullstory_config(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            integration_source=integration_source,
        )
        self._sleep = sleep
        config = self.config
        policy = retry_policy or RetryPolicy(max_retries=config.max_retries)

        def make_http() -> Any:
            # A closure, not a functools.partial: a partial's repr would show the API key.
            return make_client(
                base_url=config.base_url,
                auth=FullStoryAuth(config.api_key),
                idempotent=takes_idempotency_key,
                timeout=config.timeout,
                policy=policy,
                integration_source=config.integration_source,
                http_client=http_client,
                transport=transport,
                sleep=sleep,
                http2=http2,
            )

        def make_direct(asynchronous: bool) -> DirectPost | None:
            """track()'s own path to POST /v2/events, when the default transport is in use."""
            if http_client is not None or transport is not None or config.api_key is None:
                return None
            url = f"{config.base_url.rstrip('/')}/v2/events"
            if uses_proxy(url):
                return None
            headers = default_headers(config.integration_source)
            headers["Authorization"] = auth_header(config.api_key)
            headers["Content-Type"] = "application/json"
            return DirectPost(url, headers, config.timeout, http2=http2, asynchronous=asynchronous)

        # Kept to dial new connections in a forked child.
        self._make_http = make_http
        self._make_direct = make_direct
        self._shared_http = http_client is not None
        # The generated client, sending through the same transport: auth, retries, timeouts.
        self.raw = fullstory_api.Client(base_url=self.config.base_url)
        self._jobs: weakref.WeakSet[Any] = weakref.WeakSet()
        self._closed = False

    def _track_job(self, job: Any) -> None:
        self._jobs.add(job)

    def _stop_jobs(self) -> None:
        for job in list(self._jobs):
            job._stop_following()

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
        batching: how ``events.track()`` queues and sends (BatchingOptions).
        http2: speak HTTP/2 where the server offers it (needs the ``http2`` extra): many
            requests share a few connections.

    Raises:
        FSInvalidArgumentError: no API key, or a bad setting; raised before any I/O.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        integration_source: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
        batching: BatchingOptions | None = None,
        http2: bool = False,
        transport: httpx.BaseTransport | None = None,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._setup(
            sync_client,
            api_key=api_key,
            integration_source=integration_source,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            transport=transport,
            retry_policy=retry_policy,
            sleep=sleep,
            http2=http2,
        )
        self._http: httpx.Client = self._make_http()
        self.raw.set_httpx_client(self._http)
        self._direct = self._make_direct(False)
        sender = TrackSender(self)
        self._batcher = Batcher(sender, _batching(batching))
        # A forked child: the sender starts afresh, and the client dials its own connections.
        _process.after_fork_in_child(sender.after_fork)
        _process.after_fork_in_child(self._after_fork)
        self._batcher.release = self._release
        self.users = Users(self)
        self.events = Events(self)
        self.sessions = Sessions(self)
        self.summary_profiles = SummaryProfiles(self)
        self.annotations = Annotations(self)
        self.organization = Organization(self)

    def flush(self, timeout: float = 10.0) -> FlushResult:
        """Send every tracked event now; wait up to ``timeout`` s. ``.pending`` is what is left."""
        return self._batcher.flush(timeout)

    def stats(self) -> BatcherStats:
        """Counters of tracked events: enqueued, delivered, retried, dropped, failed, ..."""
        return self._batcher.stats()

    def close(self, timeout: float = 10.0) -> FlushResult:
        """Deliver tracked events (for up to ``timeout`` s), stop following jobs, close the
        connections. Events still undelivered go to ``on_error`` or stay in the spool. Safe to
        call twice.

        Interrupted (Ctrl-C), it raises at once and the close is not finished: the events go on
        being delivered, and a second ``close()`` or the exit hook (within
        ``shutdown_timeout``) finishes it, connections included."""
        if self._closed:
            return FlushResult(0)
        result = self._batcher.stop(timeout)  # then _release(), once its stop is finished
        self._closed = True
        return result

    def _release(self) -> None:
        self._stop_jobs()
        self._http.close()
        if self._direct is not None:
            self._direct.close()

    def _after_fork(self) -> None:
        # The parent's connections are the parent's: the child dials its own (never closing the
        # inherited ones, which would close them under the parent).
        if self._shared_http:
            warn_shared_client_after_fork("FullStory")
        self._http = self._make_http()
        self.raw.set_httpx_client(self._http)
        self._direct = self._make_direct(False)

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
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        batching: BatchingOptions | None = None,
        http2: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio_sleep,
    ) -> None:
        self._setup(
            async_client,
            api_key=api_key,
            integration_source=integration_source,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            transport=transport,
            retry_policy=retry_policy,
            sleep=sleep,
            http2=http2,
        )
        self._http: httpx.AsyncClient = self._make_http()
        self.raw.set_async_httpx_client(self._http)
        self._direct = self._make_direct(True)
        sender = AsyncTrackSender(self)
        self._batcher = AsyncBatcher(sender, _batching(batching))
        # A forked child: the sender starts afresh, and the client dials its own connections.
        _process.after_fork_in_child(sender.after_fork)
        _process.after_fork_in_child(self._after_fork)
        self._batcher.release = self._arelease
        self.users = AsyncUsers(self)
        self.events = AsyncEvents(self)
        self.sessions = AsyncSessions(self)
        self.summary_profiles = AsyncSummaryProfiles(self)
        self.annotations = AsyncAnnotations(self)
        self.organization = AsyncOrganization(self)

    async def flush(self, timeout: float = 10.0) -> FlushResult:
        """Send every tracked event now; wait up to ``timeout`` s."""
        return await self._batcher.flush(timeout)

    def stats(self) -> BatcherStats:
        """Counters of tracked events: enqueued, delivered, retried, dropped, failed, ..."""
        return self._batcher.stats()

    async def aclose(self, timeout: float = 10.0) -> FlushResult:
        """Deliver tracked events (up to ``timeout`` s), stop following jobs, close the
        connections. Safe to call twice.

        Cancelled (``asyncio.wait_for(fs.aclose(), 0.5)``), it raises at once but the close goes
        on in a task of its own until its deadline, connections included; if the event loop
        ends first, what is left is handed to ``on_error`` (or left in the spool)."""
        if self._closed:
            return FlushResult(0)
        result = await self._batcher.stop(timeout)  # then _arelease(), once finished
        self._closed = True
        return result

    async def _arelease(self) -> None:
        self._stop_jobs()
        await self._http.aclose()
        if self._direct is not None:
            await self._direct.aclose()

    def _after_fork(self) -> None:
        if self._shared_http:
            warn_shared_client_after_fork("FullStory")
        self._http = self._make_http()
        self.raw.set_async_httpx_client(self._http)
        self._direct = self._make_direct(True)

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
    timeout: float = DEFAULT_TIMEOUT_S,
    max_retries: int = DEFAULT_MAX_RETRIES,
    http_client: httpx.Client | None = None,
    batching: BatchingOptions | None = None,
    http2: bool = False,
) -> FullStory:
    """A :class:`FullStory` client; the API key defaults to FULLSTORY_API_KEY."""
    return FullStory(
        api_key,
        integration_source=integration_source,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        http_client=http_client,
        batching=batching,
        http2=http2,
    )
