"""What the generated operations put on the wire, and how they read the answers.

Every operation module of ``fullstory_api.api`` (users, events, sessions, summary_profiles,
annotations, organization) and of ``smartlook_api.api.backend`` is called through
``sync_detailed`` against an ``httpx.MockTransport``. The transport is handed to the generated
client through ``httpx_args``, so the generated client builds its own httpx client and adds the
``Authorization`` header itself, exactly as it does in production. The captured request is
checked for method, path (with path parameters percent-encoded), query string, headers and JSON
body; canned answers check which model each status code is parsed into.
"""

from __future__ import annotations

import datetime
import inspect
import json
import pkgutil
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import ModuleType
from typing import Any

import httpx
import pytest

import fullstory_api.api.annotations
import fullstory_api.api.events
import fullstory_api.api.organization
import fullstory_api.api.sessions
import fullstory_api.api.summary_profiles
import fullstory_api.api.users
import fullstory_api.models as fs
import smartlook_api.api.backend
import smartlook_api.models as sl
from fullstory_api import errors as fs_errors
from fullstory_api.api.annotations import create_annotation
from fullstory_api.api.events import (
    create_batch_events_import_job,
    create_event,
    get_batch_events_import_errors,
    get_batch_events_import_status,
    get_batch_events_imports,
)
from fullstory_api.api.organization import get_quotas
from fullstory_api.api.sessions import (
    generate_session_context,
    generate_session_summary,
    generate_session_summary_with_overrides,
    get_session_events,
    list_sessions,
)
from fullstory_api.api.summary_profiles import (
    create_summary_profile,
    delete_summary_profile,
    get_summary_profile,
    list_summary_profiles,
    update_summary_profile,
)
from fullstory_api.api.users import (
    create_batch_user_import_job,
    create_user,
    create_user_stream,
    delete_user,
    delete_user_by_uid,
    get_batch_user_import_errors,
    get_batch_user_import_status,
    get_batch_user_imports,
    get_user,
    get_user_stream_status,
    list_users,
    update_user,
)
from fullstory_api.client import AuthenticatedClient
from smartlook_api import errors as sl_errors
from smartlook_api.api.backend import check_backend, send_backend_events
from smartlook_api.client import Client

FS_BASE_URL = "https://api.fullstory.com"
SL_BASE_URL = "https://manager.smartlook.com"
API_KEY = "test-key"
INTEGRATION = "session-analytics/0.1 tests"
IDEMPOTENCY_KEY = "6f9619ff-8b86-d011-b42d-00cf4fc964ff"

USER_ID = "987654321"
UID = "xyz123"
JOB_ID = "abd123="  # the Swagger example job id; "=" must be sent as %3D
JOB_PATH = "abd123%3D"
CREATED = "2024-02-01T12:30:00+00:00"
FINISHED = "2024-02-01T12:31:07+00:00"
SESSION_ID_INTS = "406214335320288249:3829143070270885557"
SESSION_ID_UUIDS = "b8f0a6d2-6f3c-4f59-9a51-2c1e0f3d7a11:5d7e9c40-1b2a-4c3d-8e9f-0a1b2c3d4e5f"

TOO_MANY = {
    "code": "too_many_requests",
    "message": "Too many requests. Client has exceeded the rate limit for this endpoint.",
}

# ---- request bodies ------------------------------------------------------------------------------

USER_BODY: dict[str, Any] = {
    "uid": UID,
    "display_name": "Daniel Falko",
    "email": "daniel.falko@example.com",
    "properties": {
        "pricing_plan": "paid",
        "popup_help": True,
        "total_spent": 14.55,
        "days_active": 42,
        "signed_up_at": "2024-01-15T08:00:00Z",
        "favorite_colors": ["teal", "amber"],
        "location": {"code": "ATL", "geo": {"lat": 33.749, "long": -84.388}},
    },
    "schema": {"properties": {"days_active": "int", "location.code": "str"}},
}
UPDATE_BODY: dict[str, Any] = {
    "display_name": "Daniel J. Falko",
    "properties": {"pricing_plan": "enterprise", "seats": 25},
    "schema": {"properties": {"seats": "int"}},
}
USER_BATCH_BODY: dict[str, Any] = {
    "requests": [
        {"uid": UID, "properties": {"rewards_status": "platinum"}},
        {"id": USER_ID, "display_name": "Stan Bandee", "email": "stan.bandee@example.com"},
    ]
}
CONTEXT: dict[str, Any] = {
    "browser": {
        "url": "https://app.example.com/tickets/424242",
        "user_agent": "Example_User_Agent",
        "initial_referrer": "https://referrer.example.com",
    },
    "device": {
        "manufacturer": "Device Manufacturer",
        "model": "Pixel 8",
        "screen_width": 1080,
        "screen_height": 2400,
        "viewport_width": 412,
        "viewport_height": 915,
    },
    "location": {
        "country": "US",
        "region": "GA",
        "city": "Atlanta",
        "latitude": 33.749,
        "longitude": -84.388,
        "ip_address": "127.0.0.1",
    },
}
EVENT_BODY: dict[str, Any] = {
    "name": "Support Ticket",
    "timestamp": "2022-03-15T14:23:23+00:00",
    "session": {"id": SESSION_ID_INTS},
    "context": CONTEXT,
    "properties": {
        "id": 424242,
        "priority": "Normal",
        "source": "Email",
        "title": "Account locked out",
        "tags": ["login", "security"],
    },
    "schema": {"properties": {"id": "int"}},
}
EVENT_BATCH_BODY: dict[str, Any] = {
    "requests": [
        {"name": "Checkout Completed", "session": {"id": SESSION_ID_UUIDS}},
        {
            "name": "Plan Upgraded",
            "user": {"uid": UID},
            "session": {"use_most_recent": True},
            "properties": {"to_plan": "paid"},
        },
    ],
    "shared": {"context": {"location": CONTEXT["location"]}},
}
SL_CHECK_BODY: dict[str, Any] = {"key": "0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4"}
SL_EVENTS_BODY: dict[str, Any] = {
    "events": [
        {
            "type": "custom",
            "vid": "3a5b1c7e-visitor",
            "name": "order_paid",
            "value": "49.90",
            "props": {"plan": "pro", "items": 3, "amount": 49.9, "first_order": True},
            "sid": "sess-8f14e45fceea167a",
        },
        {"type": "error", "vid": "backend-user-42", "name": "payment_failed"},
    ]
}

