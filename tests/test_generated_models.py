"""Round trips of every model in the two generated clients.

Each model in ``fullstory_api.models`` and ``smartlook_api.models`` must give back exactly the JSON
it was built from: ``Model.from_dict(payload).to_dict() == payload``. The payloads follow the
reference (``shared/reference/API-FACTS.md`` and the ``example`` values of the FullStory Swagger
files), so they carry what the real APIs send: nested custom properties, declared schemas, type
conflicts, full event contexts, both session id forms, job metadata, paged envelopes and error
bodies.

Date-time fields are parsed into ``datetime`` and written back with ``isoformat()``, so the
timestamps below are written the way ``isoformat()`` writes them (``+00:00``, six fraction digits
or none); ``test_z_timestamp_...`` shows what happens to the ``Z`` form.
"""

from __future__ import annotations

import copy
import datetime
import enum
import json
from datetime import timezone
from typing import Any

import attrs
import pytest

import fullstory_api.models as fs
import smartlook_api.models as sl
from fullstory_api.types import Unset as FsUnset
from smartlook_api.types import Unset as SlUnset

# --------------------------------------------------------------------------------------------------
# Building blocks, taken from the reference examples
# --------------------------------------------------------------------------------------------------

USER_ID = "987654321"
UID = "xyz123"
JOB_ID = "abd123="
CREATED = "2024-02-01T12:30:00+00:00"
FINISHED = "2024-02-01T12:31:07.250000+00:00"
EVENT_TIME = "2022-03-15T14:23:23+00:00"
SESSION_ID_INTS = "406214335320288249:3829143070270885557"
SESSION_ID_UUIDS = "b8f0a6d2-6f3c-4f59-9a51-2c1e0f3d7a11:5d7e9c40-1b2a-4c3d-8e9f-0a1b2c3d4e5f"
APP_URL = "https://app.fullstory.com/ui/orgid/segments/everyone/people:search:abc/user/xyz"

# Custom properties: nested objects, arrays of primitives, an ISO date string, numbers, booleans.
USER_PROPERTIES: dict[str, Any] = {
    "pricing_plan": "paid",
    "popup_help": True,
    "total_spent": 14.55,
    "days_active": 42,
    "signed_up_at": "2024-01-15T08:00:00Z",
    "favorite_colors": ["teal", "amber"],
    "lucky_numbers": [7, 13.5, -2],
    "opt_ins": [True, False],
    "location": {
        "code": "ATL",
        "city": "Atlanta",
        "geo": {"lat": 33.749, "long": -84.388, "verified": False},
    },
}
EVENT_PROPERTIES: dict[str, Any] = {
    "id": 424242,
    "priority": "Normal",
    "source": "Email",
    "title": "Account locked out",
    "opened_at": "2022-03-15T14:20:00Z",
    "tags": ["login", "security"],
    "escalated": False,
    "agent": {"name": "Dana", "team": {"name": "Tier 2", "size": 12}},
}
SCHEMA: dict[str, Any] = {"properties": {"days_active": "int", "location.code": "str"}}
TYPE_CONFLICTS: dict[str, Any] = {
    "properties": {"total_spent": ["real", "str"], "location.code": ["str", "int"]}
}

BROWSER: dict[str, Any] = {
    "url": "https://app.example.com/tickets/424242",
    "user_agent": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.2 Safari/605.1.15"
    ),
    "initial_referrer": "https://referrer.example.com",
}
MOBILE: dict[str, Any] = {
    "app_id": "com.company.example",
    "app_version": "1.0.0",
    "app_name": "example app",
    "build_variant": "release",
}
DEVICE: dict[str, Any] = {
    "manufacturer": "Device Manufacturer",
    "model": "Pixel 8",
    "screen_width": 1080,
    "screen_height": 2400,
    "viewport_width": 412,
    "viewport_height": 915,
}
LOCATION: dict[str, Any] = {
    "country": "US",
    "region": "GA",
    "city": "Atlanta",
    "latitude": 33.749,
    "longitude": -84.388,
    "ip_address": "127.0.0.1",
}
CONTEXT: dict[str, Any] = {
    "browser": BROWSER,
    "mobile": MOBILE,
    "device": DEVICE,
    "location": LOCATION,
}

CREATE_USER: dict[str, Any] = {
    "uid": UID,
    "display_name": "Daniel Falko",
    "email": "daniel.falko@example.com",
    "properties": USER_PROPERTIES,
    "schema": SCHEMA,
}
BATCH_USER_REQUEST: dict[str, Any] = {"id": USER_ID, **CREATE_USER}
BATCH_USER_RESPONSE: dict[str, Any] = {
    **BATCH_USER_REQUEST,
    "type_conflicts": TYPE_CONFLICTS,
}
BATCH_USER_RESPONSE_NO_SCHEMA: dict[str, Any] = {
    "id": "987654322",
    "uid": "xyz124",
    "display_name": "Steve Falko",
    "email": "steve.falko@example.com",
    "properties": {"pricing_plan": "paid", "popup_help": True, "total_spent": 14.55},
    "schema": None,
    "type_conflicts": None,
}
GET_USER: dict[str, Any] = {
    "id": USER_ID,
    "uid": UID,
    "display_name": "Daniel Falko",
    "email": "daniel.falko@example.com",
    "is_being_deleted": False,
    "properties": USER_PROPERTIES,
    "schema": SCHEMA,
    "type_conflicts": TYPE_CONFLICTS,
    "app_url": APP_URL,
}
# What GET /v2/users/{id} answers without include_schema: schema and type_conflicts are null.
GET_USER_NULL_SCHEMA: dict[str, Any] = {
    "id": "987654323",
    "is_being_deleted": True,
    "properties": {"pricing_plan": "free"},
    "schema": None,
    "type_conflicts": None,
    "app_url": APP_URL,
}

