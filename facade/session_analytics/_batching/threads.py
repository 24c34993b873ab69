"""The sync driver: a ``Batcher`` is a queue (``queue.Core``) with worker threads that take
batches from it and send them. ``enqueue`` is the hot path of ``event()`` and ``track()``; the
workers start on the first event (of this process: after a fork too) and end with ``stop()``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .backlog import adopt_safely, refill_safely
from .clock import REAL_CLOCK, Clock
from .drops import final_error, shutdown_error
from .exits import guard_signals, register
from .options import BatcherStats, BatchingOptions, FlushResult
from .outcome import Failed, Sender, logger_of
from .queue import Batch, Core


def release_connections(core: Core, release: Callable[[], Any] | None) -> None:
    """Close a stopped client's connections (once its stop is finished)."""
    if release is None:
        return
    try:
        release()
    except Exception:
        core.log.exception("%s: closing the connections failed", core.name)


class Batcher:
    """Queue + worker threads. ``enqueue`` is the hot path."""

    def __init__(
        self, sender: Sender, options: BatchingOptions, *, clock: Clock = REAL_CLOCK
    ) -> None:
        self._sender = sender
        self._clock = clock  # tests give a ManualClock
        self._core = Core(options, sender.name, logger_of(sender), clock)
        self._core.open_spool()
        # Called once the stop is finished (by stop() or by the exit hook): the client closes
        # its connections there.
        self.release: Callable[[], Any] | None = None
        self._init_sync()
        register(self)

    def _init_sync(self) -> None:
        # Workers wait on ``_wake`` and are woken one at a time (a woken worker that finds
        # nothing to do sleeps again); ``flush()`` and blocked callers wait on ``_settled``,
        # which every settled attempt notifies.
        self._wake = threading.Condition(self._core.lock)
        self._settled = threading.Condition(self._core.lock)
        self._workers: list[threading.Thread] = []
        # Workers that have ended. Counted by the workers themselves: Thread.join() interrupted
        # by Ctrl-C can mark a thread that still runs as stopped (CPython 3.11).
        self._exited = 0
        self._idle = 0  # workers waiting for work
        self._waiting = 0  # flush() and blocked callers waiting on _settled
        self._stop_now = threading.Event()
        self._accepting = True
        self._started = False
        self._start_lock = threading.Lock()
        self._stop_lock = threading.Lock()
        # The stop handed everything over (delivered, on_error or spool) and released the
        # connections; until then the exit hook still drains this batcher.
        self._finished = False

    # ---- the caller's side ------------------------------------------------------------------

    def enqueue(self, payload: bytes, key: str | None) -> bool:
        """Queue one serialised event; False when it was refused (queue full, or stopped)."""
        if not self._started and self._accepting:
            self._start()
        core = self._core
        refusal = None
        with self._wake:
            accepted = self._accepting and core.fits(len(payload))
            if not accepted and self._accepting and core.options.overflow == "block":
                self._waiting += 1
                self._wait_for_room(len(payload))
                self._waiting -= 1
                accepted = self._accepting and core.fits(len(payload))
            if not accepted:
                refusal = core.refuse(payload, "full" if self._accepting else "stopped")
            elif core.append(payload, key):
                self._wake.notify()
        if refusal is None:
            return True
        core.report_refusal(refusal)
        return False

    def _wait_for_room(self, size: int) -> None:
        """overflow="block": wait (the lock held) until ``size`` bytes fit, or the stop, or
        ``block_timeout``."""
        core = self._core
        deadline = self._clock.now() + core.options.block_timeout
        while not (core.fits(size) or not self._accepting):
            left = deadline - self._clock.now()
            if left <= 0:
                return
            self._clock.wait(self._settled, left)

    def _start(self) -> None:
        """Start the fewest workers; more start when the concurrency limit grows. On the first
        event (of this process: after a fork too), on the caller's thread: a forked child opens
        its spool here, and the exit guard is put in place (by the main thread: asked to, from
        another thread)."""
        with self._start_lock:
            if self._started:
                return
            self._core.ensure_spool()
            for _ in range(self._core.limiter.floor):
                self._spawn()
            self._started = True
        guard_signals()

    def _spawn(self) -> None:
        worker = threading.Thread(
            target=self._work,
            name=f"session-analytics-{self._core.name}-{len(self._workers)}",
            daemon=True,
        )
        self._workers.append(worker)
        worker.start()

    def flush(self, timeout: float = 10.0) -> FlushResult:
        """Send everything queued now; wait up to ``timeout`` seconds for it to be delivered.

        Returns what is still pending of the events queued when it was called (events queued
        later do not keep it waiting)."""
        core = self._core
        if not self._started and self._accepting:
            self._start()
        deadline = self._clock.now() + timeout
        adopt_safely(core)
        with self._wake:
            target = core.taken + len(core.items)
            core.flush_target = max(core.flush_target, target)
            self._wake.notify_all()
            while core.unsettled_before(target):
                left = deadline - self._clock.now()
                if left <= 0:
                    break
                self._waiting += 1
                self._clock.wait(self._settled, min(left, 0.05))
                self._waiting -= 1
            return FlushResult(core.unsettled_before(target))

    def stop(self, timeout: float = 10.0) -> FlushResult:
        """Refuse new events, deliver what is queued within ``timeout``, then stop the workers.

        What is still undelivered at the deadline is handed to ``on_error`` (or left in the
        spool for the next start), never dropped silently.
        """
        return self._stop(self._clock.now() + timeout)

    def _stop(self, deadline: float, *, at_exit: bool = False) -> FlushResult:
        """Stop accepting, let the workers deliver until ``deadline``, then hand over the rest.

        Interrupted while waiting (Ctrl-C), it raises and the stop is not finished: the workers
        go on delivering, and the next ``stop()`` or the exit hook finishes it. At exit, an
        interrupt only cuts the wait short."""
        core = self._core
        if not at_exit and not self._finished and deadline > self._clock.now():
            # What processes that died left in the spool is sent too (or said to be waiting).
            core.ensure_spool()
            adopt_safely(core)
        with self._wake:
            finished = self._finished
            if not finished:
                self._accepting = False
                core.stopping = True
                self._wake.notify_all()
        if finished:
            core.log_unlogged_drops()  # refused after an earlier stop
            return FlushResult(core.pending())
        if not at_exit and not self._started and core.items:
            self._start()  # events adopted from the spool of a process that died
        try:
            with self._wake:
                while self._exited < len(self._workers):
                    left = deadline - self._clock.now()
                    if left <= 0:
                        break
                    self._clock.wait(self._settled, min(left, 0.1))
        except KeyboardInterrupt:
            if not at_exit:
                raise
        return self._hand_over()

    def _hand_over(self) -> FlushResult:
        core = self._core
        with self._stop_lock:
            if self._finished:
                return FlushResult(core.pending())
            pending = core.pending() + core.backlog_on_disk()
            self._stop_now.set()
            with self._wake:
                self._wake.notify_all()
                self._settled.notify_all()
            report, kept = core.hand_over()
            core.give_up(report, shutdown_error(report))
            core.close_spool(kept)
            core.log_unlogged_drops()
            self._workers = []
            self._finished = True
        release_connections(core, self.release)
        return FlushResult(pending)

    def _stop_at_exit(self, left: float) -> None:
        """The exit drain: stop within ``left`` seconds (of the budget shared by every batcher)."""
        result = self._stop(self._clock.now() + left, at_exit=True)
        if result.pending:
            self._core.log.warning(
                "%s: %d events still pending at exit", self._core.name, result.pending
            )

    def stats(self) -> BatcherStats:
        return self._core.stats()

    # ---- the workers --------------------------------------------------------------------------

    def _work(self) -> None:
        try:
            self._work_loop()
        finally:
            with self._wake:
                self._exited += 1
                self._settled.notify_all()  # stop() waits for the workers to end

    def _work_loop(self) -> None:
        core = self._core
        adopt_safely(core)
        while True:
            with self._wake:
                while True:
                    if self._stop_now.is_set():
                        return
                    now = self._clock.now()
                    if core.ready(now):
                        batch = core.take(now)
                        break
                    if core.stopping and core.workers_done():
                        self._wake.notify()  # pass it on: the next worker ends too
                        return
                    self._idle += 1
                    self._clock.wait(self._wake, core.wait_time(now))
                    self._idle -= 1
                # More is due, a slot is free and nobody waits to take it: one more worker.
                grow = (
                    not self._idle
                    and len(self._workers) < core.limiter.ceiling
                    and core.ready(now)
                    and not core.stopping
                )
                if grow:
                    self._spawn()
                elif self._idle and core.ready(now):
                    self._wake.notify()
            self._deliver(batch)
            refill_safely(core)

    def _deliver(self, batch: Batch) -> None:
        """One attempt; a retry is parked, not slept on, so this worker goes on with others."""
        core = self._core
        try:
            core.mark_attempted(batch)
            outcome = self._sender.send(batch.entries)
            delay = core.next_step(batch, outcome, self._sender.deduplicates)
            if delay is not None:
                core.park(batch, delay)
            elif isinstance(outcome, Failed) and not batch.abandoned:
                core.give_up(batch.entries, final_error(outcome, batch.suspects))
        except Exception as error:  # a bug must not kill the worker with events in hand
            core.log.exception("%s: sending a batch failed unexpectedly", core.name)
            core.next_step(batch, Failed(error, retryable=False), self._sender.deduplicates)
            if not batch.abandoned:
                core.give_up(batch.entries, error)
        finally:
            # Read without the lock: a waiter counts itself under the lock before it waits, so
            # one that is not counted yet will see the freed slot when it looks.
            if self._idle or self._waiting:
                with self._wake:
                    self._settled.notify_all()  # room for blocked callers; flush() waiters
                    self._wake.notify()  # a slot is free

    def _after_fork(self) -> None:
        accepting = self._accepting  # a client the parent had stopped stays stopped
        finished = self._finished
        self._core.after_fork()
        self._init_sync()
        self._accepting = accepting
        self._finished = finished
