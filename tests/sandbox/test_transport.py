"""The sandbox over real loopback HTTP: faults, auth, bodies, admin routes, TLS, the threaded
runner, the command line and the pytest plugin."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import queue
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
import trustme
from support import wait_until

from session_analytics._version import __version__
from session_analytics.sandbox import Sandbox, SandboxError

pytest_plugins = ["pytester"]

SERVER_ERROR = {"code": "server_error", "message": "Server error was encountered"}
RATE_LIMITED = {
    "code": "too_many_requests",
    "message": "Too many requests. Client has exceeded the rate limit for this endpoint.",
}
UNAUTHORIZED = {"code": "unauthorized", "message": "access is unauthorized"}
FORBIDDEN = {"code": "forbidden", "message": "insufficient permissions"}
NO_FAULTS = {
    "error_rate": 0.0,
    "rate_limit_rate": 0.0,
    "retry_after_s": 1.0,
    "reset_rate": 0.0,
    "malformed_rate": 0.0,
    "latency_ms": 0.0,
    "latency_jitter_ms": 0.0,
    "connect_latency_ms": 0.0,
    "rate_limit_rps": 0.0,
    "rate_limit_burst": None,
    "seed": None,
    "paths": [],
    "script": [],
}


def _users_with_uid(fs: httpx.Client, uid: str) -> int:
    answer = fs.get("/v2/users", params={"uid": uid})
    assert answer.status_code == 200
    return int(answer.json()["total_records"])


@pytest.fixture
def port_in_use() -> Iterator[int]:
    """A loopback port that another socket is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


@pytest.fixture
def keep_uvicorn_log_levels() -> Iterator[None]:
    """uvicorn sets its loggers' levels for the whole process; put them back afterwards."""
    levels = {name: logging.getLogger(name).level for name in UVICORN_LOGGERS}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


# ---- faults -------------------------------------------------------------------------------------


