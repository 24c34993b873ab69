"""The event batcher behind Smartlook ``event()`` and FullStory ``track()``.

The caller's thread only validates, serialises (orjson) and appends to a bounded in-memory queue:
about two microseconds, no network I/O, a lock held for a few hundred nanoseconds (with a spool,
plus one SQLite commit). Workers (threads for the sync clients, tasks of the running loop for the
async ones) send batches when ``flush_at`` events or ``max_batch_bytes`` are queued, when the
oldest has waited ``flush_interval`` seconds, or on ``flush()``.

Nothing is lost without a word. Every accepted event is, in the end:
- delivered (``stats().delivered``);
- handed to ``on_error`` with the error, after a refusal that no retry can fix, after retrying for
  ``max_retry_time`` seconds, or when ``stop(timeout)`` ran out of time (``failed``);
- or still in the spool, when one is configured, to be sent by the next process.
An event refused at the door because the queue is full is counted (``dropped``), passed to
``on_drop`` and logged: the first drop at once, later ones summed into at most one warning per
``DROP_LOG_INTERVAL_S``, and what is left of the sum when the batcher stops (or at exit).

Failed sends are retried with capped exponential back-off (at most ``retry_max_delay`` apart, so
delivery resumes within about a second of the API coming back), never sooner than Retry-After.
A batch waiting for its retry does not hold a worker, but it still counts against the queue's
bounds; and when every worker's last send failed, no new batch goes out until the back-off (or
the Retry-After) has passed, so an API that is down or rate limiting is not hammered.
After ``os.fork()`` the child starts with an empty queue and its own workers; the parent keeps
its own (with a spool, the child opens its own file on its first event). At interpreter exit,
every batcher whose stop did not finish (never stopped, or a stop interrupted by Ctrl-C) gets a
short shared deadline to drain; a death by SIGTERM is preceded by the same drain (the exit guard,
at the bottom). A spool that cannot be written (a full disk) leaves the batcher memory-only.
"""

from __future__ import annotations

import atexit
import contextlib
import heapq
import logging
import math
import os
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from .. import _json
from .._retry import RetryPolicy, is_retryable_exception, maybe_delivered
from ..errors import GaveUpError, InvalidArgumentError, ShutdownError
from .concurrency import ConcurrencyLimit

if TYPE_CHECKING:
    import asyncio

    from .._spool import Spool

logger = logging.getLogger("session_analytics")

# payload (the event's JSON), idempotency key (FullStory), spool row (when spooling)
Entry = tuple[bytes, "str | None", "int | None"]
ErrorListener = Callable[[list[dict[str, Any]], BaseException], Any]
DropListener = Callable[[dict[str, Any]], Any]
DEFAULT_SHUTDOWN_TIMEOUT_S = 2.0
DROP_LOG_INTERVAL_S = 10.0


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


@attrs.frozen
class Delivered:
    pass


@attrs.frozen
class Failed:
    error: BaseException
    retryable: bool
    retry_after: float | None = None
    # The request may have reached the server (connection dropped, timeout after sending).
    maybe_delivered: bool = False


Outcome = Delivered | Failed


def request_failed(error: BaseException, cause: BaseException) -> Failed:
    """The outcome of a send whose request raised ``cause`` (an httpx error), told as ``error``."""
    error.__cause__ = cause
    return Failed(
        error, retryable=is_retryable_exception(cause), maybe_delivered=maybe_delivered(cause)
    )


class Sender(Protocol):
    name: str
    # True when the API dedupes re-sent events (FullStory's Idempotency-Key).
    deduplicates: bool

    def send(self, batch: list[Entry]) -> Outcome: ...


class AsyncSender(Protocol):
    name: str
    deduplicates: bool

    async def send(self, batch: list[Entry]) -> Outcome: ...


@attrs.define(eq=False)
class _Batch:
    entries: list[Entry]
    started: float
    size: int  # bytes
    seq: int  # entries taken from the queue before this batch (flush() waits by it)
    attempts: int = 0
    sent_at: float = 0.0  # when its current attempt was taken
    # Events of this batch that may already have arrived (a dropped answer; or adopted from a
    # dead process's spool after an attempt): re-sending them may duplicate where nothing dedupes.
    suspects: int = 0
    abandoned: bool = False  # stop() already handed it over


def decode(payload: bytes) -> dict[str, Any]:
    event: dict[str, Any] = _json.loads(payload)
    return event


@attrs.frozen
class _Refusal:
    """An event refused at the door, reported once the lock is released."""

    payload: bytes
    why: str
    # Time to log: the drops summed since the last warning, by reason (None: not yet).
    log_counts: dict[str, int] | None
    first: bool = False  # the first drop warning of this batcher


REFUSALS = {
    "full": "the queue is full",
    "stopped": "the client is stopped",
    "spool": "the spool could not store them",
}
# What to do about it, by reason.
REFUSAL_HINTS = {
    "full": "raise max_queue_events/max_queue_bytes, or use overflow='block'",
    "stopped": "events queued after stop() are not sent",
    "spool": "check the disk that holds spool_path",
}


class SpoolError(Exception):
    """The spool could not be opened or written."""


