"""The two Smartlook calls: the check handshake, and sending one batch of queued events.

The handshake is done through the generated ``smartlook_api`` client. A batch is sent as the
events' JSON as they were serialised when accepted, joined into ``{"events": [...]}``, so the
worker never encodes anything again.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import attrs
import httpx

from .._batching import Delivered, Entry, Failed, SendOutcome
from .._outcome import Failure, describe, judge, judge_exception, judge_status
from .._retry import is_retryable_status
from .._transport import call_scope
from ..errors import (
    SmartlookApiError,
    SmartlookConnectionError,
    SmartlookError,
    SmartlookProjectError,
)

logger = logging.getLogger("session_analytics.smartlook")
ANALYTICS_OFF = "Analytics module is not enabled"


@attrs.frozen
class Project:
    pid: str
    group: str
    events_url: str  # where /events/backend lives


def analytics_url(analytics_host: str, configured: str) -> str:
    """The events host from the check answer: a bare host takes the configured host's scheme."""
    if "://" in analytics_host:
        return analytics_host.rstrip("/")
    scheme = httpx.URL(configured).scheme or "https"
    return f"{scheme}://{analytics_host.strip().rstrip('/')}"


def project_from(response: Any, configured: str) -> Project | SmartlookError:
    """The project from a check answer, or the error it amounts to."""
    from smartlook_api.models import CheckResponse, ErrorResponse  # the check's first answer

    status = int(response.status_code)
    parsed = response.parsed
    if status == 200 and isinstance(parsed, CheckResponse):
        if not parsed.analytics.ok:
            reason = parsed.analytics.error if isinstance(parsed.analytics.error, str) else ""
            return SmartlookProjectError(
                f"Smartlook analytics is off for this project: {reason or ANALYTICS_OFF}"
            )
        host = parsed.analytics.host
        if not isinstance(host, str) or not host:
            return SmartlookApiError(
                "the check answer named no analytics host", http_status_code=status
            )
        return Project(parsed.pid, parsed.options.store_group, analytics_url(host, configured))
    code = parsed.code if isinstance(parsed, ErrorResponse) else None
    message = parsed.message if isinstance(parsed, ErrorResponse) else None
    text = f"{code}: {message}" if code else (message or "no error body")
    if status in (400, 401, 403, 404):
        return SmartlookProjectError(
            f"Smartlook refused the project key ({status} {text}); check SMARTLOOK_KEY"
        )
    return SmartlookApiError(
        f"the Smartlook check answered {status} ({text})",
        http_status_code=status,
        code=code,
        api_message=message,
        retry_after=judge_status(status, response.headers).retry_after,
    )


def check_outcome(error: SmartlookError) -> Failed:
    if isinstance(error, SmartlookProjectError):
        return Failed(error, retryable=False)
    if isinstance(error, SmartlookApiError):
        return Failed(
            error,
            retryable=is_retryable_status(error.http_status_code),
            retry_after=error.retry_after,
        )
    return Failed(error, retryable=True)


def takes_no_idempotency_key(request: httpx.Request) -> bool:
    """Smartlook's endpoints take no Idempotency-Key: a resent batch is recorded twice, so the
    batcher counts what may be a duplicate instead."""
    return False


def batch_body(batch: list[Entry]) -> bytes:
    return b'{"events":[' + b",".join(payload for payload, _, _ in batch) + b"]}"


def events_request(project: Project, batch: list[Entry]) -> dict[str, Any]:
    """The arguments of the POST that sends one batch."""
    return {
        "url": f"{project.events_url}/events/backend",
        "params": {"pid": project.pid, "group": project.group},
        "content": batch_body(batch),
        "headers": {"Content-Type": "application/json"},
    }


