"""The one retry policy: what is retried, and how long to wait. Pure, no I/O, no sleeping.

Retried: 429, 5xx (except 501 and 505, which no retry can fix), connection errors and timeouts.
Never another 4xx. The wait grows exponentially from ``initial_delay_s`` up to ``max_delay_s``,
with jitter; a ``Retry-After`` from the server is a floor under it (the server knows best when it
will have room), and one longer than ``max_retry_after_s`` is not waited for: the caller gets the
error with its ``retry_after`` instead of a stalled thread.
"""

from __future__ import annotations

import datetime
import math
import random
import time
from collections.abc import Callable, Mapping

import attrs
import httpx

from ._constants import (
    DEFAULT_MAX_RETRIES,
    INITIAL_RETRY_DELAY_S,
    MAX_RETRY_AFTER_S,
    MAX_RETRY_DELAY_S,
)

NEVER_RETRIED_5XX = frozenset({501, 505})

# The request may have reached the server although no answer came back (a resend may duplicate).
MAYBE_SENT = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError)
# A gateway's error: the server behind it may have processed the request all the same.
MAYBE_PROCESSED = frozenset({502, 504})


def maybe_delivered(result: httpx.Response | BaseException) -> bool:
    """Whether a failed attempt may have been recorded by the server all the same."""
    if isinstance(result, BaseException):
        return isinstance(result, MAYBE_SENT)
    return result.status_code in MAYBE_PROCESSED


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After value: seconds (fractions allowed) or an HTTP date.

    Negative or past values mean 0; anything unreadable gives None.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        import email.utils  # only an HTTP-date needs it; most Retry-After values are seconds

        try:
            parsed = email.utils.parsedate_to_datetime(text) if text else None
        except (TypeError, ValueError, OverflowError):
            return None
        if parsed is None:
            return None
        if parsed.tzinfo is None:  # "-0000": a date in UTC whose source zone is unknown
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        seconds = parsed.timestamp() - now()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def is_retryable_status(status: int) -> bool:
    return status == 429 or (status >= 500 and status not in NEVER_RETRIED_5XX)


def is_retryable_exception(error: BaseException) -> bool:
    """Connection failures and timeouts; not protocol misuse or bad URLs."""
    return isinstance(
        error,
        httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError | httpx.ProxyError,
    )


def jitter_factor() -> float:
    """A factor in (0.75, 1.0] the back-off is multiplied by: it spreads the retries of many
    clients apart while keeping each wait close to the schedule (not "full jitter", which would
    draw from the whole [0, delay) range and could retry at once)."""
    return 1.0 - 0.25 * random.random()  # noqa: S311 - not for security


@attrs.frozen
class RetryDecision:
    """What the policy says after one attempt: retry after ``delay_s``, or stop."""

    retry: bool
    delay_s: float = 0.0
    retry_after_s: float | None = None
    # True when a retryable failure was not retried only because the retries are used up.
    exhausted: bool = False


@attrs.frozen(kw_only=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay_s: float = INITIAL_RETRY_DELAY_S
    max_delay_s: float = MAX_RETRY_DELAY_S
    max_retry_after_s: float = MAX_RETRY_AFTER_S
    jitter: Callable[[], float] = jitter_factor

    def backoff(self, retries_taken: int) -> float:
        """The wait before retry number ``retries_taken + 1`` (without any Retry-After)."""
        exponent = min(retries_taken, 32)  # 2**32 * anything is past any cap already
        return min(self.max_delay_s, self.initial_delay_s * 2.0**exponent) * self.jitter()

    def after_status(
        self, status: int, headers: Mapping[str, str], retries_taken: int
    ) -> RetryDecision:
        retry_after = parse_retry_after(headers.get("retry-after"))
        if not is_retryable_status(status):
            return RetryDecision(False, retry_after_s=retry_after)
        if retries_taken >= self.max_retries:
            return RetryDecision(False, retry_after_s=retry_after, exhausted=True)
        if retry_after is not None and retry_after > self.max_retry_after_s:
            return RetryDecision(False, retry_after_s=retry_after)
        delay = self.backoff(retries_taken)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return RetryDecision(True, delay, retry_after)

    def after_exception(self, error: BaseException, retries_taken: int) -> RetryDecision:
        if not is_retryable_exception(error):
            return RetryDecision(False)
        if retries_taken >= self.max_retries:
            return RetryDecision(False, exhausted=True)
        return RetryDecision(True, self.backoff(retries_taken))
