"""The asyncio driver: an ``AsyncBatcher`` is a queue (``queue.Core``) with worker tasks on the
event loop that queues the events. A client used on a new loop (a new ``asyncio.run()``) moves
its workers there; a stop runs in a task of its own, so cancelling its caller does not cut it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgumentError
from .backlog import adopt_safely, refill_safely
from .clock import REAL_CLOCK, Clock
from .drops import final_error, shutdown_error
from .exits import guard_signals, register
from .options import BatcherStats, BatchingOptions, FlushResult
from .outcome import AsyncSender, Failed, logger_of
from .queue import Batch, Core

if TYPE_CHECKING:
    import asyncio

_get_running_loop: Callable[[], Any] | None = None


def _running_loop() -> Any:
    global _get_running_loop
    if _get_running_loop is None:
        import asyncio  # imported on first use: sync programs never pay for it

        _get_running_loop = asyncio.events._get_running_loop
    return _get_running_loop()


class AsyncBatcher:
    """Queue + worker tasks on the event loop that queues the events.

    ``enqueue`` is a plain function: call it from a coroutine (the loop's thread). A client used
    on a new loop (a new ``asyncio.run()``) moves its workers there.
    """

    def __init__(
        self, sender: AsyncSender, options: BatchingOptions, *, clock: Clock = REAL_CLOCK
    ) -> None:
        if options.overflow == "block":
            raise InvalidArgumentError(
                "overflow='block' would block the event loop; async clients use 'drop_newest'",
                field="overflow",
            )
        self._sender = sender
        self._clock = clock  # tests give a ManualClock
        self._core = Core(options, sender.name, logger_of(sender), clock)
        self._core.open_spool()
        # Awaited once the stop is finished: the client closes its connections there.
        self.release: Callable[[], Awaitable[Any]] | None = None
        self._init_async()
        register(self)

    def _init_async(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._idle = 0  # worker tasks waiting for work
        self._stop_now: asyncio.Event | None = None
        self._accepting = True
        self._stopper: asyncio.Task[FlushResult] | None = None
        self._finished = False  # see Batcher

    def enqueue(self, payload: bytes, key: str | None) -> bool:
        loop = _running_loop()
        if loop is not self._loop:
            self._bind(loop)
        core = self._core
        refusal = None
        wake = False
        with core.lock:
            if not self._accepting:
                refusal = core.refuse(payload, "stopped")
            elif not core.fits(len(payload)):
                refusal = core.refuse(payload, "full")
            else:
                wake = core.append(payload, key)
        if refusal is not None:
            core.report_refusal(refusal)
            return False
        if wake:
            self._notify()
        return True

    def _notify(self) -> None:
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def _bind(self, loop: Any) -> None:
        """Start (or move) the workers on ``loop``."""
        import asyncio

        if loop is None:
            raise InvalidArgumentError(
                "an async client queues events from a coroutine of a running event loop; in "
                "threads or sync code, use the sync client",
                field="loop",
            )
        if self._loop is not None:
            # The old loop is gone (or another one runs now): its tasks will not send again.
            for task in self._tasks:
                if not self._loop.is_closed():
                    self._loop.call_soon_threadsafe(task.cancel)
            self._core.requeue_in_flight()
        self._loop = loop
        self._wake = asyncio.Event()
        self._stop_now = asyncio.Event()
        self._tasks = []
        self._idle = 0
        self._core.ensure_spool()  # a forked child's own spool, on its first event
        for _ in range(self._core.limiter.floor):
            self._spawn()
        guard_signals()

    def _spawn(self) -> None:
        """One more worker task (the fewest start at once; more as the limit grows)."""
        assert self._loop is not None
        name = f"session-analytics-{self._core.name}-{len(self._tasks)}"
        self._tasks.append(self._loop.create_task(self._work(), name=name))

    async def flush(self, timeout: float = 10.0) -> FlushResult:

        loop = _running_loop()
        if loop is not self._loop and self._accepting:
            self._bind(loop)
        core = self._core
        deadline = self._clock.now() + timeout
        adopt_safely(core)
        with core.lock:
            target = core.taken + len(core.items)
            core.flush_target = max(core.flush_target, target)
        self._notify()
        while True:
            with core.lock:
                pending = core.unsettled_before(target)
            if not pending:
                return FlushResult(0)
            left = deadline - self._clock.now()
            if left <= 0:
                return FlushResult(pending)
            await self._clock.sleep(min(left, 0.01))

    async def stop(self, timeout: float = 10.0) -> FlushResult:
        """Refuse new events, deliver what is queued within ``timeout``, hand over the rest.

        The stop runs in a task of its own: cancelling the caller (``asyncio.wait_for(stop(),
        0.5)``) does not cancel it, it goes on until its deadline. When the loop itself ends
        first (the end of ``asyncio.run()``), what is left is handed over at once."""
        import asyncio

        core = self._core
        if self._finished:
            core.log_unlogged_drops()  # refused after an earlier stop
            return FlushResult(core.pending())
        loop = _running_loop()
        stopper = self._stopper
        if stopper is None or stopper.get_loop() is not loop:
            deadline = self._clock.now() + timeout
            stopper = self._stopper = loop.create_task(
                self._stop_task(deadline), name=f"session-analytics-{core.name}-stop"
            )
        return await asyncio.shield(stopper)

    async def _stop_task(self, deadline: float) -> FlushResult:
        import asyncio

        core = self._core
        loop = _running_loop()
        try:
            # What processes that died left in the spool is sent too (or said to be waiting).
            core.ensure_spool()
            adopt_safely(core)
            with core.lock:
                self._accepting = False
                core.stopping = True
            if core.items and self._loop is not loop:
                self._bind(loop)
            live = [t for t in self._tasks if self._loop is loop]
            if live:
                self._notify()
                await self._clock.wait_tasks(live, max(0.0, deadline - self._clock.now()))
        except asyncio.CancelledError:
            pass  # the loop is ending: hand over what is left now
        result = self._hand_over()
        release = self.release
        if release is not None:
            try:
                await release()
            except asyncio.CancelledError:
                pass
            except Exception:
                core.log.exception("%s: closing the connections failed", core.name)
        return result

    def _hand_over(self) -> FlushResult:
        core = self._core
        if self._finished:
            return FlushResult(core.pending())
        pending = core.pending() + core.backlog_on_disk()
        if self._stop_now is not None and self._loop is _running_loop():
            self._stop_now.set()
            for task in self._tasks:
                task.cancel()
        report, kept = core.hand_over()
        core.give_up(report, shutdown_error(report))
        core.close_spool(kept)
        core.log_unlogged_drops()
        self._tasks = []
        self._finished = True
        return FlushResult(pending)

    def _stop_at_exit(self, left: float) -> None:
        # The loop is usually gone at exit: nothing can be sent, but nothing is dropped silently.
        self._accepting = False
        self._core.stopping = True
        result = self._hand_over()
        if result.pending:
            self._core.log.warning(
                "%s: %d events still pending at exit", self._core.name, result.pending
            )

    def stats(self) -> BatcherStats:
        return self._core.stats()

    async def _work(self) -> None:

        core = self._core
        wake, stop_now = self._wake, self._stop_now
        assert wake is not None
        assert stop_now is not None
        adopt_safely(core)
        while not stop_now.is_set():
            with core.lock:
                now = self._clock.now()
                batch = core.take(now) if core.ready(now) else None
                finished = batch is None and core.stopping and core.workers_done()
                wait = core.wait_time(now)
                if batch is None:
                    wake.clear()
                grow = (
                    batch is not None
                    and not self._idle
                    and len(self._tasks) < core.limiter.ceiling
                    and not core.stopping
                    and core.ready(now)
                )
            if finished:
                return
            if grow:
                self._spawn()
            if batch is None:
                self._idle += 1
                try:
                    await self._clock.wait_event(wake, wait)
                finally:
                    self._idle -= 1
                continue
            await self._deliver(batch)
            refill_safely(core)

    async def _deliver(self, batch: Batch) -> None:
        import asyncio

        core = self._core
        try:
            core.mark_attempted(batch)
            outcome = await self._sender.send(batch.entries)
            delay = core.next_step(batch, outcome, self._sender.deduplicates)
            if delay is not None:
                core.park(batch, delay)
                self._notify()
            elif isinstance(outcome, Failed) and not batch.abandoned:
                core.give_up(batch.entries, final_error(outcome, batch.suspects))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            core.log.exception("%s: sending a batch failed unexpectedly", core.name)
            core.next_step(batch, Failed(error, retryable=False), self._sender.deduplicates)
            if not batch.abandoned:
                core.give_up(batch.entries, error)
        with core.lock:
            due = self._idle and core.ready(self._clock.now())
        if due and self._wake is not None:
            self._wake.set()  # a slot is free and work is due: an idle task takes it

    def _after_fork(self) -> None:
        accepting = self._accepting
        finished = self._finished
        self._core.after_fork()
        self._init_async()
        self._accepting = accepting
        self._finished = finished
