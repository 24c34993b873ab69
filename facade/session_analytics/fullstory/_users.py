"""``fs.users``: create, queued creates, get, list, iter, update, delete, batch_create, import_."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .._constants import DEFAULT_IMPORT_JOBS_IN_FLIGHT, MAX_BATCH_ITEMS
from ._calls import ApiResponse, run_async, run_sync
from ._requests import (
    create_user_call,
    delete_user_call,
    get_user_call,
    list_users_call,
    next_page_token,
    page_results,
    update_user_call,
)
from ._v2_requests import create_user_stream_call, user_stream_status_call

# The generated models, batch jobs and import_() are imported by the calls that use them.
if TYPE_CHECKING:
    from typing import TypeAlias

    from fullstory_api.models import (
        BatchUserImportRequest,
        BatchUserImportResponse,
        CreateUserRequest,
        CreateUserResponse,
        DeleteUserResponse,
        FailedUserImport,
        GetUserResponse,
        ListUsersResponse,
        UpdateUserRequest,
        UpdateUserResponse,
        UserStreamStatusResponse,
    )

    from ._client import AsyncFullStory, FullStory
    from ._jobs import AsyncBatchJob, BatchJob, BatchJobOptions, ImportResult, importer
    from ._queued_users import AsyncQueuedUserCreate, QueuedUserCreate

    UserIn: TypeAlias = CreateUserRequest | UpdateUserRequest | dict[str, Any]
    UserJob: TypeAlias = BatchJob[BatchUserImportResponse, FailedUserImport]
    AsyncUserJob: TypeAlias = AsyncBatchJob[BatchUserImportResponse, FailedUserImport]
else:

    def importer(*args, **kwargs):
        """``_jobs.importer``, imported by the first ``import_()``."""
        from . import _load

        _load("_jobs")  # the package publishes ImportResult & co. whoever imports them first
        from ._jobs import importer

        return importer(*args, **kwargs)


Listener = Callable[..., Any]


class Users:
    """The FullStory users API (sync). Inputs are dicts or generated models."""

    def __init__(self, client: FullStory) -> None:
        self._client = client

    def create(self, user: UserIn, *, idempotency_key: str | None = None) -> CreateUserResponse:
        """Create a user, or update the identified user that already has this uid."""
        return self.create_detailed(user, idempotency_key=idempotency_key).body

    def create_detailed(
        self, user: UserIn, *, idempotency_key: str | None = None
    ) -> ApiResponse[CreateUserResponse]:
        """Like ``create``, with the HTTP envelope (status, headers, retries, key)."""
        return run_sync(self._client.raw, create_user_call(user, idempotency_key))

    def create_queued(
        self, user: UserIn, *, idempotency_key: str | None = None
    ) -> QueuedUserCreate:
        """Queue a user create (or upsert by uid), checked like ``create``, and return at once
        with a :class:`QueuedUserCreate`: ``wait()`` gives the user's FullStory id once the API
        has made it. Every attempt carries one Idempotency-Key, so a retry never queues twice."""
        return self.create_queued_detailed(user, idempotency_key=idempotency_key).body

    def create_queued_detailed(
        self, user: UserIn, *, idempotency_key: str | None = None
    ) -> ApiResponse[QueuedUserCreate]:
        """Like ``create_queued``, with the create's HTTP envelope."""
        from ._queued_users import QueuedUserCreate, queued_response

        created = run_sync(self._client.raw, create_user_stream_call(user, idempotency_key))
        handle = QueuedUserCreate(self._client, created.body.request_id, created.idempotency_key)
        return queued_response(created, handle)

    def queued(self, request_id: str) -> QueuedUserCreate:
        """Follow a create queued before (by the ``request_id`` it was given); no I/O."""
        from ._queued_users import QueuedUserCreate
        from ._requests import identifier

        return QueuedUserCreate(self._client, identifier(request_id, "request_id"))

    def queued_status(self, request_id: str) -> UserStreamStatusResponse:
        """One status read of a queued create: ``id`` is "" while pending, then the user's."""
        return self.queued_status_detailed(request_id).body

    def queued_status_detailed(self, request_id: str) -> ApiResponse[UserStreamStatusResponse]:
        """Like ``queued_status``, with the HTTP envelope."""
        return run_sync(self._client.raw, user_stream_status_call(request_id))

    def get(self, id: str, *, include_schema: bool = False) -> GetUserResponse:
        """Read one user by FullStory id; ``include_schema`` adds property types."""
        return self.get_detailed(id, include_schema=include_schema).body

    def get_detailed(
        self, id: str, *, include_schema: bool = False
    ) -> ApiResponse[GetUserResponse]:
        """Like ``get``, with the HTTP envelope."""
        return run_sync(self._client.raw, get_user_call(id, include_schema))

    def list(
        self,
        *,
        uid: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
        is_identified: bool | None = None,
        page_token: str | None = None,
        include_schema: bool = False,
    ) -> ListUsersResponse:
        """One page of users matching every filter given; see ``iter`` for all pages."""
        return self.list_detailed(
            uid=uid,
            email=email,
            display_name=display_name,
            is_identified=is_identified,
            page_token=page_token,
            include_schema=include_schema,
        ).body

    def list_detailed(
        self,
        *,
        uid: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
        is_identified: bool | None = None,
        page_token: str | None = None,
        include_schema: bool = False,
    ) -> ApiResponse[ListUsersResponse]:
        """Like ``list``, with the HTTP envelope."""
        call = list_users_call(
            uid=uid,
            email=email,
            display_name=display_name,
            is_identified=is_identified,
            page_token=page_token,
            include_schema=include_schema,
        )
        return run_sync(self._client.raw, call)

    def iter(
        self,
        *,
        uid: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
        is_identified: bool | None = None,
        include_schema: bool = False,
    ) -> Iterator[GetUserResponse]:
        """Every matching user, fetching the pages as they are needed."""
        token: str | None = None
        while True:
            page = self.list(
                uid=uid,
                email=email,
                display_name=display_name,
                is_identified=is_identified,
                include_schema=include_schema,
                page_token=token,
            )
            yield from page_results(page)
            token = next_page_token(page, token)
            if token is None:
                return

    def update(self, id: str, changes: UserIn) -> UpdateUserResponse:
        """Change fields of a user; properties are merged into the stored ones."""
        return self.update_detailed(id, changes).body

    def update_detailed(self, id: str, changes: UserIn) -> ApiResponse[UpdateUserResponse]:
        """Like ``update``, with the HTTP envelope."""
        return run_sync(self._client.raw, update_user_call(id, changes))

    def delete(self, id: str | None = None, *, uid: str | None = None) -> DeleteUserResponse:
        """Delete a user by FullStory ``id`` or by ``uid`` (exactly one of them)."""
        return self.delete_detailed(id, uid=uid).body

    def delete_detailed(
        self, id: str | None = None, *, uid: str | None = None
    ) -> ApiResponse[DeleteUserResponse]:
        """Like ``delete``, with the HTTP envelope."""
        return run_sync(self._client.raw, delete_user_call(id, uid))

    def batch_create(
        self,
        requests: Iterable[BatchUserImportRequest | dict[str, Any]] = (),
        *,
        include_schema: bool = False,
        options: BatchJobOptions | None = None,
    ) -> UserJob:
        """A users import job of up to 50,000 items: ``add()``, ``on()``, then ``execute()``."""
        from . import BatchJob

        return BatchJob(
            self._client,
            "users",
            requests,
            shared_context=None,
            include_schema=include_schema,
            options=options,
        )

    def import_(
        self,
        items: Iterable[BatchUserImportRequest | dict[str, Any]],
        *,
        options: BatchJobOptions | None = None,
        jobs_in_flight: int = DEFAULT_IMPORT_JOBS_IN_FLIGHT,
        chunk_size: int = MAX_BATCH_ITEMS,
        on_progress: Listener | None = None,
        on_failed: Listener | None = None,
        on_imported: Listener | None = None,
        include_schema: bool = False,
    ) -> ImportResult:
        """Import any number of users through as many jobs as it takes; blocks until done."""
        from ._flow import drive_sync

        flow = importer(
            "users",
            items,
            shared_context=None,
            options=options,
            jobs_in_flight=jobs_in_flight,
            chunk_size=chunk_size,
            on_progress=on_progress,
            on_failed=on_failed,
            on_imported=on_imported,
            include_schema=include_schema,
        ).flow()
        return drive_sync(flow, self._client.raw, self._client._sleep)


