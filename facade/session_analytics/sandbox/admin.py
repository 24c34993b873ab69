"""The admin routes under ``/_sandbox/`` (health, reset, faults, config, events, stats, request
log, sessions, annotations): for tests and people, never subject to faults, limits, delays or
auth."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._version import __version__
from .errors import ApiError, bad_request, error_response
from .faults import parse_faults
from .state import SandboxState


class AdminRoutes:
    """The admin routes over a :class:`SandboxState`."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox/health", self.health, methods=["GET"]),
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
            Route("/_sandbox/faults", self.faults, methods=["GET", "POST"]),
            Route("/_sandbox/config", self.config, methods=["GET", "POST"]),
            Route("/_sandbox/events", self.events, methods=["GET"]),
            Route("/_sandbox/stats", self.stats, methods=["GET"]),
            Route("/_sandbox/requests", self.request_log, methods=["GET"]),
            Route("/_sandbox/sessions", self.sessions, methods=["POST"]),
            Route("/_sandbox/annotations", self.annotations, methods=["GET"]),
        ]

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return JSONResponse({"status": "reset"})

    async def faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.state.faults.configure(parse_faults(await self._json_body(request)))
            except ApiError as err:
                return error_response(err)
        return JSONResponse(self.state.faults.faults.to_json())

    async def config(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                changes = await self._json_body(request)
                if not isinstance(changes, Mapping):
                    raise bad_request("config changes must be a JSON object")
                self.state.config = self.state.config.updated(changes)
            except ApiError as err:
                return error_response(err)
        return JSONResponse(self.state.config.public())

    async def events(self, request: Request) -> Response:
        state = self.state
        state.jobs.advance()
        api = request.query_params.get("api")
        if api not in (None, "fullstory", "smartlook"):
            return error_response(bad_request("api must be fullstory or smartlook"))
        chosen: list[dict[str, Any]] = []
        if api in (None, "fullstory"):
            chosen += state.fullstory.events
        if api in (None, "smartlook"):
            chosen += state.smartlook.events
        name = request.query_params.get("name")
        if name:
            chosen = [e for e in chosen if e["name"] == name]
        try:
            offset = int(request.query_params.get("offset", 0))
            limit = int(request.query_params.get("limit", len(chosen)))
            if offset < 0 or limit < 0:
                raise ValueError
        except ValueError:
            return error_response(bad_request("offset and limit must be integers >= 0"))
        return JSONResponse({"total": len(chosen), "events": chosen[offset : offset + limit]})

    async def stats(self, request: Request) -> Response:
        return JSONResponse(self.state.stats())

    async def request_log(self, request: Request) -> Response:
        return JSONResponse({"requests": list(self.state.request_log)})

    async def sessions(self, request: Request) -> Response:
        try:
            body = await self._json_body(request)
            if not isinstance(body, Mapping):
                raise bad_request('send {"uid": ...} or {"user_id": ...}')
            form = body.get("format", "numeric")
            if form not in ("numeric", "uuid"):
                raise bad_request("format must be numeric or uuid")
            session_uid = body.get("session_uid")
            if session_uid is not None and not isinstance(session_uid, str):
                raise bad_request("session_uid must be a string")
            session = self.state.fullstory.new_session(
                user_id=body.get("user_id"), uid=body.get("uid"), form=form, session_uid=session_uid
            )
        except ApiError as err:
            return error_response(err)
        return JSONResponse({"id": session.id, "user_id": session.user_id})

    async def annotations(self, request: Request) -> Response:
        return JSONResponse({"annotations": list(self.state.annotations.annotations)})

    async def _json_body(self, request: Request) -> Any:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError as err:
            raise bad_request(f"the request body is not valid JSON: {err}") from None
