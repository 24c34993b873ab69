"""Smartlook and AsyncSmartlook: the connections, the check handshake, and the event batcher
(their settings are resolved in ``_settings.py``)."""

from __future__ import annotations

import abc
import functools
import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

from smartlook_api import Client as SmartlookApiClient

from .. import _process
from .._batching import AsyncBatcher, Batcher, BatcherStats, BatchingOptions, FlushResult
from .._constants import SMARTLOOK_CHECK_MAX_RETRIES, SMARTLOOK_CHECK_TIMEOUT_S, SMARTLOOK_TIMEOUT_S
from .._http_client import async_client, sync_client, warn_shared_client_after_fork
from .._outage import FailureLog
from .._retry import RetryPolicy
from ..errors import (
    InvalidArgumentError,
    SmartlookError,
    SmartlookProjectError,
)
from ._events import event_payload
from ._sender import (
    AsyncSmartlookSender,
    Project,
    SmartlookSender,
    check_call_failed,
    check_outcome,
    project_from,
    takes_no_idempotency_key,
)
from ._settings import (
    SmartlookSettings,
    apply_log_level,
    batching_options,
    check_bound,
    invalid,
    resolve_settings,
)

logger = logging.getLogger("session_analytics.smartlook")


class _Base(abc.ABC):
    settings: SmartlookSettings
    raw: SmartlookApiClient
    _project: Project | None
    _batcher: Any
    _failures: FailureLog  # warns once per outage, not per attempt
    _make_http: Callable[[], Any]
    _http: Any

    def _setup(
        self,
        key: str | None,
        host: str | None,
        flush_interval_millis: float | None,
        log_level: str | None,
        timeout: float,
        batching: BatchingOptions | None,
        make_client: Callable[..., Any],
        http_client: Any,
        transport: Any,
    ) -> BatchingOptions:
        """What the sync and async clients share: settings, connections, state; returns the
        batching options."""
        self.settings = resolve_settings(key, host, flush_interval_millis, log_level, timeout)
        apply_log_level(self.settings.log_level)
        options = batching_options(self.settings, batching, flush_interval_millis is not None)
        self._make_http = functools.partial(
            make_client,
            base_url=self.settings.host_url,
            auth=None,  # Smartlook takes no Authorization header; the key goes in the check
            idempotent=takes_no_idempotency_key,
            timeout=self.settings.timeout,
            policy=RetryPolicy(max_retries=SMARTLOOK_CHECK_MAX_RETRIES),
            integration_source=None,
            http_client=http_client,
            transport=transport,
        )
        self._shared_http = http_client is not None
        self.raw = SmartlookApiClient(base_url=self.settings.host_url)
        self._connect()
        self._project = None
        self._failures = FailureLog(logger, "smartlook")
        self._stopped = False
        return options

    def _connect(self) -> None:
        self._http = self._make_http()
        self._attach(self._http)

    @abc.abstractmethod
    def _attach(self, http: Any) -> None:
        """Give the generated client this httpx client (sync or async, as the client is)."""

    def _after_fork(self) -> None:
        # The parent's connections are the parent's: the child dials its own.
        if self._shared_http:
            warn_shared_client_after_fork("Smartlook")
        self._connect()
        self._failures = FailureLog(logger, "smartlook")

    def event(
        self,
        vid: str,
        name: str,
        value: str | None = None,
        props: dict[str, str | int | float | bool] | None = None,
        sid: str | None = None,
        *,
        type: str = "custom",
    ) -> bool:
        """Queue one event and return at once; False when the queue refused it (see stats).

        Raises:
            SmartlookInvalidArgumentError: a bad argument, named; nothing was queued.
        """
        payload = event_payload(vid, name, value, props, sid, type)
        limit = self._batcher._core.options.max_batch_bytes
        if len(payload) > limit:
            raise invalid(
                "event", f"{len(payload)} bytes of JSON, more than a batch may carry ({limit})"
            )
        return bool(self._batcher.enqueue(payload, None))

    def stats(self) -> BatcherStats:
        """Counters: enqueued, delivered, retried, dropped, failed, possible_duplicates, ..."""
        stats: BatcherStats = self._batcher.stats()
        return stats

    @property
    def project(self) -> Project | None:
        """The project id, store group and events host, once the check has succeeded."""
        return self._project

    def _checked(self, found: Project | SmartlookError) -> Project | SmartlookError:
        if isinstance(found, Project):
            self._project = found
            self._failures.succeeded()
            logger.debug("smartlook: project %s, events to %s", found.pid, found.events_url)
        elif check_outcome(found).retryable:
            self._failures.failed(found, "the check did not succeed: ")
        else:  # a refused key, analytics off: no outage, a setting to fix; always said
            logger.warning("smartlook: the check did not succeed: %s", found)
        return found

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.settings.host_url!r}, key='***')"


