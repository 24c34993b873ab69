"""The session, summary-profile, annotation, quota and queued-user operations as :class:`Call`s.

Inputs are checked by ``_v2_inputs``; each builder imports its generated operation on first use.
Pure functions shared by the sync and async clients; nothing here does I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ..errors import FSInvalidArgumentError
from . import _inputs, _v2_inputs
from ._calls import Call
from ._requests import PreparedBody, _key, _opt

if TYPE_CHECKING:
    from fullstory_api.models import (
        Annotation,
        CreateAnnotationRequest,
        CreateUserRequest,
        CreateUserStreamResponse,
        DeleteSummaryProfileResponse,
        ListSessionsResponse,
        ListSummaryProfilesResponse,
        QuotasResponse,
        SessionContextRequest,
        SessionContextResponse,
        SessionEventsResponse,
        SessionSummaryRequest,
        SessionSummaryResponse,
        SummaryProfile,
        SummaryProfileId,
        SummaryProfileRequest,
        UserStreamStatusResponse,
    )


class PreparedTimestamp:
    """A timestamp already checked, for a generated operation that writes a query parameter
    with ``isoformat()``: the caller's string goes out exactly as given."""

    def __init__(self, text: str) -> None:
        self._text = text

    def isoformat(self) -> str:
        return self._text


# ---- sessions ---------------------------------------------------------------------------------


def list_sessions_call(
    *, uid: str | None, email: str | None, session_uid: str | None, limit: int | None
) -> Call[ListSessionsResponse]:
    from fullstory_api.api.sessions import list_sessions
    from fullstory_api.models import ListSessionsResponse

    _v2_inputs.session_lookup(uid, email, session_uid, limit)
    return Call(
        list_sessions,
        {
            "uid": _opt(uid),
            "email": _opt(email),
            "session_uid": _opt(session_uid),
            "limit": _opt(limit),
        },
        ListSessionsResponse,
        "GET /v2/sessions",
    )


def session_events_call(session_id: str) -> Call[SessionEventsResponse]:
    from fullstory_api.api.sessions import get_session_events
    from fullstory_api.models import SessionEventsResponse

    session_id = _v2_inputs.session_id(session_id)
    return Call(
        get_session_events,
        {"session_id": session_id},
        SessionEventsResponse,
        f"GET /v2/sessions/{session_id}/events",
    )


def session_context_call(session_id: str, parts: dict[str, Any]) -> Call[SessionContextResponse]:
    """``parts``: from ``_v2_inputs.context_parts``."""
    from fullstory_api.api.sessions import generate_session_context
    from fullstory_api.models import SessionContextResponse

    session_id = _v2_inputs.session_id(session_id)
    return Call(
        generate_session_context,
        {"session_id": session_id, "body": cast("SessionContextRequest", PreparedBody(parts))},
        SessionContextResponse,
        f"POST /v2/sessions/{session_id}/context",
    )


def session_summary_call(
    session_id: str,
    *,
    profile_id: str | None,
    end_timestamp: Any,
    overrides: dict[str, Any],
) -> Call[SessionSummaryResponse]:
    """A GET with the profile and the end; a POST (the profile in the body, the end merged into
    ``slice.end_timestamp``) as soon as ``overrides`` (checked parts: slice, context, events,
    cache, llm) holds anything."""
    from fullstory_api.api.sessions import (
        generate_session_summary,
        generate_session_summary_with_overrides,
    )
    from fullstory_api.models import SessionSummaryResponse

    session_id = _v2_inputs.session_id(session_id)
    if profile_id is not None:
        profile_id = _inputs.identifier(profile_id, "profile_id")
    end = None if end_timestamp is None else _v2_inputs.end_timestamp(end_timestamp)
    what = f"/v2/sessions/{session_id}/summary"
    if not overrides:
        return Call(
            generate_session_summary,
            {
                "session_id": session_id,
                "config_profile": _opt(profile_id),
                "end_timestamp": _opt(None if end is None else PreparedTimestamp(end)),
            },
            SessionSummaryResponse,
            f"GET {what}",
        )
    body: dict[str, Any] = {}
    if profile_id is not None:
        body["config_profile"] = profile_id
    body.update(overrides)
    if end is not None:
        slice_part = dict(body.get("slice") or {})
        given = slice_part.get("end_timestamp")
        if given is not None and given != end:
            raise FSInvalidArgumentError(
                "end_timestamp: slice.end_timestamp says another end; give one of them",
                field="end_timestamp",
            )
        slice_part["end_timestamp"] = end
        start = slice_part.get("start_timestamp")
        if start is not None and not _v2_inputs.instant(start) < _v2_inputs.instant(end):
            raise FSInvalidArgumentError(
                "end_timestamp: must be after slice.start_timestamp", field="end_timestamp"
            )
        body["slice"] = slice_part
    return Call(
        generate_session_summary_with_overrides,
        {"session_id": session_id, "body": cast("SessionSummaryRequest", PreparedBody(body))},
        SessionSummaryResponse,
        f"POST {what}",
    )


