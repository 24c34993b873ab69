"""``import_()`` overlaps its requests: the next chunk is read while a create is in flight, the
running jobs are polled at once, and a finished job's results are read while the next job is
created. Against the real sandbox over loopback HTTP, with latency injected, for FullStory and
AsyncFullStory. Every check is about order or counts, never about how long something took.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx

from session_analytics.fullstory import BatchJobOptions, ImportFailure
from session_analytics.sandbox import Sandbox

FAST = BatchJobOptions(poll_interval=0.05)
STATUS = "GET /v2/users/batch/{job_id}"
ERRORS = "GET /v2/users/batch/{job_id}/errors"
CREATE = "POST /v2/users/batch"


class Concurrency:
    """Counts the requests to job status routes that are on the wire at the same moment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def enter(self, request: httpx.Request) -> bool:
        polled = request.method == "GET" and request.url.path.count("/") == 4
        if polled:
            with self._lock:
                self.now += 1
                self.most = max(self.most, self.now)
        return polled

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


class Counting(httpx.HTTPTransport):
    def __init__(self, seen: Concurrency) -> None:
        super().__init__()
        self._seen = seen

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        polled = self._seen.enter(request)
        try:
            return super().handle_request(request)
        finally:
            if polled:
                self._seen.leave()


class AsyncCounting(httpx.AsyncHTTPTransport):
    def __init__(self, seen: Concurrency) -> None:
        super().__init__()
        self._seen = seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        polled = self._seen.enter(request)
        try:
            return await super().handle_async_request(request)
        finally:
            if polled:
                self._seen.leave()


def users(count: int, tag: str = "u") -> list[dict[str, Any]]:
    return [{"uid": f"{tag}-{n}", "display_name": f"User {n}"} for n in range(count)]


def bad_user(n: int) -> dict[str, Any]:
    return {"id": f"no-such-user-{n}", "display_name": f"bad-{n}"}  # the API fails it


def test_running_jobs_are_polled_at_once(make_fs: Any, flavor: str, sandbox: Sandbox) -> None:
    seen = Concurrency()
    transport = Counting(seen) if flavor == "sync" else AsyncCounting(seen)
    fs = make_fs(transport=transport)
    # Jobs that run long enough to be polled several times, each poll answered slowly.
    sandbox.configure(job_delay_s=1.0)
    sandbox.set_faults(latency_ms=150, paths=["/v2/users/batch/"])
    result = fs.users.import_(users(30), options=FAST, chunk_size=10, jobs_in_flight=3)

    assert (result.read, result.submitted, result.imported) == (30, 30, 30)
    assert len(result.job_ids) == 3
    # One poll after another would never have two on the wire at once.
    assert seen.most >= 2
    assert sandbox.stats()["jobs"]["completed"] == 3


def test_the_next_chunk_is_read_while_a_create_is_in_flight(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=0.05)
    sandbox.set_faults(latency_ms=300, paths=["/v2/users/batch"])
    jobs_when_read: list[int] = []

    def source() -> Iterator[dict[str, Any]]:
        for n, user in enumerate(users(20)):
            if n == 10:  # the first item of the second chunk
                jobs_when_read.append(sandbox.stats()["jobs"]["total"])
            yield user

    result = fs.users.import_(source(), options=FAST, chunk_size=10, jobs_in_flight=2)

    # The first job's create was still on its way (held by the latency) when the second chunk
    # was read: reading did not wait for its answer.
    assert jobs_when_read == [0]
    assert (result.read, result.submitted, result.imported) == (20, 20, 20)
    assert sandbox.stats()["users"] == 20


def test_a_create_does_not_wait_for_the_results_of_a_finished_job(
    fs: Any, sandbox: Sandbox
) -> None:
    # One job at a time; the first has 5 failed items, read one per page, slowly.
    sandbox.configure(job_delay_s=0.05, results_page_size=1)
    sandbox.set_faults(latency_ms=100, paths=["/v2/users/batch"])
    first = [*users(5, "a"), *[bad_user(n) for n in range(5)]]
    result = fs.users.import_(
        [*first, *users(10, "b")], options=FAST, chunk_size=10, jobs_in_flight=1
    )

    assert (result.read, result.submitted, result.imported) == (20, 20, 15)
    assert result.failed_count == 5
    first_job = result.job_ids[0]
    log = [(r["route"], r["path"], r["status"]) for r in sandbox.requests()]
    creates = [i for i, (route, _, status) in enumerate(log) if (route, status) == (CREATE, "200")]
    pages = [i for i, (route, path, _) in enumerate(log) if route == ERRORS and first_job in path]
    assert len(creates) == 2
    assert len(pages) == 5
    # The second job was created while the first job's failed items were still being read.
    assert creates[1] < pages[-1]


def test_concurrent_jobs_count_and_name_every_item_once(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=0.2, results_page_size=2)
    sandbox.set_faults(latency_ms=40)
    items: list[dict[str, Any]] = []
    bad_names = []
    for n in range(60):
        if n % 7 == 3:
            items.append(bad_user(n))
            bad_names.append(f"bad-{n}")
        elif n % 11 == 5:
            items.append({"uid": "x" * 300, "display_name": f"refused-{n}"})  # refused locally
        else:
            items.append({"uid": f"good-{n}"})
    imported: list[Any] = []
    failed: list[ImportFailure] = []
    progress: list[Any] = []
    result = fs.users.import_(
        items,
        options=FAST,
        chunk_size=8,
        jobs_in_flight=4,
        on_imported=imported.extend,
        on_failed=failed.extend,
        on_progress=progress.append,
    )

    refused = [n for n in range(60) if n % 11 == 5 and n % 7 != 3]
    goods = [f"good-{n}" for n in range(60) if n % 7 != 3 and n % 11 != 5]
    assert result.read == 60
    assert result.submitted == 60 - len(refused)
    assert result.imported == len(goods)
    assert result.failed_count == len(bad_names) + len(refused)
    # Each item once: every imported item, every failure, nothing twice.
    assert sorted(i.uid for i in imported) == sorted(goods)
    assert sorted(f.index for f in failed if f.job_id is None) == refused
    from_jobs = [f for f in failed if f.job_id is not None]
    assert sorted(f.item["display_name"] for f in from_jobs) == sorted(bad_names)
    assert {f.job_id for f in from_jobs} <= set(result.job_ids)
    assert all(f.code == "resource_not_found" for f in from_jobs)
    assert len(result.job_ids) == len(set(result.job_ids)) == 7
    stats = sandbox.stats()
    assert stats["users"] == len(goods)
    assert stats["jobs"]["total"] == 7
    # The progress reports only move forward and end with every job done.
    for field in ("read", "submitted", "imported", "failed", "jobs_done"):
        values = [getattr(p, field) for p in progress]
        assert values == sorted(values), field
    assert (progress[-1].jobs_done, progress[-1].jobs_running) == (7, 0)
    assert max(p.jobs_running for p in progress) <= 4