class _Core:
    """The queue, its limits and counters, and the delivery decisions: shared by both drivers.

    Every field is guarded by ``lock``. Nothing slow happens under it (listeners and logging run
    after it is released) except the spool insert of an accepted event, which is opt-in and must
    be on disk before the caller goes on.
    """

    # Slots: read on every event, they are faster than an instance dict this size.
    __slots__ = (
        "_adopted",
        "_backlog",
        "_backlog_after",
        "_batch_bytes",
        "_drops_logged",
        "_flush_at",
        "_last_drop_log",
        "_max_bytes",
        "_max_events",
        "_parked_seq",
        "_refill_lock",
        "_spool_lock",
        "_spool_open_lock",
        "_spool_wanted",
        "_stale_rows",
        "_unlogged_drops",
        "attempted_rows",
        "batch_cap",
        "bytes",
        "delivered",
        "dropped",
        "enqueued",
        "failed",
        "failures_in_a_row",
        "first_at",
        "flush_target",
        "in_flight",
        "items",
        "limiter",
        "lock",
        "log",
        "name",
        "options",
        "parked",
        "paused_until",
        "policy",
        "possible_duplicates",
        "retried",
        "room_bytes",
        "room_events",
        "sending",
        "spool",
        "spool_broken",
        "stopping",
        "taken",
    )

    def __init__(self, options: BatchingOptions, name: str, log: logging.Logger) -> None:
        self.options = options
        self.name = name
        self.log = log
        self.policy = RetryPolicy(
            max_retries=2**31,
            initial_delay_s=options.retry_initial_delay,
            max_delay_s=options.retry_max_delay,
            max_retry_after_s=math.inf,
        )
        # Read on every event: plain attributes are faster than the options' fields.
        self._max_events = options.max_queue_events
        self._max_bytes = options.max_queue_bytes
        self._flush_at = options.flush_at
        self._batch_bytes = options.max_batch_bytes
        self._fresh()

    def _fresh(self) -> None:
        self.lock = threading.Lock()
        self._refill_lock = threading.Lock()
        self.items: deque[Entry] = deque()
        self.bytes = 0  # queued, not taken
        # The bounds minus what is taken and not settled yet: the room left for the queue.
        self.room_events, self.room_bytes = self._max_events, self._max_bytes
        self.first_at = 0.0
        self.taken = 0
        self.flush_target = 0  # sends are forced until ``taken`` reaches it
        self.stopping = False
        self.in_flight: list[_Batch] = []  # taken, not settled (parked included)
        self.parked: list[tuple[float, int, _Batch]] = []  # (due, tie-break, batch), a heap
        self._parked_seq = 0
        self.paused_until = 0.0
        self.failures_in_a_row = 0
        floor, ceiling = self.options.concurrency_range()
        self.limiter = ConcurrencyLimit(floor, ceiling)
        self.sending = 0  # batches taken for an attempt whose outcome is not recorded yet
        # The most events a new batch takes: smaller for a while after a lost answer, so that
        # a resend that may duplicate costs less (see next_step).
        self.batch_cap = self.options.max_batch_events
        self.enqueued = self.delivered = self.retried = self.dropped = 0
        self.failed = self.possible_duplicates = 0
        self._unlogged_drops: dict[str, int] = {}  # dropped since the last warning, by reason
        self._last_drop_log = -math.inf
        self._drops_logged = False
        self.spool: Spool | None = None
        # A forked child opens its own spool on its first event (never in the at-fork hook).
        self._spool_wanted = False
        # After a failed write the spool is no longer written to: events are kept in memory only.
        self.spool_broken = False
        self._spool_lock = threading.Lock()
        self._spool_open_lock = threading.Lock()
        # Rows of settled events that could not be deleted (a full disk): they must not be sent
        # again by the next process.
        self._stale_rows: set[int] = set()
        # Adopted spool rows after this id may still need queueing.
        self._backlog_after = 0
        self._backlog = False
        self._adopted = False
        self.attempted_rows: set[int] = set()

    # ---- accepting (caller's thread, lock held) --------------------------------------------

    def fits(self, size: int) -> bool:
        return len(self.items) < self.room_events and self.bytes + size <= self.room_bytes

    def append(self, payload: bytes, key: str | None) -> bool:
        """Queue an accepted event; True when a worker should be woken up (the queue was empty,
        so its timer starts now; or a count or byte trigger is reached).

        A spool that cannot store it (a full disk) is no longer written to: the event is kept in
        memory only, like every event after it (one warning says so).
        """
        row = None
        if self.spool is not None and not self.spool_broken:
            try:
                row = self.spool.insert(payload, key)
            except Exception as error:
                self.spool_failed(error, "storing an event")
        if not self.items:
            self.first_at = time.monotonic()
        self.items.append((payload, key, row))
        before = self.bytes
        self.bytes = queued = before + len(payload)
        self.enqueued += 1
        count = len(self.items)
        return count == 1 or count == self._flush_at or before < self._batch_bytes <= queued

    def refuse(self, payload: bytes, why: str) -> _Refusal:
        """Count a refused event; the drops are logged at most once per DROP_LOG_INTERVAL_S
        (the rest is summed, and logged by the next warning or by ``log_unlogged_drops``)."""
        self.dropped += 1
        unlogged = self._unlogged_drops
        unlogged[why] = unlogged.get(why, 0) + 1
        now = time.monotonic()
        if now - self._last_drop_log < DROP_LOG_INTERVAL_S:
            return _Refusal(payload, why, None)
        self._last_drop_log = now
        self._unlogged_drops = {}
        first, self._drops_logged = not self._drops_logged, True
        return _Refusal(payload, why, unlogged, first)

    def report_refusal(self, refusal: _Refusal) -> None:
        """Log (at most once per interval) and tell ``on_drop``; the lock is NOT held."""
        if refusal.log_counts:
            self._log_drops(refusal.log_counts, first=refusal.first)
        if self.options.on_drop is not None:
            try:
                self.options.on_drop(decode(refusal.payload))
            except Exception:
                self.log.exception("%s: the on_drop listener raised", self.name)

    def log_unlogged_drops(self) -> None:
        """At a stop (or at exit): log the drops summed since the last warning, once."""
        with self.lock:
            unlogged, self._unlogged_drops = self._unlogged_drops, {}
            first = not self._drops_logged
            self._drops_logged = self._drops_logged or bool(unlogged)
        if unlogged:
            self._log_drops(unlogged, first=first)

    def _log_drops(self, counts: dict[str, int], *, first: bool) -> None:
        for why, count in counts.items():
            if first:
                self.log.warning(
                    "%s: %d events dropped (%s); %s (further drops are summed and logged at "
                    "most every %g s, and when the client stops)",
                    self.name,
                    count,
                    REFUSALS[why],
                    REFUSAL_HINTS[why],
                    DROP_LOG_INTERVAL_S,
                )
            else:
                self.log.warning(
                    "%s: %d more events dropped since the last warning (%s); %s",
                    self.name,
                    count,
                    REFUSALS[why],
                    REFUSAL_HINTS[why],
                )

    # ---- taking (worker, lock held) -----------------------------------------------------------

    def ready(self, now: float) -> bool:
        if now < self.paused_until or self.sending >= self.limiter.allowed():
            return False
        return self._due(now)

    def _due(self, now: float) -> bool:
        """Whether a batch is due to go out, whatever the limits on sending."""
        if self.parked and self.parked[0][0] <= now:
            return True
        if not self.items:
            return False
        return (
            len(self.items) >= self.options.flush_at
            or self.bytes >= self.options.max_batch_bytes
            or self.taken < self.flush_target
            or self.stopping
            or len(self.items) >= self.room_events
            or now - self.first_at >= self.options.flush_interval
        )

    def wait_time(self, now: float) -> float | None:
        """How long a worker may sleep before something is due (None: until woken)."""
        if self.sending >= self.limiter.allowed():
            return None  # every slot is taken: the next settled attempt wakes a worker
        waits = []
        if self.items and self.options.flush_interval != math.inf:
            waits.append(self.options.flush_interval - (now - self.first_at))
        if self.parked:
            waits.append(self.parked[0][0] - now)
        if not waits:
            return None
        return max(0.0, min(waits), self.paused_until - now)

    def take(self, now: float) -> _Batch:
        """The next batch to send: a parked one that is due, else a new one from the queue."""
        self.sending += 1
        if self.parked and self.parked[0][0] <= now:
            parked = heapq.heappop(self.parked)[2]
            parked.sent_at = now
            return parked
        entries: list[Entry] = []
        size = 0
        limit_events, limit_bytes = self.batch_cap, self.options.max_batch_bytes
        while self.items and len(entries) < limit_events:
            payload = self.items[0][0]
            if entries and size + len(payload) > limit_bytes:
                break
            entries.append(self.items.popleft())
            size += len(payload)
        self.bytes -= size
        # What is left keeps the age of the oldest: a backlog past its interval drains at once.
        batch = _Batch(entries, now, size, self.taken, sent_at=now)
        self.taken += len(entries)
        self.room_events -= len(entries)
        self.room_bytes -= size
        if self.attempted_rows:
            seen = {row for _, _, row in entries} & self.attempted_rows
            if seen:
                batch.suspects = len(seen)
                self.attempted_rows -= seen
        self.in_flight.append(batch)
        return batch

    def park(self, batch: _Batch, delay: float) -> None:
        with self.lock:
            if batch.abandoned:
                return
            due = time.monotonic() + delay
            for piece in self._split(batch):
                self._parked_seq += 1
                heapq.heappush(self.parked, (due, self._parked_seq, piece))

    def _split(self, batch: _Batch) -> list[_Batch]:
        """A batch bigger than the batch cap (after a lost answer) is retried in pieces, so a
        second lost answer costs one piece's possible duplicates, not the whole batch's."""
        entries, cap = batch.entries, self.batch_cap
        if len(entries) <= cap:
            return [batch]
        pieces = []
        shared = 0
        for start in range(0, len(entries), cap):
            part = entries[start : start + cap]
            suspects = batch.suspects * len(part) // len(entries)
            shared += suspects
            size = sum(len(payload) for payload, _, _ in part)
            pieces.append(
                _Batch(part, batch.started, size, batch.seq, batch.attempts, suspects=suspects)
            )
        pieces[-1].suspects += batch.suspects - shared
        self.in_flight.remove(batch)
        self.in_flight.extend(pieces)
        return pieces

    def idle(self) -> bool:
        return not self.items and not self.in_flight

    def workers_done(self) -> bool:
        """While stopping: nothing left for a worker to pick up."""
        return not self.items and not self.parked

    def pending(self) -> int:
        return len(self.items) + sum(len(b.entries) for b in self.in_flight if not b.abandoned)

    def backlog_on_disk(self) -> int:
        """Adopted leftovers still on disk only (not queued in memory yet)."""
        spool = self.spool
        if spool is None or not self._backlog:
            return 0
        try:
            return spool.count_adopted(self._backlog_after)
        except Exception:
            return 0

    def unsettled_before(self, seq: int) -> int:
        """Events among the first ``seq`` taken or queued that are not settled yet."""
        queued = max(0, seq - self.taken)
        flying = sum(len(b.entries) for b in self.in_flight if b.seq < seq and not b.abandoned)
        return queued + flying

    # ---- deciding (worker, lock NOT held) ----------------------------------------------------

    def next_step(self, batch: _Batch, outcome: Outcome, deduplicates: bool) -> float | None:
        """Record an outcome: None when the batch is settled, else seconds until its retry."""
        now = time.monotonic()
        if isinstance(outcome, Delivered):  # the common case: one lock for all of it
            self._unspool(batch, delivered=True)  # off the disk before flush() sees it settled
            with self.lock:
                self._attempt_over(batch, outcome, now)
                self.failures_in_a_row = 0
                self.paused_until = 0.0
                self._account(batch, delivered=True, deduplicates=deduplicates)
            return None
        with self.lock:
            self._attempt_over(batch, outcome, now)
        if outcome.maybe_delivered:
            # Each lost answer may have left one more copy on the server.
            batch.suspects += len(batch.entries)
        delay = self.policy.backoff(batch.attempts)
        if outcome.retry_after is not None:
            delay = max(delay, outcome.retry_after)
        # Give up now rather than wait past max_retry_time (a long Retry-After included).
        out_of_time = now + delay - batch.started > self.options.max_retry_time
        if not outcome.retryable or out_of_time:
            self._settle(batch, delivered=False, deduplicates=deduplicates)
            return None
        batch.attempts += 1
        with self.lock:
            self.retried += len(batch.entries)
            self.failures_in_a_row += 1
            # Every send in flight failed: the whole batcher waits out the back-off.
            if self.failures_in_a_row >= max(2, self.limiter.allowed()):
                self.paused_until = max(self.paused_until, now + delay)
        return delay

    def _attempt_over(self, batch: _Batch, outcome: Outcome, now: float) -> None:
        """An attempt ended (lock held): free its slot, and let the answer steer how many
        requests go out at once and how big the next batches are."""
        self.sending -= 1
        if isinstance(outcome, Delivered):
            self.limiter.delivered(batch.sent_at, now, saturated=self._due(now))
            if self.batch_cap < self.options.max_batch_events:
                self.batch_cap = min(self.options.max_batch_events, 2 * self.batch_cap)
            return
        if outcome.retryable:
            self.limiter.congested(batch.sent_at, now, rate_limited=outcome.retry_after is not None)
        if outcome.maybe_delivered:
            # The answer was lost: smaller batches for a while (doubling back with each
            # delivery), so the next lost answer leaves fewer possible duplicates.
            self.batch_cap = max(1, min(self.batch_cap, len(batch.entries)) // 8)

    def _settle(self, batch: _Batch, *, delivered: bool, deduplicates: bool) -> None:
        self._unspool(batch, delivered=delivered)  # off the disk before flush() sees it settled
        with self.lock:
            self._account(batch, delivered=delivered, deduplicates=deduplicates)

    def _account(self, batch: _Batch, *, delivered: bool, deduplicates: bool) -> None:
        """Count a settled batch and give its room back (lock held)."""
        if batch in self.in_flight:
            self.in_flight.remove(batch)
            if not batch.abandoned:
                self.room_events += len(batch.entries)
                self.room_bytes += batch.size
        count = len(batch.entries)
        if not batch.abandoned:
            if delivered:
                self.delivered += count
                if not deduplicates:
                    self.possible_duplicates += batch.suspects
            else:
                self.failed += count

    def _unspool(self, batch: _Batch, *, delivered: bool) -> None:
        if self.spool is None:
            return
        # Off the disk once delivered, or once handed to on_error; a batch that stop() left in
        # the spool and that then failed stays there for the next start.
        rows = [row for _, _, row in batch.entries if row is not None]
        spool = self.spool
        if rows and spool is not None and (delivered or not batch.abandoned):
            try:
                spool.delete(rows)
            except Exception as error:
                with self._spool_lock:
                    self._stale_rows.update(rows)
                self.spool_failed(error, "removing settled events")

    def abandon_all(self) -> list[Entry]:
        """At a stop deadline: take everything not yet delivered out of our hands."""
        with self.lock:
            left = list(self.items)
            self.items.clear()
            self.bytes = 0
            self.parked.clear()
            for batch in self.in_flight:
                if not batch.abandoned:
                    batch.abandoned = True
                    left.extend(batch.entries)
            self.room_events, self.room_bytes = self._max_events, self._max_bytes
        return left

    def hand_over(self) -> tuple[list[Entry], int]:
        """At a stop deadline: what is not delivered goes to ``on_error`` (returned, counted as
        failed) or stays in the spool for the next start (counted in the second value)."""
        left = self.abandon_all()
        spool = self.spool
        if spool is not None and self._stale_rows:
            # A full disk kept settled events in the file: try again (space may be back).
            try:
                spool.delete(sorted(self._stale_rows))
                self._stale_rows.clear()
            except Exception:
                self.log.debug("%s: the spool still cannot be written", self.name)
        if spool is None:
            report, kept = left, 0
        elif self._stale_rows:
            # The file holds events that were settled: the next process must not send them, so
            # it goes, and what it still owed is reported (read only: a full disk allows that).
            backlog: list[Entry] = []
            if self._backlog:
                try:
                    backlog = [
                        (r.payload, r.key, r.row) for r in spool.adopted_rows(self._backlog_after)
                    ]
                except Exception:
                    self.log.exception("%s: could not read the spooled leftovers", self.name)
            report, kept = left + backlog, 0
            self.spool = None
            self._backlog = False
            self.log.info(
                "%s: the spool %s is removed: it could not be updated (%d events in it were "
                "settled already); what it still held goes to on_error",
                self.name,
                spool.path,
                len(self._stale_rows),
            )
            try:
                spool.discard()
            except Exception:
                self.log.exception("%s: could not remove the spool", self.name)
        else:
            report = [entry for entry in left if entry[2] is None]
            kept = len(left) - len(report) + self.backlog_on_disk()
        with self.lock:
            self.failed += len(report)
        return report, kept

    def requeue_in_flight(self) -> None:
        """The tasks that were sending these batches are gone (their loop closed): send them
        again, first; they may have arrived already."""
        with self.lock:
            for batch in reversed(self.in_flight):
                if batch.abandoned:
                    continue
                self.items.extendleft(reversed(batch.entries))
                self.bytes += batch.size
                self.room_events += len(batch.entries)
                self.room_bytes += batch.size
                self.attempted_rows.update(row for _, _, row in batch.entries if row is not None)
                batch.abandoned = True
            self.in_flight = [b for b in self.in_flight if not b.abandoned]
            self.parked.clear()
            self.sending = 0  # the tasks that were sending are gone
            self.first_at = time.monotonic() - self.options.flush_interval

    def stats(self) -> BatcherStats:
        with self.lock:
            stats = BatcherStats(
                enqueued=self.enqueued,
                delivered=self.delivered,
                retried=self.retried,
                dropped=self.dropped,
                failed=self.failed,
                possible_duplicates=self.possible_duplicates,
                queue_depth=len(self.items),
                queue_bytes=self.bytes,
                in_flight=self._max_events - self.room_events,
                spooled=0,
            )
        spool = self.spool
        return attrs.evolve(stats, spooled=spool.count()) if spool is not None else stats

    # ---- the spool ---------------------------------------------------------------------------

    def open_spool(self) -> None:
        """Open this process's spool file (at construction: a bad path fails there; a full disk
        does not: the events are then kept in memory only, with a warning)."""
        if self.options.spool_path is None or self.spool is not None:
            return
        from .._spool import Spool

        try:
            self.spool = Spool(Path(self.options.spool_path))
        except Exception as error:
            if _disk_full(error):
                self.spool_failed(error, "opening it")
                return
            raise InvalidArgumentError(
                f"spool_path: cannot keep a spool in {self.options.spool_path}: {error}",
                field="spool_path",
            ) from None

    def ensure_spool(self) -> None:
        """In a forked child: open the child's own spool (on its first event, on the child's own
        thread: never in the at-fork hook). A spool that cannot be opened is warned about once
        and the child keeps its events in memory only."""
        with self._spool_open_lock:  # not on the hot path: once per start, fork or stop
            if not self._spool_wanted:
                return
            self._spool_wanted = False
            try:
                self.open_spool()
            except InvalidArgumentError as error:
                self.spool_broken = True
                self.log.warning(
                    "%s: this forked process keeps its events in memory only: %s", self.name, error
                )

    def spool_failed(self, error: BaseException, doing: str) -> None:
        """A spool write failed: write no more (events stay in memory and are delivered as
        usual); one warning."""
        with self._spool_lock:
            first = not self.spool_broken
            self.spool_broken = True
        if first:
            spool = self.spool
            self.log.warning(
                "%s: the spool %s failed while %s (%s); events are kept in memory only from now "
                "on: they are delivered as usual, but a crash would lose those still queued",
                self.name,
                spool.path if spool is not None else self.options.spool_path,
                doing,
                error,
            )
        else:
            self.log.debug("%s: the spool failed again while %s: %s", self.name, doing, error)

    def adopt(self) -> None:
        """Take over what gone processes left in the spool directory, and queue the oldest.

        Runs once (the first worker, or the first ``flush``); a second caller waits until the
        first has queued what fits, so a ``flush`` that follows covers the leftovers too.
        """
        self.ensure_spool()
        spool = self.spool
        if spool is None or self.spool_broken:
            return
        with self._refill_lock:
            if self._adopted:
                return
            self._adopted = True
            adopted = spool.adopt_orphans()
            self._backlog = adopted > 0
            if adopted:
                self.log.info(
                    "%s: %d events left by an earlier process are sent first", self.name, adopted
                )
                self._refill_now(spool)

    def refill(self) -> None:
        """Queue adopted leftovers, oldest first, as far as the bounds allow.

        Only adopted leftovers can be on disk and not in memory: events accepted by this process
        are always queued in memory as well.
        """
        spool = self.spool
        if spool is None or not self._backlog:
            return
        # Wait for a refill (or the adoption) under way rather than skip: one that was finishing
        # when this delivery made room would leave the rest of the backlog on disk, with no
        # later delivery to ask again.
        with self._refill_lock:
            self._refill_now(spool)

    def _refill_now(self, spool: Spool) -> None:
        with self.lock:
            room = self.room_events - len(self.items)
        if room <= 0:
            return
        rows = spool.adopted(self._backlog_after, room)
        if not rows:
            self._backlog = False
            return
        with self.lock:
            self.items.extendleft(reversed([(r.payload, r.key, r.row) for r in rows]))
            size = sum(len(r.payload) for r in rows)
            self.bytes += size
            self.enqueued += len(rows)
            self.first_at = time.monotonic() - self.options.flush_interval  # due at once
            self.attempted_rows.update(r.row for r in rows if r.attempted)
        self._backlog_after = rows[-1].row

    def mark_attempted(self, batch: _Batch) -> None:
        spool = self.spool
        if spool is not None and not self.spool_broken:
            rows = [row for _, _, row in batch.entries if row is not None]
            if rows:
                try:
                    spool.mark_attempted(rows)
                except Exception as error:  # a full disk: the send goes ahead all the same
                    self.spool_failed(error, "marking events as sent")

    def close_spool(self, kept: int) -> None:
        """Let go of the spool (its lock too, so another client may adopt what is left)."""
        spool, self.spool = self.spool, None
        self._spool_wanted = False
        if spool is None:
            return
        if kept:
            self.log.warning("%s: %d events stay in the spool for the next start", self.name, kept)
        try:
            spool.close()
        except Exception:
            self.log.exception("%s: could not close the spool", self.name)

    def after_fork(self) -> None:
        """In a forked child: a fresh queue; the parent's events and spool stay the parent's.

        Nothing here touches SQLite: the child's spool is opened on its first event."""
        old_spool = self.spool
        self._fresh()
        if old_spool is not None:
            old_spool.abandon_after_fork()
            self._spool_wanted = True


# ---- the registry for fork and exit -----------------------------------------------------------

_live: weakref.WeakSet[Any] = weakref.WeakSet()
_registry_lock = threading.Lock()
_hooks_installed = False


def _register(batcher: Any) -> None:
    global _hooks_installed
    with _registry_lock:
        _live.add(batcher)
        if not _hooks_installed:
            os.register_at_fork(after_in_child=_after_fork_in_child)
            atexit.register(_drain_at_exit)
            _hooks_installed = True
            _hook_multiprocessing_exit()
    _guard_signals()


def _after_fork_in_child() -> None:
    global _registry_lock, _drain_lock, _dying, _main_thread_asked
    _registry_lock = threading.Lock()
    _drain_lock = threading.Lock()
    _dying = False
    _main_thread_asked = False
    for batcher in list(_live):
        batcher._after_fork()
    # A multiprocessing child ends with os._exit(), which skips atexit: drain through the exit
    # hook that multiprocessing runs itself. Its child clears the finalizers it inherited after
    # this hook, then runs the after-fork callbacks: the drain is registered from there.
    global _multiprocessing_hooked
    util = sys.modules.get("multiprocessing.util")
    if util is not None and not _multiprocessing_hooked:
        util.register_after_fork(_MULTIPROCESSING_TOKEN, _drain_at_multiprocessing_exit)
        _multiprocessing_hooked = True


def _hook_multiprocessing_exit() -> None:
    """In a process that multiprocessing started (spawn, forkserver: uvicorn --workers), the
    first client registers the drain with multiprocessing's exit hook (atexit does not run)."""
    process = sys.modules.get("multiprocessing.process")
    if process is None or process.parent_process() is None:
        return
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _drain_at_exit, exitpriority=100)


