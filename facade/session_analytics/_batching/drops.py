"""Events the batcher does not deliver, told: a refusal at the door (counted, ``on_drop``, logged
at most once per ``DROP_LOG_INTERVAL_S``), and events given up on (handed to ``on_error``, or
logged when there is no listener)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import attrs

from ..errors import GaveUpError, ShutdownError
from .options import DropListener, ErrorListener
from .outcome import Entry, Failed, decode

DROP_LOG_INTERVAL_S = 10.0

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


@attrs.frozen
class Refusal:
    """An event refused at the door, reported once the lock is released."""

    payload: bytes
    why: str
    # Time to log: the drops summed since the last warning, by reason (None: not yet).
    log_counts: dict[str, int] | None
    first: bool = False  # the first drop warning of this batcher


class DropLog:
    """One batcher's refused events: summed by reason between warnings. ``refused`` and
    ``take_unlogged`` run under the batcher's lock; the rest runs after it is released."""

    __slots__ = ("_drops_logged", "_last_drop_log", "_now", "_unlogged", "log", "name", "on_drop")

    def __init__(
        self,
        name: str,
        log: logging.Logger,
        on_drop: DropListener | None,
        now: Callable[[], float],
    ) -> None:
        self.name = name
        self.log = log
        self.on_drop = on_drop
        self._now = now
        self._unlogged: dict[str, int] = {}  # dropped since the last warning, by reason
        self._last_drop_log = -math.inf
        self._drops_logged = False

    def refused(self, payload: bytes, why: str) -> Refusal:
        """Sum a refused event; the drops are logged at most once per DROP_LOG_INTERVAL_S
        (the rest is summed, and logged by the next warning or at the stop)."""
        unlogged = self._unlogged
        unlogged[why] = unlogged.get(why, 0) + 1
        now = self._now()
        if now - self._last_drop_log < DROP_LOG_INTERVAL_S:
            return Refusal(payload, why, None)
        self._last_drop_log = now
        self._unlogged = {}
        first, self._drops_logged = not self._drops_logged, True
        return Refusal(payload, why, unlogged, first)

    def report(self, refusal: Refusal) -> None:
        """Log (at most once per interval) and tell ``on_drop``; the lock is NOT held."""
        if refusal.log_counts:
            self.log_counts(refusal.log_counts, first=refusal.first)
        if self.on_drop is not None:
            try:
                self.on_drop(decode(refusal.payload))
            except Exception:
                self.log.exception("%s: the on_drop listener raised", self.name)

    def take_unlogged(self) -> tuple[dict[str, int], bool]:
        """The drops summed since the last warning, and whether it is the first warning."""
        unlogged, self._unlogged = self._unlogged, {}
        first = not self._drops_logged
        self._drops_logged = self._drops_logged or bool(unlogged)
        return unlogged, first

    def log_counts(self, counts: dict[str, int], *, first: bool) -> None:
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


def report_undelivered(
    name: str,
    log: logging.Logger,
    listener: ErrorListener | None,
    entries: list[Entry],
    error: BaseException,
) -> None:
    """Hand events given up on to ``on_error`` (or the log, when there is no listener)."""
    if not entries:
        return
    if listener is None:
        log.error(
            "%s: %d events were not delivered: %s (pass on_error= to receive them)",
            name,
            len(entries),
            error,
        )
        return
    try:
        listener([decode(payload) for payload, _, _ in entries], error)
    except Exception:
        log.exception("%s: the on_error listener raised", name)


def shutdown_error(left: list[Entry]) -> ShutdownError:
    return ShutdownError(f"{len(left)} events not confirmed delivered before the stop deadline")


def final_error(outcome: Failed, suspects: int) -> BaseException:
    """What ``on_error`` receives for a batch given up on after this last outcome."""
    if outcome.retryable:
        maybe = f"; {suspects} of them may have arrived" if suspects else ""
        gave_up = GaveUpError(f"still failing after retrying: {outcome.error}{maybe}")
        gave_up.__cause__ = outcome.error
        return gave_up
    return outcome.error