class AsyncUsers:
    """The FullStory users API (asyncio): the same calls as :class:`Users`, awaited."""

    def __init__(self, client: AsyncFullStory) -> None:
        self._client = client

    async def create(
        self, user: UserIn, *, idempotency_key: str | None = None
    ) -> CreateUserResponse:
        """Create a user, or update the identified user that already has this uid."""
        return (await self.create_detailed(user, idempotency_key=idempotency_key)).body

    async def create_detailed(
        self, user: UserIn, *, idempotency_key: str | None = None
    ) -> ApiResponse[CreateUserResponse]:
        """Like ``create``, with the HTTP envelope (status, headers, retries, key)."""
        return await run_async(self._client.raw, create_user_call(user, idempotency_key))

    async def create_queued(
        self, user: UserIn, *, idempotency_key: str | None = None
    ) -> AsyncQueuedUserCreate:
        """Queue a user create and return at once; see :meth:`Users.create_queued`."""
        return (await self.create_queued_detailed(user, idempotency_key=idempotency_key)).body

    async def create_queued_detailed(
        self, user: UserIn, *, idempotency_key: str | None = None
    ) -> ApiResponse[AsyncQueuedUserCreate]:
        """Like ``create_queued``, with the create's HTTP envelope."""
        from ._queued_users import AsyncQueuedUserCreate, queued_response

        call = create_user_stream_call(user, idempotency_key)
        created = await run_async(self._client.raw, call)
        handle = AsyncQueuedUserCreate(
            self._client, created.body.request_id, created.idempotency_key
        )
        return queued_response(created, handle)

    def queued(self, request_id: str) -> AsyncQueuedUserCreate:
        """Follow a create queued before (by its ``request_id``); no I/O."""
        from ._queued_users import AsyncQueuedUserCreate
        from ._requests import identifier

        return AsyncQueuedUserCreate(self._client, identifier(request_id, "request_id"))

    async def queued_status(self, request_id: str) -> UserStreamStatusResponse:
        """One status read of a queued create: ``id`` is "" while pending, then the user's."""
        return (await self.queued_status_detailed(request_id)).body

    async def queued_status_detailed(
        self, request_id: str
    ) -> ApiResponse[UserStreamStatusResponse]:
        """Like ``queued_status``, with the HTTP envelope."""
        return await run_async(self._client.raw, user_stream_status_call(request_id))

    async def get(self, id: str, *, include_schema: bool = False) -> GetUserResponse:
        """Read one user by FullStory id; ``include_schema`` adds property types."""
        return (await self.get_detailed(id, include_schema=include_schema)).body

    async def get_detailed(
        self, id: str, *, include_schema: bool = False
    ) -> ApiResponse[GetUserResponse]:
        """Like ``get``, with the HTTP envelope."""
        return await run_async(self._client.raw, get_user_call(id, include_schema))

    async def list(
        self,
        *,
        uid: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
        is_identified: bool | None = None,
        page_token: str | None = None,
        include_schema: bool = False,
    ) -> ListUsersResponse:
        """One page of users matching every filter given; see ``iter`` for all pages."""
        return (
            await self.list_detailed(
                uid=uid,
                email=email,
                display_name=display_name,
                is_identified=is_identified,
                page_token=page_token,
                include_schema=include_schema,
            )
        ).body

    async def list_detailed(
        self,
        *,
        uid: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
        is_identified: bool | None = None,
        page_token: str | None = None,
        include_schema: bool = False,
    ) -> ApiResponse[ListUsersResponse]:
        """Like ``list``, with the HTTP envelope."""
        call = list_users_call(
            uid=uid,
            email=email,
            display_name=display_name,
            is_identified=is_identified,
            page_token=page_token,
            include_schema=include_schema,
        )
        return await run_async(self._client.raw, call)

    async def iter(
        self,
        *,
        uid: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
        is_identified: bool | None = None,
        include_schema: bool = False,
    ) -> AsyncIterator[GetUserResponse]:
        """Every matching user, fetching the pages as they are needed."""
        token: str | None = None
        while True:
            page = await self.list(
                uid=uid,
                email=email,
                display_name=display_name,
                is_identified=is_identified,
                include_schema=include_schema,
                page_token=token,
            )
            for user in page_results(page):
                yield user
            token = next_page_token(page, token)
            if token is None:
                return

    async def update(self, id: str, changes: UserIn) -> UpdateUserResponse:
        """Change fields of a user; properties are merged into the stored ones."""
        return (await self.update_detailed(id, changes)).body

    async def update_detailed(self, id: str, changes: UserIn) -> ApiResponse[UpdateUserResponse]:
        """Like ``update``, with the HTTP envelope."""
        return await run_async(self._client.raw, update_user_call(id, changes))

    async def delete(self, id: str | None = None, *, uid: str | None = None) -> DeleteUserResponse:
        """Delete a user by FullStory ``id`` or by ``uid`` (exactly one of them)."""
        return (await self.delete_detailed(id, uid=uid)).body

    async def delete_detailed(
        self, id: str | None = None, *, uid: str | None = None
    ) -> ApiResponse[DeleteUserResponse]:
        """Like ``delete``, with the HTTP envelope."""
        return await run_async(self._client.raw, delete_user_call(id, uid))

    def batch_create(
        self,
        requests: Iterable[BatchUserImportRequest | dict[str, Any]] = (),
        *,
        include_schema: bool = False,
        options: BatchJobOptions | None = None,
    ) -> AsyncUserJob:
        """An import job of up to 50,000 items: ``add()``, ``on()``, then ``execute()``."""
        from . import AsyncBatchJob

        return AsyncBatchJob(
            self._client,
            "users",
            requests,
            shared_context=None,
            include_schema=include_schema,
            options=options,
        )

    async def import_(
        self,
        items: Iterable[BatchUserImportRequest | dict[str, Any]],
        *,
        options: BatchJobOptions | None = None,
        jobs_in_flight: int = DEFAULT_IMPORT_JOBS_IN_FLIGHT,
        chunk_size: int = MAX_BATCH_ITEMS,
        on_progress: Listener | None = None,
        on_failed: Listener | None = None,
        on_imported: Listener | None = None,
        include_schema: bool = False,
    ) -> ImportResult:
        """Import any number of items through as many jobs as it takes; returns when done."""
        from ._flow import drive_async

        flow = importer(
            "users",
            items,
            shared_context=None,
            options=options,
            jobs_in_flight=jobs_in_flight,
            chunk_size=chunk_size,
            on_progress=on_progress,
            on_failed=on_failed,
            on_imported=on_imported,
            include_schema=include_schema,
        ).flow()
        return await drive_async(flow, self._client.raw, self._client._sleep)
