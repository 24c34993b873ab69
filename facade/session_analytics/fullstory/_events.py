"""``fs.events``: create, batch_create, import_."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Sized
from typing import TYPE_CHECKING, Any

import attrs

from .. import telemetry
from .._constants import DEFAULT_IMPORT_JOBS_IN_FLIGHT, MAX_BATCH_ITEMS
from ..errors import FSError, QuotaWarning
from . import _inputs
from ._calls import ApiResponse, run_async, run_sync
from ._identity import user_for_track
from ._ids import event_id
from ._requests import create_event_call
from ._track import check_size, track_payload

# The generated models, batch jobs and import_() are imported by the calls that use them.
if TYPE_CHECKING:
    from typing import TypeAlias

    from fullstory_api.models import (
        BatchCreateEventsResponse,
        Context,
        CreateEventRequest,
        CreateEventResponse,
        FailedEventsImport,
    )

    from ._client import AsyncFullStory, FullStory
    from ._jobs import AsyncBatchJob, BatchJob, BatchJobOptions, ImportResult, importer
    from ._quotas import QuotaCheck

    EventIn: TypeAlias = CreateEventRequest | dict[str, Any]
    EventJob: TypeAlias = BatchJob[BatchCreateEventsResponse, FailedEventsImport]
    AsyncEventJob: TypeAlias = AsyncBatchJob[BatchCreateEventsResponse, FailedEventsImport]
else:
    from ._users import importer  # imports _jobs on first use

Listener = Callable[..., Any]
logger = logging.getLogger("session_analytics")


def _import_size(items: Iterable[Any]) -> int | None:
    """How many events an import would send: the length of a collection, else not known."""
    return len(items) if isinstance(items, Sized) else None


def _quota_unread(error: FSError) -> None:
    logger.warning(
        "import: could not read the quotas (%s); importing without the quota check", error.message
    )


def _with_quota(result: ImportResult, quota: QuotaCheck | None) -> ImportResult:
    return result if quota is None else attrs.evolve(result, quota=quota)


def _shared(shared_context: Context | dict[str, Any] | None) -> dict[str, Any] | None:
    return None if shared_context is None else _inputs.context(shared_context, "shared_context")


class _Tracking:
    """``track()`` is the same plain call on both clients: it only validates and queues."""

    _client: Any

    def track(
        self,
        name: str,
        *,
        user: dict[str, Any] | None = None,
        session: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        context: Context | dict[str, Any] | None = None,
        timestamp: Any = None,
        schema: dict[str, Any] | None = None,
    ) -> bool:
        """Queue an event and return at once; a worker (a task of the loop, for the async
        client; call it from the loop's thread) sends it.

        Checked like ``create`` before it is queued (FSInvalidArgumentError names the field);
        timestamped now unless ``timestamp`` is given. False when the queue refused it (full:
        counted in ``stats().dropped`` and passed to ``on_drop``). Given neither ``user`` nor
        ``session``, the event is for the user ``fullstory.identify()`` made current, if any.
        """
        if user is None and session is None:
            user = user_for_track()
        if telemetry.event_trace_ids:
            properties = telemetry.with_trace_ids(properties)
        payload = track_payload(name, user, session, properties, context, timestamp, schema)
        check_size(payload, self._client._batcher)
        accepted: bool = self._client._batcher.enqueue(payload, event_id())
        return accepted


class Events(_Tracking):
    """The FullStory events API (sync)."""

    def __init__(self, client: FullStory) -> None:
        self._client = client

    def create(self, event: EventIn, *, idempotency_key: str | None = None) -> CreateEventResponse:
        """Record one event now, with an Idempotency-Key so a retry never records it twice."""
        return self.create_detailed(event, idempotency_key=idempotency_key).body

    def create_detailed(
        self, event: EventIn, *, idempotency_key: str | None = None
    ) -> ApiResponse[CreateEventResponse]:
        """Like ``create``, with the HTTP envelope (status, headers, retries, key)."""
        if telemetry.event_trace_ids:
            event = telemetry.event_with_trace_ids(event)
        return run_sync(self._client.raw, create_event_call(event, idempotency_key))

    def batch_create(
        self,
        requests: Iterable[EventIn] = (),
        *,
        shared_context: Context | dict[str, Any] | None = None,
        include_schema: bool = False,
        options: BatchJobOptions | None = None,
    ) -> EventJob:
        """An events import job of up to 50,000 items; ``shared_context`` applies to each."""
        from . import BatchJob

        return BatchJob(
            self._client,
            "events",
            requests,
            shared_context=_shared(shared_context),
            include_schema=include_schema,
            options=options,
        )

    def import_(
        self,
        items: Iterable[EventIn],
        *,
        shared_context: Context | dict[str, Any] | None = None,
        options: BatchJobOptions | None = None,
        jobs_in_flight: int = DEFAULT_IMPORT_JOBS_IN_FLIGHT,
        chunk_size: int = MAX_BATCH_ITEMS,
        on_progress: Listener | None = None,
        on_failed: Listener | None = None,
        on_imported: Listener | None = None,
        include_schema: bool = False,
        check_quota: bool = False,
    ) -> ImportResult:
        """Import any number of events through as many jobs as it takes; blocks until done.

        With ``check_quota``, the organization's quotas are read first: the result's ``quota``
        compares the number of events (``len(items)`` of a collection, else not known) with
        what the server-event quota has left, and a QuotaWarning says so when the import would
        use more. The import goes on either way (what happens past the quota is the API's
        decision); quotas that cannot be read are logged and leave ``quota`` None.
        """
        from ._flow import drive_sync

        flow = importer(
            "events",
            items,
            shared_context=_shared(shared_context),
            options=options,
            jobs_in_flight=jobs_in_flight,
            chunk_size=chunk_size,
            on_progress=on_progress,
            on_failed=on_failed,
            on_imported=on_imported,
            include_schema=include_schema,
        ).flow()
        quota = None
        if check_quota:
            try:
                quota = self._client.organization.check_quota(_import_size(items))
            except FSError as error:
                _quota_unread(error)
            if quota is not None and quota.would_exceed:
                warnings.warn(quota.describe(), QuotaWarning, stacklevel=2)
        return _with_quota(drive_sync(flow, self._client.raw, self._client._sleep), quota)


class AsyncEvents(_Tracking):
    """The FullStory events API (asyncio)."""

    def __init__(self, client: AsyncFullStory) -> None:
        self._client = client

    async def create(
        self, event: EventIn, *, idempotency_key: str | None = None
    ) -> CreateEventResponse:
        """Record one event now, with an Idempotency-Key so a retry never records it twice."""
        return (await self.create_detailed(event, idempotency_key=idempotency_key)).body

    async def create_detailed(
        self, event: EventIn, *, idempotency_key: str | None = None
    ) -> ApiResponse[CreateEventResponse]:
        """Like ``create``, with the HTTP envelope (status, headers, retries, key)."""
        if telemetry.event_trace_ids:
            event = telemetry.event_with_trace_ids(event)
        return await run_async(self._client.raw, create_event_call(event, idempotency_key))

    def batch_create(
        self,
        requests: Iterable[EventIn] = (),
        *,
        shared_context: Context | dict[str, Any] | None = None,
        include_schema: bool = False,
        options: BatchJobOptions | None = None,
    ) -> AsyncEventJob:
        """An events import job of up to 50,000 items; ``shared_context`` applies to each."""
        from . import AsyncBatchJob

        return AsyncBatchJob(
            self._client,
            "events",
            requests,
            shared_context=_shared(shared_context),
            include_schema=include_schema,
            options=options,
        )

    async def import_(
        self,
        items: Iterable[EventIn],
        *,
        shared_context: Context | dict[str, Any] | None = None,
        options: BatchJobOptions | None = None,
        jobs_in_flight: int = DEFAULT_IMPORT_JOBS_IN_FLIGHT,
        chunk_size: int = MAX_BATCH_ITEMS,
        on_progress: Listener | None = None,
        on_failed: Listener | None = None,
        on_imported: Listener | None = None,
        include_schema: bool = False,
        check_quota: bool = False,
    ) -> ImportResult:
        """Import any number of events through as many jobs as it takes; returns when done.
        ``check_quota``: see :meth:`Events.import_`."""
        from ._flow import drive_async

        flow = importer(
            "events",
            items,
            shared_context=_shared(shared_context),
            options=options,
            jobs_in_flight=jobs_in_flight,
            chunk_size=chunk_size,
            on_progress=on_progress,
            on_failed=on_failed,
            on_imported=on_imported,
            include_schema=include_schema,
        ).flow()
        quota = None
        if check_quota:
            try:
                quota = await self._client.organization.check_quota(_import_size(items))
            except FSError as error:
                _quota_unread(error)
            if quota is not None and quota.would_exceed:
                warnings.warn(quota.describe(), QuotaWarning, stacklevel=2)
        result = await drive_async(flow, self._client.raw, self._client._sleep)
        return _with_quota(result, quota)
