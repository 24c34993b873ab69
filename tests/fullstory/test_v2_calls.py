"""The new operations on the wire, over a scripted HTTP server, sync and async: what goes out
(the session id percent-encoded, GET or POST summaries, idempotency keys), which failures are
retried ("creates carry keys; reads retry"; creates without a key are not resent once they may
have been processed), and how a queued user create is waited for. Nothing sleeps or opens a
socket."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from scripted_http import Harness, failure, reply, resolve

from session_analytics.errors import (
    FSConnectionError,
    FSError,
    FSNotFoundError,
    FSServerError,
    FSTimeoutError,
)
from session_analytics.fullstory import AsyncQueuedUserCreate, QueuedUserCreate
from session_analytics.fullstory._auth import takes_idempotency_key

SESSION = "406214335320288249:3829143070270885557"
ENCODED = "406214335320288249%3A3829143070270885557"
ERROR_BODY = {"code": "unavailable", "message": "try again"}
ANNOTATION = {
    "text": "Deploy",
    "start_time": "2026-05-01T12:00:00Z",
    "end_time": "2026-05-01T12:00:00Z",
    "source": "",
}
PROFILE_ID = {"id": "p1"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ---- what goes out ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_session_ids_go_out_percent_encoded(make: Callable[..., Harness]) -> None:
    h = make(
        reply(200, {"events": [{"event_type": "custom"}]}),
        reply(200, {"context_data": {}}),
        reply(200, {"summary": "s"}),
    )
    events = await resolve(h.fs.sessions.events(SESSION))
    assert events.events[0].event_type == "custom"
    await resolve(h.fs.sessions.context(SESSION, slice={"mode": "LAST"}))
    await resolve(h.fs.sessions.summary(SESSION))
    paths = [seen.url.raw_path.decode() for seen in h.server.seen]
    assert paths == [
        f"/v2/sessions/{ENCODED}/events",
        f"/v2/sessions/{ENCODED}/context",
        f"/v2/sessions/{ENCODED}/summary",
    ]


@pytest.mark.anyio
async def test_sessions_list_sends_only_the_lookups_given(make: Callable[..., Harness]) -> None:
    h = make(reply(200, {"results": []}), reply(200, {"results": [{"id": SESSION}]}))
    await resolve(h.fs.sessions.list(uid="u1", email="a@b.c", limit=5))
    page = await resolve(h.fs.sessions.list(session_uid="s-1"))
    assert page.results[0].id == SESSION
    assert dict(h.server.seen[0].url.params) == {"uid": "u1", "email": "a@b.c", "limit": "5"}
    assert dict(h.server.seen[1].url.params) == {"session_uid": "s-1"}


@pytest.mark.anyio
async def test_a_summary_is_a_get_until_something_is_overridden(
    make: Callable[..., Harness],
) -> None:
    h = make(reply(200, {"summary": "plain"}), reply(200, {"summary": "custom"}))
    plain = await resolve(
        h.fs.sessions.summary(SESSION, profile_id="p1", end_timestamp="2026-05-01T12:00:00+02:00")
    )
    custom = await resolve(
        h.fs.sessions.summary(
            SESSION,
            profile_id="p1",
            end_timestamp=datetime(2026, 5, 1, 12, tzinfo=timezone.utc),
            llm={"pre_prompt": "Be brief", "response_schema": {"type": "STRING"}},
        )
    )
    assert (plain.summary, custom.summary) == ("plain", "custom")
    get, post = h.server.seen
    assert get.method == "GET"
    assert dict(get.url.params) == {
        "config_profile": "p1",
        "end_timestamp": "2026-05-01T12:00:00+02:00",
    }
    assert post.method == "POST"
    assert h.server.returned  # both answered
    assert json.loads(h.server.returned[1].request.read()) == {
        "config_profile": "p1",
        "slice": {"end_timestamp": "2026-05-01T12:00:00.000Z"},
        "llm": {"pre_prompt": "Be brief", "response_schema": {"type": "STRING"}},
    }


@pytest.mark.anyio
async def test_the_detailed_twins_carry_the_envelope(make: Callable[..., Harness]) -> None:
    h = make(
        reply(200, {"server_event_quota": {"usage": "5", "limit": "10"}}, headers={"X-Req": "1"})
    )
    answer = await resolve(h.fs.organization.quotas_detailed())
    assert answer.http_status_code == 200
    assert answer.http_headers["x-req"] == "1"
    assert answer.body.server_event_quota.usage == "5"


# ---- creates without a key: retried only when certainly not processed ---------------------------


def _annotate(fs: Any) -> Any:
    return fs.annotations.create("Deploy")


def _create_profile(fs: Any) -> Any:
    return fs.summary_profiles.create({"name": "Short"})


KEYLESS_CREATES = [
    pytest.param(_annotate, ANNOTATION, id="annotation"),
    pytest.param(_create_profile, PROFILE_ID, id="summary-profile"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("create", "body"), KEYLESS_CREATES)
@pytest.mark.parametrize(
    "not_processed",
    [
        pytest.param(lambda: reply(503, ERROR_BODY), id="503"),
        pytest.param(lambda: reply(429, ERROR_BODY, headers={"Retry-After": "0"}), id="429"),
        pytest.param(lambda: reply(500, ERROR_BODY), id="500"),
        pytest.param(lambda: httpx.ConnectError("refused"), id="refused"),
    ],
)
async def test_keyless_creates_retry_what_certainly_was_not_processed(
    create: Callable[[Any], Any],
    body: dict[str, Any],
    not_processed: Callable[[], Any],
    make: Callable[..., Harness],
) -> None:
    h = make(not_processed(), reply(200, body))
    await resolve(create(h.fs))
    assert len(h.server.seen) == 2
    assert h.server.header("Idempotency-Key") == [None, None]  # the API takes none


@pytest.mark.anyio
@pytest.mark.parametrize(("create", "body"), KEYLESS_CREATES)
@pytest.mark.parametrize(
    ("maybe_processed", "error"),
    [
        pytest.param(lambda: reply(502, ERROR_BODY), FSServerError, id="502"),
        pytest.param(lambda: reply(504, ERROR_BODY), FSServerError, id="504"),
        pytest.param(lambda: httpx.ReadTimeout("slow"), FSTimeoutError, id="read-timeout"),
        pytest.param(lambda: httpx.RemoteProtocolError("dropped"), FSConnectionError, id="dropped"),
    ],
)
async def test_keyless_creates_stop_once_they_may_have_been_processed(
    create: Callable[[Any], Any],
    body: dict[str, Any],
    maybe_processed: Callable[[], Any],
    error: type[FSError],
    make: Callable[..., Harness],
) -> None:
    h = make(maybe_processed(), reply(200, body))  # a retry would be answered: it must not go
    stopped = await failure(error, lambda: create(h.fs))
    assert stopped.maybe_processed is True
    assert stopped.retries_taken == 0
    assert len(h.server.seen) == 1


@pytest.mark.anyio
async def test_a_keyless_create_stops_at_the_first_maybe_after_retries(
    make: Callable[..., Harness],
) -> None:
    h = make(reply(503, ERROR_BODY), reply(502, ERROR_BODY), reply(200, ANNOTATION))
    stopped = await failure(FSServerError, lambda: h.fs.annotations.create("Deploy"))
    assert stopped.maybe_processed is True
    assert stopped.retries_taken == 1
    assert stopped.http_status_code == 502
    assert len(h.server.seen) == 2


@pytest.mark.anyio
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda fs: fs.summary_profiles.update("p1", {"name": "N"}), id="update"),
        pytest.param(lambda fs: fs.summary_profiles.delete("p1"), id="delete"),
        pytest.param(lambda fs: fs.summary_profiles.get("p1"), id="get"),
        pytest.param(lambda fs: fs.sessions.context(SESSION), id="context"),
        pytest.param(lambda fs: fs.sessions.summary(SESSION, llm={"pre_prompt": "x"}), id="post"),
        pytest.param(lambda fs: fs.organization.quotas(), id="quotas"),
    ],
)
async def test_updates_deletes_and_reads_retry_a_maybe_processed_failure(
    call: Callable[[Any], Any], make: Callable[..., Harness]
) -> None:
    h = make(reply(502, ERROR_BODY), httpx.ReadTimeout("slow"), reply(200, PROFILE_ID))
    answer = await resolve(call(h.fs))
    assert answer is not None
    assert len(h.server.seen) == 3


# ---- queued user creates -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_retried_queued_create_sends_one_key(make: Callable[..., Harness]) -> None:
    h = make(reply(503, ERROR_BODY), reply(502, ERROR_BODY), reply(200, {"request_id": "r1"}))
    created = await resolve(h.fs.users.create_queued_detailed({"uid": "u1"}))
    keys = h.server.header("Idempotency-Key")
    assert keys[0] is not None
    assert keys == [keys[0]] * 3
    assert created.idempotency_key == keys[0]
    assert created.retries_taken == 2
    queued = created.body
    assert isinstance(queued, QueuedUserCreate | AsyncQueuedUserCreate)
    assert (queued.request_id, queued.idempotency_key) == ("r1", keys[0])
    assert h.server.seen[0].url.path == "/v2/users/stream"


@pytest.mark.anyio
async def test_a_queued_create_takes_the_callers_key(make: Callable[..., Harness]) -> None:
    h = make(reply(200, {"request_id": "r1"}))
    await resolve(h.fs.users.create_queued({"uid": "u1"}, idempotency_key="deploy-42-user-u1"))
    assert h.server.header("Idempotency-Key") == ["deploy-42-user-u1"]


PENDING = {"id": ""}


@pytest.mark.anyio
async def test_wait_polls_with_a_growing_interval_until_the_user_is_named(
    make: Callable[..., Harness],
) -> None:
    h = make(
        reply(200, {"request_id": "r1"}),
        *[reply(200, PENDING) for _ in range(6)],
        reply(200, {"id": "fs-9"}),
    )
    queued = await resolve(h.fs.users.create_queued({"uid": "u1"}))
    assert await resolve(queued.wait(timeout=None)) == "fs-9"
    assert h.sleeps == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert queued.user_id == "fs-9"
    assert await resolve(queued.poll()) == "fs-9"  # known: not asked again
    assert len(h.server.seen) == 8
    assert {seen.url.path for seen in h.server.seen[1:]} == {"/v2/users/stream/r1"}


@pytest.mark.anyio
async def test_wait_with_a_poll_interval_and_a_resumed_create(
    make: Callable[..., Harness],
) -> None:
    h = make(reply(200, PENDING), reply(200, PENDING), reply(200, {"id": "fs-3"}))
    queued = h.fs.users.queued("r7")
    assert queued.request_id == "r7"
    assert await resolve(queued.poll()) is None
    assert await resolve(queued.wait(poll_interval=1.5)) == "fs-3"
    assert h.sleeps == [1.5]


@pytest.mark.anyio
async def test_wait_stops_at_its_timeout_with_a_typed_error(make: Callable[..., Harness]) -> None:
    h = make(reply(200, PENDING))
    queued = h.fs.users.queued("r7")
    stopped = await failure(FSTimeoutError, lambda: queued.wait(timeout=0))
    assert "r7" in stopped.message
    assert "wait() again" in stopped.message
    assert h.sleeps == []
    assert len(h.server.seen) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timeout": -1}, "timeout"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"timeout": "5"}, "timeout"),
    ],
)
async def test_wait_checks_its_settings_first(
    kwargs: dict[str, Any], field: str, make: Callable[..., Harness]
) -> None:
    h = make()
    queued = h.fs.users.queued("r7")
    refused = await failure(FSError, lambda: queued.wait(**kwargs))
    assert getattr(refused, "field", None) == field
    assert h.server.seen == []


@pytest.mark.anyio
async def test_an_unknown_request_id_is_not_found(make: Callable[..., Harness]) -> None:
    h = make(reply(404, {"code": "not_found", "message": "no such request"}))
    await failure(FSNotFoundError, lambda: h.fs.users.queued_status("nope"))


@pytest.mark.parametrize(
    ("method", "path", "keyed"),
    [
        ("POST", "/v2/users/stream", True),
        ("POST", "/v2beta/users/stream", True),
        ("POST", "/v2/users", True),
        ("POST", "/v2/events/batch", True),
        ("GET", "/v2/users/stream/r1", False),
        ("POST", "/v2/annotations", False),
        ("POST", "/v2/visit_profile", False),
        ("POST", "/v2/visit_profile/p1", False),
        ("POST", f"/v2/sessions/{ENCODED}/context", False),
        ("POST", f"/v2/sessions/{ENCODED}/summary", False),
    ],
)
def test_which_requests_carry_an_idempotency_key(method: str, path: str, keyed: bool) -> None:
    request = httpx.Request(method, f"https://api.example.test{path}")
    assert takes_idempotency_key(request) is keyed
