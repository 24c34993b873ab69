"""Batch import jobs of the sandbox (users and events), over HTTP against a running server.

Covers API-FACTS §5-§7 and §9 and §11 items 19-27: the create answer, asynchronous item-by-item
processing, COMPLETED/FAILED with /imports and /errors (202 while processing), upserts, paging,
the 50,000-item limit, unknown job ids, the in-progress limits (queued jobs and 429), the
Idempotency-Key on creates, and the generated client against the sandbox.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from support import wait_until

from fullstory_api import AuthenticatedClient
from fullstory_api.api.users import (
    create_batch_user_import_job,
    get_batch_user_import_status,
)
from fullstory_api.models import (
    BatchUserImportRequest,
    CreateBatchUserImportJobRequest,
    CreateBatchUserImportJobResponse,
    JobStatus,
    JobStatusResponse,
)
from session_analytics.sandbox import Sandbox

KINDS = ["users", "events"]
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})\Z")
FAST = {"job_delay_s": 0, "job_items_per_s": 1000}
SHARED = {"context": {"browser": {"url": "https://shop.example.com/checkout"}}}


# ---- helpers --------------------------------------------------------------------------------


def good_item(kind: str, n: int) -> dict[str, Any]:
    if kind == "users":
        return {"uid": f"good-{n}", "display_name": f"User {n}", "properties": {"seats": n}}
    return {"name": f"good-{n}", "user": {"uid": f"u-{n}"}, "properties": {"step": n}}


def bad_item(kind: str, n: int) -> dict[str, Any]:
    """An item that fails on its own: a property name that starts with a digit."""
    if kind == "users":
        return {"uid": f"bad-{n}", "properties": {"9lives": True}}
    return {"name": f"bad-{n}", "properties": {"9lives": True}}


def label(kind: str, item: dict[str, Any]) -> str:
    """What tells the items of a test apart: the uid of a user, the name of an event."""
    return str(item["uid"] if kind == "users" else item["name"])


def job_path(kind: str, job_id: str, tail: str = "") -> str:
    return f"/v2/{kind}/batch/{job_id}{tail}"


def create_job(client: httpx.Client, kind: str, items: list[Any], **extra: Any) -> dict[str, Any]:
    response = client.post(f"/v2/{kind}/batch", json={"requests": items, **extra})
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()["job"]
    return job


def wait_for_status(
    client: httpx.Client, path: str, want: str, timeout: float = 10
) -> dict[str, Any]:
    """Poll a job status route until the job has status ``want``; fail on any other end state."""

    def reached() -> dict[str, Any] | None:
        response = client.get(path)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        status = body["job"]["status"]
        assert status in (want, "PROCESSING"), f"job ended {status}, expected {want}: {body}"
        return body if status == want else None

    body: dict[str, Any] = wait_until(
        reached, timeout=timeout, what=f"{path} to be {want}", interval=0.02
    )
    return body


def read_pages(
    client: httpx.Client, path: str, **params: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Walk a paged listing; returns every result and every page envelope."""
    results: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        query = {**params, **({"page_token": token} if token else {})}
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        results += page["results"]
        token = page.get("next_page_token")
        if not token:
            return results, pages
        assert len(pages) < 100, "the listing never ends"


