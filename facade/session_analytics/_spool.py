"""The spool: accepted events on disk until the server acknowledges them.

``spool_path`` is a directory. Each process (and each child after ``fork()``) writes its own
SQLite file there, ``spool-<token>.sqlite3``, and holds an exclusive lock on
``spool-<token>.lock`` while it lives. On start, a process adopts the files of owners that are no
longer alive (their lock is free): their events are sent first, with the Idempotency-Key they
were given when first accepted, so a FullStory event re-sent after a crash is not recorded twice.

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

import attrs

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    payload BLOB NOT NULL,
    key TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
)
"""


@attrs.frozen
class SpooledEvent:
    row: int
    payload: bytes
    key: str | None
    attempted: bool


class Spool:
    """One process's spool file, plus adoption of the files that dead processes left behind."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.token = secrets.token_hex(8)
        self.path = self.directory / f"spool-{self.token}.sqlite3"
        self._lock_file = open(self.directory / f"spool-{self.token}.lock", "wb")  # noqa: SIM115
        fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._db = _connect(self.path)
        self._mutex = threading.Lock()  # one connection, used by callers and the worker
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

    def pending(self, after_row: int, until_row: int, limit: int) -> list[SpooledEvent]:
        """Rows with ids in (after_row, until_row] still waiting for an acknowledgement."""
        with self._mutex:
            rows = self._db.execute(
                "SELECT id, payload, key, attempts FROM events WHERE id > ? AND id <= ? "
                "ORDER BY id LIMIT ?",
                (after_row, until_row, limit),
            ).fetchall()
        return [SpooledEvent(r[0], bytes(r[1]), r[2], r[3] > 0) for r in rows]

    def last_row(self) -> int:
        with self._mutex:
            row = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()
        return int(row[0])

    def count(self) -> int:
        with self._mutex:
            if self._closed:
                return 0
            row = self._db.execute("SELECT COUNT(*) FROM events").fetchone()
        return int(row[0])

    def adopt_orphans(self) -> int:
        """Move the events of dead owners' spool files into this one; returns how many."""
        moved = 0
        for lock_path, db_path in _orphans(self.directory, self.token):
            with _locked(lock_path) as held:
                if not held:
                    continue  # its owner is alive after all
                if db_path.exists():
                    source = _connect(db_path)
                    try:
                        rows = source.execute(
                            "SELECT payload, key, attempts FROM events ORDER BY id"
                        ).fetchall()
                    finally:
                        source.close()
                    with self._mutex:
                        self._db.execute("BEGIN")
                        self._db.executemany(
                            "INSERT INTO events (payload, key, attempts) VALUES (?, ?, ?)", rows
                        )
                        self._db.execute("COMMIT")
                    moved += len(rows)
                for leftover in _files_of(db_path):
                    leftover.unlink(missing_ok=True)
            lock_path.unlink(missing_ok=True)
        return moved

    def close(self, *, remove_if_empty: bool = True) -> None:
        empty = self.count() == 0
        with self._mutex:
            self._closed = True
            self._db.close()
        if remove_if_empty and empty:
            for leftover in _files_of(self.path):
                leftover.unlink(missing_ok=True)
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()
        if remove_if_empty and empty:
            (self.directory / f"spool-{self.token}.lock").unlink(missing_ok=True)

    def abandon_after_fork(self) -> None:
        """In a forked child: let go of the parent's lock file (the parent keeps the lock: it
        belongs to the parent's open file too) and never touch the parent's database again."""
        self._lock_file.close()
        _ABANDONED.append(self._db)


# A forked child keeps its copy of the parent's SQLite connection forever: closing it there
# could checkpoint and delete the parent's write-ahead log.
_ABANDONED: list[object] = []


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(SCHEMA)
    return db


def _files_of(db_path: Path) -> list[Path]:
    return [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")]


def _orphans(directory: Path, own_token: str) -> Iterator[tuple[Path, Path]]:
    for lock_path in sorted(directory.glob("spool-*.lock")):
        token = lock_path.stem.removeprefix("spool-")
        if token != own_token:
            yield lock_path, directory / f"spool-{token}.sqlite3"


class _locked:
    """Try to take an exclusive lock on a file; ``held`` tells whether we got it."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def __enter__(self) -> bool:
        self._file = open(self._path, "ab")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            self._held = False
            return False
        self._held = True
        return True

    def __exit__(self, *exc: object) -> None:
        if self._held:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