# ---- answers -------------------------------------------------------------------------------------

GET_USER_ANSWER: dict[str, Any] = {
    "id": USER_ID,
    "uid": UID,
    "display_name": "Daniel Falko",
    "email": "daniel.falko@example.com",
    "is_being_deleted": False,
    "properties": USER_BODY["properties"],
    "schema": USER_BODY["schema"],
    "type_conflicts": {"properties": {"total_spent": ["real", "str"]}},
    "app_url": "https://app.fullstory.com/ui/orgid/segments/everyone/people:search:abc/user/xyz",
}
JOB_PROCESSING: dict[str, Any] = {"id": JOB_ID, "status": "PROCESSING", "created": CREATED}
JOB_FAILED: dict[str, Any] = {
    "id": JOB_ID,
    "status": "FAILED",
    "created": CREATED,
    "finished": FINISHED,
}


@dataclass(frozen=True)
class Op:
    """One operation: how to call it and what must come out."""

    module: ModuleType
    method: str
    path: str  # expected raw path, percent-encoded, without the query
    ok_type: type
    ok_body: dict[str, Any]
    args: tuple[str, ...] = ()  # path parameters
    required: dict[str, Any] = field(default_factory=dict)  # required keyword arguments
    optional: dict[str, Any] = field(default_factory=dict)  # every optional keyword argument
    query: tuple[tuple[str, str], ...] = ()  # expected query with required + optional
    required_query: tuple[tuple[str, str], ...] = ()  # expected query with required only
    body: dict[str, Any] | None = None  # expected JSON body
    pending: bool = False  # answers 202 JobResultsPending while the job runs

    @property
    def name(self) -> str:
        return self.module.__name__

    def call(self, client: Any, *, full: bool = True, args: tuple[str, ...] | None = None) -> Any:
        kwargs = {**self.required, **(self.optional if full else {})}
        return self.module.sync_detailed(
            *(self.args if args is None else args), client=client, **kwargs
        )


def _common(*, idempotent: bool = False) -> dict[str, Any]:
    extra: dict[str, Any] = {"integration_source": INTEGRATION}
    if idempotent:
        extra["idempotency_key"] = IDEMPOTENCY_KEY
    return extra