EVENT_WITH_INT_SESSION: dict[str, Any] = {
    "name": "Support Ticket",
    "timestamp": EVENT_TIME,
    "session": {"id": SESSION_ID_INTS},
    "context": CONTEXT,
    "properties": EVENT_PROPERTIES,
    "schema": {"properties": {"id": "int", "agent.team.size": "int"}},
}
EVENT_WITH_UUID_SESSION: dict[str, Any] = {
    "name": "Checkout Completed",
    "timestamp": "2024-02-01T12:30:00.123456+00:00",
    "session": {"id": SESSION_ID_UUIDS},
    "properties": {"order_total": 99.5, "items": 3, "coupon_codes": ["SPRING24"]},
}
EVENT_MOST_RECENT_SESSION: dict[str, Any] = {
    "name": "Plan Upgraded",
    "user": {"uid": UID},
    "session": {"use_most_recent": True},
    "properties": {"from_plan": "free", "to_plan": "paid"},
}
EVENT_FOR_USER_ID: dict[str, Any] = {
    "name": "Password Reset",
    "timestamp": "2024-02-01T13:30:00+01:00",
    "user": {"id": USER_ID},
}

JOB_PROCESSING: dict[str, Any] = {"id": JOB_ID, "status": "PROCESSING", "created": CREATED}
JOB_COMPLETED: dict[str, Any] = {
    "id": "otpo123",
    "status": "COMPLETED",
    "created": CREATED,
    "finished": FINISHED,
}
JOB_FAILED: dict[str, Any] = {
    "id": JOB_ID,
    "status": "FAILED",
    "created": "2019-04-18T14:36:11.123000+00:00",
    "finished": "2019-04-18T15:36:11.123000+00:00",
}

RECORDED_EVENT: dict[str, Any] = {
    "name": "Support Ticket",
    "timestamp": EVENT_TIME,
    "user": {"id": USER_ID, "uid": UID},
    "session": {"id": SESSION_ID_INTS},
    "context": CONTEXT,
    "properties": EVENT_PROPERTIES,
    "schema": {"properties": {"id": "int"}},
}
FAILED_EVENT: dict[str, Any] = {
    "message": "event carries its own context while the job has shared.context",
    "code": "invalid_argument",
    "event": {"name": "Support Ticket", "timestamp": EVENT_TIME, "context": {"browser": BROWSER}},
    "shared": {"context": {"location": LOCATION}},
}
FAILED_USER: dict[str, Any] = {
    "message": "uid exceeds 256 characters",
    "code": "invalid_argument",
    "user": BATCH_USER_REQUEST,
}

SL_EVENT_CUSTOM: dict[str, Any] = {
    "type": "custom",
    "vid": "3a5b1c7e-visitor",
    "name": "order_paid",
    "value": "49.90",
    "props": {"plan": "pro", "items": 3, "amount": 49.9, "first_order": True},
    "sid": "sess-8f14e45fceea167a",
}
SL_EVENT_ERROR: dict[str, Any] = {
    "type": "error",
    "vid": "backend-user-42",
    "name": "payment_failed",
    "props": {"reason": "card_declined", "retryable": False, "attempt": 2},
}
SL_EVENT_MINIMAL: dict[str, Any] = {"vid": "backend-user-42", "name": "signup"}


def _case(cls: type, label: str, payload: Any) -> Any:
    package = "fs" if cls.__module__.startswith("fullstory_api.") else "sl"
    return pytest.param(cls, payload, id=f"{package}.{cls.__name__}-{label}")


# ---- the rest of v2: sessions, summaries, summary profiles, annotations, quotas ------------------

