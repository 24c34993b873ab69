"""FullStory users and events through FullStory and AsyncFullStory, against the real sandbox over
loopback HTTP: the calls, the generated layer under ``fs.raw``, a caller's own httpx client, every
error produced from its real condition, secrecy of the API key, and idempotent retries under
injected faults.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from fullstory_api.api.users import create_user, get_user
from fullstory_api.models import (
    CreateEventResponse,
    CreateUserRequest,
    CreateUserResponse,
    DeleteUserResponse,
    GetUserResponse,
    ListUsersResponse,
    Properties,
    UpdateUserResponse,
)
from fullstory_api.types import UNSET
from session_analytics.errors import (
    FSBadRequestError,
    FSConnectionError,
    FSError,
    FSErrorName,
    FSForbiddenError,
    FSIdempotencyKeyReusedError,
    FSInvalidArgumentError,
    FSMaxRetryError,
    FSNotFoundError,
    FSParseError,
    FSRateLimitedError,
    FSServerError,
    FSTimeoutError,
    FSUnauthorizedError,
    is_fs_error,
)
from session_analytics.sandbox import Sandbox

# Keys of the keyed sandbox; every one holds LEAK_MARK, which must never show up anywhere.
LEAK_MARK = "DO-NOT-LEAK"
SECRET = "sk-live-DO-NOT-LEAK-42"  # admin
STANDARD_KEY = "sk-std-DO-NOT-LEAK-43"  # standard: no reads
UNKNOWN_KEY = "sk-live-DO-NOT-LEAK-44"  # not a key of the sandbox
LOGGERS = ("session_analytics", "httpx", "httpcore")
UNKNOWN_ID = "123456789"
IDEMPOTENCY_SEED = 20240601
BULK = 1_000


# ---- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[Sandbox]:
    """A sandbox that only accepts its own keys (key levels are fixed when it starts)."""
    with Sandbox(api_key={SECRET: "admin", STANDARD_KEY: "standard"}) as server:
        yield server


@pytest.fixture
def keyed(keyed_server: Sandbox) -> Sandbox:
    keyed_server.reset()
    return keyed_server


def total_requests(sandbox: Sandbox) -> int:
    """API requests the sandbox answered (or dropped) since its last reset."""
    return sum(sum(by_status.values()) for by_status in sandbox.stats()["requests"].values())


def settled_requests(sandbox: Sandbox, expected: int, deadline_s: float = 5.0) -> int:
    """The request count once ``expected`` is reached or the deadline passes. A request the
    client gave up on (timeout) is only counted when the sandbox has finished it; waiting for
    that also keeps it from landing in the next test."""
    end = time.monotonic() + deadline_s
    count = total_requests(sandbox)
    while count < expected and time.monotonic() < end:
        time.sleep(0.01)
        count = total_requests(sandbox)
    return count


def logged(sandbox: Sandbox, route: str) -> list[dict[str, Any]]:
    """The logged requests of one route ("POST /v2/users"), oldest first."""
    return [r for r in sandbox.requests() if r["route"] == route]


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def is_uuid4(value: Any) -> bool:
    return isinstance(value, str) and uuid.UUID(value).version == 4


def close(fs: Any, flavor: str) -> None:
    if flavor == "sync":
        fs.close()
    else:
        fs.aclose()


def call_raw(flavor: str, loop_thread: Any, operation: Any, **kwargs: Any) -> Any:
    """A generated operation through ``fs.raw``: sync_detailed, or asyncio_detailed on the loop
    the AsyncFullStory lives on."""
    if flavor == "sync":
        return operation.sync_detailed(**kwargs)
    return loop_thread.run(lambda: operation.asyncio_detailed(**kwargs))


def error_chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__
    last = getattr(error, "last_error", None)
    if last is not None and last not in chain:
        chain.append(last)
    return chain


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert LEAK_MARK not in text, text


# ---- users ------------------------------------------------------------------------------------


def test_create_from_dict_and_model_then_upsert_by_uid(fs: Any, sandbox: Sandbox) -> None:
    ann = fs.users.create(
        {"uid": "ann", "display_name": "Ann", "email": "ann@example.com", "properties": {"a": 1}}
    )
    bob = fs.users.create(
        CreateUserRequest(uid="bob", display_name="Bob", properties=Properties.from_dict({"b": 2}))
    )
    assert isinstance(ann, CreateUserResponse)
    assert isinstance(bob, CreateUserResponse)
    assert ann.id
    assert bob.id
    assert ann.id != bob.id

    again = fs.users.create({"uid": "ann", "display_name": "Ann B."})
    assert again.id == ann.id
    assert sandbox.stats()["users"] == 2
    stored = fs.users.get(ann.id)
    assert (stored.uid, stored.display_name, stored.email) == ("ann", "Ann B.", "ann@example.com")
    assert stored.properties.to_dict() == {"a": 1}
    model_made = fs.users.get(bob.id)
    assert (model_made.uid, model_made.display_name) == ("bob", "Bob")
    assert model_made.properties.to_dict() == {"b": 2}


def test_get_with_and_without_schema(fs: Any) -> None:
    user = fs.users.create(
        {
            "uid": "ann",
            "properties": {"plan": "pro", "seats": 3, "beta": True, "tags": ["x", "y"]},
            "schema": {"properties": {"seats": "int"}},
        }
    )
    plain = fs.users.get(user.id)
    assert isinstance(plain, GetUserResponse)
    assert plain.id == user.id
    assert plain.is_being_deleted is False
    assert plain.schema is UNSET  # left out unless asked for
    assert plain.type_conflicts is UNSET

    typed = fs.users.get(user.id, include_schema=True)
    assert typed.schema.properties.to_dict() == {
        "beta": "bool",
        "plan": "str",
        "seats": "int",
        "tags": "strs",
    }


def test_list_with_every_filter_and_page_token(fs: Any, sandbox: Sandbox) -> None:
    ann = fs.users.create({"uid": "ann", "email": "ann@example.com", "display_name": "Ann"})
    bob = fs.users.create({"uid": "bob", "email": "bob@example.com", "display_name": "Bob"})
    anon = fs.users.create({"email": "anon@example.com", "display_name": "Ann"})

    def ids(**filters: Any) -> set[str]:
        page = fs.users.list(**filters)
        assert isinstance(page, ListUsersResponse)
        assert page.total_records == str(len(page.results))
        return {u.id for u in page.results}

    assert ids(uid="ann") == {ann.id}
    assert ids(email="bob@example.com") == {bob.id}
    assert ids(display_name="Ann") == {ann.id, anon.id}
    assert ids(is_identified=True) == {ann.id, bob.id}
    assert ids(is_identified=False) == {anon.id}
    assert ids(display_name="Ann", is_identified=True) == {ann.id}
    assert ids(uid="nobody") == set()

    sandbox.configure(list_page_size=2)
    first = fs.users.list()
    assert len(first.results) == 2
    assert first.total_records == "3"
    assert isinstance(first.next_page_token, str)
    assert first.next_page_token
    second = fs.users.list(page_token=first.next_page_token)
    assert len(second.results) == 1
    assert second.next_page_token is UNSET
    assert {u.id for u in [*first.results, *second.results]} == {ann.id, bob.id, anon.id}


def test_iter_walks_every_page(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(list_page_size=2)
    created = [fs.users.create({"uid": f"u{i}"}).id for i in range(5)]

    walked = [user.id for user in fs.users.iter()]

    assert sorted(walked) == sorted(created)  # each user once, none missing
    assert sandbox.stats()["requests"]["GET /v2/users"] == {"200": 3}
    assert [u.uid for u in fs.users.iter(uid="u3")] == ["u3"]


def test_update_merges_properties(fs: Any) -> None:
    user = fs.users.create(
        {"uid": "ann", "properties": {"plan": "free", "address": {"city": "Oslo", "zip": "0150"}}}
    )
    updated = fs.users.update(
        user.id,
        {"display_name": "Ann", "properties": {"plan": "pro", "address": {"city": "Bergen"}}},
    )
    assert isinstance(updated, UpdateUserResponse)
    assert updated.id == user.id
    stored = fs.users.get(user.id)
    assert (stored.uid, stored.display_name) == ("ann", "Ann")
    assert stored.properties.to_dict() == {
        "plan": "pro",
        "address": {"city": "Bergen", "zip": "0150"},
    }


def test_delete_by_id_and_by_uid(fs: Any, sandbox: Sandbox) -> None:
    ann = fs.users.create({"uid": "ann"})
    bob = fs.users.create({"uid": "bob"})
    keep = fs.users.create({"uid": "keep"})

    assert isinstance(fs.users.delete(ann.id), DeleteUserResponse)
    assert isinstance(fs.users.delete(uid="bob"), DeleteUserResponse)

    assert fs.users.get(ann.id).is_being_deleted is True
    assert fs.users.get(bob.id).is_being_deleted is True
    assert fs.users.get(keep.id).is_being_deleted is False
    assert sandbox.stats()["users"] == 1
    requests = sandbox.stats()["requests"]
    assert requests["DELETE /v2/users/{id}"] == {"200": 1}
    assert requests["DELETE /v2/users"] == {"200": 1}
    assert [r["query"] for r in logged(sandbox, "DELETE /v2/users")] == ["uid=bob"]


def test_detailed_variants_carry_the_http_envelope(fs: Any, sandbox: Sandbox) -> None:
    created = fs.users.create_detailed({"uid": "ann"})
    user_id = created.body.id
    others = [
        fs.users.get_detailed(user_id, include_schema=True),
        fs.users.list_detailed(uid="ann"),
        fs.users.update_detailed(user_id, {"display_name": "Ann"}),
        fs.users.delete_detailed(user_id),
    ]
    for response in [created, *others]:
        assert response.http_status_code == 200
        assert isinstance(response.http_headers, httpx.Headers)
        assert response.http_headers["content-type"] == "application/json"
        assert response.retries_taken == 0
    assert [r.idempotency_key for r in others] == [None] * 4
    assert [type(r.body) for r in others] == [
        GetUserResponse,
        ListUsersResponse,
        UpdateUserResponse,
        DeleteUserResponse,
    ]
    # The automatic key of the create is the one the sandbox received.
    assert is_uuid4(created.idempotency_key)
    sent = logged(sandbox, "POST /v2/users")
    assert [r["headers"]["idempotency-key"] for r in sent] == [created.idempotency_key]

    event = fs.events.create_detailed({"name": "Signed Up", "user": {"uid": "bob"}})
    assert isinstance(event.body, CreateEventResponse)
    assert (event.http_status_code, event.retries_taken) == (200, 0)
    assert is_uuid4(event.idempotency_key)
    assert event.idempotency_key != created.idempotency_key
    assert [e["idempotency_key"] for e in sandbox.events("fullstory")] == [event.idempotency_key]


# ---- events -----------------------------------------------------------------------------------


def test_event_is_stored_with_user_properties_context_and_timestamp(
    fs: Any, sandbox: Sandbox
) -> None:
    when = datetime(2024, 2, 1, 12, 30, 15, 250_000, tzinfo=timezone(timedelta(hours=2)))
    context = {
        "browser": {"url": "https://shop.example/checkout", "user_agent": "Mozilla/5.0"},
        "location": {"country": "NO", "city": "Oslo"},
    }
    answer = fs.events.create(
        {
            "name": "Order Completed",
            "user": {"uid": "ann"},
            "properties": {"total": 42.5, "items": ["a", "b"], "coupon": {"code": "X1"}},
            "context": context,
            "timestamp": when,
        }
    )

    assert isinstance(answer, CreateEventResponse)
    [event] = sandbox.events("fullstory")
    assert event["name"] == "Order Completed"
    # An ISO 8601 string of the same instant, in UTC (the SDK's "...15.250Z" is re-serialised by
    # the generated model as "...15.250000+00:00"; both are valid).
    assert isinstance(event["timestamp"], str)
    stored_at = datetime.fromisoformat(event["timestamp"])
    assert stored_at == when
    assert stored_at.utcoffset() == timedelta(0)
    assert event["user"]["uid"] == "ann"
    assert event["properties"] == {"total": 42.5, "items": ["a", "b"], "coupon": {"code": "X1"}}
    assert event["context"] == context
    assert event["via"] == "api"
    assert is_uuid4(event["idempotency_key"])
    # An unknown uid creates that user, and the event is attached to it.
    [user] = fs.users.list(uid="ann").results
    assert event["user"]["id"] == user.id


def test_caller_idempotency_key_is_used_as_is(fs: Any, sandbox: Sandbox) -> None:
    event = {"name": "Paid", "user": {"uid": "ann"}, "properties": {"order": 1001}}

    first = fs.events.create_detailed(event, idempotency_key="order-1001")
    second = fs.events.create_detailed(event, idempotency_key="order-1001")

    assert first.idempotency_key == second.idempotency_key == "order-1001"
    assert second.http_headers.get("x-sandbox-idempotent-replay") == "true"
    stored = sandbox.events("fullstory")
    assert [e["idempotency_key"] for e in stored] == ["order-1001"]  # the replay stored nothing
    sent = logged(sandbox, "POST /v2/events")
    assert [r["headers"]["idempotency-key"] for r in sent] == ["order-1001", "order-1001"]

    user = fs.users.create_detailed({"uid": "bob"}, idempotency_key="user-bob")
    assert user.idempotency_key == "user-bob"
    assert logged(sandbox, "POST /v2/users")[-1]["headers"]["idempotency-key"] == "user-bob"


def test_integration_source_and_user_agent_arrive(make_fs: Any, sandbox: Sandbox) -> None:
    tagged = make_fs(integration_source="acme-crm/2.1")
    tagged.users.create({"uid": "ann"})
    tagged.events.create({"name": "Tagged", "user": {"uid": "ann"}})
    untagged = make_fs()
    untagged.events.create({"name": "Untagged", "user": {"uid": "ann"}})

    sent = sandbox.requests()
    assert [r["headers"].get("integration-source") for r in sent] == [
        "acme-crm/2.1",
        "acme-crm/2.1",
        None,
    ]
    assert all(r["headers"]["user-agent"].startswith("session-analytics/") for r in sent)
    assert sandbox.stats()["integration_sources"] == {"acme-crm/2.1": 2}
    by_name = {e["name"]: e["integration_source"] for e in sandbox.events("fullstory")}
    assert by_name == {"Tagged": "acme-crm/2.1", "Untagged": None}


# ---- the generated layer and the caller's own httpx client ----------------------------------


def test_raw_layer_shares_auth_base_url_keys_and_retries(
    make_fs: Any, flavor: str, loop_thread: Any, keyed: Sandbox
) -> None:
    # The keyed sandbox refuses any other key: a 200 proves the raw layer sends the SDK's auth.
    fs = make_fs(api_key=SECRET, base_url=keyed.url)
    keyed.set_faults(script=["error", "error"])

    created = call_raw(
        flavor, loop_thread, create_user, client=fs.raw, body=CreateUserRequest(uid="ann")
    )

    assert created.status_code == 200
    assert isinstance(created.parsed, CreateUserResponse)
    assert keyed.stats()["requests"]["POST /v2/users"] == {"500": 2, "200": 1}
    attempts = logged(keyed, "POST /v2/users")
    keys = {r["headers"]["idempotency-key"] for r in attempts}
    assert len(keys) == 1  # one automatic key, reused by every retry
    assert is_uuid4(keys.pop())
    assert [r["headers"]["session-analytics-retry-count"] for r in attempts] == ["0", "1", "2"]

    read = call_raw(flavor, loop_thread, get_user, client=fs.raw, id=created.parsed.id)
    assert read.status_code == 200
    assert read.parsed.uid == "ann"
    assert "idempotency-key" not in logged(keyed, "GET /v2/users/{id}")[0]["headers"]


def test_own_http_client_is_used_and_stays_open(
    make_fs: Any, flavor: str, loop_thread: Any, sandbox: Sandbox
) -> None:
    seen: list[str] = []
    health = f"{sandbox.url}/_sandbox/health"
    # The caller's client is used where it lives: the async one on the AsyncFullStory's loop.
    on_loop: Callable[[Callable[[], Any]], Any] = (
        (lambda make: make()) if flavor == "sync" else loop_thread.run
    )
    if flavor == "sync":
        own: Any = httpx.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]})
    else:

        async def hook(request: httpx.Request) -> None:
            seen.append(request.url.path)

        own = loop_thread.run(lambda: httpx.AsyncClient(event_hooks={"request": [hook]}))
    try:
        fs = make_fs(http_client=own)
        fs.users.create({"uid": "ann"})
        assert seen == ["/v2/users"]
        close(fs, flavor)

        assert own.is_closed is False
        assert on_loop(lambda: own.get(health)).status_code == 200
        assert seen == ["/v2/users", "/_sandbox/health"]
    finally:
        on_loop(own.close if flavor == "sync" else own.aclose)


# ---- errors -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A failing call, the real condition that makes it fail, and the error it must raise.

    ``status``, ``code`` and ``api_message`` are those of the API error itself, which for an
    FSMaxRetryError is its ``last_error`` (of class ``last_error``).
    """

    act: Callable[[Any], Any]
    error: type[FSError]
    name: str
    retries: int = 0
    attempts: int = 1  # API requests the sandbox must have counted
    faults: Mapping[str, Any] = field(default_factory=dict)
    client: Mapping[str, Any] = field(default_factory=dict)
    key: str = SECRET
    unreachable: bool = False
    last_error: type[FSError] | None = None
    status: int | None = None
    code: str | None = None
    api_message: str | None = None
    retry_after: float | None = None
    cause: type[BaseException] | None = None
    field: str | None = None