class _Token:
    """Something multiprocessing can hold a weak reference to."""


_MULTIPROCESSING_TOKEN = _Token()
_multiprocessing_hooked = False


def _drain_at_multiprocessing_exit(_token: _Token) -> None:
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _drain_at_exit, exitpriority=100)


def _drain_at_exit() -> None:
    """The exit hook: drain every batcher whose stop did not finish (never stopped, or its stop
    was interrupted), within the longest ``shutdown_timeout``; then let a signal that the exit
    guard held back end the process."""
    try:
        _drain_all()
    finally:
        _release_deferred_signals()


def _drain_all() -> None:
    with _drain_lock:
        live = list(_live)
        for stopped in (b for b in live if b._finished):
            stopped._core.log_unlogged_drops()  # refused after its stop
        batchers = [b for b in live if not b._finished]
        if not batchers:
            return
        deadline = time.monotonic() + _exit_budget(batchers)
        for batcher in batchers:
            try:
                batcher._stop_at_exit(deadline)
            except Exception:
                batcher._core.log.exception("%s: draining at exit failed", batcher._core.name)


_drain_lock = threading.Lock()


def _exit_budget(batchers: list[Any]) -> float:
    return max((b._core.options.shutdown_timeout for b in batchers), default=0.0)


def _release(core: _Core, release: Callable[[], Any] | None) -> None:
    """Close a stopped client's connections (once its stop is finished)."""
    if release is None:
        return
    try:
        release()
    except Exception:
        core.log.exception("%s: closing the connections failed", core.name)