SESSION_REF: dict[str, Any] = {
    "id": SESSION_ID_INTS,
    "app_url": "https://app.fullstory.com/ui/o-1/session/406214335320288249%3A3829143070270885557",
    "created_time": CREATED,
}
SESSION_EVENT: dict[str, Any] = {
    "device_id": "406214335320288249",
    "session_id": "3829143070270885557",
    "view_id": "17",
    "event_time": EVENT_TIME,
    "event_type": "navigate",
    "event_properties": {"navigate_reason": "reload", "definition_ids": []},
    "source_type": "web",
    "source_properties": {"url": {"path": "/cart", "query": {"step": {"values": ["2"]}}}},
}
SLICE_SETTINGS: dict[str, Any] = {
    "mode": "TIMESTAMP",
    "event_limit": 100,
    "duration_limit_ms": "900000",
    "start_timestamp": CREATED,
    "end_timestamp": FINISHED,
}
CONTEXT_SETTINGS: dict[str, Any] = {
    "include": ["user", "device"],
    "exclude": ["org", "location"],
    "exclude_org_context": True,
    "exclude_user_context": False,
    "exclude_location": True,
    "exclude_device": False,
    "exclude_descriptions": False,
}
EVENT_SETTINGS: dict[str, Any] = {
    "exclude_types": ["element-seen", "copy"],
    "include_types": ["click", "rage-click"],
    "exclude_defined_events": False,
    "exclude_api_events": True,
    "exclude_event_timestamps": False,
    "exclude_selectors": True,
    "include_selector_tags": False,
    "trim_to_last_n_selectors": 3,
    "include_tab_index": True,
    "include_descriptions": True,
}
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "OBJECT",
    "title": "Visit",
    "description": "What one visit was about",
    "properties": {
        "gist": {"type": "STRING", "description": "One sentence"},
        "mood": {"type": "STRING", "enum": ["calm", "annoyed"], "format": "enum"},
        "stumbles": {"type": "ARRAY", "items": {"type": "STRING"}, "nullable": True},
    },
    "required": ["gist"],
}
LLM_SETTINGS: dict[str, Any] = {
    "pre_prompt": "Read this visit to the shop.",
    "post_prompt": "Answer in the requested shape.",
    "temperature": 0.25,
    "response_schema": RESPONSE_SCHEMA,
}
PIXELS: dict[str, Any] = {"height_pixels": 900, "width_pixels": 1440}
SURROUNDINGS: dict[str, Any] = {
    "session_id": SESSION_ID_INTS,
    "session_url": SESSION_REF["app_url"],
    "session_created_at": CREATED,
    "org_context": {
        "org_id": "o-1",
        "name": "Example Shop",
        "industry": "Retail",
        "domain": "shop.example.com",
        "country": "NL",
    },
    "user_context": {
        "user_uid": UID,
        "display_name": "Daniel Falko",
        "email": "daniel.falko@example.com",
        "properties": {"plan": "paid", "seats": "4"},
    },
    "location_context": {"country": "NL", "region": "Utrecht", "city": "Utrecht"},
    "device_context": {
        "browser": "Firefox",
        "operating_system": "Linux",
        "screen_size": PIXELS,
        "viewport_size": {"height_pixels": 780, "width_pixels": 1280},
    },
}
CONTEXT_PAGE: dict[str, Any] = {
    "url": "https://shop.example.com/cart",
    "title": "Your cart",
    "events": [
        {
            "type": "click",
            "description": "Clicked Pay now",
            "timestamp": EVENT_TIME,
            "screenshot_url": "https://shop.example.com/shot/1.png",
            "content": "Pay now",
            "properties": {"selector": "button.pay"},
        }
    ],
    "tab": 1,
}
PROFILE_SETTINGS: dict[str, Any] = {
    "name": "Checkout trouble",
    "slice": SLICE_SETTINGS,
    "context": CONTEXT_SETTINGS,
    "events": EVENT_SETTINGS,
    "cache": {"enable_event_cache": True},
    "llm": LLM_SETTINGS,
}
STORED_PROFILE: dict[str, Any] = {
    "id": "c0ffee00-1234-4abc-8def-0123456789ab",
    "name": "Checkout trouble",
    "configuration": {
        "slice": SLICE_SETTINGS,
        "context": CONTEXT_SETTINGS,
        "events": EVENT_SETTINGS,
        "cache": {"enable_event_cache": True},
    },
    "llm": LLM_SETTINGS,
}
QUOTA_USAGE: dict[str, Any] = {
    "usage": "8125",
    "limit": "250000",
    "period_start": "2024-02-01T00:00:00+00:00",
    "period_end": "2024-03-01T00:00:00+00:00",
}
V2_CASES = [
    _case(fs.CreateUserStreamResponse, "queued", {"request_id": "0b7e4c1a-58d2-4f0e"}),
    _case(fs.UserStreamStatusResponse, "done", {"id": USER_ID}),
    _case(fs.UserStreamStatusResponse, "pending", {"id": ""}),
    _case(fs.SessionRef, "full", SESSION_REF),
    _case(fs.SessionRef, "id_only", {"id": SESSION_ID_UUIDS}),
    _case(fs.ListSessionsResponse, "one", {"results": [SESSION_REF]}),
    _case(fs.ListSessionsResponse, "none", {"results": []}),
    _case(fs.CapturedEventProperties, "navigate", SESSION_EVENT["event_properties"]),
    _case(fs.EventSourceProperties, "web", SESSION_EVENT["source_properties"]),
    _case(fs.SessionEvent, "navigate", SESSION_EVENT),
    _case(fs.SessionEventsResponse, "one", {"events": [SESSION_EVENT]}),
    _case(fs.SliceSettingsMode, "last", "LAST"),
    _case(fs.SliceSettings, "full", SLICE_SETTINGS),
    _case(fs.ContextElement, "user", "user"),
    _case(fs.ContextSettings, "full", CONTEXT_SETTINGS),
    _case(fs.EventSettings, "full", EVENT_SETTINGS),
    _case(fs.CacheSettings, "off", {"enable_event_cache": False}),
    _case(fs.ResponseSchemaType, "object", "OBJECT"),
    _case(fs.ResponseSchema, "nested", RESPONSE_SCHEMA),
    _case(fs.ResponseSchema, "enum", RESPONSE_SCHEMA["properties"]["mood"]),
    _case(fs.ResponseSchema, "array", RESPONSE_SCHEMA["properties"]["stumbles"]),
    _case(fs.ResponseSchemaProperties, "three", RESPONSE_SCHEMA["properties"]),
    _case(fs.LlmSettings, "full", LLM_SETTINGS),
    _case(
        fs.SessionContextRequest,
        "full",
        {
            "slice": SLICE_SETTINGS,
            "context": CONTEXT_SETTINGS,
            "events": EVENT_SETTINGS,
            "cache": {"enable_event_cache": False},
        },
    ),
    _case(fs.PixelSize, "screen", PIXELS),
    _case(fs.SessionOrg, "full", SURROUNDINGS["org_context"]),
    _case(fs.SessionUser, "full", SURROUNDINGS["user_context"]),
    _case(fs.SessionUserProperties, "strings", {"plan": "paid", "seats": "4"}),
    _case(fs.SessionLocation, "full", SURROUNDINGS["location_context"]),
    _case(fs.SessionDevice, "full", SURROUNDINGS["device_context"]),
    _case(fs.SessionSurroundings, "full", SURROUNDINGS),
    _case(fs.ContextEventProperties, "selector", {"selector": "button.pay"}),
    _case(fs.ContextEvent, "click", CONTEXT_PAGE["events"][0]),
    _case(fs.ContextPage, "cart", CONTEXT_PAGE),
    _case(fs.SessionContextData, "full", {"context": SURROUNDINGS, "pages": [CONTEXT_PAGE]}),
    _case(
        fs.SessionContextResponse,
        "full",
        {"context_data": {"context": SURROUNDINGS, "pages": [CONTEXT_PAGE]}},
    ),
    _case(
        fs.SessionSummaryRequest,
        "overrides",
        {
            "config_profile": STORED_PROFILE["id"],
            "slice": SLICE_SETTINGS,
            "context": CONTEXT_SETTINGS,
            "events": EVENT_SETTINGS,
            "cache": {"enable_event_cache": True},
            "llm": LLM_SETTINGS,
        },
    ),
    _case(fs.StructuredAnswer, "visit", {"gist": "checkout", "stumbles": ["card declined"]}),
    _case(
        fs.SessionSummaryResponse,
        "structured",
        {
            "summary": "Opened the cart twice and left at the payment step.",
            "response": {"gist": "checkout", "mood": "annoyed", "stumbles": ["card declined"]},
            "response_schema": RESPONSE_SCHEMA,
        },
    ),
    _case(fs.SessionSummaryResponse, "text_only", {"summary": "Browsed and left."}),
    _case(fs.SummaryProfileRequest, "full", PROFILE_SETTINGS),
    _case(fs.SummaryProfileId, "new", {"id": STORED_PROFILE["id"]}),
    _case(fs.ProfileConfiguration, "full", STORED_PROFILE["configuration"]),
    _case(fs.SummaryProfile, "stored", STORED_PROFILE),
    _case(fs.SummaryProfile, "no_id", {"llm": {"temperature": 0.5}}),
    _case(
        fs.ListSummaryProfilesResponse,
        "page",
        {"profiles": [STORED_PROFILE], "next_page_token": "p2"},
    ),
    _case(fs.DeleteSummaryProfileResponse, "empty", {}),
    _case(
        fs.CreateAnnotationRequest,
        "span",
        {"text": "Release 4.12", "start_time": CREATED, "end_time": FINISHED, "source": "ci"},
    ),
    _case(fs.CreateAnnotationRequest, "text_only", {"text": "Incident 812"}),
    _case(
        fs.Annotation,
        "stored",
        {"text": "Incident 812", "start_time": CREATED, "end_time": CREATED, "source": ""},
    ),
    _case(fs.QuotaUsage, "full", QUOTA_USAGE),
    _case(
        fs.QuotasResponse,
        "both",
        {"session_quota": QUOTA_USAGE, "server_event_quota": {"usage": "0", "limit": "1000000"}},
    ),
]


