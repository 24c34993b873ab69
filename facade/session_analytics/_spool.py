"""The spool: accepted events on disk until the server acknowledges them.

``spool_path`` is a directory. Each process (and each child after ``fork()``) writes its own
SQLite file there, ``spool-<token>.sqlite3``, and holds an exclusive lock on
``spool-<token>.lock`` while it lives (the lock file is locked before it gets its name, so no one
ever sees it unlocked). A process adopts the files of owners that are gone (their lock is free,
or there is no lock file at all): their events are sent first, with the Idempotency-Key they were
given when first accepted, so a FullStory event re-sent after a crash is not recorded twice.

fork(): every SQLite call of this module holds one lock, which ``fork()`` takes first (an at-fork
hook), so a child never starts with SQLite's own mutexes held by a parent thread that it does not
have (``sqlite3.connect`` would wait for them forever). The child never uses the parent's
connection (not even to close it: that could checkpoint and remove the parent's write-ahead log);
it opens its own file on its first event, on its own thread.

When the disk is full (or the file cannot be written), the batcher stops writing to the spool and
keeps events in memory only (see ``_batching.backlog``); reading and unlinking still work there.

Durability: WAL journal with ``synchronous=NORMAL``. Every accepted event is committed before
``event()``/``track()`` returns, so a killed process (SIGKILL, OOM kill, crash) loses nothing it
accepted; a power loss or kernel crash may lose the last commits (that would need
``synchronous=FULL`` and an fsync per event). Rows whose delivery was attempted are marked, so
events re-sent after a crash can be counted as possible duplicates where the API cannot dedupe.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import attrs

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    payload BLOB NOT NULL,
    key TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    adopted INTEGER NOT NULL DEFAULT 0
)
"""
ADOPT_CHUNK_ROWS = 10_000

# Held by every SQLite call of this module, and taken by fork() before it forks (released in both
# processes after it): no thread of ours is inside SQLite when a child starts.
_sqlite_lock = threading.Lock()
FORK_WAIT_S = 10.0  # the longest fork() waits for a thread of ours to leave SQLite
_held_for_fork = False


def _before_fork() -> None:
    global _held_for_fork
    _held_for_fork = _sqlite_lock.acquire(timeout=FORK_WAIT_S)


def _after_fork_in_parent() -> None:
    global _held_for_fork
    if _held_for_fork:
        _held_for_fork = False
        _sqlite_lock.release()


def _after_fork_in_child() -> None:
    # A new lock: the child's spools are its own (the parent's are never used there).
    global _held_for_fork, _sqlite_lock
    _held_for_fork = False
    _sqlite_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


@attrs.frozen
class SpooledEvent:
    row: int
    payload: bytes
    key: str | None
    attempted: bool


