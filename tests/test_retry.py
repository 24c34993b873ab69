"""The one retry policy, pure: Retry-After parsing, what is retried, how long to wait."""

from __future__ import annotations

import email.utils
import math
import sys

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scripted_http import policy

from session_analytics._retry import RetryDecision, RetryPolicy, parse_retry_after

NOW = 1_700_000_000.0


# ---- parse_retry_after ------------------------------------------------------------------------


def http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("2", 2.0, id="integer"),
        pytest.param("1.5", 1.5, id="fraction"),
        pytest.param(" 3 ", 3.0, id="padded"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param("-5", 0.0, id="negative-is-0"),
        pytest.param("-0.25", 0.0, id="negative-fraction-is-0"),
        pytest.param(http_date(NOW + 30), 30.0, id="http-date-future"),
        pytest.param(http_date(NOW - 3600), 0.0, id="http-date-past-is-0"),
        pytest.param(None, None, id="none"),
        pytest.param("", None, id="empty"),
        pytest.param("   ", None, id="blank"),
        pytest.param("inf", None, id="inf"),
        pytest.param("-inf", None, id="minus-inf"),
        pytest.param("nan", None, id="nan"),
        pytest.param("1e400", None, id="overflows-to-inf"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("Wed, 99 Oct 2015 07:28:00 GMT", None, id="impossible-date"),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=lambda: NOW) == seconds


@given(st.integers(min_value=0, max_value=10**9))
def test_parse_retry_after_reads_any_whole_number_of_seconds(seconds: int) -> None:
    assert parse_retry_after(str(seconds)) == float(seconds)


@given(st.text(max_size=40))
def test_parse_retry_after_never_raises(value: str) -> None:
    """Anything unreadable gives None (the docstring's promise); a number is finite and >= 0."""
    seconds = parse_retry_after(value, now=lambda: NOW)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


# ---- RetryPolicy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retried"),
    [(429, True), (500, True), (502, True), (503, True), (504, True)]
    + [(s, False) for s in (501, 505, 400, 401, 403, 404, 409, 422)],
)
def test_policy_retries_only_rate_limits_and_server_errors(status: int, retried: bool) -> None:
    assert policy().after_status(status, {}, 0).retry is retried


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        pytest.param(httpx.ConnectError("refused"), True, id="connect-error"),
        pytest.param(httpx.ConnectTimeout("slow"), True, id="connect-timeout"),
        pytest.param(httpx.ReadTimeout("slow"), True, id="read-timeout"),
        pytest.param(httpx.ReadError("reset"), True, id="read-error"),
        pytest.param(httpx.RemoteProtocolError("hung up"), True, id="remote-protocol"),
        pytest.param(httpx.UnsupportedProtocol("gopher"), False, id="unsupported-protocol"),
        pytest.param(httpx.LocalProtocolError("bad header"), False, id="local-protocol"),
        pytest.param(ValueError("bug"), False, id="not-http"),
    ],
)
def test_policy_retries_only_connection_failures(error: Exception, retried: bool) -> None:
    assert policy().after_exception(error, 0).retry is retried


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_policy_stops_after_max_retries(max_retries: int) -> None:
    rules = policy(max_retries)
    for taken in range(max_retries):
        assert rules.after_status(503, {}, taken).retry
        assert rules.after_exception(httpx.ConnectError("x"), taken).retry
    assert not rules.after_status(503, {}, max_retries).retry
    assert not rules.after_exception(httpx.ConnectError("x"), max_retries).retry


@pytest.mark.parametrize(
    ("status", "retry_after", "taken", "decision"),
    [
        pytest.param(503, None, 0, RetryDecision(True, 0.5), id="backoff-0"),
        pytest.param(503, None, 2, RetryDecision(True, 2.0), id="backoff-2"),
        pytest.param(503, None, 10, RetryDecision(True, 8.0), id="backoff-capped"),
        pytest.param(429, "5", 0, RetryDecision(True, 5.0, 5.0), id="retry-after-is-a-floor"),
        pytest.param(429, "0.1", 1, RetryDecision(True, 1.0, 0.1), id="backoff-above-retry-after"),
        pytest.param(503, "4", 0, RetryDecision(True, 4.0, 4.0), id="floor-on-5xx-too"),
        pytest.param(429, "60", 0, RetryDecision(True, 60.0, 60.0), id="retry-after-at-the-cap"),
        pytest.param(429, "3600", 0, RetryDecision(False, 0.0, 3600.0), id="retry-after-too-long"),
        pytest.param(400, "5", 0, RetryDecision(False, 0.0, 5.0), id="not-retryable-keeps-hint"),
        pytest.param(503, "soon", 0, RetryDecision(True, 0.5), id="unreadable-retry-after-ignored"),
    ],
)
def test_policy_delay(
    status: int, retry_after: str | None, taken: int, decision: RetryDecision
) -> None:
    headers = httpx.Headers({"Retry-After": retry_after} if retry_after is not None else {})
    assert policy(max_retries=20).after_status(status, headers, taken) == decision


@pytest.mark.parametrize("taken", [32, 33, 1024, 10**6, sys.maxsize])
def test_backoff_exponent_cannot_overflow(taken: int) -> None:
    assert policy().backoff(taken) == 8.0


@given(
    taken=st.integers(min_value=0, max_value=10_000),
    jitter=st.floats(min_value=0.0, max_value=1.0),
    initial=st.floats(min_value=0.0, max_value=100.0),
    cap=st.floats(min_value=0.0, max_value=1000.0),
)
def test_backoff_is_within_zero_and_the_cap(
    taken: int, jitter: float, initial: float, cap: float
) -> None:
    rules = RetryPolicy(initial_delay_s=initial, max_delay_s=cap, jitter=lambda: jitter)
    delay = rules.backoff(taken)
    assert 0.0 <= delay <= cap


@given(taken=st.integers(min_value=0, max_value=10_000), jitter=st.floats(0.0, 1.0))
def test_backoff_never_shrinks(taken: int, jitter: float) -> None:
    rules = RetryPolicy(jitter=lambda: jitter)
    assert rules.backoff(taken) <= rules.backoff(taken + 1)


@given(
    retry_after=st.floats(min_value=0.0, max_value=60.0),
    taken=st.integers(min_value=0, max_value=2),
    jitter=st.floats(0.0, 1.0),
)
def test_retry_after_is_a_floor_under_the_backoff(
    retry_after: float, taken: int, jitter: float
) -> None:
    rules = RetryPolicy(max_retries=3, jitter=lambda: jitter)
    decision = rules.after_status(429, {"retry-after": repr(retry_after)}, taken)
    assert decision.retry
    assert decision.delay_s >= retry_after
    assert decision.delay_s <= max(rules.max_delay_s, retry_after)