# --------------------------------------------------------------------------------------------------
# The table: every exported class, with realistic payloads
# --------------------------------------------------------------------------------------------------

ROUND_TRIP_CASES = [
    # ---- FullStory: building blocks
    _case(fs.Properties, "nested", USER_PROPERTIES),
    _case(fs.Properties, "event", EVENT_PROPERTIES),
    _case(fs.PropertyTypes, "declared", SCHEMA["properties"]),
    _case(fs.PropertyTypes, "list_forms", {"tags": "strs", "scores": "reals", "seen": "dates"}),
    _case(fs.Schema, "declared", SCHEMA),
    _case(fs.TypeConflicts, "two_fields", TYPE_CONFLICTS),
    _case(fs.TypeConflictsProperties, "two_fields", TYPE_CONFLICTS["properties"]),
    _case(fs.BrowserContext, "full", BROWSER),
    _case(fs.MobileContext, "full", MOBILE),
    _case(fs.DeviceContext, "full", DEVICE),
    _case(fs.LocationContext, "full", LOCATION),
    _case(fs.LocationContext, "southern_hemisphere", {"latitude": -33.8688, "longitude": 151.2093}),
    _case(fs.Context, "full", CONTEXT),
    _case(fs.Context, "browser_only", {"browser": BROWSER}),
    _case(fs.UserIdRequest, "id", {"id": USER_ID}),
    _case(fs.UserIdRequest, "uid", {"uid": UID}),
    _case(fs.UserIdRequest, "both", {"id": USER_ID, "uid": UID}),
    _case(fs.UserIdResponse, "both", {"id": USER_ID, "uid": UID}),
    _case(fs.SessionIdRequest, "int_form", {"id": SESSION_ID_INTS}),
    _case(fs.SessionIdRequest, "uuid_form", {"id": SESSION_ID_UUIDS}),
    _case(fs.SessionIdRequest, "use_most_recent", {"use_most_recent": True}),
    _case(fs.SessionIdRequest, "both_fields", {"id": SESSION_ID_INTS, "use_most_recent": False}),
    _case(fs.SessionIdResponse, "int_form", {"id": SESSION_ID_INTS}),
    _case(fs.SessionIdResponse, "uuid_form", {"id": SESSION_ID_UUIDS}),
    _case(fs.SharedData, "context", {"context": CONTEXT}),
    _case(
        fs.ErrorResponse, "required_field", {"code": "required_field", "message": "uid is required"}
    ),
    _case(
        fs.ErrorResponse,
        "invalid_argument",
        {"code": "invalid_argument", "message": "events must have a non-empty name"},
    ),
    _case(
        fs.ErrorResponse,
        "unauthorized",
        {"code": "unauthorized", "message": "access is unauthorized"},
    ),
    _case(
        fs.ErrorResponse, "forbidden", {"code": "forbidden", "message": "insufficient permissions"}
    ),
    _case(
        fs.ErrorResponse,
        "user_not_found",
        {"code": "user_not_found", "message": "User with that ID does not exist"},
    ),
    _case(
        fs.ErrorResponse,
        "too_many_requests",
        {
            "code": "too_many_requests",
            "message": "Too many requests. Client has exceeded the rate limit for this endpoint.",
        },
    ),
    _case(
        fs.ErrorResponse,
        "server_error",
        {"code": "server_error", "message": "Server error was encountered"},
    ),
    # ---- FullStory: users
    _case(fs.CreateUserRequest, "full", CREATE_USER),
    _case(fs.CreateUserRequest, "anonymous", {"properties": {"visits": 1}}),
    _case(fs.CreateUserResponse, "id", {"id": USER_ID}),
    _case(fs.UpdateUserRequest, "full", CREATE_USER),
    _case(fs.UpdateUserRequest, "properties_only", {"properties": {"pricing_plan": "enterprise"}}),
    _case(fs.UpdateUserResponse, "id", {"id": USER_ID}),
    _case(fs.DeleteUserResponse, "empty", {}),
    _case(fs.GetUserResponse, "with_schema", GET_USER),
    _case(fs.GetUserResponse, "schema_null", GET_USER_NULL_SCHEMA),
    _case(fs.GetUserResponse, "minimal", {"id": USER_ID, "is_being_deleted": False}),
    _case(
        fs.ListUsersResponse,
        "page",
        {
            "results": [GET_USER, GET_USER_NULL_SCHEMA],
            "total_records": "1200",
            "next_page_token": "asd543",
            "app_url": "https://app.fullstory.com/ui/orgid/segments/everyone/people:search:abc/0",
        },
    ),
    _case(
        fs.ListUsersResponse,
        "last_page",
        {"results": [], "total_records": "0", "next_page_token": ""},
    ),
    _case(fs.BatchUserImportRequest, "full", BATCH_USER_REQUEST),
    _case(
        fs.BatchUserImportRequest,
        "uid_only",
        {"uid": UID, "properties": {"rewards_status": "platinum"}},
    ),
    _case(fs.BatchUserImportResponse, "with_schema", BATCH_USER_RESPONSE),
    _case(fs.BatchUserImportResponse, "schema_null", BATCH_USER_RESPONSE_NO_SCHEMA),
    _case(
        fs.CreateBatchUserImportJobRequest,
        "two_users",
        {"requests": [BATCH_USER_REQUEST, {"uid": "xyz124"}]},
    ),
    _case(fs.CreateBatchUserImportJobResponse, "processing", {"job": JOB_PROCESSING}),
    _case(
        fs.GetBatchUserImportsResponse,
        "page",
        {
            "results": [BATCH_USER_RESPONSE, BATCH_USER_RESPONSE_NO_SCHEMA],
            "total_records": "98",
            "next_page_token": "asd543",
        },
    ),
    _case(fs.GetBatchUserImportsResponse, "last_page", {"results": [], "total_records": "2"}),
    _case(fs.FailedUserImport, "echo", FAILED_USER),
    _case(
        fs.GetBatchUserImportErrorsResponse,
        "page",
        {"results": [FAILED_USER], "total_records": "98", "next_page_token": "asd543="},
    ),
    _case(fs.GetBatchUserImportErrorsResponse, "no_errors", {"total_records": "0"}),
    # ---- FullStory: jobs
    _case(fs.JobStatus, "processing", "PROCESSING"),
    _case(fs.JobStatus, "completed", "COMPLETED"),
    _case(fs.JobStatus, "failed", "FAILED"),
    _case(fs.JobMetadata, "processing", JOB_PROCESSING),
    _case(fs.JobMetadata, "completed", JOB_COMPLETED),
    _case(fs.JobMetadata, "failed", JOB_FAILED),
    _case(
        fs.JobMetadata, "other_offset", {**JOB_COMPLETED, "created": "2024-02-01T14:30:00+02:00"}
    ),
    _case(fs.JobStatusResponse, "failed", {"imports": 42, "errors": 2, "job": JOB_FAILED}),
    _case(fs.JobStatusResponse, "completed", {"imports": 3, "errors": 0, "job": JOB_COMPLETED}),
    _case(fs.JobStatusResponse, "counts_left_out", {"job": JOB_PROCESSING}),
    _case(fs.JobResultsPending, "empty", {}),
    # ---- FullStory: events
    _case(fs.CreateEventRequest, "int_session", EVENT_WITH_INT_SESSION),
    _case(fs.CreateEventRequest, "uuid_session", EVENT_WITH_UUID_SESSION),
    _case(fs.CreateEventRequest, "most_recent", EVENT_MOST_RECENT_SESSION),
    _case(fs.CreateEventRequest, "user_id", EVENT_FOR_USER_ID),
    _case(fs.CreateEventRequest, "name_only", {"name": "Heartbeat"}),
    _case(fs.CreateEventResponse, "empty", {}),
    _case(
        fs.CreateBatchEventsImportJobRequest,
        "shared_context",
        {
            "requests": [EVENT_WITH_UUID_SESSION, EVENT_MOST_RECENT_SESSION, EVENT_FOR_USER_ID],
            "shared": {"context": {"browser": BROWSER, "location": LOCATION}},
        },
    ),
    _case(
        fs.CreateBatchEventsImportJobRequest, "no_shared", {"requests": [EVENT_WITH_INT_SESSION]}
    ),
    _case(fs.CreateBatchEventsImportJobResponse, "processing", {"job": JOB_PROCESSING}),
    _case(fs.BatchCreateEventsResponse, "full", RECORDED_EVENT),
    _case(fs.BatchCreateEventsResponse, "name_only", {"name": "Heartbeat"}),
    _case(
        fs.GetBatchEventsImportsResponse,
        "page",
        {"results": [RECORDED_EVENT], "total_records": "1200", "next_page_token": "asd543="},
    ),
    _case(fs.GetBatchEventsImportsResponse, "empty_object", {}),
    _case(fs.FailedEventsImport, "echo", FAILED_EVENT),
    _case(
        fs.GetBatchEventsImportErrorsResponse,
        "page",
        {"results": [FAILED_EVENT], "total_records": "98", "next_page_token": "asd543="},
    ),
    _case(
        fs.GetBatchEventsImportErrorsResponse, "last_page", {"results": [], "total_records": "1"}
    ),
    # ---- Smartlook
    _case(sl.CheckRequest, "key", {"key": "0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4"}),
    _case(sl.AnalyticsStatus, "ok", {"ok": True, "host": "events.example.com"}),
    _case(sl.AnalyticsStatus, "ok_with_scheme", {"ok": True, "host": "https://events.example.com"}),
    _case(sl.AnalyticsStatus, "off", {"ok": False, "error": "Analytics module is not enabled"}),
    _case(sl.ProjectOptions, "store_group", {"storeGroup": "eu-2"}),
    _case(
        sl.CheckResponse,
        "ok",
        {
            "pid": "7c4f6a2b1e",
            "analytics": {"ok": True, "host": "events.example.com"},
            "options": {"storeGroup": "eu-2"},
        },
    ),
    _case(
        sl.CheckResponse,
        "analytics_off",
        {
            "pid": "7c4f6a2b1e",
            "analytics": {"ok": False, "error": "Analytics module is not enabled"},
            "options": {"storeGroup": "eu-2"},
        },
    ),
    _case(sl.EventType, "custom", "custom"),
    _case(sl.EventType, "error", "error"),
    _case(sl.EventProps, "mixed", SL_EVENT_CUSTOM["props"]),
    _case(sl.BackendEvent, "custom", SL_EVENT_CUSTOM),
    _case(sl.BackendEvent, "error", SL_EVENT_ERROR),
    _case(sl.BackendEvent, "minimal", SL_EVENT_MINIMAL),
    _case(
        sl.EventsRequest, "batch", {"events": [SL_EVENT_CUSTOM, SL_EVENT_ERROR, SL_EVENT_MINIMAL]}
    ),
    _case(sl.EventsAccepted, "ok", {"ok": True}),
    _case(
        sl.ErrorResponse,
        "bad_request",
        {"code": "invalid_argument", "message": "events[0].vid is required"},
    ),
    _case(
        sl.ErrorResponse,
        "not_found",
        {"code": "project_not_found", "message": "No project has this key"},
    ),
    *V2_CASES,
]