FULLSTORY_OPS = [
    Op(
        create_user,
        "POST",
        "/v2/users",
        fs.CreateUserResponse,
        {"id": USER_ID},
        required={"body": fs.CreateUserRequest.from_dict(USER_BODY)},
        optional=_common(idempotent=True),
        body=USER_BODY,
    ),
    Op(
        list_users,
        "GET",
        "/v2/users",
        fs.ListUsersResponse,
        {
            "results": [GET_USER_ANSWER],
            "total_records": "1200",
            "next_page_token": "asd543",
            "app_url": "https://app.fullstory.com/ui/orgid/segments/everyone/people:search:abc/0",
        },
        optional={
            "uid": UID,
            "email": "daniel.falko@example.com",
            "display_name": "Daniel Falko",
            "is_identified": True,
            "page_token": "asd543",
            "include_schema": True,
            **_common(),
        },
        query=(
            ("uid", UID),
            ("email", "daniel.falko@example.com"),
            ("display_name", "Daniel Falko"),
            ("is_identified", "true"),
            ("page_token", "asd543"),
            ("include_schema", "true"),
        ),
    ),
    Op(
        delete_user_by_uid,
        "DELETE",
        "/v2/users",
        fs.DeleteUserResponse,
        {},
        required={"uid": UID},
        optional=_common(),
        query=(("uid", UID),),
        required_query=(("uid", UID),),
    ),
    Op(
        get_user,
        "GET",
        f"/v2/users/{USER_ID}",
        fs.GetUserResponse,
        GET_USER_ANSWER,
        args=(USER_ID,),
        optional={"include_schema": True, **_common()},
        query=(("include_schema", "true"),),
    ),
    Op(
        update_user,
        "POST",
        f"/v2/users/{USER_ID}",
        fs.UpdateUserResponse,
        {"id": USER_ID},
        args=(USER_ID,),
        required={"body": fs.UpdateUserRequest.from_dict(UPDATE_BODY)},
        optional=_common(),
        body=UPDATE_BODY,
    ),
    Op(
        delete_user,
        "DELETE",
        f"/v2/users/{USER_ID}",
        fs.DeleteUserResponse,
        {},
        args=(USER_ID,),
        optional={"uid": UID, **_common()},
        query=(("uid", UID),),
    ),
    Op(
        create_batch_user_import_job,
        "POST",
        "/v2/users/batch",
        fs.CreateBatchUserImportJobResponse,
        {"job": JOB_PROCESSING},
        required={"body": fs.CreateBatchUserImportJobRequest.from_dict(USER_BATCH_BODY)},
        optional=_common(idempotent=True),
        body=USER_BATCH_BODY,
    ),
    Op(
        get_batch_user_import_status,
        "GET",
        f"/v2/users/batch/{JOB_PATH}",
        fs.JobStatusResponse,
        {"imports": 42, "errors": 2, "job": JOB_FAILED},
        args=(JOB_ID,),
        optional=_common(),
    ),
    Op(
        get_batch_user_imports,
        "GET",
        f"/v2/users/batch/{JOB_PATH}/imports",
        fs.GetBatchUserImportsResponse,
        {
            "results": [{"id": USER_ID, **USER_BATCH_BODY["requests"][0]}],
            "total_records": "98",
            "next_page_token": "asd543",
        },
        args=(JOB_ID,),
        optional={"page_token": "asd543", "include_schema": False, **_common()},
        query=(("page_token", "asd543"), ("include_schema", "false")),
        pending=True,
    ),
    Op(
        get_batch_user_import_errors,
        "GET",
        f"/v2/users/batch/{JOB_PATH}/errors",
        fs.GetBatchUserImportErrorsResponse,
        {
            "results": [
                {
                    "message": "email exceeds 128 characters",
                    "code": "invalid_argument",
                    "user": USER_BATCH_BODY["requests"][1],
                }
            ],
            "total_records": "1",
        },
        args=(JOB_ID,),
        optional={"page_token": "asd543", **_common()},
        query=(("page_token", "asd543"),),
        pending=True,
    ),
    Op(
        create_event,
        "POST",
        "/v2/events",
        fs.CreateEventResponse,
        {},
        required={"body": fs.CreateEventRequest.from_dict(EVENT_BODY)},
        optional=_common(idempotent=True),
        body=EVENT_BODY,
    ),
    Op(
        create_batch_events_import_job,
        "POST",
        "/v2/events/batch",
        fs.CreateBatchEventsImportJobResponse,
        {"job": JOB_PROCESSING},
        required={"body": fs.CreateBatchEventsImportJobRequest.from_dict(EVENT_BATCH_BODY)},
        optional=_common(idempotent=True),
        body=EVENT_BATCH_BODY,
    ),
    Op(
        get_batch_events_import_status,
        "GET",
        f"/v2/events/batch/{JOB_PATH}",
        fs.JobStatusResponse,
        {"imports": 2, "job": {**JOB_FAILED, "status": "COMPLETED"}},
        args=(JOB_ID,),
        optional=_common(),
    ),
    Op(
        get_batch_events_imports,
        "GET",
        f"/v2/events/batch/{JOB_PATH}/imports",
        fs.GetBatchEventsImportsResponse,
        {
            "results": [{**EVENT_BODY, "user": {"id": USER_ID, "uid": UID}}],
            "total_records": "1200",
            "next_page_token": "asd543=",
        },
        args=(JOB_ID,),
        optional={"page_token": "asd543=", "include_schema": True, **_common()},
        query=(("page_token", "asd543="), ("include_schema", "true")),
        pending=True,
    ),
    Op(
        get_batch_events_import_errors,
        "GET",
        f"/v2/events/batch/{JOB_PATH}/errors",
        fs.GetBatchEventsImportErrorsResponse,
        {
            "results": [
                {
                    "message": "event carries its own context while the job has shared.context",
                    "code": "invalid_argument",
                    "event": {"name": "Support Ticket", "context": {"browser": CONTEXT["browser"]}},
                    "shared": EVENT_BATCH_BODY["shared"],
                }
            ],
            "total_records": "98",
            "next_page_token": "asd543=",
        },
        args=(JOB_ID,),
        optional={"page_token": "asd543=", **_common()},
        query=(("page_token", "asd543="),),
        pending=True,
    ),
]

# ---- the rest of v2: stream user creates, sessions, summary profiles, annotations, quotas ------

REQUEST_ID = "0b7e4c1a-58d2-4f0e-9c3b-7a6d5e4f3c2b"
SESSION_PATH = SESSION_ID_INTS.replace(":", "%3A")
PROFILE_ID = "c0ffee00-1234-4abc-8def-0123456789ab"
SLICE: dict[str, Any] = {
    "mode": "LAST",
    "event_limit": 50,
    "duration_limit_ms": "600000",
    "end_timestamp": "2024-02-01T12:45:00+00:00",
}
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "OBJECT",
    "title": "Visit",
    "properties": {
        "gist": {"type": "STRING", "description": "What the visitor came for"},
        "mood": {"type": "STRING", "enum": ["calm", "annoyed"], "format": "enum"},
        "stumbles": {"type": "ARRAY", "items": {"type": "STRING"}},
    },
    "required": ["gist"],
}
CONTEXT_BODY: dict[str, Any] = {
    "slice": SLICE,
    "context": {"include": ["user", "device"], "exclude_location": True},
    "events": {"exclude_types": ["element-seen"], "exclude_selectors": True},
    "cache": {"enable_event_cache": False},
}
PROFILE_BODY: dict[str, Any] = {
    "name": "Checkout trouble",
    "slice": {"mode": "FIRST", "event_limit": 200},
    "context": {"exclude": ["org"]},
    "events": {"include_types": ["click", "navigate"]},
    "llm": {
        "pre_prompt": "Read this checkout visit.",
        "post_prompt": "Answer in the requested shape.",
        "temperature": 0.25,
        "response_schema": RESPONSE_SCHEMA,
    },
}
SUMMARY_BODY: dict[str, Any] = {
    "config_profile": PROFILE_ID,
    "events": {"exclude_types": ["copy"]},
    "llm": {"post_prompt": "Two sentences at most."},
}
SUMMARY_ANSWER: dict[str, Any] = {
    "summary": "Opened the cart twice and left at the payment step.",
    "response": {"gist": "checkout", "mood": "annoyed", "stumbles": ["card declined"]},
    "response_schema": RESPONSE_SCHEMA,
}
STORED_PROFILE: dict[str, Any] = {
    "id": PROFILE_ID,
    "name": PROFILE_BODY["name"],
    "configuration": {
        "slice": PROFILE_BODY["slice"],
        "context": PROFILE_BODY["context"],
        "events": PROFILE_BODY["events"],
    },
    "llm": PROFILE_BODY["llm"],
}
ANNOTATION_BODY: dict[str, Any] = {
    "text": "Release 4.12",
    "start_time": "2024-02-01T12:00:00+00:00",
    "end_time": "2024-02-01T12:20:00+00:00",
    "source": "deploy pipeline",
}
QUOTA: dict[str, Any] = {
    "usage": "8125",
    "limit": "250000",
    "period_start": "2024-02-01T00:00:00+00:00",
    "period_end": "2024-03-01T00:00:00+00:00",
}

