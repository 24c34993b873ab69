"""The API pipeline: what every request to an emulated API goes through, in order.

The connection's setup cost (``connect_latency_ms``), the rate limiter (429 from a token bucket
per key and endpoint), faults (latency and jitter, 500, 429), the body (any Content-Type, chunked
or not, at most ``max_body_bytes``), authentication (FullStory only), an Idempotency-Key replay,
the handler, remembering the answer for the key, then the post-processing faults (dropped
connection, malformed body); every answer is counted and logged.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import idempotency, spec
from .config import KEY_LEVELS
from .connection_drop import is_dropped, mark_dropped
from .connections import peer_of
from .errors import (
    ApiError,
    bad_request,
    error_response,
    server_error,
    too_many_requests,
    unauthorized,
)
from .routes import Endpoint, RouteCall
from .state import SandboxState

logger = logging.getLogger("session_analytics.sandbox")

REPLAY_HEADER = "X-Sandbox-Idempotent-Replay"
MALFORMED_BODY = b'{"id": "1234567'  # cut short: not JSON
LEVEL_RANK = {level: rank for rank, level in enumerate(KEY_LEVELS)}
HIDDEN_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def _refuse_nan_and_infinity(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _holds_lone_surrogate(value: Any) -> bool:
    """Whether a string (or a key) in parsed JSON kept a surrogate that no pair completed: it
    cannot be written back as UTF-8, and the SDK refuses such text at the call site too."""
    if isinstance(value, str):
        return LONE_SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_holds_lone_surrogate(k) or _holds_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_lone_surrogate(item) for item in value)
    return False


class ApiPipeline:
    """Answers the API routes of a :class:`SandboxState`: one handler per endpoint."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def handler_for(self, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            try:
                response = await self._answer(request, endpoint)
            except Exception:
                logger.exception("sandbox bug while answering %s", endpoint.name)
                response = error_response(server_error())
            self._count_request(request, endpoint, response)
            return response

        return handle

    async def _answer(self, request: Request, endpoint: Endpoint) -> Response:
        state = self.state
        path = request.url.path
        setup = state.connections.wait_s(peer_of(request.scope.get("client")))
        if setup:
            await asyncio.sleep(setup)
        retry_after = state.faults.throttle(path, _rate_limit_bucket(request, endpoint))
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
                return self._apply_answer_faults(
                    request, decision.fate, Response(kept.body, kept.status, headers)
                )
        call = RouteCall(
            fullstory=state.fullstory,
            jobs=state.jobs,
            smartlook=state.smartlook,
            path_params=request.path_params,
            query=request.query_params,
            body=body,
            netloc=request.url.netloc,
            idempotency_key=key,
            integration_source=integration_source,
            streams=state.streams,
            profiles=state.profiles,
            annotations=state.annotations,
            config=state.config,
            clock=state.clock,
            base_url=f"{request.url.scheme}://{request.url.netloc}",
        )
        try:
            state.jobs.advance()
            state.streams.advance()
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
        return self._apply_answer_faults(request, decision.fate, response)

    def _apply_answer_faults(self, request: Request, fate: str, response: Response) -> Response:
        if fate == "reset":
            mark_dropped(request.scope)
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
            body = json.loads(raw, parse_constant=_refuse_nan_and_infinity)
        except (ValueError, UnicodeDecodeError) as err:
            raise bad_request(f"the request body is not valid JSON: {err}") from None
        if ESCAPED_SURROGATE.search(raw) and _holds_lone_surrogate(body):
            raise bad_request(
                "the request body is not valid JSON text: a string holds a lone surrogate "
                "(an escape from \\ud800 to \\udfff that is not half of a pair)"
            )
        return body

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

    def _count_request(self, request: Request, endpoint: Endpoint, response: Response) -> None:
        state = self.state
        dropped = is_dropped(request.scope)
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


def _rate_limit_bucket(request: Request, endpoint: Endpoint) -> tuple[str, str]:
    """The rate limiter's bucket of a request: its key and its endpoint (method and route; the
    /v2beta alias shares the /v2 buckets). The key is the Authorization value for FullStory and
    the project (``pid``) for Smartlook, which sends no credentials in headers."""
    if endpoint.api == "fullstory":
        key = request.headers.get("authorization", "")
    else:
        key = request.query_params.get("pid", "")
    return key, endpoint.name.replace("/v2beta/", "/v2/")
