"""The queue behind one batcher, shared by both drivers: its bounds and counters, the batches
taken from it, and the delivery decisions (retry back-off, pausing, settling). I/O-free but for
the opt-in spool (``backlog``); the drivers (``threads``, ``tasks``) only wait and send.

The caller's thread only appends here: about two microseconds, a lock held for a few hundred
nanoseconds (with a spool, plus one SQLite commit). Failed sends are retried with capped
exponential back-off (at most ``retry_max_delay`` apart, so delivery resumes within about a
second of the API coming back), never sooner than Retry-After. A batch waiting for its retry
does not hold a worker, but it still counts against the queue's bounds; and when every worker's
last send failed, no new batch goes out until the back-off (or the Retry-After) has passed, so
an API that is down or rate limiting is not hammered.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
from collections import deque

import attrs

from .. import telemetry
from .._retry import RetryPolicy
from .backlog import SpoolBacklog
from .clock import Clock
from .concurrency import ConcurrencyLimit
from .drops import DropLog, Refusal, report_undelivered
from .options import BatcherStats, BatchingOptions
from .outcome import Delivered, Entry, SendOutcome


@attrs.define(eq=False)
class Batch:
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


class Core(SpoolBacklog):
    """The queue, its limits and counters, and the delivery decisions: shared by both drivers.

    Every field is guarded by ``lock``. Nothing slow happens under it (listeners and logging run
    after it is released) except the spool insert of an accepted event, which is opt-in and must
    be on disk before the caller goes on.
    """

    # Slots: read on every event, they are faster than an instance dict this size.
    __slots__ = (
        "_batch_bytes",
        "_flush_at",
        "_max_bytes",
        "_max_events",
        "_parked_seq",
        "attempted_rows",
        "batch_cap",
        "bytes",
        "clock",
        "delivered",
        "dropped",
        "drops",
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
        "now",
        "options",
        "parked",
        "paused_until",
        "policy",
        "possible_duplicates",
        "retried",
        "room_bytes",
        "room_events",
        "sending",
        "stopping",
        "taken",
    )

    def __init__(
        self, options: BatchingOptions, name: str, log: logging.Logger, clock: Clock
    ) -> None:
        self.options = options
        self.name = name
        self.log = log
        self.clock = clock
        self.now = clock.now  # read on every event that starts a queue
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
        self.items: deque[Entry] = deque()
        self.bytes = 0  # queued, not taken
        # The bounds minus what is taken and not settled yet: the room left for the queue.
        self.room_events, self.room_bytes = self._max_events, self._max_bytes
        self.first_at = 0.0
        self.taken = 0
        self.flush_target = 0  # sends are forced until ``taken`` reaches it
        self.stopping = False
        self.in_flight: list[Batch] = []  # taken, not settled (parked included)
        self.parked: list[tuple[float, int, Batch]] = []  # (due, tie-break, batch), a heap
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
        self.drops = DropLog(self.name, self.log, self.options.on_drop, self.now)
        self._fresh_backlog()
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
            self.first_at = self.now()
        self.items.append((payload, key, row))
        before = self.bytes
        self.bytes = queued = before + len(payload)
        self.enqueued += 1
        count = len(self.items)
        return count == 1 or count == self._flush_at or before < self._batch_bytes <= queued

    def refuse(self, payload: bytes, why: str) -> Refusal:
        """Count a refused event (see ``drops``); reported by ``report_refusal``."""
        self.dropped += 1
        return self.drops.refused(payload, why)

    def report_refusal(self, refusal: Refusal) -> None:
        """Log (at most once per interval) and tell ``on_drop``; the lock is NOT held."""
        self.drops.report(refusal)

    def log_unlogged_drops(self) -> None:
        """At a stop (or at exit): log the drops summed since the last warning, once."""
        with self.lock:
            unlogged, first = self.drops.take_unlogged()
        if unlogged:
            self.drops.log_counts(unlogged, first=first)

    def give_up(self, entries: list[Entry], error: BaseException) -> None:
        """Hand events given up on to ``on_error`` (or the log); the lock is NOT held."""
        report_undelivered(self.name, self.log, self.options.on_error, entries, error)

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

    def take(self, now: float) -> Batch:
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
        batch = Batch(entries, now, size, self.taken, sent_at=now)
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

    def park(self, batch: Batch, delay: float) -> None:
        with self.lock:
            if batch.abandoned:
                return
            due = self.now() + delay
            for piece in self._split(batch):
                self._parked_seq += 1
                heapq.heappush(self.parked, (due, self._parked_seq, piece))

    def _split(self, batch: Batch) -> list[Batch]:
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
                Batch(part, batch.started, size, batch.seq, batch.attempts, suspects=suspects)
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

    def unsettled_before(self, seq: int) -> int:
        """Events among the first ``seq`` taken or queued that are not settled yet."""
        queued = max(0, seq - self.taken)
        flying = sum(len(b.entries) for b in self.in_flight if b.seq < seq and not b.abandoned)
        return queued + flying

    # ---- deciding (worker, lock NOT held) ----------------------------------------------------

    def next_step(self, batch: Batch, outcome: SendOutcome, deduplicates: bool) -> float | None:
        """Record an outcome: None when the batch is settled, else seconds until its retry."""
        now = self.now()
        if telemetry.active:
            telemetry.record_send(self.name, now - batch.sent_at, isinstance(outcome, Delivered))
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

    def _attempt_over(self, batch: Batch, outcome: SendOutcome, now: float) -> None:
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

    def _settle(self, batch: Batch, *, delivered: bool, deduplicates: bool) -> None:
        self._unspool(batch, delivered=delivered)  # off the disk before flush() sees it settled
        with self.lock:
            self._account(batch, delivered=delivered, deduplicates=deduplicates)

    def _account(self, batch: Batch, *, delivered: bool, deduplicates: bool) -> None:
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
        report, kept = self.sort_leftovers(self.abandon_all())
        with self.lock:
            self.failed += len(report)
        return report, kept

    def queue_adopted(self, entries: list[Entry], attempted: list[int]) -> None:
        """Put leftovers adopted from the spool at the front of the queue, due at once."""
        with self.lock:
            self.items.extendleft(reversed(entries))
            self.bytes += sum(len(payload) for payload, _, _ in entries)
            self.enqueued += len(entries)
            self.first_at = self.now() - self.options.flush_interval  # due at once
            self.attempted_rows.update(attempted)

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
            self.first_at = self.now() - self.options.flush_interval

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

    def after_fork(self) -> None:
        """In a forked child: a fresh queue; the parent's events and spool stay the parent's.

        Nothing here touches SQLite: the child's spool is opened on its first event."""
        old_spool = self.spool
        self._fresh()
        if old_spool is not None:
            old_spool.abandon_after_fork()
            self._spool_wanted = True