class Smartlook(_Base):
    """A Smartlook backend events client (sync): ``event()`` queues, a thread sends.

    Args:
        key: the project key; defaults to SMARTLOOK_KEY.
        host: defaults to SMARTLOOK_HOST, then manager.smartlook.com (HTTPS). A value with a
            scheme (``http://127.0.0.1:8765``) is used as is, and its scheme is kept for the
            events host that the check names.
        flush_interval_millis: defaults to SMARTLOOK_FLUSH_INTERVAL_MILLIS, then 10000; 0 means
            no timer.
        log_level: mute, trace, debug, info or error; defaults to SMARTLOOK_LOG_LEVEL.
        timeout: seconds per request.
        batching: queue and batch settings (BatchingOptions); its flush_interval wins.
        check: do the check handshake now, and raise SmartlookProjectError if the key is
            refused. When Smartlook cannot be reached, the check is retried before the first
            send instead.
        check_timeout: the longest ``init`` waits for the check, in seconds (default 5; None:
            as long as it takes, retries included). When it has not answered by then, ``init``
            returns and the check goes on in the background: events queue meanwhile and are
            sent once it succeeds; a key refused then is logged, and its events go to
            ``on_error``.

    Raises:
        SmartlookInvalidArgumentError: no key, or a bad setting (before any I/O).
        SmartlookProjectError: the key was refused, or analytics is off for the project.
    """

    def __init__(
        self,
        key: str | None = None,
        *,
        host: str | None = None,
        flush_interval_millis: float | None = None,
        log_level: str | None = None,
        timeout: float = SMARTLOOK_TIMEOUT_S,
        batching: BatchingOptions | None = None,
        http_client: httpx.Client | None = None,
        check: bool = True,
        transport: httpx.BaseTransport | None = None,
        check_timeout: float | None = SMARTLOOK_CHECK_TIMEOUT_S,
    ) -> None:
        check_timeout = check_bound(check_timeout)
        options = self._setup(
            key, host, flush_interval_millis, log_level, timeout, batching,
            sync_client, http_client, transport,
        )  # fmt: skip
        self._sender = SmartlookSender(self)
        self._batcher = Batcher(self._sender, options)
        # A forked child: the sender starts afresh, and the client dials its own connections.
        _process.after_fork_in_child(self._sender.after_fork)
        _process.after_fork_in_child(self._after_fork)
        if check:
            found = self._check_within(check_timeout)
            if isinstance(found, SmartlookProjectError):
                self._batcher.stop(0)
                self._http.close()
                raise found

    def _check_within(self, bound: float | None) -> Project | SmartlookError | None:
        """The check, waited for up to ``bound`` seconds; None when it has not answered by then
        (it goes on in a thread of its own, and the sender waits for it before a first send)."""
        if bound is None:
            return self._check_once()
        answered: list[Project | SmartlookError] = []

        def check() -> None:
            found = self._check_call()
            if not self._stopped:  # after stop() nothing is waiting for it: no warning either
                found = self._checked(found)
            answered.append(found)

        thread = threading.Thread(target=check, name="session-analytics-smartlook-check")
        thread.daemon = True
        self._sender.pending_check = thread
        thread.start()
        thread.join(bound)
        if answered:
            return answered[0]
        logger.warning(
            "smartlook: the check has not answered within %s s; it goes on in the background, "
            "and events are queued until it succeeds",
            bound,
        )
        return None

    def _check_once(self) -> Project | SmartlookError:
        if self._project is not None:
            return self._project
        return self._checked(self._check_call())

    def _check_call(self) -> Project | SmartlookError:
        try:
            from smartlook_api.api.backend import check_backend  # the check's first use
            from smartlook_api.models import CheckRequest

            response = check_backend.sync_detailed(
                client=self.raw, body=CheckRequest(key=self.settings.key)
            )
        except Exception as error:
            return check_call_failed(error)
        return project_from(response, self.settings.host_url)

    def flush(self, timeout: float = 10.0) -> FlushResult:
        """Send what is queued now; wait up to ``timeout`` s. ``.pending`` is what is left."""
        result: FlushResult = self._batcher.flush(timeout)
        return result

    def stop(self, timeout: float = 10.0) -> FlushResult:
        """Deliver what is queued (for up to ``timeout`` s), then stop; later events are refused.
        What is still undelivered goes to ``on_error`` or stays in the spool. Interrupted
        (Ctrl-C), it raises and the stop is not finished: a second ``stop()`` or the exit hook
        finishes it."""
        if self._stopped and self._batcher._finished:
            return FlushResult(0)
        self._stopped = True
        self._batcher.release = self._http.close  # once the stop is finished
        result: FlushResult = self._batcher.stop(timeout)
        return result

    def _attach(self, http: Any) -> None:
        self.raw.set_httpx_client(http)

    def __enter__(self) -> Smartlook:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class AsyncSmartlook(_Base):
    """A Smartlook client for asyncio: ``event()`` queues (a plain call, from the loop's thread),
    a task of the running loop sends. No I/O in the constructor: ``await check()`` to find out
    early whether the key is accepted. Use one per event loop and ``await stop()`` it (or
    ``async with``)."""

    def __init__(
        self,
        key: str | None = None,
        *,
        host: str | None = None,
        flush_interval_millis: float | None = None,
        log_level: str | None = None,
        timeout: float = SMARTLOOK_TIMEOUT_S,
        batching: BatchingOptions | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        options = self._setup(
            key, host, flush_interval_millis, log_level, timeout, batching,
            async_client, http_client, transport,
        )  # fmt: skip
        sender = AsyncSmartlookSender(self)
        self._batcher = AsyncBatcher(sender, options)
        # A forked child: the sender starts afresh, and the client dials its own connections.
        _process.after_fork_in_child(sender.after_fork)
        _process.after_fork_in_child(self._after_fork)

    async def check(self) -> Project:
        """Do the check handshake now.

        Raises:
            SmartlookProjectError: the key was refused, or analytics is off.
            SmartlookError: Smartlook could not be reached (the check is retried later).
        """
        found = await self._acheck_once()
        if isinstance(found, SmartlookError):
            raise found
        return found

    async def _acheck_once(self) -> Project | SmartlookError:
        if self._project is not None:
            return self._project
        try:
            from smartlook_api.api.backend import check_backend
            from smartlook_api.models import CheckRequest

            response = await check_backend.asyncio_detailed(
                client=self.raw, body=CheckRequest(key=self.settings.key)
            )
        except Exception as error:
            return self._checked(check_call_failed(error))
        return self._checked(project_from(response, self.settings.host_url))

    async def flush(self, timeout: float = 10.0) -> FlushResult:
        result: FlushResult = await self._batcher.flush(timeout)
        return result

    async def stop(self, timeout: float = 10.0) -> FlushResult:
        """Cancelled, it raises at once but the stop goes on until its deadline (see
        ``AsyncBatcher.stop``)."""
        if self._stopped and self._batcher._finished:
            return FlushResult(0)
        self._stopped = True
        self._batcher.release = self._http.aclose  # once the stop is finished
        result: FlushResult = await self._batcher.stop(timeout)
        return result

    def _attach(self, http: Any) -> None:
        self.raw.set_async_httpx_client(http)

    async def __aenter__(self) -> AsyncSmartlook:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


__all__ = ["AsyncSmartlook", "InvalidArgumentError", "Smartlook", "SmartlookSettings"]
