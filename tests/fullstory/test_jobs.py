"""Batch import jobs (``batch_create``) and ``import_()`` of FullStory and AsyncFullStory, against
the real sandbox over loopback HTTP.

Covers the job lifecycle and its listeners (late ones included), partial failure and result
paging, the refusals made before any I/O, failing and rate-limited status polls, ``restart``,
``wait(timeout)``, idempotent job creation, and ``import_()`` across several jobs (API-FACTS §7).
Listeners of the async flavor run on the loop's thread: they only append to lists, read after
``wait()``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fullstory_api.models import (
    BatchCreateEventsResponse,
    BatchUserImportResponse,
    FailedEventsImport,
    FailedUserImport,
    JobMetadata,
    JobStatus,
)
from session_analytics.errors import (
    FSError,
    FSInvalidArgumentError,
    FSMaxRetryError,
    FSNotFoundError,
    FSRateLimitedError,
    FSServerError,
    FSTimeoutError,
)
from session_analytics.fullstory import (
    BatchJobOptions,
    FullStory,
    ImportFailure,
    ImportProgress,
)
from session_analytics.sandbox import Sandbox

KINDS = ["users", "events"]
EVENTS = ("created", "processing", "error", "abort", "done")
FAST = BatchJobOptions(poll_interval=0.05)
SHARED = {"browser": {"url": "https://shop.example.com/checkout"}}
OWN_CONTEXT = {"browser": {"url": "https://elsewhere.example.com/"}}
MODELS = {
    "users": (BatchUserImportResponse, FailedUserImport),
    "events": (BatchCreateEventsResponse, FailedEventsImport),
}
STATUS_ROUTE = "GET /v2/{kind}/batch/{{job_id}}"


# ---- helpers --------------------------------------------------------------------------------


def good(kind: str, n: int, tag: str = "good") -> dict[str, Any]:
    if kind == "users":
        return {"uid": f"{tag}-{n}", "display_name": f"User {n}"}
    return {"name": f"{tag}-{n}", "user": {"uid": f"{tag}-user-{n}"}, "properties": {"step": n}}


def goods(kind: str, count: int, tag: str = "good") -> list[dict[str, Any]]:
    return [good(kind, n, tag) for n in range(count)]


def bad(kind: str, n: int) -> dict[str, Any]:
    """An item the API fails: a user id nobody has, an event with a context of its own while
    the job has a shared one."""
    if kind == "users":
        return {"id": f"no-such-user-{n}", "display_name": f"bad-{n}"}
    return {"name": f"bad-{n}", "context": OWN_CONTEXT}


BAD_CODE = {"users": "resource_not_found", "events": "invalid_argument"}


def imported_label(kind: str, item: Any) -> str:
    return str(item.uid if kind == "users" else item.name)


def failed_label(kind: str, failure: Any) -> str:
    return str(failure.user.display_name if kind == "users" else failure.event.name)


def new_job(fs: Any, kind: str, items: list[Any], **kwargs: Any) -> Any:
    kwargs.setdefault("options", FAST)
    if kind == "events":
        kwargs.setdefault("shared_context", SHARED)
    return getattr(fs, kind).batch_create(items, **kwargs)


def unwrap(job: Any) -> Any:
    """The SDK's own job object (the async flavor hands out a wrapper)."""
    return getattr(job, "_target", job)


def requests_to(sandbox: Sandbox, route: str, status: str = "200") -> int:
    return int(sandbox.stats()["requests"].get(route, {}).get(status, 0))


