"""Helpers the test files share: waiting for a condition without a fixed sleep.

``wait_until`` and ``await_until`` poll a probe until it holds; ``wait_child`` reaps a forked
child and kills it if it hangs. Each fails the test at its deadline, naming what it waited for.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from typing import Any


def wait_until(
    probe: Callable[[], Any],
    *,
    timeout: float = 5.0,
    what: str = "the condition",
    interval: float = 0.01,
) -> Any:
    """Poll ``probe`` until it returns something truthy and return that value.

    At the deadline (``probe`` is asked once more then) raise AssertionError naming ``what``.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


async def await_until(
    probe: Callable[[], Any],
    *,
    timeout: float = 5.0,
    what: str = "the condition",
    interval: float = 0.01,
) -> Any:
    """``wait_until`` for a coroutine: the event loop runs on while ``probe`` does not hold."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(interval)


def wait_child(pid: int, timeout: float = 20.0) -> int:
    """The exit code of the forked child ``pid``.

    A child still running at the deadline is killed and reaped, so that no process outlives the
    test, and the test fails.
    """

    def exited() -> tuple[int] | None:
        # A tuple, so that exit code 0 still counts as an answer.
        done, status = os.waitpid(pid, os.WNOHANG)
        return (os.waitstatus_to_exitcode(status),) if done else None

    try:
        (code,) = wait_until(
            exited, timeout=timeout, what=f"the forked child {pid} to exit", interval=0.02
        )
    except AssertionError:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    return int(code)
