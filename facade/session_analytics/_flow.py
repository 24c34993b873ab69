"""Multi-step work written once as a generator, driven by a sync or an async driver.

A flow yields what it needs done (a :class:`Request`, a :class:`Sleep`, an :class:`Emit` of an
event to listeners) and receives the outcome; it never does I/O itself. The drivers below are the
only code that differs between the sync and the asyncio clients.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Generator, Sequence
from typing import Any, TypeVar

import attrs

from ._calls import ApiResponse, Call, run_async, run_sync
from .errors import FSError

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


Step = Request | Sleep | Emit
Outcome = ApiResponse[Any] | FSError | None
Flow = Generator[Step, Outcome, R]


def call_listener(listener: Callable[..., Any], args: tuple[Any, ...], event: str) -> Any:
    try:
        return listener(*args)
    except Exception:
        logger.exception("a %r listener raised; the job goes on", event)
        return None


def drive_sync(flow: Flow[R], raw: Any, sleep: Callable[[float], None]) -> R:
    outcome: Outcome = None
    try:
        while True:
            step = flow.send(outcome)
            outcome = None
            try:
                if isinstance(step, Request):
                    try:
                        outcome = run_sync(raw, step.call)
                    except FSError as error:
                        outcome = error
                elif isinstance(step, Sleep):
                    sleep(step.seconds)
                else:
                    for listener in step.listeners:
                        call_listener(listener, step.args, step.event)
            except BaseException as error:  # Ctrl-C in a sleep, say: the flow sees it stop
                _stop(flow, error)
                raise
    except StopIteration as done:
        result: R = done.value
        return result


def _stop(flow: Flow[Any], error: BaseException) -> None:
    """Raise ``error`` inside the flow, at the step it waits on, so that it can record where it
    stood; the caller raises ``error`` itself."""
    with contextlib.suppress(BaseException):
        flow.throw(error)


async def drive_async(flow: Flow[R], raw: Any, sleep: Callable[[float], Awaitable[None]]) -> R:
    outcome: Outcome = None
    try:
        while True:
            step = flow.send(outcome)
            outcome = None
            try:
                if isinstance(step, Request):
                    try:
                        outcome = await run_async(raw, step.call)
                    except FSError as error:
                        outcome = error
                elif isinstance(step, Sleep):
                    await sleep(step.seconds)
                else:
                    for listener in step.listeners:
                        result = call_listener(listener, step.args, step.event)
                        if inspect.isawaitable(result):
                            try:
                                await result
                            except Exception:
                                logger.exception(
                                    "a %r listener raised; the job goes on", step.event
                                )
            except BaseException as error:  # cancelled, say: the flow sees it stop
                _stop(flow, error)
                raise
    except StopIteration as done:
        value: R = done.value
        return value
