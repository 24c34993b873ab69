"""Multi-step work written once as a generator, driven by a sync or an async driver.

A flow yields what it needs done (a :class:`Request`, a :class:`Sleep`, an :class:`Emit` of an
event to listeners) and receives the result of that step (a :data:`StepResult`); it never does
I/O itself. The drivers below are the only code that differs between the sync and the asyncio
clients.

A flow that has several requests to make at once yields :class:`Start` for each (the driver
begins it and answers at once) and :class:`Wait` to collect those that finished. Only the drivers
below take these two steps: a flow asks :func:`can_overlap` first, and makes its requests one
at a time with :class:`Request` when it runs under any other driver (a :class:`RequestLane`
does either).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ..errors import FSError, FSUnknownError
from ._calls import ApiResponse, Call, run_async, run_sync

if TYPE_CHECKING:
    import asyncio

logger = logging.getLogger("session_analytics")

R = TypeVar("R")


@attrs.frozen
class Request:
    call: Call[Any]


@attrs.frozen
class Sleep:
    seconds: float


@attrs.frozen
class Emit:
    """Call these listeners with these arguments; a failing listener is logged, never fatal."""

    listeners: Sequence[Callable[..., Any]]
    args: tuple[Any, ...]
    event: str


@attrs.frozen
class Start:
    """Begin this request and go on at once; its outcome comes back, with ``tag``, from a later
    :class:`Wait`."""

    call: Call[Any]
    tag: Any


@attrs.frozen
class Wait:
    """Until at least one started request has finished, or ``timeout`` seconds have passed
    (None: no limit; 0: only collect what already finished). The outcome is the list of
    ``(tag, outcome)`` of the requests that finished, in the order they were started; empty
    after a timeout. With no request started it is a :class:`Sleep` of ``timeout``."""

    timeout: float | None


Step = Request | Sleep | Emit | Start | Wait
Finished = list[tuple[Any, "ApiResponse[Any] | FSError"]]
# What a flow receives for a step: the answer or error of a Request, the requests a Wait
# collected, None after any other step.
StepResult = ApiResponse[Any] | FSError | Finished | None
Flow = Generator[Step, StepResult, R]

_overlap: ContextVar[bool] = ContextVar("session_analytics_flow_overlap", default=False)


def can_overlap() -> bool:
    """True while the flow that asks runs under a driver that takes Start and Wait."""
    return _overlap.get()


@contextlib.contextmanager
def _overlapping() -> Iterator[None]:
    token = _overlap.set(True)
    try:
        yield
    finally:
        _overlap.reset(token)


class _Threads:
    """The requests a sync flow started, each on a daemon thread of its own: a Ctrl-C never
    waits for them (the flow records that their outcome is unknown)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._done: queue.SimpleQueue[tuple[int, Any, Any]] = queue.SimpleQueue()
        self._started = 0
        self._running = 0

    def start(self, step: Start) -> None:
        order, self._started = self._started, self._started + 1
        thread = threading.Thread(
            target=self._run, args=(order, step), name="session-analytics-request", daemon=True
        )
        self._running += 1
        thread.start()

    def _run(self, order: int, step: Start) -> None:
        outcome: Any
        try:
            outcome = run_sync(self._raw, step.call)
        except FSError as error:
            outcome = error
        except BaseException as error:  # a bug: the driver raises it in the flow's thread
            outcome = _Crash(error)
        self._done.put((order, step.tag, outcome))

    def wait(self, timeout: float | None, sleep: Callable[[float], None]) -> Finished:
        if not self._running:
            if timeout:
                sleep(timeout)
            return []
        got = []
        try:
            if timeout == 0:
                got.append(self._done.get_nowait())
            else:
                got.append(self._done.get(timeout=timeout))
            while True:
                got.append(self._done.get_nowait())
        except queue.Empty:
            pass
        self._running -= len(got)
        return _finished(got)


@attrs.frozen
class _Crash:
    error: BaseException


def _finished(got: list[tuple[int, Any, Any]]) -> Finished:
    out: Finished = []
    for _, tag, outcome in sorted(got, key=lambda each: each[0]):
        if isinstance(outcome, _Crash):
            raise outcome.error
        out.append((tag, outcome))
    return out


