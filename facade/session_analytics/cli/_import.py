"""``session-analytics import users|events FILE``: any size, streamed, never loaded whole.

NDJSON: one JSON object per line. CSV: a header row; dotted column names make nested fields
(``properties.plan``, ``user.uid``) and a ``:type`` suffix converts the cell (``:int``, ``:real``,
``:bool``, ``:json``; text by default); empty cells are left out.

Every item that fails (a line that is not a JSON object, a row the SDK refuses, an item the API
refuses) is written to the failed file with an ``_error`` object saying why (code, message and,
when known, the line): fix the lines and import that file again, the ``_error`` key is ignored.
Exit 0 when everything was imported, 1 when some items failed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
import time
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    add_fullstory_options,
    fail,
    fullstory_client,
)

TICK_ITEMS = 1000
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
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
        if kind == "events":
            parser.add_argument(
                "--shared-context", help="a JSON context applied to every event of the file"
            )
        add_fullstory_options(parser)
        parser.set_defaults(run=_import, kind=kind)


class _Source:
    """Reads items lazily, counting bytes (for the progress bar) and line numbers."""

    def __init__(self, path: str, fmt: str | None) -> None:
        self.path = path
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
            text = raw.strip()
            if not text:
                continue
            try:
                item = json.loads(text)
            except (ValueError, UnicodeDecodeError) as err:
                self.bad.append((number, _text(raw), "invalid_json", f"not JSON: {err}"))
                continue
            if not isinstance(item, dict):
                self.bad.append(
                    (number, _text(raw), "not_an_object", "each line must be a JSON object")
                )
                continue
            item.pop("_error", None)  # a line of a failed file, fixed and imported again
            self.lines.append(number)
            if self.tick is not None and len(self.lines) % TICK_ITEMS == 0:
                self.tick()
            yield item

    def _csv(self) -> Iterator[dict[str, Any]]:
        reader, columns = self._csv_reader, self._csv_columns
        try:
            for row in reader:
                number = reader.line_num
                extra = row.pop(None, None)
                if extra:
                    self.bad.append(
                        (number, dict(row), "invalid_row", "the row has more cells than the header")
                    )
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
        except UnicodeDecodeError as err:
            fail(
                f"{self.path}: not UTF-8 text (byte {err.start} of a block near line "
                f"{reader.line_num + 1}); save it as UTF-8"
            )
        except csv.Error as err:
            fail(f"{self.path}: line {reader.line_num}: not valid CSV ({err})")

    def _open_csv(self) -> None:
        """Read the header now, so that a bad header is reported before anything starts."""
        counting = _Counting(self._raw, self)
        text = io.TextIOWrapper(io.BufferedReader(counting), encoding="utf-8-sig", newline="")
        self._csv_reader = csv.DictReader(text)
        try:
            names = self._csv_reader.fieldnames or []
        except UnicodeDecodeError:
            fail(f"{self.path}: the header is not UTF-8 text; save the file as UTF-8")
        except csv.Error as err:
            fail(f"{self.path}: the header is not valid CSV ({err})")
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


def _column(header: str) -> tuple[str, list[str], Any]:
    name, _, kind = header.partition(":")
    if kind and kind not in CONVERTERS:
        fail(f"column {header!r}: unknown type {kind!r}; use {', '.join(CONVERTERS)}")
    return header, name.strip().split("."), CONVERTERS[kind or "str"]


def _row_item(row: dict[str, Any], columns: list[tuple[str, list[str], Any]]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for header, path, convert in columns:
        cell = row.get(header)
        if cell is None or cell == "":
            continue
        try:
            value = convert(cell)
        except (ValueError, KeyError):
            raise ValueError(
                f"column {header!r}: {cell!r} is not a {header.partition(':')[2]}"
            ) from None
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
        if isinstance(item, dict) and error.get("code") in ("invalid_value", "invalid_row"):
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
    shared = None
    if getattr(args, "shared_context", None):
        try:
            shared = json.loads(args.shared_context)
        except ValueError as err:
            fail(f"--shared-context is not JSON: {err}")
    source = _Source(args.file, args.format)
    failed_path = Path(
        args.failed_file
        or ("import-failed.ndjson" if args.file == "-" else f"{args.file}.failed.ndjson")
    )
    if not failed_path.parent.is_dir():
        fail(f"--failed-file {failed_path}: the directory {failed_path.parent} does not exist")
    failed_path.unlink(missing_ok=True)  # a failed file from an earlier run is stale now
    failed = _FailedFile(failed_path)
    progress = _Progress(source, args.kind, enabled=not args.no_progress)
    started = time.monotonic()

    def on_failed(failures: list[Any]) -> None:
        for failure in failures:
            # "items[41].uid: ..." -> "uid: ...": the line number says which item it was.
            message = re.sub(r"^items\[\d+\]\.", "", failure.message)
            error = {"code": failure.code, "message": message}
            if failure.index is not None and failure.index < len(source.lines):
                error["line"] = source.lines[failure.index]
            if failure.job_id:
                error["job_id"] = failure.job_id
            failed.write(failure.item, error)

    try:
        with fullstory_client(args) as fs, progress:
            resource = fs.users if args.kind == "users" else fs.events
            kwargs: dict[str, Any] = {"shared_context": shared} if args.kind == "events" else {}
            result = resource.import_(
                source.items(),
                options=BatchJobOptions(poll_interval=args.poll_interval),
                jobs_in_flight=args.jobs_in_flight,
                chunk_size=args.chunk_size,
                on_progress=progress.update,
                on_failed=on_failed,
                **kwargs,
            )
    finally:
        source.close()
        for line, raw, code, message in source.bad:
            failed.write(raw, {"code": code, "message": message, "line": line})
        failed.close()
    elapsed = max(time.monotonic() - started, 1e-9)
    total_failed = result.failed_count + len(source.bad)
    print(
        f"imported {result.imported:,} {args.kind} of {result.read + len(source.bad):,} read "
        f"in {elapsed:.1f} s ({result.imported / elapsed:,.0f}/s), {len(result.job_ids)} jobs"
    )
    if failed.error is not None:
        fail(
            f"{failed.path}: {failed.error.strerror or failed.error}; {failed.unsaved:,} of the "
            f"{total_failed:,} failed items could not be saved there (use --failed-file)"
        )
    if total_failed:
        print(f"{total_failed:,} failed: written to {failed.path} (fix them and import that file)")
        return EXIT_FAILED
    return EXIT_OK


class _Progress:
    """A rich progress bar on stderr: bytes read (for the ETA), items imported, items/s."""

    def __init__(self, source: _Source, kind: str, *, enabled: bool) -> None:
        self._source = source
        self._kind = kind
        self._bar: Any = None
        self._task: Any = None
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
            TextColumn("{task.fields[imported]:,} imported, {task.fields[failed]:,} failed"),
            TextColumn("{task.fields[rate]:,.0f}/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._started = time.monotonic()
        self._imported = 0
        source.tick = self._tick

    def _tick(self) -> None:
        self._bar.update(self._task, completed=self._source.bytes_read)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task(
                f"importing {self._kind}",
                total=self._source.size,
                imported=0,
                failed=0,
                rate=0.0,
            )
        return self

    def update(self, progress: Any) -> None:
        if self._bar is None:
            return
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._bar.update(
            self._task,
            completed=self._source.bytes_read,
            imported=progress.imported,
            failed=progress.failed + len(self._source.bad),
            rate=progress.imported / elapsed,
        )

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self._source.bytes_read)
            self._bar.stop()