def test_error_fault_answers_500_without_doing_the_work(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.set_faults(error_rate=1)
    answer = fs.post("/v2/users", json={"uid": "never-made"})
    assert answer.status_code == 500
    assert answer.json() == SERVER_ERROR
    sandbox.set_faults()
    assert sandbox.stats()["users"] == 0
    assert _users_with_uid(fs, "never-made") == 0


def test_rate_limit_fault_answers_429_with_retry_after(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.set_faults(rate_limit_rate=1, retry_after_s=3)
    answer = fs.post("/v2/events", json={"name": "Never Stored"})
    assert answer.status_code == 429
    assert answer.json() == RATE_LIMITED
    assert answer.headers["Retry-After"] == "3"
    assert sandbox.events() == []
    assert sandbox.stats()["users"] == 0


def test_reset_fault_drops_the_connection_after_doing_the_work(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    sandbox.set_faults(reset_rate=1)
    with pytest.raises(httpx.RemoteProtocolError):
        fs.post("/v2/users", json={"uid": "made-anyway"})
    with pytest.raises(httpx.RemoteProtocolError):
        fs.post("/v2/events", json={"name": "Stored Anyway"})
    sandbox.set_faults()
    assert _users_with_uid(fs, "made-anyway") == 1
    assert [e["name"] for e in sandbox.events()] == ["Stored Anyway"]


def test_malformed_fault_answers_200_with_a_body_that_is_not_json(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    sandbox.set_faults(malformed_rate=1)
    answer = fs.post("/v2/users", json={"uid": "garbled"})
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        answer.json()
    refused = fs.post("/v2/users", json={"uid": 5})  # errors keep their JSON body
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_argument"
    sandbox.set_faults()
    assert _users_with_uid(fs, "garbled") == 1


def test_latency_fault_delays_the_answer(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.set_faults(latency_ms=300)
    started = time.monotonic()
    answer = fs.get("/v2/users")
    assert time.monotonic() - started >= 0.25
    assert answer.status_code == 200
    with pytest.raises(httpx.ReadTimeout):
        fs.get("/v2/users", timeout=0.1)

    def both_answered() -> bool:
        return sum(sandbox.stats()["requests"].get("GET /v2/users", {}).values()) == 2

    # so that the late request does not land in the next test
    wait_until(both_answered, what="both requests to be answered")


def test_script_gives_fates_in_order_then_the_rates(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.set_faults(script=["rate_limit", "ok", "reset", "error", "malformed"], error_rate=1)
    outcomes: list[Any] = []
    for i in range(7):
        try:
            answer = fs.post("/v2/events", json={"name": f"scripted-{i}"})
        except httpx.RemoteProtocolError:
            outcomes.append("dropped")
            continue
        try:
            answer.json()
        except json.JSONDecodeError:
            outcomes.append("not json")
            continue
        outcomes.append(answer.status_code)
    assert outcomes == [429, 200, "dropped", 500, "not json", 500, 500]
    assert [e["name"] for e in sandbox.events()] == ["scripted-1", "scripted-2", "scripted-4"]


def test_paths_limit_faults_to_matching_prefixes(
    sandbox: Sandbox, fs: httpx.Client, raw: httpx.Client
) -> None:
    sandbox.set_faults(error_rate=1, paths=["/v2/events"])
    assert fs.post("/v2/users", json={"uid": "spared"}).status_code == 200
    assert fs.get("/v2beta/users").status_code == 200
    assert raw.post("/rec/check/backend", json={"key": sandbox.smartlook_key}).status_code == 200
    assert fs.post("/v2/events", json={"name": "Hit"}).status_code == 500
    batch = fs.post("/v2/events/batch", json={"requests": [{"name": "Hit"}]})
    assert batch.status_code == 500
    assert sandbox.stats()["faults_injected"] == {"error": 2}


def _seeded_run(sandbox: Sandbox, fs: httpx.Client) -> list[Any]:
    sandbox.reset()
    sandbox.set_faults(seed=1234, error_rate=0.25, rate_limit_rate=0.25, reset_rate=0.2)
    outcomes: list[Any] = []
    for i in range(30):
        try:
            outcomes.append(fs.post("/v2/events", json={"name": f"seeded-{i}"}).status_code)
        except httpx.RemoteProtocolError:
            outcomes.append("dropped")
    return outcomes


def test_the_same_seed_gives_the_same_faults(sandbox: Sandbox, fs: httpx.Client) -> None:
    first = _seeded_run(sandbox, fs)
    assert set(first) == {200, 429, 500, "dropped"}
    assert _seeded_run(sandbox, fs) == first


@pytest.mark.parametrize(
    "path",
    [
        "/_sandbox/health",
        "/_sandbox/stats",
        "/_sandbox/events",
        "/_sandbox/requests",
        "/_sandbox/faults",
        "/_sandbox/config",
    ],
)
def test_faults_never_touch_admin_routes(sandbox: Sandbox, raw: httpx.Client, path: str) -> None:
    sandbox.set_faults(error_rate=1, latency_ms=0, script=["reset", "reset"])
    for _ in range(3):
        assert raw.get(path).status_code == 200
    assert sandbox.stats()["faults_injected"] == {}
    assert raw.post("/_sandbox/sessions", json={}).status_code == 200
    assert raw.post("/_sandbox/reset").status_code == 200


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"error_rate": 1.5}, "error_rate must be between 0 and 1"),
        ({"latency_ms": -10}, "latency_ms must be a finite number >= 0"),
        ({"boom": 1}, "unknown fault(s) boom"),
        ({"script": ["ok", "explode"]}, "unknown fate(s) in script: explode"),
        ({"seed": "42"}, "seed must be an integer"),
        ({"paths": "/v2"}, "paths must be a list of strings"),
        (["error_rate"], "faults must be a JSON object"),
    ],
)
def test_bad_fault_settings_are_refused(
    sandbox: Sandbox, raw: httpx.Client, settings: Any, reason: str
) -> None:
    sandbox.set_faults(malformed_rate=0.25)
    answer = raw.post("/_sandbox/faults", json=settings)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_argument"
    assert reason in answer.json()["message"]
    assert raw.get("/_sandbox/faults").json() == {**NO_FAULTS, "malformed_rate": 0.25}


@pytest.mark.parametrize(
    "body",
    [b'{"error_rate": NaN}', b'{"latency_ms": Infinity}', b'{"retry_after_s": 1e999}'],
    ids=["nan-rate", "infinite-latency", "infinite-retry-after"],
)
def test_non_finite_fault_settings_are_refused(
    sandbox: Sandbox, raw: httpx.Client, body: bytes
) -> None:
    answer = raw.post("/_sandbox/faults", content=body)
    assert answer.status_code == 400
    assert raw.get("/_sandbox/faults").json() == NO_FAULTS


def test_get_faults_shows_the_current_settings(sandbox: Sandbox, raw: httpx.Client) -> None:
    assert raw.get("/_sandbox/faults").json() == NO_FAULTS
    settings = {
        "error_rate": 0.25,
        "retry_after_s": 7,
        "latency_ms": 5,
        "seed": 9,
        "paths": ["/v2/users"],
        "script": ["ok", "error"],
    }
    expected = {**NO_FAULTS, **settings, "retry_after_s": 7.0, "latency_ms": 5.0}
    assert sandbox.set_faults(**settings) == expected
    assert raw.get("/_sandbox/faults").json() == expected
    assert sandbox.set_faults() == NO_FAULTS


def test_stats_count_faults_and_requests(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.set_faults(script=["error", "rate_limit", "reset", "malformed", "ok"])
    for i in range(5):
        with contextlib.suppress(httpx.RemoteProtocolError):
            fs.post("/v2/users", json={"uid": f"counted-{i}"})
    fs.get("/v2/users/does-not-exist")
    stats = sandbox.stats()
    assert stats["faults_injected"] == {"error": 1, "rate_limit": 1, "reset": 1, "malformed": 1}
    assert stats["requests"] == {
        "POST /v2/users": {"500": 1, "429": 1, "dropped": 1, "200": 2},
        "GET /v2/users/{id}": {"404": 1},
    }
    assert stats["users"] == 3


def test_a_retry_with_the_idempotency_key_is_safe_after_a_dropped_answer(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    sandbox.set_faults(script=["reset"])
    body, headers = {"name": "Paid", "user": {"uid": "payer"}}, {"Idempotency-Key": "pay-1"}
    with pytest.raises(httpx.RemoteProtocolError):
        fs.post("/v2/events", json=body, headers=headers)
    retry = fs.post("/v2/events", json=body, headers=headers)
    assert retry.status_code == 200
    assert retry.headers["X-Sandbox-Idempotent-Replay"] == "true"
    assert len(sandbox.events(name="Paid")) == 1


@pytest.mark.usefixtures("keep_uvicorn_log_levels")
def test_reset_fault_drops_the_connection_at_any_log_level() -> None:
    # At uvicorn's "trace" level, uvicorn wraps `send` in its message logger.
    with Sandbox(log_level="trace") as server:
        server.set_faults(reset_rate=1)
        with pytest.raises(httpx.RemoteProtocolError):
            _call(server, "POST", "/v2/users", "k", json={"uid": "traced"})
        server.set_faults()
        listed = _call(server, "GET", "/v2/users?uid=traced", "k")
        assert listed.json()["total_records"] == "1"


# ---- auth ---------------------------------------------------------------------------------------

KEYS = {"adm": "admin", "std": "standard", "arc": "architect"}


@pytest.fixture(scope="module")
def keyed() -> Iterator[Sandbox]:
    """A sandbox of its own that knows three keys, one per level."""
    with Sandbox(api_key=KEYS) as server:
        yield server


def _call(
    server: Sandbox,
    method: str,
    path: str,
    key: str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    sent = {**(headers or {}), **({"Authorization": f"Basic {key}"} if key else {})}
    return httpx.request(method, server.url + path, headers=sent, timeout=10, **kwargs)


def _raw_post(url: str, authorization: str, body: bytes = b"{}") -> tuple[int, Any]:
    """POST /v2/users with an Authorization value that httpx refuses to send (trailing space)."""
    target = httpx.URL(url)
    head = (
        f"POST /v2/users HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
        f"Authorization: {authorization}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    assert target.port is not None
    with socket.create_connection((target.host, target.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(payload)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer adm", "Basic", "Basic nope", "Basic ADM", "adm", "Basic adm2", "Basic xadm"],
)
def test_a_missing_or_wrong_key_gets_401(keyed: Sandbox, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for method, path, body in [
        ("POST", "/v2/users", {"uid": "intruder"}),
        ("GET", "/v2/users", None),
        ("POST", "/v2/events", {"name": "Intrusion"}),
    ]:
        answer = httpx.request(method, keyed.url + path, json=body, headers=headers, timeout=10)
        assert (answer.status_code, answer.json()) == (401, UNAUTHORIZED), (method, path)
    assert int(_call(keyed, "GET", "/v2/users?uid=intruder", "adm").json()["total_records"]) == 0


@pytest.mark.parametrize("authorization", ["Basic ", "Basic    "])
def test_an_empty_basic_key_gets_401(keyed: Sandbox, authorization: str) -> None:
    assert _raw_post(keyed.url, authorization, b'{"uid": "blank"}') == (401, UNAUTHORIZED)
    assert _raw_post(keyed.url, "Basic adm", b'{"uid": "blank"}')[0] == 200


def test_a_standard_key_sends_data_but_cannot_read_or_delete(keyed: Sandbox) -> None:
    created = _call(keyed, "POST", "/v2/users", "std", json={"uid": "std-user"})
    assert created.status_code == 200
    user_id = created.json()["id"]
    event = {"name": "Std Event", "user": {"uid": "std-user"}}
    assert _call(keyed, "POST", "/v2/events", "std", json=event).status_code == 200
    batch = {"requests": [{"uid": "std-batch"}]}
    job = _call(keyed, "POST", "/v2/users/batch", "std", json=batch)
    assert job.status_code == 200
    job_id = job.json()["job"]["id"]
    assert _call(keyed, "GET", f"/v2/users/batch/{job_id}", "std").status_code == 200
    for method, path in [
        ("GET", "/v2/users"),
        ("GET", f"/v2/users/{user_id}"),
        ("DELETE", f"/v2/users/{user_id}"),
        ("DELETE", "/v2/users?uid=std-user"),
        ("GET", f"/v2/users/batch/{job_id}/imports"),
    ]:
        answer = _call(keyed, method, path, "std")
        assert (answer.status_code, answer.json()) == (403, FORBIDDEN), (method, path)
    kept = _call(keyed, "GET", f"/v2/users/{user_id}", "adm")
    assert kept.json()["is_being_deleted"] is False


def test_an_architect_key_reads_and_deletes(keyed: Sandbox) -> None:
    user_id = _call(keyed, "POST", "/v2/users", "arc", json={"uid": "arc-user"}).json()["id"]
    listed = _call(keyed, "GET", "/v2/users?uid=arc-user", "arc")
    assert (listed.status_code, listed.json()["total_records"]) == (200, "1")
    assert _call(keyed, "GET", f"/v2/users/{user_id}", "arc").json()["uid"] == "arc-user"
    job_id = _call(keyed, "POST", "/v2/events/batch", "arc", json={"requests": [{"name": "E"}]})
    imports = _call(keyed, "GET", f"/v2/events/batch/{job_id.json()['job']['id']}/imports", "arc")
    assert imports.status_code in (200, 202)
    assert _call(keyed, "DELETE", f"/v2/users/{user_id}", "arc").status_code == 200
    assert _call(keyed, "GET", f"/v2/users/{user_id}", "adm").json()["is_being_deleted"] is True


def test_an_admin_key_does_everything(keyed: Sandbox) -> None:
    assert keyed.api_key == "adm"
    user_id = _call(keyed, "POST", "/v2/users", "adm", json={"uid": "adm-user"}).json()["id"]
    for method, path in [
        ("GET", "/v2/users"),
        ("GET", f"/v2/users/{user_id}"),
        ("DELETE", "/v2/users?uid=adm-user"),
    ]:
        assert _call(keyed, method, path, "adm").status_code == 200, (method, path)


def test_a_single_key_is_the_only_key() -> None:
    with Sandbox(api_key="k1") as server:
        assert server.api_key == "k1"
        assert _call(server, "POST", "/v2/users", "k1", json={}).status_code == 200
        for other in ("k2", "sandbox-key", "k1k1"):
            answer = _call(server, "POST", "/v2/users", other, json={})
            assert (answer.status_code, answer.json()) == (401, UNAUTHORIZED)


SECRET_KEYS = {"sekrit-admin-7f3a": "admin", "sekrit-std-91c2": "standard"}


@pytest.mark.usefixtures("keep_uvicorn_log_levels")
def test_keys_are_never_logged_or_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="session_analytics.sandbox")
    caplog.set_level(5, logger="uvicorn")  # uvicorn's TRACE, below DEBUG
    with Sandbox(api_key=SECRET_KEYS, log_level="trace") as server:
        assert _call(server, "POST", "/v2/users", "sekrit-admin-7f3a", json={}).status_code == 200
        assert _call(server, "GET", "/v2/users", "sekrit-std-91c2").status_code == 403
        assert _call(server, "GET", "/v2/users", "sekrit-wrong-0000").status_code == 401
        cookie = {"Cookie": "session=sekrit-cookie"}
        bad = _call(server, "POST", "/v2/users", "sekrit-std-91c2", content=b"{", headers=cookie)
        assert bad.status_code == 400
        server.set_faults(script=["error", "rate_limit"])
        assert _call(server, "POST", "/v2/users", "sekrit-admin-7f3a", json={}).status_code == 500
        assert _call(server, "POST", "/v2/users", "sekrit-admin-7f3a", json={}).status_code == 429
        shown = [
            repr(server),
            repr(server.config),
            str(server.config),
            json.dumps(server.requests()),
            json.dumps(server.stats()),
            json.dumps(server.configure()),
        ]
        log = server.requests()
    assert len(log) == 6
    for entry in log:
        assert not {"authorization", "cookie"} & {name.lower() for name in entry["headers"]}
    assert any(r.name.startswith("uvicorn") for r in caplog.records)
    logged = [caplog.text] + [r.getMessage() + str(r.exc_text) for r in caplog.records]
    for text in logged + shown:
        assert "sekrit" not in text, text


# ---- request bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {}, {"Content-Type": "application/x-www-form-urlencoded"}],
    ids=["text-plain", "no-content-type", "form-content-type"],
)
def test_a_json_body_is_read_whatever_its_content_type(
    fs: httpx.Client, headers: dict[str, str]
) -> None:
    answer = fs.post("/v2/users", content=b'{"uid": "typed"}', headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.request.headers.get("content-type") == headers.get("Content-Type")
    assert _users_with_uid(fs, "typed") == 1


def test_a_chunked_body_is_read(fs: httpx.Client) -> None:
    answer = fs.post("/v2/users", content=iter([b'{"uid"', b': "chu', b'nky"}']))
    assert answer.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 200
    assert _users_with_uid(fs, "chunky") == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the request body is empty; send a JSON object"),
        (b" \r\n\t", "the request body is empty; send a JSON object"),
        (b"{", "the request body is not valid JSON"),
        (b'{"uid": "x",}', "the request body is not valid JSON"),
        (b'{"uid": NaN}', "the request body is not valid JSON"),
        (b"\xff\xfe{}", "the request body is not valid JSON"),
    ],
    ids=["empty", "blank", "cut-short", "trailing-comma", "nan", "not-utf8"],
)
def test_unreadable_bodies_get_400(
    sandbox: Sandbox, fs: httpx.Client, body: bytes, message: str
) -> None:
    answer = fs.post("/v2/users", content=body)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_argument"
    assert answer.json()["message"].startswith(message)
    assert sandbox.stats()["users"] == 0


def _body_of(size: int) -> bytes:
    prefix, suffix = b'{"properties": {"p": "', b'"}}'
    body = prefix + b"x" * (size - len(prefix) - len(suffix)) + suffix
    assert len(body) == size
    return body


def _chunks(body: bytes, size: int = 100) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_gets_413_and_the_server_goes_on(
    sandbox: Sandbox, fs: httpx.Client, raw: httpx.Client, chunked: bool
) -> None:
    sandbox.configure(max_body_bytes=1000)
    for size, status in [(1000, 200), (1001, 413), (5000, 413), (999, 200)]:
        body = _body_of(size)
        answer = fs.post("/v2/users", content=_chunks(body) if chunked else body)
        assert answer.status_code == status, size
        if status == 413:
            assert answer.json() == {
                "code": "payload_too_large",
                "message": "the request body is larger than 1000 bytes",
            }
    assert sandbox.stats()["users"] == 2
    assert raw.get("/_sandbox/health").status_code == 200
    assert fs.post("/v2/users", json={"uid": "after"}).status_code == 200


def test_an_unknown_route_gets_a_json_404(fs: httpx.Client) -> None:
    for path in ("/v2/nothing", "/v3/users", "/_sandbox/nothing", "/"):
        answer = fs.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == {
            "code": "resource_not_found",
            "message": "Requested resource does not exist",
        }


def test_a_wrong_method_gets_a_json_405(fs: httpx.Client) -> None:
    for method, path in [("PUT", "/v2/users"), ("PATCH", "/v2/events"), ("GET", "/_sandbox/reset")]:
        answer = fs.request(method, path)
        assert answer.status_code == 405, path
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == {
            "code": "method_not_allowed",
            "message": f"{method} is not allowed here",
        }


def test_a_405_lists_every_method_of_the_path(fs: httpx.Client) -> None:
    # RFC 9110 15.5.6: the Allow header of a 405 lists the methods the target supports.
    answer = fs.put("/v2/users")
    allowed = {m.strip() for m in answer.headers["allow"].split(",")}
    assert {"GET", "POST", "DELETE"} <= allowed


# ---- admin routes -------------------------------------------------------------------------------


def test_health(raw: httpx.Client) -> None:
    answer = raw.get("/_sandbox/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "version": __version__}


def test_reset_forgets_everything(sandbox: Sandbox, fs: httpx.Client, raw: httpx.Client) -> None:
    config_before = raw.get("/_sandbox/config").json()
    sandbox.configure(job_delay_s=5, list_page_size=1)
    sandbox.set_faults(error_rate=1, paths=["/nowhere"])
    fs.post("/v2/users", json={"uid": "gone"})
    headers = {"Idempotency-Key": "once"}
    assert fs.post("/v2/events", json={"name": "Gone"}, headers=headers).status_code == 200
    job_id = fs.post("/v2/users/batch", json={"requests": [{"uid": "b"}]}).json()["job"]["id"]
    raw.post("/rec/check/backend", json={"key": sandbox.smartlook_key})
    before = sandbox.stats()  # the event made an anonymous user of its own
    assert (before["users"], before["idempotency_keys"], before["jobs"]["total"]) == (2, 1, 1)

    answer = raw.post("/_sandbox/reset")
    assert answer.json() == {"status": "reset"}
    stats = sandbox.stats()
    assert stats["users"] == 0
    assert stats["events"] == {"fullstory": 0, "smartlook": 0}
    assert stats["jobs"] == {"total": 0, "running": 0, "queued": 0, "completed": 0, "failed": 0}
    assert (stats["idempotency_keys"], stats["faults_injected"], stats["requests"]) == (0, {}, {})
    assert raw.get("/_sandbox/faults").json() == NO_FAULTS
    assert raw.get("/_sandbox/config").json() == config_before
    assert sandbox.events() == []
    assert fs.get(f"/v2/users/batch/{job_id}").status_code == 404
    reused = fs.post("/v2/events", json={"name": "Other body"}, headers=headers)
    assert reused.status_code == 200
    assert "X-Sandbox-Idempotent-Replay" not in reused.headers


def test_config_changes_known_settings(
    sandbox: Sandbox, fs: httpx.Client, raw: httpx.Client
) -> None:
    before = raw.get("/_sandbox/config").json()
    assert (before["api_keys"], before["smartlook_keys"]) == ("any", "any")
    changed = raw.post("/_sandbox/config", json={"list_page_size": 2, "job_delay_s": 3})
    assert changed.status_code == 200
    assert changed.json() == {**before, "list_page_size": 2, "job_delay_s": 3.0}
    assert raw.get("/_sandbox/config").json() == changed.json()
    for i in range(3):
        fs.post("/v2/users", json={"uid": f"paged-{i}"})
    page = fs.get("/v2/users").json()
    assert (len(page["results"]), page["total_records"]) == (2, "3")
    assert "next_page_token" in page


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"nope": 1}', "unknown setting(s) nope"),
        (b'{"api_keys": {"k": "admin"}}', "unknown setting(s) api_keys"),
        (b'{"job_delay_s": "fast"}', "job_delay_s must be a finite number"),
        (b'{"job_delay_s": true}', "job_delay_s must be a finite number"),
        (b'{"max_body_bytes": 1.5}', "max_body_bytes must be a whole number"),
        (b'{"smartlook_analytics_enabled": "no"}', "must be true or false"),
        (b'{"job_delay_s": -1}', "job_delay_s must be >= 0"),
        (b'{"deletion_window_s": -0.5}', "deletion_window_s must be >= 0"),
        (b'{"list_page_size": 0}', "list_page_size must be > 0"),
        (b"[1]", "config changes must be a JSON object"),
        (b"{", "the request body is not valid JSON"),
    ],
)
def test_config_refuses_bad_settings(
    sandbox: Sandbox, raw: httpx.Client, body: bytes, reason: str
) -> None:
    before = raw.get("/_sandbox/config").json()
    answer = raw.post("/_sandbox/config", content=body)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_argument"
    assert reason in answer.json()["message"]
    assert raw.get("/_sandbox/config").json() == before


def test_config_refuses_nan(sandbox: Sandbox, raw: httpx.Client) -> None:
    before = raw.get("/_sandbox/config").json()
    answer = raw.post("/_sandbox/config", content=b'{"job_delay_s": NaN}')
    assert answer.status_code == 400
    assert raw.get("/_sandbox/config").json() == before


def test_config_never_shows_keys(keyed: Sandbox) -> None:
    shown = httpx.get(keyed.url + "/_sandbox/config").json()
    assert shown["api_keys"] == "3 configured"
    text = json.dumps(shown)
    assert not any(f'"{key}"' in text for key in KEYS)


def _send_smartlook(sandbox: Sandbox, raw: httpx.Client, *names: str) -> None:
    check = raw.post("/rec/check/backend", json={"key": sandbox.smartlook_key}).json()
    where = {"pid": check["pid"], "group": check["options"]["storeGroup"]}
    events = [{"vid": "visitor-1", "name": name} for name in names]
    assert raw.post("/events/backend", params=where, json={"events": events}).status_code == 200


def test_events_route_filters_and_pages(
    sandbox: Sandbox, fs: httpx.Client, raw: httpx.Client
) -> None:
    for name, key in [("Signup", "idem-1"), ("Login", None), ("Signup", None)]:
        headers = {"Idempotency-Key": key} if key else {}
        body = {"name": name, "user": {"uid": "eventful"}}
        assert fs.post("/v2/events", json=body, headers=headers).status_code == 200
    _send_smartlook(sandbox, raw, "Signup")

    def query(**params: Any) -> dict[str, Any]:
        answer = raw.get("/_sandbox/events", params=params)
        assert answer.status_code == 200
        result: dict[str, Any] = answer.json()
        return result

    everything = query()
    assert everything["total"] == 4
    assert [(e["api"], e["name"]) for e in everything["events"]] == [
        ("fullstory", "Signup"),
        ("fullstory", "Login"),
        ("fullstory", "Signup"),
        ("smartlook", "Signup"),
    ]
    fullstory = query(api="fullstory")
    assert fullstory["total"] == 3
    assert [e["idempotency_key"] for e in fullstory["events"]] == ["idem-1", None, None]
    smartlook = query(api="smartlook")
    assert [(e["vid"], e["name"]) for e in smartlook["events"]] == [("visitor-1", "Signup")]
    assert query(name="Signup")["total"] == 3
    assert query(api="fullstory", name="Signup")["total"] == 2
    page = query(api="fullstory", limit=1, offset=1)
    assert (page["total"], [e["name"] for e in page["events"]]) == (3, ["Login"])
    assert query(offset=10) == {"total": 4, "events": []}
    assert len(sandbox.events("fullstory", name="Signup", limit=1)) == 1
    for bad in ({"api": "segment"}, {"limit": "ten"}, {"offset": "1.5"}):
        assert raw.get("/_sandbox/events", params=bad).status_code == 400, bad


@pytest.mark.parametrize(
    "params", [{"limit": -1}, {"offset": -1}], ids=["negative-limit", "negative-offset"]
)
def test_events_route_refuses_negative_paging(
    sandbox: Sandbox, fs: httpx.Client, raw: httpx.Client, params: dict[str, int]
) -> None:
    for name in ("A", "B", "C"):
        fs.post("/v2/events", json={"name": name})
    answer = raw.get("/_sandbox/events", params=params)
    assert answer.status_code == 400, answer.json()


def test_requests_route_lists_recent_api_requests(sandbox: Sandbox, fs: httpx.Client) -> None:
    fs.get("/v2/users", params={"uid": "nobody"}, headers={"X-Trace": "t-1"})
    fs.post("/v2/users", json={"uid": "logged"}, headers={"Cookie": "session=biscuit"})
    fs.post("/v2/users", content=b"{")
    fs.get("/_sandbox/health")  # admin routes are not listed
    log = sandbox.requests()
    assert [(r["route"], r["method"], r["path"], r["query"], r["status"]) for r in log] == [
        ("GET /v2/users", "GET", "/v2/users", "uid=nobody", "200"),
        ("POST /v2/users", "POST", "/v2/users", "", "200"),
        ("POST /v2/users", "POST", "/v2/users", "", "400"),
    ]
    assert log[0]["headers"]["x-trace"] == "t-1"
    for entry in log:
        assert not {"authorization", "cookie"} & set(entry["headers"])
    assert "biscuit" not in json.dumps(log)


def test_sessions_route(sandbox: Sandbox, fs: httpx.Client, raw: httpx.Client) -> None:
    made = raw.post("/_sandbox/sessions", json={"uid": "visitor"})
    assert made.status_code == 200
    session = made.json()
    assert re.fullmatch(r"\d{18}:\d{18}", session["id"])
    assert fs.get(f"/v2/users/{session['user_id']}").json()["uid"] == "visitor"
    same_user = sandbox.create_session(user_id=session["user_id"], format="uuid")
    uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(f"{uuid}:{uuid}", same_user["id"])
    assert same_user["user_id"] == session["user_id"]
    anonymous = raw.post("/_sandbox/sessions").json()
    assert anonymous["user_id"] not in (session["user_id"], None)

    sent = fs.post("/v2/events", json={"name": "In Session", "session": {"id": session["id"]}})
    assert sent.status_code == 200
    (stored,) = sandbox.events(name="In Session")
    assert stored["session"] == {"id": session["id"]}
    assert stored["user"] == {"id": session["user_id"], "uid": "visitor"}

    for body, status in [
        ({"uid": "v", "format": "hex"}, 400),
        ([], 400),
        ({"user_id": "123"}, 404),
    ]:
        assert raw.post("/_sandbox/sessions", json=body).status_code == status, body
    assert raw.post("/_sandbox/sessions", content=b"{").status_code == 400


# ---- TLS ----------------------------------------------------------------------------------------


class TlsFiles(NamedTuple):
    cert: Path
    key: Path
    ca: Path
    context: ssl.SSLContext


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    cert, key, ca = folder / "chain.pem", folder / "key.pem", folder / "ca.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    key.write_bytes(issued.private_key_pem.bytes())
    ca.write_bytes(authority.cert_pem.bytes())
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return TlsFiles(cert, key, ca, context)


def test_tls_serves_https(tls: TlsFiles) -> None:
    with Sandbox(tls_cert=tls.cert, tls_key=tls.key) as server:
        assert re.fullmatch(r"https://127\.0\.0\.1:\d+", server.url)
        with httpx.Client(base_url=server.url, verify=tls.context, timeout=10) as client:
            assert client.get("/_sandbox/health").json()["status"] == "ok"
            created = client.post(
                "/v2/users", json={"uid": "secure"}, headers={"Authorization": "Basic k"}
            )
            assert created.status_code == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(server.url + "/_sandbox/health", timeout=10)
        plain = server.url.replace("https://", "http://")
        with pytest.raises(httpx.TransportError):
            httpx.get(plain + "/_sandbox/health", timeout=10)


def test_tls_admin_helpers_trust_the_given_ca_context(tls: TlsFiles) -> None:
    verify: Any = tls.context
    with Sandbox(tls_cert=tls.cert, tls_key=tls.key, verify=verify) as server:
        assert server.stats()["users"] == 0


def test_tls_admin_helpers_trust_the_given_ca_file(tls: TlsFiles) -> None:
    # `verify: bool | str` as the signature says: a CA bundle path.
    with Sandbox(tls_cert=tls.cert, tls_key=tls.key, verify=str(tls.ca)) as server:
        assert server.stats()["users"] == 0


@pytest.mark.parametrize("half", ["cert", "key"])
def test_tls_needs_both_files(tls: TlsFiles, half: str) -> None:
    files: dict[str, Any] = {"tls_cert": tls.cert} if half == "cert" else {"tls_key": tls.key}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        needs_both = "TLS needs both a certificate and a key file"
        with pytest.raises(SandboxError, match=needs_both) as refused, Sandbox(**files):
            pass
        del refused  # its traceback holds the frames of start(), and so the socket
        gc.collect()
    leaked = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaked == []


# ---- the threaded runner ------------------------------------------------------------------------


def test_sandboxes_bind_loopback_on_free_ports() -> None:
    with Sandbox() as first, Sandbox() as second:
        ports = []
        for server in (first, second):
            match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", server.url)
            assert match is not None
            ports.append(int(match.group(1)))
            assert httpx.get(server.url + "/_sandbox/health").status_code == 200
        assert ports[0] != ports[1]
        assert 0 not in ports


def test_the_port_is_closed_after_the_with_block() -> None:
    with Sandbox() as server:
        port = int(server.url.rsplit(":", 1)[1])
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    with pytest.raises(SandboxError, match="not running"):
        server.url  # noqa: B018


def test_a_port_in_use_fails_fast_and_names_the_port(port_in_use: int) -> None:
    started = time.monotonic()
    with pytest.raises(SandboxError, match=f"127.0.0.1:{port_in_use}"):
        Sandbox(port=port_in_use).start()
    assert time.monotonic() - started < 2


def test_attach_talks_to_a_running_sandbox(sandbox: Sandbox, fs: httpx.Client) -> None:
    handle = Sandbox.attach(sandbox.url + "/")
    try:
        assert handle.url == sandbox.url
        fs.post("/v2/users", json={"uid": "seen-by-handle"})
        assert handle.stats()["users"] == 1
        handle.set_faults(error_rate=1)
        assert fs.post("/v2/users", json={}).status_code == 500
        handle.reset()
        assert sandbox.stats()["users"] == 0
        assert fs.post("/v2/users", json={}).status_code == 200
    finally:
        handle.stop()


# ---- the command line ---------------------------------------------------------------------------

CLI = str(Path(sys.executable).with_name("session-analytics"))
READY = re.compile(r"session-analytics sandbox ready at (http://127\.0\.0\.1:(\d+))")
COMMANDS = {
    "session-analytics": [CLI, "sandbox"],
    "python -m": [sys.executable, "-m", "session_analytics.sandbox"],
}


class Served:
    """A sandbox command running in a subprocess, with its output collected as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.stdout: queue.Queue[str | None] = queue.Queue()
        self.lines: list[str] = []
        self.stderr: list[str] = []
        self._threads = [
            threading.Thread(target=self._pump_stdout, args=(process.stdout,)),
            threading.Thread(target=lambda: self.stderr.extend(process.stderr or [])),
        ]
        for thread in self._threads:
            thread.start()

    def _pump_stdout(self, stream: Any) -> None:
        for line in stream:
            self.stdout.put(line)
        self.stdout.put(None)

    def wait_ready(self, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.stdout.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            match = READY.fullmatch(line.rstrip("\n"))
            if match:
                return match.group(1)
        raise AssertionError(f"no ready line; stdout {self.lines}, stderr {self.stderr}")

    def stop(self, how: Callable[[], None], timeout: float = 5.0) -> tuple[int, float]:
        started = time.monotonic()
        how()
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started

    def output(self) -> str:
        """Everything printed so far; call it once the process has ended."""
        for thread in self._threads:
            thread.join(timeout=5)
        with contextlib.suppress(queue.Empty):
            while True:
                line = self.stdout.get_nowait()
                if line is not None:
                    self.lines.append(line)
        return "".join(self.lines + self.stderr)


@contextlib.contextmanager
def _serving(command: list[str]) -> Iterator[Served]:
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        served = Served(process)
        try:
            yield served
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
            served.output()


@pytest.mark.parametrize("command", list(COMMANDS.values()), ids=list(COMMANDS))
def test_cli_serves_until_interrupted(command: list[str]) -> None:
    with _serving([*command, "--port", "0"]) as served:
        url = served.wait_ready()
        assert int(url.rsplit(":", 1)[1]) > 0
        health = httpx.get(url + "/_sandbox/health", timeout=10)
        assert health.json() == {"status": "ok", "version": __version__}
        code, took = served.stop(lambda: served.process.send_signal(signal.SIGINT))
    assert code == 0
    assert took < 5


def test_cli_stops_on_terminate() -> None:
    with _serving([CLI, "sandbox", "--port", "0"]) as served:
        url = served.wait_ready()
        assert httpx.get(url + "/_sandbox/health", timeout=10).status_code == 200
        code, took = served.stop(served.process.terminate)
    assert code in (0, -signal.SIGTERM)
    assert took < 5


def test_cli_api_key_is_required_and_never_printed() -> None:
    command = [CLI, "sandbox", "--port", "0", "--api-key", "secret123", "--log-level", "debug"]
    with _serving(command) as served:
        url = served.wait_ready()
        other = httpx.post(url + "/v2/users", json={}, headers={"Authorization": "Basic other"})
        assert (other.status_code, other.json()) == (401, UNAUTHORIZED)
        good = httpx.post(url + "/v2/users", json={}, headers={"Authorization": "Basic secret123"})
        assert good.status_code == 200
        served.stop(lambda: served.process.send_signal(signal.SIGINT))
        printed = served.output()
    assert "1 configured API key(s) accepted" in printed
    assert "secret123" not in printed


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("given", ["--tls-cert", "--tls-key"])
def test_cli_tls_files_go_together(tmp_path: Path, given: str) -> None:
    done = _run_cli("sandbox", "--port", "0", given, str(tmp_path / "file.pem"))
    assert done.returncode == 2
    assert "error: --tls-cert and --tls-key go together" in done.stderr
    assert "ready" not in done.stdout


def test_cli_port_in_use(port_in_use: int) -> None:
    done = _run_cli("sandbox", "--port", str(port_in_use))
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port_in_use}" in done.stderr
    assert "ready" not in done.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--help"], "sandbox"), (["sandbox", "--help"], "--port"), (["--version"], __version__)],
)
def test_cli_help(args: list[str], expected: str) -> None:
    done = _run_cli(*args)
    assert done.returncode == 0
    assert expected in done.stdout


# ---- the pytest plugin --------------------------------------------------------------------------

INNER_TESTS = """
import httpx


def post_user(sandbox, uid):
    answer = httpx.post(
        sandbox.url + "/v2/users",
        json={"uid": uid},
        headers={"Authorization": "Basic " + sandbox.api_key},
    )
    assert answer.status_code == 200


def test_first(sandbox):
    post_user(sandbox, "first")
    assert sandbox.stats()["users"] == 1


def test_second(sandbox):
    post_user(sandbox, "second")
    assert sandbox.stats()["users"] == 1
"""


def test_plugin_gives_a_fresh_sandbox_to_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_users=INNER_TESTS,
        test_location="""
import httpx

def test_own_server(sandbox):
    assert sandbox.url.startswith("http://127.0.0.1:")
    config = httpx.get(sandbox.url + "/_sandbox/config").json()
    assert config["job_delay_s"] == 0.05
""",
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--sandbox-job-delay=0.05")
    result.assert_outcomes(passed=3)


def test_plugin_attaches_to_a_running_sandbox(
    pytester: pytest.Pytester, sandbox: Sandbox, fs: httpx.Client
) -> None:
    pytester.makepyfile(
        test_users=INNER_TESTS,
        test_location=f"""
def test_attached(sandbox):
    assert sandbox.url == "{sandbox.url}"
""",
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--sandbox-url={sandbox.url}")
    result.assert_outcomes(passed=3)
    assert [(r["path"], r["status"]) for r in sandbox.requests()] == [("/v2/users", "200")]
    assert sandbox.stats()["users"] == 1
    assert _users_with_uid(fs, "second") == 1