def parse_time(stamp: str) -> datetime:
    assert RFC3339.match(stamp), stamp
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def run_job(
    client: httpx.Client, kind: str, items: list[Any], want: str, **extra: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create a job and wait until it ends with ``want``; returns (created job, final status)."""
    job = create_job(client, kind, items, **extra)
    return job, wait_for_status(client, job_path(kind, job["id"]), want)


# ---- creating and processing -----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_create_answers_at_once_with_a_processing_job(
    sandbox: Sandbox, fs: httpx.Client, kind: str
) -> None:
    sandbox.configure(job_delay_s=0.5)
    before = time.time()
    response = fs.post(f"/v2/{kind}/batch", json={"requests": [good_item(kind, 1)]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"job"}
    job = body["job"]
    assert set(job) == {"id", "status", "created"}
    assert job["status"] == "PROCESSING"
    assert isinstance(job["id"], str)
    assert job["id"]
    created = parse_time(job["created"]).timestamp()
    assert before - 1 <= created <= time.time() + 1

    status = fs.get(job_path(kind, job["id"])).json()
    assert status == {"imports": 0, "errors": 0, "job": job}


@pytest.mark.parametrize("kind", KINDS)
def test_job_is_processed_item_by_item_in_the_background(
    sandbox: Sandbox, fs: httpx.Client, kind: str
) -> None:
    sandbox.configure(job_delay_s=0.3, job_items_per_s=20)
    items = [good_item(kind, n) for n in range(10)]  # done 0.3 + 10/20 = 0.8 s after creation
    job = create_job(fs, kind, items)

    seen: list[int] = []
    deadline = time.monotonic() + 10
    while True:
        body = fs.get(job_path(kind, job["id"])).json()
        if body["job"]["status"] != "PROCESSING":
            break
        assert "finished" not in body["job"]
        assert body["errors"] == 0
        seen.append(body["imports"])
        assert time.monotonic() < deadline, "the job never finished"
        time.sleep(0.02)

    assert seen[0] == 0
    assert seen == sorted(seen), f"imports went backwards: {seen}"
    assert any(0 < n < len(items) for n in seen), f"no partial progress seen: {seen}"
    assert body["job"]["status"] == "COMPLETED"
    assert body["imports"] == len(items)
    assert body["errors"] == 0
    assert body["job"]["id"] == job["id"]
    assert body["job"]["created"] == job["created"]
    took = (parse_time(body["job"]["finished"]) - parse_time(job["created"])).total_seconds()
    assert 0.75 <= took <= 1.5, took


@pytest.mark.parametrize("kind", KINDS)
def test_imports_and_errors_answer_202_while_processing(
    sandbox: Sandbox, fs: httpx.Client, kind: str
) -> None:
    sandbox.configure(job_delay_s=0.3, job_items_per_s=5)
    job = create_job(fs, kind, [good_item(kind, n) for n in range(3)])

    for tail, params in [
        ("/imports", {}),
        ("/imports", {"include_schema": "true"}),
        ("/errors", {}),
    ]:
        response = fs.get(job_path(kind, job["id"], tail), params=params)
        assert response.status_code == 202, (tail, response.text)
        assert response.json() == {}

    wait_for_status(fs, job_path(kind, job["id"]), "COMPLETED")
    assert fs.get(job_path(kind, job["id"], "/imports")).status_code == 200
    assert fs.get(job_path(kind, job["id"], "/errors")).status_code == 200


@pytest.mark.parametrize("kind", KINDS)
def test_job_with_only_good_items_completes_with_no_errors(
    sandbox: Sandbox, fs: httpx.Client, kind: str
) -> None:
    sandbox.configure(**FAST)
    items = [good_item(kind, n) for n in range(3)]
    job, status = run_job(fs, kind, items, "COMPLETED")

    assert status["imports"] == 3
    assert status["errors"] == 0
    assert parse_time(status["job"]["finished"]) >= parse_time(job["created"])
    imports = fs.get(job_path(kind, job["id"], "/imports")).json()
    assert imports["total_records"] == "3"
    assert [label(kind, r) for r in imports["results"]] == ["good-0", "good-1", "good-2"]
    assert [r["properties"] for r in imports["results"]] == [i["properties"] for i in items]
    if kind == "users":
        assert all(isinstance(r["id"], str) and r["id"] for r in imports["results"])
        assert [r["display_name"] for r in imports["results"]] == ["User 0", "User 1", "User 2"]
    errors = fs.get(job_path(kind, job["id"], "/errors")).json()
    assert errors["total_records"] == "0"
    assert errors.get("results", []) == []


def test_users_job_with_bad_items_fails_and_lists_them_on_errors(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    sandbox.configure(**FAST)
    long_uid = {"uid": "u" * 300, "display_name": "Too long"}
    bad_name = {"uid": "bad-name", "properties": {"bad-name": 1}}
    items = [good_item("users", 0), long_uid, good_item("users", 1), bad_name]
    job, status = run_job(fs, "users", items, "FAILED")

    assert (status["imports"], status["errors"]) == (2, 2)
    assert "finished" in status["job"]
    imports = fs.get(job_path("users", job["id"], "/imports")).json()
    assert imports["total_records"] == "2"
    assert [r["uid"] for r in imports["results"]] == ["good-0", "good-1"]

    errors = fs.get(job_path("users", job["id"], "/errors")).json()
    assert errors["total_records"] == "2"
    first, second = errors["results"]
    assert first["user"] == long_uid
    assert first["code"] == "invalid_argument"
    assert "uid" in first["message"]
    assert "256" in first["message"]
    assert second["user"] == bad_name
    assert second["code"] == "invalid_argument"
    assert "bad-name" in second["message"]

    # The failed items left nothing behind; the good ones are real users.
    listed = fs.get("/v2/users").json()
    assert listed["total_records"] == "2"
    assert sorted(u["uid"] for u in listed["results"]) == ["good-0", "good-1"]


def test_events_job_with_bad_items_fails_and_lists_them_on_errors(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    sandbox.configure(**FAST)
    empty_name = {"name": "", "properties": {"step": 1}}
    own_context = {"name": "own-context", "context": {"browser": {"url": "https://x.example"}}}
    bad_property = {"name": "bad-property", "properties": {"bad-name": "x"}}
    items = [good_item("events", 0), empty_name, own_context, good_item("events", 1), bad_property]
    job, status = run_job(fs, "events", items, "FAILED", shared=SHARED)

    assert (status["imports"], status["errors"]) == (2, 3)
    imports = fs.get(job_path("events", job["id"], "/imports")).json()
    assert imports["total_records"] == "2"
    assert [r["name"] for r in imports["results"]] == ["good-0", "good-1"]
    assert [r["context"] for r in imports["results"]] == [SHARED["context"]] * 2

    errors = fs.get(job_path("events", job["id"], "/errors")).json()
    assert errors["total_records"] == "3"
    results = errors["results"]
    assert [r["event"] for r in results] == [empty_name, own_context, bad_property]
    assert [r["shared"] for r in results] == [SHARED] * 3
    assert [r["code"] for r in results] == ["invalid_argument"] * 3
    assert "non-empty name" in results[0]["message"]
    assert "context" in results[1]["message"]
    assert "bad-name" in results[2]["message"]

    stored = sandbox.events("fullstory")
    assert [e["name"] for e in stored] == ["good-0", "good-1"]


def test_users_items_upsert_by_uid_and_by_fullstory_id(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.configure(**FAST)
    alice = fs.post("/v2/users", json={"uid": "alice", "display_name": "Alice"}).json()["id"]
    anon = fs.post("/v2/users", json={"display_name": "Anonymous"}).json()["id"]
    ghost = {"id": "999999999999", "display_name": "Ghost"}
    items = [
        {"uid": "alice", "email": "alice@example.com", "properties": {"plan": "pro"}},
        {"id": anon, "display_name": "Bob"},
        ghost,
    ]
    job, status = run_job(fs, "users", items, "FAILED")

    assert (status["imports"], status["errors"]) == (2, 1)
    imports = fs.get(job_path("users", job["id"], "/imports")).json()["results"]
    assert [r["id"] for r in imports] == [alice, anon]
    errors = fs.get(job_path("users", job["id"], "/errors")).json()["results"]
    assert len(errors) == 1
    assert errors[0]["code"] == "resource_not_found"
    assert errors[0]["user"] == ghost

    got_alice = fs.get(f"/v2/users/{alice}").json()
    assert got_alice["uid"] == "alice"
    assert got_alice["display_name"] == "Alice"  # kept: not in the item
    assert got_alice["email"] == "alice@example.com"
    assert got_alice["properties"] == {"plan": "pro"}
    assert fs.get(f"/v2/users/{anon}").json()["display_name"] == "Bob"
    assert fs.get("/v2/users").json()["total_records"] == "2"  # nobody new


def test_imported_events_are_recorded_with_their_job(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.configure(**FAST)
    assert fs.post("/v2/events", json={"name": "single"}).status_code == 200
    items = [good_item("events", n) for n in range(3)]
    job, _ = run_job(fs, "events", items, "COMPLETED")

    stored = sandbox.events("fullstory")
    assert [e["name"] for e in stored] == ["single", "good-0", "good-1", "good-2"]
    assert (stored[0]["via"], stored[0]["job_id"]) == ("api", None)
    for event, item in zip(stored[1:], items, strict=True):
        assert event["via"] == "batch"
        assert event["job_id"] == job["id"]
        assert event["properties"] == item["properties"]
        assert event["user"]["uid"] == item["user"]["uid"]


# ---- reading the results -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_imports_and_errors_page_through_every_item_once(
    sandbox: Sandbox, fs: httpx.Client, kind: str
) -> None:
    sandbox.configure(**FAST, results_page_size=2)
    good = [good_item(kind, n) for n in range(5)]
    bad = [bad_item(kind, n) for n in range(3)]
    items = [good[0], bad[0], good[1], good[2], bad[1], good[3], bad[2], good[4]]
    job, _ = run_job(fs, kind, items, "FAILED")

    imports, pages = read_pages(fs, job_path(kind, job["id"], "/imports"))
    assert [label(kind, r) for r in imports] == [label(kind, i) for i in good]
    assert [len(p["results"]) for p in pages] == [2, 2, 1]
    assert [p["total_records"] for p in pages] == ["5", "5", "5"]
    assert all(p["next_page_token"] for p in pages[:-1])

    errors, pages = read_pages(fs, job_path(kind, job["id"], "/errors"))
    echo = "user" if kind == "users" else "event"
    assert [r[echo] for r in errors] == bad
    assert [len(p["results"]) for p in pages] == [2, 1]
    assert [p["total_records"] for p in pages] == ["3", "3"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_page_token_that_was_not_given_out_is_refused(
    sandbox: Sandbox, fs: httpx.Client, kind: str
) -> None:
    sandbox.configure(**FAST)
    job, _ = run_job(fs, kind, [good_item(kind, 1)], "COMPLETED")
    response = fs.get(job_path(kind, job["id"], "/imports"), params={"page_token": "not-a-token"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_argument"


@pytest.mark.parametrize("kind", KINDS)
def test_include_schema_adds_the_schema_to_imports(
    sandbox: Sandbox, fs: httpx.Client, kind: str
) -> None:
    sandbox.configure(**FAST)
    item = {
        **good_item(kind, 1),
        "properties": {"plan": "pro", "seats": 3},
        "schema": {"properties": {"seats": "int"}},
    }
    job, _ = run_job(fs, kind, [item], "COMPLETED")
    path = job_path(kind, job["id"], "/imports")

    plain = fs.get(path).json()["results"][0]
    assert "schema" not in plain  # left out, never null
    assert "type_conflicts" not in plain
    assert plain["properties"] == {"plan": "pro", "seats": 3}
    for flag in ("true", "1"):
        with_schema = fs.get(path, params={"include_schema": flag}).json()["results"][0]
        assert with_schema["schema"] == {"properties": {"plan": "str", "seats": "int"}}


# ---- refused creates --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_more_than_50000_requests_are_refused(
    sandbox: Sandbox, fs: httpx.Client, kind: str
) -> None:
    sandbox.configure(job_delay_s=60)

    def body(count: int) -> bytes:
        item = '{"name": "e"}' if kind == "events" else '{"uid": "u"}'
        return ('{"requests": [' + ",".join([item] * count) + "]}").encode()

    headers = {"Content-Type": "application/json"}
    response = fs.post(f"/v2/{kind}/batch", content=body(50_001), headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_argument"
    assert "requests" in response.json()["message"]
    assert "50000" in response.json()["message"]
    assert sandbox.stats()["jobs"]["total"] == 0

    response = fs.post(f"/v2/{kind}/batch", content=body(50_000), headers=headers)
    assert response.status_code == 200, response.text
    assert sandbox.stats()["jobs"]["total"] == 1


@pytest.mark.parametrize("kind", KINDS)
def test_configured_max_batch_items_is_enforced(
    sandbox: Sandbox, fs: httpx.Client, kind: str
) -> None:
    sandbox.configure(max_batch_items=5, job_delay_s=60)
    response = fs.post(
        f"/v2/{kind}/batch", json={"requests": [good_item(kind, n) for n in range(6)]}
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_argument"
    assert "requests" in response.json()["message"]
    assert "5" in response.json()["message"]
    assert sandbox.stats()["jobs"]["total"] == 0
    create_job(fs, kind, [good_item(kind, n) for n in range(5)])
    assert sandbox.stats()["jobs"]["total"] == 1


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "body",
    [{"requests": []}, {}, {"shared": SHARED}, {"requests": {"uid": "x"}}],
    ids=["empty", "missing", "missing-with-shared", "not-a-list"],
)
def test_create_without_a_list_of_requests_is_refused(
    sandbox: Sandbox, fs: httpx.Client, kind: str, body: dict[str, Any]
) -> None:
    response = fs.post(f"/v2/{kind}/batch", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] in ("invalid_argument", "required_field")
    assert "requests" in response.json()["message"]
    assert sandbox.stats()["jobs"]["total"] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_job_id_is_not_found(fs: httpx.Client, kind: str) -> None:
    for tail in ("", "/imports", "/errors"):
        response = fs.get(job_path(kind, "no-such-job", tail))
        assert response.status_code == 404, (tail, response.text)
        assert response.json()["code"] == "resource_not_found"


def test_a_job_id_is_only_found_on_its_own_route(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.configure(**FAST)
    users_job, _ = run_job(fs, "users", [good_item("users", 1)], "COMPLETED")
    events_job, _ = run_job(fs, "events", [good_item("events", 1)], "COMPLETED")
    for kind, job in [("events", users_job), ("users", events_job)]:
        for tail in ("", "/imports", "/errors"):
            response = fs.get(job_path(kind, job["id"], tail))
            assert response.status_code == 404, (kind, tail, response.text)
            assert response.json()["code"] == "resource_not_found"


# ---- in-progress limits ----------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), [("users", "users"), ("events", "users")])
def test_beyond_max_running_jobs_a_job_waits_until_a_slot_frees(
    sandbox: Sandbox, fs: httpx.Client, first: str, second: str
) -> None:
    sandbox.configure(max_running_jobs=1, job_delay_s=0.2, job_items_per_s=10)
    job_a = create_job(fs, first, [good_item(first, n) for n in range(4)])  # 0.6 s of work
    job_b = create_job(fs, second, [good_item(second, n + 10) for n in range(4)])
    assert job_b["status"] == "PROCESSING"
    assert sandbox.stats()["jobs"]["queued"] == 1

    deadline = time.monotonic() + 10
    while True:
        status_b = fs.get(job_path(second, job_b["id"])).json()
        status_a = fs.get(job_path(first, job_a["id"])).json()
        if status_a["job"]["status"] == "COMPLETED":
            break
        assert status_b["job"]["status"] == "PROCESSING"
        assert status_b["imports"] == 0, "the second job started while the first was running"
        assert time.monotonic() < deadline, "the first job never finished"
        time.sleep(0.02)

    done_b = wait_for_status(fs, job_path(second, job_b["id"]), "COMPLETED")
    assert done_b["imports"] == 4
    gap = parse_time(done_b["job"]["finished"]) - parse_time(status_a["job"]["finished"])
    assert gap.total_seconds() >= 0.55  # B started when A finished: 0.2 s + 4 items / 10 per s


@pytest.mark.parametrize(
    ("limit", "sizes"),
    [({"max_jobs_in_progress": 2}, (3, 3, 1)), ({"max_operations_in_progress": 10}, (5, 5, 1))],
    ids=["jobs", "operations"],
)
def test_too_much_in_progress_refuses_creates_with_429(
    sandbox: Sandbox, fs: httpx.Client, limit: dict[str, int], sizes: tuple[int, int, int]
) -> None:
    sandbox.configure(**limit, job_delay_s=0.3, job_items_per_s=20)
    first, second, third = sizes
    job_a = create_job(fs, "users", [good_item("users", n) for n in range(first)])
    job_b = create_job(fs, "events", [good_item("events", n) for n in range(second)])

    for kind in KINDS:
        response = fs.post(
            f"/v2/{kind}/batch", json={"requests": [good_item(kind, n) for n in range(third)]}
        )
        assert response.status_code == 429, response.text
        assert response.json()["code"] == "too_many_requests"
        retry_after = response.headers["Retry-After"]
        assert retry_after.isdigit(), retry_after
        assert 1 <= int(retry_after) <= 5
    assert sandbox.stats()["jobs"]["total"] == 2

    wait_for_status(fs, job_path("users", job_a["id"]), "COMPLETED")
    wait_for_status(fs, job_path("events", job_b["id"]), "COMPLETED")
    create_job(fs, "users", [good_item("users", n) for n in range(third)])
    create_job(fs, "events", [good_item("events", n) for n in range(third)])
    assert sandbox.stats()["jobs"]["total"] == 4


# ---- idempotency and ids ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_idempotency_key_replays_the_same_job(
    sandbox: Sandbox, fs: httpx.Client, kind: str
) -> None:
    sandbox.configure(job_delay_s=5)
    body = {"requests": [good_item(kind, n) for n in range(3)]}
    first = fs.post(f"/v2/{kind}/batch", json=body, headers={"Idempotency-Key": "key-1"})
    again = fs.post(f"/v2/{kind}/batch", json=body, headers={"Idempotency-Key": "key-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert sandbox.stats()["jobs"]["total"] == 1

    other = fs.post(f"/v2/{kind}/batch", json=body, headers={"Idempotency-Key": "key-2"})
    assert other.status_code == 200
    assert other.json()["job"]["id"] != first.json()["job"]["id"]
    assert sandbox.stats()["jobs"]["total"] == 2


@pytest.mark.parametrize("kind", KINDS)
def test_job_ids_round_trip_percent_encoded(sandbox: Sandbox, fs: httpx.Client, kind: str) -> None:
    sandbox.configure(**FAST)
    job, _ = run_job(fs, kind, [good_item(kind, 1)], "COMPLETED")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", job["id"]), job["id"]

    encoded = quote(job["id"], safe="")
    status = fs.get(job_path(kind, encoded))
    assert status.status_code == 200
    assert status.json()["job"]["id"] == job["id"]
    assert fs.get(job_path(kind, encoded, "/imports")).json()["total_records"] == "1"

    for unknown in ("abd123=", "a b+c", "x/y?z"):
        response = fs.get(job_path(kind, quote(unknown, safe="")))
        assert response.status_code == 404, (unknown, response.text)
        assert response.json()["code"] == "resource_not_found"


# ---- the generated client --------------------------------------------------------------------


def test_generated_client_runs_a_120_user_job(sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=0.1, job_items_per_s=1000)
    client = AuthenticatedClient(base_url=sandbox.url, token=sandbox.api_key, prefix="Basic")
    requests = [
        BatchUserImportRequest(uid=f"gen-{n}", display_name=f"Generated {n}") for n in range(120)
    ]
    with client:
        created = create_batch_user_import_job.sync_detailed(
            client=client, body=CreateBatchUserImportJobRequest(requests=requests)
        )
        assert created.status_code == 200
        assert isinstance(created.parsed, CreateBatchUserImportJobResponse)
        job = created.parsed.job
        assert job.status is JobStatus.PROCESSING
        assert job.created.tzinfo is not None

        deadline = time.monotonic() + 10
        while True:
            status = get_batch_user_import_status.sync(job.id, client=client)
            assert isinstance(status, JobStatusResponse)
            if status.job.status is not JobStatus.PROCESSING:
                break
            assert time.monotonic() < deadline, "the job never finished"
            time.sleep(0.02)

    assert status.job.status is JobStatus.COMPLETED
    assert status.job.id == job.id
    assert status.imports == 120
    assert status.errors == 0
    assert isinstance(status.job.finished, datetime)
    assert status.job.finished >= job.created
    assert sandbox.stats()["users"] == 120
