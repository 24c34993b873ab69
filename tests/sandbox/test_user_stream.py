"""The sandbox's stream user creates (POST /v2/users/stream, GET /v2/users/stream/{request_id})
and DELETE /v2/users/{id}?uid=, over real HTTP: the delay, the upsert, the checks, the
Idempotency-Key replay and the permission levels.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support import wait_until

from session_analytics.sandbox import Sandbox, spec

REPLAY_HEADER = "X-Sandbox-Idempotent-Replay"
LEVELS = {"std-key": "standard", "arch-key": "architect"}


def stream(fs: httpx.Client, body: Any, **headers: str) -> str:
    response = fs.post("/v2/users/stream", json=body, headers=headers)
    assert response.status_code == 200, response.text
    spec.validate("fullstory", "CreateUserStreamResponse", response.json())
    request_id: str = response.json()["request_id"]
    return request_id


def status(fs: httpx.Client, request_id: str) -> str:
    response = fs.get(f"/v2/users/stream/{request_id}")
    assert response.status_code == 200, response.text
    spec.validate("fullstory", "UserStreamStatusResponse", response.json())
    assert set(response.json()) == {"id"}
    user_id: str = response.json()["id"]
    return user_id


def users_with_uid(fs: httpx.Client, uid: str) -> list[dict[str, Any]]:
    response = fs.get("/v2/users", params={"uid": uid})
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


# ---- stream creates ------------------------------------------------------------------------------


def test_with_no_delay_the_user_exists_at_once(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.configure(stream_delay_s=0)
    body = {"uid": "streamed", "display_name": "Stream Er", "properties": {"plan": "pro"}}

    user_id = status(fs, stream(fs, body))

    (user,) = users_with_uid(fs, "streamed")
    assert user["id"] == user_id
    assert (user["display_name"], user["properties"]) == ("Stream Er", {"plan": "pro"})


def test_with_a_delay_the_create_waits_then_completes(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.configure(stream_delay_s=0.2)

    request_id = stream(fs, {"uid": "patient"})

    user_id = wait_until(lambda: status(fs, request_id), what="the stream create to run")
    (user,) = users_with_uid(fs, "patient")
    assert user["id"] == user_id
    assert sandbox.stats()["user_streams_pending"] == 0


def test_a_queued_create_answers_an_empty_id(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.configure(stream_delay_s=3600)

    request_id = stream(fs, {"uid": "queued"})

    assert status(fs, request_id) == ""
    assert users_with_uid(fs, "queued") == []
    assert sandbox.stats()["user_streams_pending"] == 1


def test_a_stream_create_upserts_by_uid_like_post_users(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.configure(stream_delay_s=0)
    first = fs.post("/v2/users", json={"uid": "twice", "properties": {"a": 1}}).json()["id"]

    second = status(
        fs, stream(fs, {"uid": "twice", "email": "t@example.com", "properties": {"b": 2}})
    )

    assert second == first
    (user,) = users_with_uid(fs, "twice")
    assert (user["email"], user["properties"]) == ("t@example.com", {"a": 1, "b": 2})


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([], "object"),
        ({"uid": "u" * 257}, "uid"),
        ({"email": 5}, "email"),
        ({"properties": {"1bad": True}}, "properties.1bad"),
        ({"properties": {"n": "x"}, "schema": {"properties": {"n": "int"}}}, "properties.n"),
    ],
)
def test_a_bad_user_is_refused_at_once_and_nothing_is_queued(
    sandbox: Sandbox, fs: httpx.Client, body: Any, fragment: str
) -> None:
    response = fs.post("/v2/users/stream", json=body)

    assert response.status_code == 400, response.text
    assert fragment in response.json()["message"]
    assert sandbox.stats()["user_streams_pending"] == 0


def test_an_unknown_request_is_404(sandbox: Sandbox, fs: httpx.Client) -> None:
    response = fs.get("/v2/users/stream/00000000-0000-4000-8000-000000000000")

    assert response.status_code == 404
    assert set(response.json()) == {"code", "message"}


def test_the_idempotency_key_replays_the_same_request(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.configure(stream_delay_s=0)
    key = {"Idempotency-Key": "stream-1"}

    first = fs.post("/v2/users/stream", json={"uid": "once"}, headers=key)
    again = fs.post("/v2/users/stream", json={"uid": "once"}, headers=key)
    other = fs.post("/v2/users/stream", json={"uid": "other"}, headers=key)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers.get(REPLAY_HEADER) == "true"
    assert REPLAY_HEADER not in first.headers
    assert other.status_code == 400
    assert sandbox.stats()["users"] == 1


def test_a_fault_hits_the_stream_create(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.set_faults(error_rate=1, paths=["/v2/users/stream"])

    response = fs.post("/v2/users/stream", json={"uid": "unlucky"})

    assert response.status_code == 500
    assert sandbox.stats()["user_streams_pending"] == 0
    assert sandbox.stats()["faults_injected"] == {"error": 1}


# ---- DELETE /v2/users/{id}?uid= ------------------------------------------------------------------


def test_delete_with_a_uid_deletes_that_user_whatever_the_path_id(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    sandbox.configure(deletion_window_s=0)
    kept = fs.post("/v2/users", json={"uid": "kept"}).json()["id"]
    fs.post("/v2/users", json={"uid": "doomed"})

    response = fs.delete(f"/v2/users/{kept}", params={"uid": "doomed"})

    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert users_with_uid(fs, "doomed") == []
    assert [u["id"] for u in users_with_uid(fs, "kept")] == [kept]
    assert fs.delete("/v2/users/-", params={"uid": "doomed"}).status_code == 404
    assert fs.delete("/v2/users", params={"uid": "kept"}).status_code == 200
    assert users_with_uid(fs, "kept") == []


def test_delete_with_an_empty_uid_is_refused(sandbox: Sandbox, fs: httpx.Client) -> None:
    response = fs.delete("/v2/users/123", params={"uid": ""})

    assert response.status_code == 400
    assert "uid" in response.json()["message"]


# ---- permission levels ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def leveled() -> Iterator[Sandbox]:
    with Sandbox(api_key=LEVELS, stream_delay=0) as server:
        yield server


def client(server: Sandbox, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Basic {key}"})


def test_a_standard_key_creates_but_only_an_architect_key_reads_the_status(
    leveled: Sandbox,
) -> None:
    with client(leveled, "std-key") as standard, client(leveled, "arch-key") as architect:
        request_id = stream(standard, {"uid": "levels"})
        refused = standard.get(f"/v2/users/stream/{request_id}")
        assert refused.status_code == 403
        assert status(architect, request_id) != ""
        for method, path in [
            ("GET", "/v2/sessions?uid=levels"),
            ("GET", "/v2/organization/quotas"),
            ("GET", "/v2/visit_profile"),
        ]:
            assert standard.request(method, path).status_code == 200, path


@pytest.mark.parametrize("route", ["/v2/users", "/v2/users/stream", "/v2/annotations"])
def test_a_lone_surrogate_in_a_body_is_refused(
    sandbox: Sandbox, fs: httpx.Client, route: str
) -> None:
    body = b'{"uid": "a", "text": "t", "properties": {"k": "\\udc00"}}'

    response = fs.post(route, content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400, response.text
    assert "lone surrogate" in response.json()["message"]
    assert sandbox.stats()["users"] == 0
    assert sandbox.annotations() == []
