"""Unit tests of the FullStory client's pure logic, without a server.

Retry policy and Retry-After parsing; the retrying transport (sync and async, over
``httpx.MockTransport``, with an injected sleep and a pinned jitter); the mapping of outcomes to
errors; the error classes; settings; input checks; and the job and import flows, driven by hand
one step at a time. Nothing here sleeps or opens a socket.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import inspect
import logging
import math
import pickle
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import attrs
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fullstory_api.api.users import create_user
from fullstory_api.models import (
    CreateBatchEventsImportJobResponse,
    CreateBatchUserImportJobResponse,
    CreateEventRequest,
    CreateUserRequest,
    CreateUserResponse,
    GetBatchEventsImportErrorsResponse,
    GetBatchEventsImportsResponse,
    GetBatchUserImportErrorsResponse,
    GetBatchUserImportsResponse,
    JobResultsPending,
    JobStatus,
    JobStatusResponse,
)
from fullstory_api.types import UNSET
from session_analytics._batching import Failed
from session_analytics._retry import RetryDecision as Decision
from session_analytics._retry import RetryPolicy, maybe_delivered, parse_retry_after
from session_analytics._transport import CallScope
from session_analytics.errors import (
    FSApiError,
    FSBadRequestError,
    FSConnectionError,
    FSError,
    FSErrorName,
    FSForbiddenError,
    FSIdempotencyKeyReusedError,
    FSInvalidArgumentError,
    FSMaxRetryError,
    FSNotFoundError,
    FSParseError,
    FSRateLimitedError,
    FSServerError,
    FSTimeoutError,
    FSUnauthorizedError,
    FSUnknownError,
    ImportFailure,
    is_fs_error,
)
from session_analytics.fullstory import (
    AsyncFullStory,
    BatchJob,
    BatchJobOptions,
    FullStory,
    _inputs,
    _requests,
)
from session_analytics.fullstory._calls import ApiResponse, Call, describe, run_async, run_sync
from session_analytics.fullstory._flow import Emit, Flow, Request, Sleep
from session_analytics.fullstory._jobs.import_ import _Importer
from session_analytics.fullstory._jobs.lifecycle import _JobCore
from session_analytics.fullstory._track import send_outcome as track_outcome
from session_analytics.smartlook._sender import send_outcome as smartlook_send_outcome

BASE = "https://api.example.test"
KEY = "sk-test-SECRET-123"
NOW = 1_700_000_000.0
USER = {"id": "fs-1"}
ERROR_BODY = {"code": "some_code", "message": "some message"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ---- scripted HTTP ----------------------------------------------------------------------------


@attrs.frozen
class Seen:
    """One request as it was when the transport saw it (headers are copied: a retry mutates the
    same request object)."""

    method: str
    url: httpx.URL
    headers: httpx.Headers


class Server:
    """An ``httpx.MockTransport`` handler: plays its answers in order and records each request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.seen: list[Seen] = []
        self.returned: list[httpx.Response] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(Seen(request.method, request.url, httpx.Headers(request.headers)))
        if not self.answers:
            # pytest.fail is a BaseException: the SDK cannot turn it into an FSError.
            pytest.fail(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        self.returned.append(answer)
        return answer

    def header(self, name: str) -> list[str | None]:
        return [seen.headers.get(name) for seen in self.seen]


def reply(
    status: int, body: Any = None, *, text: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


@attrs.define
class Harness:
    fs: Any
    server: Server
    sleeps: list[float]


def policy(max_retries: int = 3) -> RetryPolicy:
    return RetryPolicy(max_retries=max_retries, jitter=lambda: 1.0)


def new_client(flavor: str, sleeps: list[float], **options: Any) -> Any:
    if flavor == "sync":
        return FullStory(sleep=sleeps.append, **options)

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    return AsyncFullStory(sleep=record, **options)


async def resolve(value: Any) -> Any:
    """The value, awaited when the async client gave a coroutine."""
    return await value if inspect.isawaitable(value) else value


async def close(fs: Any) -> None:
    await resolve(fs.aclose() if isinstance(fs, AsyncFullStory) else fs.close())


def send(fs: Any, call: Call[Any]) -> Any:
    """Run a Call the way the facade does, with the client's flavor."""
    return run_async(fs.raw, call) if isinstance(fs, AsyncFullStory) else run_sync(fs.raw, call)


async def failure(expected: type[BaseException], make: Callable[[], Any]) -> Any:
    with pytest.raises(expected) as info:
        await resolve(make())
    return info.value


@pytest.fixture
async def make(flavor: str, anyio_backend: str) -> AsyncIterator[Callable[..., Harness]]:
    """Build a client of this test's flavor over a scripted server; closed after the test."""
    made: list[Any] = []

    def build(
        *answers: httpx.Response | Exception, max_retries: int = 3, **options: Any
    ) -> Harness:
        server = Server(*answers)
        sleeps: list[float] = []
        options.setdefault("api_key", KEY)
        options.setdefault("base_url", BASE)
        options.setdefault("retry_policy", policy(max_retries))
        fs = new_client(flavor, sleeps, transport=httpx.MockTransport(server), **options)
        made.append(fs)
        return Harness(fs, server, sleeps)

    yield build
    for fs in made:
        await close(fs)


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
        pytest.param(503, None, 0, Decision(True, 0.5), id="backoff-0"),
        pytest.param(503, None, 2, Decision(True, 2.0), id="backoff-2"),
        pytest.param(503, None, 10, Decision(True, 8.0), id="backoff-capped"),
        pytest.param(429, "5", 0, Decision(True, 5.0, 5.0), id="retry-after-is-a-floor"),
        pytest.param(429, "0.1", 1, Decision(True, 1.0, 0.1), id="backoff-above-retry-after"),
        pytest.param(503, "4", 0, Decision(True, 4.0, 4.0), id="floor-on-5xx-too"),
        pytest.param(429, "60", 0, Decision(True, 60.0, 60.0), id="retry-after-at-the-cap"),
        pytest.param(429, "3600", 0, Decision(False, 0.0, 3600.0), id="retry-after-too-long"),
        pytest.param(400, "5", 0, Decision(False, 0.0, 5.0), id="not-retryable-keeps-hint"),
        pytest.param(503, "soon", 0, Decision(True, 0.5), id="unreadable-retry-after-ignored"),
    ],
)
def test_policy_delay(status: int, retry_after: str | None, taken: int, decision: Decision) -> None:
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


# ---- the retrying transport -------------------------------------------------------------------


@pytest.mark.anyio
async def test_create_retries_with_one_idempotency_key(make: Callable[..., Harness]) -> None:
    h = make(reply(503, ERROR_BODY), reply(503, ERROR_BODY), reply(200, USER))
    result = await resolve(h.fs.users.create_detailed({"uid": "u1"}))
    assert result.body.id == "fs-1"
    assert result.retries_taken == 2
    assert len(h.server.seen) == 3
    keys = h.server.header("Idempotency-Key")
    assert keys[0] is not None
    assert len(keys[0]) == 36  # a v4 UUID
    assert keys == [keys[0]] * 3
    assert result.idempotency_key == keys[0]
    assert h.server.header("Session-Analytics-Retry-Count") == ["0", "1", "2"]
    assert h.sleeps == [0.5, 1.0]


@pytest.mark.anyio
async def test_caller_idempotency_key_is_kept_on_every_attempt(
    make: Callable[..., Harness],
) -> None:
    h = make(reply(500, ERROR_BODY), reply(429, ERROR_BODY), reply(200, {}))
    event = {"name": "Signed Up", "user": {"uid": "u1"}}
    await resolve(h.fs.events.create(event, idempotency_key="order-42"))
    assert h.server.header("Idempotency-Key") == ["order-42"] * 3


def _create_job(kind: _requests.Kind) -> Callable[[Any], Any]:
    item = {"uid": "u1"} if kind == "users" else {"name": "Clicked", "user": {"uid": "u1"}}
    return lambda fs: send(fs, _requests.create_job_call(kind, [item], None, None))


JOB = {"job": {"id": "j1", "status": "PROCESSING", "created": "2024-02-01T12:00:00Z"}}


@pytest.mark.parametrize(
    ("action", "answer", "keyed"),
    [
        pytest.param(lambda fs: fs.users.create({"uid": "u1"}), USER, True, id="create-user"),
        pytest.param(
            lambda fs: fs.events.create({"name": "Paid", "user": {"uid": "u1"}}),
            {},
            True,
            id="create-event",
        ),
        pytest.param(_create_job("users"), JOB, True, id="create-users-job"),
        pytest.param(_create_job("events"), JOB, True, id="create-events-job"),
        pytest.param(
            lambda fs: fs.users.update("fs-1", {"display_name": "Ann"}),
            USER,
            False,
            id="update-user",
        ),
        pytest.param(
            lambda fs: fs.users.get("fs-1"),
            {"id": "fs-1", "is_being_deleted": False},
            False,
            id="get-user",
        ),
    ],
)
@pytest.mark.anyio
async def test_only_the_four_creates_get_an_idempotency_key(
    make: Callable[..., Harness], action: Callable[[Any], Any], answer: Any, keyed: bool
) -> None:
    h = make(reply(200, answer))
    await resolve(action(h.fs))
    [key] = h.server.header("Idempotency-Key")
    assert (key is not None) is keyed