def change_uid(fs: Any) -> Any:
    return fs.users.update(fs.users.create({"uid": "ann"}).id, {"uid": "bob"})


def reuse_key(fs: Any) -> Any:
    fs.events.create({"name": "First", "user": {"uid": "ann"}}, idempotency_key="k-1")
    return fs.events.create({"name": "Second", "user": {"uid": "ann"}}, idempotency_key="k-1")


def create_ann(fs: Any) -> Any:
    return fs.users.create({"uid": "ann"})


def get_unknown(fs: Any) -> Any:
    return fs.users.get(UNKNOWN_ID)


SERVER_ERROR = "Server error was encountered"
RATE_LIMITED = "Too many requests. Client has exceeded the rate limit for this endpoint."
SLOW = {"latency_ms": 600}

FAILURES: dict[str, Failure] = {
    "400-uid-change": Failure(
        change_uid,
        FSBadRequestError,
        "FS_FULLSTORY_API",
        attempts=2,
        status=400,
        code="invalid_argument",
        api_message="uid: the uid of a user cannot be changed once it is set",
    ),
    "400-key-reused": Failure(
        reuse_key,
        FSIdempotencyKeyReusedError,
        "FS_FULLSTORY_API",
        attempts=2,
        status=400,
        code="invalid_argument",
        api_message="Idempotency-Key was already used with a different request body",
    ),
    "401-unknown-key": Failure(
        create_ann,
        FSUnauthorizedError,
        "FS_FULLSTORY_API",
        key=UNKNOWN_KEY,
        status=401,
        code="unauthorized",
        api_message="access is unauthorized",
    ),
    "403-standard-key-reads": Failure(
        get_unknown,
        FSForbiddenError,
        "FS_FULLSTORY_API",
        key=STANDARD_KEY,
        status=403,
        code="forbidden",
        api_message="insufficient permissions",
    ),
    "404-unknown-id": Failure(
        get_unknown,
        FSNotFoundError,
        "FS_FULLSTORY_API",
        status=404,
        code="resource_not_found",
        api_message="Requested resource does not exist",
    ),
    "429-no-retries": Failure(
        create_ann,
        FSRateLimitedError,
        "FS_RATE_LIMITED",
        faults={"rate_limit_rate": 1, "retry_after_s": 2},
        client={"max_retries": 0},
        status=429,
        code="too_many_requests",
        api_message=RATE_LIMITED,
        retry_after=2.0,
    ),
    "429-past-max-retries": Failure(
        create_ann,
        FSMaxRetryError,
        "FS_MAX_RETRY",
        retries=2,
        attempts=3,
        faults={"rate_limit_rate": 1, "retry_after_s": 0},
        client={"max_retries": 2},
        last_error=FSRateLimitedError,
        status=429,
        code="too_many_requests",
        api_message=RATE_LIMITED,
        retry_after=0.0,
        cause=FSRateLimitedError,
    ),
    "500-past-max-retries": Failure(
        create_ann,
        FSMaxRetryError,
        "FS_MAX_RETRY",
        retries=2,
        attempts=3,
        faults={"error_rate": 1},
        client={"max_retries": 2},
        last_error=FSServerError,
        status=500,
        code="server_error",
        api_message=SERVER_ERROR,
        cause=FSServerError,
    ),
    "timeout": Failure(
        get_unknown,
        FSTimeoutError,
        "FS_TIMEOUT",
        faults=SLOW,
        client={"timeout": 0.2, "max_retries": 0},
        cause=httpx.TimeoutException,
    ),
    "timeout-past-max-retries": Failure(
        get_unknown,
        FSMaxRetryError,
        "FS_MAX_RETRY",
        retries=1,
        attempts=2,
        faults=SLOW,
        client={"timeout": 0.2, "max_retries": 1},
        last_error=FSTimeoutError,
        cause=FSTimeoutError,
    ),
    "malformed-2xx": Failure(
        create_ann,
        FSParseError,
        "FS_ERROR_PARSE_RESPONSE",
        faults={"malformed_rate": 1},
        status=200,
        cause=ValueError,
    ),
    "dropped-connection": Failure(
        create_ann,
        FSConnectionError,
        "FS_UNKNOWN",
        faults={"reset_rate": 1},
        client={"max_retries": 0},
        cause=httpx.TransportError,
    ),
    "connection-refused": Failure(
        create_ann,
        FSConnectionError,
        "FS_UNKNOWN",
        attempts=0,
        unreachable=True,
        client={"max_retries": 0},
        cause=httpx.ConnectError,
    ),
    "connection-refused-past-max-retries": Failure(
        create_ann,
        FSMaxRetryError,
        "FS_MAX_RETRY",
        retries=1,
        attempts=0,
        unreachable=True,
        client={"max_retries": 1},
        last_error=FSConnectionError,
        cause=FSConnectionError,
    ),
    "delete-with-neither": Failure(
        lambda fs: fs.users.delete(),
        FSInvalidArgumentError,
        "FS_ERROR_INVALID_ARGUMENT",
        attempts=0,
        field="id",
    ),
    "delete-with-both": Failure(
        lambda fs: fs.users.delete(UNKNOWN_ID, uid="ann"),
        FSInvalidArgumentError,
        "FS_ERROR_INVALID_ARGUMENT",
        attempts=0,
        field="id",
    ),
    "unknown-field": Failure(
        lambda fs: fs.users.create({"displayName": "Ann"}),
        FSInvalidArgumentError,
        "FS_ERROR_INVALID_ARGUMENT",
        attempts=0,
        field="displayName",
    ),
    "naive-timestamp": Failure(
        lambda fs: fs.events.create({"name": "Late", "timestamp": datetime(2024, 1, 1)}),
        FSInvalidArgumentError,
        "FS_ERROR_INVALID_ARGUMENT",
        attempts=0,
        field="timestamp",
    ),
    "empty-id": Failure(
        lambda fs: fs.users.get(""),
        FSInvalidArgumentError,
        "FS_ERROR_INVALID_ARGUMENT",
        attempts=0,
        field="id",
    ),
    "idempotency-key-too-long": Failure(
        lambda fs: fs.events.create({"name": "Long"}, idempotency_key="k" * 256),
        FSInvalidArgumentError,
        "FS_ERROR_INVALID_ARGUMENT",
        attempts=0,
        field="idempotency_key",
    ),
}