# ---- the exit guard: drain before a death by signal -------------------------------------------
#
# A server stopped with SIGTERM often dies by that signal after its graceful shutdown: uvicorn
# (and gunicorn's uvicorn workers) put back the handler that was there before them and raise the
# signal again. With the default disposition the process then ends at once: no atexit hook runs,
# and what is queued would be lost. So, on the main thread, at a client's creation and at its
# first event (from another thread: by the main thread's event loop, asked to; see
# ``_guard_from_main_thread``), SIGTERM gets a guard where its handler is the default disposition
# or a handler of the host's, and SIGINT where it has the default disposition (never where they
# are ignored, nor over Python's own SIGINT handler, whose KeyboardInterrupt exits through the
# exit hook anyway, nor over a program's own SIGINT handler: Ctrl-C stays the program's):
# - over the default disposition (the signal would kill the process now), the guard drains every
#   batcher as the exit hook does (within ``shutdown_timeout``), then restores the default and
#   raises the signal again: the process dies by it, as it would have, a drain later. A second
#   signal during the drain ends it at once.
# - over a host's handler (uvicorn's while it serves), the guard blocks that signal on the main
#   thread, then calls the host's handler, which shuts down as it always does. If the host then
#   raises the signal again with the default restored, the signal stays pending instead of
#   killing the process at once; the interpreter exits normally, the exit hook drains, and then
#   unblocks the signal: the process dies by it.
# The guard never swallows a signal and never waits longer than the longest shutdown_timeout (plus
# a second); a handler installed after it (by the host) replaces it, as the host intends.

