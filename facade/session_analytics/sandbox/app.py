"""The sandbox as an ASGI application: transport rules around the routes, and the admin routes.

For every API request, in order: the connection's setup cost (``connect_latency_ms``), the rate
limiter (429 from a token bucket per key and endpoint), faults (latency and jitter, 500, 429), the
body (any Content-Type, chunked or not, at most ``max_body_bytes``), authentication (FullStory
only), an Idempotency-Key replay, the handler, remembering the answer for the key, then the
post-processing faults (dropped connection, malformed body). Admin routes under ``/_sandbox/``
skip faults, limits, delays and auth.

The app stays neutral about the server that runs it; a server that can report connections as they
open and close does so through ``SandboxState.connections`` (see ``connections.py``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from .._version import __version__
from . import idempotency, spec
from .config import KEY_LEVELS, SandboxConfig
from .connections import ConnectionMeter, peer_of
from .errors import ApiError, bad_request, server_error, too_many_requests, unauthorized
from .faults import FaultInjector, Faults, parse_faults
from .fullstory import Clock, FullStoryState
from .idempotency import IdempotencyStore
from .jobs import JobBoard
from .routes import ENDPOINTS, Call, Endpoint
from .smartlook import SmartlookState

logger = logging.getLogger("session_analytics.sandbox")

DROP_CONNECTION = "session_analytics.sandbox.drop"
REPLAY_HEADER = "X-Sandbox-Idempotent-Replay"
MALFORMED_BODY = b'{"id": "1234567'  # cut short: not JSON
LEVEL_RANK = {level: rank for rank, level in enumerate(KEY_LEVELS)}
REQUEST_LOG_SIZE = 1000
HIDDEN_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def error_response(err: ApiError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status, headers=err.headers)


class SandboxState:
    """Everything one sandbox knows; ``reset()`` forgets the data but keeps the projects, and
    brings back the settings and faults it started with."""

    def __init__(
        self, config: SandboxConfig, clock: Clock | None = None, faults: Faults | None = None
    ) -> None:
        self.initial_config = config
        self.config = config
        self.clock = clock or Clock(monotonic=time.monotonic, wall=time.time)
        self.initial_faults = faults or Faults()
        self.faults = FaultInjector(self.clock.monotonic)
        self.faults.configure(self.initial_faults)
        self.connections = ConnectionMeter(lambda: self.faults.faults.connect_latency_ms / 1000.0)
        self.smartlook = SmartlookState(self.clock, lambda: self.config)
        self._fresh()

    def _fresh(self) -> None:
        self.fullstory = FullStoryState(self.clock, lambda: self.config)
        self.jobs = JobBoard(self.clock, lambda: self.config, self.fullstory)
        self.idempotency = IdempotencyStore(self.clock.monotonic)
        self.requests: Counter[tuple[str, str]] = Counter()
        self.integration_sources: Counter[str] = Counter()
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)

    def reset(self) -> None:
        self.config = self.initial_config
        self.faults.configure(self.initial_faults)
        self.faults.injected.clear()
        self.faults.limiter.reset()
        self.connections.reset()
        self.smartlook.clear()
        self._fresh()

    def stats(self) -> dict[str, Any]:
        self.fullstory.sweep_deleted()
        by_route: dict[str, dict[str, int]] = {}
        for (route, status), count in sorted(self.requests.items()):
            by_route.setdefault(route, {})[status] = count
        return {
            "requests": by_route,
            "users": sum(1 for u in self.fullstory.users.values() if u.deleting_since is None),
            "events": {
                "fullstory": len(self.fullstory.events),
                "smartlook": len(self.smartlook.events),
            },
            "smartlook_batches": self.smartlook.batches,
            "jobs": self.jobs.summary(),
            "idempotency_keys": len(self.idempotency),
            "faults_injected": dict(self.faults.injected),
            "rate_limited": self.faults.limiter.limited,
            **self.connections.stats(),
            "integration_sources": dict(self.integration_sources),
        }


class SandboxApp:
    """Builds the Starlette app over a :class:`SandboxState`."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        routes = [
            Route(e.path, self._endpoint(e), methods=[e.method], name=e.name) for e in ENDPOINTS
        ]
        routes += [
            Route("/_sandbox/health", self.health, methods=["GET"]),
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
            Route("/_sandbox/faults", self.faults, methods=["GET", "POST"]),
            Route("/_sandbox/config", self.config, methods=["GET", "POST"]),
            Route("/_sandbox/events", self.events, methods=["GET"]),
            Route("/_sandbox/stats", self.stats, methods=["GET"]),
            Route("/_sandbox/requests", self.request_log, methods=["GET"]),
            Route("/_sandbox/sessions", self.sessions, methods=["POST"]),
        ]
        self.starlette = Starlette(
            routes=routes,
            exception_handlers={404: self._not_found, 405: self._not_allowed},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.starlette(scope, receive, send)
            return
        self.state.connections.request_from(peer_of(scope.get("client")))
        await self.starlette(scope, receive, _dropping(scope, send))

    # ---- the API pipeline -----------------------------------------------------------------------

    def _endpoint(self, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            try:
                response = await self._handle(request, endpoint)
            except Exception:
                logger.exception("sandbox bug while answering %s", endpoint.name)
                response = error_response(server_error())
            self._record(request, endpoint, response)
            return response

        return handle

    async def _handle(self, request: Request, endpoint: Endpoint) -> Response:
        state = self.state
        path = request.url.path
        setup = state.connections.wait_s(peer_of(request.scope.get("client")))
        if setup:
            await asyncio.sleep(setup)
        retry_after = state.faults.throttle(path, _bucket(request, endpoint))
        if retry_after is not None:
            delay = state.faults.latency_s(path)
            if delay:
                await asyncio.sleep(delay)
            return error_response(too_many_requests(retry_after))
        decision = state.faults.decide(path)
        if decision.latency_s:
            await asyncio.sleep(decision.latency_s)
        if decision.fate == "error":
            return error_response(server_error())
        if decision.fate == "rate_limit":
            wait = math.ceil(state.faults.faults.retry_after_s)
            return error_response(too_many_requests(wait))
        try:
            api_key = self._authenticate(request, endpoint)
            body = await self._read_body(request) if endpoint.has_body else None
            spec.check_parameters(
                endpoint.api,
                endpoint.method,
                endpoint.path.replace("/v2beta/", "/v2/"),
                request.query_params,
                request.headers,
            )
        except ApiError as err:
            return error_response(err)
        key = request.headers.get("idempotency-key") if endpoint.idempotent else None
        integration_source = request.headers.get("integration-source")
        scope: idempotency.Scope | None = None
        fingerprint = ""
        if key:
            scope = (api_key, endpoint.method, endpoint.path.replace("/v2beta/", "/v2/"), key)
            fingerprint = idempotency.fingerprint(body)
            try:
                kept = state.idempotency.replay(scope, fingerprint)
            except ApiError as err:
                return error_response(err)
            if kept is not None:
                headers = {**kept.headers, REPLAY_HEADER: "true"}
                return self._after(
                    request, decision.fate, Response(kept.body, kept.status, headers)
                )
        call = Call(
            fullstory=state.fullstory,
            jobs=state.jobs,
            smartlook=state.smartlook,
            path_params=request.path_params,
            query=request.query_params,
            body=body,
            netloc=request.url.netloc,
            idempotency_key=key,
            integration_source=integration_source,
        )
        try:
            state.jobs.advance()
            status, payload = endpoint.handler(call)
            response: Response = JSONResponse(payload, status_code=status)
        except ApiError as err:
            response = error_response(err)
        if scope is not None:
            state.idempotency.remember(
                scope,
                fingerprint,
                response.status_code,
                bytes(response.body),
                {"content-type": response.headers["content-type"]},
                state.config.idempotency_ttl_s,
            )
        return self._after(request, decision.fate, response)

    def _after(self, request: Request, fate: str, response: Response) -> Response:
        if fate == "reset":
            request.scope[DROP_CONNECTION] = True
        elif fate == "malformed" and 200 <= response.status_code < 300:
            return Response(MALFORMED_BODY, 200, media_type="application/json")
        return response

    async def _read_body(self, request: Request) -> Any:
        limit = self.state.config.max_body_bytes
        too_large = ApiError(
            413, "payload_too_large", f"the request body is larger than {limit} bytes"
        )
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            raise bad_request("the request body is empty; send a JSON object")
        try:
            return json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as err:
            raise bad_request(f"the request body is not valid JSON: {err}") from None

    def _authenticate(self, request: Request, endpoint: Endpoint) -> str:
        if endpoint.api != "fullstory":
            return ""
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "basic" or not key:
            raise unauthorized()
        keys = self.state.config.api_keys
        if keys is None:
            return key
        level = None
        given = key.encode("utf-8")
        for known, known_level in keys.items():  # compare against every key, in constant time
            if hmac.compare_digest(known.encode("utf-8"), given):
                level = known_level
        if level is None:
            raise unauthorized()
        if LEVEL_RANK[level] < LEVEL_RANK[endpoint.level]:
            raise ApiError(403, "forbidden", "insufficient permissions")
        return key

    def _record(self, request: Request, endpoint: Endpoint, response: Response) -> None:
        state = self.state
        dropped = bool(request.scope.get(DROP_CONNECTION))
        status = "dropped" if dropped else str(response.status_code)
        state.requests[(endpoint.name, status)] += 1
        source = request.headers.get("integration-source")
        if source:
            state.integration_sources[source] += 1
        state.request_log.append(
            {
                "route": endpoint.name,
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "http_version": request.scope.get("http_version", "1.1"),
                "status": status,
                "headers": {
                    k: v for k, v in request.headers.items() if k.lower() not in HIDDEN_HEADERS
                },
            }
        )

    # ---- errors for unknown routes -------------------------------------------------------------

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return JSONResponse(
            {"code": "resource_not_found", "message": "Requested resource does not exist"}, 404
        )

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        # Several routes share a path (one per method); name every method served there.
        allowed = sorted(
            {
                method
                for route in self.starlette.routes
                if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE
                for method in route.methods or ()
            }
        )
        return JSONResponse(
            {"code": "method_not_allowed", "message": f"{request.method} is not allowed here"},
            405,
            headers={"Allow": ", ".join(allowed)},
        )

    # ---- admin routes ---------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return JSONResponse({"status": "reset"})

    async def faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.state.faults.configure(parse_faults(await self._admin_body(request)))
            except ApiError as err:
                return error_response(err)
        return JSONResponse(self.state.faults.faults.to_json())

    async def config(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                changes = await self._admin_body(request)
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
            body = await self._admin_body(request)
            if not isinstance(body, Mapping):
                raise bad_request('send {"uid": ...} or {"user_id": ...}')
            form = body.get("format", "numeric")
            if form not in ("numeric", "uuid"):
                raise bad_request("format must be numeric or uuid")
            session = self.state.fullstory.new_session(
                user_id=body.get("user_id"), uid=body.get("uid"), form=form
            )
        except ApiError as err:
            return error_response(err)
        return JSONResponse({"id": session.id, "user_id": session.user_id})

    async def _admin_body(self, request: Request) -> Any:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError as err:
            raise bad_request(f"the request body is not valid JSON: {err}") from None


def _bucket(request: Request, endpoint: Endpoint) -> tuple[str, str]:
    """The rate limiter's bucket of a request: its key and its endpoint (method and route; the
    /v2beta alias shares the /v2 buckets). The key is the Authorization value for FullStory and
    the project (``pid``) for Smartlook, which sends no credentials in headers."""
    if endpoint.api == "fullstory":
        key = request.headers.get("authorization", "")
    else:
        key = request.query_params.get("pid", "")
    return key, endpoint.name.replace("/v2beta/", "/v2/")


def _dropping(scope: Scope, send: Send) -> Send:
    """Wrap uvicorn's ``send`` so that a request marked for a dropped connection gets no answer."""

    async def guarded(message: MutableMapping[str, Any]) -> None:
        if not scope.get(DROP_CONNECTION):
            await send(message)
            return
        if message["type"] != "http.response.start":
            return
        cycle = _server_cycle(send)
        transport = getattr(cycle, "transport", None)
        if transport is None:
            raise ConnectionResetError("sandbox fault: the connection was dropped")
        transport.abort()
        for _ in range(10):  # let the server notice, so it does not try to answer 500 instead
            if getattr(cycle, "disconnected", True):
                break
            await asyncio.sleep(0)

    return guarded


def _server_cycle(send: Any, depth: int = 3) -> Any:
    """uvicorn's request/response cycle behind ``send``: its bound method, or one that a
    wrapper (uvicorn's trace-level message logger) closes over."""
    owner = getattr(send, "__self__", None)
    if owner is not None and hasattr(owner, "transport"):
        return owner
    if depth == 0:
        return None
    for cell in getattr(send, "__closure__", None) or ():
        try:
            inner = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if callable(inner):
            found = _server_cycle(inner, depth - 1)
            if found is not None:
                return found
    return None


def build_app(config: SandboxConfig | None = None, faults: Faults | None = None) -> SandboxApp:
    """The sandbox as an ASGI app, for any ASGI server or ``httpx.ASGITransport``; ``faults``
    apply from the start and come back at every reset."""
    return SandboxApp(SandboxState(config or SandboxConfig(), faults=faults))