FULLSTORY_OPS += [
    Op(
        create_user_stream,
        "POST",
        "/v2/users/stream",
        fs.CreateUserStreamResponse,
        {"request_id": REQUEST_ID},
        required={"body": fs.CreateUserRequest.from_dict(USER_BODY)},
        optional=_common(idempotent=True),
        body=USER_BODY,
    ),
    Op(
        get_user_stream_status,
        "GET",
        f"/v2/users/stream/{REQUEST_ID}",
        fs.UserStreamStatusResponse,
        {"id": USER_ID},
        args=(REQUEST_ID,),
        optional=_common(),
    ),
    Op(
        list_sessions,
        "GET",
        "/v2/sessions",
        fs.ListSessionsResponse,
        {
            "results": [
                {
                    "id": SESSION_ID_INTS,
                    "app_url": f"https://app.fullstory.com/ui/o-1/session/{SESSION_PATH}",
                    "created_time": CREATED,
                }
            ]
        },
        optional={
            "uid": UID,
            "email": "daniel.falko@example.com",
            "session_uid": "checkout-77",
            "limit": 5,
            **_common(),
        },
        query=(
            ("email", "daniel.falko@example.com"),
            ("limit", "5"),
            ("session_uid", "checkout-77"),
            ("uid", UID),
        ),
    ),
    Op(
        get_session_events,
        "GET",
        f"/v2/sessions/{SESSION_PATH}/events",
        fs.SessionEventsResponse,
        {
            "events": [
                {
                    "device_id": "406214335320288249",
                    "session_id": "3829143070270885557",
                    "view_id": "17",
                    "event_time": CREATED,
                    "event_type": "click",
                    "event_properties": {"target_text": "Pay now"},
                    "source_type": "web",
                    "source_properties": {"url": {"path": "/checkout"}, "initial_referrer": None},
                }
            ]
        },
        args=(SESSION_ID_INTS,),
        optional={"enable_event_cache": False, **_common()},
        query=(("enable_event_cache", "false"),),
    ),
    Op(
        generate_session_context,
        "POST",
        f"/v2/sessions/{SESSION_PATH}/context",
        fs.SessionContextResponse,
        {
            "context_data": {
                "context": {
                    "session_id": SESSION_ID_INTS,
                    "user_context": {"user_uid": UID, "properties": {"plan": "paid"}},
                    "device_context": {"browser": "Firefox", "screen_size": {"width_pixels": 1280}},
                },
                "pages": [
                    {
                        "url": "https://shop.example.com/cart",
                        "events": [{"type": "click", "description": "Pay now"}],
                        "tab": 1,
                    }
                ],
            }
        },
        args=(SESSION_ID_INTS,),
        required={"body": fs.SessionContextRequest.from_dict(CONTEXT_BODY)},
        optional=_common(),
        body=CONTEXT_BODY,
    ),
    Op(
        generate_session_summary,
        "GET",
        f"/v2/sessions/{SESSION_PATH}/summary",
        fs.SessionSummaryResponse,
        SUMMARY_ANSWER,
        args=(SESSION_ID_INTS,),
        optional={
            "config_profile": PROFILE_ID,
            "end_timestamp": datetime.datetime(2024, 2, 1, 12, 45, tzinfo=datetime.timezone.utc),
            **_common(),
        },
        query=(("config_profile", PROFILE_ID), ("end_timestamp", "2024-02-01T12:45:00+00:00")),
    ),
    Op(
        generate_session_summary_with_overrides,
        "POST",
        f"/v2/sessions/{SESSION_PATH}/summary",
        fs.SessionSummaryResponse,
        SUMMARY_ANSWER,
        args=(SESSION_ID_INTS,),
        required={"body": fs.SessionSummaryRequest.from_dict(SUMMARY_BODY)},
        optional=_common(),
        body=SUMMARY_BODY,
    ),
    Op(
        list_summary_profiles,
        "GET",
        "/v2/visit_profile",
        fs.ListSummaryProfilesResponse,
        {"profiles": [STORED_PROFILE], "next_page_token": "p2"},
        optional={"limit": 10, "page_token": "p2", **_common()},
        query=(("limit", "10"), ("page_token", "p2")),
    ),
    Op(
        create_summary_profile,
        "POST",
        "/v2/visit_profile",
        fs.SummaryProfileId,
        {"id": PROFILE_ID},
        required={"body": fs.SummaryProfileRequest.from_dict(PROFILE_BODY)},
        optional=_common(),
        body=PROFILE_BODY,
    ),
    Op(
        get_summary_profile,
        "GET",
        f"/v2/visit_profile/{PROFILE_ID}",
        fs.SummaryProfile,
        STORED_PROFILE,
        args=(PROFILE_ID,),
        optional=_common(),
    ),
    Op(
        update_summary_profile,
        "POST",
        f"/v2/visit_profile/{PROFILE_ID}",
        fs.SummaryProfileId,
        {"id": PROFILE_ID},
        args=(PROFILE_ID,),
        required={"body": fs.SummaryProfileRequest.from_dict(PROFILE_BODY)},
        optional=_common(),
        body=PROFILE_BODY,
    ),
    Op(
        delete_summary_profile,
        "DELETE",
        f"/v2/visit_profile/{PROFILE_ID}",
        fs.DeleteSummaryProfileResponse,
        {},
        args=(PROFILE_ID,),
        optional=_common(),
    ),
    Op(
        create_annotation,
        "POST",
        "/v2/annotations",
        fs.Annotation,
        ANNOTATION_BODY,
        required={"body": fs.CreateAnnotationRequest.from_dict(ANNOTATION_BODY)},
        optional=_common(),
        body=ANNOTATION_BODY,
    ),
    Op(
        get_quotas,
        "GET",
        "/v2/organization/quotas",
        fs.QuotasResponse,
        {"session_quota": QUOTA, "server_event_quota": {**QUOTA, "usage": "0"}},
        optional=_common(),
    ),
]

