"""The state, listeners and IO-free lifecycle flow of one batch job: :class:`_JobCore`.

created -> processing (each poll) -> done, or abort; the status polls are read with
:mod:`.polling` and the results with :mod:`.paging`. :mod:`.batch_job` drives this flow from a
thread (:class:`BatchJob`) or an asyncio task (:class:`AsyncBatchJob`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, Generic, Literal, TypeVar

from fullstory_api.models import JobMetadata, JobStatus, JobStatusResponse

from ..._constants import MAX_BATCH_ITEMS
from ..._transport import new_idempotency_key
from ...errors import FSError, FSInvalidArgumentError, FSUnknownError
from .._calls import ApiResponse
from .._flow import Emit, Flow, Request, Sleep
from .._requests import Kind, create_job_call, identifier, prepare_item
from .options import BatchJobOptions
from .paging import ResultPages, read_next_page
from .polling import JobEnded, PollAgain, PollGaveUp, StatusPolls
from .results import BatchJobResult, status_count

I = TypeVar("I")  # noqa: E741 - an imported item
F = TypeVar("F")  # a failed item

logger = logging.getLogger("session_analytics")

EVENTS = ("created", "processing", "error", "abort", "done")
Event = Literal["created", "processing", "error", "abort", "done"]


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
            if start + len(added) > MAX_BATCH_ITEMS:
                raise FSInvalidArgumentError(
                    f"a job holds at most {MAX_BATCH_ITEMS} items; use import_() for more",
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
