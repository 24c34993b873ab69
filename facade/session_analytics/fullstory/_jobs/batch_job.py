"""Batch import jobs with the lifecycle of the FullStory Node SDK, and what it lacks.

created -> processing (each poll while PROCESSING) -> done, or abort. ``error`` fires for every
failure (it may fire many times); ``abort`` fires once per execution, after ``max_retry`` failed
polls in a row or at the first failure that no retry can fix. A listener registered after
``done``, ``abort``, ``error`` or ``created`` already happened is called at once with what
happened. A FAILED job (which includes partial failure) yields both its imported and its failed
items. With ``collect_results=False`` nothing is held in memory: stream the results page by page
with ``iter_imports()`` / ``iter_errors()``.

The lifecycle is one IO-free flow (:meth:`_JobCore.flow`), driven by a thread for
:class:`BatchJob` and by an asyncio task for :class:`AsyncBatchJob`; it reads its status polls
with :mod:`.polling` and its results with :mod:`.paging`, as ``iter_imports()`` /
``iter_errors()`` and ``import_()`` do.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from fullstory_api.models import JobMetadata, JobStatus, JobStatusResponse

from ... import _constants as C
from ..._transport import new_idempotency_key
from ...errors import FSError, FSInvalidArgumentError, FSTimeoutError, FSUnknownError
from .._calls import ApiResponse
from .._flow import Emit, Flow, Request, Sleep, call_listener, drive_async, drive_sync
from .._requests import Kind, create_job_call, identifier, prepare_item
from .options import BatchJobOptions
from .paging import ResultPages, read_next_page
from .polling import JobEnded, PollAgain, PollGaveUp, StatusPolls
from .results import BatchJobResult, status_count

if TYPE_CHECKING:
    import asyncio

    from .._client import AsyncFullStory, FullStory

I = TypeVar("I")  # noqa: E741 - an imported item
F = TypeVar("F")  # a failed item

logger = logging.getLogger("session_analytics")

EVENTS = ("created", "processing", "error", "abort", "done")
Event = Literal["created", "processing", "error", "abort", "done"]


class _Stopped(Exception):
    """The client was closed while the job was being followed."""


class _JobCore(Generic[I, F]):
    """State, listeners and the IO-free lifecycle flow of one job."""

    def __init__(
        self,
        kind: Kind,
        requests: Iterable[Any],
        *,
        shared_context: dict[str, Any] | None,
        include_schema: bool,
        options: BatchJobOptions | None,
    ) -> None:
        if options is not None and not isinstance(options, BatchJobOptions):
            raise FSInvalidArgumentError("options must be a BatchJobOptions", field="options")
        self.kind: Kind = kind
        self.options = options or BatchJobOptions()
        self.include_schema = include_schema
        self._shared_context = shared_context
        self._requests: list[dict[str, Any]] = []
        self._key = new_idempotency_key()  # one logical create, however many times it is tried
        self._lock = threading.Lock()
        self._listeners: dict[str, list[Callable[..., Any]]] = {e: [] for e in EVENTS}
        self._phase: Literal["new", "running", "done", "aborted", "stopped"] = "new"
        self._created_metadata: JobMetadata | None = None
        self._ended = threading.Event()
        self._job_id: str | None = None
        self.metadata: JobMetadata | None = None
        self.status_response: JobStatusResponse | None = None
        self.imported: list[I] = []
        self.failed: list[F] = []
        self.errors: list[FSError] = []
        self._add(requests)

    # ---- public state ------------------------------------------------------------------------

    @property
    def id(self) -> str | None:
        """The job id once the job is created (or given to ``restart``)."""
        return self._job_id

    @property
    def status(self) -> JobStatus | None:
        """The last status seen: PROCESSING, COMPLETED or FAILED; None before creation."""
        return self.metadata.status if self.metadata is not None else None

    @property
    def requests(self) -> list[dict[str, Any]]:
        return list(self._requests)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.kind} id={self.id!r} status="
            f"{self.status.value if self.status else None} items={len(self._requests)} "
            f"phase={self._phase}>"
        )

    # ---- building ---------------------------------------------------------------------------

    def _add(self, requests: Iterable[Any]) -> None:
        if isinstance(requests, dict | str | bytes) or not isinstance(requests, Iterable):
            raise FSInvalidArgumentError("requests must be a list of requests", field="requests")
        with self._lock:
            if self._phase != "new" or self._job_id is not None:
                raise FSInvalidArgumentError(
                    "this job was already executed; create a new job to send more items",
                    field="requests",
                )
            start = len(self._requests)
            added = [
                prepare_item(self.kind, item, f"requests[{start + i}]")
                for i, item in enumerate(requests)
            ]
            if start + len(added) > C.MAX_BATCH_ITEMS:
                raise FSInvalidArgumentError(
                    f"a job holds at most {C.MAX_BATCH_ITEMS} items; use import_() for more",
                    field="requests",
                )
            self._requests.extend(added)

    def _register(self, event: str, listener: Callable[..., Any]) -> list[tuple[Any, ...]]:
        """Add a listener; return the calls it is owed for what already happened."""
        if event not in EVENTS:
            raise FSInvalidArgumentError(
                f"unknown job event {event!r}; use one of {', '.join(EVENTS)}", field="event"
            )
        if not callable(listener):
            raise FSInvalidArgumentError("a listener must be callable", field="listener")
        with self._lock:
            self._listeners[event].append(listener)
            if event == "created" and self._created_metadata is not None:
                return [(self._created_metadata,)]
            if event == "error":
                return [(error,) for error in self.errors]
            if event == "abort" and self._phase == "aborted":
                return [(list(self.errors),)]
            if event == "done" and self._phase == "done":
                return [(list(self.imported), list(self.failed))]
        return []

    def _emit(self, event: str, *args: Any) -> Emit:
        with self._lock:
            return self._emit_locked(event, *args)

    def _emit_locked(self, event: str, *args: Any) -> Emit:
        """The listeners to call, snapshotted with the lock held, in the same step as the state
        change they report: a listener added meanwhile gets the call exactly once (from
        ``_register`` or from here, never both)."""
        return Emit(list(self._listeners[event]), args, event)

    def _record_error(self, error: FSError) -> Emit:
        with self._lock:
            self.errors.append(error)
            return self._emit_locked("error", error)

    def _start(self, job_id: str | None, *, restart: bool) -> bool:
        """Move to "running"; False when ``execute()`` finds the job already under way."""
        with self._lock:
            if not restart and self._phase in ("running", "done"):
                return False
            if self._phase == "running":
                raise FSInvalidArgumentError("the job is already running", field="job_id")
            if job_id is not None:
                if self._job_id is not None and self._job_id != job_id:
                    raise FSInvalidArgumentError(
                        f"this job is {self._job_id}; restart({job_id!r}) needs a fresh job",
                        field="job_id",
                    )
                self._job_id = identifier(job_id, "job_id")
            elif self._job_id is None and not self._requests:
                raise FSInvalidArgumentError(
                    "the job has no items: add() some before execute()", field="requests"
                )
            self._phase = "running"
            # Each run has its own: a finished run still calling its listeners cannot end the
            # next one.
            self._ended = threading.Event()
            # A new execution: its abort reports its own errors.
            self.imported, self.failed, self.errors = [], [], []
            return True

    # ---- the lifecycle ----------------------------------------------------------------------

    def flow(self) -> Flow[None]:
        """The run that ``_start`` began; it sets that run's Event when it ends (a flow that
        raises leaves that to its driver, after recording how it ended)."""
        return self._lifecycle_then_end(self._ended)

    def _lifecycle_then_end(self, ended: threading.Event) -> Flow[None]:
        yield from self._lifecycle()
        ended.set()

    def _lifecycle(self) -> Flow[None]:
        if self._job_id is None:
            created = yield Request(
                create_job_call(self.kind, self._requests, self._shared_context, self._key)
            )
            if isinstance(created, FSError):
                yield from self._abort_with(created)
                return
            assert isinstance(created, ApiResponse)
            with self._lock:
                self.metadata = self._created_metadata = created.body.job
                self._job_id = job_id = self.metadata.id
                emit = self._emit_locked("created", self.metadata)
            yield emit
        else:
            job_id = self._job_id
        polls = StatusPolls(
            self.kind,
            job_id,
            self.options.poll_interval,
            self.options.max_retry,
            give_up_hint="; restart() resumes following it",
        )
        delay = self.options.poll_interval
        while True:
            yield Sleep(delay)
            polled = yield Request(polls.call())
            assert isinstance(polled, ApiResponse | FSError)
            read = polls.read(polled)
            if isinstance(polled, FSError):
                yield self._record_error(polled)
            if isinstance(read, PollGaveUp):
                if read.error is not polled:  # FSMaxRetryError: an error of its own
                    yield self._record_error(read.error)
                yield from self._abort()
                return
            if isinstance(read, PollAgain):
                delay = read.delay
            status = read.status
            if status is None:  # a failed poll, to be tried again
                continue
            with self._lock:
                self.status_response = status
                self.metadata = status.job
            if isinstance(read, JobEnded):
                break
            yield self._emit("processing", self)
        if self.options.collect_results:
            for pages, into in (
                (self._result_pages(job_id, imports=True), self.imported),
                (self._result_pages(job_id, imports=False), self.failed),
            ):
                try:
                    while not pages.last:
                        page = yield from read_next_page(
                            pages,
                            pending_wait=self.options.poll_interval,
                            max_retry=self.options.max_retry,
                        )
                        into.extend(page)
                except FSError as error:
                    yield from self._abort_with(error)
                    return
        with self._lock:
            self._phase = "done"
            emit = self._emit_locked("done", list(self.imported), list(self.failed))
        yield emit

    def _result_pages(self, job_id: str, *, imports: bool) -> ResultPages:
        return ResultPages(self.kind, job_id, self.include_schema, imports=imports)

    def _abort_with(self, error: FSError) -> Flow[None]:
        yield self._record_error(error)
        yield from self._abort()

    def _abort(self) -> Flow[None]:
        with self._lock:
            self._phase = "aborted"
            emit = self._emit_locked("abort", list(self.errors))
        yield emit

    def _result(self) -> BatchJobResult[I, F]:
        with self._lock:
            phase = self._phase
            errors = list(self.errors)
        if phase == "aborted":
            raise errors[-1]
        if phase == "stopped":
            raise FSUnknownError(
                f"the client was closed while job {self.id} was followed; "
                "restart() on a new client resumes it"
            )
        metadata, job_id = self.metadata, self._job_id
        if metadata is None or job_id is None:  # "done" is only reached with both known
            raise FSUnknownError(f"job {job_id}: ended without a status; see the log")
        counts = self.status_response
        return BatchJobResult(
            job_id=job_id,
            status=metadata.status,
            imported=list(self.imported),
            failed=list(self.failed),
            imports_count=status_count(counts.imports) if counts else len(self.imported),
            errors_count=status_count(counts.errors) if counts else len(self.failed),
        )

    def _end_run_that_raised(
        self, ended: threading.Event, error: BaseException, *, stopped: bool
    ) -> None:
        """A run that raised: stopped (the client closed) or crashed (a bug, aborted so that
        wait() does not hang). Its Event is set once the phase says how it ended."""
        with self._lock:
            if stopped:
                self._phase = "stopped"
            else:
                logger.error("following job %s failed", self.id, exc_info=error)
                self.errors.append(FSUnknownError(f"job {self.id}: internal error, see the log"))
                self._phase = "aborted"
        ended.set()

    def _finished_job_id(self) -> str:
        if self._job_id is None or self.status in (None, JobStatus.PROCESSING):
            raise FSInvalidArgumentError(
                "the job has not finished yet: wait() for it before reading its results",
                field="job",
            )
        return self._job_id


class BatchJob(_JobCore[I, F]):
    """A batch import job followed from a background thread."""

    def __init__(
        self, client: FullStory, kind: Kind, requests: Iterable[Any], **kwargs: Any
    ) -> None:
        super().__init__(kind, requests, **kwargs)
        self._client = client
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def add(self, *requests: Any) -> BatchJob[I, F]:
        """Add items before ``execute()``; refused afterwards."""
        self._add(requests)
        return self

    def on(self, event: Event, listener: Callable[..., Any]) -> BatchJob[I, F]:
        """Listen to created(metadata), processing(job), error(error), abort(errors) or
        done(imported, failed). Listeners run on the job's thread; one that raises is logged."""
        for args in self._register(event, listener):
            call_listener(listener, args, event)
        return self

    def execute(self) -> BatchJob[I, F]:
        """Create the job and follow it in the background; returns at once."""
        self._launch(None, restart=False)
        return self

    def restart(self, job_id: str | None = None) -> BatchJob[I, F]:
        """Follow the job again after an abort; with ``job_id``, follow an existing job."""
        self._launch(job_id, restart=True)
        return self

    def _launch(self, job_id: str | None, *, restart: bool) -> None:
        if not self._start(job_id, restart=restart):
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run,
            args=(self.flow(), self._ended),
            name=f"session-analytics-{self.kind}-job",
            daemon=True,
        )
        self._client._track_job(self)
        self._thread.start()

    def _run(self, flow: Flow[None], ended: threading.Event) -> None:
        try:
            drive_sync(flow, self._client.raw, self._sleep)
        except Exception as error:  # _Stopped; or a bug, which must not leave wait() hanging
            self._end_run_that_raised(ended, error, stopped=isinstance(error, _Stopped))

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Stopped

    def _stop_following(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> BatchJobResult[I, F]:
        """Block until the job is done, and return its result.

        Raises:
            FSTimeoutError: the job is still running after ``timeout`` seconds (it goes on).
            FSError: the error that aborted the job (FSMaxRetryError after failed polls).
        """
        if self._phase == "new":
            raise FSInvalidArgumentError("execute() the job before waiting for it", field="job")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            ended = self._ended
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not ended.wait(left):
                raise FSTimeoutError(
                    f"job {self.id} still running after {timeout:g} s; it goes on, wait() again"
                )
            if self._ended is ended:  # else a listener restarted the job: follow the new run
                return self._result()

    def iter_imports(self) -> Iterator[I]:
        """Every imported item of the finished job, fetched page by page."""
        yield from self._iter(imports=True)

    def iter_errors(self) -> Iterator[F]:
        """Every failed item of the finished job, with its code and message, page by page."""
        yield from self._iter(imports=False)

    def _iter(self, *, imports: bool) -> Iterator[Any]:
        pages = self._result_pages(self._finished_job_id(), imports=imports)
        while not pages.last:
            yield from drive_sync(read_next_page(pages), self._client.raw, time.sleep)


class AsyncBatchJob(_JobCore[I, F]):
    """A batch import job followed by an asyncio task of the running loop."""

    def __init__(
        self, client: AsyncFullStory, kind: Kind, requests: Iterable[Any], **kwargs: Any
    ) -> None:
        super().__init__(kind, requests, **kwargs)
        self._client = client
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Future[Any]] = set()

    def add(self, *requests: Any) -> AsyncBatchJob[I, F]:
        """Add items before ``execute()``; refused afterwards."""
        self._add(requests)
        return self

    def on(self, event: Event, listener: Callable[..., Any]) -> AsyncBatchJob[I, F]:
        """Like BatchJob.on; listeners may be coroutine functions, and run on the loop."""
        for args in self._register(event, listener):
            result = call_listener(listener, args, event)
            if inspect.isawaitable(result):
                import asyncio

                future = asyncio.ensure_future(result)
                self._pending.add(future)
                future.add_done_callback(self._pending.discard)
        return self

    def execute(self) -> AsyncBatchJob[I, F]:
        """Create the job and follow it in a task of the running loop; returns at once."""
        self._launch(None, restart=False)
        return self

    def restart(self, job_id: str | None = None) -> AsyncBatchJob[I, F]:
        """Follow the job again after an abort; with ``job_id``, follow an existing job."""
        self._launch(job_id, restart=True)
        return self

    def _launch(self, job_id: str | None, *, restart: bool) -> None:
        import asyncio

        loop = asyncio.get_running_loop()  # raises outside a loop: an async job needs one
        if not self._start(job_id, restart=restart):
            return
        self._task = loop.create_task(
            self._run(self.flow(), self._ended), name=f"session-analytics-{self.kind}-job"
        )
        self._client._track_job(self)

    async def _run(self, flow: Flow[None], ended: threading.Event) -> None:
        import asyncio

        try:
            await drive_async(flow, self._client.raw, asyncio.sleep)
        except asyncio.CancelledError as cancelled:
            self._end_run_that_raised(ended, cancelled, stopped=True)
            raise
        except Exception as error:  # a bug must not leave wait() hanging
            self._end_run_that_raised(ended, error, stopped=False)

    def _stop_following(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def wait(self, timeout: float | None = None) -> BatchJobResult[I, F]:
        """Wait until the job is done and return its result (see BatchJob.wait)."""
        import asyncio

        if self._task is None:
            raise FSInvalidArgumentError("execute() the job before waiting for it", field="job")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            task, ended = self._task, self._ended
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                await asyncio.wait_for(asyncio.shield(task), left)
            except asyncio.TimeoutError:
                raise FSTimeoutError(
                    f"job {self.id} still running after {timeout:g} s; it goes on, wait() again"
                ) from None
            except asyncio.CancelledError:
                if not ended.is_set():
                    raise
            if self._task is task:  # else a listener restarted the job: follow the new run
                return self._result()

    async def iter_imports(self) -> AsyncIterator[I]:
        """Every imported item of the finished job, fetched page by page."""
        async for item in self._iter(imports=True):
            yield item

    async def iter_errors(self) -> AsyncIterator[F]:
        """Every failed item of the finished job, with its code and message, page by page."""
        async for item in self._iter(imports=False):
            yield item

    async def _iter(self, *, imports: bool) -> AsyncIterator[Any]:
        import asyncio

        pages = self._result_pages(self._finished_job_id(), imports=imports)
        while not pages.last:
            for item in await drive_async(read_next_page(pages), self._client.raw, asyncio.sleep):
                yield item


__all__ = ["AsyncBatchJob", "BatchJob"]