class _Tasks:
    """The requests an async flow started, as tasks of the running loop."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._tasks: dict[asyncio.Task[Any], tuple[int, Any]] = {}
        self._started = 0

    def start(self, step: Start) -> None:
        import asyncio

        task = asyncio.ensure_future(run_async(self._raw, step.call))
        self._tasks[task] = (self._started, step.tag)
        self._started += 1

    async def wait(
        self, timeout: float | None, sleep: Callable[[float], Awaitable[None]]
    ) -> Finished:
        import asyncio

        if not self._tasks:
            if timeout:
                await sleep(timeout)
            return []
        if timeout == 0:
            await asyncio.sleep(0)  # let the started requests run up to their next wait
            done = {task for task in self._tasks if task.done()}
        else:
            done, _ = await asyncio.wait(
                self._tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        got = []
        for task in done:
            order, tag = self._tasks.pop(task)
            error = task.exception()
            outcome = error if error is not None else task.result()
            got.append(
                (
                    order,
                    tag,
                    outcome if isinstance(outcome, FSError | ApiResponse) else _Crash(outcome),
                )
            )
        return _finished(got)

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()


class RequestLane:
    """The requests of a flow that has several to make at once: started with :class:`Start` and
    collected with :class:`Wait` under a driver that takes those steps (``overlap``, from
    :func:`can_overlap`), else made one at a time with :class:`Request`, each answer kept for the
    next :meth:`collect`, and the time counted as the flow's sleeps add up. ``what`` names the
    flow in the error a wait with nothing to wait for raises (a bug)."""

    def __init__(self, *, overlap: bool, what: str) -> None:
        self.overlap = overlap
        self._what = what
        self._clock = 0.0  # one request at a time: the time slept so far
        self._ready: Finished = []
        self.in_flight = 0  # started, not collected

    def now(self) -> float:
        return time.monotonic() if self.overlap else self._clock

    def send(self, call: Call[Any], tag: Any) -> Flow[None]:
        if self.overlap:
            self.in_flight += 1
            yield Start(call, tag)
            return
        outcome = yield Request(call)
        assert isinstance(outcome, ApiResponse | FSError)
        self._ready.append((tag, outcome))

    def collect(self, timeout: float | None) -> Flow[Finished]:
        """The ``(tag, outcome)`` of the requests that finished (see :class:`Wait`)."""
        if self._ready:
            ready, self._ready = self._ready, []
            return ready
        if self.overlap:
            finished = yield Wait(timeout)
            assert isinstance(finished, list)
            self.in_flight -= len(finished)
            return finished
        if timeout is None:  # nothing in flight and nothing to wait for: a bug
            raise FSUnknownError(f"{self._what}: nothing left to wait for")
        if timeout > 0:
            yield Sleep(timeout)
            self._clock += timeout
        return []


def call_listener(listener: Callable[..., Any], args: tuple[Any, ...], event: str) -> Any:
    try:
        return listener(*args)
    except Exception:
        logger.exception("a %r listener raised; the job goes on", event)
        return None


def drive_sync(flow: Flow[R], raw: Any, sleep: Callable[[float], None]) -> R:
    outcome: StepResult = None
    started = _Threads(raw)
    try:
        while True:
            with _overlapping():
                step = flow.send(outcome)
            outcome = None
            if isinstance(step, Request):
                try:
                    outcome = run_sync(raw, step.call)
                except FSError as error:
                    outcome = error
            elif isinstance(step, Sleep):
                sleep(step.seconds)
            elif isinstance(step, Start):
                started.start(step)
            elif isinstance(step, Wait):
                outcome = started.wait(step.timeout, sleep)
            else:
                for listener in step.listeners:
                    call_listener(listener, step.args, step.event)
    except StopIteration as done:
        result: R = done.value
        return result
    except BaseException as error:  # Ctrl-C in a sleep, say: the flow sees it stop
        _stop(flow, error)
        raise


def _stop(flow: Flow[Any], error: BaseException) -> None:
    """Raise ``error`` inside the flow, at the step it waits on, so that it can record where it
    stood; the caller raises ``error`` itself. Wherever the error struck in the driver (a
    Ctrl-C may land between any two bytecodes, even as ``send`` returns), the flow is
    suspended at a step then; if it struck inside the flow, the flow has seen it already."""
    if inspect.getgeneratorstate(flow) != inspect.GEN_SUSPENDED:
        return
    with contextlib.suppress(BaseException), _overlapping():
        flow.throw(error)


async def drive_async(flow: Flow[R], raw: Any, sleep: Callable[[float], Awaitable[None]]) -> R:
    outcome: StepResult = None
    started = _Tasks(raw)
    try:
        while True:
            with _overlapping():
                step = flow.send(outcome)
            outcome = None
            if isinstance(step, Request):
                try:
                    outcome = await run_async(raw, step.call)
                except FSError as error:
                    outcome = error
            elif isinstance(step, Sleep):
                await sleep(step.seconds)
            elif isinstance(step, Start):
                started.start(step)
            elif isinstance(step, Wait):
                outcome = await started.wait(step.timeout, sleep)
            else:
                for listener in step.listeners:
                    result = call_listener(listener, step.args, step.event)
                    if inspect.isawaitable(result):
                        try:
                            await result
                        except Exception:
                            logger.exception("a %r listener raised; the job goes on", step.event)
    except StopIteration as done:
        value: R = done.value
        return value
    except BaseException as error:  # cancelled, say: the flow sees it stop
        _stop(flow, error)
        raise
    finally:
        started.cancel()  # the flow stopped: what it started is of no use to anyone
