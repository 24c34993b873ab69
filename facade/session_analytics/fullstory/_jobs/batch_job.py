"""Batch import jobs with the lifecycle of the FullStory Node SDK, and what it lacks.

created -> processing (each poll while PROCESSING) -> done, or abort. ``error`` fires for every
failure (it may fire many times); ``abort`` fires once per execution, after ``max_retry`` failed
polls in a row or at the first failure that no retry can fix. A listener registered after
``done``, ``abort``, ``error`` or ``created`` already happened is called at once with what
happened. A FAILED job (which includes partial failure) yields both its imported and its failed
items. With ``collect_results=False`` nothing is held in memory: stream the results page by page
with ``iter_imports()`` / ``iter_errors()``.

The lifecycle is one IO-free flow (:meth:`_JobCore.flow`), driven by a thread for
:class:`BatchJob` and by an asyncio task for :class:`AsyncBatchJob`.
"""

from __future__ import annotations

import inspect
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import attrs

from fullstory_api.models import JobMetadata, JobResultsPending, JobStatus, JobStatusResponse
from fullstory_api.types import Unset

from ... import _constants as C
from ..._transport import new_idempotency_key
from ...errors import (
    FSConnectionError,
    FSError,
    FSInvalidArgumentError,
    FSMaxRetryError,
    FSRateLimitedError,
    FSServerError,
    FSTimeoutError,
    FSUnknownError,
)
from .. import _requests as R
from .._calls import ApiResponse, run_async, run_sync
from .._flow import Emit, Flow, Request, Sleep, call_listener, drive_async, drive_sync

if TYPE_CHECKING:
    import asyncio

    from .._client import AsyncFullStory, FullStory

I = TypeVar("I")  # noqa: E741 - an imported item
F = TypeVar("F")  # a failed item

logger = logging.getLogger("session_analytics")

EVENTS = ("created", "processing", "error", "abort", "done")
Event = Literal["created", "processing", "error", "abort", "done"]
# How long import_() waits out job creates refused with 429 before it stops (seconds).
DEFAULT_MAX_RATE_LIMITED_WAIT_S = 600.0
RETRYABLE_POLL_ERRORS = (FSServerError, FSRateLimitedError, FSTimeoutError, FSConnectionError)