_GUARDED_SIGNALS = ("SIGTERM", "SIGINT")
_WRAPPED_SIGNALS = ("SIGTERM",)  # the guard goes over a handler of the host's for these only
_deferred_signals: set[int] = set()  # signals the guard blocked on the main thread
_dying = False


class _Guard:
    """The handler put in place for one signal; ``previous`` is the handler it replaced."""

    __slots__ = ("previous", "signum")

    def __init__(self, signum: int, previous: Any) -> None:
        self.signum = signum
        self.previous = previous

    def __call__(self, signum: int, frame: Any) -> Any:
        import signal

        previous = self.previous
        if previous == signal.SIG_DFL or not callable(previous):
            _drain_then_die(signum)
            return None
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signum})
            _deferred_signals.add(signum)
        return previous(signum, frame)

    def __repr__(self) -> str:
        return f"<session-analytics exit guard for signal {self.signum}, then {self.previous!r}>"


def _guard_signals() -> None:
    """Put the guard in place for SIGTERM and SIGINT where it is needed (main thread only; from
    another thread, the main thread is asked to)."""
    if threading.current_thread() is not threading.main_thread():
        _guard_from_main_thread()
        return
    import signal

    for name in _GUARDED_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            current = signal.getsignal(signum)
            if isinstance(current, _Guard) or current is None or current == signal.SIG_IGN:
                continue
            if current != signal.SIG_DFL and name not in _WRAPPED_SIGNALS:
                continue  # SIGINT: Python's KeyboardInterrupt, or a handler of the program's
            signal.signal(signum, _Guard(signum, current))
        except (ValueError, OSError, RuntimeError):  # not the main interpreter, say
            continue


