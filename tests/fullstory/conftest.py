"""Fixtures for the FullStory client tests: each behaviour is written once and runs on both
FullStory and AsyncFullStory.

The ``fs`` fixture is parametrized: ``sync`` gives a real FullStory; ``async`` gives an
AsyncFullStory living on an event loop in a background thread, wrapped so that a test can call it
like the sync one (every call runs on that loop; coroutines are awaited, async iterators are
collected into lists, and objects from the SDK come back wrapped the same way). Both talk HTTP to
the real sandbox (the `sandbox` fixture of the package's pytest plugin), over loopback.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from scripted_http import make_fixture  # noqa: F401 - ``make``, for the call, settings and input tests

from session_analytics._retry import RetryPolicy
from session_analytics.fullstory import AsyncFullStory, FullStory
from session_analytics.sandbox import Sandbox

CALL_TIMEOUT_S = 120.0
# Retries in tests wait milliseconds, not seconds; Retry-After still sets a floor.
FAST_RETRIES = {"initial_delay_s": 0.001, "max_delay_s": 0.01}


class LoopThread:
    """An asyncio loop running in a daemon thread, for driving the async client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-loop", daemon=True)
        self._thread.start()

    def run(self, make: Callable[[], Any]) -> Any:
        async def call() -> Any:
            result = make()
            if inspect.isawaitable(result):
                result = await result
            if hasattr(result, "__aiter__"):
                result = [item async for item in result]
            return result

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(CALL_TIMEOUT_S)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class Synced:
    """Calls an async SDK object as if it were the sync one."""

    def __init__(self, target: Any, loop: LoopThread) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if callable(value) and not isinstance(value, type):

            def call(*args: Any, **kwargs: Any) -> Any:
                return self._wrap(self._loop.run(lambda: value(*args, **kwargs)))

            return call
        return self._wrap(value)

    def _wrap(self, value: Any) -> Any:
        kind = type(value)
        if kind.__module__.startswith("session_analytics.fullstory") and kind.__name__.startswith(
            "Async"
        ):
            return Synced(value, self._loop)
        return value

    def __repr__(self) -> str:
        return f"Synced({self._target!r})"


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture(params=["sync", "async"])
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_fs(flavor: str, sandbox: Sandbox, loop_thread: LoopThread) -> Iterator[Callable[..., Any]]:
    """Build a client of this test's flavor; keyword arguments go to the constructor.

    ``fast_retries=True`` (the default) keeps retry waits in milliseconds.
    """
    made: list[Any] = []

    def make(*, fast_retries: bool = True, **kwargs: Any) -> Any:
        kwargs.setdefault("api_key", sandbox.api_key)
        kwargs.setdefault("base_url", sandbox.url)
        if fast_retries and "retry_policy" not in kwargs:
            kwargs["retry_policy"] = RetryPolicy(
                max_retries=kwargs.get("max_retries", 3), **FAST_RETRIES
            )
        if flavor == "sync":
            client: Any = FullStory(**kwargs)
            made.append(client)
            return client
        async_client = loop_thread.run(lambda: AsyncFullStory(**kwargs))
        made.append(async_client)
        return Synced(async_client, loop_thread)

    yield make
    for client in made:
        if isinstance(client, FullStory):
            client.close()
        else:
            loop_thread.run(client.aclose)


@pytest.fixture
def fs(make_fs: Callable[..., Any]) -> Any:
    """A FullStory or (wrapped) AsyncFullStory client pointed at a fresh sandbox."""
    return make_fs()
