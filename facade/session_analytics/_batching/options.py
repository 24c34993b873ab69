"""The batching options a user gives (``BatchingOptions``, with their checks) and what the
batcher reports back (``BatcherStats``, ``FlushResult``)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any, Literal

import attrs

from ..errors import InvalidArgumentError

ErrorListener = Callable[[list[dict[str, Any]], BaseException], Any]
DropListener = Callable[[dict[str, Any]], Any]
DEFAULT_SHUTDOWN_TIMEOUT_S = 2.0


def _number(
    minimum: float, *, integer: bool = False, above: bool = False, infinite: bool = False
) -> Any:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        ok = (
            not isinstance(value, bool)
            and isinstance(value, int if integer else int | float)
            and (math.isfinite(value) or (infinite and value == math.inf))
            and (value > minimum if above else value >= minimum)
        )
        if not ok:
            kind = "a whole number" if integer else "a number"
            sign = ">" if above else ">="
            raise InvalidArgumentError(
                f"{attribute.name} must be {kind} {sign} {minimum}", field=attribute.name
            )

    return check


def _optional(check: Any) -> Any:
    def optional(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check(instance, attribute, value)

    return optional


def _callable_or_none(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not callable(value):
        raise InvalidArgumentError(f"{attribute.name} must be callable", field=attribute.name)


def _overflow(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in ("drop_newest", "block"):
        raise InvalidArgumentError(
            "overflow must be 'drop_newest' or 'block'", field=attribute.name
        )


@attrs.frozen(kw_only=True)
class BatchingOptions:
    """How events are queued and sent. The defaults depend on the API (see each client).

    Attributes:
        flush_interval: seconds the oldest queued event may wait before a send (``math.inf``:
            no timer; sends happen at ``flush_at``, ``flush()`` and ``stop()``).
        flush_at: queued events that trigger a send at once.
        max_batch_events / max_batch_bytes: the size of one request.
        max_queue_events / max_queue_bytes: the memory bound (events queued plus in flight);
            a full queue is sent at once; beyond it, ``overflow`` applies.
        overflow: "drop_newest" (refuse the new event: counted, on_drop, logged) or "block"
            (the caller waits up to ``block_timeout`` seconds for room, then the event is
            dropped); "block" is for sync clients only.
        concurrency: the most requests in flight at once (None: the API's default).
        min_concurrency: the fewest (None: the API's default; equal to ``concurrency``: a
            fixed number). In between, the number adapts to the round trip and to the
            server's answers (see ``_batching.concurrency``).
        retry_initial_delay / retry_max_delay: back-off between attempts of one batch.
        max_retry_time: seconds a batch is retried before it goes to ``on_error``.
        on_error: ``f(events, error)`` for events given up on; events are dicts.
        on_drop: ``f(event)`` for an event refused because the queue is full.
        spool_path: a directory: keep accepted events on disk until acknowledged.
        shutdown_timeout: seconds the exit hook gives the queue to drain.
    """

    flush_interval: float = attrs.field(
        default=10.0, validator=_number(0, above=True, infinite=True)
    )
    flush_at: int = attrs.field(default=1000, validator=_number(1, integer=True))
    max_batch_events: int = attrs.field(default=1000, validator=_number(1, integer=True))
    max_batch_bytes: int = attrs.field(default=512 * 1024, validator=_number(1024, integer=True))
    max_queue_events: int = attrs.field(default=250_000, validator=_number(1, integer=True))
    max_queue_bytes: int = attrs.field(
        default=64 * 1024 * 1024, validator=_number(1024, integer=True)
    )
    overflow: Literal["drop_newest", "block"] = attrs.field(
        default="drop_newest", validator=_overflow
    )
    block_timeout: float = attrs.field(default=1.0, validator=_number(0))
    concurrency: int | None = attrs.field(
        default=None, validator=_optional(_number(1, integer=True))
    )
    min_concurrency: int | None = attrs.field(
        default=None, validator=_optional(_number(1, integer=True))
    )
    retry_initial_delay: float = attrs.field(default=0.1, validator=_number(0))
    retry_max_delay: float = attrs.field(default=1.0, validator=_number(0))
    max_retry_time: float = attrs.field(default=600.0, validator=_number(0))
    on_error: ErrorListener | None = attrs.field(default=None, validator=_callable_or_none)
    on_drop: DropListener | None = attrs.field(default=None, validator=_callable_or_none)
    spool_path: str | os.PathLike[str] | None = None
    shutdown_timeout: float = attrs.field(default=DEFAULT_SHUTDOWN_TIMEOUT_S, validator=_number(0))

    def __attrs_post_init__(self) -> None:
        low, high = self.min_concurrency, self.concurrency
        if low is not None and high is not None and low > high:
            raise InvalidArgumentError(
                f"min_concurrency ({low}) must not be above concurrency ({high})",
                field="min_concurrency",
            )

    def with_concurrency(self, floor: int, ceiling: int) -> BatchingOptions:
        """These options with an API's defaults for the concurrency settings left out: the
        ceiling when none is given, and a floor no higher than the ceiling."""
        high = self.concurrency if self.concurrency is not None else ceiling
        low = self.min_concurrency if self.min_concurrency is not None else min(floor, high)
        return attrs.evolve(self, concurrency=high, min_concurrency=low)

    def concurrency_range(self) -> tuple[int, int]:
        """(floor, ceiling); a batcher given no concurrency at all sends one at a time."""
        high = self.concurrency if self.concurrency is not None else 1
        low = self.min_concurrency if self.min_concurrency is not None else high
        return low, high


@attrs.frozen
class BatcherStats:
    """Counters since start (or since the fork that made this process)."""

    enqueued: int
    delivered: int
    retried: int
    dropped: int
    failed: int
    possible_duplicates: int
    queue_depth: int
    queue_bytes: int
    in_flight: int
    spooled: int


@attrs.frozen
class FlushResult:
    """What a ``flush()`` or ``stop()`` left undelivered by its deadline (0: nothing)."""

    pending: int

    def __bool__(self) -> bool:
        return self.pending == 0