@pytest.mark.anyio
async def test_retry_after_sets_the_wait(make: Callable[..., Harness]) -> None:
    h = make(reply(429, ERROR_BODY, headers={"Retry-After": "2"}), reply(200, USER))
    await resolve(h.fs.users.create({"uid": "u1"}))
    assert h.sleeps == [2.0]
    assert len(h.server.seen) == 2


@pytest.mark.anyio
async def test_too_long_retry_after_is_not_waited_for(make: Callable[..., Harness]) -> None:
    h = make(reply(429, ERROR_BODY, headers={"Retry-After": "3600"}))
    err = await failure(FSRateLimitedError, lambda: h.fs.users.create({"uid": "u1"}))
    assert err.retry_after == 3600.0
    assert err.retries_taken == 0
    assert len(h.server.seen) == 1
    assert h.sleeps == []


@pytest.mark.anyio
async def test_unreadable_retry_after_still_gives_a_rate_limited_error(
    make: Callable[..., Harness],
) -> None:
    h = make(reply(429, ERROR_BODY, headers={"Retry-After": "soon"}), max_retries=0)
    err = await failure(FSRateLimitedError, lambda: h.fs.users.create({"uid": "u1"}))
    assert err.retry_after is None


@pytest.mark.parametrize(("status", "cls"), [(400, FSBadRequestError), (404, FSNotFoundError)])
@pytest.mark.anyio
async def test_client_errors_are_not_retried(
    make: Callable[..., Harness], status: int, cls: type[FSApiError]
) -> None:
    h = make(reply(status, ERROR_BODY))
    err = await failure(cls, lambda: h.fs.users.create({"uid": "u1"}))
    assert err.http_status_code == status
    assert len(h.server.seen) == 1
    assert h.sleeps == []


@pytest.mark.anyio
async def test_server_errors_until_max_retries(make: Callable[..., Harness]) -> None:
    h = make(*[reply(500, ERROR_BODY) for _ in range(4)])
    err = await failure(FSMaxRetryError, lambda: h.fs.users.create({"uid": "u1"}))
    assert err.name is FSErrorName.FS_MAX_RETRY
    assert err.retries_taken == 3
    assert type(err.last_error) is FSServerError
    assert err.last_error.http_status_code == 500
    assert err.http_status_code == 500
    assert len(h.server.seen) == 4
    assert h.sleeps == [0.5, 1.0, 2.0]


@pytest.mark.anyio
async def test_connection_errors_until_max_retries(make: Callable[..., Harness]) -> None:
    h = make(*[httpx.ConnectError("connection refused") for _ in range(4)])
    err = await failure(FSMaxRetryError, lambda: h.fs.users.get("fs-1"))
    assert err.retries_taken == 3
    assert type(err.last_error) is FSConnectionError
    assert isinstance(err.last_error.__cause__, httpx.ConnectError)
    assert len(h.server.seen) == 4


@pytest.mark.parametrize(
    ("answer", "cls"),
    [
        pytest.param(lambda: reply(500, ERROR_BODY), FSServerError, id="500"),
        pytest.param(lambda: httpx.ConnectError("refused"), FSConnectionError, id="connect"),
        pytest.param(lambda: httpx.ReadTimeout("slow"), FSTimeoutError, id="read-timeout"),
    ],
)
@pytest.mark.anyio
async def test_without_retries_the_plain_error(
    make: Callable[..., Harness], answer: Callable[[], Any], cls: type[FSError]
) -> None:
    h = make(answer(), max_retries=0)
    err = await failure(FSError, lambda: h.fs.users.get("fs-1"))
    assert type(err) is cls
    assert err.retries_taken == 0
    assert len(h.server.seen) == 1


@pytest.mark.anyio
async def test_failed_answers_are_closed_before_retrying(make: Callable[..., Harness]) -> None:
    h = make(reply(503, ERROR_BODY), reply(429, ERROR_BODY), reply(200, USER))
    await resolve(h.fs.users.create({"uid": "u1"}))
    failed = h.server.returned[:2]
    assert [response.is_closed for response in failed] == [True, True]


@pytest.mark.parametrize(
    ("api_key", "authorization"),
    [
        pytest.param(KEY, f"Basic {KEY}", id="plain-key"),
        pytest.param(f"  {KEY}\n", f"Basic {KEY}", id="key-is-stripped"),
        pytest.param("Basic already-whole", "Basic already-whole", id="key-with-space-unchanged"),
    ],
)
@pytest.mark.anyio
async def test_authorization_header(
    make: Callable[..., Harness], api_key: str, authorization: str
) -> None:
    h = make(reply(200, USER), api_key=api_key)
    await resolve(h.fs.users.create({"uid": "u1"}))
    assert h.server.header("Authorization") == [authorization]


@pytest.mark.parametrize("source", [None, "acme-connector"])
@pytest.mark.anyio
async def test_identifying_headers(make: Callable[..., Harness], source: str | None) -> None:
    h = make(reply(200, USER), integration_source=source)
    await resolve(h.fs.users.create({"uid": "u1"}))
    [seen] = h.server.seen
    assert seen.headers["User-Agent"].startswith("session-analytics/")
    assert seen.headers.get("Integration-Source") == source
    assert seen.headers["Accept"] == "application/json"
    assert seen.url.path == "/v2/users"


@pytest.mark.anyio
async def test_raw_generated_calls_share_the_transport(
    make: Callable[..., Harness], flavor: str
) -> None:
    h = make(reply(503, ERROR_BODY), reply(200, USER))
    operation = create_user.sync_detailed if flavor == "sync" else create_user.asyncio_detailed
    response = await resolve(operation(client=h.fs.raw, body=CreateUserRequest(uid="u1")))
    assert response.status_code == 200
    assert isinstance(response.parsed, CreateUserResponse)
    assert h.server.header("Authorization") == [f"Basic {KEY}"] * 2
    keys = h.server.header("Idempotency-Key")
    assert keys[0] is not None
    assert keys == [keys[0]] * 2
    assert h.server.header("Session-Analytics-Retry-Count") == ["0", "1"]


@pytest.mark.anyio
async def test_own_http_client_is_used_and_not_closed(flavor: str) -> None:
    server = Server(reply(503, ERROR_BODY), reply(200, USER))
    transport = httpx.MockTransport(server)
    own: Any = (
        httpx.Client(transport=transport)
        if flavor == "sync"
        else httpx.AsyncClient(transport=transport)
    )
    sleeps: list[float] = []
    fs = new_client(
        flavor, sleeps, api_key=KEY, base_url=BASE, http_client=own, retry_policy=policy()
    )
    await resolve(fs.users.create({"uid": "u1"}))
    await close(fs)
    assert not own.is_closed
    assert len(server.seen) == 2
    assert server.header("Authorization") == [f"Basic {KEY}"] * 2
    assert sleeps == [0.5]
    await resolve(own.aclose() if flavor == "async" else own.close())


@settings(max_examples=30, deadline=None)
@given(
    failures=st.lists(
        st.sampled_from(["429", "500", "502", "503", "504", "connect", "timeout"]), max_size=3
    )
)
def test_every_attempt_carries_the_same_key(failures: list[str]) -> None:
    def answer(kind: str) -> httpx.Response | Exception:
        if kind == "connect":
            return httpx.ConnectError("refused")
        if kind == "timeout":
            return httpx.ReadTimeout("slow")
        return reply(int(kind), ERROR_BODY)

    server = Server(*[answer(kind) for kind in failures], reply(200, USER))
    sleeps: list[float] = []
    with FullStory(
        KEY,
        base_url=BASE,
        transport=httpx.MockTransport(server),
        retry_policy=policy(),
        sleep=sleeps.append,
    ) as fs:
        result = fs.users.create_detailed({"uid": "u1"})
    keys = server.header("Idempotency-Key")
    assert keys == [result.idempotency_key] * (len(failures) + 1)
    assert server.header("Session-Analytics-Retry-Count") == [
        str(i) for i in range(len(failures) + 1)
    ]
    assert result.retries_taken == len(failures)
    assert len(sleeps) == len(failures)


# ---- outcomes to errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls", "name"),
    [
        (400, FSBadRequestError, FSErrorName.FS_FULLSTORY_API),
        (401, FSUnauthorizedError, FSErrorName.FS_FULLSTORY_API),
        (403, FSForbiddenError, FSErrorName.FS_FULLSTORY_API),
        (404, FSNotFoundError, FSErrorName.FS_FULLSTORY_API),
        (409, FSApiError, FSErrorName.FS_FULLSTORY_API),
        (429, FSRateLimitedError, FSErrorName.FS_RATE_LIMITED),
        (500, FSServerError, FSErrorName.FS_FULLSTORY_API),
        (503, FSServerError, FSErrorName.FS_FULLSTORY_API),
    ],
)
@pytest.mark.anyio
async def test_status_to_error_class(
    make: Callable[..., Harness], status: int, cls: type[FSApiError], name: FSErrorName
) -> None:
    h = make(reply(status, ERROR_BODY, headers={"X-Request-Id": "req-1"}), max_retries=0)
    err = await failure(FSApiError, lambda: h.fs.users.get("fs-1"))
    assert type(err) is cls
    assert err.name is name
    assert err.http_status_code == status
    assert err.code == "some_code"
    assert err.api_message == "some message"
    assert err.body == ERROR_BODY
    assert err.headers["x-request-id"] == "req-1"
    assert str(err) == f"GET /v2/users/fs-1 answered {status} (some_code: some message)"