def _round_trip(cls: type, payload: Any) -> Any:
    if issubclass(cls, enum.Enum):
        return cls(payload).value
    return cls.from_dict(payload).to_dict()


def _is_unset(value: object) -> bool:
    return isinstance(value, FsUnset | SlUnset)


def _table_classes() -> list[type]:
    return [param.values[0] for param in ROUND_TRIP_CASES]


# --------------------------------------------------------------------------------------------------
# The table covers everything
# --------------------------------------------------------------------------------------------------


def test_table_covers_every_exported_model() -> None:
    exported = {("fullstory_api", name) for name in fs.__all__} | {
        ("smartlook_api", name) for name in sl.__all__
    }
    covered = {(cls.__module__.split(".")[0], cls.__name__) for cls in _table_classes()}
    assert exported - covered == set(), "write a round-trip payload for these models"
    assert covered - exported == set()


@pytest.mark.parametrize(
    "cls",
    sorted({c for c in _table_classes() if attrs.has(c)}, key=lambda c: (c.__module__, c.__name__)),
    ids=lambda c: f"{c.__module__.split('.')[0]}.{c.__name__}",
)
def test_table_sets_every_field_of_each_model_at_least_once(cls: type) -> None:
    declared = {f.name for f in attrs.fields(cls) if f.name != "additional_properties"}
    seen: set[str] = set()
    for param in ROUND_TRIP_CASES:
        if param.values[0] is cls:
            parsed = cls.from_dict(param.values[1])
            seen |= {name for name in declared if not _is_unset(getattr(parsed, name))}
    assert declared - seen == set(), "no payload in the table sets these fields"