def provoke(make_fs: Any, sandbox: Sandbox, failure: Failure) -> FSError:
    base_url = closed_port_url() if failure.unreachable else sandbox.url
    fs = make_fs(api_key=failure.key, base_url=base_url, **failure.client)
    if failure.faults:
        sandbox.set_faults(**failure.faults)
    with pytest.raises(FSError) as caught:
        failure.act(fs)
    return caught.value


@pytest.mark.parametrize("case", list(FAILURES))
def test_failure_is_typed_chained_and_keeps_the_key_secret(
    case: str, make_fs: Any, keyed: Sandbox
) -> None:
    failure = FAILURES[case]

    error = provoke(make_fs, keyed, failure)

    assert type(error) is failure.error
    assert is_fs_error(error)
    assert isinstance(error.name, FSErrorName)
    assert error.name == failure.name
    assert error.retries_taken == failure.retries
    assert settled_requests(keyed, failure.attempts) == failure.attempts
    if failure.attempts == 0:
        assert keyed.stats()["requests"] == {}
    api = error
    if failure.last_error is not None:
        assert isinstance(error, FSMaxRetryError)
        assert type(error.last_error) is failure.last_error
        assert is_fs_error(error.last_error)
        assert error.last_error.retries_taken == failure.retries
        api = error.last_error
    assert getattr(error, "http_status_code", None) == failure.status
    assert getattr(api, "http_status_code", None) == failure.status
    assert getattr(api, "code", None) == failure.code
    assert getattr(api, "api_message", None) == failure.api_message
    assert getattr(error, "retry_after", None) == failure.retry_after
    assert getattr(error, "field", None) == failure.field
    for link in error_chain(error):
        assert_no_secret(str(link), repr(link))
    if failure.cause is None:
        assert error.__cause__ is None
    else:
        if failure.last_error is not None:
            assert error.__cause__ is error.last_error, (
                f"FSMaxRetryError.__cause__ is {error.__cause__!r}, not its last_error"
            )
        assert isinstance(error.__cause__, failure.cause)


