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
import json
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..._constants import (
    DEFAULT_IMPORT_JOBS_IN_FLIGHT,
    DEFAULT_MAX_RATE_LIMITED_WAIT_S,
    DEFAULT_POLL_INTERVAL_S,
    MAX_BATCH_ITEMS,
)
from .._common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    add_fullstory_options,
    fail,
    fullstory_client,
)
from .failed import FailedFile, ResumePlan
from .interrupts import Interrupts
from .progress import ProgressBar
from .quota import check_quota, quota_warnings_silenced
from .readers import MAX_LINE_BYTES, Source

if TYPE_CHECKING:
    from ...fullstory import BatchJobOptions


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
            f"import jobs of at most {MAX_BATCH_ITEMS:,} items, with a live progress bar.",
        )
        parser.add_argument("file", help="an .ndjson/.jsonl or .csv file, or - for stdin")
        parser.add_argument(
            "--format", choices=["ndjson", "csv"], help="default: from the file name (ndjson)"
        )
        parser.add_argument(
            "--failed-file", help="where failed items go (default: FILE.failed.ndjson)"
        )
        parser.add_argument(
            "--jobs-in-flight",
            type=int,
            default=DEFAULT_IMPORT_JOBS_IN_FLIGHT,
            help=f"import jobs running at once ({DEFAULT_IMPORT_JOBS_IN_FLIGHT})",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=MAX_BATCH_ITEMS,
            help=f"items per job (at most {MAX_BATCH_ITEMS})",
        )
        parser.add_argument(
            "--poll-interval",
            type=float,
            default=DEFAULT_POLL_INTERVAL_S,
            help=f"seconds between job polls ({DEFAULT_POLL_INTERVAL_S:g})",
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
            metavar="SECONDS",
            help="stop (exit 3, saving what was not sent) when the API has refused job creates "
            f"with 429 for this long in a row ({DEFAULT_MAX_RATE_LIMITED_WAIT_S:g})",
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
        parser.add_argument(
            "--check-quota",
            action="store_true",
            help=(
                "first count the events of FILE and say how much of the server-event quota "
                "they would use, with a warning when that is more than is left; the import is "
                "not stopped (FullStory decides what it accepts)"
                if kind == "events"
                else "users do not count against the server-event quota: says so and imports"
            ),
        )
        if kind == "events":
            parser.add_argument(
                "--shared-context", help="a JSON context applied to every event of the file"
            )
        add_fullstory_options(parser)
        parser.set_defaults(run=import_command, kind=kind)


def import_command(args: argparse.Namespace) -> int:
    """Check the arguments (the SDK's limits through the SDK's own checks), then import."""
    from ...fullstory import BatchJobOptions
    from ...fullstory._jobs.import_ import check_import_options

    check_import_options(args.jobs_in_flight, args.chunk_size)
    if args.from_line < 1:
        fail("--from-line must be 1 or more")
    limited_wait = args.max_rate_limited_wait
    if limited_wait is not None and not limited_wait > 0:
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
    if args.file != "-" and _is_same_file(args.file, failed_path):
        fail(f"--failed-file {failed_path} is the file being imported; name another file")
    # The SDK checks the poll interval and the wait (a missing wait takes the SDK's default).
    waits = {} if limited_wait is None else {"max_rate_limited_wait": limited_wait}
    options = BatchJobOptions(poll_interval=args.poll_interval, **waits)
    if args.check_quota:
        check_quota(args)
    with Interrupts() as interrupts:
        return run_import(args, shared, failed_path, interrupts, options)


# The summary gives a rate from this many items imported.
RATE_FROM_ITEMS = 1000


def run_import(
    args: argparse.Namespace,
    shared: Any,
    failed_path: Path,
    interrupts: Interrupts,
    options: BatchJobOptions,
) -> int:
    """Import the input into batch jobs, saving what fails; the summary, or the stop report."""
    failed = FailedFile(failed_path)
    source = Source(
        args.file,
        args.format,
        args.from_line,
        failed=failed,
        max_line_bytes=args.max_line_bytes,
        interrupts=interrupts,
    )
    progress = ProgressBar(source, args.kind, enabled=not args.no_progress)
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
    stop: ResumePlan | None = None
    try:
        with fullstory_client(args) as fs, progress:
            # The settings are good: a failed file from an earlier run is stale now.
            failed_path.unlink(missing_ok=True)
            resource = fs.users if args.kind == "users" else fs.events
            kwargs: dict[str, Any] = {"shared_context": shared} if args.kind == "events" else {}
            try:
                with quota_warnings_silenced():
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
                stop = ResumePlan(error, state, source, failed, interrupts)
                stop.save(items)
    finally:
        interrupts.saving = True
        source.close()
        failed.close()
    elapsed = max(time.monotonic() - started, 1e-9)
    total_failed = result.failed_count + source.bad
    read = result.read + (stop.unread if stop else 0) + source.bad
    # The rate of a small file is the jobs' latency, not a speed ("3 users ... (2/s)").
    rate = f" ({result.imported / elapsed:,.0f}/s)" if result.imported >= RATE_FROM_ITEMS else ""
    jobs = len(result.job_ids)
    print(
        f"imported {result.imported:,} {args.kind} of {read:,} read in {elapsed:.1f} s{rate}, "
        f"{jobs:,} job{'' if jobs == 1 else 's'}"
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
        print("\n".join(failed.first_lines(total_failed)))
        return EXIT_FAILED
    return EXIT_OK


def _is_same_file(path: str, other: Path) -> bool:
    try:
        return os.path.samefile(path, other)
    except OSError:  # one of them does not exist (yet)
        return False