@pytest.mark.anyio
async def test_reused_idempotency_key_has_its_own_error(make: Callable[..., Harness]) -> None:
    body = {
        "code": "invalid_argument",
        "message": "Idempotency-Key was already used with a different request body",
    }
    h = make(reply(400, body))
    err = await failure(
        FSIdempotencyKeyReusedError, lambda: h.fs.users.create({"uid": "u1"}, idempotency_key="k")
    )
    assert isinstance(err, FSBadRequestError)
    assert err.code == "invalid_argument"
    assert len(h.server.seen) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.anyio
async def test_html_error_page_is_a_server_error(make: Callable[..., Harness], status: int) -> None:
    page = f"<html><body><h1>{status} Bad Gateway</h1></body></html>"
    h = make(reply(status, text=page, headers={"Content-Type": "text/html"}), max_retries=0)
    err = await failure(FSError, lambda: h.fs.users.create({"uid": "u1"}))
    assert type(err) is FSServerError
    assert err.http_status_code == status
    assert f"{status} Bad Gateway" in str(err)
    assert err.code is None


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        pytest.param(lambda: reply(200, text="<html>ok</html>"), ValueError, id="not-json"),
        pytest.param(lambda: reply(200, {}), KeyError, id="missing-id"),
    ],
)
@pytest.mark.anyio
async def test_unreadable_success_is_a_parse_error(
    make: Callable[..., Harness], answer: Callable[[], httpx.Response], cause: type[Exception]
) -> None:
    h = make(answer())
    err = await failure(FSError, lambda: h.fs.users.create({"uid": "u1"}))
    assert type(err) is FSParseError
    assert err.name is FSErrorName.FS_ERROR_PARSE_RESPONSE
    assert err.http_status_code == 200
    assert isinstance(err.__cause__, cause)
    assert len(h.server.seen) == 1


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(_requests.job_imports_call("users", "j1", None, False), id="users-imports"),
        pytest.param(_requests.job_errors_call("users", "j1", None), id="users-errors"),
        pytest.param(_requests.job_imports_call("events", "j1", None, False), id="events-imports"),
        pytest.param(_requests.job_errors_call("events", "j1", None), id="events-errors"),
    ],
)
@pytest.mark.parametrize("body", [b"", b"{}"], ids=["empty", "empty-object"])
@pytest.mark.anyio
async def test_202_on_job_results_means_not_ready(
    make: Callable[..., Harness], call: Call[Any], body: bytes
) -> None:
    h = make(httpx.Response(202, content=body))
    result = await resolve(send(h.fs, call))
    assert isinstance(result.body, JobResultsPending)
    assert result.http_status_code == 202


@pytest.mark.anyio
async def test_transport_errors_are_chained(make: Callable[..., Harness]) -> None:
    refused = httpx.ConnectError("connection refused")
    h = make(refused, max_retries=0)
    err = await failure(FSConnectionError, lambda: h.fs.users.get("fs-1"))
    assert err.__cause__ is refused
    assert err.name is FSErrorName.FS_UNKNOWN


@pytest.mark.anyio
async def test_gave_up_error_is_chained_to_the_last_error(make: Callable[..., Harness]) -> None:
    h = make(reply(503, ERROR_BODY), reply(503, ERROR_BODY), max_retries=1)
    err = await failure(FSMaxRetryError, lambda: h.fs.users.get("fs-1"))
    assert err.__cause__ is err.last_error


@pytest.mark.parametrize(
    ("result", "maybe"),
    [
        (httpx.Response(502), True),
        (httpx.Response(504), True),
        (httpx.Response(500), False),
        (httpx.Response(503), False),
        (httpx.Response(429), False),
        (httpx.ReadTimeout("read"), True),
        (httpx.RemoteProtocolError("closed"), True),
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("connect"), False),
    ],
    ids=lambda v: str(v.status_code) if isinstance(v, httpx.Response) else type(v).__name__,
)
def test_failures_that_may_have_been_recorded(
    result: httpx.Response | Exception, maybe: bool
) -> None:
    # A gateway's 502/504 or a lost answer may hide a request the server did record: where
    # nothing dedupes (Smartlook), a resend of it counts as a possible duplicate.
    assert maybe_delivered(result) is maybe
    outcomes = [track_outcome(CallScope(), result), smartlook_send_outcome(result)]
    assert [o.maybe_delivered for o in outcomes if isinstance(o, Failed)] == [maybe, maybe]


def test_a_request_that_could_not_be_written_is_described_without_its_headers() -> None:
    error = httpx.LocalProtocolError("Illegal header value b'Basic sk-test-SECRET-123\\n'")
    assert "SECRET" not in describe(error)
    assert describe(error).startswith("LocalProtocolError")
    assert describe(httpx.ConnectError("refused")) == "ConnectError: refused"
    outcome = track_outcome(CallScope(), error)
    assert isinstance(outcome, Failed)
    assert "SECRET" not in str(outcome.error)


# ---- errors.py --------------------------------------------------------------------------------


def api_error(cls: type[FSApiError], status: int, **extra: Any) -> FSApiError:
    return cls(
        f"answered {status}",
        http_status_code=status,
        headers={"X-Request-Id": "req-1"},
        code="some_code",
        api_message="some message",
        body=dict(ERROR_BODY),
        retries_taken=1,
        **extra,
    )


def every_error() -> list[Any]:
    return [
        pytest.param(FSError("base", retries_taken=2), FSErrorName.FS_UNKNOWN, id="FSError"),
        pytest.param(api_error(FSApiError, 409), FSErrorName.FS_FULLSTORY_API, id="FSApiError"),
        pytest.param(
            api_error(FSBadRequestError, 400), FSErrorName.FS_FULLSTORY_API, id="BadRequest"
        ),
        pytest.param(
            api_error(FSIdempotencyKeyReusedError, 400),
            FSErrorName.FS_FULLSTORY_API,
            id="IdempotencyKeyReused",
        ),
        pytest.param(
            api_error(FSUnauthorizedError, 401), FSErrorName.FS_FULLSTORY_API, id="Unauthorized"
        ),
        pytest.param(
            api_error(FSForbiddenError, 403), FSErrorName.FS_FULLSTORY_API, id="Forbidden"
        ),
        pytest.param(api_error(FSNotFoundError, 404), FSErrorName.FS_FULLSTORY_API, id="NotFound"),
        pytest.param(
            api_error(FSRateLimitedError, 429, retry_after=3.5),
            FSErrorName.FS_RATE_LIMITED,
            id="RateLimited",
        ),
        pytest.param(api_error(FSServerError, 503), FSErrorName.FS_FULLSTORY_API, id="Server"),
        pytest.param(FSTimeoutError("slow", retries_taken=3), FSErrorName.FS_TIMEOUT, id="Timeout"),
        pytest.param(
            FSMaxRetryError(
                "gave up",
                last_error=api_error(FSRateLimitedError, 429, retry_after=2.0),
                retries_taken=3,
            ),
            FSErrorName.FS_MAX_RETRY,
            id="MaxRetry",
        ),
        pytest.param(
            FSParseError("unreadable", http_status_code=200, body="<html>"),
            FSErrorName.FS_ERROR_PARSE_RESPONSE,
            id="Parse",
        ),
        pytest.param(
            FSInvalidArgumentError("bad uid", field="uid"),
            FSErrorName.FS_ERROR_INVALID_ARGUMENT,
            id="InvalidArgument",
        ),
        pytest.param(FSUnknownError("what"), FSErrorName.FS_UNKNOWN, id="Unknown"),
        pytest.param(FSConnectionError("down"), FSErrorName.FS_UNKNOWN, id="Connection"),
    ]


@pytest.mark.parametrize(
    "name",
    [
        "FS_UNKNOWN",
        "FS_TIMEOUT",
        "FS_MAX_RETRY",
        "FS_RATE_LIMITED",
        "FS_FULLSTORY_API",
        "FS_ERROR_PARSE_RESPONSE",
        "FS_ERROR_INVALID_ARGUMENT",
    ],
)
def test_error_names_are_the_node_sdk_strings(name: str) -> None:
    member = FSErrorName[name]
    assert member.value == name
    assert member == name
    assert str(member) == name


def test_there_are_exactly_the_node_sdk_names() -> None:
    assert len(FSErrorName) == 7


@pytest.mark.parametrize(("error", "name"), every_error())
def test_error_name_and_kind(error: FSError, name: FSErrorName) -> None:
    assert error.name is name
    assert type(error).name is name
    assert is_fs_error(error)
    assert isinstance(error, FSError)


