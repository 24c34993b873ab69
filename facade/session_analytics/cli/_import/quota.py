"""``import --check-quota``: before an events import, count the items of the input and say how
much of the server-event quota they would use; over what is left, warn and go on (the API
decides what it accepts). Users do not count against that quota."""

from __future__ import annotations

import argparse
import os
import stat
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from .._common import fail, fullstory_client

COUNT_BLOCK_BYTES = 1024 * 1024  # the input is counted in blocks: no line is held whole
USERS_NOTE = "quota: users do not count against the server-event quota; importing without a check"


class ItemCount:
    """How many items the input holds from the first line imported: ``exact`` is False when
    the count could only be estimated (CSV cells in quotes may span lines)."""

    def __init__(self, items: int, *, exact: bool) -> None:
        self.items = items
        self.exact = exact

    def __str__(self) -> str:
        return f"{'' if self.exact else 'about '}{self.items:,}"


def count_items(path: str, fmt: str, from_line: int) -> ItemCount:
    """The items of the file at ``path`` from line ``from_line`` on: its lines that are not
    blank (NDJSON), or its rows after the header (CSV). Each line is an item when the file is
    well formed; lines that are not items fail at the import and are not sent."""
    first = max(from_line, 2) if fmt == "csv" else from_line
    try:
        with open(path, "rb") as raw:
            lines, quoted = _count_lines(raw, first)
    except OSError as err:
        fail(f"cannot read {path}: {err.strerror}")
    return ItemCount(lines, exact=not (fmt == "csv" and quoted))


def _count_lines(raw: IO[bytes], first: int) -> tuple[int, bool]:
    """The lines from line ``first`` on that are not blank, and whether any holds a quote."""
    number, count, content, quoted = 1, 0, False, False
    while block := raw.read(COUNT_BLOCK_BYTES):
        pieces = block.split(b"\n")
        last = len(pieces) - 1
        for index, piece in enumerate(pieces):
            if number >= first and piece.strip():
                content = True
                quoted = quoted or b'"' in piece
            if index < last:  # the line ends here
                count += content
                number += 1
                content = False
    return count + content, quoted


def check_quota(args: argparse.Namespace) -> Any:
    """Print what the import would use of the server-event quota, and a warning on stderr when
    that is more than is left; the check (None for a users import, which it does not touch)."""
    if args.kind != "events":
        print(USERS_NOTE, flush=True)
        return None
    count: ItemCount | None = None
    if args.file == "-" or not _is_regular_file(args.file):
        # A pipe can be read once only: counting it would leave nothing to import.
        where = "standard input" if args.file == "-" else f"{args.file} (not a regular file)"
        print(
            f"quota: {where} cannot be counted before it is read; the quota as it is:", flush=True
        )
    else:
        count = count_items(args.file, _format(args), args.from_line)
        noun = "event" if count.items == 1 else "events"
        print(f"quota: {count} {noun} to import from {args.file}", flush=True)
    with fullstory_client(args) as fs:
        check = fs.organization.check_quota(count.items if count is not None else None)
    print(f"quota: {check.describe()}", flush=True)
    if check.would_exceed:
        print(
            "warning: this import would use more of the server-event quota than is left; "
            "importing anyway (FullStory decides what it accepts past the limit)",
            file=sys.stderr,
            flush=True,
        )
    return check


def _is_regular_file(path: str) -> bool:
    """True for a file that can be read twice; a missing one too (its read names the error)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    return "csv" if args.file.lower().endswith(".csv") else "ndjson"


@contextmanager
def quota_warnings_silenced() -> Iterator[None]:
    """The SDK's own quota warning is not printed: ``check_quota`` has said it already."""
    from ...errors import QuotaWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuotaWarning)
        yield