_main_thread_asked = False  # this process asked its main thread to put the guard in place


def _guard_from_main_thread() -> None:
    """Only the main thread can set a signal handler. A client used only from other threads (a
    sync endpoint that a server runs in its thread pool, say, while its event loop on the main
    thread holds the signal handlers) asks that event loop to put the guard in place, once per
    process. Where no event loop of the main thread can be found, a warning says what is at
    risk (a death by SIGTERM would skip the exit drain)."""
    global _main_thread_asked
    if _main_thread_asked:
        return
    import signal

    sigterm = getattr(signal, "SIGTERM", None)
    if sigterm is None:
        return
    try:
        current = signal.getsignal(sigterm)
    except (ValueError, OSError, RuntimeError):
        return
    if isinstance(current, _Guard) or current is None or current == signal.SIG_IGN:
        return
    _main_thread_asked = True
    loop = _main_thread_loop()
    if loop is not None:
        try:
            loop.call_soon_threadsafe(_guard_signals)
            return
        except RuntimeError:  # the loop is closed
            pass
    # Over the default disposition SIGTERM would end the process with no exit hook; a host's
    # handler most often exits normally (the exit hook drains), unless it raises it again.
    logger.log(
        logging.WARNING if current == signal.SIG_DFL else logging.INFO,
        "session-analytics: the exit guard for SIGTERM cannot be put in place from this thread "
        "(only the main thread can set a signal handler, and it runs no event loop to ask): "
        "if the process dies by SIGTERM, queued events are lost; create a client or queue an "
        "event on the main thread, or close the clients when the host shuts down",
    )


