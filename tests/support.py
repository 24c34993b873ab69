"""Helpers the test files share.

Waiting without a fixed sleep: ``wait_until`` and ``await_until`` poll a probe until it holds;
``wait_child`` reaps a forked child and kills it if it hangs. Each fails the test at its
deadline, naming what it waited for.

The command line: ``cli`` runs the ``session-analytics`` executable with an environment of the
test's own (``base_env``, or ``sandbox_env`` pointing FullStory at a sandbox).

``Collected`` is an ``on_error`` listener that keeps what it is given. ``track_bytes`` and
``smartlook_bytes`` make an event's queued payload as the call sites do, every argument not
given left at its default.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from session_analytics.sandbox import Sandbox

EXE = Path(sys.executable).parent / "session-analytics"
CLI_TIMEOUT_S = 120.0
# Every variable the CLI (or the SDK under it) reads; the tests set the ones they want.
OWN_VARIABLES = ("FULLSTORY_API_KEY", "FULLSTORY_BASE_URL", "SMARTLOOK_KEY", "SMARTLOOK_HOST")


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


# ---- the command line -----------------------------------------------------------------------


def base_env() -> dict[str, str]:
    """This process's environment without the SDK's own variables."""
    env = {k: v for k, v in os.environ.items() if k not in OWN_VARIABLES}
    env["COLUMNS"] = "120"  # argparse and rich wrap at this width, whatever the terminal
    return env


def sandbox_env(sandbox: Sandbox) -> dict[str, str]:
    """``base_env()`` with FullStory pointed at ``sandbox``."""
    return {**base_env(), "FULLSTORY_API_KEY": sandbox.api_key, "FULLSTORY_BASE_URL": sandbox.url}


def cli(
    *args: str,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = CLI_TIMEOUT_S,
    cwd: Path | None = None,
) -> tuple[int, str, str]:
    """Run ``session-analytics ARGS``; return (exit code, stdout, stderr)."""
    done = subprocess.run(
        [str(EXE), *args],
        env=env if env is not None else base_env(),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def assert_no_traceback(*outputs: str) -> None:
    for output in outputs:
        assert "Traceback" not in output
        assert 'File "' not in output


# ---- listeners --------------------------------------------------------------------------------


class Collected:
    """An ``on_error`` listener that keeps what it is given (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[list[dict[str, Any]], BaseException]] = []

    def __call__(self, events: list[dict[str, Any]], error: BaseException) -> None:
        with self._lock:
            self.calls.append((events, error))

    @property
    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [event for events, _ in self.calls for event in events]

    @property
    def errors(self) -> list[BaseException]:
        with self._lock:
            return [error for _, error in self.calls]


# ---- payloads -----------------------------------------------------------------------------------


def track_bytes(**given: Any) -> bytes:
    """What ``track()`` queues for an event "Paid" with the arguments given, the rest None."""
    from session_analytics.fullstory._track import track_payload

    args: dict[str, Any] = {
        "name": "Paid",
        "user": None,
        "session": None,
        "properties": None,
        "context": None,
        "timestamp": None,
        "schema": None,
    }
    return track_payload(**{**args, **given})


def smartlook_bytes(**given: Any) -> bytes:
    """What ``event()`` queues for a custom event "signup" of visitor v1, with ``given``."""
    from session_analytics.smartlook._events import event_payload

    args: dict[str, Any] = {
        "vid": "v1",
        "name": "signup",
        "value": None,
        "props": None,
        "sid": None,
        "event_type": "custom",
    }
    return event_payload(**{**args, **given})
