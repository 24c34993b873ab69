"""The spool side of the queue: accepted events kept on disk until settled, the backlog that
gone processes left (adopted, then refilled into the queue as room allows), the hand-over at a
stop deadline, and the fall back to memory only when the disk is full or unwritable."""

from __future__ import annotations

import abc
import logging
import threading
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidArgumentError
from .options import BatchingOptions
from .outcome import Entry

if TYPE_CHECKING:
    from .._spool import Spool
    from .queue import Batch


class SpoolBacklog(abc.ABC):
    """The spool state of a batcher's queue (``queue.Core`` is one). Every method named here
    takes the queue's ``lock`` where it touches the queue; the spool's own writes run outside
    it, except the insert of an accepted event (see ``Core.append``)."""

    __slots__ = (
        "_adopted",
        "_backlog",
        "_backlog_after",
        "_refill_lock",
        "_spool_lock",
        "_spool_open_lock",
        "_spool_wanted",
        "_stale_rows",
        "spool",
        "spool_broken",
    )

    # The queue's own fields, which the spool side reads and feeds.
    options: BatchingOptions
    name: str
    log: logging.Logger
    lock: threading.Lock
    items: deque[Entry]
    room_events: int

    @abc.abstractmethod
    def queue_adopted(self, entries: list[Entry], attempted: list[int]) -> None:
        """Put adopted leftovers at the front of the queue (the queue's own method)."""

    def _fresh_backlog(self) -> None:
        self.spool: Spool | None = None
        # A forked child opens its own spool on its first event (never in the at-fork hook).
        self._spool_wanted = False
        # After a failed write the spool is no longer written to: events are kept in memory only.
        self.spool_broken = False
        self._refill_lock = threading.Lock()
        self._spool_lock = threading.Lock()
        self._spool_open_lock = threading.Lock()
        # Rows of settled events that could not be deleted (a full disk): they must not be sent
        # again by the next process.
        self._stale_rows: set[int] = set()
        # Adopted spool rows after this id may still need queueing.
        self._backlog_after = 0
        self._backlog = False
        self._adopted = False

    def backlog_on_disk(self) -> int:
        """Adopted leftovers still on disk only (not queued in memory yet)."""
        spool = self.spool
        if spool is None or not self._backlog:
            return 0
        try:
            return spool.count_adopted(self._backlog_after)
        except Exception:
            return 0

    def _unspool(self, batch: Batch, *, delivered: bool) -> None:
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

    def sort_leftovers(self, left: list[Entry]) -> tuple[list[Entry], int]:
        """At a stop deadline, of the events not delivered (``left``): those for ``on_error``
        (returned), and how many stay in the spool for the next start (the second value)."""
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
        return report, kept

    def open_spool(self) -> None:
        """Open this process's spool file (at construction: a bad path fails there; a full disk
        does not: the events are then kept in memory only, with a warning)."""
        if self.options.spool_path is None or self.spool is not None:
            return
        from .._spool import Spool

        try:
            self.spool = Spool(Path(self.options.spool_path))
        except Exception as error:
            if disk_full(error):
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
        entries: list[Entry] = [(r.payload, r.key, r.row) for r in rows]
        self.queue_adopted(entries, [r.row for r in rows if r.attempted])
        self._backlog_after = rows[-1].row

    def mark_attempted(self, batch: Batch) -> None:
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


def disk_full(error: BaseException) -> bool:
    """ENOSPC or EDQUOT, as an OSError or as SQLite's SQLITE_FULL."""
    import errno

    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    return getattr(error, "sqlite_errorcode", None) == 13 or "disk is full" in str(error)


def adopt_safely(backlog: SpoolBacklog) -> None:
    try:
        backlog.adopt()
    except Exception:  # the spool failing must not kill a worker nor a flush
        backlog.log.exception("%s: adopting spooled leftovers failed", backlog.name)


def refill_safely(backlog: SpoolBacklog) -> None:
    try:
        backlog.refill()
    except Exception:  # the spool failing must not kill a worker
        backlog.log.exception("%s: reading spooled leftovers failed", backlog.name)