# --------------------------------------------------------------------------------------------------
# The round trip itself
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "payload"), ROUND_TRIP_CASES)
def test_round_trip_gives_back_the_payload(cls: type, payload: Any) -> None:
    original = copy.deepcopy(payload)
    result = _round_trip(cls, payload)
    assert result == original
    assert payload == original, "from_dict must not change its input"
    # what to_dict returns is plain JSON, ready for httpx
    assert json.loads(json.dumps(result)) == original


@pytest.mark.parametrize(
    ("cls", "payload", "extra"),
    [
        pytest.param(
            fs.ErrorResponse,
            {"code": "invalid_argument", "message": "bad property name"},
            {"details": [{"field": "properties.9lives", "reason": "must start with a letter"}]},
            id="fs.ErrorResponse-details",
        ),
        pytest.param(
            fs.GetUserResponse,
            {"id": USER_ID, "is_being_deleted": False},
            {"last_seen": "2024-02-01T12:30:00Z", "sessions": 17},
            id="fs.GetUserResponse-future_fields",
        ),
        pytest.param(
            fs.LocationContext,
            LOCATION,
            {"postal_code": "30303"},
            id="fs.LocationContext-postal_code",
        ),
        pytest.param(
            sl.CheckResponse,
            {"pid": "p1", "analytics": {"ok": True}, "options": {"storeGroup": "g"}},
            {"region": "eu"},
            id="sl.CheckResponse-region",
        ),
    ],
)
def test_unknown_keys_survive_the_round_trip(
    cls: Any, payload: dict[str, Any], extra: dict[str, Any]
) -> None:
    parsed = cls.from_dict({**payload, **extra})
    assert parsed.additional_properties == extra
    for key, value in extra.items():
        assert key in parsed
        assert parsed[key] == value
    assert parsed.to_dict() == {**payload, **extra}


def test_unknown_keys_survive_inside_nested_models() -> None:
    payload = {
        **EVENT_WITH_INT_SESSION,
        "context": {**CONTEXT, "device": {**DEVICE, "dpi": 420}},
        "session": {"id": SESSION_ID_INTS, "tab": 2},
    }
    parsed = fs.CreateEventRequest.from_dict(payload)
    assert parsed.context.device.additional_properties == {"dpi": 420}
    assert parsed.session.additional_properties == {"tab": 2}
    assert parsed.to_dict() == payload


# --------------------------------------------------------------------------------------------------
# What the parsed objects hold
# --------------------------------------------------------------------------------------------------


def test_custom_properties_stay_opaque_json() -> None:
    parsed = fs.CreateUserRequest.from_dict(CREATE_USER)
    props = parsed.properties.additional_properties
    assert props["location"]["geo"] == {"lat": 33.749, "long": -84.388, "verified": False}
    assert props["lucky_numbers"] == [7, 13.5, -2]
    assert isinstance(props["days_active"], int)
    assert props["popup_help"] is True
    # ISO dates inside custom properties are plain strings, never turned into datetime
    assert props["signed_up_at"] == "2024-01-15T08:00:00Z"
    assert parsed.properties["pricing_plan"] == "paid"


def test_schema_keeps_dotted_names() -> None:
    parsed = fs.GetUserResponse.from_dict(GET_USER)
    assert isinstance(parsed.schema, fs.Schema)
    assert isinstance(parsed.schema.properties, fs.PropertyTypes)
    assert parsed.schema.properties.additional_properties == {
        "days_active": "int",
        "location.code": "str",
    }
    assert isinstance(parsed.type_conflicts, fs.TypeConflicts)
    assert parsed.type_conflicts.properties["total_spent"] == ["real", "str"]


def test_schema_null_parses_to_none_and_is_written_back_as_null() -> None:
    parsed = fs.GetUserResponse.from_dict(GET_USER_NULL_SCHEMA)
    assert parsed.schema is None
    assert parsed.type_conflicts is None
    assert parsed.is_being_deleted is True
    written = parsed.to_dict()
    assert "schema" in written
    assert written["schema"] is None
    assert written["type_conflicts"] is None


def test_schema_left_out_stays_left_out() -> None:
    parsed = fs.GetUserResponse.from_dict({"id": USER_ID, "is_being_deleted": False})
    assert _is_unset(parsed.schema)
    assert "schema" not in parsed.to_dict()


def test_event_context_types() -> None:
    parsed = fs.CreateEventRequest.from_dict(EVENT_WITH_INT_SESSION)
    assert isinstance(parsed.context, fs.Context)
    assert isinstance(parsed.context.browser, fs.BrowserContext)
    assert isinstance(parsed.context.mobile, fs.MobileContext)
    assert parsed.context.mobile.build_variant == "release"
    device = parsed.context.device
    assert isinstance(device, fs.DeviceContext)
    assert (device.screen_width, device.screen_height) == (1080, 2400)
    assert (device.viewport_width, device.viewport_height) == (412, 915)
    assert all(isinstance(v, int) for v in (device.screen_width, device.viewport_height))
    location = parsed.context.location
    assert isinstance(location, fs.LocationContext)
    assert location.latitude == pytest.approx(33.749)
    assert location.longitude == pytest.approx(-84.388)
    assert isinstance(location.latitude, float)


