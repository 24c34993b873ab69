"""The error classes: one hierarchy, the Node SDK's names, no key in any message or repr."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scripted_http import Harness, failure, reply

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
    is_fs_error,
)

KEY = "sk-test-SECRET-123"
ERROR_BODY = {"code": "some_code", "message": "some message"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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