class Recorder:
    """Every listener call of a job, in order: event, arguments, the job's (id, status) at that
    moment, and when it came."""

    def __init__(self, job: Any) -> None:
        self._job = unwrap(job)
        self.calls: list[tuple[str, tuple[Any, ...], tuple[Any, Any], float]] = []
        for event in EVENTS:
            job.on(event, self._listener(event))

    def _listener(self, event: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            state = (self._job.id, self._job.status)
            self.calls.append((event, args, state, time.monotonic()))

        return record

    def args(self, event: str) -> list[tuple[Any, ...]]:
        return [args for name, args, _, _ in self.calls if name == event]

    def states(self, event: str) -> list[tuple[Any, Any]]:
        return [state for name, _, state, _ in self.calls if name == event]

    def times(self, event: str) -> list[float]:
        return [at for name, _, _, at in self.calls if name == event]

    def order(self) -> list[str]:
        """The events in the order they came, repeats of one event folded into one."""
        out: list[str] = []
        for name, _, _, _ in self.calls:
            if not out or out[-1] != name:
                out.append(name)
        return out


def late(job: Any, event: str) -> list[tuple[Any, ...]]:
    """Register a listener now and return the calls it got at once."""
    calls: list[tuple[Any, ...]] = []
    job.on(event, lambda *args: calls.append(args))
    return calls


def listed(values: Any) -> list[Any]:
    """An iterator of the sync flavor, or the list the async wrapper already collected."""
    return list(values)


# ---- 1. lifecycle and listeners ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_job_lifecycle_fires_every_listener(fs: Any, sandbox: Sandbox, kind: str) -> None:
    sandbox.configure(job_delay_s=0.3)
    items = goods(kind, 3)
    job = new_job(fs, kind, items)
    seen = Recorder(job)
    assert (job.id, job.status) == (None, None)

    job.execute()
    result = job.wait(10)

    imported_model, _ = MODELS[kind]
    assert seen.order() == ["created", "processing", "done"]
    [(metadata,)] = seen.args("created")
    assert isinstance(metadata, JobMetadata)
    assert metadata.id == job.id == result.job_id
    assert metadata.status == JobStatus.PROCESSING
    assert seen.states("created") == [(job.id, JobStatus.PROCESSING)]
    processing = seen.args("processing")
    assert len(processing) >= 2  # 0.3 s of delay polled every 0.05 s
    assert all(args == (unwrap(job),) for args in processing)
    assert set(seen.states("processing")) == {(job.id, JobStatus.PROCESSING)}
    [(imported, failed)] = seen.args("done")
    assert seen.states("done") == [(job.id, JobStatus.COMPLETED)]
    assert all(isinstance(item, imported_model) for item in imported)
    assert [imported_label(kind, item) for item in imported] == ["good-0", "good-1", "good-2"]
    assert failed == []
    assert seen.args("error") == []
    assert seen.args("abort") == []

    assert job.status == JobStatus.COMPLETED
    assert result.status == JobStatus.COMPLETED
    assert result.imported == imported
    assert result.failed == []
    assert (result.imports_count, result.errors_count) == (3, 0)
    if kind == "events":
        assert all(item.context.browser.url == SHARED["browser"]["url"] for item in imported)
    assert sandbox.stats()["jobs"]["total"] == 1


@pytest.mark.parametrize("kind", KINDS)
def test_late_listeners_get_what_already_happened(fs: Any, sandbox: Sandbox, kind: str) -> None:
    sandbox.configure(job_delay_s=0.1)
    job = new_job(fs, kind, goods(kind, 2))
    seen = Recorder(job)
    job.execute()
    job.wait(10)

    late_done = late(job, "done")
    late_created = late(job, "created")
    assert late_done == seen.args("done")
    assert len(late_done) == 1
    assert len(late_done[0][1]) == 0
    assert len(late_done[0][0]) == 2
    assert late(job, "abort") == []
    assert late(job, "error") == []
    assert late(job, "processing") == []
    # The first listeners were not called again.
    assert len(seen.args("done")) == 1
    assert len(seen.args("created")) == 1
    [(metadata,)] = late_created
    assert metadata.id == job.id
    # created(metadata) is owed what happened: the metadata the job was created with, as the
    # first listener got it (status PROCESSING), not the last status polled.
    assert late_created == seen.args("created")


# ---- 2. partial failure, result paging, refusals before sending ------------------------------


def mixed(kind: str) -> list[dict[str, Any]]:
    """Five good items and three the API fails, interleaved."""
    g, b = goods(kind, 5), [bad(kind, n) for n in range(3)]
    return [g[0], b[0], g[1], g[2], b[1], g[3], b[2], g[4]]


@pytest.mark.parametrize("kind", KINDS)
def test_partly_failed_job_yields_imported_and_failed_items(
    fs: Any, sandbox: Sandbox, kind: str
) -> None:
    sandbox.configure(job_delay_s=0.1, results_page_size=2)
    job = new_job(fs, kind, mixed(kind))
    seen = Recorder(job)
    job.execute()
    result = job.wait(10)

    imported_model, failed_model = MODELS[kind]
    assert result.status == JobStatus.FAILED == job.status
    assert [imported_label(kind, i) for i in result.imported] == [f"good-{n}" for n in range(5)]
    assert [failed_label(kind, f) for f in result.failed] == ["bad-0", "bad-1", "bad-2"]
    assert all(isinstance(i, imported_model) for i in result.imported)
    assert all(isinstance(f, failed_model) for f in result.failed)
    assert {f.code for f in result.failed} == {BAD_CODE[kind]}
    assert all(f.message for f in result.failed)
    if kind == "events":
        assert all(
            f.event.context.browser.url == OWN_CONTEXT["browser"]["url"] for f in result.failed
        )
    assert (result.imports_count, result.errors_count) == (5, 3)
    assert seen.args("done") == [(result.imported, result.failed)]
    assert seen.args("abort") == []
    assert seen.args("error") == []
    # Collecting read every page: 5 imports in pages of 2, 3 errors in pages of 2.
    imports_route = f"GET /v2/{kind}/batch/{{job_id}}/imports"
    errors_route = f"GET /v2/{kind}/batch/{{job_id}}/errors"
    assert (requests_to(sandbox, imports_route), requests_to(sandbox, errors_route)) == (3, 2)

    assert listed(job.iter_imports()) == result.imported
    assert listed(job.iter_errors()) == result.failed
    assert (requests_to(sandbox, imports_route), requests_to(sandbox, errors_route)) == (6, 4)


@pytest.mark.parametrize("kind", KINDS)
def test_without_collecting_results_the_iterators_still_stream_them(
    fs: Any, sandbox: Sandbox, kind: str
) -> None:
    sandbox.configure(job_delay_s=0.1, results_page_size=2)
    options = BatchJobOptions(poll_interval=0.05, collect_results=False)
    job = new_job(fs, kind, mixed(kind), options=options)
    seen = Recorder(job)
    job.execute()
    result = job.wait(10)

    assert seen.args("done") == [([], [])]
    assert (result.imported, result.failed) == ([], [])
    assert result.status == JobStatus.FAILED
    assert (result.imports_count, result.errors_count) == (5, 3)
    assert requests_to(sandbox, f"GET /v2/{kind}/batch/{{job_id}}/imports") == 0
    imported = listed(job.iter_imports())
    failed = listed(job.iter_errors())
    assert [imported_label(kind, i) for i in imported] == [f"good-{n}" for n in range(5)]
    assert [failed_label(kind, f) for f in failed] == ["bad-0", "bad-1", "bad-2"]
    assert requests_to(sandbox, f"GET /v2/{kind}/batch/{{job_id}}/imports") == 3
    assert requests_to(sandbox, f"GET /v2/{kind}/batch/{{job_id}}/errors") == 2


CLIENT_SIDE_BAD = {
    "users": ({"uid": "x" * 300}, "requests[2].uid"),
    "events": ({"name": "too-long", "user": {"uid": "x" * 300}}, "requests[2].user.uid"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_items_invalid_client_side_are_refused_before_sending(
    fs: Any, sandbox: Sandbox, kind: str
) -> None:
    item, where = CLIENT_SIDE_BAD[kind]
    with pytest.raises(FSInvalidArgumentError) as created:
        new_job(fs, kind, [*goods(kind, 2), item])
    assert created.value.field == where
    assert where in created.value.message

    job = new_job(fs, kind, goods(kind, 1))
    with pytest.raises(FSInvalidArgumentError) as added:
        job.add(good(kind, 1), item)
    assert added.value.field == where
    assert len(job.requests) == 1  # nothing of the refused add() was kept
    assert sandbox.stats()["requests"] == {}


# ---- 3. refused uses -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_add_after_execute_is_refused(fs: Any, sandbox: Sandbox, kind: str) -> None:
    sandbox.configure(job_delay_s=0.05)
    job = new_job(fs, kind, goods(kind, 1))
    job.execute()
    with pytest.raises(FSInvalidArgumentError) as error:
        job.add(good(kind, 1))
    assert error.value.field == "requests"
    result = job.wait(10)
    with pytest.raises(FSInvalidArgumentError):
        job.add(good(kind, 2))
    assert result.imports_count == 1
    assert len(job.requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_more_than_50000_items_are_refused(fs: Any, sandbox: Sandbox, kind: str) -> None:
    many = [good(kind, n) for n in range(50_001)]
    with pytest.raises(FSInvalidArgumentError) as created:
        new_job(fs, kind, many)
    assert created.value.field == "requests"
    job = new_job(fs, kind, many[:50_000])
    with pytest.raises(FSInvalidArgumentError) as added:
        job.add(many[-1])
    assert added.value.field == "requests"
    assert len(job.requests) == 50_000
    assert sandbox.stats()["requests"] == {}


def test_execute_without_items_and_unknown_events_are_refused(fs: Any, sandbox: Sandbox) -> None:
    empty = fs.users.batch_create(options=FAST)
    with pytest.raises(FSInvalidArgumentError) as no_items:
        empty.execute()
    assert no_items.value.field == "requests"
    with pytest.raises(FSInvalidArgumentError) as not_run:
        empty.wait(1)
    assert not_run.value.field == "job"
    with pytest.raises(FSInvalidArgumentError) as unknown:
        empty.on("finished", lambda *args: None)
    assert unknown.value.field == "event"
    assert "finished" in unknown.value.message
    assert sandbox.stats()["requests"] == {}


# ---- 4. polling: failures, abort, restart, back-off --------------------------------------------


def test_failed_polls_abort_then_restart_follows_the_same_job(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=0.1)
    # Only the job's own routes fail: the create (POST /v2/users/batch) goes through.
    sandbox.set_faults(paths=["/v2/users/batch/"], error_rate=1)
    job = fs.users.batch_create(
        goods("users", 2), options=BatchJobOptions(poll_interval=0.05, max_retry=3)
    )
    seen = Recorder(job)
    job.execute()
    with pytest.raises(FSMaxRetryError) as gave_up:
        job.wait(10)

    assert gave_up.value.name == "FS_MAX_RETRY"
    assert str(gave_up.value.name) == "FS_MAX_RETRY"
    errors = [args[0] for args in seen.args("error")]
    assert len(errors) == 4  # one per failed poll, then the FS_MAX_RETRY that ends it
    assert all(isinstance(e, FSServerError) and e.http_status_code == 500 for e in errors[:3])
    assert errors[3] is gave_up.value
    assert gave_up.value.last_error is errors[2]
    assert gave_up.value.retries_taken == 3
    assert seen.args("abort") == [(errors,)]
    assert seen.args("done") == []
    assert requests_to(sandbox, STATUS_ROUTE.format(kind="users"), "500") == 3
    job_id = job.id
    assert job_id is not None
    assert job.status == JobStatus.PROCESSING

    late_errors = late(job, "error")
    assert [args[0] for args in late_errors] == errors
    assert late(job, "abort") == [(errors,)]

    sandbox.set_faults()
    job.restart()
    result = job.wait(10)
    assert result.job_id == job_id == job.id
    assert result.status == JobStatus.COMPLETED
    assert [i.uid for i in result.imported] == ["good-0", "good-1"]
    assert len(seen.args("done")) == 1
    assert len(seen.args("abort")) == 1  # abort is not fired again
    assert len(seen.args("created")) == 1
    assert sandbox.stats()["jobs"]["total"] == 1


def test_a_restart_from_the_abort_listener_is_the_run_wait_follows(
    fs: Any, sandbox: Sandbox
) -> None:
    # The first run, still calling its abort listeners, must not end the run they started.
    sandbox.configure(job_delay_s=0.3)
    sandbox.set_faults(paths=["/v2/users/batch/"], script=["error"])  # the first poll fails
    job = fs.users.batch_create(
        goods("users", 2), options=BatchJobOptions(poll_interval=0.05, max_retry=1)
    )
    restarted: list[bool] = []

    def restart_once(errors: list[Any]) -> None:
        if not restarted:
            restarted.append(True)
            unwrap(job).restart()

    job.on("abort", restart_once)
    seen = Recorder(job)
    job.execute()
    result = job.wait(10)
    assert restarted == [True]
    assert result.status == JobStatus.COMPLETED
    assert [i.uid for i in result.imported] == ["good-0", "good-1"]
    assert len(seen.args("abort")) == 1
    assert len(seen.args("done")) == 1
    assert sandbox.stats()["jobs"]["total"] == 1


def test_a_good_poll_resets_the_failure_count(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=1.0)
    script = ["error", "error", "ok", "error", "error"]  # never 3 failures in a row
    sandbox.set_faults(paths=["/v2/users/batch/"], script=script)
    job = fs.users.batch_create(
        goods("users", 1), options=BatchJobOptions(poll_interval=0.05, max_retry=3)
    )
    seen = Recorder(job)
    job.execute()
    result = job.wait(10)

    assert result.status == JobStatus.COMPLETED
    errors = [args[0] for args in seen.args("error")]
    assert len(errors) == 4
    assert all(isinstance(e, FSServerError) for e in errors)
    assert seen.args("abort") == []
    assert len(seen.args("done")) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_restart_with_a_job_id_follows_an_existing_job(
    fs: Any, sandbox: Sandbox, kind: str
) -> None:
    sandbox.configure(job_delay_s=0.5)
    first = new_job(fs, kind, goods(kind, 3))
    created = threading.Event()
    first.on("created", lambda metadata: created.set())
    first.execute()
    assert created.wait(10)

    with pytest.raises(FSInvalidArgumentError):
        first.restart()  # it is still being followed
    follower = new_job(fs, kind, [])
    seen = Recorder(follower)
    follower.restart(first.id)
    with pytest.raises(FSInvalidArgumentError):
        follower.restart("another-job")
    result = follower.wait(10)

    assert follower.id == first.id == result.job_id
    assert result.status == JobStatus.COMPLETED
    assert [imported_label(kind, i) for i in result.imported] == ["good-0", "good-1", "good-2"]
    assert seen.args("created") == []
    assert len(seen.args("processing")) >= 1
    assert seen.args("done") == [(result.imported, [])]
    assert first.wait(10).imported == result.imported
    assert sandbox.stats()["jobs"]["total"] == 1
    assert requests_to(sandbox, f"POST /v2/{kind}/batch") == 1


def test_restart_with_an_unknown_job_id_aborts_at_once(fs: Any, sandbox: Sandbox) -> None:
    job = fs.users.batch_create(options=BatchJobOptions(poll_interval=0.05, max_retry=5))
    seen = Recorder(job)
    job.restart("no-such-job")
    with pytest.raises(FSNotFoundError) as missing:
        job.wait(10)

    assert missing.value.http_status_code == 404
    assert [args[0] for args in seen.args("error")] == [missing.value]
    assert seen.args("abort") == [([missing.value],)]
    assert seen.args("created") == []
    assert seen.args("done") == []
    assert requests_to(sandbox, STATUS_ROUTE.format(kind="users"), "404") == 1
    assert sandbox.stats()["jobs"]["total"] == 0


def test_rate_limited_poll_waits_for_retry_after(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=0)
    sandbox.set_faults(paths=["/v2/users/batch/"], script=["rate_limit"], retry_after_s=1)
    job = fs.users.batch_create(goods("users", 1), options=FAST)
    seen = Recorder(job)
    job.execute()
    result = job.wait(10)

    assert result.status == JobStatus.COMPLETED
    [(limited,)] = seen.args("error")
    assert isinstance(limited, FSRateLimitedError)
    assert limited.retry_after == 1
    assert seen.args("abort") == []
    # The next poll came no sooner than Retry-After, not after the 0.05 s poll interval.
    waited = seen.times("done")[0] - seen.times("error")[0]
    assert 0.95 <= waited < 5
    assert requests_to(sandbox, STATUS_ROUTE.format(kind="users"), "429") == 1
    assert requests_to(sandbox, STATUS_ROUTE.format(kind="users")) == 1


# ---- 5. wait(timeout) -------------------------------------------------------------------------


def test_wait_timeout_leaves_the_job_running(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=1.5)
    job = fs.users.batch_create(goods("users", 2), options=FAST)
    seen = Recorder(job)
    job.execute()
    started = time.monotonic()
    with pytest.raises(FSTimeoutError) as timed_out:
        job.wait(0.3)
    assert 0.3 <= time.monotonic() - started < 1.2
    assert timed_out.value.name == "FS_TIMEOUT"
    assert seen.args("done") == []
    assert seen.args("abort") == []

    result = job.wait(10)
    assert result.status == JobStatus.COMPLETED
    assert [i.uid for i in result.imported] == ["good-0", "good-1"]
    assert len(seen.args("done")) == 1


# ---- 6. idempotent creation -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_job_creation_survives_a_dropped_answer_without_a_duplicate(
    fs: Any, sandbox: Sandbox, kind: str
) -> None:
    sandbox.configure(job_delay_s=0.05)
    sandbox.set_faults(script=["reset"])  # the create is processed, then its answer is lost
    job = new_job(fs, kind, goods(kind, 2))
    seen = Recorder(job)
    job.execute()
    result = job.wait(10)

    assert result.status == JobStatus.COMPLETED
    assert len(result.imported) == 2
    assert [m.id for (m,) in seen.args("created")] == [result.job_id]
    assert sandbox.stats()["jobs"]["total"] == 1
    assert sandbox.stats()["requests"][f"POST /v2/{kind}/batch"] == {"dropped": 1, "200": 1}
    keys = [
        r["headers"].get("idempotency-key")
        for r in sandbox.requests()
        if r["route"] == f"POST /v2/{kind}/batch"
    ]
    assert len(keys) == 2
    assert keys[0]
    assert keys[0] == keys[1]
    if kind == "events":
        assert len(sandbox.events("fullstory")) == 2


# ---- 7. import_ -------------------------------------------------------------------------------


def progress_recorder() -> tuple[list[ImportProgress], Callable[[ImportProgress], None]]:
    snapshots: list[ImportProgress] = []
    return snapshots, snapshots.append


def assert_non_decreasing(snapshots: list[ImportProgress]) -> None:
    for field in ("read", "submitted", "imported", "failed", "jobs_done"):
        values = [getattr(s, field) for s in snapshots]
        assert values == sorted(values), field


def test_import_of_120000_users_runs_three_jobs(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=0.05, job_items_per_s=200_000)
    snapshots, on_progress = progress_recorder()
    handed_out = 0

    def users() -> Iterator[dict[str, Any]]:
        nonlocal handed_out
        for n in range(120_000):
            handed_out += 1
            yield {"uid": f"bulk-{n}"}

    result = fs.users.import_(users(), options=FAST, on_progress=on_progress)

    assert handed_out == 120_000
    assert (result.read, result.submitted, result.imported) == (120_000, 120_000, 120_000)
    assert result.ok
    assert result.failed_count == 0
    assert result.failed == []
    assert len(result.job_ids) == 3 == len(set(result.job_ids))
    assert snapshots, "on_progress was never called"
    assert_non_decreasing(snapshots)
    last = snapshots[-1]
    assert (last.imported, last.jobs_done, last.jobs_running) == (120_000, 3, 0)
    # Streaming: never more than one chunk read ahead of what was sent.
    assert all(s.read - s.submitted <= 50_000 for s in snapshots)
    stats = sandbox.stats()
    assert stats["users"] == 120_000
    assert stats["jobs"]["total"] == 3
    assert stats["jobs"]["completed"] == 3


def import_events_input() -> list[dict[str, Any]]:
    """Three good events, two refused before sending, one the API fails."""
    return [
        good("events", 0),
        {"name": "refused-uid", "user": {"uid": "x" * 300}},
        good("events", 1),
        {"name": "bad-0", "context": OWN_CONTEXT},
        good("events", 2),
        {"name": "refused-typo", "propertys": {"a": 1}},
    ]


def test_import_events_names_every_failed_item(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=0.05)
    items = import_events_input()
    result = fs.events.import_(items, shared_context=SHARED, options=FAST)

    assert (result.read, result.submitted, result.imported) == (6, 4, 3)
    assert result.failed_count == 3
    assert not result.ok
    [job_id] = result.job_ids
    refused = [f for f in result.failed if f.job_id is None]
    assert [(f.index, f.item, f.code) for f in refused] == [
        (1, items[1], "invalid_argument"),
        (5, items[5], "invalid_argument"),
    ]
    assert "items[1].user.uid" in refused[0].message
    assert "items[5].propertys" in refused[1].message
    [failed] = [f for f in result.failed if f.job_id is not None]
    assert isinstance(failed, ImportFailure)
    assert (failed.job_id, failed.index, failed.code) == (job_id, None, "invalid_argument")
    assert failed.item["name"] == "bad-0"
    assert failed.item["context"] == OWN_CONTEXT
    assert "context" in failed.message
    received = sorted(e["name"] for e in sandbox.events("fullstory"))
    assert received == ["good-0", "good-1", "good-2"]


def test_import_callbacks_take_failed_and_imported_items(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=0.05, results_page_size=2)
    failed_batches: list[list[ImportFailure]] = []
    imported_batches: list[list[Any]] = []
    result = fs.events.import_(
        import_events_input(),
        shared_context=SHARED,
        options=FAST,
        on_failed=failed_batches.append,
        on_imported=imported_batches.append,
    )

    assert result.failed == []  # on_failed took them
    assert result.failed_count == 3
    assert result.imported == 3
    failures = [f for batch in failed_batches for f in batch]
    assert sorted((f.index, f.code) for f in failures if f.job_id is None) == [
        (1, "invalid_argument"),
        (5, "invalid_argument"),
    ]
    assert [f.item["name"] for f in failures if f.job_id is not None] == ["bad-0"]
    imported = [i for batch in imported_batches for i in batch]
    assert all(isinstance(i, BatchCreateEventsResponse) for i in imported)
    assert [i.name for i in imported] == ["good-0", "good-1", "good-2"]
    assert [len(batch) for batch in imported_batches] == [2, 1]  # one call per page


def test_import_with_one_job_in_flight_runs_jobs_one_by_one(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=0.05)
    snapshots, on_progress = progress_recorder()
    result = fs.users.import_(
        goods("users", 45),
        options=FAST,
        jobs_in_flight=1,
        chunk_size=10,
        on_progress=on_progress,
    )

    assert (result.read, result.submitted, result.imported) == (45, 45, 45)
    assert result.ok
    assert len(result.job_ids) == 5 == len(set(result.job_ids))
    assert max(s.jobs_running for s in snapshots) == 1
    assert_non_decreasing(snapshots)
    assert (snapshots[-1].jobs_done, snapshots[-1].imported) == (5, 45)
    stats = sandbox.stats()
    assert stats["users"] == 45
    assert stats["jobs"]["total"] == 5


def test_import_waits_out_the_in_progress_limit(make_fs: Any, sandbox: Sandbox) -> None:
    # No transport retries: the import itself must wait out the 429 and send the chunk again.
    fs = make_fs(max_retries=0)
    sandbox.configure(job_delay_s=0.1, max_jobs_in_progress=1)
    snapshots, on_progress = progress_recorder()
    started = time.monotonic()
    result = fs.users.import_(
        goods("users", 20),
        options=FAST,
        jobs_in_flight=2,
        chunk_size=10,
        on_progress=on_progress,
    )

    assert time.monotonic() - started >= 1.0  # the sandbox's Retry-After is at least 1 s
    assert (result.read, result.submitted, result.imported) == (20, 20, 20)
    assert result.ok
    assert len(result.job_ids) == 2
    assert max(s.jobs_running for s in snapshots) == 1
    stats = sandbox.stats()
    assert stats["users"] == 20
    assert stats["jobs"]["total"] == 2
    creates = stats["requests"]["POST /v2/users/batch"]
    assert creates == {"429": 1, "200": 2}
    # The refused chunk went again with the key it was first sent with.
    keys = [
        (r["status"], r["headers"]["idempotency-key"])
        for r in sandbox.requests()
        if r["route"] == "POST /v2/users/batch"
    ]
    refused_keys = {key for status, key in keys if status == "429"}
    assert refused_keys
    assert refused_keys <= {key for status, key in keys if status == "200"}


def test_import_creates_each_job_once_when_an_answer_is_lost(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=0.05)
    sandbox.set_faults(paths=["/v2/users/batch"], script=["ok", "reset"])
    result = fs.users.import_(goods("users", 20), options=FAST, chunk_size=10)

    assert result.ok
    assert result.imported == 20
    assert len(result.job_ids) == 2
    stats = sandbox.stats()
    assert stats["jobs"]["total"] == 2
    assert stats["users"] == 20
    assert stats["requests"]["POST /v2/users/batch"] == {"200": 2, "dropped": 1}


def test_import_polls_wait_for_retry_after(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=0)
    sandbox.set_faults(paths=["/v2/users/batch/"], script=["rate_limit"], retry_after_s=1)
    started = time.monotonic()
    result = fs.users.import_(goods("users", 3), options=FAST)

    assert result.ok
    assert result.imported == 3
    assert requests_to(sandbox, STATUS_ROUTE.format(kind="users"), "429") == 1
    # The poll after the 429 must not come before Retry-After (1 s), whatever poll_interval says.
    assert time.monotonic() - started >= 0.95


def test_a_stopped_import_says_what_was_sent_and_resumes_without_duplicates(
    fs: Any, sandbox: Sandbox
) -> None:
    sandbox.configure(job_delay_s=0.05)
    source = iter(goods("events", 30))
    # The first job is created; then every status poll fails, so the import gives up.
    sandbox.set_faults(paths=["/v2/events/batch/"], script=["error"] * 200)
    with pytest.raises(FSError) as raised:
        fs.events.import_(source, options=FAST, chunk_size=10, jobs_in_flight=1)

    stopped = raised.value.import_stopped
    assert stopped is not None
    assert (stopped.read, stopped.submitted, stopped.imported) == (20, 10, 0)
    assert len(stopped.job_ids) == 1
    assert stopped.running_job_ids == stopped.job_ids
    assert stopped.running_items == 10
    assert [item["name"] for item in stopped.unsent] == [f"good-{n}" for n in range(10, 20)]

    sandbox.set_faults()
    result = fs.events.import_(itertools.chain(stopped.unsent, source), options=FAST)
    assert result.ok
    assert result.read == 20
    names = sorted(event["name"] for event in sandbox.events("fullstory"))
    assert names == sorted(f"good-{n}" for n in range(30))  # each once: none lost, none twice


def test_an_import_refused_at_its_first_job_has_sent_nothing(fs: Any, sandbox: Sandbox) -> None:
    sandbox.set_faults(paths=["/v2/users/batch"], script=["error"] * 200)
    with pytest.raises(FSError) as raised:
        fs.users.import_(goods("users", 5), options=FAST)

    stopped = raised.value.import_stopped
    assert stopped is not None
    assert (stopped.read, stopped.submitted, stopped.job_ids) == (5, 0, [])
    assert len(stopped.unsent) == 5
    assert not stopped.maybe_sent  # a 500 is the server saying it did not do it


def test_a_create_whose_answers_were_all_lost_may_have_made_its_job(
    fs: Any, sandbox: Sandbox
) -> None:
    # Each attempt is processed, then its connection dropped: the job exists, no answer came.
    sandbox.set_faults(paths=["/v2/events/batch"], script=["reset"] * 20)
    with pytest.raises(FSError) as raised:
        fs.events.import_(goods("events", 5), options=FAST)

    assert raised.value.maybe_processed
    stopped = raised.value.import_stopped
    assert stopped is not None
    assert (stopped.job_ids, stopped.maybe_sent, len(stopped.unsent)) == ([], True, 5)
    assert stopped.unsent_indices == [0, 1, 2, 3, 4]
    assert sandbox.stats()["jobs"]["total"] == 1


def test_an_import_interrupted_while_it_waits_says_where_it_stood(sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=0.05)

    def sleep(seconds: float) -> None:
        raise KeyboardInterrupt  # Ctrl-C during the first wait, after the first job was created

    source = iter(goods("users", 15))
    with (
        FullStory(sandbox.api_key, base_url=sandbox.url, sleep=sleep) as fs,
        pytest.raises(KeyboardInterrupt) as raised,
    ):
        fs.users.import_(source, options=FAST, chunk_size=10, jobs_in_flight=1)

    stopped = raised.value.import_stopped  # type: ignore[attr-defined]
    assert (stopped.read, stopped.submitted, len(stopped.running_job_ids)) == (15, 10, 1)
    assert stopped.unsent_indices == [10, 11, 12, 13, 14]
    assert not stopped.maybe_sent


def test_an_iterable_that_fails_midway_keeps_what_it_had_read(fs: Any, sandbox: Sandbox) -> None:
    def items() -> Iterator[dict[str, Any]]:
        yield from goods("users", 12)
        yield {"uid": "x" * 300}  # refused by the checks, not reported yet
        raise OSError("the disk went away")

    with pytest.raises(OSError, match="the disk went away") as raised:
        fs.users.import_(items(), options=FAST, chunk_size=10, jobs_in_flight=1)

    stopped = raised.value.import_stopped  # type: ignore[attr-defined]
    assert (stopped.read, stopped.submitted) == (13, 10)
    assert [u["uid"] for u in stopped.unsent] == ["good-10", "good-11"]
    assert [f.index for f in stopped.refused] == [12]
