"""One status poll of a batch job, read without I/O: :class:`StatusPolls`.

It counts failed polls in a row, tells retryable failures from the others, gives up with
FSMaxRetryError, and says how long to wait before the next poll (honouring Retry-After, or a
busy API). The batch job's lifecycle and ``import_()`` both read their polls with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from fullstory_api.models import JobStatus, JobStatusResponse

from ..._constants import MAX_POLL_DELAY_S
from ...errors import (
    FSConnectionError,
    FSError,
    FSMaxRetryError,
    FSRateLimitedError,
    FSServerError,
    FSTimeoutError,
)
from .._requests import Kind, job_status_call

if TYPE_CHECKING:
    from .._calls import ApiResponse, Call

RETRYABLE_POLL_ERRORS = (FSServerError, FSRateLimitedError, FSTimeoutError, FSConnectionError)


def poll_backoff(poll_interval: float, failures: int, error: FSError) -> float:
    """The wait after ``failures`` failed status polls in a row: doubling from the poll
    interval, at least the server's Retry-After, at most MAX_POLL_DELAY_S."""
    retry_after = getattr(error, "retry_after", None) or 0.0
    return min(MAX_POLL_DELAY_S, max(poll_interval * 2.0**failures, retry_after))


def busy_wait(error: FSError) -> float | None:
    """How long to wait when the API has too much in progress (429), else None."""
    if isinstance(error, FSRateLimitedError):
        return error.retry_after or 1.0
    if isinstance(error, FSMaxRetryError) and isinstance(error.last_error, FSRateLimitedError):
        return error.last_error.retry_after or 1.0
    return None


@attrs.frozen
class PollAgain:
    """Poll again in ``delay`` seconds: the job is still PROCESSING (``status`` says how far it
    got), or the poll failed in a way a later one may not (``status`` is None)."""

    delay: float
    status: JobStatusResponse | None = None


@attrs.frozen
class PollGaveUp:
    """Stop following the job: ``error`` is the failed poll itself when no retry can fix it,
    or an FSMaxRetryError after ``max_retry`` failed polls in a row."""

    error: FSError


@attrs.frozen
class JobEnded:
    """The job is done on the API's side (COMPLETED or FAILED): its results can be read."""

    status: JobStatusResponse


PollRead = PollAgain | PollGaveUp | JobEnded


@attrs.define(eq=False)
class StatusPolls:
    """The status polls of one job: the request for the next one, and what each answer means.

    ``what`` names the job in a give-up message ("job", "import job"); ``give_up_hint`` ends it.
    """

    kind: Kind
    job_id: str
    poll_interval: float
    max_retry: int
    what: str = "job"
    give_up_hint: str = ""
    failures: int = 0  # failed polls in a row

    def call(self) -> Call[JobStatusResponse]:
        return job_status_call(self.kind, self.job_id)

    def read(self, polled: ApiResponse[Any] | FSError) -> PollRead:
        if isinstance(polled, FSError):
            if not isinstance(polled, RETRYABLE_POLL_ERRORS):
                return PollGaveUp(polled)
            self.failures += 1
            if self.failures >= self.max_retry:
                gave_up = FSMaxRetryError(
                    f"{self.what} {self.job_id}: {self.failures} status polls failed in a row "
                    f"(last: {polled.message}){self.give_up_hint}",
                    last_error=polled,
                    retries_taken=self.failures,
                )
                gave_up.__cause__ = polled
                return PollGaveUp(gave_up)
            # The server may have said how long to wait.
            return PollAgain(poll_backoff(self.poll_interval, self.failures, polled))
        self.failures = 0
        status: JobStatusResponse = polled.body
        if status.job.status == JobStatus.PROCESSING:
            return PollAgain(self.poll_interval, status)
        return JobEnded(status)
