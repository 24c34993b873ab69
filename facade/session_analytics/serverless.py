"""Flush before a serverless handler or a short script returns: ``flush_on_return``.

A Lambda-style runtime freezes the process between invocations (its threads make no progress),
and a script may end before the batcher's timer fires: the flush at return is what sends the
events. It shares one time budget among the clients and says what was left, and where.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from types import ModuleType, TracebackType
from typing import Any, NoReturn, TypeVar

import attrs

# The budget when none is given and no invocation context tells the time left (seconds).
DEFAULT_FLUSH_BUDGET_S = 10.0
# Kept back from the invocation's remaining time, for the handler's own return (seconds).
DEFAULT_SAFETY_MARGIN_S = 0.5

logger = logging.getLogger("session_analytics")

Handler = TypeVar("Handler", bound=Callable[..., Any])

SPOOLED = "spooled"
QUEUED = "still queued"
WHERE_SAID = {
    SPOOLED: "will be sent by the next invocation that starts the client",
    QUEUED: "sent when the process runs again, lost if it ends first",
}
# The ``with`` blocks open in this thread or task, innermost last: one flusher may serve blocks
# in several threads or tasks at once.
_open_blocks: ContextVar[tuple[tuple[FlushOnReturn, _Invocation], ...]] = ContextVar(
    "session_analytics_flush_blocks", default=()
)


@attrs.frozen
class ClientFlush:
    """What one client had left after the flush.

    Attributes:
        client: the client's class name (never its key).
        pending: events not delivered by the deadline (still queued, and spooled when a spool
            is configured).
        spooled: whether a spool holds them (they survive the process).
        failed: events handed to ``on_error`` since the invocation started.
    """

    client: str
    pending: int
    spooled: bool
    failed: int = 0

    @property
    def where(self) -> str:
        """Where the pending events are: "spooled" or "still queued"."""
        return SPOOLED if self.spooled else QUEUED


@attrs.frozen
class FlushReport:
    """The flush at return: each client's leftovers, the budget it had and the time it took.

    True when nothing is pending (as a ``FlushResult`` is)."""

    clients: tuple[ClientFlush, ...]
    budget: float
    elapsed: float

    @property
    def pending(self) -> int:
        return sum(client.pending for client in self.clients)

    @property
    def failed(self) -> int:
        return sum(client.failed for client in self.clients)

    def __bool__(self) -> bool:
        return self.pending == 0

    def describe(self) -> str:
        """One line: what was left, and where it is."""
        parts = []
        for client in self.clients:
            if client.pending:
                said = WHERE_SAID[client.where]
                parts.append(f"{client.client}: {client.pending} {client.where} ({said})")
            if client.failed:
                parts.append(f"{client.client}: {client.failed} handed to on_error")
        left = "; ".join(parts) or "nothing"
        return (
            f"flush at return: {left}, after {self.elapsed:.2f} s of a {self.budget:.2f} s budget"
        )


def _resolve(given: Any) -> Any:
    """A client, or a zero-argument callable that returns one (a client made lazily)."""
    if hasattr(given, "flush"):
        return given
    if callable(given):
        return given()
    raise TypeError(f"not a client: {type(given).__name__}")


def _batcher_core(client: Any) -> Any:
    """The queue behind a client (for the smartlook module: its default client's)."""
    if isinstance(client, ModuleType):
        client = getattr(client, "_default", None)
    return getattr(getattr(client, "_batcher", None), "_core", None)


def _spool_configured(client: Any) -> bool:
    core = _batcher_core(client)
    if core is None:
        return False
    return core.options.spool_path is not None and not core.spool_broken


def _failed_so_far(client: Any) -> int:
    core = _batcher_core(client)
    return int(core.failed) if core is not None else 0


def _still_pending(client: Any) -> int:
    core = _batcher_core(client)
    if core is None:
        return 0
    with core.lock:
        return int(core.pending())


def _name(client: Any) -> str:
    """The client's class name ("FullStory"), or "smartlook" for the module."""
    if isinstance(client, ModuleType):
        return client.__name__.rsplit(".", 1)[-1]
    return type(client).__name__


def _is_async(client: Any) -> bool:
    return inspect.iscoroutinefunction(getattr(client, "flush", None))


def _remaining_budget(context: Any, safety_margin: float) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    try:
        return max(0.0, float(remaining()) / 1000.0 - safety_margin)
    except Exception:
        return None


class _Invocation:
    """One handler call (or one ``with`` block): the clients, and their failures so far."""

    def __init__(self, owner: FlushOnReturn, context: Any) -> None:
        self.owner = owner
        self.context = context if context is not None else owner.context
        self.clients: list[Any] = []
        self.failed_before: list[int] = []
        for given in owner.given:
            try:
                client = _resolve(given)
            except Exception:
                logger.warning("flush at return: a client could not be made", exc_info=True)
                continue
            self.clients.append(client)
            self.failed_before.append(_failed_so_far(client))

    def budget(self) -> float:
        if self.owner.budget is not None:
            return max(0.0, self.owner.budget)
        found = _remaining_budget(self.context, self.owner.safety_margin)
        return DEFAULT_FLUSH_BUDGET_S if found is None else found

    def flush(self) -> FlushReport:
        budget, started = self.budget(), time.monotonic()
        deadline = started + budget
        usable = []
        for client in self.clients:
            if _is_async(client):
                logger.warning(
                    "flush at return: %s is an async client; decorate an async handler "
                    "(or use `async with`) to flush it",
                    _name(client),
                )
            else:
                usable.append(client)
                self._flush_one(client, 0.0)  # every client starts sending now: one budget
        pending = [
            self._flush_one(client, deadline - time.monotonic())
            if client in usable
            else _still_pending(client)
            for client in self.clients
        ]
        return self._report(pending, budget, started)

    async def aflush(self) -> FlushReport:
        import asyncio  # loaded already: the handler runs on it

        budget, started = self.budget(), time.monotonic()
        deadline = started + budget

        async def flush_one(client: Any) -> int:
            if _is_async(client):
                return await self._aflush_one(client, deadline - time.monotonic())
            # A sync client waits in a thread: the loop goes on sending the async ones.
            return await asyncio.to_thread(self._flush_one, client, deadline - time.monotonic())

        pending = await asyncio.gather(*(flush_one(client) for client in self.clients))
        return self._report(list(pending), budget, started)

    def _flush_one(self, client: Any, timeout: float) -> int:
        try:
            return int(client.flush(max(0.0, timeout)).pending)
        except Exception:
            logger.warning("flush at return: flushing %s failed", _name(client), exc_info=True)
            return _still_pending(client)

    async def _aflush_one(self, client: Any, timeout: float) -> int:
        try:
            return int((await client.flush(max(0.0, timeout))).pending)
        except Exception:
            logger.warning("flush at return: flushing %s failed", _name(client), exc_info=True)
            return _still_pending(client)

    def _report(self, pending: list[int], budget: float, started: float) -> FlushReport:
        clients = tuple(
            ClientFlush(
                client=_name(client),
                pending=left,
                spooled=bool(left) and _spool_configured(client),
                failed=max(0, _failed_so_far(client) - before),
            )
            for client, left, before in zip(self.clients, pending, self.failed_before, strict=True)
        )
        report = FlushReport(clients, budget, time.monotonic() - started)
        self.owner.last_report = report
        if report.pending or report.failed:
            logger.warning("%s", report.describe())
            if self.owner.on_left is not None:
                try:
                    self.owner.on_left(report)
                except Exception:
                    logger.warning("flush at return: on_left raised", exc_info=True)
        return report


class FlushOnReturn:
    """See :func:`flush_on_return`. A decorator, a context manager and an async one."""

    def __init__(
        self,
        clients: Iterable[Any],
        *,
        budget: float | None,
        safety_margin: float,
        on_left: Callable[[FlushReport], Any] | None,
        context: Any,
    ) -> None:
        self.given = tuple(clients)
        self.budget = budget
        self.safety_margin = safety_margin
        self.on_left = on_left
        self.context = context
        self.last_report: FlushReport | None = None

    def __call__(self, handler: Handler) -> Handler:
        if inspect.iscoroutinefunction(handler):

            @functools.wraps(handler)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                invocation = _Invocation(self, _context_of(args, kwargs))
                try:
                    return await handler(*args, **kwargs)
                finally:
                    await invocation.aflush()

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            invocation = _Invocation(self, _context_of(args, kwargs))
            try:
                return handler(*args, **kwargs)
            finally:
                invocation.flush()

        return wrapper  # type: ignore[return-value]

    def _open_block(self) -> None:
        _open_blocks.set((*_open_blocks.get(), (self, _Invocation(self, None))))

    def _close_block(self) -> _Invocation:
        blocks = list(_open_blocks.get())
        for index in range(len(blocks) - 1, -1, -1):
            if blocks[index][0] is self:
                invocation = blocks.pop(index)[1]
                _open_blocks.set(tuple(blocks))
                return invocation
        raise RuntimeError("flush_on_return: the block was not entered in this thread or task")

    def __enter__(self) -> FlushOnReturn:
        self._open_block()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close_block().flush()

    async def __aenter__(self) -> FlushOnReturn:
        self._open_block()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close_block().aflush()


def _context_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A handler's invocation context: its second argument, ``handler(event, context)``."""
    if "context" in kwargs:
        return kwargs["context"]
    return args[1] if len(args) >= 2 else None


def _invalid(field: str, message: str) -> NoReturn:
    from .errors import InvalidArgumentError  # only a bad argument pays for the errors module

    raise InvalidArgumentError(message, field=field)


def _check_seconds(field: str, value: Any, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if not (number and math.isfinite(value) and value >= 0):
        _invalid(field, f"{field} must be a number of seconds >= 0")


def _check_listener(field: str, value: Any) -> None:
    if value is not None and not callable(value):
        _invalid(field, f"{field} must be callable")


def flush_on_return(
    *clients: Any,
    budget: float | None = None,
    safety_margin: float = DEFAULT_SAFETY_MARGIN_S,
    on_left: Callable[[FlushReport], Any] | None = None,
    context: Any = None,
) -> FlushOnReturn:
    """Flush ``clients`` when a handler returns (or raises), or when a ``with`` block ends.

        @flush_on_return(fs)                      # def handler(event, context): ...
        with flush_on_return(fs): ...             # a script
        async with flush_on_return(afs): ...      # an asyncio script

    Args:
        clients: FullStory/Smartlook clients (sync or async; the ``smartlook`` module too), or
            zero-argument callables returning one (a client made on first use).
        budget: seconds the flush may take, shared by every client. Default: the invocation's
            remaining time (``context.get_remaining_time_in_millis()``) less ``safety_margin``;
            without a context, ``DEFAULT_FLUSH_BUDGET_S``.
        safety_margin: seconds kept back from the remaining time.
        on_left: ``f(report)`` when events were left (a :class:`FlushReport`).
        context: the invocation context, for a ``with`` block inside a handler.

    The flush never raises: the handler's result or exception is what the caller gets. What is
    left is logged in one WARNING line; the last report is ``.last_report``.

    Raises:
        InvalidArgumentError: a budget or margin that is not a number >= 0, an ``on_left`` that
            is not callable.
    """
    _check_seconds("budget", budget, optional=True)
    _check_seconds("safety_margin", safety_margin)
    _check_listener("on_left", on_left)
    return FlushOnReturn(
        clients, budget=budget, safety_margin=safety_margin, on_left=on_left, context=context
    )