@pytest.mark.parametrize("value", [ValueError("x"), FSError, None, "FS_UNKNOWN"])
def test_is_fs_error_is_false_for_anything_else(value: object) -> None:
    assert not is_fs_error(value)


def test_invalid_argument_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="bad uid"):
        raise FSInvalidArgumentError("bad uid", field="uid")


def state(error: BaseException) -> dict[str, Any]:
    """An error's attributes, with nested errors compared by their own state."""
    out: dict[str, Any] = {"type": type(error), "args": error.args}
    for key, value in vars(error).items():
        out[key] = state(value) if isinstance(value, BaseException) else value
    return out


@pytest.mark.parametrize(("error", "name"), every_error())
def test_errors_survive_pickling(error: FSError, name: FSErrorName) -> None:
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert state(copy) == state(error)
    assert copy.name is name
    assert str(copy) == str(error)
    if isinstance(error, FSMaxRetryError):
        assert copy.retry_after == 2.0
        assert copy.http_status_code == 429


@given(
    message=st.text(max_size=50),
    status=st.integers(min_value=400, max_value=599),
    retry_after=st.none() | st.floats(min_value=0, max_value=1e6),
    code=st.none() | st.text(max_size=20),
)
def test_rate_limited_error_pickles_with_any_values(
    message: str, status: int, retry_after: float | None, code: str | None
) -> None:
    error = FSRateLimitedError(message, retry_after=retry_after, http_status_code=status, code=code)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.message, copy.http_status_code, copy.retry_after, copy.code) == (
        message,
        status,
        retry_after,
        code,
    )


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param(lambda: [reply(401, {"code": "unauthorized", "message": "no"})], id="401"),
        pytest.param(lambda: [reply(500, ERROR_BODY) for _ in range(4)], id="max-retry"),
        pytest.param(lambda: [httpx.ConnectError("refused") for _ in range(4)], id="connect"),
        pytest.param(lambda: [reply(200, text="nope")], id="parse"),
    ],
)
@pytest.mark.anyio
async def test_errors_never_show_the_key(
    make: Callable[..., Harness], answers: Callable[[], list[Any]]
) -> None:
    h = make(*answers())
    err = await failure(FSError, lambda: h.fs.users.create({"uid": "u1"}))
    chain = [err, getattr(err, "last_error", None)]
    for each in filter(None, chain):
        assert KEY not in str(each)
        assert KEY not in repr(each)
        assert KEY not in repr(vars(each))


# ---- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("client", [FullStory, AsyncFullStory])
@pytest.mark.parametrize("api_key", [None, "", "   "])
def test_missing_key_is_refused_before_any_io(
    monkeypatch: pytest.MonkeyPatch, client: type[Any], api_key: str | None
) -> None:
    monkeypatch.delenv("FULLSTORY_API_KEY", raising=False)
    server = Server()
    with pytest.raises(FSInvalidArgumentError, match="FULLSTORY_API_KEY") as info:
        client(api_key, base_url=BASE, transport=httpx.MockTransport(server))
    assert info.value.field == "api_key"
    assert server.seen == []


@pytest.mark.parametrize("client", [FullStory, AsyncFullStory])
@pytest.mark.parametrize(
    "api_key",
    [
        "sk-test\nSECRET-123",
        "sk-test SECRET-123",
        "sk-test-SECRÉT-123",
        "\u201csk-test-SECRET-123\u201d",
    ],
    ids=["line-break", "space", "non-ascii", "smart-quotes"],
)
def test_a_key_no_header_can_carry_is_refused_without_showing_it(
    client: type[Any], api_key: str
) -> None:
    server = Server()
    with pytest.raises(FSInvalidArgumentError, match="copy it again") as info:
        client(api_key, base_url=BASE, transport=httpx.MockTransport(server))
    assert info.value.field == "api_key"
    assert "SECRET" not in str(info.value)
    assert "SECRET" not in repr(info.value)
    assert server.seen == []


@pytest.mark.anyio
async def test_environment_is_used(
    make: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULLSTORY_API_KEY", "env-key")
    monkeypatch.setenv("FULLSTORY_BASE_URL", "https://env.example.test/")
    h = make(reply(200, USER), api_key=None, base_url=None)
    assert h.fs.config.base_url == "https://env.example.test"
    await resolve(h.fs.users.create({"uid": "u1"}))
    assert h.server.header("Authorization") == ["Basic env-key"]
    assert h.server.seen[0].url.host == "env.example.test"


@pytest.mark.anyio
async def test_arguments_beat_the_environment(
    make: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULLSTORY_API_KEY", "env-key")
    monkeypatch.setenv("FULLSTORY_BASE_URL", "https://env.example.test")
    h = make(reply(200, USER))
    await resolve(h.fs.users.create({"uid": "u1"}))
    assert h.server.header("Authorization") == [f"Basic {KEY}"]
    assert h.server.seen[0].url.host == "api.example.test"
    assert h.fs.config.base_url == BASE


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ({"base_url": "not a url"}, "base_url"),
        ({"base_url": "ftp://files.example.test"}, "base_url"),
        ({"base_url": "https://"}, "base_url"),
        ({"timeout": None}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"timeout": math.inf}, "timeout"),
        ({"timeout": math.nan}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"timeout": "30"}, "timeout"),
        ({"max_retries": None}, "max_retries"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"max_retries": 2.0}, "max_retries"),
        ({"integration_source": 7}, "integration_source"),
    ],
)
@pytest.mark.parametrize("client", [FullStory, AsyncFullStory])
def test_bad_settings_name_the_field(
    client: type[Any], setting: dict[str, Any], field: str
) -> None:
    server = Server()
    with pytest.raises(FSInvalidArgumentError) as info:
        client(KEY, transport=httpx.MockTransport(server), **setting)
    assert info.value.field == field
    assert server.seen == []


@pytest.mark.anyio
async def test_reprs_never_show_the_key(make: Callable[..., Harness], flavor: str) -> None:
    fs = make().fs
    http = fs.raw.get_httpx_client() if flavor == "sync" else fs.raw.get_async_httpx_client()
    shown = [repr(fs), repr(fs.config), repr(fs.raw), str(http), repr(http)]
    shown += [repr(value) for value in vars(fs).values()]
    assert [KEY in text for text in shown] == [False] * len(shown)
    assert "api_key='***'" in repr(fs.config)


@pytest.mark.parametrize("own_client", [True, False], ids=["http_client", "default"])
def test_a_forked_child_is_warned_about_a_shared_http_client(
    caplog: pytest.LogCaptureFixture, own_client: bool
) -> None:
    # The after-fork hook is called by hand: what a real fork does is tested in test_track.
    user_client = httpx.Client(transport=httpx.MockTransport(Server()))
    fs = FullStory(KEY, base_url=BASE, http_client=user_client if own_client else None)
    try:
        with caplog.at_level(logging.WARNING, logger="session_analytics"):
            fs._after_fork()
        warned = [r.getMessage() for r in caplog.records if "forked" in r.getMessage()]
        assert len(warned) == (1 if own_client else 0)
        if own_client:
            assert "Make the client after the fork" in warned[0]
            assert KEY not in warned[0]
    finally:
        fs.close()
        user_client.close()


# ---- inputs -----------------------------------------------------------------------------------

PLUS_2 = dt.timezone(dt.timedelta(hours=2))

GOOD_USERS = [
    pytest.param({"uid": "u1"}, {"uid": "u1"}, id="uid"),
    pytest.param({"uid": "u" * 256, "email": "e" * 128}, {"uid": "u" * 256, "email": "e" * 128}),
    pytest.param({"uid": "u1", "email": None}, {"uid": "u1"}, id="none-dropped"),
    pytest.param(
        {"properties": {"plan": {"tier": "gold"}, "seats": 3}},
        {"properties": {"plan": {"tier": "gold"}, "seats": 3}},
        id="nested-properties",
    ),
    pytest.param(
        {"properties": {"at": dt.datetime(2024, 2, 1, 12, 30, tzinfo=PLUS_2)}},
        {"properties": {"at": "2024-02-01T10:30:00.000Z"}},
        id="aware-datetime-to-utc",
    ),
    pytest.param(
        {"properties": {"day": dt.date(2024, 2, 1)}},
        {"properties": {"day": "2024-02-01"}},
        id="date",
    ),
    pytest.param({"properties": {"t": ("a", "b")}}, {"properties": {"t": ["a", "b"]}}, id="tuple"),
    pytest.param(
        CreateUserRequest.from_dict({"uid": "u1", "display_name": "Ann"}),
        {"uid": "u1", "display_name": "Ann"},
        id="model",
    ),
    pytest.param(
        {"properties": {"n": 3}, "schema": {"properties": {"n": "int"}}},
        {"properties": {"n": 3}, "schema": {"properties": {"n": "int"}}},
        id="declared-type-fits",
    ),
]


@pytest.mark.parametrize(("given_user", "sent"), GOOD_USERS)
def test_good_users(given_user: Any, sent: dict[str, Any]) -> None:
    assert _inputs.user_request(given_user) == sent


