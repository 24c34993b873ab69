"""``session-analytics import users|events FILE``: any size, streamed, never loaded whole.

NDJSON: one JSON object per line. CSV: a header row; dotted column names make nested fields
(``properties.plan``, ``user.uid``) and a ``:type`` suffix converts the cell (``:int``, ``:real``,
``:bool``, ``:json``; text by default); empty cells are left out.

Every item that fails (a line that is not a JSON object, a row the SDK refuses, an item the API
refuses) is written to the failed file with an ``_error`` object saying why (code, message and,
when known, the line): fix the lines in place and import that file again, the ``_error`` key is
ignored. A line that was not JSON keeps its text as ``_raw``; a CSV row whose cells did not
convert keeps them as ``_cells`` (with their ``:type`` headers): fix the text or the cell.

If the API stops working midway, the items not sent yet are written there too (code
``not_sent``), and the jobs already created are listed: they may still be importing, so their
items must not be sent again. Importing the failed file then sends each item once.
Exit 0 when everything was imported, 1 when some items failed, 3 when the API stopped working.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys
import time
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

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

TICK_ITEMS = 1000
EXPECTED = {"int": "a whole number", "real": "a number", "bool": "true or false", "json": "JSON"}
CELL_CODES = ("invalid_value", "invalid_row", "invalid_utf8")  # saved as the row's cells
NOT_SENT = "not_sent"
MAYBE_SENT = "maybe_sent"
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
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
        if kind == "events":
            parser.add_argument(
                "--shared-context", help="a JSON context applied to every event of the file"
            )
        add_fullstory_options(parser)
        parser.set_defaults(run=_import, kind=kind)


class _Source:
    """Reads items lazily, counting bytes (for the progress bar) and line numbers."""

    def __init__(self, path: str, fmt: str | None, from_line: int = 1) -> None:
        self.path = path
        self.from_line = from_line
        self.line_done = 0  # the last line read (an item handed out, or a bad line)
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
        self.lines = array("I")  # the line of each item handed out, by item index
        self.bad: list[tuple[int, Any, str, str]] = []  # line, raw text or cells, code, message
        if self.format == "csv":
            self._open_csv()

    def close(self) -> None:
        if self._raw is not sys.stdin.buffer:
            self._raw.close()

    def items(self) -> Iterator[dict[str, Any]]:
        return self._ndjson() if self.format == "ndjson" else self._csv()

    def _ndjson(self) -> Iterator[dict[str, Any]]:
        for number, raw in enumerate(self._raw, 1):
            self.bytes_read += len(raw)
            if number < self.from_line:
                continue
            self.line_done = number
            text = raw.strip()
            if not text:
                continue
            try:
                item = json.loads(text)
            except (ValueError, UnicodeDecodeError) as err:
                self.bad.append((number, _text(raw), "invalid_json", f"not JSON: {_why(err)}"))
                continue
            if not isinstance(item, dict):
                self.bad.append(
                    (number, _text(raw), "not_an_object", "each line must be a JSON object")
                )
                continue
            item.pop("_error", None)  # a line of a failed file, fixed and imported again
            if "_raw" in item or "_cells" in item:
                fixed = _fixed_line(item)
                if isinstance(fixed, tuple):
                    self.bad.append((number, *fixed))
                    continue
                item = fixed
            self.lines.append(number)
            if self.tick is not None and len(self.lines) % TICK_ITEMS == 0:
                self.tick()
            yield item

    def _csv(self) -> Iterator[dict[str, Any]]:
        reader, columns = self._csv_reader, self._csv_columns
        row_end = 1  # the line the last row ended on: the next row starts after it
        try:
            for row in reader:
                number = row_end = reader.line_num
                if number < self.from_line:
                    continue
                self.line_done = number
                extra = row.pop(None, None)
                if not _is_utf8([*row.values(), *(extra or ())]):
                    cells: dict[str, Any] = {
                        k: _readable(v) for k, v in row.items() if isinstance(v, str)
                    }
                    if extra:
                        cells["_extra"] = [_readable(v) for v in extra]
                    self.bad.append(
                        (
                            number,
                            cells,
                            "invalid_utf8",
                            "the row is not UTF-8 text; save the file as UTF-8",
                        )
                    )
                    continue
                if extra:
                    cells = {**row, "_extra": extra}
                    message = "the row has more cells than the header (they are in _extra)"
                    self.bad.append((number, cells, "invalid_row", message))
                    continue
                try:
                    item = _row_item(row, columns)
                except ValueError as err:
                    self.bad.append((number, dict(row), "invalid_value", str(err)))
                    continue
                self.lines.append(number)
                if self.tick is not None and len(self.lines) % TICK_ITEMS == 0:
                    self.tick()
                yield item
        except csv.Error as err:
            fail(f"{self.path}: line {row_end + 1}: not valid CSV ({err})")

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
        if not _is_utf8(list(names)):
            fail(f"{self.path}: the header is not UTF-8 text; save the file as UTF-8")
        self._csv_columns = [_column(name) for name in names]
        if not self._csv_columns:
            fail(f"{self.path}: the CSV file has no header row")


class _Counting(io.RawIOBase):
    def __init__(self, raw: IO[bytes], source: _Source) -> None:
        self._raw = raw
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._source.bytes_read += len(data)
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


def _fixed_line(item: dict[str, Any]) -> dict[str, Any] | tuple[Any, str, str]:
    """A failed-file line fixed in place: ``_raw`` text parsed again, ``_cells`` converted
    again; else (what to save again, code, message)."""
    if "_raw" in item:
        raw = item["_raw"]
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
    source = _Source(args.file, args.format, args.from_line)
    failed = _FailedFile(failed_path)
    progress = _Progress(source, args.kind, enabled=not args.no_progress)
    started = time.monotonic()

    def save_failure(failure: Any) -> None:
        # "items[41].uid: ..." -> "uid: ...": the line number says which item it was.
        message = re.sub(r"^items\[\d+\]\.", "", failure.message)
        error = {"code": failure.code, "message": message}
        if failure.index is not None and failure.index < len(source.lines):
            error["line"] = source.lines[failure.index]
        if failure.job_id:
            error["job_id"] = failure.job_id
        failed.write(failure.item, error)

    def on_failed(failures: list[Any]) -> None:
        for failure in failures:
            save_failure(failure)

    items = source.items()
    stop: _Stop | None = None
    try:
        with fullstory_client(args) as fs, progress:
            # The settings are good: a failed file from an earlier run is stale now.
            failed_path.unlink(missing_ok=True)
            resource = fs.users if args.kind == "users" else fs.events
            kwargs: dict[str, Any] = {"shared_context": shared} if args.kind == "events" else {}
            try:
                result: Any = resource.import_(
                    items,
                    options=BatchJobOptions(poll_interval=args.poll_interval),
                    jobs_in_flight=args.jobs_in_flight,
                    chunk_size=args.chunk_size,
                    on_progress=progress.update,
                    on_failed=on_failed,
                    **kwargs,
                )
            except BaseException as error:
                state = getattr(error, "import_stopped", None)
                if state is None or not (state.job_ids or state.maybe_sent):
                    raise  # nothing was sent: the same command can simply run again
                progress.stop()
                result = state
                for failure in state.refused:
                    save_failure(failure)
                stop = _Stop(error, state, source, failed)
                stop.save(items)
    finally:
        source.close()
        for line, raw, code, message in source.bad:
            failed.write(raw, {"code": code, "message": message, "line": line})
        failed.close()
    elapsed = max(time.monotonic() - started, 1e-9)
    total_failed = result.failed_count + len(source.bad)
    read = result.read + (stop.unread if stop else 0) + len(source.bad)
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

    def __init__(self, error: BaseException, state: Any, source: _Source, failed: _FailedFile):
        self.why = command_error(error)
        self.state = state
        self.source = source
        self.failed = failed
        self.api_failed = isinstance(error, FSError)
        self.unread = 0  # items read after the stop, to save them
        self.resume_line: int | None = None  # the input from this line on was not read

    def save(self, items: Any) -> None:
        """Save the items not sent, each with its line: after an API failure the rest of the
        input too (importing the failed file then sends each item once); after anything else
        (Ctrl-C, a bad file) the input is left where it stopped, to resume with --from-line."""
        state, source, failed = self.state, self.source, self.failed
        maybe = {
            "code": MAYBE_SENT,
            "message": (
                "maybe sent: the job for this item may have been created, its create got no "
                "answer; check whether it was imported before importing it again"
            ),
        }
        unsent = {
            "code": NOT_SENT,
            "message": "not sent: the import stopped before this item was sent",
        }
        maybe_count = _maybe_sent_count(state)
        for n, (item, index) in enumerate(zip(state.unsent, state.unsent_indices, strict=True)):
            error = maybe if n < maybe_count else unsent
            failed.write(item, {**error, "line": source.lines[index]})
        if not self.api_failed:
            self.resume_line = source.line_done + 1
            return
        not_sent = {"code": NOT_SENT, "message": "not sent: the import stopped before this item"}
        for item in items:
            failed.write(item, {**not_sent, "line": source.lines[-1]})
            self.unread += 1

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
                f"(code {MAYBE_SENT} in {self.failed.path}): check them before importing them "
                "again"
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
        self._last = progress
        self._refresh()

    def _refresh(self) -> None:
        if self._bar is None or self._task is None:
            return
        source, progress = self._source, self._last
        read = len(source.lines) + len(source.bad)
        imported = progress.imported if progress else 0
        failed = (progress.failed if progress else 0) + len(source.bad)
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
