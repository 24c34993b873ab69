"""The live progress bar of an import (rich, on stderr): items done over the items the input is
estimated to hold, with read, imported and failed counts, the rate and the time left; without a
bar, only the rate-limited waits are printed."""

from __future__ import annotations

import sys
import time
from typing import Any

from .._common import fail
from .readers import Source


class ProgressBar:
    """A rich progress bar on stderr. The bar and its ETA follow the input: items done (imported
    or failed) over the items the file is estimated to hold (from the bytes read so far);
    the counts say what was read, imported and failed."""

    def __init__(self, source: Source, kind: str, *, enabled: bool) -> None:
        self._source = source
        self._kind = kind
        self._bar: Any = None
        self._task: Any = None
        self._last_progress: Any = None
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
        source.on_items_read = self._refresh

    def __enter__(self) -> ProgressBar:
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
        if retry_in is not None and retry_in != getattr(self._last_progress, "retry_in", None):
            status = f"rate limited (429), retrying in {retry_in:.0f} s"
            if self._bar is None:
                print(f"{self._kind}: {status}", file=sys.stderr, flush=True)
            elif self._task is not None:
                self._bar.update(self._task, description=status)
        elif retry_in is None and self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=f"importing {self._kind}")
        self._last_progress = progress
        self._refresh()

    def _refresh(self) -> None:
        if self._bar is None or self._task is None:
            return
        source, progress = self._source, self._last_progress
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