BAD_USERS = [
    pytest.param({"displayName": "Ann"}, "displayName", "unknown field", id="camel-case-key"),
    pytest.param({"uid": "u" * 257}, "uid", "at most 256", id="uid-too-long"),
    pytest.param({"email": "e" * 129}, "email", "at most 128", id="email-too-long"),
    pytest.param({"uid": 7}, "uid", "must be a string", id="uid-not-string"),
    pytest.param({"properties": {"1st": 1}}, "properties.1st", "starts with a letter"),
    pytest.param({"properties": {"a-b": 1}}, "properties.a-b", "letters, digits"),
    pytest.param({"properties": {"plan": {"9x": 1}}}, "properties.plan.9x", "starts with"),
    pytest.param({"properties": {"tags": [{"a": 1}]}}, "properties.tags", "not objects"),
    pytest.param({"properties": {"mixed": [1, "a"]}}, "properties.mixed", "one type"),
    pytest.param({"properties": {f"p{i}": i for i in range(501)}}, "properties", "at most 500"),
    pytest.param({"properties": {"big": "x" * 8193}}, "properties.big", "8192 bytes"),
    pytest.param({"properties": {"a" * 513: 1}}, "properties." + "a" * 513, "512"),
    pytest.param(
        {"properties": {"at": dt.datetime(2024, 2, 1, 12, 30)}},
        "properties.at",
        "datetime.now(timezone.utc)",
        id="naive-datetime",
    ),
    pytest.param({"properties": {"x": math.nan}}, "properties.x", "NaN", id="nan"),
    pytest.param({"properties": {"x": math.inf}}, "properties.x", "Infinity", id="inf"),
    pytest.param({"properties": {"x": {1, 2}}}, "properties.x", "set is not", id="set"),
    pytest.param({"properties": {"x": object()}}, "properties.x", "object is not", id="object"),
    pytest.param({"properties": ["a"]}, "properties", "must be a dict", id="properties-list"),
    pytest.param(
        {"properties": {"n": "three"}, "schema": {"properties": {"n": "int"}}},
        "properties.n",
        "declared int",
        id="declared-type-misfit",
    ),
    pytest.param(
        {"schema": {"properties": {"n": "integer"}}},
        "schema.properties.n",
        "unknown type",
        id="unknown-declared-type",
    ),
    pytest.param(["uid"], "", "must be a dict", id="not-a-dict"),
]


@pytest.mark.parametrize(("given_user", "field", "reason"), BAD_USERS)
def test_bad_users(given_user: Any, field: str, reason: str) -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _inputs.user_request(given_user)
    assert info.value.field == field
    assert reason in str(info.value)


def test_batch_user_names_its_position() -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _inputs.batch_user_request({"uid": "u" * 257}, "requests[3]")
    assert info.value.field == "requests[3].uid"


GOOD_EVENTS = [
    pytest.param({"name": "Paid"}, {"name": "Paid"}, id="name-only"),
    pytest.param(
        {"name": "Paid", "user": {"uid": "u1"}, "session": {"use_most_recent": True}},
        {"name": "Paid", "user": {"uid": "u1"}, "session": {"use_most_recent": True}},
        id="most-recent-session-of-a-user",
    ),
    pytest.param(
        {"name": "Paid", "session": {"id": "406214335320288249:3829143070270885557"}},
        {"name": "Paid", "session": {"id": "406214335320288249:3829143070270885557"}},
        id="session-id",
    ),
    pytest.param(
        {"name": "Paid", "timestamp": dt.datetime(2024, 2, 1, 12, 30, tzinfo=PLUS_2)},
        {"name": "Paid", "timestamp": "2024-02-01T10:30:00.000Z"},
        id="aware-timestamp",
    ),
    pytest.param(
        {"name": "Paid", "timestamp": "2024-02-01T12:30:00Z", "user": None},
        {"name": "Paid", "timestamp": "2024-02-01T12:30:00Z"},
        id="iso-string-and-none-dropped",
    ),
    pytest.param(
        {"name": "Paid", "context": {"device": {"screen_width": 2**31 - 1}}},
        {"name": "Paid", "context": {"device": {"screen_width": 2**31 - 1}}},
        id="int32-max",
    ),
    pytest.param(
        CreateEventRequest.from_dict({"name": "Clicked", "user": {"uid": "u1"}}),
        {"name": "Clicked", "user": {"uid": "u1"}},
        id="model",
    ),
]


@pytest.mark.parametrize(("given_event", "sent"), GOOD_EVENTS)
def test_good_events(given_event: Any, sent: dict[str, Any]) -> None:
    assert _inputs.event_request(given_event) == sent


BAD_EVENTS = [
    pytest.param({}, "name", "events must have a non-empty name", id="no-name"),
    pytest.param({"name": ""}, "name", "events must have a non-empty name", id="empty-name"),
    pytest.param({"name": "x", "user": {"id": "1", "uid": "u"}}, "user", "not both", id="id+uid"),
    pytest.param(
        {"name": "x", "session": {"id": "s1"}, "user": {"uid": "u"}},
        "session.id",
        "do not also give user",
        id="session+user",
    ),
    pytest.param(
        {"name": "x", "session": {"id": "s1", "use_most_recent": True}},
        "session",
        "not both",
        id="session-id+most-recent",
    ),
    pytest.param(
        {"name": "x", "session": {"use_most_recent": True}},
        "session.use_most_recent",
        "needs exactly one",
        id="most-recent-without-user",
    ),
    pytest.param(
        {"name": "x", "context": {"device": {"screen_width": 2**31}}},
        "context.device.screen_width",
        "32 bits",
        id="int32-overflow",
    ),
    pytest.param(
        {"name": "x", "context": {"device": {"screen_width": True}}},
        "context.device.screen_width",
        "integer",
        id="bool-is-not-int",
    ),
    pytest.param(
        {"name": "x", "context": {"location": {"latitude": math.nan}}},
        "context.location.latitude",
        "NaN",
        id="nan-latitude",
    ),
    pytest.param(
        {"name": "x", "timestamp": dt.datetime(2024, 2, 1)},
        "timestamp",
        "naive",
        id="naive-timestamp",
    ),
    pytest.param({"name": "x", "timestamp": "yesterday"}, "timestamp", "ISO 8601"),
    pytest.param({"name": "x", "userId": "u1"}, "userId", "unknown field", id="camel-case"),
    pytest.param({"name": "x", "user": {"email": "a@b"}}, "user.email", "unknown field"),
]


@pytest.mark.parametrize(("given_event", "field", "reason"), BAD_EVENTS)
def test_bad_events(given_event: Any, field: str, reason: str) -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _inputs.event_request(given_event)
    assert info.value.field == field
    assert reason in str(info.value)


@pytest.mark.anyio
async def test_bad_input_is_refused_before_any_io(make: Callable[..., Harness]) -> None:
    h = make()
    err = await failure(
        FSInvalidArgumentError, lambda: h.fs.users.create({"uid": "u1", "displayName": "Ann"})
    )
    assert err.field == "displayName"
    assert h.server.seen == []


# ---- timestamps given as strings --------------------------------------------------------------

# The API takes an RFC 3339 date-time (``format: date-time``): the offset is not optional.
NAIVE_TIMESTAMPS = [
    "2024-02-01T12:30:00",
    "2024-02-01T12:30:00.250",
    "2024-02-01t12:30:00",
]
NO_OFFSET_HINT = "add Z or an offset like +02:00"


@pytest.mark.parametrize("naive", NAIVE_TIMESTAMPS)
def test_a_timestamp_string_needs_its_offset(naive: str) -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _inputs.timestamp(naive, "timestamp")
    assert info.value.field == "timestamp"
    assert "time zone" in str(info.value)
    assert NO_OFFSET_HINT in str(info.value)
    # The same instant with its offset goes through as it was written.
    for aware in (f"{naive}Z", f"{naive}+02:00", f"{naive}-05:30"):
        assert _inputs.timestamp(aware, "timestamp") == aware


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("yesterday", id="words"),
        pytest.param("2024-02-01", id="date-only"),
        pytest.param("2024-02-01T12:30:00UTC", id="zone-name"),
    ],
)
def test_a_timestamp_that_is_no_date_time_asks_for_one_with_a_time_zone(value: str) -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _inputs.timestamp(value, "timestamp")
    assert info.value.field == "timestamp"
    assert "must be an ISO 8601 date-time with a time zone" in str(info.value)
    assert NO_OFFSET_HINT not in str(info.value)  # the offset is not all that is missing


@pytest.mark.parametrize("naive", NAIVE_TIMESTAMPS)
def test_the_sdk_and_the_api_agree_on_the_offset(naive: str) -> None:
    """What the SDK lets through the API takes (the sandbox checks bodies against the spec)."""
    from session_analytics.sandbox import spec

    problem = spec.problem("fullstory", "CreateEventRequest", {"name": "x", "timestamp": naive})
    assert problem is not None
    assert "with a time zone" in problem
    for aware in (f"{naive}Z", f"{naive}+02:00"):
        body = {"name": "x", "timestamp": aware}
        assert spec.problem("fullstory", "CreateEventRequest", body) is None
        assert _inputs.event_request({"name": "x", "timestamp": aware})["timestamp"] == aware