def _main_thread_loop() -> Any:
    """The asyncio event loop running on the main thread, or None: the loop that handed this
    thread its work (anyio's thread pool: Starlette, FastAPI) when it is known to run on the
    main thread, else the loop found on the main thread's stack, else anyio's loop whose thread
    cannot be told (on another thread, the guard it is asked to put in place does nothing)."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    main = threading.main_thread()
    anyio_loop = sys.modules.get("anyio._core._eventloop")
    token = getattr(getattr(anyio_loop, "threadlocals", None), "current_token", None)
    native = getattr(token, "native_token", None)
    if not isinstance(native, asyncio.AbstractEventLoop):
        native = None
    thread_id = getattr(native, "_thread_id", None)
    if native is not None and thread_id == main.ident:
        return native
    on_stack = _loop_on_stack(main, asyncio)
    if on_stack is not None:
        return on_stack
    return native if thread_id is None else None


def _loop_on_stack(main: threading.Thread, asyncio: Any) -> Any:
    """The event loop (or the ``asyncio.Runner`` of one) that the main thread is running."""
    frame = sys._current_frames().get(main.ident or 0)
    while frame is not None:
        if frame.f_code.co_name in ("run", "run_forever", "_run_once", "run_until_complete"):
            owner = frame.f_locals.get("self")
            if isinstance(owner, asyncio.AbstractEventLoop):
                return owner
            runner_loop = getattr(owner, "_loop", None) if _is_runner(owner) else None
            if isinstance(runner_loop, asyncio.AbstractEventLoop):
                return runner_loop
        frame = frame.f_back
    return None


def _is_runner(owner: Any) -> bool:
    runner = getattr(sys.modules.get("asyncio"), "Runner", None)
    return runner is not None and isinstance(owner, runner)


def _drain_then_die(signum: int) -> None:
    """The signal would end the process now: drain first (on a thread of its own, so that a
    lock held by the interrupted code cannot hold the drain up past its deadline), then let the
    default disposition act."""
    import signal

    global _dying
    if not _dying:
        _dying = True
        unfinished = [b for b in list(_live) if not b._finished]
        if unfinished:
            drain = threading.Thread(
                target=_drain_all, name="session-analytics-exit-drain", daemon=True
            )
            drain.start()
            with contextlib.suppress(BaseException):  # a second signal: die now
                drain.join(_exit_budget(unfinished) + 1.0)
    signal.signal(signum, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    signal.raise_signal(signum)


def _release_deferred_signals() -> None:
    """After the exit drain: unblock the signals the guard held back; one raised again by the
    host meanwhile is delivered now, with the handler the host restored."""
    if not _deferred_signals or threading.current_thread() is not threading.main_thread():
        return
    import signal

    deferred = set(_deferred_signals)
    _deferred_signals.clear()
    with contextlib.suppress(KeyboardInterrupt):  # Python's SIGINT handler, restored
        signal.pthread_sigmask(signal.SIG_UNBLOCK, deferred)


def _report(
    core: _Core, listener: ErrorListener | None, entries: list[Entry], error: BaseException
) -> None:
    """Hand events given up on to ``on_error`` (or the log, when there is no listener)."""
    if not entries:
        return
    if listener is None:
        core.log.error(
            "%s: %d events were not delivered: %s (pass on_error= to receive them)",
            core.name,
            len(entries),
            error,
        )
        return
    try:
        listener([decode(payload) for payload, _, _ in entries], error)
    except Exception:
        core.log.exception("%s: the on_error listener raised", core.name)


def _shutdown_report(core: _Core, left: list[Entry]) -> None:
    _report(
        core,
        core.options.on_error,
        left,
        ShutdownError(f"{len(left)} events not confirmed delivered before the stop deadline"),
    )


def _logger_of(sender: Any) -> logging.Logger:
    found: logging.Logger = getattr(sender, "logger", logger)
    return found


def _sender_after_fork(sender: Any) -> None:
    """A sender that holds connections gets new ones in the child (never the parent's)."""
    reset = getattr(sender, "after_fork", None)
    if reset is not None:
        reset()


def _final(outcome: Failed, batch: _Batch) -> BaseException:
    if outcome.retryable:
        maybe = f"; {batch.suspects} of them may have arrived" if batch.suspects else ""
        gave_up = GaveUpError(f"still failing after retrying: {outcome.error}{maybe}")
        gave_up.__cause__ = outcome.error
        return gave_up
    return outcome.error


def _disk_full(error: BaseException) -> bool:
    """ENOSPC or EDQUOT, as an OSError or as SQLite's SQLITE_FULL."""
    import errno

    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    return getattr(error, "sqlite_errorcode", None) == 13 or "disk is full" in str(error)


def _adopt_safely(core: _Core) -> None:
    try:
        core.adopt()
    except Exception:  # the spool failing must not kill a worker nor a flush
        core.log.exception("%s: adopting spooled leftovers failed", core.name)


def _refill_safely(core: _Core) -> None:
    try:
        core.refill()
    except Exception:  # the spool failing must not kill a worker
        core.log.exception("%s: reading spooled leftovers failed", core.name)


# ---- the sync driver: worker threads ----------------------------------------------------------


class Batcher:
    """Queue + worker threads. ``enqueue`` is the hot path."""

    def __init__(self, sender: Sender, options: BatchingOptions) -> None:
        self._sender = sender
        self._core = _Core(options, sender.name, _logger_of(sender))
        self._core.open_spool()
        # Called once the stop is finished (by stop() or by the exit hook): the client closes
        # its connections there.
        self.release: Callable[[], Any] | None = None
        self._init_sync()
        _register(self)

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
                self._settled.wait_for(
                    lambda: core.fits(len(payload)) or not self._accepting,
                    core.options.block_timeout,
                )
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
        _guard_signals()

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
        deadline = time.monotonic() + timeout
        _adopt_safely(core)
        with self._wake:
            target = core.taken + len(core.items)
            core.flush_target = max(core.flush_target, target)
            self._wake.notify_all()
            while core.unsettled_before(target):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._waiting += 1
                self._settled.wait(min(left, 0.05))
                self._waiting -= 1
            return FlushResult(core.unsettled_before(target))

    def stop(self, timeout: float = 10.0) -> FlushResult:
        """Refuse new events, deliver what is queued within ``timeout``, then stop the workers.

        What is still undelivered at the deadline is handed to ``on_error`` (or left in the
        spool for the next start), never dropped silently.
        """
        return self._stop(time.monotonic() + timeout)

    def _stop(self, deadline: float, *, at_exit: bool = False) -> FlushResult:
        """Stop accepting, let the workers deliver until ``deadline``, then hand over the rest.

        Interrupted while waiting (Ctrl-C), it raises and the stop is not finished: the workers
        go on delivering, and the next ``stop()`` or the exit hook finishes it. At exit, an
        interrupt only cuts the wait short."""
        core = self._core
        if not at_exit and not self._finished and deadline > time.monotonic():
            # What processes that died left in the spool is sent too (or said to be waiting).
            core.ensure_spool()
            _adopt_safely(core)
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
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._settled.wait(min(left, 0.1))
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
            _shutdown_report(core, report)
            core.close_spool(kept)
            core.log_unlogged_drops()
            self._workers = []
            self._finished = True
        _release(core, self.release)
        return FlushResult(pending)

    def _stop_at_exit(self, deadline: float) -> None:
        result = self._stop(deadline, at_exit=True)
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
        _adopt_safely(core)
        while True:
            with self._wake:
                while True:
                    if self._stop_now.is_set():
                        return
                    now = time.monotonic()
                    if core.ready(now):
                        batch = core.take(now)
                        break
                    if core.stopping and core.workers_done():
                        self._wake.notify()  # pass it on: the next worker ends too
                        return
                    self._idle += 1
                    self._wake.wait(core.wait_time(now))
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
            _refill_safely(core)

    def _deliver(self, batch: _Batch) -> None:
        """One attempt; a retry is parked, not slept on, so this worker goes on with others."""
        core = self._core
        try:
            core.mark_attempted(batch)
            outcome = self._sender.send(batch.entries)
            delay = core.next_step(batch, outcome, self._sender.deduplicates)
            if delay is not None:
                core.park(batch, delay)
            elif isinstance(outcome, Failed) and not batch.abandoned:
                _report(core, core.options.on_error, batch.entries, _final(outcome, batch))
        except Exception as error:  # a bug must not kill the worker with events in hand
            core.log.exception("%s: sending a batch failed unexpectedly", core.name)
            core.next_step(batch, Failed(error, retryable=False), self._sender.deduplicates)
            if not batch.abandoned:
                _report(core, core.options.on_error, batch.entries, error)
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
        _sender_after_fork(self._sender)


# ---- the asyncio driver: tasks of the running loop --------------------------------------------

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

    def __init__(self, sender: AsyncSender, options: BatchingOptions) -> None:
        if options.overflow == "block":
            raise InvalidArgumentError(
                "overflow='block' would block the event loop; async clients use 'drop_newest'",
                field="overflow",
            )
        self._sender = sender
        self._core = _Core(options, sender.name, _logger_of(sender))
        self._core.open_spool()
        # Awaited once the stop is finished: the client closes its connections there.
        self.release: Callable[[], Awaitable[Any]] | None = None
        self._init_async()
        _register(self)

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
        _guard_signals()

    def _spawn(self) -> None:
        """One more worker task (the fewest start at once; more as the limit grows)."""
        assert self._loop is not None
        name = f"session-analytics-{self._core.name}-{len(self._tasks)}"
        self._tasks.append(self._loop.create_task(self._work(), name=name))

    async def flush(self, timeout: float = 10.0) -> FlushResult:
        import asyncio

        loop = _running_loop()
        if loop is not self._loop and self._accepting:
            self._bind(loop)
        core = self._core
        deadline = time.monotonic() + timeout
        _adopt_safely(core)
        with core.lock:
            target = core.taken + len(core.items)
            core.flush_target = max(core.flush_target, target)
        self._notify()
        while True:
            with core.lock:
                pending = core.unsettled_before(target)
            if not pending:
                return FlushResult(0)
            left = deadline - time.monotonic()
            if left <= 0:
                return FlushResult(pending)
            await asyncio.sleep(min(left, 0.01))

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
            deadline = time.monotonic() + timeout
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
            _adopt_safely(core)
            with core.lock:
                self._accepting = False
                core.stopping = True
            if core.items and self._loop is not loop:
                self._bind(loop)
            live = [t for t in self._tasks if self._loop is loop]
            if live:
                self._notify()
                await asyncio.wait(live, timeout=max(0.0, deadline - time.monotonic()))
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
        _shutdown_report(core, report)
        core.close_spool(kept)
        core.log_unlogged_drops()
        self._tasks = []
        self._finished = True
        return FlushResult(pending)

    def _stop_at_exit(self, deadline: float) -> None:
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
        import asyncio

        core = self._core
        wake, stop_now = self._wake, self._stop_now
        assert wake is not None
        assert stop_now is not None
        _adopt_safely(core)
        while not stop_now.is_set():
            with core.lock:
                now = time.monotonic()
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
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(wake.wait(), wait)
                finally:
                    self._idle -= 1
                continue
            await self._deliver(batch)
            _refill_safely(core)

    async def _deliver(self, batch: _Batch) -> None:
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
                _report(core, core.options.on_error, batch.entries, _final(outcome, batch))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            core.log.exception("%s: sending a batch failed unexpectedly", core.name)
            core.next_step(batch, Failed(error, retryable=False), self._sender.deduplicates)
            if not batch.abandoned:
                _report(core, core.options.on_error, batch.entries, error)
        with core.lock:
            due = self._idle and core.ready(time.monotonic())
        if due and self._wake is not None:
            self._wake.set()  # a slot is free and work is due: an idle task takes it

    def _after_fork(self) -> None:
        accepting = self._accepting
        finished = self._finished
        self._core.after_fork()
        self._init_async()
        self._accepting = accepting
        self._finished = finished
        _sender_after_fork(self._sender)