def _check_positive(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FSInvalidArgumentError(f"{attribute.name} must be a number", field=attribute.name)
    if not math.isfinite(value) or value <= 0:
        raise FSInvalidArgumentError(f"{attribute.name} must be > 0", field=attribute.name)


def _check_retries(_: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FSInvalidArgumentError(
            f"{attribute.name} must be a whole number >= 1", field=attribute.name
        )


@attrs.frozen(kw_only=True)
class BatchJobOptions:
    """How a job is followed once it is created.

    Attributes:
        poll_interval: seconds between status polls (the Node SDK's ``pollInterval`` is in ms).
        max_retry: failed polls in a row before the job is aborted with FS_MAX_RETRY.
        collect_results: hold imported and failed items for ``done``/``wait()``; turn off for
            big jobs and stream them with ``iter_imports()`` / ``iter_errors()``.
        max_rate_limited_wait: ``import_()`` only: the longest time, in seconds, that job
            creates may keep being refused with 429 (rate limited, or too much in progress)
            before the import stops with FS_MAX_RETRY; counted from the first refused create
            since the last one that went through, and reset by every job created.
    """

    poll_interval: float = attrs.field(default=C.DEFAULT_POLL_INTERVAL_S, validator=_check_positive)
    max_retry: int = attrs.field(default=C.DEFAULT_JOB_MAX_RETRY, validator=_check_retries)
    collect_results: bool = True
    max_rate_limited_wait: float = attrs.field(
        default=DEFAULT_MAX_RATE_LIMITED_WAIT_S, validator=_check_positive
    )


@attrs.frozen
class BatchJobResult(Generic[I, F]):
    """How a job ended: its final status and, when collected, its items."""

    job_id: str
    status: JobStatus
    imported: list[I]
    failed: list[F]
    imports_count: int
    errors_count: int


def _count(value: int | Unset) -> int:
    return 0 if isinstance(value, Unset) else int(value)


def poll_backoff(poll_interval: float, failures: int, error: FSError) -> float:
    """The wait after ``failures`` failed status polls in a row: doubling from the poll
    interval, at least the server's Retry-After, at most MAX_POLL_DELAY_S."""
    retry_after = getattr(error, "retry_after", None) or 0.0
    return min(C.MAX_POLL_DELAY_S, max(poll_interval * 2.0**failures, retry_after))


class _Stopped(Exception):
    """The client was closed while the job was being followed."""


class _JobCore(Generic[I, F]):
    """State, listeners and the IO-free lifecycle flow of one job."""

    def __init__(
        self,
        kind: R.Kind,
        requests: Iterable[Any],
        *,
        shared_context: dict[str, Any] | None,
        include_schema: bool,
        options: BatchJobOptions | None,
    ) -> None:
        if options is not None and not isinstance(options, BatchJobOptions):
            raise FSInvalidArgumentError("options must be a BatchJobOptions", field="options")
        self.kind: R.Kind = kind
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
                R.prepare_item(self.kind, item, f"requests[{start + i}]")
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

    def _error(self, error: FSError) -> Emit:
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
                self._job_id = R.identifier(job_id, "job_id")
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
        return self._flow(self._ended)

    def _flow(self, ended: threading.Event) -> Flow[None]:
        yield from self._lifecycle()
        ended.set()

    def _lifecycle(self) -> Flow[None]:
        if self._job_id is None:
            created = yield Request(
                R.create_job_call(self.kind, self._requests, self._shared_context, self._key)
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
        failures = 0
        delay = self.options.poll_interval
        while True:
            yield Sleep(delay)
            polled = yield Request(R.job_status_call(self.kind, job_id))
            if isinstance(polled, FSError):
                failures += 1
                yield self._error(polled)
                if not isinstance(polled, RETRYABLE_POLL_ERRORS):
                    yield from self._abort()
                    return
                if failures >= self.options.max_retry:
                    gave_up = FSMaxRetryError(
                        f"job {job_id}: {failures} status polls failed in a row "
                        f"(last: {polled.message}); restart() resumes following it",
                        last_error=polled,
                        retries_taken=failures,
                    )
                    gave_up.__cause__ = polled
                    yield self._error(gave_up)
                    yield from self._abort()
                    return
                delay = poll_backoff(self.options.poll_interval, failures, polled)
                continue
            assert isinstance(polled, ApiResponse)
            failures = 0
            delay = self.options.poll_interval
            status: JobStatusResponse = polled.body
            with self._lock:
                self.status_response = status
                self.metadata = status.job
            if status.job.status == JobStatus.PROCESSING:
                yield self._emit("processing", self)
                continue
            break
        if self.options.collect_results:
            for fetch, into in (
                (self._imports_call, self.imported),
                (self._errors_call, self.failed),
            ):
                fetched = yield from self._pages(fetch, into)
                if not fetched:
                    return
        with self._lock:
            self._phase = "done"
            emit = self._emit_locked("done", list(self.imported), list(self.failed))
        yield emit

    def _imports_call(self, token: str | None) -> Any:
        assert self.id is not None
        return R.job_imports_call(self.kind, self.id, token, self.include_schema)

    def _errors_call(self, token: str | None) -> Any:
        assert self.id is not None
        return R.job_errors_call(self.kind, self.id, token)

    def _pages(self, fetch: Callable[[str | None], Any], into: list[Any]) -> Flow[bool]:
        token: str | None = None
        waits = 0
        while True:
            page = yield Request(fetch(token))
            if isinstance(page, FSError):
                yield from self._abort_with(page)
                return False
            assert isinstance(page, ApiResponse)
            if isinstance(page.body, JobResultsPending):
                waits += 1
                if waits > self.options.max_retry:
                    pending = FSUnknownError(
                        f"job {self.id}: results still not ready after {waits} tries"
                    )
                    yield from self._abort_with(pending)
                    return False
                yield Sleep(self.options.poll_interval)
                continue
            into.extend(R.page_results(page.body))
            token = R.next_page_token(page.body, token)
            if token is None:
                return True

    def _abort_with(self, error: FSError) -> Flow[None]:
        yield self._error(error)
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
            imports_count=_count(counts.imports) if counts else len(self.imported),
            errors_count=_count(counts.errors) if counts else len(self.failed),
        )

    def _ended_by(self, ended: threading.Event, error: BaseException, *, stopped: bool) -> None:
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

    def _finished_id(self) -> str:
        if self._job_id is None or self.status in (None, JobStatus.PROCESSING):
            raise FSInvalidArgumentError(
                "the job has not finished yet: wait() for it before reading its results",
                field="job",
            )
        return self._job_id


class BatchJob(_JobCore[I, F]):
    """A batch import job followed from a background thread."""

    def __init__(
        self, client: FullStory, kind: R.Kind, requests: Iterable[Any], **kwargs: Any
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
            self._ended_by(ended, error, stopped=isinstance(error, _Stopped))

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
        yield from self._iter(self._imports_call)

    def iter_errors(self) -> Iterator[F]:
        """Every failed item of the finished job, with its code and message, page by page."""
        yield from self._iter(self._errors_call)

    def _iter(self, fetch: Callable[[str | None], Any]) -> Iterator[Any]:
        self._finished_id()
        token: str | None = None
        while True:
            page = run_sync(self._client.raw, fetch(token))
            if isinstance(page.body, JobResultsPending):
                raise FSInvalidArgumentError("the job's results are not ready yet", field="job")
            yield from R.page_results(page.body)
            token = R.next_page_token(page.body, token)
            if token is None:
                return


class AsyncBatchJob(_JobCore[I, F]):
    """A batch import job followed by an asyncio task of the running loop."""

    def __init__(
        self, client: AsyncFullStory, kind: R.Kind, requests: Iterable[Any], **kwargs: Any
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
            self._ended_by(ended, cancelled, stopped=True)
            raise
        except Exception as error:  # a bug must not leave wait() hanging
            self._ended_by(ended, error, stopped=False)

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
        async for item in self._iter(self._imports_call):
            yield item

    async def iter_errors(self) -> AsyncIterator[F]:
        """Every failed item of the finished job, with its code and message, page by page."""
        async for item in self._iter(self._errors_call):
            yield item

    async def _iter(self, fetch: Callable[[str | None], Any]) -> AsyncIterator[Any]:
        self._finished_id()
        token: str | None = None
        while True:
            page = await run_async(self._client.raw, fetch(token))
            if isinstance(page.body, JobResultsPending):
                raise FSInvalidArgumentError("the job's results are not ready yet", field="job")
            for item in R.page_results(page.body):
                yield item
            token = R.next_page_token(page.body, token)
            if token is None:
                return


__all__ = ["AsyncBatchJob", "BatchJob", "BatchJobOptions", "BatchJobResult"]
