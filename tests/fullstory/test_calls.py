"""A FullStory call over a scripted HTTP transport (``httpx.MockTransport``, an injected sleep, a
pinned jitter), sync and async: retries and idempotency keys in the retrying transport, and the
mapping of every answer or exception to a result or an error. Nothing sleeps or opens a socket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scripted_http import Harness, Server, close, failure, new_client, policy, reply, resolve, send

from fullstory_api.api.users import create_user
from fullstory_api.models import (
    CreateUserRequest,
    CreateUserResponse,
    JobResultsPending,
)
from session_analytics._batching import Failed
from session_analytics._retry import maybe_delivered
from session_analytics._transport import CallScope
from session_analytics.errors import (
    FSApiError,
    FSBadRequestError,
    FSConnectionError,
    FSError,
    FSErrorName,
    FSForbiddenError,
    FSIdempotencyKeyReusedError,
    FSMaxRetryError,
    FSNotFoundError,
    FSParseError,
    FSRateLimitedError,
    FSServerError,
    FSTimeoutError,
    FSUnauthorizedError,
)
from session_analytics.fullstory import (
    FullStory,
    _requests,
)
from session_analytics.fullstory._calls import Call, describe
from session_analytics.fullstory._track import send_outcome as track_outcome
from session_analytics.smartlook._sender import send_outcome as smartlook_send_outcome

BASE = "https://api.example.test"
KEY = "sk-test-SECRET-123"
USER = {"id": "fs-1"}
ERROR_BODY = {"code": "some_code", "message": "some message"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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