@pytest.mark.anyio
async def test_create_refuses_a_naive_timestamp_string_before_any_io(
    make: Callable[..., Harness],
) -> None:
    h = make()
    err = await failure(
        FSInvalidArgumentError,
        lambda: h.fs.events.create({"name": "Late", "timestamp": "2024-01-01T00:00:00"}),
    )
    assert err.field == "timestamp"
    assert "time zone" in str(err)
    assert NO_OFFSET_HINT in str(err)
    assert h.server.seen == []


@pytest.mark.anyio
async def test_track_refuses_a_naive_timestamp_string_before_queueing(
    make: Callable[..., Harness],
) -> None:
    h = make()
    with pytest.raises(FSInvalidArgumentError) as info:
        h.fs.events.track("Late", user={"uid": "u1"}, timestamp="2024-01-01T00:00:00")
    assert info.value.field == "timestamp"
    assert NO_OFFSET_HINT in str(info.value)
    assert h.fs.stats().enqueued == 0
    assert h.server.seen == []


def test_import_refuses_naive_timestamp_strings_locally() -> None:
    source = [
        {"name": "e0", "timestamp": "2024-01-01T00:00:00Z"},
        {"name": "e1", "timestamp": "2024-01-01T00:00:00"},
        {"name": "e2", "timestamp": "2024-01-01T02:00:00+02:00"},
    ]
    fake = FakeJobs("events", limit=4)
    drive = Driver("events", create=fake.create, status=fake.status)
    result = drive.run(importer("events", source, chunk_size=10).flow())
    [create] = drive.requests("create")
    assert create.kwargs["body"].to_dict()["requests"] == [source[0], source[2]]
    assert [(f.index, f.code, f.job_id, f.item) for f in result.failed] == [
        (1, "invalid_argument", None, source[1])
    ]
    assert "items[1].timestamp" in result.failed[0].message
    assert NO_OFFSET_HINT in result.failed[0].message
    assert (result.read, result.submitted, result.imported, result.failed_count) == (3, 2, 2, 1)


def test_a_batch_job_refuses_a_naive_timestamp_string() -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _requests.prepare_item(
            "events", {"name": "e", "timestamp": "2024-01-01T00:00:00"}, "requests[4]"
        )
    assert info.value.field == "requests[4].timestamp"
    assert NO_OFFSET_HINT in str(info.value)


# ---- flows driven by hand ---------------------------------------------------------------------

OPERATIONS = {
    "users": {
        "create_batch_user_import_job": "create",
        "get_batch_user_import_status": "status",
        "get_batch_user_imports": "imports",
        "get_batch_user_import_errors": "errors",
    },
    "events": {
        "create_batch_events_import_job": "create",
        "get_batch_events_import_status": "status",
        "get_batch_events_imports": "imports",
        "get_batch_events_import_errors": "errors",
    },
}
Answers = list[Any] | Callable[[Call[Any]], Any]


class Driver:
    """Drives a flow by hand: answers each Request from a script (by role: create, status,
    imports, errors) and records every step as ("create"), ("sleep", s) or ("emit", event)."""

    def __init__(self, kind: _requests.Kind, **answers: Answers) -> None:
        self.kind = kind
        self.answers = {role: a if callable(a) else list(a) for role, a in answers.items()}
        self.steps: list[tuple[Any, ...]] = []
        self.calls: list[tuple[str, Call[Any]]] = []
        self.emits: list[Emit] = []

    def _answer(self, call: Call[Any]) -> Any:
        operation = call.operation.__name__.rsplit(".", 1)[-1]
        role = OPERATIONS[self.kind].get(operation)
        if role is None:
            pytest.fail(f"a {self.kind} flow called {operation}")
        self.steps.append((role,))
        self.calls.append((role, call))
        source = self.answers.get(role)
        if callable(source):
            return source(call)
        if not source:
            pytest.fail(f"no answer left for {role}")
        return source.pop(0)

    def run(self, flow: Flow[Any]) -> Any:
        outcome: Any = None
        while True:
            try:
                step = flow.send(outcome)
            except StopIteration as stop:
                return stop.value
            outcome = None
            if isinstance(step, Request):
                outcome = self._answer(step.call)
            elif isinstance(step, Sleep):
                self.steps.append(("sleep", step.seconds))
            else:
                self.steps.append(("emit", step.event))
                self.emits.append(step)

    def emitted(self, event: str) -> list[tuple[Any, ...]]:
        return [emit.args for emit in self.emits if emit.event == event]

    def requests(self, role: str) -> list[Call[Any]]:
        return [call for each, call in self.calls if each == role]

    @property
    def sleeps(self) -> list[float]:
        return [step[1] for step in self.steps if step[0] == "sleep"]


def ok(body: Any) -> ApiResponse[Any]:
    return ApiResponse(body=body, http_status_code=200, http_headers=httpx.Headers())


def job(state: str = "PROCESSING", job_id: str = "j1") -> dict[str, Any]:
    return {"id": job_id, "status": state, "created": "2024-02-01T12:00:00Z"}


def created(kind: _requests.Kind = "users", job_id: str = "j1") -> ApiResponse[Any]:
    model = (
        CreateBatchUserImportJobResponse if kind == "users" else CreateBatchEventsImportJobResponse
    )
    return ok(model.from_dict({"job": job(job_id=job_id)}))


def status(
    state: str, *, imports: int = 0, errors: int | None = None, job_id: str = "j1"
) -> ApiResponse[JobStatusResponse]:
    body: dict[str, Any] = {"job": job(state, job_id), "imports": imports}
    if errors is not None:
        body["errors"] = errors
    return ok(JobStatusResponse.from_dict(body))


def imports_page(
    kind: _requests.Kind, names: list[str], token: str | None = None
) -> ApiResponse[Any]:
    if kind == "users":
        results: list[Any] = [{"id": f"fs-{name}", "uid": name} for name in names]
        model: Any = GetBatchUserImportsResponse
    else:
        results, model = [{"name": name} for name in names], GetBatchEventsImportsResponse
    body = {"results": results, "total_records": str(len(names))}
    if token:
        body["next_page_token"] = token
    return ok(model.from_dict(body))


def echo(kind: _requests.Kind, name: str) -> dict[str, Any]:
    """A failed item as the API echoes it back."""
    return {"user": {"uid": name}} if kind == "users" else {"event": {"name": name}}


def errors_page(
    kind: _requests.Kind, names: list[str], token: str | None = None
) -> ApiResponse[Any]:
    results = [
        {"code": "invalid_argument", "message": f"{name} is bad", **echo(kind, name)}
        for name in names
    ]
    model: Any = (
        GetBatchUserImportErrorsResponse if kind == "users" else GetBatchEventsImportErrorsResponse
    )
    body: dict[str, Any] = {"results": results, "total_records": str(len(names))}
    if token:
        body["next_page_token"] = token
    return ok(model.from_dict(body))


def items(kind: _requests.Kind, count: int) -> list[dict[str, Any]]:
    if kind == "users":
        return [{"uid": f"u{i}"} for i in range(count)]
    return [{"name": f"e{i}", "user": {"uid": f"u{i}"}} for i in range(count)]


def new_job(
    kind: _requests.Kind = "users",
    count: int = 2,
    *,
    poll_interval: float = 1.0,
    max_retry: int = 3,
) -> _JobCore[Any, Any]:
    options = BatchJobOptions(poll_interval=poll_interval, max_retry=max_retry)
    return _JobCore(
        kind, items(kind, count), shared_context=None, include_schema=False, options=options
    )


def detached_job() -> BatchJob[Any, Any]:
    """A BatchJob without a client: its flow is driven by hand, never by its thread."""
    return BatchJob(
        cast(Any, None),
        "users",
        items("users", 1),
        shared_context=None,
        include_schema=False,
        options=None,
    )


def server_error() -> FSServerError:
    return FSServerError("GET answered 503", http_status_code=503)


# ---- job flow ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["users", "events"])
def test_job_lifecycle(kind: _requests.Kind) -> None:
    batch = new_job(kind, poll_interval=1.5)
    drive = Driver(
        kind,
        create=[created(kind)],
        status=[status("PROCESSING"), status("COMPLETED", imports=3)],
        imports=[imports_page(kind, ["a", "b"], "p2"), imports_page(kind, ["c"])],
        errors=[errors_page(kind, [])],
    )
    assert drive.run(batch.flow()) is None
    assert drive.steps == [
        ("create",),
        ("emit", "created"),
        ("sleep", 1.5),
        ("status",),
        ("emit", "processing"),
        ("sleep", 1.5),
        ("status",),
        ("imports",),
        ("imports",),
        ("errors",),
        ("emit", "done"),
    ]
    [create] = drive.requests("create")
    assert create.kwargs["body"].to_dict()["requests"] == items(kind, 2)
    assert create.kwargs["idempotency_key"] == batch._key
    assert [call.kwargs["page_token"] for call in drive.requests("imports")] == [UNSET, "p2"]
    assert drive.requests("status")[0].max_retries == 0  # polls count failures themselves
    [(metadata,)] = drive.emitted("created")
    assert metadata.id == "j1"
    assert drive.emitted("processing") == [(batch,)]
    [(imported, failed)] = drive.emitted("done")
    assert len(imported) == 3
    assert failed == []
    assert batch.id == "j1"
    assert batch.status is JobStatus.COMPLETED
    result = batch._result()
    assert (result.job_id, result.imports_count, result.errors_count) == ("j1", 3, 0)


