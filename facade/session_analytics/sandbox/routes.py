"""The API routes of both emulated services: read the request, call the rules, shape the answer.

Each handler takes a :class:`RouteCall` (already authenticated, body parsed) and returns the
status and the JSON body to send; the rules raise ApiError for every refusal. Transport concerns
(auth, faults, idempotency replay, body limits, stats) live in ``pipeline.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from .. import _rules
from . import organization, sessions, spec
from .annotations import AnnotationLog
from .config import SandboxConfig
from .context import build_context, read_options
from .errors import bad_request
from .fullstory import Clock, FullStoryState, check_event_body
from .jobs import JobBoard, Kind
from .smartlook import SmartlookState
from .stream import UserStreams
from .summaries import MAX_PAGE, ProfileStore, summarize

Answer = tuple[int, Any]
Api = Literal["fullstory", "smartlook"]


@attrs.frozen
class RouteCall:
    fullstory: FullStoryState
    jobs: JobBoard
    smartlook: SmartlookState
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    netloc: str
    idempotency_key: str | None
    integration_source: str | None
    streams: UserStreams
    profiles: ProfileStore
    annotations: AnnotationLog
    config: SandboxConfig
    clock: Clock
    base_url: str  # scheme and host of this sandbox, for the sessions' app_url

    def flag(self, name: str) -> bool | None:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return None
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise bad_request(f"{name} must be true or false, not {raw!r}")

    def text(self, name: str) -> str | None:
        value = self.query.get(name)
        return value if value else None


@attrs.frozen
class Endpoint:
    method: str
    path: str
    handler: Callable[[RouteCall], Answer]
    api: Api = "fullstory"
    level: str = "standard"
    idempotent: bool = False
    has_body: bool = False

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


# ---- FullStory users --------------------------------------------------------------------------


def create_user(call: RouteCall) -> Answer:
    spec.validate("fullstory", "CreateUserRequest", call.body)
    return 200, {"id": call.fullstory.upsert_user(call.body).id}


def list_users(call: RouteCall) -> Answer:
    return 200, call.fullstory.list_users(
        uid=call.text("uid"),
        email=call.text("email"),
        display_name=call.text("display_name"),
        is_identified=call.flag("is_identified"),
        page_token=call.text("page_token"),
        include_schema=bool(call.flag("include_schema")),
    )


def delete_user_by_uid(call: RouteCall) -> Answer:
    uid = call.query.get("uid")
    if not uid:
        raise bad_request("uid is required", code="required_field")
    call.fullstory.delete_user(uid=uid)
    return 200, {}


def get_user(call: RouteCall) -> Answer:
    include = bool(call.flag("include_schema"))
    return 200, call.fullstory.get_user(call.path_params["id"], include)


def update_user(call: RouteCall) -> Answer:
    spec.validate("fullstory", "UpdateUserRequest", call.body)
    return 200, {"id": call.fullstory.update_user(call.path_params["id"], call.body).id}


def delete_user(call: RouteCall) -> Answer:
    uid = call.query.get("uid")
    if uid is not None:  # the uid form: the path's id is not needed then
        call.fullstory.delete_user(uid=uid)
    else:
        call.fullstory.delete_user(user_id=call.path_params["id"])
    return 200, {}


def create_user_stream(call: RouteCall) -> Answer:
    return 200, call.streams.create(call.body)


def user_stream_status(call: RouteCall) -> Answer:
    return 200, call.streams.status(call.path_params["request_id"])


# ---- FullStory sessions, summary profiles, annotations, quotas ------------------------------


def list_sessions(call: RouteCall) -> Answer:
    return 200, sessions.list_sessions(
        call.fullstory,
        uid=call.text("uid"),
        email=call.text("email"),
        session_uid=call.text("session_uid"),
        limit=call.query.get("limit"),
        base_url=call.base_url,
    )


def session_events(call: RouteCall) -> Answer:
    return 200, sessions.session_events(call.fullstory, call.path_params["session_id"])


def session_context(call: RouteCall) -> Answer:
    spec.validate("fullstory", "SessionContextRequest", call.body)
    if not isinstance(call.body, Mapping):
        raise bad_request("the request body must be an object")
    options = read_options(call.body)
    session, user = sessions.find_session(call.fullstory, call.path_params["session_id"])
    url = sessions.app_url(call.base_url, session.id)
    return 200, {"context_data": build_context(session, user, options, url)}


def summary(call: RouteCall) -> Answer:
    end = call.query.get("end_timestamp")
    if end is not None:
        problem = _rules.timestamp_problem(end)
        if problem is not None:
            raise bad_request(f"end_timestamp {problem}")
    return 200, summarize(
        call.fullstory,
        call.profiles,
        call.path_params["session_id"],
        profile_id=call.text("config_profile"),
        end_timestamp=end,
    )


def summary_with_overrides(call: RouteCall) -> Answer:
    spec.validate("fullstory", "SessionSummaryRequest", call.body)
    if not isinstance(call.body, Mapping):
        raise bad_request("the request body must be an object")
    profile_id = call.body.get("config_profile")
    if profile_id is not None and not isinstance(profile_id, str):
        raise bad_request("config_profile must be a string")
    return 200, summarize(
        call.fullstory,
        call.profiles,
        call.path_params["session_id"],
        profile_id=profile_id or None,
        overrides=call.body,
    )


def list_profiles(call: RouteCall) -> Answer:
    limit = sessions.positive_limit(call.query.get("limit"), 20, MAX_PAGE)
    return 200, call.profiles.list(limit, call.text("page_token"))


def create_profile(call: RouteCall) -> Answer:
    spec.validate("fullstory", "SummaryProfileRequest", call.body)
    return 200, call.profiles.create(call.body)


def get_profile(call: RouteCall) -> Answer:
    return 200, call.profiles.get(call.path_params["id"]).to_api()


def update_profile(call: RouteCall) -> Answer:
    spec.validate("fullstory", "SummaryProfileRequest", call.body)
    return 200, call.profiles.update(call.path_params["id"], call.body)


def delete_profile(call: RouteCall) -> Answer:
    return 200, call.profiles.delete(call.path_params["id"])


def create_annotation(call: RouteCall) -> Answer:
    spec.validate("fullstory", "CreateAnnotationRequest", call.body)
    return 200, call.annotations.create(call.body)


def quotas(call: RouteCall) -> Answer:
    return 200, organization.quotas(call.fullstory, call.config, call.clock.wall())


# ---- FullStory events ------------------------------------------------------------------------


def create_event(call: RouteCall) -> Answer:
    check_event_body(call.body)
    call.fullstory.create_event(
        call.body,
        idempotency_key=call.idempotency_key,
        integration_source=call.integration_source,
    )
    return 200, {}


# ---- FullStory batch import jobs -------------------------------------------------------------


def _create_job(kind: Kind) -> Callable[[RouteCall], Answer]:
    def handler(call: RouteCall) -> Answer:
        return 200, call.jobs.create(
            kind,
            call.body,
            integration_source=call.integration_source,
            idempotency_key=call.idempotency_key,
        )

    return handler


def _job_status(kind: Kind) -> Callable[[RouteCall], Answer]:
    def handler(call: RouteCall) -> Answer:
        return 200, call.jobs.status(kind, call.path_params["job_id"])

    return handler


def _job_imports(kind: Kind) -> Callable[[RouteCall], Answer]:
    def handler(call: RouteCall) -> Answer:
        page = call.jobs.imports(
            kind,
            call.path_params["job_id"],
            call.text("page_token"),
            bool(call.flag("include_schema")),
        )
        return (202, {}) if page is None else (200, page)

    return handler


def _job_errors(kind: Kind) -> Callable[[RouteCall], Answer]:
    def handler(call: RouteCall) -> Answer:
        page = call.jobs.errors(kind, call.path_params["job_id"], call.text("page_token"))
        return (202, {}) if page is None else (200, page)

    return handler


# ---- Smartlook --------------------------------------------------------------------------------


def smartlook_check(call: RouteCall) -> Answer:
    return 200, call.smartlook.check(call.body, call.netloc)


def smartlook_events(call: RouteCall) -> Answer:
    pid, group = call.query.get("pid"), call.query.get("group")
    if not pid or not group:
        raise bad_request("the query must name the project: ?pid=<pid>&group=<storeGroup>")
    call.smartlook.ingest(pid, group, call.body)
    return 200, {"ok": True}


def _v2_only_endpoints() -> list[Endpoint]:
    """The operations served under /v2 alone (the older /v2beta prefix never had them)."""
    users, sessions_path, profiles = "/v2/users", "/v2/sessions", "/v2/visit_profile"
    one_session = f"{sessions_path}/{{session_id}}"
    return [
        Endpoint("POST", f"{users}/stream", create_user_stream, idempotent=True, has_body=True),
        Endpoint("GET", f"{users}/stream/{{request_id}}", user_stream_status, level="architect"),
        Endpoint("GET", sessions_path, list_sessions),
        Endpoint("GET", f"{one_session}/events", session_events),
        Endpoint("POST", f"{one_session}/context", session_context, has_body=True),
        Endpoint("GET", f"{one_session}/summary", summary),
        Endpoint("POST", f"{one_session}/summary", summary_with_overrides, has_body=True),
        Endpoint("GET", profiles, list_profiles),
        Endpoint("POST", profiles, create_profile, has_body=True),
        Endpoint("GET", f"{profiles}/{{id}}", get_profile),
        Endpoint("POST", f"{profiles}/{{id}}", update_profile, has_body=True),
        Endpoint("DELETE", f"{profiles}/{{id}}", delete_profile),
        Endpoint("POST", "/v2/annotations", create_annotation, has_body=True),
        Endpoint("GET", "/v2/organization/quotas", quotas),
    ]


def _fullstory_endpoints(prefix: str) -> list[Endpoint]:
    users, events = f"{prefix}/users", f"{prefix}/events"
    job = "/batch/{job_id}"
    return [
        # Batch routes first: "/users/batch" would otherwise match "/users/{id}".
        Endpoint("POST", f"{users}/batch", _create_job("users"), idempotent=True, has_body=True),
        Endpoint("GET", f"{users}{job}", _job_status("users")),
        Endpoint("GET", f"{users}{job}/imports", _job_imports("users"), level="architect"),
        Endpoint("GET", f"{users}{job}/errors", _job_errors("users"), level="architect"),
        Endpoint("POST", users, create_user, idempotent=True, has_body=True),
        Endpoint("GET", users, list_users, level="architect"),
        Endpoint("DELETE", users, delete_user_by_uid, level="architect"),
        Endpoint("GET", f"{users}/{{id}}", get_user, level="architect"),
        Endpoint("POST", f"{users}/{{id}}", update_user, has_body=True),
        Endpoint("DELETE", f"{users}/{{id}}", delete_user, level="architect"),
        Endpoint("POST", f"{events}/batch", _create_job("events"), idempotent=True, has_body=True),
        Endpoint("GET", f"{events}{job}", _job_status("events")),
        Endpoint("GET", f"{events}{job}/imports", _job_imports("events"), level="architect"),
        Endpoint("GET", f"{events}{job}/errors", _job_errors("events"), level="architect"),
        Endpoint("POST", events, create_event, idempotent=True, has_body=True),
    ]


ENDPOINTS: list[Endpoint] = [
    # Stream routes first: "/v2/users/stream" would otherwise match "/v2/users/{id}".
    *_v2_only_endpoints(),
    *_fullstory_endpoints("/v2"),
    *_fullstory_endpoints("/v2beta"),  # the older prefix, still served as an alias
    Endpoint("POST", "/rec/check/backend", smartlook_check, api="smartlook", has_body=True),
    Endpoint("POST", "/events/backend", smartlook_events, api="smartlook", has_body=True),
]
