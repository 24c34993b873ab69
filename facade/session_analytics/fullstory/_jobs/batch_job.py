"""Batch import jobs with the lifecycle of the FullStory Node SDK, and what it lacks.

created -> processing (each poll while PROCESSING) -> done, or abort. ``error`` fires for every
failure (it may fire many times); ``abort`` fires once per execution, after ``max_retry`` failed
polls in a row or at the first failure that no retry can fix. A listener registered after
``done``, ``abort``, ``error`` or ``created`` already happened is called at once with what
happened. A FAILED job (which includes partial failure) yields both its imported and its failed
items. With ``collect_results=False`` nothing is held in memory: stream the results page by page
with ``iter_imports()`` / ``iter_errors()``.

The lifecycle is one IO-free flow (:mod:`.lifecycle`), driven here by a thread for
:class:`BatchJob` and by an asyncio task for :class:`AsyncBatchJob`; ``iter_imports()`` /
``iter_errors()`` run the same one-page flow of :mod:`.paging` as the lifecycle does.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ...errors import FSInvalidArgumentError, FSTimeoutError
from .._flow import Flow, call_listener, drive_async, drive_sync
from .._requests import Kind
from .lifecycle import Event, F, I, _JobCore
from .paging import read_next_page
from .results import BatchJobResult

if TYPE_CHECKING:
    import asyncio

    from .._client import AsyncFullStory, FullStory


class _Stopped(Exception):
    """The client was closed while the job was being followed."""


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
