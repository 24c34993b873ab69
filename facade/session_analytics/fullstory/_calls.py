"""One API call as data, and the IO-free mapping of its outcome to a result or an FSError.

Each facade method builds a :class:`Call` (which generated operation, with which arguments);
``run_sync`` / ``run_async`` are the only lines that differ between FullStory and AsyncFullStory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Generic, TypeVar

import attrs
import httpx

from .. import telemetry
from .._constants import IDEMPOTENCY_HEADER
from .._outcome import Failure, describe, is_delivered, judge_exception, judge_status
from .._transport import CallScope, call_scope
from ..errors import (
    FSApiError,
    FSConnectionError,
    FSError,
    FSIdempotencyKeyReusedError,
    FSMaxRetryError,
    FSParseError,
    FSRateLimitedError,
    FSTimeoutError,
    FSUnknownError,
    api_error_class,
)

T = TypeVar("T")

# What a generated parser raises on a body it cannot read.
PARSE_ERRORS = (ValueError, KeyError, TypeError, AttributeError)
REUSED_KEY_HINT = "Idempotency-Key was already used"
BODY_SNIPPET_CHARS = 500


@attrs.frozen
class ApiResponse(Generic[T]):
    """A result with its HTTP envelope, for callers that need more than the body."""

    body: T
    http_status_code: int
    http_headers: httpx.Headers
    retries_taken: int = 0
    idempotency_key: str | None = None


@attrs.frozen
class Call(Generic[T]):
    """A generated operation, its arguments, and the model a success parses into."""

    operation: ModuleType
    kwargs: Mapping[str, Any]
    returns: type[T]
    what: str  # for messages: "GET /v2/users/{id}"
    # Extra statuses that are answers, not errors (202 "not ready" on import results).
    also_ok: tuple[type[Any], ...] = ()
    max_retries: int | None = None
    # A create the API takes no Idempotency-Key for (annotations, summary profiles): retried
    # only after failures it certainly did not process; after one it may have processed (a lost
    # answer, a 502/504) the call stops with that error, ``maybe_processed`` set on it.
    retry_unless_maybe_processed: bool = False


def run_sync(raw: Any, call: Call[T]) -> ApiResponse[T]:
    """Do the call; raise the FSError its outcome maps to. A span when telemetry is on."""
    if not telemetry.active:
        return _run_sync(raw, call)
    with telemetry.api_call_span("fullstory", call.what, call.kwargs) as span:
        answer = _run_sync(raw, call)
        telemetry.call_answered(span, answer.http_status_code, answer.retries_taken)
        return answer


async def run_async(raw: Any, call: Call[T]) -> ApiResponse[T]:
    if not telemetry.active:
        return await _run_async(raw, call)
    with telemetry.api_call_span("fullstory", call.what, call.kwargs) as span:
        answer = await _run_async(raw, call)
        telemetry.call_answered(span, answer.http_status_code, answer.retries_taken)
        return answer


def _run_sync(raw: Any, call: Call[T]) -> ApiResponse[T]:
    with call_scope(
        call.max_retries, retry_unless_maybe_processed=call.retry_unless_maybe_processed
    ) as scope:
        try:
            response = call.operation.sync_detailed(client=raw, **call.kwargs)
        except Exception as error:
            return _telling_maybe_processed(scope, result_after_exception, call, error)
    return _telling_maybe_processed(scope, result_from_response, call, response)


async def _run_async(raw: Any, call: Call[T]) -> ApiResponse[T]:
    with call_scope(
        call.max_retries, retry_unless_maybe_processed=call.retry_unless_maybe_processed
    ) as scope:
        try:
            response = await call.operation.asyncio_detailed(client=raw, **call.kwargs)
        except Exception as error:
            return _telling_maybe_processed(scope, result_after_exception, call, error)
    return _telling_maybe_processed(scope, result_from_response, call, response)


def _telling_maybe_processed(
    scope: CallScope,
    conclude: Callable[[Call[T], CallScope, Any], ApiResponse[T]],
    call: Call[T],
    result: Any,
) -> ApiResponse[T]:
    """``conclude(call, scope, result)``; an FSError it raises says whether some attempt may
    have been processed all the same (``maybe_processed``)."""
    try:
        return conclude(call, scope, result)
    except FSError as error:
        if scope.maybe_processed:
            error.maybe_processed = True
        raise


def result_after_exception(call: Call[T], scope: CallScope, error: Exception) -> ApiResponse[T]:
    """A 202 "not ready" with an empty or non-JSON body is still "not ready"; any other
    exception becomes the FSError it maps to."""
    final = scope.response
    if final is not None and final.status_code == 202 and call.also_ok:
        pending = call.also_ok[0].from_dict({})
        return ApiResponse(pending, 202, final.headers, scope.retries_taken)
    mapped = exception_error(call, scope, error)
    # Keep the chain the mapping built (FSMaxRetryError -> FSTimeoutError -> httpx error).
    raise mapped from (mapped.__cause__ or error)


def result_from_response(call: Call[T], scope: CallScope, response: Any) -> ApiResponse[T]:
    """A generated Response: the parsed model on success, else the matching FSError."""
    status = int(response.status_code)
    parsed = response.parsed
    final = scope.response
    headers = final.headers if final is not None else httpx.Headers(response.headers)
    key = final.request.headers.get(IDEMPOTENCY_HEADER) if final is not None else None
    if is_delivered(status):
        if isinstance(parsed, (call.returns, *call.also_ok)):
            # also_ok answers (202 "not ready") are typed loosely on purpose: callers check.
            body: T = parsed  # type: ignore[assignment]
            return ApiResponse(body, status, headers, scope.retries_taken, key)
        raise FSParseError(
            f"{call.what}: the {status} answer is not a {call.returns.__name__}",
            http_status_code=status,
            body=_snippet(response.content),
        )
    raise status_error(call.what, status, headers, response.content, scope)


def exception_error(call: Call[Any], scope: CallScope, error: Exception) -> FSError:
    """The FSError for an exception raised while calling or parsing."""
    if isinstance(error, FSError):
        return error
    retries = scope.retries_taken
    failure = judge_exception(error).failure
    if failure is not Failure.READING:
        mapped: FSError
        if failure is Failure.TIMEOUT:
            mapped = FSTimeoutError(
                f"{call.what}: no answer within the timeout ({type(error).__name__})",
                retries_taken=retries,
            )
        elif failure is Failure.CONNECTION:
            mapped = FSConnectionError(
                f"{call.what}: the connection failed ({describe(error)})",
                retries_taken=retries,
            )
        else:
            mapped = FSUnknownError(f"{call.what}: {describe(error)}")
        mapped.__cause__ = error
        return _gave_up(call.what, mapped, scope)
    if isinstance(error, PARSE_ERRORS):
        final = scope.response
        if final is not None and not is_delivered(final.status_code):
            # The generated parser choked on an error body (an HTML 502 from a proxy, say):
            # report the status, not the parse.
            mapped = status_error(call.what, final.status_code, final.headers, final.content, scope)
            mapped.__cause__ = error
            return mapped
        status = final.status_code if final is not None else None
        body = _snippet(final.content) if final is not None else None
        return FSParseError(
            f"{call.what}: could not read the answer ({type(error).__name__}: {error})",
            http_status_code=status,
            body=body,
        )
    return FSUnknownError(f"{call.what}: {type(error).__name__}: {error}")


def status_error(
    what: str, status: int, headers: httpx.Headers, content: bytes, scope: CallScope
) -> FSError:
    """The FSError for an error status, from one table for every caller."""
    retries = scope.retries_taken
    code, api_message, body = _error_payload(content)
    cls = api_error_class(status)
    if status == 400 and api_message and REUSED_KEY_HINT in api_message:
        cls = FSIdempotencyKeyReusedError
    detail = f"{code}: {api_message}" if code else (api_message or "no error body")
    message = f"{what} answered {status} ({detail})"
    error: FSApiError
    if cls is FSRateLimitedError:
        retry_after = judge_status(status, headers).retry_after
        if retry_after is not None:
            message += f"; retry after {retry_after:g} s"
        error = FSRateLimitedError(
            message,
            retry_after=retry_after,
            http_status_code=status,
            headers=headers,
            code=code,
            api_message=api_message,
            body=body,
            retries_taken=retries,
        )
    else:
        error = cls(
            message,
            http_status_code=status,
            headers=headers,
            code=code,
            api_message=api_message,
            body=body,
            retries_taken=retries,
        )
    return _gave_up(what, error, scope)


def _gave_up(what: str, error: FSError, scope: CallScope) -> FSError:
    """A retryable failure that used up every retry (at least one) is FS_MAX_RETRY; one that
    stopped for another reason (a Retry-After too long, retries off) is reported as itself."""
    retries = scope.retries_taken
    if not scope.exhausted or retries == 0:
        return error
    gave_up = FSMaxRetryError(
        f"{what} still failing after {retries} retries: {error.message}",
        last_error=error,
        retries_taken=retries,
    )
    gave_up.__cause__ = error
    return gave_up


def _error_payload(content: bytes) -> tuple[str | None, str | None, Any]:
    try:
        body = json.loads(content) if content else None
    except ValueError:
        return None, _snippet(content), None
    if isinstance(body, Mapping):
        code = body.get("code")
        message = body.get("message")
        return (
            code if isinstance(code, str) else None,
            message if isinstance(message, str) else None,
            body,
        )
    return None, None, body


def _snippet(content: bytes) -> str:
    text = content.decode("utf-8", errors="replace")
    return text if len(text) <= BODY_SNIPPET_CHARS else text[:BODY_SNIPPET_CHARS] + "..."
