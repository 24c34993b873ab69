"""``fs.events.track()``: FullStory events queued on the caller's thread, sent in the background.

Each event is checked with the same rules as ``fs.events.create`` before it is queued, gets its
timestamp (now, unless given) and an Idempotency-Key of its own at that moment, and is sent by
POST /v2/events over a few concurrent requests. The key is what makes a resend harmless: after a
lost answer, a retry, or a crash with a spool, the API records the event once.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import attrs
import httpx

from .. import _json
from .. import _properties as props
from .._batching import BatchingOptions, Delivered, Entry, Failed, SendOutcome
from .._constants import IDEMPOTENCY_HEADER, TRACK_MAX_CONCURRENCY, TRACK_MIN_CONCURRENCY
from .._direct_post import Answer
from .._outage import FailureLog
from .._outcome import Failure, describe, is_delivered, judge
from .._rules import member
from .._transport import CallScope, call_scope
from ..errors import FSConnectionError, FSError, FSInvalidArgumentError, FSTimeoutError
from . import _inputs
from ._calls import status_error

UTC = dt.timezone.utc
IDEMPOTENCY_HEADER_BYTES = IDEMPOTENCY_HEADER.encode("ascii")
# 500 properties of up to 8 KiB each fit; anything bigger could never be sent.
MAX_EVENT_BYTES = 8 * 1024 * 1024


def default_options() -> BatchingOptions:
    """FullStory has no bulk events call: one request per event, as many at a time as the
    round trip asks for (see track_options)."""
    return BatchingOptions(
        flush_interval=0.5,
        flush_at=1,
        max_batch_events=1,
        max_batch_bytes=MAX_EVENT_BYTES,
        max_queue_events=100_000,
    )


def track_options(options: BatchingOptions | None) -> BatchingOptions:
    """The options track() runs with: one event per request whatever ``max_batch_events``
    says (the API has no bulk call), and between TRACK_MIN_CONCURRENCY and
    TRACK_MAX_CONCURRENCY requests in flight unless the options say otherwise."""
    if options is None:
        options = default_options()
    elif not isinstance(options, BatchingOptions):
        raise FSInvalidArgumentError("batching must be a BatchingOptions", field="batching")
    elif options.max_batch_events != 1:
        options = attrs.evolve(options, max_batch_events=1)
    return options.with_concurrency(TRACK_MIN_CONCURRENCY, TRACK_MAX_CONCURRENCY)


def _fail(field: str, message: str) -> FSInvalidArgumentError:
    return FSInvalidArgumentError(f"{field}: {message}", field=field)


def track_payload(
    name: Any,
    user: Any,
    session: Any,
    properties: Any,
    context: Any,
    timestamp: Any,
    schema: Any,
) -> bytes:
    """The JSON of one event, checked; raises FSInvalidArgumentError naming the field."""
    if type(name) is not str or not name:
        raise _fail("name", "events must have a non-empty name")
    event: dict[str, Any] = {"name": name}
    simple = context is None and schema is None and timestamp is None
    if user is not None:
        if type(user) is dict and all(type(v) is str for v in user.values()):
            for key in user:
                if key != "uid" and key != "id":
                    raise _fail(member("user", key), "unknown field; known: id, uid")
            if "uid" in user and len(user["uid"]) > 256:
                raise _fail("user.uid", "must be at most 256 characters")
        else:
            simple = False
        event["user"] = user
    if session is not None:
        simple = False
        event["session"] = session
    if properties is not None:
        if type(properties) is not dict:
            simple = False
        else:
            try:
                props.leaves(properties)
            except props.PropertyRuleError as err:
                if "is not a JSON value" not in err.reason:  # a datetime, say: normalise below
                    raise FSInvalidArgumentError(str(err), field=err.field) from None
                simple = False
        event["properties"] = properties
    if context is not None:
        event["context"] = context
    if timestamp is not None:
        event["timestamp"] = timestamp
    if schema is not None:
        event["schema"] = schema
    if simple:
        if user is not None and "id" in user and "uid" in user:
            raise _fail("user", "give user.id or user.uid, not both")
    else:
        event = _inputs.event_request(event)  # the general path: every rule, every conversion
    if "timestamp" not in event:
        event["timestamp"] = dt.datetime.now(UTC)
    try:
        return _json.dumps(event)
    except TypeError:  # an integer beyond 64 bits, a lone surrogate, a Mapping that is no dict
        return _not_plain_json(event, simple)


def _not_plain_json(event: dict[str, Any], simple: bool) -> bytes:
    """The event that the encoder refused: the general path converts what it can and names
    what it cannot; what is still refused after that is named by the part that fails."""
    if simple:
        event = _inputs.event_request(event)
    try:
        return _json.dumps(event)
    except TypeError as error:
        field, reason = _json.unserializable(event, "")
        if not field:
            field, reason = "event", str(error)
        raise _fail(field, f"cannot be sent as JSON ({reason})") from None


def check_size(payload: bytes, batcher: Any) -> None:
    """An event bigger than one request may carry is refused at the door, not in the worker."""
    limit = batcher._core.options.max_batch_bytes
    if len(payload) > limit:
        raise FSInvalidArgumentError(
            f"event: {len(payload)} bytes of JSON, more than the {limit} one request may carry",
            field="event",
        )


DELIVERED = Delivered()
EVENTS_PATH = "/v2/events"
WHAT = "POST /v2/events (track)"


class TrackSender:
    """Sends one queued event per request (no transport-level retries: the batcher retries, so
    the layers never stack): through the client's direct path to POST /v2/events when it has
    one (see ``_direct_post.DirectPost``), else through its httpx client. The sync and asyncio
    senders differ only in the lines that send."""

    name = "fullstory-track"
    deduplicates = True
    logger = logging.getLogger("session_analytics.fullstory")

    def __init__(self, client: Any) -> None:
        self._client = client
        self._failures = FailureLog(self.logger, "fullstory: track()")  # once per outage

    def send(self, batch: list[Entry]) -> SendOutcome:
        payload, key, _ = batch[0]
        direct = self._client._direct
        if direct is not None:
            try:
                answer = direct.post(payload, direct_headers(key))
            except httpx.HTTPError as error:
                return self._record(send_outcome(CallScope(), error))
            return self._answered(answer)
        with call_scope(max_retries=0) as scope:
            try:
                result: httpx.Response | BaseException = self._client._http.post(
                    EVENTS_PATH, content=payload, headers=client_headers(key)
                )
            except httpx.HTTPError as error:
                result = error
        return self._record(send_outcome(scope, result))

    def _answered(self, answer: Answer) -> SendOutcome:
        if is_delivered(answer.status):
            self._failures.succeeded()
            return DELIVERED
        return self._record(send_outcome(CallScope(), answer.response()))

    def _record(self, result: SendOutcome) -> SendOutcome:
        """Tell the failure log how a send went (a refusal is no outage: on_error has it)."""
        if isinstance(result, Delivered):
            self._failures.succeeded()
        elif result.retryable:
            self._failures.failed(result.error)
        return result

    def after_fork(self) -> None:
        self._failures = FailureLog(self.logger, "fullstory: track()")


class AsyncTrackSender(TrackSender):
    async def send(self, batch: list[Entry]) -> SendOutcome:  # type: ignore[override]
        payload, key, _ = batch[0]
        direct = self._client._direct
        if direct is not None:
            try:
                answer = await direct.apost(payload, direct_headers(key))
            except httpx.HTTPError as error:
                return self._record(send_outcome(CallScope(), error))
            return self._answered(answer)
        with call_scope(max_retries=0) as scope:
            try:
                result: httpx.Response | BaseException = await self._client._http.post(
                    EVENTS_PATH, content=payload, headers=client_headers(key)
                )
            except httpx.HTTPError as error:
                result = error
        return self._record(send_outcome(scope, result))


def direct_headers(key: str | None) -> list[tuple[bytes, bytes]]:
    """The event's own headers on the direct path (the rest are the connection's)."""
    return [(IDEMPOTENCY_HEADER_BYTES, (key or "").encode())]


def client_headers(key: str | None) -> dict[str, str]:
    """The event's own headers through the httpx client."""
    return {"Content-Type": "application/json", IDEMPOTENCY_HEADER: key or ""}


def send_outcome(scope: CallScope, result: httpx.Response | BaseException) -> SendOutcome:
    """What one send of an event came to, told as FullStory errors."""
    judgement = judge(result)
    if judgement.delivered:
        return Delivered()
    error: FSError
    if isinstance(result, BaseException):
        if judgement.failure is Failure.TIMEOUT:
            error = FSTimeoutError(f"{WHAT}: no answer within the timeout")
        else:
            error = FSConnectionError(f"{WHAT}: {describe(result)}")
        error.__cause__ = result
    else:
        error = status_error(WHAT, result.status_code, result.headers, result.content, scope)
    return Failed(
        error,
        retryable=judgement.retryable,
        retry_after=judgement.retry_after,
        maybe_delivered=judgement.maybe_processed,
    )