SMARTLOOK_OPS = [
    Op(
        check_backend,
        "POST",
        "/rec/check/backend",
        sl.CheckResponse,
        {
            "pid": "7c4f6a2b1e",
            "analytics": {"ok": True, "host": "events.example.com"},
            "options": {"storeGroup": "eu-2"},
        },
        required={"body": sl.CheckRequest.from_dict(SL_CHECK_BODY)},
        body=SL_CHECK_BODY,
    ),
    Op(
        send_backend_events,
        "POST",
        "/events/backend",
        sl.EventsAccepted,
        {"ok": True},
        required={
            "body": sl.EventsRequest.from_dict(SL_EVENTS_BODY),
            "pid": "7c4f6a2b1e",
            "group": "eu-2",
        },
        query=(("pid", "7c4f6a2b1e"), ("group", "eu-2")),
        required_query=(("pid", "7c4f6a2b1e"), ("group", "eu-2")),
        body=SL_EVENTS_BODY,
    ),
]

CREATES = {
    "fullstory_api.api.users.create_user",
    "fullstory_api.api.users.create_batch_user_import_job",
    "fullstory_api.api.events.create_event",
    "fullstory_api.api.events.create_batch_events_import_job",
    "fullstory_api.api.users.create_user_stream",
}
PENDING = {
    "fullstory_api.api.users.get_batch_user_imports",
    "fullstory_api.api.users.get_batch_user_import_errors",
    "fullstory_api.api.events.get_batch_events_imports",
    "fullstory_api.api.events.get_batch_events_import_errors",
}


def _params(ops: list[Op]) -> list[Any]:
    return [pytest.param(op, id=op.module.__name__.rsplit(".", 1)[-1]) for op in ops]


# ---- plumbing ------------------------------------------------------------------------------------


class Recorder:
    """A MockTransport handler that keeps every request and answers with one canned response."""

    def __init__(
        self,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = {} if body is None else body
        self.headers = headers or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json=self.body, headers=self.headers)

    @property
    def request(self) -> httpx.Request:
        assert len(self.requests) == 1, f"expected one request, got {len(self.requests)}"
        return self.requests[0]


def fullstory_client(
    handler: Callable[[httpx.Request], httpx.Response], **kw: Any
) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=FS_BASE_URL,
        token=API_KEY,
        prefix="Basic",
        httpx_args={"transport": httpx.MockTransport(handler)},
        **kw,
    )