def test_failed_job_collects_imports_and_errors() -> None:
    batch = new_job()
    drive = Driver(
        "users",
        create=[created()],
        status=[status("FAILED", imports=1, errors=2)],
        imports=[imports_page("users", ["a"])],
        errors=[errors_page("users", ["b"], "e2"), errors_page("users", ["c"])],
    )
    drive.run(batch.flow())
    [(imported, failed)] = drive.emitted("done")
    assert [item.uid for item in imported] == ["a"]
    assert [item.user.uid for item in failed] == ["b", "c"]
    assert [item.code for item in failed] == ["invalid_argument"] * 2
    result = batch._result()
    assert result.status is JobStatus.FAILED
    assert (result.imports_count, result.errors_count) == (1, 2)
    assert len(result.imported) == 1
    assert len(result.failed) == 2


def test_a_good_poll_resets_the_failure_count() -> None:
    batch = new_job(max_retry=3)
    drive = Driver(
        "users",
        create=[created()],
        status=[
            server_error(),
            server_error(),
            status("PROCESSING"),
            server_error(),
            server_error(),
            status("COMPLETED", imports=2),
        ],
        imports=[imports_page("users", ["a", "b"])],
        errors=[errors_page("users", [])],
    )
    drive.run(batch.flow())
    assert drive.sleeps == [1.0, 2.0, 4.0, 1.0, 2.0, 4.0]
    assert len(drive.emitted("error")) == 4
    assert drive.emitted("abort") == []
    assert len(drive.emitted("done")) == 1


@pytest.mark.parametrize("max_retry", [1, 3])
def test_max_retry_failed_polls_abort_the_job(max_retry: int) -> None:
    batch = new_job(max_retry=max_retry)
    failures = [server_error() for _ in range(max_retry)]
    drive = Driver("users", create=[created()], status=list(failures))
    drive.run(batch.flow())
    assert drive.steps[-2:] == [("emit", "error"), ("emit", "abort")]
    errors = [args[0] for args in drive.emitted("error")]
    assert errors[:-1] == failures
    gave_up = errors[-1]
    assert isinstance(gave_up, FSMaxRetryError)
    assert gave_up.last_error is failures[-1]
    assert gave_up.retries_taken == max_retry
    assert gave_up.__cause__ is failures[-1]
    assert drive.emitted("abort") == [([*failures, gave_up],)]
    assert drive.emitted("done") == []
    with pytest.raises(FSMaxRetryError):
        batch._result()


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [(7.0, 7.0), (None, 2.0), (0.5, 2.0), (3600.0, 60.0)],
)
def test_rate_limited_poll_waits_as_asked(retry_after: float | None, wait: float) -> None:
    batch = new_job()
    limited = FSRateLimitedError("slow down", retry_after=retry_after, http_status_code=429)
    drive = Driver(
        "users",
        create=[created()],
        status=[limited, status("COMPLETED")],
        imports=[imports_page("users", [])],
        errors=[errors_page("users", [])],
    )
    drive.run(batch.flow())
    assert drive.sleeps == [1.0, wait]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(FSNotFoundError("no such job", http_status_code=404), id="404"),
        pytest.param(FSUnauthorizedError("who", http_status_code=401), id="401"),
        pytest.param(FSForbiddenError("no", http_status_code=403), id="403"),
        pytest.param(FSParseError("unreadable", http_status_code=200), id="parse"),
    ],
)
def test_unfixable_poll_failure_aborts_at_once(error: FSError) -> None:
    batch = new_job(max_retry=3)
    drive = Driver("users", create=[created()], status=[error])
    drive.run(batch.flow())
    assert drive.steps[2:] == [
        ("sleep", 1.0),
        ("status",),
        ("emit", "error"),
        ("emit", "abort"),
    ]
    assert drive.emitted("abort") == [([error],)]


def test_refused_create_aborts() -> None:
    batch = new_job()
    refused = FSBadRequestError("too many items", http_status_code=400)
    drive = Driver("users", create=[refused])
    drive.run(batch.flow())
    assert drive.steps == [("create",), ("emit", "error"), ("emit", "abort")]
    assert batch.id is None


def test_results_not_ready_are_waited_for() -> None:
    batch = new_job(max_retry=2)
    pending = ok(JobResultsPending.from_dict({}))
    drive = Driver(
        "users",
        create=[created()],
        status=[status("COMPLETED", imports=1)],
        imports=[pending, pending, imports_page("users", ["a"])],
        errors=[errors_page("users", [])],
    )
    drive.run(batch.flow())
    assert drive.steps[4:] == [
        ("imports",),
        ("sleep", 1.0),
        ("imports",),
        ("sleep", 1.0),
        ("imports",),
        ("errors",),
        ("emit", "done"),
    ]
    [(imported, _)] = drive.emitted("done")
    assert len(imported) == 1


def listener(*args: Any) -> None:
    """A listener that does nothing; compared by identity."""


def test_late_listeners_get_what_they_missed() -> None:
    batch = new_job()
    assert batch._register("done", listener) == []
    assert batch._register("created", listener) == []
    drive = Driver(
        "users",
        create=[created()],
        status=[server_error(), status("COMPLETED", imports=1)],
        imports=[imports_page("users", ["a"])],
        errors=[errors_page("users", [])],
    )
    drive.run(batch.flow())
    done = [emit for emit in drive.emits if emit.event == "done"]
    assert [list(emit.listeners) for emit in done] == [[listener]]
    [(imported, failed)] = batch._register("done", listener)
    assert [item.uid for item in imported] == ["a"]
    assert failed == []
    assert batch._register("created", listener) == drive.emitted("created")
    assert drive.emitted("created")[0][0].status is JobStatus.PROCESSING
    [(error,)] = batch._register("error", listener)
    assert isinstance(error, FSServerError)
    assert batch._register("abort", listener) == []
    assert batch._register("processing", listener) == []


def test_late_abort_listener() -> None:
    batch = new_job()
    gone = FSNotFoundError("no such job", http_status_code=404)
    Driver("users", create=[created()], status=[gone]).run(batch.flow())
    assert batch._register("abort", listener) == [([gone],)]
    assert batch._register("error", listener) == [(gone,)]
    assert batch._register("done", listener) == []


def test_batch_job_calls_a_late_listener_at_once() -> None:
    batch = detached_job()
    Driver(
        "users",
        create=[created()],
        status=[status("COMPLETED", imports=1)],
        imports=[imports_page("users", ["a"])],
        errors=[errors_page("users", [])],
    ).run(batch.flow())
    heard: list[tuple[Any, ...]] = []
    batch.on("done", lambda *args: heard.append(args))
    batch.on("created", lambda *args: heard.append(args))
    assert len(heard) == 2
    assert [item.uid for item in heard[0][0]] == ["a"]
    assert heard[1][0].id == "j1"


def test_unknown_event_is_refused() -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        new_job()._register("finished", listener)
    assert info.value.field == "event"


def test_add_after_execute_is_refused() -> None:
    batch = new_job()
    batch._start(None, restart=False)  # what execute() does
    with pytest.raises(FSInvalidArgumentError, match="already executed"):
        batch._add(items("users", 1))
    assert len(batch.requests) == 2


def test_add_after_the_job_was_created_is_refused() -> None:
    batch = detached_job()
    Driver("users", create=[created()], status=[FSNotFoundError("x", http_status_code=404)]).run(
        batch.flow()
    )
    with pytest.raises(FSInvalidArgumentError, match="already executed"):
        batch.add({"uid": "late"})
    assert len(batch.requests) == 1


def test_a_job_holds_at_most_50000_items() -> None:
    full = new_job(count=50_000)
    assert len(full.requests) == 50_000
    with pytest.raises(FSInvalidArgumentError, match="at most 50000") as info:
        full._add([{"uid": "one-more"}])
    assert info.value.field == "requests"
    assert len(full.requests) == 50_000
    with pytest.raises(FSInvalidArgumentError, match="at most 50000"):
        new_job(count=50_001)


def test_job_items_are_checked_when_added() -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _JobCore(
            "users",
            [{"uid": "ok"}, {"displayName": "Ann"}],
            shared_context=None,
            include_schema=False,
            options=None,
        )
    assert info.value.field == "requests[1].displayName"


# ---- import flow ------------------------------------------------------------------------------


def importer(
    kind: _requests.Kind,
    source: list[Any],
    *,
    chunk_size: int,
    jobs_in_flight: int = 4,
    max_retry: int = 3,
    **listeners: Any,
) -> _Importer:
    return _Importer(
        kind,
        source,
        shared_context=None,
        options=BatchJobOptions(poll_interval=1.0, max_retry=max_retry),
        jobs_in_flight=jobs_in_flight,
        chunk_size=chunk_size,
        on_progress=listeners.get("on_progress"),
        on_failed=listeners.get("on_failed"),
        on_imported=listeners.get("on_imported"),
        include_schema=False,
    )


