"""Sessions as the API shows them: GET /v2/sessions (by user, or by session uid), the events of
one session, its replay link (``app_url``) and the small HTML page that link opens.

``app_url`` is ``<sandbox url>/ui/sandbox/session/<id, ':' written %3A>``: a page (no auth)
listing the session's events. ``session_uid`` (a customer-defined session id) finds the session
started through ``POST /_sandbox/sessions`` with that ``session_uid``, or else the session whose
own id it is.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .errors import ApiError, bad_request, not_found
from .fullstory import FullStoryState, Session, User, utc_iso

DEFAULT_LIMIT = 20
PAGE_PATH = "/ui/sandbox/session/{session_id}"
VIEW_ID = "1"  # one page view per session: the sandbox records no navigation


def app_url(base_url: str, session_id: str) -> str:
    return f"{base_url}/ui/sandbox/session/{quote(session_id, safe='')}"


def positive_limit(raw: str | None, default: int, maximum: int | None = None) -> int:
    """A ``limit`` query parameter: a whole number >= 1 (and <= ``maximum`` when given).

    Raises:
        ApiError: 400 naming ``limit``.
    """
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not text.isdigit() or int(text) < 1:
        raise bad_request(f"limit must be a whole number >= 1, not {raw!r}")
    if maximum is not None and int(text) > maximum:
        raise bad_request(f"limit must be at most {maximum}")
    return int(text)


def find_session(fullstory: FullStoryState, session_id: str) -> tuple[Session, User]:
    """A session and its user; 404 when the sandbox does not know it (or its user is gone)."""
    fullstory.sweep_deleted()
    session = fullstory.sessions.get(session_id)
    user = fullstory.users.get(session.user_id) if session is not None else None
    if session is None or user is None:
        raise not_found("Session not found")
    return session, user


def list_sessions(
    fullstory: FullStoryState,
    *,
    uid: str | None,
    email: str | None,
    session_uid: str | None,
    limit: str | None,
    base_url: str,
) -> dict[str, Any]:
    """GET /v2/sessions: the sessions of the users found by ``uid`` and/or ``email`` (or the one
    session of ``session_uid``), most recent first, at most ``limit`` (default 20)."""
    if session_uid and (uid or email):
        given = " and ".join(name for name, value in (("uid", uid), ("email", email)) if value)
        raise bad_request(f"session_uid cannot be combined with {given}; give one or the other")
    if not (uid or email or session_uid):
        raise bad_request("one of uid, email and session_uid is required", code="required_field")
    count = positive_limit(limit, DEFAULT_LIMIT)
    fullstory.sweep_deleted()
    live = {u.id for u in fullstory.users.values() if u.deleting_since is None}
    ordered = list(enumerate(fullstory.sessions.values()))
    if session_uid:
        found = [p for p in ordered if p[1].uid == session_uid] or [
            p for p in ordered if p[1].id == session_uid
        ]
        chosen = [p for p in found if p[1].user_id in live][:1]
    else:
        owners = {
            user.id
            for user in fullstory.users.values()
            if user.id in live and ((uid and user.uid == uid) or (email and user.email == email))
        }
        chosen = [p for p in ordered if p[1].user_id in owners]
    chosen.sort(key=lambda p: (p[1].created_wall, p[0]), reverse=True)
    return {
        "results": [
            {
                "id": session.id,
                "app_url": app_url(base_url, session.id),
                "created_time": utc_iso(session.created_wall),
            }
            for _, session in chosen[:count]
        ]
    }


def _source_properties(event: Mapping[str, Any]) -> dict[str, Any]:
    browser = (event.get("context") or {}).get("browser") or {}
    out: dict[str, Any] = {}
    url = browser.get("url")
    if isinstance(url, str) and url:
        parts = urlsplit(url)
        out["url"] = {"full_url": url, "host": parts.netloc, "path": parts.path}
    agent = browser.get("user_agent")
    if isinstance(agent, str) and agent:
        out["user_agent"] = {"raw_user_agent": agent}
    return out


def session_events(fullstory: FullStoryState, session_id: str) -> dict[str, Any]:
    """GET /v2/sessions/{id}/events: what the session received, in the order it arrived."""
    session, _ = find_session(fullstory, session_id)
    device_id, _, own_id = session.id.partition(":")
    return {
        "events": [
            {
                "device_id": device_id,
                "session_id": own_id,
                "view_id": VIEW_ID,
                "event_time": event["timestamp"],
                "event_type": "custom",
                "event_properties": {
                    **json.loads(json.dumps(event["properties"])),
                    "event_name": event["name"],
                },
                "source_type": "server",
                "source_properties": _source_properties(event),
            }
            for event in session.events
        ]
    }


def page_route(fullstory: Callable[[], FullStoryState]) -> Route:
    """The page an ``app_url`` opens: the session's events as an HTML table."""

    async def page(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        try:
            session, user = find_session(fullstory(), session_id)
        except ApiError:
            return HTMLResponse(
                f"<!doctype html><title>Not found</title><p>No session {html.escape(session_id)}",
                404,
            )
        rows = "".join(
            f"<tr><td>{html.escape(event['name'])}</td><td>{html.escape(event['timestamp'])}</td>"
            f"<td><code>{html.escape(json.dumps(event['properties'], sort_keys=True))}</code>"
            "</td></tr>"
            for event in session.events
        )
        who = html.escape(user.uid or user.id)
        body = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>Session {html.escape(session.id)}</title></head><body>"
            f"<h1>Session {html.escape(session.id)}</h1><p>User {who}, started "
            f"{utc_iso(session.created_wall)}, {len(session.events)} event(s)</p>"
            "<table><tr><th>name</th><th>time</th><th>properties</th></tr>"
            f"{rows}</table></body></html>"
        )
        return HTMLResponse(body)

    return Route(PAGE_PATH, page, methods=["GET"])