def test_bad_settings_are_refused_before_any_io(make_fs: Any, sandbox: Sandbox) -> None:
    bad = {
        "api_key": {"api_key": "   "},
        "timeout": {"timeout": 0},
        "max_retries": {"max_retries": -1},
        "base_url": {"base_url": "ftp://example.com"},
        "integration_source": {"integration_source": 5},
    }
    for name, kwargs in bad.items():
        with pytest.raises(FSInvalidArgumentError) as caught:
            make_fs(**kwargs)
        assert caught.value.name == "FS_ERROR_INVALID_ARGUMENT"
        assert caught.value.field == name
    assert sandbox.stats()["requests"] == {}


def test_api_key_never_leaks_into_reprs_or_logs(
    make_fs: Any, keyed: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    fs = make_fs(api_key=SECRET, base_url=keyed.url, max_retries=2)
    texts = [repr(fs), repr(fs.config), str(fs.config), repr(fs.raw)]

    fs.users.create({"uid": "ann"})  # succeeds
    keyed.set_faults(script=["error", "reset"])
    retried = fs.events.create_detailed({"name": "Retried", "user": {"uid": "ann"}})
    assert retried.retries_taken == 2
    keyed.set_faults(error_rate=1)
    with pytest.raises(FSMaxRetryError):  # fails after its retries
        fs.users.get(UNKNOWN_ID)
    keyed.set_faults()
    with pytest.raises(FSUnauthorizedError):  # refused key
        make_fs(api_key=UNKNOWN_KEY, base_url=keyed.url).users.get(UNKNOWN_ID)

    retry_logs = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retry_logs) == 4  # two retries of the event, two of the failing read
    assert {r.name for r in caplog.records} >= {"session_analytics", "httpx"}
    texts += [caplog.text, *(repr(vars(record)) for record in caplog.records)]
    assert_no_secret(*texts)


