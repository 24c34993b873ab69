"""``session-analytics import users|events FILE``: any size, streamed, never loaded whole.

NDJSON: one JSON object per line. CSV: a header row; dotted column names make nested fields
(``properties.plan``, ``user.uid``) and a ``:type`` suffix converts the cell (``:int``, ``:real``,
``:bool``, ``:json``; text by default); empty cells are left out.

Every item that fails (a line that is not a JSON object, a row the SDK refuses, an item the API
refuses) is written to the failed file with an ``_error`` object saying why (code, message and,
when known, the line): fix the lines in place and import that file again, the ``_error`` key is
ignored. A line that was not JSON keeps its text as ``_raw``; a CSV row whose cells did not
convert keeps them as ``_cells`` (with their ``:type`` headers): fix the text or the cell.

A line longer than --max-line-bytes (1 MiB) is not read whole: it fails alone
(``line_too_long``, with its line number; its text is not kept).

If the API stops working midway, the items not sent yet are written there too (code
``not_sent``), and the jobs already created are listed: they may still be importing, so their
items must not be sent again. Items whose job create got no answer (code ``maybe_sent``) keep
the create's Idempotency-Key: importing the failed file sends them again as that same chunk
with that key, so a job that was created is not created twice. Importing the failed file then
sends each item once. Ctrl-C saves the same way and names the line to resume from.
Exit 0 when everything was imported, 1 when some items failed, 3 when the API stopped working
(or kept answering 429 for longer than --max-rate-limited-wait), 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import FSError
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    add_fullstory_options,
    command_error,
    fail,
    fullstory_client,
)

if TYPE_CHECKING:
    from ..fullstory import ImportStopped

TICK_ITEMS = 1000
# A longer line fails alone, never held whole. An item of 1 MiB is far beyond what a batch of
# any use can carry, and parsing a line can take some 45 times its size (the worst case, a line
# of empty objects): 1 MiB keeps the command well under 200 MiB whatever the input.
MAX_LINE_BYTES = 1024 * 1024
SKIP_PIECE = 1024 * 1024  # a line too long is read to its end in pieces of this size
BIG_LINE = 64 * 1024  # a line this long that cannot be an object is not parsed
EXPECTED = {"int": "a whole number", "real": "a number", "bool": "true or false", "json": "JSON"}
CELL_CODES = ("invalid_value", "invalid_row", "invalid_utf8")  # saved as the row's cells
NOT_SENT = "not_sent"
MAYBE_SENT = "maybe_sent"
LINE_TOO_LONG = "line_too_long"
CONVERTERS = {
    "str": str,
    "int": int,
    "real": float,
    "bool": lambda v: {"true": True, "false": False, "1": True, "0": False}[v.strip().lower()],
    "json": json.loads,
}


def register(commands: Any) -> None:
    imports = commands.add_parser(
        "import",
        help="import users or events from an NDJSON or CSV file of any size",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = imports.add_subparsers(title="what", metavar="WHAT", required=True)
    for kind in ("users", "events"):
        parser = sub.add_parser(
            kind,
            help=f"import {kind} through batch import jobs",
            description=f"Import {kind} from FILE (or - for standard input) through batch "
            "import jobs of at most 50,000 items, with a live progress bar.",
        )
        parser.add_argument("file", help="an .ndjson/.jsonl or .csv file, or - for stdin")
        parser.add_argument(
            "--format", choices=["ndjson", "csv"], help="default: from the file name (ndjson)"
        )
        parser.add_argument(
            "--failed-file", help="where failed items go (default: FILE.failed.ndjson)"
        )
        parser.add_argument(
            "--jobs-in-flight", type=int, default=4, help="import jobs running at once (4)"
        )
        parser.add_argument(
            "--chunk-size", type=int, default=50_000, help="items per job (at most 50000)"
        )
        parser.add_argument(
            "--poll-interval", type=float, default=2.0, help="seconds between job polls (2)"
        )
        parser.add_argument(
            "--from-line",
            type=int,
            default=1,
            metavar="N",
            help="start at line N of FILE (to resume where a stopped import said; default 1)",
        )
        parser.add_argument(
            "--max-rate-limited-wait",
            type=float,
            default=600.0,
            metavar="SECONDS",
            help="stop (exit 3, saving what was not sent) when the API has refused job creates "
            "with 429 for this long in a row (600)",
        )
        parser.add_argument(
            "--max-line-bytes",
            type=int,
            default=MAX_LINE_BYTES,
            metavar="BYTES",
            help="a longer line fails alone (line_too_long), without being held in memory "
            f"({MAX_LINE_BYTES}, 1 MiB)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
        if kind == "events":
            parser.add_argument(
                "--shared-context", help="a JSON context applied to every event of the file"
            )
        add_fullstory_options(parser)
        parser.set_defaults(run=_import, kind=kind)


class _TooLong:
    """A line longer than --max-line-bytes: its size (with its end of line) and length."""

    __slots__ = ("length", "size")

    def __init__(self, size: int, length: int) -> None:
        self.size = size
        self.length = length


class _Interrupts:
    """Ctrl-C, made to land between two lines of the input, never inside one: while a line is
    being taken in (``hold()`` .. ``release()``) it is put off to ``release()``. Elsewhere it
    raises KeyboardInterrupt at once, as usual. While what was not sent is saved, it is
    ignored."""

    def __init__(self) -> None:
        self.held = False
        self.pending = False
        self.saving = False
        self._old: Any = None

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.saving:
            return
        if self.held:
            self.pending = True
            return
        raise KeyboardInterrupt

    def hold(self) -> None:
        self.held = True

    def release(self) -> None:
        self.held = False
        if self.pending and not self.saving:
            self.pending = False
            raise KeyboardInterrupt


class _Source:
    """Reads items lazily, counting bytes (for the progress bar) and line numbers. Lines that
    fail go to the failed file at once; a line is either taken in whole (handed out, or saved
    as failed, and ``line_done`` moved past it) or not at all, whenever a Ctrl-C lands."""

    def __init__(
        self,
        path: str,
        fmt: str | None,
        from_line: int = 1,
        *,
        failed: _FailedFile | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        interrupts: _Interrupts | None = None,
    ) -> None:
        self.path = path
        self.from_line = from_line
        self.max_line_bytes = max_line_bytes
        self.failed = failed
        self.interrupts = interrupts or _Interrupts()
        # The last line taken in (an item handed out, or a failed line; or skipped).
        self.line_done = from_line - 1
        self.format = fmt or ("csv" if path.lower().endswith(".csv") else "ndjson")
        try:
            if path == "-":
                self._raw: IO[bytes] = sys.stdin.buffer
                self.size: int | None = None
            else:
                self._raw = open(path, "rb")  # noqa: SIM115 - closed in close()
                self.size = Path(path).stat().st_size
        except OSError as err:
            fail(f"cannot read {path}: {err.strerror}")
        self.bytes_read = 0
        self.tick: Any = None  # called every TICK_ITEMS items read (the progress bar)
        self.items = 0  # items handed out (an ImportChunk counts as its items)
        # The line of each item handed out, by item index, until the import has settled it.
        self.lines: dict[int, int] = {}
        self._low = 0  # every index below this is gone from ``lines``
        self.last_lines: list[int] = []  # the lines of what was handed out last
        self.bad = 0  # lines that failed here (saved to the failed file at once)
        self._group_start: int | None = None  # the first line of a maybe-sent chunk gathered
        if self.format == "csv":
            self._open_csv()

    def close(self) -> None:
        if self._raw is not sys.stdin.buffer:
            self._raw.close()

    def items_iter(self) -> Iterator[Any]:
        return self._ndjson() if self.format == "ndjson" else self._csv()

    # ---- bookkeeping ------------------------------------------------------------------------

    def settle(self, settled: int) -> None:
        """Forget the lines of the items before ``settled``: in a job, or reported."""
        lines, low = self.lines, self._low
        while low < settled:
            lines.pop(low, None)
            low += 1
        self._low = low

    def line_of(self, index: int | None) -> int | None:
        return None if index is None else self.lines.get(index)

    def resume_line(self, taken: int) -> int:
        """The first line not taken in, when the import took in the first ``taken`` items
        handed out: every line before it is in a job, unsent, or in the failed file."""
        line = self.line_done + 1
        if self._group_start is not None:
            line = min(line, self._group_start)
        if taken < self.items and taken in self.lines:
            line = min(line, self.lines[taken])
        return line

    def _bad(self, line: int, raw: Any, code: str, message: str) -> None:
        if self.failed is not None:
            self.failed.write(raw, {"code": code, "message": message, "line": line})
        self.bad += 1
        self.line_done = line

    def _hand_out(self, lines: list[int]) -> None:
        first = self.items
        for offset, line in enumerate(lines):
            self.lines[first + offset] = line
        self.items = first + len(lines)
        self.last_lines = lines
        if self.tick is not None and first // TICK_ITEMS != self.items // TICK_ITEMS:
            self.tick()

    # ---- NDJSON -----------------------------------------------------------------------------

    def _raw_lines(self) -> Iterator[bytes | _TooLong]:
        """Each line's bytes; a line longer than ``max_line_bytes`` is read to its end in
        pieces and given as its size only."""
        read, limit = self._raw.readline, self.max_line_bytes
        while True:
            raw = read(limit + 1)
            if not raw:
                return
            if len(raw) <= limit or raw.endswith(b"\n"):
                yield raw
                continue
            size = len(raw)
            del raw
            while True:
                piece = read(SKIP_PIECE)
                size += len(piece)
                if not piece or piece.endswith(b"\n"):
                    break
            yield _TooLong(size, size - 1 if piece.endswith(b"\n") else size)

    def _ndjson(self) -> Iterator[Any]:
        from ..errors import ImportChunk

        interrupts = self.interrupts
        group: list[dict[str, Any]] = []  # a maybe-sent chunk of a failed file, gathered
        group_lines: list[int] = []
        group_key: str | None = None
        number = 0
        for raw in self._raw_lines():
            number += 1
            self.bytes_read += raw.size if isinstance(raw, _TooLong) else len(raw)
            if number < self.from_line:
                continue
            interrupts.hold()
            parsed = self._parse(number, raw)
            if parsed is None:  # a blank line
                self.line_done = number
                interrupts.release()
                continue
            item, key = parsed if isinstance(parsed, tuple) else (None, None)
            if group and (item is None or key != group_key):
                # The chunk gathered ends here: hand it out, then come back to this line.
                assert group_key is not None
                chunk = ImportChunk(group, group_key)
                self._hand_out(group_lines)
                self._group_start = None
                group, group_lines, group_key = [], [], None
                interrupts.release()
                yield chunk
                interrupts.hold()
            if item is None:  # failed: (raw text, code, message)
                assert isinstance(parsed, list)
                self._bad(number, *parsed)
                interrupts.release()
                continue
            if key is not None:  # part of a chunk that may have been sent, with its key
                if not group:
                    self._group_start = number
                group.append(item)
                group_lines.append(number)
                group_key = key
                self.line_done = number
                interrupts.release()
                continue
            self._hand_out([number])
            self.line_done = number
            interrupts.release()
            yield item
        if group:
            assert group_key is not None
            interrupts.hold()
            chunk = ImportChunk(group, group_key)
            self._hand_out(group_lines)
            self._group_start = None
            interrupts.release()
            yield chunk

    def _parse(
        self, number: int, raw: bytes | _TooLong
    ) -> tuple[dict[str, Any], str | None] | list[Any] | None:
        """A line as (item, the key of its maybe-sent chunk or None), [what to save, code,
        message] when it fails, or None when it is blank."""
        if isinstance(raw, _TooLong):
            return [
                None,
                LINE_TOO_LONG,
                f"the line is {raw.length:,} bytes long, more than --max-line-bytes "
                f"({self.max_line_bytes:,}); its text is not kept: fix it in the input",
            ]
        text = raw.strip()
        if not text:
            return None
        if len(text) > BIG_LINE and not text.startswith(b"{"):  # not parsed: no object
            return [_text(raw), "not_an_object", "each line must be a JSON object"]
        try:
            item = json.loads(text)
        except (ValueError, UnicodeDecodeError) as err:
            return [_text(raw), "invalid_json", f"not JSON: {_why(err)}"]
        if not isinstance(item, dict):
            return [_text(raw), "not_an_object", "each line must be a JSON object"]
        error = item.pop("_error", None)  # a line of a failed file, fixed and imported again
        if "_raw" in item or "_cells" in item:
            fixed = _fixed_line(item, error)
            if isinstance(fixed, tuple):
                return list(fixed)
            return fixed, None
        key = None
        if isinstance(error, dict) and error.get("code") == MAYBE_SENT:
            key = error.get("idempotency_key")
        return item, key if isinstance(key, str) and key else None

    # ---- CSV --------------------------------------------------------------------------------

    def _csv(self) -> Iterator[dict[str, Any]]:
        reader, columns = self._csv_reader, self._csv_columns
        interrupts = self.interrupts
        row_end = 1  # the line the last row ended on: the next row starts after it
        try:
            for row in reader:
                interrupts.hold()
                number = row_end = reader.line_num
                if number < self.from_line:
                    self.line_done = number
                    interrupts.release()
                    continue
                extra = row.pop(None, None)
                if not _is_utf8([*row.values(), *(extra or ())]):
                    cells: dict[str, Any] = {
                        k: _readable(v) for k, v in row.items() if isinstance(v, str)
                    }
                    if extra:
                        cells["_extra"] = [_readable(v) for v in extra]
                    self._bad(
                        number,
                        cells,
                        "invalid_utf8",
                        "the row is not UTF-8 text; save the file as UTF-8",
                    )
                    interrupts.release()
                    continue
                if extra:
                    cells = {**row, "_extra": extra}
                    message = "the row has more cells than the header (they are in _extra)"
                    self._bad(number, cells, "invalid_row", message)
                    interrupts.release()
                    continue
                try:
                    item = _row_item(row, columns)
                except ValueError as err:
                    self._bad(number, dict(row), "invalid_value", str(err))
                    interrupts.release()
                    continue
                self._hand_out([number])
                self.line_done = number
                interrupts.release()
                yield item
        except csv.Error as err:
            interrupts.held = False
            fail(f"{self.path}: line {row_end + 1}: not valid CSV ({err})")
        except _LineTooLong:
            interrupts.held = False
            fail(
                f"{self.path}: line {row_end + 1}: longer than --max-line-bytes "
                f"({self.max_line_bytes:,} bytes)"
            )

    def _open_csv(self) -> None:
        """Read the header now, so that a bad header is reported before anything starts."""
        counting = _Counting(self._raw, self)
        # Bytes that are not UTF-8 are kept as surrogates, so the row holding them is named.
        text = io.TextIOWrapper(
            io.BufferedReader(counting),
            encoding="utf-8-sig",
            errors="surrogateescape",
            newline="",
        )
        self._csv_reader = csv.DictReader(text)
        try:
            names = self._csv_reader.fieldnames or []
        except csv.Error as err:
            fail(f"{self.path}: the header is not valid CSV ({err})")
        except _LineTooLong:
            fail(f"{self.path}: the header is longer than --max-line-bytes")
        if not _is_utf8(list(names)):
            fail(f"{self.path}: the header is not UTF-8 text; save the file as UTF-8")
        self._csv_columns = [_column(name) for name in names]
        if not self._csv_columns:
            fail(f"{self.path}: the CSV file has no header row")
        self.line_done = max(self.line_done, self._csv_reader.line_num)


class _LineTooLong(Exception):
    pass


class _Counting(io.RawIOBase):
    """The bytes under the CSV reader: counted, and a line longer than the limit stops the
    reader before it holds that line whole."""

    def __init__(self, raw: IO[bytes], source: _Source) -> None:
        self._raw = raw
        self._source = source
        self._line = 0  # bytes since the last end of line

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._source.bytes_read += len(data)
        end = data.rfind(b"\n")
        self._line = self._line + len(data) if end < 0 else len(data) - end - 1
        if self._line > self._source.max_line_bytes:
            raise _LineTooLong
        return len(data)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


def _why(err: ValueError) -> str:
    """Why a line is not JSON, by column (the line number is the file's, given apart)."""
    if isinstance(err, json.JSONDecodeError):
        return f"{err.msg} at column {err.colno}"
    return str(err)


def _is_utf8(cells: list[Any]) -> bool:
    """False when a cell holds bytes that were not UTF-8 (decoded as surrogates)."""
    try:
        "\x00".join(c for c in cells if isinstance(c, str)).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _readable(cell: str) -> str:
    return cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _column(header: str) -> tuple[str, list[str], Any]:
    name, _, kind = header.partition(":")
    if kind and kind not in CONVERTERS:
        fail(f"column {header!r}: unknown type {kind!r}; use {', '.join(CONVERTERS)}")
    return header, name.strip().split("."), CONVERTERS[kind or "str"]


def _fixed_line(item: dict[str, Any], error: Any = None) -> dict[str, Any] | tuple[Any, str, str]:
    """A failed-file line fixed in place: ``_raw`` text parsed again, ``_cells`` converted
    again; else (what to save again, code, message)."""
    if "_raw" in item:
        raw = item["_raw"]
        if raw is None and isinstance(error, dict) and error.get("code") == LINE_TOO_LONG:
            return (
                None,
                LINE_TOO_LONG,
                f"this stands for a line too long to keep (line {error.get('line')} of the "
                "input it failed in): fix that line there and import it from there",
            )
        try:
            parsed = json.loads(raw) if isinstance(raw, str) else None
        except ValueError as err:
            return raw, "invalid_json", f"_raw is still not JSON: {_why(err)}"
        if not isinstance(parsed, dict):
            return raw, "not_an_object", "_raw must hold a JSON object"
        parsed.pop("_error", None)
        return parsed
    cells = item["_cells"]
    if isinstance(cells, dict) and "_extra" in cells:
        return cells, "invalid_row", "move the _extra cells into their columns, then remove _extra"
    if not isinstance(cells, dict) or not all(isinstance(v, str) for v in cells.values()):
        return item, "invalid_row", "_cells must map each CSV header to its cell text"
    columns = []
    for header in cells:
        kind = header.partition(":")[2]
        if kind and kind not in CONVERTERS:
            return cells, "invalid_value", f"column {header!r}: unknown type {kind!r}"
        columns.append(_column(header))
    try:
        return _row_item(cells, columns)
    except ValueError as err:
        return cells, "invalid_value", str(err)


def _row_item(row: dict[str, Any], columns: list[tuple[str, list[str], Any]]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for header, path, convert in columns:
        cell = row.get(header)
        if cell is None or cell == "":
            continue
        try:
            value = convert(cell)
        except (ValueError, KeyError):
            expected = EXPECTED[header.partition(":")[2]]
            raise ValueError(f"column {header!r}: {cell!r} is not {expected}") from None
        target = item
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return item


class _FailedFile:
    """Written only when something fails; one JSON object per line, ``_error`` saying why."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.unsaved = 0  # failed items that could not be written (see ``error``)
        self.error: OSError | None = None
        self._file: IO[str] | None = None

    def write(self, item: Any, error: dict[str, Any]) -> None:
        if self.error is not None:
            self.unsaved += 1
            return
        try:
            self._write(item, error)
        except OSError as err:  # the import goes on; the command ends with exit code 2
            self.error = err
            self.unsaved += 1

    def _write(self, item: Any, error: dict[str, Any]) -> None:
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

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError as err:
                self.error = self.error or err


def _import(args: argparse.Namespace) -> int:
    from ..fullstory import BatchJobOptions

    if args.chunk_size < 1 or args.chunk_size > 50_000:
        fail("--chunk-size must be between 1 and 50000")
    if args.from_line < 1:
        fail("--from-line must be 1 or more")
    if not args.max_rate_limited_wait > 0:
        fail("--max-rate-limited-wait must be more than 0 seconds")
    if args.max_line_bytes < 1:
        fail("--max-line-bytes must be 1 or more")
    shared = None
    if getattr(args, "shared_context", None):
        try:
            shared = json.loads(args.shared_context)
        except ValueError as err:
            fail(f"--shared-context is not JSON: {err}")
    failed_path = Path(
        args.failed_file
        or ("import-failed.ndjson" if args.file == "-" else f"{args.file}.failed.ndjson")
    )
    if not failed_path.parent.is_dir():
        fail(f"--failed-file {failed_path}: the directory {failed_path.parent} does not exist")
    if args.file != "-" and _same_file(args.file, failed_path):
        fail(f"--failed-file {failed_path} is the file being imported; name another file")
    with _Interrupts() as interrupts:
        return _run_import(args, shared, failed_path, interrupts, BatchJobOptions)


def _run_import(
    args: argparse.Namespace,
    shared: Any,
    failed_path: Path,
    interrupts: _Interrupts,
    options_type: Any,
) -> int:
    failed = _FailedFile(failed_path)
    source = _Source(
        args.file,
        args.format,
        args.from_line,
        failed=failed,
        max_line_bytes=args.max_line_bytes,
        interrupts=interrupts,
    )
    progress = _Progress(source, args.kind, enabled=not args.no_progress)
    started = time.monotonic()
    written: list[Any] = []  # the failures on_failed was given last, once written

    def save_failure(failure: Any) -> None:
        # "items[41].uid: ..." -> "uid: ...": the line number says which item it was.
        message = re.sub(r"^items\[\d+\]\.", "", failure.message)
        error = {"code": failure.code, "message": message}
        line = source.line_of(failure.index)
        if line is not None:
            error["line"] = line
        if failure.job_id:
            error["job_id"] = failure.job_id
        failed.write(failure.item, error)

    def on_failed(failures: list[Any]) -> None:
        interrupts.hold()  # a Ctrl-C waits until the whole batch is written
        written[:] = []
        for failure in failures:
            save_failure(failure)
        written[:] = failures
        for failure in failures:
            if failure.index is not None:
                source.lines.pop(failure.index, None)
        interrupts.release()

    def on_progress(state: Any) -> None:
        if state.done:  # everything is in: a Ctrl-C from now on changes nothing
            interrupts.saving = True
        source.settle(state.settled)
        progress.update(state)

    items = source.items_iter()
    stop: _Stop | None = None
    try:
        with fullstory_client(args) as fs, progress:
            # The settings are good: a failed file from an earlier run is stale now.
            failed_path.unlink(missing_ok=True)
            resource = fs.users if args.kind == "users" else fs.events
            kwargs: dict[str, Any] = {"shared_context": shared} if args.kind == "events" else {}
            options = options_type(
                poll_interval=args.poll_interval,
                max_rate_limited_wait=args.max_rate_limited_wait,
            )
            try:
                result: Any = resource.import_(
                    items,
                    options=options,
                    jobs_in_flight=args.jobs_in_flight,
                    chunk_size=args.chunk_size,
                    on_progress=on_progress,
                    on_failed=on_failed,
                    **kwargs,
                )
                interrupts.saving = True  # done: a Ctrl-C now would only hide the summary
            except BaseException as error:
                interrupts.saving = True  # what was not sent is saved, whatever comes
                state = getattr(error, "import_stopped", None)
                if state is None or not (state.job_ids or state.maybe_sent):
                    raise  # nothing was sent: the same command can simply run again
                progress.stop()
                result = state
                done = {id(failure) for failure in written}
                for failure in state.refused:
                    if id(failure) not in done:
                        save_failure(failure)
                stop = _Stop(error, state, source, failed, interrupts)
                stop.save(items)
    finally:
        interrupts.saving = True
        source.close()
        failed.close()
    elapsed = max(time.monotonic() - started, 1e-9)
    total_failed = result.failed_count + source.bad
    read = result.read + (stop.unread if stop else 0) + source.bad
    print(
        f"imported {result.imported:,} {args.kind} of {read:,} read in {elapsed:.1f} s "
        f"({result.imported / elapsed:,.0f}/s), {len(result.job_ids)} jobs"
    )
    if failed.error is not None:
        message = (
            f"{failed.path}: {failed.error.strerror or failed.error}; {failed.unsaved:,} of the "
            f"{failed.count + failed.unsaved:,} items to save could not be saved there "
            "(use --failed-file)"
        )
        if stop is not None:
            message += "\n" + stop.report()
        fail(message)
    if stop is not None:
        raise CommandError(stop.report(), stop.why.code)
    if total_failed:
        print(f"{total_failed:,} failed: written to {failed.path} (fix them and import that file)")
        return EXIT_FAILED
    return EXIT_OK


def _same_file(path: str, other: Path) -> bool:
    try:
        return os.path.samefile(path, other)
    except OSError:  # one of them does not exist (yet)
        return False


class _Stop:
    """An import that stopped after it had sent something: what to save, what to tell."""

    def __init__(
        self,
        error: BaseException,
        state: ImportStopped,
        source: _Source,
        failed: _FailedFile,
        interrupts: _Interrupts,
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
                failed.write(item, _maybe_sent(chunk.idempotency_key, source.line_of(index)))
                position += 1
        maybe_count = _maybe_sent_count(state)
        for n in range(position, len(state.unsent)):
            item, index = state.unsent[n], state.unsent_indices[n]
            line = source.line_of(index)
            # The first maybe_count without a known key: check them before importing again.
            maybe = n < maybe_count
            failed.write(
                item, _maybe_sent(None, line) if maybe else {**NOT_SENT_ERROR, "line": line}
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
                        failed.write(each, _maybe_sent(item.idempotency_key, line))
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
                f"  {_maybe_sent_count(state):,} items may be in a job whose create got no answer "
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


NOT_SENT_ERROR = {"code": NOT_SENT, "message": "not sent: the import stopped before this item"}


def _maybe_sent(key: str | None, line: int | None) -> dict[str, Any]:
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


def _maybe_sent_count(state: Any) -> int:
    """How many of the first unsent items may be in a job whose create got no answer."""
    if not state.maybe_sent:
        return 0
    return int(getattr(state, "maybe_sent_count", 0) or len(state.unsent))


class _Progress:
    """A rich progress bar on stderr. The bar and its ETA follow the input: items done (imported
    or failed) over the items the file is estimated to hold (from the bytes read so far);
    the counts say what was read, imported and failed."""

    def __init__(self, source: _Source, kind: str, *, enabled: bool) -> None:
        self._source = source
        self._kind = kind
        self._bar: Any = None
        self._task: Any = None
        self._last: Any = None
        if not enabled:
            return
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
        except ImportError:
            fail(
                "the progress bar needs rich: pip install 'session-analytics[cli]' "
                "(or pass --no-progress)"
            )
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn(
                "{task.fields[read]:,} read, {task.fields[imported]:,} imported, "
                "{task.fields[failed]:,} failed"
            ),
            TextColumn("{task.fields[rate]:,.0f}/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._started = time.monotonic()
        source.tick = self._tick

    def _tick(self) -> None:
        self._refresh()

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task(
                f"importing {self._kind}",
                total=None,
                read=0,
                imported=0,
                failed=0,
                rate=0.0,
            )
        return self

    def update(self, progress: Any) -> None:
        retry_in = getattr(progress, "retry_in", None)
        if retry_in is not None and retry_in != getattr(self._last, "retry_in", None):
            status = f"rate limited (429), retrying in {retry_in:.0f} s"
            if self._bar is None:
                print(f"{self._kind}: {status}", file=sys.stderr, flush=True)
            elif self._task is not None:
                self._bar.update(self._task, description=status)
        elif retry_in is None and self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=f"importing {self._kind}")
        self._last = progress
        self._refresh()

    def _refresh(self) -> None:
        if self._bar is None or self._task is None:
            return
        source, progress = self._source, self._last
        read = source.items + source.bad
        imported = progress.imported if progress else 0
        failed = (progress.failed if progress else 0) + source.bad
        done = imported + failed
        total = None
        if source.size and source.bytes_read and read:
            # Items in the whole file, estimated from the bytes per item read so far.
            total = max(read, round(read * source.size / source.bytes_read))
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._bar.update(
            self._task,
            total=total,
            completed=min(done, total - 1) if total else done,
            read=read,
            imported=imported,
            failed=failed,
            rate=done / elapsed,
        )

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._refresh()
            if exc[0] is None and self._task is not None:
                self._bar.update(self._task, total=self._bar.tasks[0].completed or 1)
                self._bar.update(self._task, completed=self._bar.tasks[0].total)
            self.stop()
