"""What the read commands show people: tables (rich on a terminal, aligned plain text in a pipe
or a file), times in UTC and counts with thousands separators. ``--json`` output does not come
through here: scripts get the API's own JSON."""

from __future__ import annotations

import datetime
import sys
from collections.abc import Sequence
from typing import Any

MISSING = "-"  # a value the API left out
COLUMN_GAP = 2  # spaces between two columns


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[int] = ()
) -> None:
    """``rows`` under ``headers``; the columns at the ``numeric`` positions are right-aligned.
    No cell is cut or folded (ids and links must stay whole): a table wider than the terminal
    wraps as long lines do."""
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    if sys.stdout.isatty() and _print_rich_table(headers, rows, numeric, widths):
        return
    for row in [list(headers), *rows]:
        cells = [
            cell.rjust(width) if index in numeric else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print((" " * COLUMN_GAP).join(cells).rstrip())


def _print_rich_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric: Sequence[int],
    widths: Sequence[int],
) -> bool:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # rich comes with the cli extra; plain text does as well
        return False
    table = Table(box=None, header_style="bold", pad_edge=False)
    for index, (header, width) in enumerate(zip(headers, widths, strict=True)):
        table.add_column(
            header, justify="right" if index in numeric else "left", min_width=width, no_wrap=True
        )
    for row in rows:
        table.add_row(*row)
    console = Console(highlight=False)
    natural = sum(widths) + COLUMN_GAP * (len(widths) - 1)
    console.size = (max(console.width, natural), console.height)  # wider than the terminal
    console.print(table)
    return True


def format_time(value: Any) -> str:
    """A datetime as ``2024-02-01 12:30:05Z`` (UTC; milliseconds when it has them)."""
    if not isinstance(value, datetime.datetime):
        return MISSING
    moment: datetime.datetime = value
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def format_count(value: Any) -> str:
    """A count the API gives as a decimal string (64-bit integers are strings in JSON)."""
    number = as_int(value)
    if number is None:
        return str(value) if isinstance(value, str) and value else MISSING
    return f"{number:,}"


def as_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None