# ---- summary profiles -------------------------------------------------------------------------


def create_summary_profile_call(profile: Any) -> Call[SummaryProfileId]:
    from fullstory_api.api.summary_profiles import create_summary_profile
    from fullstory_api.models import SummaryProfileId

    body = cast("SummaryProfileRequest", PreparedBody(_v2_inputs.profile_request(profile)))
    return Call(
        create_summary_profile,
        {"body": body},
        SummaryProfileId,
        "POST /v2/visit_profile",
        retry_unless_maybe_processed=True,  # the API takes no Idempotency-Key for it
    )


def get_summary_profile_call(profile_id: str) -> Call[SummaryProfile]:
    from fullstory_api.api.summary_profiles import get_summary_profile
    from fullstory_api.models import SummaryProfile

    profile_id = _inputs.identifier(profile_id, "id")
    return Call(
        get_summary_profile,
        {"id": profile_id},
        SummaryProfile,
        f"GET /v2/visit_profile/{profile_id}",
    )


def list_summary_profiles_call(
    *, limit: int | None, page_token: str | None
) -> Call[ListSummaryProfilesResponse]:
    from fullstory_api.api.summary_profiles import list_summary_profiles
    from fullstory_api.models import ListSummaryProfilesResponse

    _v2_inputs.positive_int(limit, "limit", _v2_inputs.MAX_PROFILES_PAGE)
    if page_token is not None:
        _inputs.text()(page_token, "page_token")
    return Call(
        list_summary_profiles,
        {"limit": _opt(limit), "page_token": _opt(page_token or None)},
        ListSummaryProfilesResponse,
        "GET /v2/visit_profile",
    )


def update_summary_profile_call(profile_id: str, profile: Any) -> Call[SummaryProfileId]:
    from fullstory_api.api.summary_profiles import update_summary_profile
    from fullstory_api.models import SummaryProfileId

    profile_id = _inputs.identifier(profile_id, "id")
    body = cast("SummaryProfileRequest", PreparedBody(_v2_inputs.profile_request(profile)))
    # A full replace: sending it twice leaves the same profile, so it retries like a read.
    return Call(
        update_summary_profile,
        {"id": profile_id, "body": body},
        SummaryProfileId,
        f"POST /v2/visit_profile/{profile_id}",
    )


def delete_summary_profile_call(profile_id: str) -> Call[DeleteSummaryProfileResponse]:
    from fullstory_api.api.summary_profiles import delete_summary_profile
    from fullstory_api.models import DeleteSummaryProfileResponse

    profile_id = _inputs.identifier(profile_id, "id")
    return Call(
        delete_summary_profile,
        {"id": profile_id},
        DeleteSummaryProfileResponse,
        f"DELETE /v2/visit_profile/{profile_id}",
    )


# ---- annotations and quotas -------------------------------------------------------------------


def create_annotation_call(
    text: Any, start_time: Any, end_time: Any, source: Any
) -> Call[Annotation]:
    from fullstory_api.api.annotations import create_annotation
    from fullstory_api.models import Annotation

    body = _v2_inputs.annotation(text, start_time, end_time, source)
    return Call(
        create_annotation,
        {"body": cast("CreateAnnotationRequest", PreparedBody(body))},
        Annotation,
        "POST /v2/annotations",
        retry_unless_maybe_processed=True,  # the API takes no Idempotency-Key for it
    )


def get_quotas_call() -> Call[QuotasResponse]:
    from fullstory_api.api.organization import get_quotas
    from fullstory_api.models import QuotasResponse

    return Call(get_quotas, {}, QuotasResponse, "GET /v2/organization/quotas")


# ---- queued (stream) user creates -------------------------------------------------------------


def create_user_stream_call(
    user: Any, idempotency_key: str | None
) -> Call[CreateUserStreamResponse]:
    from fullstory_api.api.users import create_user_stream
    from fullstory_api.models import CreateUserStreamResponse

    body = cast("CreateUserRequest", PreparedBody(_inputs.user_request(user)))
    return Call(
        create_user_stream,
        {"body": body, "idempotency_key": _key(idempotency_key)},
        CreateUserStreamResponse,
        "POST /v2/users/stream",
    )


def user_stream_status_call(request_id: str) -> Call[UserStreamStatusResponse]:
    from fullstory_api.api.users import get_user_stream_status
    from fullstory_api.models import UserStreamStatusResponse

    request_id = _inputs.identifier(request_id, "request_id")
    return Call(
        get_user_stream_status,
        {"request_id": request_id},
        UserStreamStatusResponse,
        f"GET /v2/users/stream/{request_id}",
    )