# ---- retries and idempotency ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "maybe"),
    [
        (["reset", "reset"], True),  # processed, then no answer: the user may exist
        (["error", "reset"], True),  # one lost answer among the attempts is enough
        (["error", "error"], False),  # the server said it failed, every time
    ],
)
def test_a_failed_create_says_whether_it_may_have_happened(
    script: list[str], maybe: bool, make_fs: Any, sandbox: Sandbox
) -> None:
    fs = make_fs(max_retries=1)
    sandbox.set_faults(paths=["/v2/users"], script=script)
    with pytest.raises(FSError) as raised:
        fs.users.create({"uid": "maybe-made"})
    assert raised.value.maybe_processed is maybe
    assert (sandbox.stats()["users"] == 1) is (script[-1] == "reset" or script[0] == "reset")


@pytest.mark.parametrize("resource", ["users", "events"])
def test_retries_taken_counts_the_injected_failures(
    resource: str, fs: Any, sandbox: Sandbox
) -> None:
    sandbox.set_faults(script=["error", "rate_limit", "ok"], retry_after_s=0)
    if resource == "users":
        answer = fs.users.create_detailed({"uid": "ann"})
    else:
        answer = fs.events.create_detailed({"name": "Retried", "user": {"uid": "ann"}})

    assert answer.retries_taken == 2
    assert answer.http_status_code == 200
    route = f"POST /v2/{resource}"
    assert sandbox.stats()["requests"][route] == {"500": 1, "429": 1, "200": 1}
    keys = [r["headers"]["idempotency-key"] for r in logged(sandbox, route)]
    assert keys == [answer.idempotency_key] * 3
    assert sandbox.stats()["faults_injected"] == {"error": 1, "rate_limit": 1}