def smartlook_client(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> Client:
    return Client(
        base_url=SL_BASE_URL,
        httpx_args={"transport": httpx.MockTransport(handler)},
        **kw,
    )


def _raw_path(request: httpx.Request) -> str:
    return request.url.raw_path.decode("ascii").partition("?")[0]


def _query(request: httpx.Request) -> list[tuple[str, str]]:
    return sorted(request.url.params.multi_items())


def _operation_modules(*packages: ModuleType) -> set[str]:
    return {
        f"{package.__name__}.{info.name}"
        for package in packages
        for info in pkgutil.iter_modules(package.__path__)
    }


def _parsed_types(module: ModuleType) -> set[type]:
    """The models sync_detailed can return, read from its return annotation."""
    annotation = inspect.signature(module.sync_detailed).return_annotation
    (inner,) = typing.get_args(annotation)
    return set(typing.get_args(inner)) or {inner}


# ---- coverage ------------------------------------------------------------------------------------


def test_table_covers_every_operation_module() -> None:
    modules = _operation_modules(
        fullstory_api.api.users,
        fullstory_api.api.events,
        fullstory_api.api.sessions,
        fullstory_api.api.summary_profiles,
        fullstory_api.api.annotations,
        fullstory_api.api.organization,
        smartlook_api.api.backend,
    )
    covered = [op.name for op in FULLSTORY_OPS + SMARTLOOK_OPS]
    assert len(covered) == len(set(covered)), "an operation is listed twice"
    assert modules - set(covered) == set(), "add these operations to the wire tables"
    assert set(covered) - modules == set()
    assert len(modules) == 31  # the 28 v2 operations, DELETE /v2/users?uid=, two Smartlook ones


def test_every_fullstory_operation_answers_error_response() -> None:
    for op in FULLSTORY_OPS:
        assert fs.ErrorResponse in _parsed_types(op.module), op.name
        assert op.ok_type in _parsed_types(op.module), op.name


def test_only_imports_and_errors_can_answer_results_pending() -> None:
    can_pend = {op.name for op in FULLSTORY_OPS if fs.JobResultsPending in _parsed_types(op.module)}
    assert can_pend == PENDING
    assert {op.name for op in FULLSTORY_OPS if op.pending} == PENDING


@pytest.mark.parametrize(
    "function", ["_get_kwargs", "sync_detailed", "sync", "asyncio_detailed", "asyncio"]
)
def test_idempotency_key_parameter_only_on_the_keyed_creates(function: str) -> None:
    with_key = {
        op.name
        for op in FULLSTORY_OPS
        if "idempotency_key" in inspect.signature(getattr(op.module, function)).parameters
    }
    assert with_key == CREATES
    assert "idempotency_key" not in inspect.signature(getattr(update_user, function)).parameters


def test_update_user_refuses_an_idempotency_key() -> None:
    recorder = Recorder(body={"id": USER_ID})
    with fullstory_client(recorder) as client, pytest.raises(TypeError, match="idempotency_key"):
        update_user.sync_detailed(  # type: ignore[call-arg]
            USER_ID,
            client=client,
            body=fs.UpdateUserRequest.from_dict(UPDATE_BODY),
            idempotency_key=IDEMPOTENCY_KEY,
        )
    assert recorder.requests == []


# ---- FullStory: the request ----------------------------------------------------------------------


@pytest.mark.parametrize("op", _params(FULLSTORY_OPS))
def test_fullstory_request_on_the_wire(op: Op) -> None:
    recorder = Recorder(body=op.ok_body)
    with fullstory_client(recorder) as client:
        op.call(client)
    request = recorder.request

    assert request.method == op.method
    assert (request.url.scheme, request.url.host) == ("https", "api.fullstory.com")
    assert _raw_path(request) == op.path
    assert _query(request) == sorted(op.query)

    assert request.headers["Authorization"] == "Basic test-key"
    assert request.headers.get_list("Authorization") == ["Basic test-key"]
    assert request.headers["Integration-Source"] == INTEGRATION
    if op.name in CREATES:
        assert request.headers["Idempotency-Key"] == IDEMPOTENCY_KEY
    else:
        assert "Idempotency-Key" not in request.headers

    if op.body is None:
        assert request.content == b""
        assert "Content-Type" not in request.headers
    else:
        assert request.headers["Content-Type"] == "application/json"
        assert json.loads(request.content) == op.body


@pytest.mark.parametrize("op", _params(FULLSTORY_OPS))
def test_fullstory_request_with_required_arguments_only(op: Op) -> None:
    recorder = Recorder(body=op.ok_body)
    with fullstory_client(recorder) as client:
        op.call(client, full=False)
    request = recorder.request

    assert request.method == op.method
    assert _raw_path(request) == op.path
    assert _query(request) == sorted(op.required_query)
    assert request.headers["Authorization"] == "Basic test-key"
    assert "Integration-Source" not in request.headers
    assert "Idempotency-Key" not in request.headers
    if op.body is not None:
        assert json.loads(request.content) == op.body


WEIRD_ID = "a/b=c d?#%"
WEIRD_ID_ON_THE_WIRE = "a%2Fb%3Dc%20d%3F%23%25"


@pytest.mark.parametrize("op", _params([op for op in FULLSTORY_OPS if op.args]))
def test_path_parameters_are_percent_encoded(op: Op) -> None:
    recorder = Recorder(body=op.ok_body)
    with fullstory_client(recorder) as client:
        op.call(client, full=False, args=(WEIRD_ID,))
    request = recorder.request
    on_the_wire = {JOB_ID: JOB_PATH, SESSION_ID_INTS: SESSION_PATH}
    plain_id = on_the_wire.get(op.args[0], op.args[0])
    expected = op.path.replace(plain_id, WEIRD_ID_ON_THE_WIRE)
    assert expected != op.path
    assert _raw_path(request) == expected
    # nothing of the id leaked into the query string
    assert request.url.query == b""


@pytest.mark.parametrize(
    ("is_identified", "include_schema"),
    [(True, False), (False, True), (False, False)],
)
def test_list_users_sends_booleans_as_lowercase_words(
    is_identified: bool, include_schema: bool
) -> None:
    recorder = Recorder(body={"results": [], "total_records": "0"})
    with fullstory_client(recorder) as client:
        list_users.sync_detailed(
            client=client, is_identified=is_identified, include_schema=include_schema
        )
    query = recorder.request.url.query.decode("ascii").split("&")
    assert sorted(query) == sorted(
        [
            f"is_identified={str(is_identified).lower()}",
            f"include_schema={str(include_schema).lower()}",
        ]
    )


@pytest.mark.parametrize("include_schema", [True, False])
def test_get_user_include_schema(include_schema: bool) -> None:
    recorder = Recorder(body=GET_USER_ANSWER)
    with fullstory_client(recorder) as client:
        get_user.sync_detailed(USER_ID, client=client, include_schema=include_schema)
    assert recorder.request.url.query == f"include_schema={str(include_schema).lower()}".encode()


def test_list_users_query_values_are_encoded() -> None:
    recorder = Recorder(body={"results": [], "total_records": "0"})
    with fullstory_client(recorder) as client:
        list_users.sync_detailed(
            client=client,
            email="daniel.falko+test@example.com",
            display_name="Daniel Falko",
            page_token="asd543=",
        )
    request = recorder.request
    raw = request.url.query
    # a literal "+" would read back as a space
    assert b"email=daniel.falko%2Btest%40example.com" in raw
    assert b"page_token=asd543%3D" in raw
    assert _query(request) == sorted(
        [
            ("email", "daniel.falko+test@example.com"),
            ("display_name", "Daniel Falko"),
            ("page_token", "asd543="),
        ]
    )


def test_delete_by_uid_encodes_the_uid() -> None:
    recorder = Recorder(body={})
    with fullstory_client(recorder) as client:
        delete_user_by_uid.sync_detailed(client=client, uid="user 42/é")
    request = recorder.request
    assert request.method == "DELETE"
    assert _raw_path(request) == "/v2/users"
    assert request.url.params.get_list("uid") == ["user 42/é"]
    assert b"%C3%A9" in request.url.query


def test_own_httpx_client_gets_no_authorization_header() -> None:
    # set_httpx_client bypasses the generated client's header handling: the caller must add the
    # Authorization header itself.
    recorder = Recorder(body={"id": USER_ID})
    client = AuthenticatedClient(base_url=FS_BASE_URL, token=API_KEY, prefix="Basic")
    own = httpx.Client(base_url=FS_BASE_URL, transport=httpx.MockTransport(recorder))
    with client.set_httpx_client(own):
        create_user.sync_detailed(client=client, body=fs.CreateUserRequest.from_dict(USER_BODY))
    assert "Authorization" not in recorder.request.headers


# ---- FullStory: the answer -----------------------------------------------------------------------


@pytest.mark.parametrize("op", _params(FULLSTORY_OPS + SMARTLOOK_OPS))
def test_ok_answer_is_parsed(op: Op) -> None:
    recorder = Recorder(body=op.ok_body)
    make = fullstory_client if op in FULLSTORY_OPS else smartlook_client
    with make(recorder) as client:
        response = op.call(client)
    assert response.status_code == HTTPStatus.OK
    assert type(response.parsed) is op.ok_type
    assert response.parsed.to_dict() == op.ok_body
    assert json.loads(response.content) == op.ok_body


def test_parsed_answers_hold_typed_values() -> None:
    recorder = Recorder(body={"imports": 42, "errors": 2, "job": JOB_FAILED})
    with fullstory_client(recorder) as client:
        status = get_batch_user_import_status.sync_detailed(JOB_ID, client=client).parsed
    assert isinstance(status, fs.JobStatusResponse)
    assert (status.imports, status.errors) == (42, 2)
    assert status.job.status is fs.JobStatus.FAILED
    assert status.job.id == JOB_ID
    assert status.job.finished.isoformat() == FINISHED

    recorder = Recorder(body=FULLSTORY_OPS[1].ok_body)
    with fullstory_client(recorder) as client:
        page = list_users.sync_detailed(client=client).parsed
    assert isinstance(page, fs.ListUsersResponse)
    assert page.total_records == "1200"
    assert page.next_page_token == "asd543"
    [user] = page.results
    assert user.schema.properties["location.code"] == "str"


@pytest.mark.parametrize("op", _params([op for op in FULLSTORY_OPS if op.pending]))
def test_results_pending_answer_is_parsed(op: Op) -> None:
    recorder = Recorder(status=202, body={})
    with fullstory_client(recorder) as client:
        response = op.call(client)
    assert response.status_code == HTTPStatus.ACCEPTED
    assert type(response.parsed) is fs.JobResultsPending
    assert response.parsed.to_dict() == {}


@pytest.mark.parametrize("op", _params(FULLSTORY_OPS))
def test_rate_limited_answer_is_parsed(op: Op) -> None:
    recorder = Recorder(status=429, body=TOO_MANY, headers={"Retry-After": "7"})
    with fullstory_client(recorder) as client:
        response = op.call(client)
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert type(response.parsed) is fs.ErrorResponse
    assert response.parsed.code == "too_many_requests"
    assert response.parsed.message == TOO_MANY["message"]
    assert response.headers["Retry-After"] == "7"


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (400, "invalid_argument", "events must have a non-empty name"),
        (401, "unauthorized", "access is unauthorized"),
        (403, "forbidden", "insufficient permissions"),
        (404, "resource_not_found", "Requested resource does not exist"),
        (500, "server_error", "Server error was encountered"),
    ],
)
def test_documented_error_answers_are_parsed(status: int, code: str, message: str) -> None:
    recorder = Recorder(status=status, body={"code": code, "message": message})
    with fullstory_client(recorder) as client:
        response = create_event.sync_detailed(
            client=client, body=fs.CreateEventRequest.from_dict(EVENT_BODY)
        )
    assert response.status_code == status
    assert type(response.parsed) is fs.ErrorResponse
    assert (response.parsed.code, response.parsed.message) == (code, message)


