"""The batcher's time source: monotonic time and the waits measured by it (the flush interval,
retry back-off, flush and stop deadlines). ``Clock`` is real time; ``ManualClock`` moves only
when told, so a test drives the batcher's timing without depending on how fast the machine is."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio


class Clock:
    """Real time: ``time.monotonic``, and the waits of threading and asyncio.

    Every wait may return early (a notification, a set event): the waiter looks again."""

    __slots__ = ()

    now = staticmethod(time.monotonic)

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        """Wait on ``condition`` (its lock held) until notified or ``timeout`` seconds pass."""
        condition.wait(timeout)

    async def wait_event(self, event: asyncio.Event, timeout: float | None) -> None:
        """Wait until ``event`` is set or ``timeout`` seconds pass."""
        import asyncio

        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def wait_tasks(self, tasks: Collection[asyncio.Task[Any]], timeout: float) -> None:
        """Wait until ``tasks`` are done or ``timeout`` seconds pass."""
        import asyncio

        await asyncio.wait(tasks, timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        import asyncio

        await asyncio.sleep(seconds)


REAL_CLOCK = Clock()


class ManualClock(Clock):
    """Time that stands still until ``advance()`` moves it: for tests.

    A wait on it returns after a brief real pause (``POLL_S``), so that the waiter reads the
    clock again; a test moves time forward and then waits for what is due to happen.
    ``waiters`` names the threads that have waited on it (a call that waits has read its
    deadline: the test may move time from then on)."""

    __slots__ = ("_lock", "_now", "waiters")

    POLL_S = 0.002

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.waiters: set[int] = set()  # thread idents

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        self.waiters.add(threading.get_ident())
        condition.wait(0 if timeout is not None and timeout <= 0 else self.POLL_S)

    async def wait_event(self, event: asyncio.Event, timeout: float | None) -> None:
        self.waiters.add(threading.get_ident())
        await super().wait_event(event, 0 if timeout is not None and timeout <= 0 else self.POLL_S)

    async def wait_tasks(self, tasks: Collection[asyncio.Task[Any]], timeout: float) -> None:
        import asyncio

        self.waiters.add(threading.get_ident())
        deadline = self._now + timeout
        pending = [task for task in tasks if not task.done()]
        while pending and self._now < deadline:
            await asyncio.wait(pending, timeout=self.POLL_S)
            pending = [task for task in pending if not task.done()]

    async def sleep(self, seconds: float) -> None:
        import asyncio

        self.waiters.add(threading.get_ident())
        await asyncio.sleep(self.POLL_S if seconds > 0 else 0)
