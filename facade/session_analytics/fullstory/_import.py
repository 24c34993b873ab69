"""``import_()``: any number of items, streamed into batch import jobs of at most 50,000.

Items are read from the iterable one chunk at a time; a chunk is held only until its job is
created, and the next one is read while that create is in flight, so memory is bounded by two
chunks and the page size, never by the input. At most ``jobs_in_flight`` jobs run at once (the
API allows 100 running and 200 in progress per organisation, so the default of 4 leaves room for
everyone else); a create refused because the organisation has too much in progress waits as long
as Retry-After says and tries again, with the same Idempotency-Key, so it never starts a job
twice.

Every failed item is named: an item refused before sending (with its position in the input), or
one the API failed (with its job id, and the request as the API echoes it, code and message).
Imported counts come from the job status; the imported items themselves are only fetched when
``on_imported`` asks for them.

Throughput is bound by the API's job limits, not by round trips: the running jobs are polled
all at once, each on its own schedule; a job done on the API's side frees its slot at once, and
its results are read while the next job is created and the others run.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs

from fullstory_api.models import JobResultsPending, JobStatus, JobStatusResponse

from .. import _constants as C
from .._calls import ApiResponse
from .._flow import Emit, Finished, Flow, Request, Sleep, Start, Wait, can_overlap
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

READ_SLICE = 1_000  # items read between two looks at the requests in flight
MAX_REQUESTS = 16  # requests of one import in flight at once (polls, result pages, a create)


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
    a dropped connection, a 5xx, or a stop while it was in flight): that job may exist, with
    the first ``maybe_sent_count`` items of ``unsent`` in it; the others were never sent.
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
    # How many of ``unsent`` (the first ones) may be in that job; the others were never sent.
    maybe_sent_count: int = 0


@attrs.define(eq=False)
class _Running:
    job_id: str
    size: int
    failures: int = 0
    due: float = 0.0  # when its next request may go (a poll, or a results page)
    busy: bool = False  # a request of this job is in flight
    finished: bool = False  # done on the API's side: its results are being read
    status: JobStatusResponse | None = None
    imports: bool = True  # paging /imports (else /errors)
    token: str | None = None
    waits: int = 0  # "not ready yet" answers of the results


@attrs.define(eq=False)
class _Create:
    """A chunk on its way into a job: one logical create, one Idempotency-Key."""

    items: list[dict[str, Any]]
    indices: list[int]
    key: str
    in_flight: bool = False
    maybe_sent: bool = False  # its create failed in a way that may have made the job


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
    """The import as one flow. Under a driver that overlaps requests, the next chunk is read
    while a create is in flight, every job is polled on its own schedule, all at once, and a
    job's results are read while the others run: a job done on the API's side frees its slot
    at once. Creates go one at a time, so a stop knows exactly which chunk may be in a job.
    Under any other driver the same flow makes one request at a time."""

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
        self._running: list[_Running] = []  # PROCESSING on the API's side
        self._reading: list[_Running] = []  # done there; their results are being read
        self._create: _Create | None = None
        # Read, checked, in no job yet (what a stop leaves unsent), with their input positions.
        self._chunk: list[dict[str, Any]] = []
        self._chunk_indices: list[int] = []
        self._chunk_complete = False  # full, or the input has ended
        self._exhausted = False
        self._refused: list[ImportFailure] = []  # refused, not reported yet
        self._busy_until = 0.0  # no create before this (the API has too much in progress)
        self._stop_error: BaseException | None = None
        self._last: ImportProgress | None = None
        self._overlap = False
        self._clock = 0.0  # one request at a time: the time slept so far
        self._ready: Finished = []
        self._requests = 0  # started, not collected

    # ---- requests, overlapped or one at a time -----------------------------------------------

    def _now(self) -> float:
        return time.monotonic() if self._overlap else self._clock

    def _send(self, call: Any, tag: Any) -> Flow[None]:
        if self._overlap:
            self._requests += 1
            yield Start(call, tag)
            return
        outcome = yield Request(call)
        assert isinstance(outcome, ApiResponse | FSError)
        self._ready.append((tag, outcome))

    def _collect(self, timeout: float | None) -> Flow[Finished]:
        if self._ready:
            ready, self._ready = self._ready, []
            return ready
        if self._overlap:
            finished = yield Wait(timeout)
            assert isinstance(finished, list)
            self._requests -= len(finished)
            return finished
        if timeout is None:  # nothing in flight and nothing to wait for: a bug
            raise FSUnknownError("import: nothing left to wait for")
        if timeout > 0:
            yield Sleep(timeout)
            self._clock += timeout
        return []

    # ---- reporting --------------------------------------------------------------------------

    def _progress(self) -> Emit:
        snapshot = ImportProgress(
            self.read,
            self.submitted,
            self.imported,
            self.failed_count,
            len(self._running),
            self.jobs_done,
        )
        # Nothing new since the last report: do not report it twice. While a create is in
        # flight with the next chunk read, the report waits for that create's answer: a report
        # never has more than one chunk read ahead of what was submitted.
        held = self._create is not None and self._create.in_flight and bool(self._chunk)
        listeners: list[Listener] = []
        if self._on_progress and snapshot != self._last and not held:
            listeners = [self._on_progress]
            self._last = snapshot
        return Emit(listeners, (snapshot,), "progress")

    def _fail(self, failures: list[ImportFailure]) -> Emit | None:
        self.failed_count += len(failures)
        if self._on_failed is None:
            self.failed.extend(failures)
            return None
        return Emit([self._on_failed], (failures,), "failed")

    def _stop(self, error: BaseException) -> None:
        """Stop the import with ``error`` once the create in flight, if any, is answered (so
        that what was sent is known); the first error wins."""
        if self._stop_error is None:
            self._stop_error = error

    # ---- reading ----------------------------------------------------------------------------

    def _read_slice(self) -> Flow[None]:
        """Read up to READ_SLICE items into ``_chunk``; the refused ones are reported. Filled in
        place, so that a stop while reading still knows what was read."""
        chunk, indices, refused = self._chunk, self._chunk_indices, self._refused
        taken = 0
        try:
            while len(chunk) < self._chunk_size and taken < READ_SLICE:
                try:
                    item = next(self._source)
                except StopIteration:
                    self._exhausted = True
                    break
                index = self.read
                self.read += 1
                taken += 1
                try:
                    chunk.append(R.prepare_item(self.kind, item, f"items[{index}]"))
                    indices.append(index)
                except FSInvalidArgumentError as error:
                    refused.append(ImportFailure(item, "invalid_argument", str(error), None, index))
        except Exception as error:
            if self._create is None or not self._create.in_flight:
                raise
            self._stop(error)  # once the create in flight says whether it made its job
            return
        if len(chunk) >= self._chunk_size or self._exhausted:
            self._chunk_complete = True
        if refused:
            self._refused = []
            emitted = self._fail(refused)
            if emitted is not None:
                yield emitted

    # ---- the flow ---------------------------------------------------------------------------

    def flow(self) -> Flow[ImportResult]:
        try:
            yield from self._flow()
        except BaseException as error:
            running = [job.job_id for job in (*self._running, *self._reading)]
            if running:
                logger.warning(
                    "import stopped; these jobs were created and may still be running: %s",
                    ", ".join(running),
                )
            create = self._create
            unsent, indices, maybe = list(self._chunk), list(self._chunk_indices), 0
            if create is not None:
                unsent[:0], indices[:0] = create.items, create.indices
                if create.in_flight or create.maybe_sent:
                    maybe = len(create.items)
            stopped = ImportStopped(
                self.read,
                self.submitted,
                self.imported,
                self.failed_count + len(self._refused),
                list(self.job_ids),
                running,
                sum(job.size for job in (*self._running, *self._reading)),
                unsent,
                indices,
                maybe > 0,
                self._refused,
                maybe,
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
        self._overlap = can_overlap()
        while True:
            create = self._create
            # Read the next chunk while the one before it is being created (or there is none).
            if (
                not self._chunk_complete
                and self._stop_error is None
                and (create is None or create.in_flight)
            ):
                yield from self._read_slice()
                if not self._chunk_complete and self._stop_error is None:
                    if self._requests:  # look at the answers between slices
                        yield from self._handle((yield from self._collect(0)))
                    continue
            if create is None and self._chunk_complete and self._chunk:
                create = self._create = _Create(
                    self._chunk, self._chunk_indices, new_idempotency_key()
                )
                self._chunk, self._chunk_indices = [], []
                self._chunk_complete = self._exhausted
            now = self._now()
            slot = len(self._running) < self._in_flight_max
            if self._stop_error is not None:
                if create is None or not create.in_flight:
                    raise self._stop_error
            elif (
                create is not None
                and not create.in_flight
                and slot
                and now >= self._busy_until
                and self._requests < MAX_REQUESTS
            ):
                create.in_flight = True
                call = R.create_job_call(self.kind, create.items, self._shared, create.key)
                yield from self._send(call, create)
                continue  # read the next chunk while this one is sent
            if self._stop_error is None:
                for job in (*self._running, *self._reading):
                    if self._requests >= MAX_REQUESTS:
                        break
                    if not job.busy and job.due <= now:
                        job.busy = True
                        yield from self._send(self._job_call(job), job)
            if (
                self._create is None
                and not self._chunk
                and self._exhausted
                and not self._running
                and not self._reading
            ):
                break
            due = [job.due for job in (*self._running, *self._reading) if not job.busy]
            if create is not None and not create.in_flight and slot:
                due.append(self._busy_until)
            timeout = max(0.0, min(due) - now) if due and self._stop_error is None else None
            yield from self._handle((yield from self._collect(timeout)))
        yield self._progress()

    def _job_call(self, job: _Running) -> Any:
        if not job.finished:
            return R.job_status_call(self.kind, job.job_id)
        if job.imports:
            return R.job_imports_call(self.kind, job.job_id, job.token, self._include_schema)
        return R.job_errors_call(self.kind, job.job_id, job.token)

    def _handle(self, finished: Finished) -> Flow[None]:
        for tag, outcome in finished:
            if isinstance(tag, _Create):
                yield from self._created(tag, outcome)
                continue
            assert isinstance(tag, _Running)
            tag.busy = False
            if self._stop_error is not None:
                continue  # stopping: only the create's answer still matters
            if tag.finished:
                yield from self._page(tag, outcome)
            else:
                yield from self._polled(tag, outcome)

    def _created(self, create: _Create, created: ApiResponse[Any] | FSError) -> Flow[None]:
        create.in_flight = False
        if isinstance(created, FSError):
            wait = _busy(created)
            if wait is None:
                create.maybe_sent = created.maybe_processed
                self._stop(created)
                return
            # Too much in progress: the same chunk goes again later, with the same key.
            self._busy_until = self._now() + max(wait, self._options.poll_interval)
            return
        job_id = created.body.job.id
        due = self._now() + self._options.poll_interval
        self._running.append(_Running(job_id, len(create.items), due=due))
        self.job_ids.append(job_id)
        self.submitted += len(create.items)
        self._create = None
        yield self._progress()

    def _polled(self, job: _Running, polled: ApiResponse[Any] | FSError) -> Flow[None]:
        now = self._now()
        if isinstance(polled, FSError):
            if not isinstance(polled, RETRYABLE_POLL_ERRORS):
                self._stop(polled)
                return
            job.failures += 1
            if job.failures >= self._options.max_retry:
                gave_up = FSMaxRetryError(
                    f"import job {job.job_id}: {job.failures} status polls failed in a row "
                    f"(last: {polled.message})",
                    last_error=polled,
                    retries_taken=job.failures,
                )
                gave_up.__cause__ = polled
                self._stop(gave_up)
                return
            # Back off as the job poller does: the server may have said how long to wait.
            job.due = now + poll_backoff(self._options.poll_interval, job.failures, polled)
            return
        job.failures = 0
        status: JobStatusResponse = polled.body
        if status.job.status == JobStatus.PROCESSING:
            job.due = now + self._options.poll_interval
            return
        # Done on the API's side: its slot is free; its results are read while others run.
        self._running.remove(job)
        job.finished, job.status, job.due = True, status, now
        if self._on_imported is None:
            self.imported += _count(status.imports)
            if not self._has_errors(status):
                yield from self._job_done(job)
                return
            job.imports = False
        self._reading.append(job)
        yield self._progress()

    @staticmethod
    def _has_errors(status: JobStatusResponse) -> bool:
        return bool(_count(status.errors)) or status.job.status == JobStatus.FAILED

    def _page(self, job: _Running, page: ApiResponse[Any] | FSError) -> Flow[None]:
        now = self._now()
        if isinstance(page, FSError):
            self._stop(page)
            return
        if isinstance(page.body, JobResultsPending):
            # 202: not ready yet, which is not "no results"; ask again shortly.
            job.waits += 1
            if job.waits > self._options.max_retry:
                self._stop(
                    FSUnknownError(
                        f"import job {job.job_id}: results still not ready after {job.waits} tries"
                    )
                )
                return
            job.due = now + self._options.poll_interval
            return
        results = R.page_results(page.body)
        if job.imports:
            self.imported += len(results)
            if results and self._on_imported is not None:
                yield Emit([self._on_imported], (results,), "imported")
        else:
            failures = [self._failure(job, failed) for failed in results]
            if failures:
                emitted = self._fail(failures)
                if emitted is not None:
                    yield emitted
        token = R.next_page_token(page.body, job.token)
        job.due = now
        if token is not None:
            job.token = token
            return
        assert job.status is not None
        if job.imports and self._has_errors(job.status):
            job.imports, job.token, job.waits = False, None, 0
            return
        self._reading.remove(job)
        yield from self._job_done(job)

    def _job_done(self, job: _Running) -> Flow[None]:
        self.jobs_done += 1
        yield self._progress()

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