class Spool:
    """One process's spool file, plus adoption of the files that gone processes left behind."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.token = secrets.token_hex(8)
        self.path = self.directory / f"spool-{self.token}.sqlite3"
        self._lock_path = self.directory / f"spool-{self.token}.lock"
        lock_file = _locked_file(self._lock_path)
        if lock_file is None:  # pragma: no cover - a 64-bit random token collided
            raise OSError(f"{self._lock_path} exists already")
        self._lock_file: IO[bytes] = lock_file
        try:
            with _sqlite_lock:
                self._db = _connect(self.path)
        except BaseException:
            self._lock_path.unlink(missing_ok=True)
            for leftover in _files_of(self.path):
                leftover.unlink(missing_ok=True)
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            raise
        self._mutex = _sqlite_lock  # one connection, used by callers and the worker
        self._closed = False

    # ---- the caller's thread ---------------------------------------------------------------

    def insert(self, payload: bytes, key: str | None) -> int:
        """Commit one accepted event; returns its row id."""
        with self._mutex:
            cursor = self._db.execute(
                "INSERT INTO events (payload, key) VALUES (?, ?)", (payload, key)
            )
        row = cursor.lastrowid
        assert row is not None
        return row

    def delete(self, rows: Iterable[int]) -> None:
        with self._mutex:
            if self._closed:  # a send that outlived stop(): the rows wait for the next start
                return
            self._db.executemany("DELETE FROM events WHERE id = ?", ((row,) for row in rows))

    # ---- the worker -------------------------------------------------------------------------

    def mark_attempted(self, rows: Iterable[int]) -> None:
        with self._mutex:
            if self._closed:
                return
            self._db.executemany(
                "UPDATE events SET attempts = attempts + 1 WHERE id = ?", ((row,) for row in rows)
            )

    def adopted(self, after_row: int, limit: int) -> list[SpooledEvent]:
        """Adopted rows after ``after_row``, oldest first, still waiting for an answer."""
        with self._mutex:
            if self._closed:
                return []
            rows = self._db.execute(
                "SELECT id, payload, key, attempts FROM events WHERE adopted = 1 AND id > ? "
                "ORDER BY id LIMIT ?",
                (after_row, limit),
            ).fetchall()
        return [SpooledEvent(r[0], bytes(r[1]), r[2], r[3] > 0) for r in rows]

    def count(self) -> int:
        with self._mutex:
            if self._closed:
                return 0
            row = self._db.execute("SELECT COUNT(*) FROM events").fetchone()
        return int(row[0])

    def count_adopted(self, after_row: int) -> int:
        """Adopted rows after ``after_row``: leftovers not queued in memory yet."""
        with self._mutex:
            if self._closed:
                return 0
            row = self._db.execute(
                "SELECT COUNT(*) FROM events WHERE adopted = 1 AND id > ?", (after_row,)
            ).fetchone()
        return int(row[0])

    def adopt_orphans(self) -> int:
        """Move the events of gone owners' spool files into this one; returns how many."""
        moved = 0
        for lock_path, db_path in _orphans(self.directory, self.token):
            lock = _take_lock(lock_path)
            if lock is None:
                continue  # its owner is alive, or another process is adopting it
            try:
                if db_path.exists():
                    moved += self._copy_from(db_path)
                for leftover in _files_of(db_path):
                    leftover.unlink(missing_ok=True)
                lock_path.unlink(missing_ok=True)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
                lock.close()
        return moved

    def _copy_from(self, db_path: Path) -> int:
        with self._mutex:
            source = _connect(db_path)
        copied = 0
        try:
            last = 0
            while True:
                with self._mutex:
                    rows = source.execute(
                        "SELECT id, payload, key, attempts FROM events WHERE id > ? ORDER BY id "
                        "LIMIT ?",
                        (last, ADOPT_CHUNK_ROWS),
                    ).fetchall()
                    if not rows:
                        break
                    self._db.execute("BEGIN")
                    self._db.executemany(
                        "INSERT INTO events (payload, key, attempts, adopted) VALUES (?, ?, ?, 1)",
                        [row[1:] for row in rows],
                    )
                    self._db.execute("COMMIT")
                last = rows[-1][0]
                copied += len(rows)
        finally:
            with self._mutex:
                source.close()
        return copied

    def adopted_rows(self, after_row: int) -> list[SpooledEvent]:
        """Every adopted row after ``after_row`` (read only: works on a full disk)."""
        return self.adopted(after_row, -1)

    def discard(self) -> None:
        """Close and remove this spool's files without writing to them (a full disk): only for
        a spool whose events were all delivered or handed to ``on_error``."""
        with self._mutex:
            self._closed = True
            self._db.close()
        for leftover in _files_of(self.path):
            leftover.unlink(missing_ok=True)
        self._lock_path.unlink(missing_ok=True)
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()

    def close(self, *, remove_if_empty: bool = True) -> None:
        empty = self.count() == 0
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            self._db.close()
        if remove_if_empty and empty:
            for leftover in _files_of(self.path):
                leftover.unlink(missing_ok=True)
            self._lock_path.unlink(missing_ok=True)
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()

    def abandon_after_fork(self) -> None:
        """In a forked child: let go of the parent's lock file (the parent keeps the lock: it
        belongs to the parent's open file too) and never touch the parent's database again (no
        SQLite call at all: the child opens a spool of its own on its first event)."""
        self._lock_file.close()
        _ABANDONED.append(self)


# A forked child keeps its copies of the parent's spools (and their SQLite connections) forever:
# closing one there could checkpoint and delete the parent's write-ahead log.
_ABANDONED: list[object] = []


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(SCHEMA)
    return db


def _files_of(db_path: Path) -> list[Path]:
    return [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")]


def _locked_file(path: Path) -> IO[bytes] | None:
    """Create ``path`` already locked (locked under a temporary name, then linked into place);
    None when ``path`` exists."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    handle = open(temporary, "wb")  # noqa: SIM115 - kept open: the lock lives with it
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        os.link(temporary, path)
    except FileExistsError:
        handle.close()
        return None
    finally:
        temporary.unlink(missing_ok=True)
    return handle


def _take_lock(lock_path: Path) -> IO[bytes] | None:
    """The lock of an orphan: an existing lock file nobody holds, or a missing one we create."""
    if not lock_path.exists():
        return _locked_file(lock_path)
    try:
        handle = open(lock_path, "ab")  # noqa: SIM115
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    if not lock_path.exists():  # adopted and removed by someone else meanwhile
        handle.close()
        return None
    return handle


def _orphans(directory: Path, own_token: str) -> Iterator[tuple[Path, Path]]:
    """(lock, database) of every other owner: those with a lock file and those without."""
    tokens = {p.name[len("spool-") : -len(".lock")] for p in directory.glob("spool-*.lock")}
    tokens |= {p.name[len("spool-") : -len(".sqlite3")] for p in directory.glob("spool-*.sqlite3")}
    for token in sorted(tokens - {own_token}):
        yield directory / f"spool-{token}.lock", directory / f"spool-{token}.sqlite3"
