"""One classifier: what an attempt's answer or exception means, for every sender of every API.

``judge()`` turns an httpx response (its status and headers) or the exception an attempt raised
into a :class:`Judgement`: delivered, retryable (with the server's Retry-After), or refused for
good, and whether a failed attempt may have been processed all the same. Each sender (FullStory's
calls and ``track()``, Smartlook's batches and check) adds only its API's error class and message.

It sits in the API-neutral core, beside the retry policy whose table it reads (``_retry.py``),
because it serves the one-call path (``fullstory/_calls.py``) as much as the batch senders; it
knows neither an API nor the batcher, and does no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs
import httpx

from ._retry import (
    MAYBE_PROCESSED,
    is_retryable_exception,
    is_retryable_status,
    maybe_delivered,
    parse_retry_after,
)


class Verdict(enum.Enum):
    DELIVERED = "delivered"  # a 2xx answer
    RETRYABLE = "retryable"  # 429, a 5xx but 501/505, a connection error or a timeout
    # Failed for good: another answer (4xx, 501, 505), or a request that could not be sent or
    # whose answer could not be read; the same request would fail the same way again.
    REFUSED = "refused"


class Failure(enum.Enum):
    """Why an attempt raised instead of answering, by what the caller is told."""

    TIMEOUT = "timeout"  # no answer within the timeout (httpx.TimeoutException)
    CONNECTION = "connection"  # any other transport error: the connection failed
    HTTP = "http"  # any other httpx error (a bad URL, too many redirects, ...)
    READING = "reading"  # not an httpx error: raised while reading the answer


@attrs.frozen
class Judgement:
    verdict: Verdict
    status: int | None = None  # the answer's status; None when the attempt raised
    failure: Failure | None = None  # why the attempt raised; None when it answered
    retry_after: float | None = None  # the server's Retry-After, in seconds
    # Failed, but the server may have processed it all the same (a lost answer, a 502/504).
    maybe_processed: bool = False

    @property
    def delivered(self) -> bool:
        return self.verdict is Verdict.DELIVERED

    @property
    def retryable(self) -> bool:
        return self.verdict is Verdict.RETRYABLE


def is_delivered(status: int) -> bool:
    return 200 <= status < 300


DELIVERED = Judgement(Verdict.DELIVERED)


def judge_status(status: int, headers: Mapping[str, str]) -> Judgement:
    """An answer, by its status and its Retry-After."""
    if is_delivered(status):
        return attrs.evolve(DELIVERED, status=status)
    return Judgement(
        Verdict.RETRYABLE if is_retryable_status(status) else Verdict.REFUSED,
        status=status,
        retry_after=parse_retry_after(headers.get("retry-after")),
        maybe_processed=status in MAYBE_PROCESSED,
    )


def judge_exception(error: BaseException) -> Judgement:
    """An exception an attempt raised (an httpx error), or that reading its answer raised."""
    failure: Failure
    if isinstance(error, httpx.TimeoutException):
        failure = Failure.TIMEOUT
    elif isinstance(error, httpx.TransportError):
        failure = Failure.CONNECTION
    elif isinstance(error, httpx.HTTPError):
        failure = Failure.HTTP
    else:
        failure = Failure.READING
    return Judgement(
        Verdict.RETRYABLE if is_retryable_exception(error) else Verdict.REFUSED,
        failure=failure,
        maybe_processed=maybe_delivered(error),
    )


def judge(result: httpx.Response | BaseException) -> Judgement:
    """An attempt's answer or exception."""
    if isinstance(result, BaseException):
        return judge_exception(result)
    return judge_status(result.status_code, result.headers)


def describe(error: BaseException) -> str:
    """``Type: message`` for an error message; a request that could not be written (h11 may
    quote the request's headers) is named only by its type, so no header value can leak."""
    if isinstance(error, httpx.LocalProtocolError):
        return f"{type(error).__name__} (the request could not be written)"
    return f"{type(error).__name__}: {error}"