def test_undocumented_status_parses_to_none_or_raises() -> None:
    recorder = Recorder(status=418, body={"code": "teapot", "message": "short and stout"})
    with fullstory_client(recorder) as client:
        response = delete_user.sync_detailed(USER_ID, client=client)
    assert response.status_code == 418
    assert response.parsed is None

    with (
        fullstory_client(recorder, raise_on_unexpected_status=True) as client,
        pytest.raises(fs_errors.UnexpectedStatus) as caught,
    ):
        delete_user.sync_detailed(USER_ID, client=client)
    assert caught.value.status_code == 418


# ---- Smartlook -----------------------------------------------------------------------------------


@pytest.mark.parametrize("op", _params(SMARTLOOK_OPS))
def test_smartlook_request_on_the_wire(op: Op) -> None:
    recorder = Recorder(body=op.ok_body)
    with smartlook_client(recorder) as client:
        op.call(client)
    request = recorder.request

    assert request.method == op.method
    assert (request.url.scheme, request.url.host) == ("https", "manager.smartlook.com")
    assert _raw_path(request) == op.path
    assert _query(request) == sorted(op.query)
    assert "Authorization" not in request.headers
    assert "Idempotency-Key" not in request.headers
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == op.body


def test_smartlook_send_events_error_answers() -> None:
    send = SMARTLOOK_OPS[1]
    for status in (400, 404, 429, 500):
        recorder = Recorder(status=status, body={"code": "x_code", "message": f"status {status}"})
        with smartlook_client(recorder) as client:
            response = send.call(client)
        assert response.status_code == status
        assert type(response.parsed) is sl.ErrorResponse
        assert response.parsed.message == f"status {status}"