@pytest.mark.slow
def test_retried_creates_never_duplicate(make_fs: Any, sandbox: Sandbox) -> None:
    """The key requirement: with connections dropped after processing and 500s before it, every
    create returns and each user and event exists exactly once.

    The users have no uid on purpose: a create with a uid is an upsert, which would hide a
    duplicate; an anonymous create done twice makes two users.
    """
    fs = make_fs(max_retries=10)
    sandbox.set_faults(reset_rate=0.3, error_rate=0.2, seed=IDEMPOTENCY_SEED)

    users = [
        fs.users.create_detailed({"display_name": f"User {i}", "properties": {"n": i}})
        for i in range(BULK)
    ]
    events = [
        fs.events.create_detailed(
            {"name": "Checkout", "user": {"id": user.body.id}, "properties": {"n": i}}
        )
        for i, user in enumerate(users)
    ]

    stats = sandbox.stats()
    injected = stats["faults_injected"]
    assert injected["reset"] > 100
    assert injected["error"] > 100
    assert stats["users"] == BULK
    assert len({u.body.id for u in users}) == BULK
    stored = sandbox.events("fullstory")
    assert len(stored) == BULK
    assert {e["properties"]["n"]: e["user"]["id"] for e in stored} == {
        i: u.body.id for i, u in enumerate(users)
    }
    assert {e["idempotency_key"] for e in stored} == {e.idempotency_key for e in events}
    # Each injected failure cost exactly one retry, and no call gave up.
    retries = sum(r.retries_taken for r in [*users, *events])
    assert retries == injected["reset"] + injected["error"]
