"""Every FullStory operation as a :class:`Call`: inputs checked, generated operation chosen.

Pure functions shared by the sync and async clients; nothing here does I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, cast

from fullstory_api.types import UNSET

from ..errors import FSInvalidArgumentError
from . import _inputs
from ._calls import Call

# Each builder imports the generated operation it calls, on first use: those import the
# generated models, which a program that only tracks events never needs.
if TYPE_CHECKING:
    from typing import TypeAlias

    from fullstory_api.models import (
        CreateBatchEventsImportJobRequest,
        CreateBatchEventsImportJobResponse,
        CreateBatchUserImportJobRequest,
        CreateBatchUserImportJobResponse,
        CreateEventRequest,
        CreateEventResponse,
        CreateUserRequest,
        CreateUserResponse,
        DeleteUserResponse,
        GetBatchEventsImportErrorsResponse,
        GetBatchEventsImportsResponse,
        GetBatchUserImportErrorsResponse,
        GetBatchUserImportsResponse,
        GetUserResponse,
        JobStatusResponse,
        ListUsersResponse,
        UpdateUserRequest,
        UpdateUserResponse,
    )

    CreateJobResponse: TypeAlias = (
        CreateBatchUserImportJobResponse | CreateBatchEventsImportJobResponse
    )
    ImportsPage: TypeAlias = GetBatchUserImportsResponse | GetBatchEventsImportsResponse
    ErrorsPage: TypeAlias = GetBatchUserImportErrorsResponse | GetBatchEventsImportErrorsResponse

Kind = Literal["users", "events"]


def _opt(value: Any) -> Any:
    return UNSET if value is None else value


def _key(idempotency_key: str | None) -> Any:
    if idempotency_key is None:
        return UNSET
    if (
        not isinstance(idempotency_key, str)
        or not 0 < len(idempotency_key) <= 255
        or not (idempotency_key.isascii() and idempotency_key.isprintable())
    ):
        raise FSInvalidArgumentError(
            "idempotency_key: must be a string of 1 to 255 printable ASCII characters (it is "
            "sent as a header)",
            field="idempotency_key",
        )
    return idempotency_key


class PreparedBody:
    """A request body already checked and normalised by ``_inputs``, handed to the generated
    operation as is: it only calls ``to_dict()``. This keeps the caller's values exactly (a
    timestamp string goes out as given) and spares 50,000 import items a round trip through
    the models."""

    def __init__(self, body: dict[str, Any]) -> None:
        self._body = body

    def to_dict(self) -> dict[str, Any]:
        return self._body


# ---- users ------------------------------------------------------------------------------------


def create_user_call(user: Any, idempotency_key: str | None) -> Call[CreateUserResponse]:
    from fullstory_api.api.users import create_user
    from fullstory_api.models import CreateUserResponse

    body = cast("CreateUserRequest", PreparedBody(_inputs.user_request(user)))
    return Call(
        create_user,
        {"body": body, "idempotency_key": _key(idempotency_key)},
        CreateUserResponse,
        "POST /v2/users",
    )


def get_user_call(user_id: str, include_schema: bool) -> Call[GetUserResponse]:
    from fullstory_api.api.users import get_user
    from fullstory_api.models import GetUserResponse

    user_id = _inputs.identifier(user_id, "id")
    return Call(
        get_user,
        {"id": user_id, "include_schema": include_schema},
        GetUserResponse,
        f"GET /v2/users/{user_id}",
    )


def list_users_call(
    *,
    uid: str | None,
    email: str | None,
    display_name: str | None,
    is_identified: bool | None,
    page_token: str | None,
    include_schema: bool,
) -> Call[ListUsersResponse]:
    from fullstory_api.api.users import list_users
    from fullstory_api.models import ListUsersResponse

    for name, value in (
        ("uid", uid),
        ("email", email),
        ("display_name", display_name),
        ("page_token", page_token),
    ):
        if value is not None:
            _inputs.text()(value, name)  # a string that a URL can carry
    if is_identified is not None and not isinstance(is_identified, bool):
        raise FSInvalidArgumentError(
            "is_identified must be True, False or None", field="is_identified"
        )
    return Call(
        list_users,
        {
            "uid": _opt(uid),
            "email": _opt(email),
            "display_name": _opt(display_name),
            "is_identified": _opt(is_identified),
            "page_token": _opt(page_token or None),
            "include_schema": include_schema,
        },
        ListUsersResponse,
        "GET /v2/users",
    )


def update_user_call(user_id: str, changes: Any) -> Call[UpdateUserResponse]:
    from fullstory_api.api.users import update_user
    from fullstory_api.models import UpdateUserResponse

    body = cast("UpdateUserRequest", PreparedBody(_inputs.user_request(changes)))
    user_id = _inputs.identifier(user_id, "id")
    return Call(
        update_user,
        {"id": user_id, "body": body},
        UpdateUserResponse,
        f"POST /v2/users/{user_id}",
    )


def delete_user_call(user_id: str | None, uid: str | None) -> Call[DeleteUserResponse]:
    from fullstory_api.api.users import delete_user, delete_user_by_uid
    from fullstory_api.models import DeleteUserResponse

    if (user_id is None) == (uid is None):
        raise FSInvalidArgumentError(
            "give exactly one of id (the FullStory id) and uid (your own id) to delete a user",
            field="id",
        )
    if user_id is not None:
        user_id = _inputs.identifier(user_id, "id")
        return Call(delete_user, {"id": user_id}, DeleteUserResponse, f"DELETE /v2/users/{user_id}")
    uid = _inputs.identifier(uid, "uid")
    return Call(delete_user_by_uid, {"uid": uid}, DeleteUserResponse, f"DELETE /v2/users?uid={uid}")


# ---- events -----------------------------------------------------------------------------------


def create_event_call(event: Any, idempotency_key: str | None) -> Call[CreateEventResponse]:
    from fullstory_api.api.events import create_event
    from fullstory_api.models import CreateEventResponse

    body = cast("CreateEventRequest", PreparedBody(_inputs.event_request(event)))
    return Call(
        create_event,
        {"body": body, "idempotency_key": _key(idempotency_key)},
        CreateEventResponse,
        "POST /v2/events",
    )


# ---- batch import jobs ------------------------------------------------------------------------


def prepare_item(kind: Kind, item: Any, where: str) -> dict[str, Any]:
    if kind == "users":
        return _inputs.batch_user_request(item, where)
    return _inputs.event_request(item, where)


def create_job_call(
    kind: Kind,
    items: list[dict[str, Any]],
    shared_context: dict[str, Any] | None,
    idempotency_key: str | None,
) -> Call[Any]:
    """``items`` must already be prepared with :func:`prepare_item`."""
    from fullstory_api.api.events import create_batch_events_import_job
    from fullstory_api.api.users import create_batch_user_import_job
    from fullstory_api.models import (
        CreateBatchEventsImportJobResponse,
        CreateBatchUserImportJobResponse,
    )

    body: dict[str, Any] = {"requests": items}
    if kind == "users":
        return Call(
            create_batch_user_import_job,
            {
                "body": cast("CreateBatchUserImportJobRequest", PreparedBody(body)),
                "idempotency_key": _key(idempotency_key),
            },
            CreateBatchUserImportJobResponse,
            "POST /v2/users/batch",
        )
    if shared_context is not None:
        body["shared"] = {"context": shared_context}
    return Call(
        create_batch_events_import_job,
        {
            "body": cast("CreateBatchEventsImportJobRequest", PreparedBody(body)),
            "idempotency_key": _key(idempotency_key),
        },
        CreateBatchEventsImportJobResponse,
        "POST /v2/events/batch",
    )


def job_status_call(kind: Kind, job_id: str) -> Call[JobStatusResponse]:
    from fullstory_api.api.events import get_batch_events_import_status
    from fullstory_api.api.users import get_batch_user_import_status
    from fullstory_api.models import JobStatusResponse

    operation = get_batch_user_import_status if kind == "users" else get_batch_events_import_status
    # A poll is not retried by the transport: the job poller counts failed polls itself.
    job_id = _inputs.identifier(job_id, "job_id")
    return Call(
        operation,
        {"job_id": job_id},
        JobStatusResponse,
        f"GET /v2/{kind}/batch/{job_id}",
        max_retries=0,
    )


def job_imports_call(
    kind: Kind, job_id: str, page_token: str | None, include_schema: bool
) -> Call[Any]:
    from fullstory_api.api.events import get_batch_events_imports
    from fullstory_api.api.users import get_batch_user_imports
    from fullstory_api.models import (
        GetBatchEventsImportsResponse,
        GetBatchUserImportsResponse,
        JobResultsPending,
    )

    operation = get_batch_user_imports if kind == "users" else get_batch_events_imports
    returns = GetBatchUserImportsResponse if kind == "users" else GetBatchEventsImportsResponse
    return Call(
        operation,
        {"job_id": job_id, "page_token": _opt(page_token), "include_schema": include_schema},
        returns,
        f"GET /v2/{kind}/batch/{job_id}/imports",
        also_ok=(JobResultsPending,),
    )


def job_errors_call(kind: Kind, job_id: str, page_token: str | None) -> Call[Any]:
    from fullstory_api.api.events import get_batch_events_import_errors
    from fullstory_api.api.users import get_batch_user_import_errors
    from fullstory_api.models import (
        GetBatchEventsImportErrorsResponse,
        GetBatchUserImportErrorsResponse,
        JobResultsPending,
    )

    operation = get_batch_user_import_errors if kind == "users" else get_batch_events_import_errors
    returns = (
        GetBatchUserImportErrorsResponse if kind == "users" else GetBatchEventsImportErrorsResponse
    )
    return Call(
        operation,
        {"job_id": job_id, "page_token": _opt(page_token)},
        returns,
        f"GET /v2/{kind}/batch/{job_id}/errors",
        also_ok=(JobResultsPending,),
    )


def identifier(value: Any, where: str) -> str:
    return _inputs.identifier(value, where)


def next_page_token(page: Any, previous: str | None) -> str | None:
    """The token of the next page, or None on the last one (absent, empty, or repeated)."""
    token = getattr(page, "next_page_token", UNSET)
    if not isinstance(token, str) or not token or token == previous:
        return None
    return token


def page_results(page: Any) -> list[Any]:
    results = getattr(page, "results", UNSET)
    return list(results) if isinstance(results, list) else []