@pytest.mark.parametrize("session_id", [SESSION_ID_INTS, SESSION_ID_UUIDS], ids=["ints", "uuids"])
def test_both_session_id_forms_are_kept_verbatim(session_id: str) -> None:
    parsed = fs.CreateEventRequest.from_dict(
        {"name": "Support Ticket", "session": {"id": session_id}}
    )
    assert isinstance(parsed.session, fs.SessionIdRequest)
    assert parsed.session.id == session_id
    assert _is_unset(parsed.session.use_most_recent)
    assert parsed.to_dict()["session"] == {"id": session_id}


def test_use_most_recent_with_user_uid() -> None:
    parsed = fs.CreateEventRequest.from_dict(EVENT_MOST_RECENT_SESSION)
    assert parsed.session.use_most_recent is True
    assert _is_unset(parsed.session.id)
    assert isinstance(parsed.user, fs.UserIdRequest)
    assert parsed.user.uid == UID
    assert _is_unset(parsed.user.id)


def test_timestamps_parse_to_aware_datetimes() -> None:
    parsed = fs.JobStatusResponse.from_dict({"imports": 42, "errors": 2, "job": JOB_FAILED})
    assert parsed.job.created == datetime.datetime(
        2019, 4, 18, 14, 36, 11, 123000, tzinfo=timezone.utc
    )
    assert parsed.job.finished - parsed.job.created == datetime.timedelta(hours=1)
    event = fs.CreateEventRequest.from_dict(EVENT_FOR_USER_ID)
    assert event.timestamp.utcoffset() == datetime.timedelta(hours=1)
    assert event.timestamp == datetime.datetime(2024, 2, 1, 12, 30, tzinfo=timezone.utc)


def test_z_timestamp_parses_to_aware_utc_and_is_written_with_offset() -> None:
    parsed = fs.JobMetadata.from_dict(
        {"id": JOB_ID, "status": "COMPLETED", "created": "2024-02-01T12:30:00Z"}
    )
    assert parsed.created.tzinfo is not None
    assert parsed.created.utcoffset() == datetime.timedelta(0)
    assert parsed.created == datetime.datetime(2024, 2, 1, 12, 30, tzinfo=timezone.utc)
    # the same instant comes back, spelt the isoformat() way
    assert parsed.to_dict()["created"] == "2024-02-01T12:30:00+00:00"


def test_swagger_style_fraction_is_normalised_not_kept() -> None:
    # The reference examples use two fraction digits and "Z"; isoformat() writes six digits and
    # "+00:00". Same instant, different spelling: these strings do not round-trip byte for byte.
    parsed = fs.JobMetadata.from_dict(
        {"id": "abc123", "status": "PROCESSING", "created": "2017-01-15T01:30:15.01Z"}
    )
    assert parsed.created == datetime.datetime(2017, 1, 15, 1, 30, 15, 10000, tzinfo=timezone.utc)
    assert parsed.to_dict()["created"] == "2017-01-15T01:30:15.010000+00:00"


@pytest.mark.parametrize(
    ("value", "member"),
    [
        ("PROCESSING", fs.JobStatus.PROCESSING),
        ("COMPLETED", fs.JobStatus.COMPLETED),
        ("FAILED", fs.JobStatus.FAILED),
    ],
)
def test_job_status_values(value: str, member: fs.JobStatus) -> None:
    parsed = fs.JobMetadata.from_dict({**JOB_PROCESSING, "status": value})
    assert parsed.status is member
    assert str(parsed.status) == value


def test_job_status_has_exactly_three_values() -> None:
    assert {s.value for s in fs.JobStatus} == {"PROCESSING", "COMPLETED", "FAILED"}


@pytest.mark.parametrize("value", ["UNKNOWN", "processing", "DONE", ""])
def test_unknown_job_status_raises_value_error(value: str) -> None:
    with pytest.raises(ValueError, match="is not a valid JobStatus"):
        fs.JobStatus(value)
    with pytest.raises(ValueError, match="is not a valid JobStatus"):
        fs.JobMetadata.from_dict({**JOB_PROCESSING, "status": value})


def test_job_status_response_errors_left_out_while_imports_given() -> None:
    # "errors ... may be left out when there are none"
    parsed = fs.JobStatusResponse.from_dict({"imports": 3, "job": JOB_COMPLETED})
    assert parsed.imports == 3
    assert parsed.job.status is fs.JobStatus.COMPLETED
    assert parsed.to_dict() == {"imports": 3, "job": JOB_COMPLETED}


def test_job_status_response_missing_counts_parse_as_unset() -> None:
    # The server may leave a zero count out; the model keeps "absent" distinct from 0 and the
    # facade reads an absent count as 0.
    parsed = fs.JobStatusResponse.from_dict({"job": JOB_PROCESSING})
    assert isinstance(parsed.imports, FsUnset)
    assert isinstance(parsed.errors, FsUnset)
    assert parsed.to_dict() == {"job": JOB_PROCESSING}


@pytest.mark.parametrize(
    ("cls", "payload"),
    [
        pytest.param(
            fs.ListUsersResponse,
            {"results": [], "total_records": "1200", "next_page_token": "asd543"},
            id="list_users",
        ),
        pytest.param(
            fs.GetBatchUserImportsResponse,
            {"results": [], "total_records": "98", "next_page_token": "asd543"},
            id="user_imports",
        ),
        pytest.param(
            fs.GetBatchUserImportErrorsResponse,
            {"total_records": "98", "next_page_token": "asd543="},
            id="user_errors",
        ),
        pytest.param(
            fs.GetBatchEventsImportsResponse,
            {"total_records": "1200", "next_page_token": "asd543="},
            id="event_imports",
        ),
        pytest.param(
            fs.GetBatchEventsImportErrorsResponse,
            {"total_records": "98", "next_page_token": "asd543="},
            id="event_errors",
        ),
    ],
)
def test_envelopes_keep_total_records_and_token_as_strings(
    cls: Any, payload: dict[str, Any]
) -> None:
    parsed = cls.from_dict(payload)
    assert parsed.total_records == payload["total_records"]
    assert isinstance(parsed.total_records, str)
    assert parsed.next_page_token == payload["next_page_token"]
    written = parsed.to_dict()
    assert isinstance(written["total_records"], str)
    assert written["next_page_token"] == payload["next_page_token"]