def test_smartlook_check_parses_its_documented_errors() -> None:
    check = SMARTLOOK_OPS[0]
    recorder = Recorder(
        status=404, body={"code": "project_not_found", "message": "No project has this key"}
    )
    with smartlook_client(recorder) as client:
        response = check.call(client)
    assert type(response.parsed) is sl.ErrorResponse
    assert response.parsed.code == "project_not_found"

    recorder = Recorder(status=429, body={"code": "too_many_requests", "message": "slow down"})
    with smartlook_client(recorder) as client:
        response = check.call(client)
    assert type(response.parsed) is sl.ErrorResponse
    assert response.parsed.code == "too_many_requests"

    # An undocumented status is not parsed, or raised when asked to.
    recorder = Recorder(status=418, body={"code": "teapot", "message": "no"})
    with smartlook_client(recorder) as client:
        assert check.call(client).parsed is None
    with (
        smartlook_client(recorder, raise_on_unexpected_status=True) as client,
        pytest.raises(sl_errors.UnexpectedStatus),
    ):
        check.call(client)


# ---- async ---------------------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_fullstory_async_create_event() -> None:
    recorder = Recorder(body={})
    async with fullstory_client(recorder) as client:
        response = await create_event.asyncio_detailed(
            client=client,
            body=fs.CreateEventRequest.from_dict(EVENT_BODY),
            idempotency_key=IDEMPOTENCY_KEY,
            integration_source=INTEGRATION,
        )
    request = recorder.request
    assert request.method == "POST"
    assert _raw_path(request) == "/v2/events"
    assert request.headers["Authorization"] == "Basic test-key"
    assert request.headers["Idempotency-Key"] == IDEMPOTENCY_KEY
    assert request.headers["Integration-Source"] == INTEGRATION
    assert json.loads(request.content) == EVENT_BODY
    assert response.status_code == HTTPStatus.OK
    assert type(response.parsed) is fs.CreateEventResponse


@pytest.mark.anyio
async def test_fullstory_async_results_pending() -> None:
    recorder = Recorder(status=202, body={})
    async with fullstory_client(recorder) as client:
        response = await get_batch_events_imports.asyncio_detailed(
            JOB_ID, client=client, page_token="asd543="
        )
    assert _raw_path(recorder.request) == f"/v2/events/batch/{JOB_PATH}/imports"
    assert _query(recorder.request) == [("page_token", "asd543=")]
    assert type(response.parsed) is fs.JobResultsPending


@pytest.mark.anyio
async def test_smartlook_async_send_events() -> None:
    recorder = Recorder(body={"ok": True})
    async with smartlook_client(recorder) as client:
        response = await send_backend_events.asyncio_detailed(
            client=client,
            body=sl.EventsRequest.from_dict(SL_EVENTS_BODY),
            pid="7c4f6a2b1e",
            group="eu-2",
        )
    request = recorder.request
    assert request.method == "POST"
    assert _raw_path(request) == "/events/backend"
    assert _query(request) == [("group", "eu-2"), ("pid", "7c4f6a2b1e")]
    assert "Authorization" not in request.headers
    assert json.loads(request.content) == SL_EVENTS_BODY
    assert type(response.parsed) is sl.EventsAccepted
    assert response.parsed.ok is True


def test_a_response_schema_is_read_at_every_depth() -> None:
    recorder = Recorder(body=SUMMARY_ANSWER)
    with fullstory_client(recorder) as client:
        parsed = generate_session_summary.sync(SESSION_ID_INTS, client=client)
    assert isinstance(parsed, fs.SessionSummaryResponse)
    schema = parsed.response_schema
    assert isinstance(schema, fs.ResponseSchema)
    assert schema.type_ is fs.ResponseSchemaType.OBJECT
    stumbles = schema.properties["stumbles"]  # type: ignore[union-attr]
    assert isinstance(stumbles, fs.ResponseSchema)
    assert isinstance(stumbles.items, fs.ResponseSchema)
    assert stumbles.items.type_ is fs.ResponseSchemaType.STRING
    assert schema.properties["mood"].enum == ["calm", "annoyed"]  # type: ignore[union-attr]
