"""The retrying httpx transports under every call of every API: idempotency keys and retries.

Retries live here, at the httpx transport level, so that they apply to the facade's calls and to
the generated endpoints called through ``fs.raw`` alike, and are never stacked. This is the only
code that sleeps between attempts. A request that the API package calls idempotent gets an
Idempotency-Key before the first attempt (unless the caller gave one), and every retry reuses it,
so a retried create never creates twice. Which requests those are, and how they are authorised,
is the API package's business (``fullstory/_auth.py``); this module knows no API. A create the
API takes no key for says so in its call's scope (``retry_unless_maybe_processed``): it is
retried only after failures the server certainly did not process.

What to do after each attempt is decided once, in :class:`Attempts`; the sync and the asyncio
transport only send, close a failed answer and sleep. Per-call settings (``max_retries`` for job
polls, which have their own policy) travel in a context variable, as does the final response, so
the facade can report a status even when the generated parser choked on the body.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

import attrs
import httpx

from ._constants import IDEMPOTENCY_HEADER, RETRY_COUNT_HEADER
from ._retry import RetryDecision, RetryPolicy, maybe_delivered

logger = logging.getLogger("session_analytics")

RETRIES_EXTENSION = "session_analytics.retries"

# The API package's rule: whether a request is one the API makes idempotent with an
# Idempotency-Key (so that a retry of it is safe).
TakesIdempotencyKey = Callable[[httpx.Request], bool]


async def asyncio_sleep(seconds: float) -> None:
    # asyncio is imported on first use: sync programs never pay for importing it.
    import asyncio

    await asyncio.sleep(seconds)


@attrs.define
class CallScope:
    """What one facade call tells the transport, and what the transport tells it back."""

    max_retries: int | None = None
    response: httpx.Response | None = None
    retries_taken: int = 0
    exhausted: bool = False  # stopped because the retries ran out (not for another reason)
    # Some attempt may have been processed although it failed (a lost answer, a 502/504).
    maybe_processed: bool = False
    # A create the API takes no Idempotency-Key for: retried only after failures it certainly
    # did not process (429, a 503, a refused connection); an attempt it may have processed is
    # not sent again, so that a retry never stores it twice.
    retry_unless_maybe_processed: bool = False


_scope: ContextVar[CallScope | None] = ContextVar("session_analytics_call_scope", default=None)


@contextlib.contextmanager
def call_scope(
    max_retries: int | None = None, *, retry_unless_maybe_processed: bool = False
) -> Iterator[CallScope]:
    scope = CallScope(
        max_retries=max_retries, retry_unless_maybe_processed=retry_unless_maybe_processed
    )
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def new_idempotency_key() -> str:
    """128 random bits, as the API suggests (a v4 UUID)."""
    return str(uuid.uuid4())


class Attempts:
    """The attempts of one request: the decisions both transports share, no I/O.

    ``begin()`` before each attempt; ``after(result)`` once it answered or raised, which says
    whether to retry (after ``delay_s``) or to stop there: return the answer, or raise the error.
    """

    def __init__(
        self, request: httpx.Request, policy: RetryPolicy, idempotent: TakesIdempotencyKey
    ) -> None:
        self._request = request
        scope = _scope.get()
        if scope is not None and scope.max_retries is not None:
            policy = attrs.evolve(policy, max_retries=scope.max_retries)
        self._policy = policy
        self._scope = scope
        self.retries = 0
        if idempotent(request) and not request.headers.get(IDEMPOTENCY_HEADER):
            request.headers[IDEMPOTENCY_HEADER] = new_idempotency_key()

    def begin(self) -> None:
        """Tell the server which attempt this is."""
        self._request.headers[RETRY_COUNT_HEADER] = str(self.retries)

    def after(self, result: httpx.Response | httpx.HTTPError) -> RetryDecision:
        """Retry or stop, by the policy; a stop is recorded for the caller, a retry logged."""
        maybe_processed = self._remember_maybe_processed(result)
        if isinstance(result, httpx.Response):
            decision = self._policy.after_status(result.status_code, result.headers, self.retries)
            cause = f"answered {result.status_code}"
        else:
            decision = self._policy.after_exception(result, self.retries)
            cause = f"failed ({type(result).__name__})"
        if decision.retry and maybe_processed and self._no_retry_once_maybe_processed():
            logger.info(
                "%s %s %s and may have been processed: not retried (the API takes no "
                "Idempotency-Key for it, a retry could store it twice)",
                self._request.method,
                self._request.url.path,
                cause,
            )
            decision = RetryDecision(False, retry_after_s=decision.retry_after_s)
        if not decision.retry:
            self._record_stop(result if isinstance(result, httpx.Response) else None, decision)
            return decision
        logger.info(
            "%s %s %s; retrying in %.2f s (retry %d of %d)",
            self._request.method,
            self._request.url.path,
            cause,
            decision.delay_s,
            self.retries + 1,
            self._policy.max_retries,
        )
        self.retries += 1
        return decision

    def _remember_maybe_processed(self, result: httpx.Response | httpx.HTTPError) -> bool:
        """Remember in the call's scope an attempt the server may have processed all the same;
        whether this one is such an attempt."""
        maybe = maybe_delivered(result)
        scope = self._scope
        if scope is not None and not scope.maybe_processed and maybe:
            scope.maybe_processed = True
        return maybe

    def _no_retry_once_maybe_processed(self) -> bool:
        """The call is a create without a key: an attempt that may have been processed ends it."""
        return self._scope is not None and self._scope.retry_unless_maybe_processed

    def _record_stop(self, response: httpx.Response | None, decision: RetryDecision) -> None:
        """The retries taken (on the request, its answer and the call's scope), whether they ran
        out, and the final answer for the call's scope."""
        retries = self.retries
        self._request.extensions[RETRIES_EXTENSION] = retries
        scope = self._scope
        if scope is not None:
            scope.retries_taken = retries
            scope.exhausted = decision.exhausted
            if response is not None:
                scope.response = response
        if response is not None:
            response.extensions = {**response.extensions, RETRIES_EXTENSION: retries}


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport with the retry policy (sync)."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy,
        idempotent: TakesIdempotencyKey,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._idempotent = idempotent
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempts = Attempts(request, self._policy, self._idempotent)
        while True:
            attempts.begin()
            try:
                response = self._inner.handle_request(request)
            except httpx.HTTPError as error:
                decision = attempts.after(error)
                if not decision.retry:
                    raise
            else:
                decision = attempts.after(response)
                if not decision.retry:
                    return response
                # Read and close the failed answer before sleeping, or its connection leaks.
                response.read()
                response.close()
            self._sleep(decision.delay_s)

    def close(self) -> None:
        self._inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """Wraps a transport with the retry policy (asyncio)."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: RetryPolicy,
        idempotent: TakesIdempotencyKey,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._idempotent = idempotent
        self._sleep = sleep or asyncio_sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempts = Attempts(request, self._policy, self._idempotent)
        while True:
            attempts.begin()
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.HTTPError as error:
                decision = attempts.after(error)
                if not decision.retry:
                    raise
            else:
                decision = attempts.after(response)
                if not decision.retry:
                    return response
                await response.aread()
                await response.aclose()
            await self._sleep(decision.delay_s)

    async def aclose(self) -> None:
        await self._inner.aclose()


class ThroughClient(httpx.BaseTransport):
    """Sends through a caller's own httpx.Client (its proxies, TLS, pool), which the caller
    keeps owning: closing the SDK does not close it."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._client.send(request, stream=True)


class AsyncThroughClient(httpx.AsyncBaseTransport):
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._client.send(request, stream=True)