def send_outcome(result: httpx.Response | BaseException) -> SendOutcome:
    """What one send of a batch came to, told as Smartlook errors."""
    judgement = judge(result)
    if judgement.delivered:
        return Delivered()
    error: SmartlookError
    if isinstance(result, BaseException):
        error = SmartlookConnectionError(f"sending events failed: {describe(result)}")
        error.__cause__ = result
    else:
        error = _events_error(result, judgement.retry_after)
    return Failed(
        error,
        retryable=judgement.retryable,
        retry_after=judgement.retry_after,
        maybe_delivered=judgement.maybe_processed,
    )


def _events_error(response: httpx.Response, retry_after: float | None) -> SmartlookError:
    """The error an answer other than 2xx to a batch amounts to."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else response.text[:200]
    if status == 404:
        return SmartlookProjectError(f"Smartlook no longer knows this project ({code}: {message})")
    return SmartlookApiError(
        f"sending events answered {status} ({code}: {message})",
        http_status_code=status,
        code=code if isinstance(code, str) else None,
        api_message=message if isinstance(message, str) else None,
        retry_after=retry_after,
    )


CHECK_PENDING = "the check handshake has not answered yet; the events wait for it"


class SmartlookSender:
    """Does the handshake once (when ``init`` could not), then sends batches."""

    name = "smartlook"
    deduplicates = False  # no idempotency on Smartlook: a resent batch is recorded twice
    logger = logger

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._last_check: Project | SmartlookError | None = None
        # The check init() started and stopped waiting for: sends wait for its answer.
        self.pending_check: threading.Thread | None = None

    def _check(self) -> Project | SmartlookError:
        """One check at a time: a worker that finds another checking takes that answer rather
        than asking again. One attempt: the batcher retries the batch (with its back-off)."""
        if self._lock.acquire(blocking=False):
            try:
                with call_scope(max_retries=0):
                    found: Project | SmartlookError = self._client._check_once()
                self._last_check = found
                return found
            finally:
                self._lock.release()
        with self._lock:
            last = self._client._project or self._last_check
        if last is None:  # the other worker's check raised: ask ourselves
            return self._check()
        return last

    def send(self, batch: list[Entry]) -> SendOutcome:
        project = self._client._project
        if project is None:
            pending = self.pending_check
            if pending is not None and pending.is_alive():  # retried, with the batch's back-off
                return Failed(SmartlookConnectionError(CHECK_PENDING), retryable=True)
            found = self._check()
            if not isinstance(found, Project):
                return check_outcome(found)
            project = found
        with call_scope(max_retries=0):
            try:
                result: httpx.Response | BaseException = self._client._http.post(
                    **events_request(project, batch)
                )
            except httpx.HTTPError as error:
                result = error
        return self._record(send_outcome(result))

    def _record(self, outcome: SendOutcome) -> SendOutcome:
        """Tell the client's failure log how a send went (a refusal is no outage: on_error has
        it)."""
        if isinstance(outcome, Delivered):
            self._client._failures.succeeded()
        elif outcome.retryable:
            self._client._failures.failed(outcome.error)
        return outcome

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self.pending_check = None  # the parent's thread: not in this process


class AsyncSmartlookSender(SmartlookSender):
    async def send(self, batch: list[Entry]) -> SendOutcome:  # type: ignore[override]
        project = self._client._project
        if project is None:
            with call_scope(max_retries=0):  # one attempt: the batcher retries the batch
                found = await self._client._acheck_once()
            if not isinstance(found, Project):
                return check_outcome(found)
            project = found
        with call_scope(max_retries=0):
            try:
                result: httpx.Response | BaseException = await self._client._http.post(
                    **events_request(project, batch)
                )
            except httpx.HTTPError as error:
                result = error
        return self._record(send_outcome(result))


def check_call_failed(error: BaseException) -> SmartlookError:
    """The error a check that raised amounts to: no answer, or one that could not be read."""
    failed: SmartlookError
    if judge_exception(error).failure is not Failure.READING:
        failed = SmartlookConnectionError(f"the Smartlook check failed: {describe(error)}")
    else:
        failed = SmartlookApiError(
            f"the Smartlook check answer could not be read: {error}", http_status_code=200
        )
    failed.__cause__ = error
    return failed