class FakeJobs:
    """Creates a job for every create and reports it COMPLETED, all imported, at its first poll;
    checks that no more than ``limit`` jobs are ever running."""

    def __init__(self, kind: _requests.Kind, limit: int) -> None:
        self.kind = kind
        self.limit = limit
        self.sizes: dict[str, int] = {}
        self.running = 0

    def create(self, call: Call[Any]) -> ApiResponse[Any]:
        job_id = f"j{len(self.sizes) + 1}"
        self.sizes[job_id] = len(call.kwargs["body"].to_dict()["requests"])
        self.running += 1
        assert self.running <= self.limit
        return created(self.kind, job_id)

    def status(self, call: Call[Any]) -> ApiResponse[Any]:
        self.running -= 1
        job_id = call.kwargs["job_id"]
        return status("COMPLETED", imports=self.sizes[job_id], job_id=job_id)


def test_import_sends_chunks_with_jobs_in_flight_at_most() -> None:
    fake = FakeJobs("users", limit=2)
    drive = Driver("users", create=fake.create, status=fake.status)
    result = drive.run(importer("users", items("users", 5), chunk_size=2, jobs_in_flight=2).flow())
    roles = [step[0] for step in drive.steps if step[0] != "emit"]
    assert roles == ["create", "create", "sleep", "status", "status", "create", "sleep", "status"]
    bodies = [call.kwargs["body"].to_dict()["requests"] for call in drive.requests("create")]
    assert bodies == [items("users", 5)[0:2], items("users", 5)[2:4], items("users", 5)[4:]]
    keys = [call.kwargs["idempotency_key"] for call in drive.requests("create")]
    assert len(set(keys)) == 3
    assert (result.read, result.submitted, result.imported, result.failed_count) == (5, 5, 5, 0)
    assert result.job_ids == ["j1", "j2", "j3"]
    assert result.ok


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param(
            lambda: FSRateLimitedError("busy", retry_after=5.0, http_status_code=429), id="429"
        ),
        pytest.param(
            lambda: FSMaxRetryError(
                "gave up",
                last_error=FSRateLimitedError("busy", retry_after=5.0, http_status_code=429),
                retries_taken=3,
            ),
            id="429-after-retries",
        ),
    ],
)
def test_busy_create_waits_and_reuses_its_key(refusal: Callable[[], FSError]) -> None:
    fake = FakeJobs("events", limit=4)
    answers = [refusal(), fake.create, fake.create]

    def create(call: Call[Any]) -> Any:
        answer = answers.pop(0)
        return answer(call) if callable(answer) else answer

    drive = Driver("events", create=create, status=fake.status)
    result = drive.run(importer("events", items("events", 2), chunk_size=1).flow())
    assert drive.steps[:3] == [("create",), ("sleep", 5.0), ("create",)]
    calls = drive.requests("create")
    keys = [call.kwargs["idempotency_key"] for call in calls]
    assert keys[0] == keys[1]
    assert keys[2] != keys[1]
    bodies = [call.kwargs["body"].to_dict()["requests"] for call in calls]
    assert bodies[0] == bodies[1] == items("events", 2)[:1]
    assert (result.submitted, result.imported) == (2, 2)


def test_unfixable_create_failure_stops_the_import() -> None:
    refused = FSForbiddenError("no", http_status_code=403)
    drive = Driver("users", create=[refused])
    with pytest.raises(FSForbiddenError):
        drive.run(importer("users", items("users", 3), chunk_size=2).flow())
    assert drive.steps == [("create",)]


def test_invalid_items_are_reported_not_sent() -> None:
    source = [{"uid": "a"}, {"displayName": "x"}, {"uid": "b"}, {"uid": "u" * 257}]
    fake = FakeJobs("users", limit=4)
    drive = Driver("users", create=fake.create, status=fake.status)
    result = drive.run(importer("users", source, chunk_size=10).flow())
    [create] = drive.requests("create")
    assert create.kwargs["body"].to_dict()["requests"] == [{"uid": "a"}, {"uid": "b"}]
    assert [(f.index, f.code, f.job_id, f.item) for f in result.failed] == [
        (1, "invalid_argument", None, {"displayName": "x"}),
        (3, "invalid_argument", None, {"uid": "u" * 257}),
    ]
    assert "items[1].displayName" in result.failed[0].message
    assert (result.read, result.submitted, result.imported, result.failed_count) == (4, 2, 2, 2)
    assert not result.ok


def test_server_failures_are_named_with_their_job() -> None:
    drive = Driver(
        "users",
        create=[created()],
        status=[status("PROCESSING"), status("FAILED", imports=2, errors=2)],
        errors=[errors_page("users", ["c"], "e2"), errors_page("users", ["d"])],
    )
    source = [*items("users", 4), {"uid": 5}]
    result = drive.run(importer("users", source, chunk_size=10).flow())
    assert [(f.job_id, f.index, f.code, f.item) for f in result.failed[1:]] == [
        ("j1", None, "invalid_argument", {"uid": "c"}),
        ("j1", None, "invalid_argument", {"uid": "d"}),
    ]
    assert result.failed[0].index == 4
    assert drive.requests("imports") == []  # counts come from the status
    assert (result.read, result.submitted, result.imported, result.failed_count) == (5, 4, 2, 3)
    assert result.read == result.submitted + 1
    assert result.submitted == result.imported + 2
    assert result.job_ids == ["j1"]


def test_listeners_take_failures_and_imported_items() -> None:
    heard: dict[str, list[Any]] = {"failed": [], "imported": [], "progress": []}
    drive = Driver(
        "users",
        create=[created()],
        status=[status("FAILED", imports=1, errors=1)],
        imports=[imports_page("users", ["a"])],
        errors=[errors_page("users", ["b"])],
    )
    flow = importer(
        "users",
        [{"uid": "a"}, {"uid": "b"}, {"bad": 1}],
        chunk_size=10,
        on_failed=heard["failed"].append,
        on_imported=heard["imported"].append,
        on_progress=heard["progress"].append,
    ).flow()
    result = drive.run(flow)
    for emit in drive.emits:
        for each in emit.listeners:
            each(*emit.args)
    assert result.failed == []  # on_failed took them
    assert result.failed_count == 2
    assert result.imported == 1
    assert [[f.index for f in batch] for batch in heard["failed"]] == [[2], [None]]
    assert [[i.uid for i in batch] for batch in heard["imported"]] == [["a"]]
    assert heard["progress"][-1].imported == 1
    assert heard["progress"][-1].failed == 2


def test_failed_polls_stop_the_import() -> None:
    drive = Driver("users", create=[created()], status=[server_error() for _ in range(3)])
    with pytest.raises(FSMaxRetryError) as info:
        drive.run(importer("users", items("users", 1), chunk_size=1).flow())
    assert isinstance(info.value.last_error, FSServerError)
    assert info.value.retries_taken == 3


def test_import_rate_limited_poll_waits_as_asked() -> None:
    limited = FSRateLimitedError("slow down", retry_after=7.0, http_status_code=429)
    drive = Driver("users", create=[created()], status=[limited, status("COMPLETED", imports=1)])
    drive.run(importer("users", items("users", 1), chunk_size=1).flow())
    assert drive.sleeps[0] == 1.0
    assert drive.sleeps[1] >= 7.0


def test_import_results_not_ready_are_not_read_as_empty() -> None:
    pending = ok(JobResultsPending.from_dict({}))
    drive = Driver(
        "users",
        create=[created()],
        status=[status("FAILED", imports=0, errors=1)],
        errors=[pending, errors_page("users", ["a"])],
    )
    result = drive.run(importer("users", items("users", 1), chunk_size=1).flow())
    assert result.failed_count == 1
    assert [f.item for f in result.failed] == [{"uid": "a"}]


@settings(max_examples=60, deadline=None)
@given(
    valid=st.lists(st.booleans(), max_size=25),
    chunk_size=st.integers(min_value=1, max_value=6),
    jobs_in_flight=st.integers(min_value=1, max_value=3),
)
def test_import_numbers_add_up(valid: list[bool], chunk_size: int, jobs_in_flight: int) -> None:
    source = [{"uid": f"u{i}"} if ok_ else {"uid": i} for i, ok_ in enumerate(valid)]
    fake = FakeJobs("users", limit=jobs_in_flight)
    drive = Driver("users", create=fake.create, status=fake.status)
    result = drive.run(
        importer("users", source, chunk_size=chunk_size, jobs_in_flight=jobs_in_flight).flow()
    )
    sent = [call.kwargs["body"].to_dict()["requests"] for call in drive.requests("create")]
    assert all(1 <= len(chunk) <= chunk_size for chunk in sent)
    assert [item for chunk in sent for item in chunk] == [
        item for item, ok_ in zip(source, valid, strict=True) if ok_
    ]
    assert result.read == len(valid)
    assert result.submitted == result.imported == sum(valid)
    assert result.failed_count == len(valid) - sum(valid)
    assert [f.index for f in result.failed] == [i for i, ok_ in enumerate(valid) if not ok_]
    assert all(isinstance(f, ImportFailure) for f in result.failed)
    assert fake.running == 0
