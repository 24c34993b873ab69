"""The input of an import, read lazily: NDJSON lines and CSV rows as items, each with its line
number; a line longer than the limit is never held whole; lines that cannot be items go to the
failed file at once; a fixed line of a failed file is read back as its item."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .._common import fail
from .failed import LINE_TOO_LONG, MAYBE_SENT, FailedFile
from .interrupts import Interrupts

TICK_ITEMS = 1000
# A longer line fails alone, never held whole. An item of 1 MiB is far beyond what a batch of
# any use can carry, and parsing a line can take some 45 times its size (the worst case, a line
# of empty objects): 1 MiB keeps the command well under 200 MiB whatever the input.
MAX_LINE_BYTES = 1024 * 1024
SKIP_PIECE = 1024 * 1024  # a line too long is read to its end in pieces of this size
BIG_LINE = 64 * 1024  # a line this long that cannot be an object is not parsed
EXPECTED = {"int": "a whole number", "real": "a number", "bool": "true or false", "json": "JSON"}
CONVERTERS = {
    "str": str,
    "int": int,
    "real": float,
    "bool": lambda v: {"true": True, "false": False, "1": True, "0": False}[v.strip().lower()],
    "json": json.loads,
}


class _TooLong:
    """A line longer than --max-line-bytes: its size (with its end of line) and length."""

    __slots__ = ("length", "size")

    def __init__(self, size: int, length: int) -> None:
        self.size = size
        self.length = length


class Source:
    """Reads items lazily, counting bytes (for the progress bar) and line numbers. Lines that
    fail go to the failed file at once; a line is either taken in whole (handed out, or saved
    as failed, and ``line_done`` moved past it) or not at all, whenever a Ctrl-C lands."""

    def __init__(
        self,
        path: str,
        fmt: str | None,
        from_line: int = 1,
        *,
        failed: FailedFile | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        interrupts: Interrupts | None = None,
    ) -> None:
        self.path = path
        self.from_line = from_line
        self.max_line_bytes = max_line_bytes
        self.failed = failed
        self.interrupts = interrupts or Interrupts()
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
        self.on_items_read: Any = None  # called every TICK_ITEMS items read (the progress bar)
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

    def _save_failed_line(self, line: int, raw: Any, code: str, message: str) -> None:
        if self.failed is not None:
            self.failed.write(raw, {"code": code, "message": message, "line": line})
        self.bad += 1
        self.line_done = line

    def _record_handed_out(self, lines: list[int]) -> None:
        first = self.items
        for offset, line in enumerate(lines):
            self.lines[first + offset] = line
        self.items = first + len(lines)
        self.last_lines = lines
        if self.on_items_read is not None and first // TICK_ITEMS != self.items // TICK_ITEMS:
            self.on_items_read()

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
        from ...errors import ImportChunk

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
                self._record_handed_out(group_lines)
                self._group_start = None
                group, group_lines, group_key = [], [], None
                interrupts.release()
                yield chunk
                interrupts.hold()
            if item is None:  # failed: (raw text, code, message)
                assert isinstance(parsed, list)
                self._save_failed_line(number, *parsed)
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
            self._record_handed_out([number])
            self.line_done = number
            interrupts.release()
            yield item
        if group:
            assert group_key is not None
            interrupts.hold()
            chunk = ImportChunk(group, group_key)
            self._record_handed_out(group_lines)
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
            return [_line_text(raw), "not_an_object", "each line must be a JSON object"]
        try:
            item = json.loads(text)
        except (ValueError, UnicodeDecodeError) as err:
            return [_line_text(raw), "invalid_json", f"not JSON: {_json_error_at(err)}"]
        if not isinstance(item, dict):
            return [_line_text(raw), "not_an_object", "each line must be a JSON object"]
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
                        k: _readable_cell(v) for k, v in row.items() if isinstance(v, str)
                    }
                    if extra:
                        cells["_extra"] = [_readable_cell(v) for v in extra]
                    self._save_failed_line(
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
                    self._save_failed_line(number, cells, "invalid_row", message)
                    interrupts.release()
                    continue
                try:
                    item = _item_from_row(row, columns)
                except ValueError as err:
                    self._save_failed_line(number, dict(row), "invalid_value", str(err))
                    interrupts.release()
                    continue
                self._record_handed_out([number])
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
        counting = _CountingReader(self._raw, self)
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
        self._csv_columns = [_parse_column(name) for name in names]
        if not self._csv_columns:
            fail(f"{self.path}: the CSV file has no header row")
        self.line_done = max(self.line_done, self._csv_reader.line_num)


class _LineTooLong(Exception):
    pass


class _CountingReader(io.RawIOBase):
    """The bytes under the CSV reader: counted, and a line longer than the limit stops the
    reader before it holds that line whole."""

    def __init__(self, raw: IO[bytes], source: Source) -> None:
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


def _line_text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


def _json_error_at(err: ValueError) -> str:
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


def _readable_cell(cell: str) -> str:
    return cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _parse_column(header: str) -> tuple[str, list[str], Any]:
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
            return raw, "invalid_json", f"_raw is still not JSON: {_json_error_at(err)}"
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
        columns.append(_parse_column(header))
    try:
        return _item_from_row(cells, columns)
    except ValueError as err:
        return cells, "invalid_value", str(err)


def _item_from_row(
    row: dict[str, Any], columns: list[tuple[str, list[str], Any]]
) -> dict[str, Any]:
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
