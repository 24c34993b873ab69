"""``import_()``: any number of items, streamed into batch import jobs of at most 50,000.

Items are read from the iterable one chunk at a time; a chunk is held only until its job is
created, and the next one is read while that create is in flight, so memory is bounded by two
chunks and the page size, never by the input. At most ``jobs_in_flight`` jobs run at once (the
API allows 100 running and 200 in progress per organisation, so the default of 4 leaves room for
everyone else); a create refused with 429 (rate limited, or the organisation has too much in
progress) waits as long as Retry-After says and tries again, with the same Idempotency-Key, so it
never starts a job twice, for at most ``max_rate_limited_wait`` seconds in a row.

A stop at any point (an API failure, a Ctrl-C between any two steps) leaves every item read in a
job, in ``ImportStopped.unsent`` or reported as failed; a chunk whose create may have made its
job keeps that create's Idempotency-Key (``ImportChunk``), so that resending it cannot make a
second job.

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
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs

from fullstory_api.models import JobStatus, JobStatusResponse

from ..._constants import MAX_BATCH_ITEMS
from ..._transport import new_idempotency_key
from ...errors import (
    FSError,
    FSIdempotencyKeyReusedError,
    FSInvalidArgumentError,
    FSMaxRetryError,
    ImportChunk,
    ImportFailure,
    ImportStopped,
)
from .._calls import ApiResponse
from .._flow import Emit, Finished, Flow, RequestLane, can_overlap
from .._requests import Kind, create_job_call, prepare_item
from .options import BatchJobOptions
from .paging import ResultPages
from .polling import JobEnded, PollAgain, StatusPolls, busy_wait
from .results import ImportProgress, ImportResult, status_count

Listener = Callable[..., Any]
logger = logging.getLogger("session_analytics")

READ_SLICE = 1_000  # items read between two looks at the requests in flight
MAX_REQUESTS = 16  # requests of one import in flight at once (polls, result pages, a create)


@attrs.define(eq=False)
class _Running:
    """A job of the import: its status polls, then the walk through its results."""

    job_id: str
    size: int
    polls: StatusPolls
    pages: ResultPages
    due: float = 0.0  # when its next request may go (a poll, or a results page)
    busy: bool = False  # a request of this job is in flight
    finished: bool = False  # done on the API's side: its results are being read
    status: JobStatusResponse | None = None


@attrs.define(eq=False)
class _Create:
    """A chunk on its way into a job: one logical create, one Idempotency-Key."""

    items: list[dict[str, Any]]
    indices: list[int]
    key: str
    in_flight: bool = False
    # Some attempt may have made the job (no answer, a 5xx that may have been processed), or
    # the chunk came as an ImportChunk: sent again only with its key.
    maybe_sent: bool = False
    keyed: bool = False  # an ImportChunk: its own key, sent alone
    started_at: float = 0.0  # when its last attempt went
    # Set first thing once its answer named the job: from then on the chunk is in that job.
    job: _Running | None = None
    counted: bool = False  # its job is in job_ids, _running and submitted


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
    if not 1 <= chunk_size <= MAX_BATCH_ITEMS:
        raise FSInvalidArgumentError(
            f"chunk_size must be between 1 and {MAX_BATCH_ITEMS}", field="chunk_size"
        )


class _Importer:
    """The import as one flow. Under a driver that overlaps requests, the next chunk is read
    while a create is in flight, every job is polled on its own schedule, all at once, and a
    job's results are read while the others run: a job done on the API's side frees its slot
    at once. Creates go one at a time, so a stop knows exactly which chunk may be in a job.
    Under any other driver the same flow makes one request at a time."""

    def __init__(
        self,
        kind: Kind,
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
        self.kind: Kind = kind
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
        self._keyed: _Create | None = None  # an ImportChunk read, to create after _create
        # The item being taken from the iterable: (its index, it as given), until it is held.
        self._taken: tuple[int, Any] | None = None
        # Job creates refused with 429: since when (the first refused attempt went), and when
        # the next try goes, to say so in the progress.
        self._limited_since: float | None = None
        self._retry_at: float | None = None
        # Read, checked, in no job yet (what a stop leaves unsent), with their input positions.
        self._chunk: list[dict[str, Any]] = []
        self._chunk_indices: list[int] = []
        self._chunk_complete = False  # full, or the input has ended
        self._exhausted = False
        self._refused: list[ImportFailure] = []  # refused, not reported yet
        self._busy_until = 0.0  # no create before this (the API has too much in progress)
        self._stop_error: BaseException | None = None
        self._last: ImportProgress | None = None
        # Set again as the flow starts, when it knows whether its driver overlaps requests.
        self._lane = RequestLane(overlap=False, what="import")

    # ---- reporting --------------------------------------------------------------------------

    def _progress(self, *, done: bool = False) -> Emit:
        retry_in = None
        if self._retry_at is not None:
            retry_in = round(max(0.0, self._retry_at - self._lane.now()), 1)
        snapshot = ImportProgress(
            self.read,
            self.submitted,
            self.imported,
            self.failed_count,
            len(self._running),
            self.jobs_done,
            retry_in,
            self._settled(),
            done,
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

    def _settled(self) -> int:
        """The position before which every item is in a job or was reported as failed."""
        held = [
            indices[0]
            for indices in (
                self._create.indices if self._create is not None else [],
                self._keyed.indices if self._keyed is not None else [],
                self._chunk_indices,
                [failure.index for failure in self._refused[:1] if failure.index is not None],
            )
            if indices
        ]
        return min(held, default=self.read)

    def _report_failed(self, failures: list[ImportFailure]) -> Emit | None:
        self.failed_count += len(failures)
        if self._on_failed is None:
            self.failed.extend(failures)
            return None
        return Emit([self._on_failed], (failures,), "failed")

    def _stop_with(self, error: BaseException) -> None:
        """Stop the import with ``error`` once the create in flight, if any, is answered (so
        that what was sent is known); the first error wins."""
        if self._stop_error is None:
            self._stop_error = error

    # ---- reading ----------------------------------------------------------------------------

    def _read_slice(self) -> Flow[None]:
        """Read up to READ_SLICE items into ``_chunk``; the refused ones are reported. Filled in
        place, so that a stop while reading still knows what was read: an item is held (as
        ``_taken``) from the moment the iterable hands it over, so that a stop at any point
        (a Ctrl-C included) finds it either there or in the chunk, never nowhere."""
        chunk, indices, refused = self._chunk, self._chunk_indices, self._refused
        taken = 0
        try:
            for item in self._source:  # a for loop: nothing can stop it between the two lines
                self._taken = (self.read, item)
                index = self.read
                self.read = index + 1
                taken += 1
                if isinstance(item, ImportChunk):
                    self._keyed = self._keyed_create(item, index)
                    self._taken = None
                    break  # the chunk read so far goes first, then this one, alone
                try:
                    chunk.append(prepare_item(self.kind, item, f"items[{index}]"))
                    indices.append(index)
                except FSInvalidArgumentError as error:
                    refused.append(ImportFailure(item, "invalid_argument", str(error), None, index))
                self._taken = None
                if len(chunk) >= self._chunk_size or taken >= READ_SLICE:
                    break
            else:
                self._exhausted = True
        except Exception as error:
            self._taken = None  # the iterable raised: it handed nothing over
            if self._create is None or not self._create.in_flight:
                raise
            self._stop_with(error)  # once the create in flight says whether it made its job
            return
        if len(chunk) >= self._chunk_size or self._exhausted:
            self._chunk_complete = True
        if refused:
            emitted = self._report_failed(refused)
            self._refused = []
            if emitted is not None:
                yield emitted

    def _keyed_create(self, given: ImportChunk, first: int) -> _Create:
        """An ImportChunk as a create of its own, with its key; its items are checked, and
        those refused are reported (the chunk then differs from the one sent with that key,
        and the API refuses the key: see ``_read_create_answer``)."""
        if not isinstance(given.items, list) or not isinstance(given.idempotency_key, str):
            raise FSInvalidArgumentError(
                "ImportChunk: items must be a list and idempotency_key a str", field="items"
            )
        items: list[dict[str, Any]] = []
        indices: list[int] = []
        for offset, item in enumerate(given.items):
            index = first + offset
            try:
                items.append(prepare_item(self.kind, item, f"items[{index}]"))
                indices.append(index)
            except FSInvalidArgumentError as error:
                self._refused.append(
                    ImportFailure(item, "invalid_argument", str(error), None, index)
                )
        self.read = first + len(given.items)
        return _Create(items, indices, given.idempotency_key, maybe_sent=True, keyed=True)

    # ---- the flow ---------------------------------------------------------------------------

    def flow(self) -> Flow[ImportResult]:
        try:
            yield from self._run()
        except BaseException as error:
            stopped = self._where_stopped()
            if stopped.running_job_ids:
                logger.warning(
                    "import stopped; these jobs were created and may still be running: %s",
                    ", ".join(stopped.running_job_ids),
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

    def _where_stopped(self) -> ImportStopped:
        """Where the import stands, whatever step it was stopped at (a Ctrl-C may land between
        any two steps): every item read is in a job, in ``unsent`` or reported as failed."""
        create = self._create
        if create is not None and create.job is not None:
            # Its answer had named its job: the chunk is in that job.
            self._count_created_job(create)
            create = None
        # (items, indices, key): the chunks that may be in a job go first, with their keys.
        keyed: list[tuple[list[Any], list[int], str]] = []
        plain: list[tuple[list[Any], list[int]]] = []
        if create is not None:
            if create.maybe_sent or create.in_flight:
                keyed.append((create.items, create.indices, create.key))
            else:  # never sent, or refused for sure (429): nothing made its job
                plain.append((create.items, create.indices))
        pending = self._keyed
        if pending is not None and pending is not create:
            keyed.append((pending.items, pending.indices, pending.key))
        chunk, indices = list(self._chunk), list(self._chunk_indices)
        if create is not None and self._chunk is create.items:
            chunk, indices = [], []  # stopped as the chunk became the create
        refused = list(self._refused)
        taken = self._taken
        if taken is not None:  # stopped while an item was being taken in
            index, item = taken
            if isinstance(item, ImportChunk):
                if pending is None or pending.key != item.idempotency_key:
                    first = list(range(index, index + len(item.items)))
                    keyed.append((list(item.items), first, item.idempotency_key))
                index += max(0, len(item.items) - 1)  # its last position
            elif indices and indices[-1] == index:
                pass  # held in the chunk
            elif len(chunk) > len(indices):
                indices.append(index)  # in the chunk, its position not yet
            elif not (refused and refused[-1].index == index):
                chunk.append(item)  # as given, not checked yet
                indices.append(index)
            self.read = max(self.read, index + 1)
        plain.append((chunk, indices))
        unsent: list[dict[str, Any]] = []
        unsent_indices: list[int] = []
        chunks: list[ImportChunk] = []
        for items, positions, key in keyed:
            if not items:
                continue
            unsent.extend(items)
            unsent_indices.extend(positions)
            chunks.append(ImportChunk(list(items), key))
        maybe = len(unsent)
        for items, positions in plain:
            unsent.extend(items)
            unsent_indices.extend(positions)
        running = [*self._running, *self._reading]
        return ImportStopped(
            self.read,
            self.submitted,
            self.imported,
            self.failed_count + len(refused),
            list(self.job_ids),
            [job.job_id for job in running],
            sum(job.size for job in running),
            unsent,
            unsent_indices,
            maybe > 0,
            refused,
            maybe,
            chunks,
        )

    def _count_created_job(self, create: _Create) -> None:
        """Count the job ``create`` made; safe to call again after a stop halfway through."""
        job = create.job
        assert job is not None
        if not create.counted:
            size = len(create.items)
            if job not in self._running and not job.finished:
                self._running.append(job)
            if job.job_id not in self.job_ids:
                self.job_ids.append(job.job_id)
            self.submitted += size
            create.counted = True
        if self._create is create:
            self._create = None

    def _run(self) -> Flow[None]:
        self._lane = RequestLane(overlap=can_overlap(), what="import")
        while True:
            create = self._create
            # Read the next chunk while the one before it is being created (or there is none).
            if (
                not self._chunk_complete
                and self._keyed is None
                and self._stop_error is None
                and (create is None or create.in_flight)
            ):
                yield from self._read_slice()
                if not self._chunk_complete and self._stop_error is None:
                    if self._lane.in_flight:  # look at the answers between slices
                        yield from self._read_answers((yield from self._lane.collect(0)))
                    continue
            if create is None and self._chunk and (self._chunk_complete or self._keyed):
                create = self._create = _Create(
                    self._chunk, self._chunk_indices, new_idempotency_key()
                )
                self._chunk, self._chunk_indices = [], []
                self._chunk_complete = self._exhausted
            elif create is None and self._keyed is not None:
                if self._keyed.items:  # else every item of it was refused, and reported
                    create = self._create = self._keyed
                self._keyed = None
            now = self._lane.now()
            slot = len(self._running) < self._in_flight_max
            if self._stop_error is not None:
                if create is None or not create.in_flight:
                    raise self._stop_error
            elif (
                create is not None
                and not create.in_flight
                and slot
                and now >= self._busy_until
                and self._lane.in_flight < MAX_REQUESTS
            ):
                create.in_flight, create.started_at = True, now
                call = create_job_call(self.kind, create.items, self._shared, create.key)
                yield from self._lane.send(call, create)
                continue  # read the next chunk while this one is sent
            if self._stop_error is None:
                for job in (*self._running, *self._reading):
                    if self._lane.in_flight >= MAX_REQUESTS:
                        break
                    if not job.busy and job.due <= now:
                        job.busy = True
                        yield from self._lane.send(self._job_call(job), job)
            if (
                self._create is None
                and self._keyed is None
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
            yield from self._read_answers((yield from self._lane.collect(timeout)))
        yield self._progress(done=True)

    def _job_call(self, job: _Running) -> Any:
        """The next request of a job: a status poll, or a page of its results once done."""
        return job.pages.call() if job.finished else job.polls.call()

    def _read_answers(self, finished: Finished) -> Flow[None]:
        for tag, outcome in finished:
            if isinstance(tag, _Create):
                yield from self._read_create_answer(tag, outcome)
                continue
            assert isinstance(tag, _Running)
            tag.busy = False
            if self._stop_error is not None:
                continue  # stopping: only the create's answer still matters
            if tag.finished:
                yield from self._read_results_page(tag, outcome)
            else:
                yield from self._read_status(tag, outcome)

    def _read_create_answer(
        self, create: _Create, created: ApiResponse[Any] | FSError
    ) -> Flow[None]:
        # ``in_flight`` stays set until the answer is recorded: a stop before that says the
        # chunk may be in a job (and carries its key), never that it was not sent.
        if isinstance(created, FSError):
            if created.maybe_processed:
                create.maybe_sent = True  # once maybe, always maybe: its key goes with it
            wait = busy_wait(created)
            if create.keyed and isinstance(created, FSIdempotencyKeyReusedError):
                yield from self._key_refused(create, created)
                return
            if wait is None:
                create.in_flight = False
                self._stop_with(created)
                return
            # Too much in progress, or rate limited: the same chunk goes again later, with the
            # same key, unless creates have been refused for longer than the options allow.
            now = self._lane.now()
            if self._limited_since is None:
                self._limited_since = create.started_at
            wait = max(wait, self._options.poll_interval)
            limited = now - self._limited_since
            if limited + wait > self._options.max_rate_limited_wait:
                create.in_flight = False
                self._retry_at = None
                self._stop_with(self._rate_limited_too_long(created, limited))
                return
            logger.warning(
                "import: the API refused a job create with 429 (%s); retrying in %.0f s "
                "(rate limited for %.0f s, at most %.0f s)",
                created.message,
                wait,
                limited,
                self._options.max_rate_limited_wait,
            )
            self._busy_until = self._retry_at = now + wait
            create.in_flight = False
            progress = self._progress()
            if progress.listeners:
                yield progress
            return
        job_id = created.body.job.id
        due = self._lane.now() + self._options.poll_interval
        create.job = _Running(
            job_id,
            len(create.items),
            StatusPolls(
                self.kind,
                job_id,
                self._options.poll_interval,
                self._options.max_retry,
                what="import job",
            ),
            ResultPages(self.kind, job_id, self._include_schema),
            due=due,
        )
        self._count_created_job(create)
        create.in_flight = False
        self._limited_since = self._retry_at = None
        yield self._progress()

    def _rate_limited_too_long(self, created: FSError, limited: float) -> FSMaxRetryError:
        last = created.last_error if isinstance(created, FSMaxRetryError) else created
        gave_up = FSMaxRetryError(
            f"import: the API kept refusing job creates with 429 (rate limited, or too much in "
            f"progress) for {limited:.0f} s; max_rate_limited_wait is "
            f"{self._options.max_rate_limited_wait:g} s (last: {last.message})",
            last_error=last,
            retries_taken=created.retries_taken,
        )
        gave_up.__cause__ = created
        return gave_up

    def _key_refused(self, create: _Create, refused: FSError) -> Flow[None]:
        """An ImportChunk whose key the API refused: it was used before, with other items (the
        chunk was changed since, or some of its items were refused by the checks). That first
        request was carried out, so these items may be in its job: each is reported."""
        message = (
            "this item's chunk was sent before with the same Idempotency-Key and other items "
            "(edited since?): that earlier request was carried out, so the item may be in its "
            "job; check before importing it again without the key"
        )
        failures = [
            ImportFailure(item, "idempotency_key_reused", message, None, index)
            for item, index in zip(create.items, create.indices, strict=True)
        ]
        logger.warning("import: %s (%s)", message, refused.message)
        self._refused = [*self._refused, *failures]
        self._create = None
        emitted = self._report_failed(self._refused)
        self._refused = []
        if emitted is not None:
            yield emitted

    def _read_status(self, job: _Running, polled: ApiResponse[Any] | FSError) -> Flow[None]:
        now = self._lane.now()
        read = job.polls.read(polled)
        if isinstance(read, PollAgain):
            job.due = now + read.delay
            return
        if not isinstance(read, JobEnded):
            self._stop_with(read.error)
            return
        # Done on the API's side: its slot is free; its results are read while others run.
        status = read.status
        self._running.remove(job)
        job.finished, job.status, job.due = True, status, now
        if self._on_imported is None:
            self.imported += status_count(status.imports)
            if not self._has_errors(status):
                yield from self._job_done(job)
                return
            job.pages.turn_to_errors()
        self._reading.append(job)
        yield self._progress()

    @staticmethod
    def _has_errors(status: JobStatusResponse) -> bool:
        return bool(status_count(status.errors)) or status.job.status == JobStatus.FAILED

    def _read_results_page(self, job: _Running, page: ApiResponse[Any] | FSError) -> Flow[None]:
        now = self._lane.now()
        if isinstance(page, FSError):
            self._stop_with(page)
            return
        results = job.pages.read(page.body)
        if results is None:
            # 202: not ready yet, which is not "no results"; ask again shortly.
            too_long = job.pages.not_ready_too_long(self._options.max_retry, "import job")
            if too_long is not None:
                self._stop_with(too_long)
                return
            job.due = now + self._options.poll_interval
            return
        if job.pages.imports:
            self.imported += len(results)
            if results and self._on_imported is not None:
                yield Emit([self._on_imported], (results,), "imported")
        else:
            failures = [self._failure_of(job, failed) for failed in results]
            if failures:
                emitted = self._report_failed(failures)
                if emitted is not None:
                    yield emitted
        job.due = now
        if not job.pages.last:
            return
        assert job.status is not None
        if job.pages.imports and self._has_errors(job.status):
            job.pages.turn_to_errors()
            return
        self._reading.remove(job)
        yield from self._job_done(job)

    def _job_done(self, job: _Running) -> Flow[None]:
        self.jobs_done += 1
        yield self._progress()

    def _failure_of(self, job: _Running, failed: Any) -> ImportFailure:
        echoed = failed.user if self.kind == "users" else failed.event
        item = echoed.to_dict() if hasattr(echoed, "to_dict") else None
        code = failed.code if isinstance(failed.code, str) else "unknown"
        message = failed.message if isinstance(failed.message, str) else ""
        return ImportFailure(item, code, message, job.job_id, None)


def importer(
    kind: Kind,
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
