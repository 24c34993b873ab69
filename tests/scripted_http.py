"""A FullStory client over a scripted HTTP server (``httpx.MockTransport``), sync or async,
with an injected sleep and a pinned jitter: the harness of the call, settings, input and error
tests. ``make`` is a fixture (tests/fullstory/conftest.py offers it to the FullStory tests)."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import httpx
import pytest

from session_analytics._retry import RetryPolicy
from session_analytics.fullstory import (
    AsyncFullStory,
    FullStory,
)
from session_analytics.fullstory._calls import Call, run_async, run_sync

BASE = "https://api.example.test"
KEY = "sk-test-SECRET-123"


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


@pytest.fixture(name="make")
async def make_fixture(flavor: str, anyio_backend: str) -> AsyncIterator[Callable[..., Harness]]:
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
