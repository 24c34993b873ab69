"""The failed-items file of an import and what a stopped import tells: every item that failed or
was not sent, one JSON object per line with an ``_error`` saying why (and, for a chunk that may
have been sent, its Idempotency-Key), and how to resume."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ...errors import FSError
from .._common import command_error

if TYPE_CHECKING:
    from ...fullstory import ImportStopped
    from .interrupts import Interrupts
    from .readers import Source

CELL_CODES = ("invalid_value", "invalid_row", "invalid_utf8")  # saved as the row's cells
NOT_SENT = "not_sent"
MAYBE_SENT = "maybe_sent"
LINE_TOO_LONG = "line_too_long"
NOT_SENT_ERROR = {"code": NOT_SENT, "message": "not sent: the import stopped before this item"}


class FailedFile:
    """Written only when something fails; one JSON object per line, ``_error`` saying why."""

    SHOWN = 5  # failures the summary prints (the file has them all)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        # The first failures, as the summary shows them: (where, code, message); an item the
        # API refused has no line any more (a job's items are forgotten), only its job.
        self.first: list[tuple[str, str, str]] = []
        self.unsaved = 0  # failed items that could not be written (see ``error``)
        self.error: OSError | None = None
        self._file: IO[str] | None = None

    def write(self, item: Any, error: dict[str, Any]) -> None:
        if len(self.first) < self.SHOWN:
            line, job = error.get("line"), error.get("job_id")
            where = f"line {line}" if line is not None else f"job {job}" if job else "an item"
            self.first.append((where, str(error.get("code", "")), str(error.get("message", ""))))
        if self.error is not None:
            self.unsaved += 1
            return
        try:
            self._append_record(item, error)
        except OSError as err:  # the import goes on; the command ends with exit code 2
            self.error = err
            self.unsaved += 1

    def _append_record(self, item: Any, error: dict[str, Any]) -> None:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8")
        if isinstance(item, dict) and error.get("code") in CELL_CODES:
            record: dict[str, Any] = {"_cells": item}  # a CSV row: its cells, to fix
        elif isinstance(item, dict):
            record = dict(item)
        else:
            record = {"_raw": item}
        record["_error"] = error
        self._file.write(json.dumps(record, default=str) + "\n")
        self.count += 1

    def first_lines(self, total: int) -> list[str]:
        """The first failures, one line each, for the console; the rest are in the file."""
        shown = []
        for where, code, message in self.first:
            text = message if len(message) <= 160 else message[:157] + "..."
            shown.append(f"  {where}: {code}: {text}")
        if total > len(shown):
            shown.append(f"  ... and {total - len(shown):,} more in {self.path}")
        return shown

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError as err:
                self.error = self.error or err


class ResumePlan:
    """An import that stopped after it had sent something: what to save, what to tell."""

    def __init__(
        self,
        error: BaseException,
        state: ImportStopped,
        source: Source,
        failed: FailedFile,
        interrupts: Interrupts,
    ) -> None:
        self.why = command_error(error)
        self.state = state
        self.source = source
        self.failed = failed
        self.interrupts = interrupts
        self.api_failed = isinstance(error, FSError)
        self.unread = 0  # items read after the stop, to save them
        self.resume_line: int | None = None  # the input from this line on was not read

    def save(self, items: Iterator[Any]) -> None:
        """Save the items not sent, each with its line (and, when its chunk may have been
        sent, the Idempotency-Key of that chunk): after an API failure the rest of the input
        too (importing the failed file then sends each item once); after anything else (Ctrl-C,
        a bad file) the input is left where it stopped, to resume with --from-line."""
        state, source, failed = self.state, self.source, self.failed
        position = 0
        for chunk in getattr(state, "unsent_chunks", None) or []:
            for item in chunk.items:
                index = state.unsent_indices[position]
                failed.write(item, maybe_sent_error(chunk.idempotency_key, source.line_of(index)))
                position += 1
        maybe_count = maybe_sent_count(state)
        for n in range(position, len(state.unsent)):
            item, index = state.unsent[n], state.unsent_indices[n]
            line = source.line_of(index)
            # The first maybe_count without a known key: check them before importing again.
            maybe = n < maybe_count
            failed.write(
                item, maybe_sent_error(None, line) if maybe else {**NOT_SENT_ERROR, "line": line}
            )
        if not self.api_failed:
            self.resume_line = source.resume_line(state.read)
            return
        # The rest of the input goes to the failed file; a Ctrl-C stops that, and the input
        # is then left where it stopped, to resume with --from-line.
        taken = source.items
        self.interrupts.saving = False
        try:
            for item in items:
                if isinstance(item, dict):
                    failed.write(item, {**NOT_SENT_ERROR, "line": source.last_lines[-1]})
                    self.unread += 1
                else:  # an ImportChunk of a failed file: its items keep their key
                    for each, line in zip(item.items, source.last_lines, strict=True):
                        failed.write(each, maybe_sent_error(item.idempotency_key, line))
                        self.unread += 1
                taken = source.items
                source.settle(taken)
        except KeyboardInterrupt:
            self.resume_line = source.resume_line(taken)
        finally:
            self.interrupts.saving = True

    def report(self) -> str:
        state = self.state
        lines = [f"the import stopped: {self.why}"]
        if state.running_job_ids:
            lines.append(
                f"  {state.running_items:,} items are in jobs that may still be importing them "
                f"({', '.join(state.running_job_ids)}): do not import those items again"
            )
        if state.maybe_sent:
            lines.append(
                f"  {maybe_sent_count(state):,} items may be in a job whose create got no answer "
                f"(code {MAYBE_SENT} in {self.failed.path}): they keep that create's "
                "Idempotency-Key, so importing that file within 24 hours does not import them "
                "twice"
            )
        if self.resume_line is None:
            lines.append(
                f"  every item not sent, and every failed one, is in {self.failed.path}: import "
                "that file once the API works again (each item is sent once)"
            )
        else:
            lines.append(
                f"  the items read but not sent are in {self.failed.path}; the input from line "
                f"{self.resume_line:,} on was not read: import that file, then this one with "
                f"--from-line {self.resume_line}"
            )
        return "\n".join(lines)


def maybe_sent_error(key: str | None, line: int | None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": MAYBE_SENT}
    if key is None:
        error["message"] = (
            "maybe sent: the job for this item may have been created, its create got no "
            "answer; check whether it was imported before importing it again"
        )
    else:
        error["message"] = (
            "maybe sent: the job for this item may have been created, its create got no "
            "answer; importing this file sends it again with the same Idempotency-Key (keep "
            "these lines together and unchanged), so it is not imported twice"
        )
        error["idempotency_key"] = key
    if line is not None:
        error["line"] = line
    return error


def maybe_sent_count(state: Any) -> int:
    """How many of the first unsent items may be in a job whose create got no answer."""
    if not state.maybe_sent:
        return 0
    return int(getattr(state, "maybe_sent_count", 0) or len(state.unsent))
