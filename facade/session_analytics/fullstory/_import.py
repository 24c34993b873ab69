"""``import_()``: any number of items, streamed into batch import jobs of at most 50,000.

Items are read from the iterable one chunk at a time; a chunk is held only until its job is
created, so memory is bounded by the chunk size and the page size, never by the input. At most
``jobs_in_flight`` jobs run at once (the API allows 100 running and 200 in progress per
organisation, so the default of 4 leaves room for everyone else); a create refused because the
organisation has too much in progress waits as long as Retry-After says and tries again, with the
same Idempotency-Key, so it never starts a job twice.

Every failed item is named: an item refused before sending (with its position in the input), or
one the API failed (with its job id, and the request as the API echoes it, code and message).
Imported counts come from the job status; the imported items themselves are only fetched when
``on_imported`` asks for them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs

from fullstory_api.models import JobResultsPending, JobStatus, JobStatusResponse

from .. import _constants as C
from .._calls import ApiResponse
from .._flow import Emit, Flow, Request, Sleep
from .._transport import new_idempotency_key
from ..errors import (
    FSError,
    FSInvalidArgumentError,
    FSMaxRetryError,
    FSRateLimitedError,
    FSUnknownError,
)
from . import _requests as R
from ._jobs import RETRYABLE_POLL_ERRORS, BatchJobOptions, _count, poll_backoff

Listener = Callable[..., Any]
logger = logging.getLogger("session_analytics")


@attrs.frozen
class ImportFailure:
    """One item that was not imported, and why."""

    item: Any  # the request: as given (refused before sending) or as the API echoes it
    code: str
    message: str
    job_id: str | None  # None when the item was refused before it was sent
    index: int | None  # its position in the input, when known


@attrs.frozen
class ImportProgress:
    """Where an import stands, passed to ``on_progress`` as it moves."""

    read: int
    submitted: int
    imported: int
    failed: int
    jobs_running: int
    jobs_done: int


@attrs.frozen
class ImportResult:
    """How an import ended. ``failed`` lists every failed item unless ``on_failed`` took them."""

    read: int
    submitted: int
    imported: int
    failed_count: int
    job_ids: list[str]
    failed: list[ImportFailure]

    @property
    def ok(self) -> bool:
        return self.failed_count == 0


@attrs.frozen
class ImportStopped:
    """Where an import stood when it stopped: set as ``import_stopped`` on the exception that
    stopped it (an FSError, or anything else: a KeyboardInterrupt, an error of the iterable).

    The iterable was consumed up to ``read`` items. ``unsent`` holds those of them that are in no
    job (already checked, ready to import again; ``unsent_indices`` are their positions in the
    input); the items after ``read`` were not read: import ``itertools.chain(unsent, rest)`` once
    the API works again, and nothing is sent twice. ``running_job_ids`` were created and may still
    be importing: do not send their items again (``get_batch_user_import_status`` /
    ``get_batch_events_import_status`` of ``fullstory_api.api`` on ``fs.raw`` tell how each
    ended). ``maybe_sent`` is True when the stop was a job create that got no answer (a timeout,
    a dropped connection, a 5xx): that job may exist, with the ``unsent`` items in it.
    ``refused`` lists items refused by the checks that ``on_failed`` was not told about yet.
    """

    read: int
    submitted: int
    imported: int
    failed_count: int
    job_ids: list[str]
    running_job_ids: list[str]
    running_items: int  # in the running jobs
    unsent: list[dict[str, Any]]
    unsent_indices: list[int]
    maybe_sent: bool
    refused: list[ImportFailure]


@attrs.define
class _Running:
    job_id: str
    size: int
    failures: int = 0


def _busy(error: FSError) -> float | None:
    """How long to wait when the API has too much in progress (429), else None."""
    if isinstance(error, FSRateLimitedError):
        return error.retry_after or 1.0
    if isinstance(error, FSMaxRetryError) and isinstance(error.last_error, FSRateLimitedError):
        return error.last_error.retry_after or 1.0
    return None


def check_import_options(jobs_in_flight: int, chunk_size: int) -> None:
    if isinstance(jobs_in_flight, bool) or not isinstance(jobs_in_flight, int):
        raise FSInvalidArgumentError(
            "jobs_in_flight must be a whole number", field="jobs_in_flight"
        )
    if not 1 <= jobs_in_flight <= 100:
        raise FSInvalidArgumentError(
            "jobs_in_flight must be between 1 and 100 (the API runs at most 100 jobs at once)",
            field="jobs_in_flight",
        )
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise FSInvalidArgumentError("chunk_size must be a whole number", field="chunk_size")
    if not 1 <= chunk_size <= C.MAX_BATCH_ITEMS:
        raise FSInvalidArgumentError(
            f"chunk_size must be between 1 and {C.MAX_BATCH_ITEMS}", field="chunk_size"
        )


class _Importer:
    def __init__(
        self,
        kind: R.Kind,
        items: Iterable[Any],
        *,
        shared_context: dict[str, Any] | None,
        options: BatchJobOptions,
        jobs_in_flight: int,
        chunk_size: int,
        on_progress: Listener | None,
        on_failed: Listener | None,
        on_imported: Listener | None,
        include_schema: bool,
    ) -> None:
        if isinstance(items, dict | str | bytes) or not isinstance(items, Iterable):
            raise FSInvalidArgumentError("items must be an iterable of requests", field="items")
        check_import_options(jobs_in_flight, chunk_size)
        self.kind: R.Kind = kind
        self._source: Iterator[Any] = iter(items)
        self._shared = shared_context
        self._options = options
        self._in_flight_max = jobs_in_flight
        self._chunk_size = chunk_size
        self._on_progress = on_progress
        self._on_failed = on_failed
        self._on_imported = on_imported
        self._include_schema = include_schema
        self.read = self.submitted = self.imported = self.failed_count = self.jobs_done = 0
        self.job_ids: list[str] = []
        self.failed: list[ImportFailure] = []
        self._running: list[_Running] = []
        # Read, checked, in no job yet (what a stop leaves unsent), with their input positions.
        self._chunk: list[dict[str, Any]] = []
        self._chunk_indices: list[int] = []
        self._refused: list[ImportFailure] = []  # refused, not reported yet
        self._maybe_sent = False
        self._last: ImportProgress | None = None

    def _progress(self) -> Emit:
        snapshot = ImportProgress(
            self.read,
            self.submitted,
            self.imported,
            self.failed_count,
            len(self._running),
            self.jobs_done,
        )
        # Nothing new since the last report: do not report it twice.
        listeners = [self._on_progress] if self._on_progress and snapshot != self._last else []
        self._last = snapshot
        return Emit(listeners, (snapshot,), "progress")

    def _fail(self, failures: list[ImportFailure]) -> Emit | None:
        self.failed_count += len(failures)
        if self._on_failed is None:
            self.failed.extend(failures)
            return None
        return Emit([self._on_failed], (failures,), "failed")

    def _read_chunk(self) -> Flow[None]:
        """Fill ``_chunk`` with up to ``chunk_size`` valid items; the refused ones are reported.
        Filled in place, so that a stop while reading still knows what was read."""
        self._chunk, self._chunk_indices = [], []
        chunk, indices, refused = self._chunk, self._chunk_indices, self._refused
        for item in self._source:
            index = self.read
            self.read += 1
            try:
                chunk.append(R.prepare_item(self.kind, item, f"items[{index}]"))
                indices.append(index)
            except FSInvalidArgumentError as error:
                refused.append(ImportFailure(item, "invalid_argument", str(error), None, index))
            if len(chunk) >= self._chunk_size:
                break
        if refused:
            self._refused = []
            emitted = self._fail(refused)
            if emitted is not None:
                yield emitted

    def flow(self) -> Flow[ImportResult]:
        try:
            yield from self._flow()
        except BaseException as error:
            running = [job.job_id for job in self._running]
            if running:
                logger.warning(
                    "import stopped; these jobs were created and may still be running: %s",
                    ", ".join(running),
                )
            stopped = ImportStopped(
                self.read,
                self.submitted,
                self.imported,
                self.failed_count + len(self._refused),
                list(self.job_ids),
                running,
                sum(job.size for job in self._running),
                self._chunk,
                self._chunk_indices,
                self._maybe_sent,
                self._refused,
            )
            with contextlib.suppress(AttributeError):  # an exception without a __dict__
                error.import_stopped = stopped  # type: ignore[attr-defined]
            raise
        return ImportResult(
            self.read,
            self.submitted,
            self.imported,
            self.failed_count,
            list(self.job_ids),
            list(self.failed),
        )

    def _flow(self) -> Flow[None]:
        yield from self._read_chunk()
        key = new_idempotency_key()
        while self._chunk or self._running:
            while self._chunk and len(self._running) < self._in_flight_max:
                call = R.create_job_call(self.kind, self._chunk, self._shared, key)
                created = yield Request(call)
                if isinstance(created, FSError):
                    wait = _busy(created)
                    if wait is None:
                        self._maybe_sent = created.maybe_processed
                        raise created
                    # Too much in progress: the same chunk goes again later, with the same key.
                    yield Sleep(max(wait, self._options.poll_interval))
                    break
                assert isinstance(created, ApiResponse)
                job_id = created.body.job.id
                self._running.append(_Running(job_id, len(self._chunk)))
                self.job_ids.append(job_id)
                self.submitted += len(self._chunk)
                self._chunk, self._chunk_indices = [], []
                yield self._progress()
                yield from self._read_chunk()
                key = new_idempotency_key()
            if self._running:
                yield Sleep(self._options.poll_interval)
                for job in list(self._running):
                    yield from self._follow(job)
        yield self._progress()

    def _follow(self, job: _Running) -> Flow[None]:
        polled = yield Request(R.job_status_call(self.kind, job.job_id))
        if isinstance(polled, FSError):
            if not isinstance(polled, RETRYABLE_POLL_ERRORS):
                raise polled
            job.failures += 1
            if job.failures >= self._options.max_retry:
                raise FSMaxRetryError(
                    f"import job {job.job_id}: {job.failures} status polls failed in a row "
                    f"(last: {polled.message})",
                    last_error=polled,
                    retries_taken=job.failures,
                ) from polled
            # Back off as the job poller does: the server may have said how long to wait.
            yield Sleep(poll_backoff(self._options.poll_interval, job.failures, polled))
            return
        assert isinstance(polled, ApiResponse)
        job.failures = 0
        status: JobStatusResponse = polled.body
        if status.job.status == JobStatus.PROCESSING:
            return
        if self._on_imported is not None:
            yield from self._pages(job, imports=True)
        else:
            self.imported += _count(status.imports)
        if _count(status.errors) or status.job.status == JobStatus.FAILED:
            yield from self._pages(job, imports=False)
        self._running.remove(job)
        self.jobs_done += 1
        yield self._progress()

    def _pages(self, job: _Running, *, imports: bool) -> Flow[None]:
        token: str | None = None
        waits = 0
        while True:
            call = (
                R.job_imports_call(self.kind, job.job_id, token, self._include_schema)
                if imports
                else R.job_errors_call(self.kind, job.job_id, token)
            )
            page = yield Request(call)
            if isinstance(page, FSError):
                raise page
            assert isinstance(page, ApiResponse)
            if isinstance(page.body, JobResultsPending):
                # 202: not ready yet, which is not "no results"; ask again shortly.
                waits += 1
                if waits > self._options.max_retry:
                    raise FSUnknownError(
                        f"import job {job.job_id}: results still not ready after {waits} tries"
                    )
                yield Sleep(self._options.poll_interval)
                continue
            results = R.page_results(page.body)
            if imports:
                self.imported += len(results)
                if results and self._on_imported is not None:
                    yield Emit([self._on_imported], (results,), "imported")
            else:
                failures = [self._failure(job, failed) for failed in results]
                if failures:
                    emitted = self._fail(failures)
                    if emitted is not None:
                        yield emitted
            token = R.next_page_token(page.body, token)
            if token is None:
                return

    def _failure(self, job: _Running, failed: Any) -> ImportFailure:
        echoed = failed.user if self.kind == "users" else failed.event
        item = echoed.to_dict() if hasattr(echoed, "to_dict") else None
        code = failed.code if isinstance(failed.code, str) else "unknown"
        message = failed.message if isinstance(failed.message, str) else ""
        return ImportFailure(item, code, message, job.job_id, None)


def importer(
    kind: R.Kind,
    items: Iterable[Any],
    *,
    shared_context: dict[str, Any] | None = None,
    options: BatchJobOptions | None,
    jobs_in_flight: int,
    chunk_size: int,
    on_progress: Listener | None,
    on_failed: Listener | None,
    on_imported: Listener | None,
    include_schema: bool,
) -> _Importer:
    """The import flow behind ``users.import_`` and ``events.import_``, sync and async."""
    return _Importer(
        kind,
        items,
        shared_context=shared_context,
        options=options or BatchJobOptions(),
        jobs_in_flight=jobs_in_flight,
        chunk_size=chunk_size,
        on_progress=on_progress,
        on_failed=on_failed,
        on_imported=on_imported,
        include_schema=include_schema,
    )