def test_list_users_results_are_parsed_users() -> None:
    parsed = fs.ListUsersResponse.from_dict(
        {"results": [GET_USER, GET_USER_NULL_SCHEMA], "total_records": "2"}
    )
    assert [type(user) for user in parsed.results] == [fs.GetUserResponse, fs.GetUserResponse]
    assert [user.id for user in parsed.results] == [USER_ID, "987654323"]
    assert _is_unset(parsed.next_page_token)


def test_failed_user_import_echoes_the_user_request() -> None:
    parsed = fs.GetBatchUserImportErrorsResponse.from_dict(
        {"results": [FAILED_USER], "total_records": "1"}
    )
    [failed] = parsed.results
    assert isinstance(failed, fs.FailedUserImport)
    assert (failed.code, failed.message) == ("invalid_argument", "uid exceeds 256 characters")
    assert isinstance(failed.user, fs.BatchUserImportRequest)
    assert failed.user.id == USER_ID
    assert failed.user.uid == UID
    assert failed.user.properties.additional_properties == USER_PROPERTIES


def test_failed_events_import_echoes_event_and_shared() -> None:
    parsed = fs.GetBatchEventsImportErrorsResponse.from_dict(
        {"results": [FAILED_EVENT], "total_records": "1"}
    )
    [failed] = parsed.results
    assert isinstance(failed, fs.FailedEventsImport)
    assert failed.code == "invalid_argument"
    assert isinstance(failed.event, fs.CreateEventRequest)
    assert failed.event.name == "Support Ticket"
    assert failed.event.context.browser.url == BROWSER["url"]
    assert isinstance(failed.shared, fs.SharedData)
    assert failed.shared.context.location.city == "Atlanta"


def test_failed_user_import_accepts_the_swagger_example_with_null_schema() -> None:
    example = {
        "message": "The error message",
        "code": "error_code",
        "user": {
            "uid": UID,
            "display_name": "Daniel Falko",
            "email": "daniel.falko@example.com",
            "properties": {"pricing_plan": "paid", "popup_help": True, "total_spent": 14.55},
            "schema": None,
            "type_conflicts": None,
        },
    }
    assert fs.FailedUserImport.from_dict(example).to_dict() == example


def test_batch_create_events_response_parts() -> None:
    parsed = fs.BatchCreateEventsResponse.from_dict(RECORDED_EVENT)
    assert isinstance(parsed.user, fs.UserIdResponse)
    assert (parsed.user.id, parsed.user.uid) == (USER_ID, UID)
    assert isinstance(parsed.session, fs.SessionIdResponse)
    assert parsed.session.id == SESSION_ID_INTS
    assert parsed.timestamp == datetime.datetime(2022, 3, 15, 14, 23, 23, tzinfo=timezone.utc)


def test_results_pending_is_an_empty_object() -> None:
    parsed = fs.JobResultsPending.from_dict({})
    assert parsed.additional_properties == {}
    assert parsed.to_dict() == {}


@pytest.mark.parametrize(
    ("cls", "payload"),
    [
        pytest.param(fs.ErrorResponse, {"message": "uid is required"}, id="fs-no_code"),
        pytest.param(fs.ErrorResponse, {"code": "required_field"}, id="fs-no_message"),
        pytest.param(fs.JobMetadata, {"id": JOB_ID, "status": "PROCESSING"}, id="job-no_created"),
        pytest.param(fs.CreateEventRequest, {"timestamp": EVENT_TIME}, id="event-no_name"),
        pytest.param(fs.GetUserResponse, {"id": USER_ID}, id="user-no_is_being_deleted"),
        pytest.param(
            sl.CheckResponse, {"pid": "p1", "analytics": {"ok": True}}, id="sl-no_options"
        ),
        pytest.param(sl.BackendEvent, {"name": "signup"}, id="sl-no_vid"),
    ],
)
def test_missing_required_key_raises_key_error(cls: Any, payload: dict[str, Any]) -> None:
    with pytest.raises(KeyError):
        cls.from_dict(payload)


# --------------------------------------------------------------------------------------------------
# Smartlook specifics
# --------------------------------------------------------------------------------------------------


def test_check_response_parts() -> None:
    parsed = sl.CheckResponse.from_dict(
        {
            "pid": "7c4f6a2b1e",
            "analytics": {"ok": True, "host": "events.example.com"},
            "options": {"storeGroup": "eu-2"},
        }
    )
    assert parsed.pid == "7c4f6a2b1e"
    assert isinstance(parsed.analytics, sl.AnalyticsStatus)
    assert parsed.analytics.ok is True
    assert parsed.analytics.host == "events.example.com"
    assert _is_unset(parsed.analytics.error)
    assert isinstance(parsed.options, sl.ProjectOptions)
    assert parsed.options.store_group == "eu-2"
    assert parsed.to_dict()["options"] == {"storeGroup": "eu-2"}


def test_backend_event_type_and_prop_types() -> None:
    parsed = sl.BackendEvent.from_dict(SL_EVENT_CUSTOM)
    assert parsed.type_ is sl.EventType.CUSTOM
    props = parsed.props.additional_properties
    assert props == {"plan": "pro", "items": 3, "amount": 49.9, "first_order": True}
    # no coercion: an int stays an int, a bool stays a bool
    assert type(props["items"]) is int
    assert type(props["amount"]) is float
    assert type(props["first_order"]) is bool
    assert parsed.to_dict()["type"] == "custom"
    assert sl.BackendEvent.from_dict(SL_EVENT_ERROR).type_ is sl.EventType.ERROR


def test_backend_event_without_type_leaves_it_out() -> None:
    parsed = sl.BackendEvent.from_dict(SL_EVENT_MINIMAL)
    assert _is_unset(parsed.type_)
    assert "type" not in parsed.to_dict()


@pytest.mark.parametrize("value", ["CUSTOM", "warning", ""])
def test_unknown_event_type_raises_value_error(value: str) -> None:
    with pytest.raises(ValueError, match="is not a valid EventType"):
        sl.BackendEvent.from_dict({**SL_EVENT_MINIMAL, "type": value})


def test_events_request_holds_backend_events() -> None:
    parsed = sl.EventsRequest.from_dict({"events": [SL_EVENT_CUSTOM, SL_EVENT_ERROR]})
    assert [type(e) for e in parsed.events] == [sl.BackendEvent, sl.BackendEvent]
    assert [e.name for e in parsed.events] == ["order_paid", "payment_failed"]
