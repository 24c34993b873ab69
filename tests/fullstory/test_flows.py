"""The flows of batch jobs and import_(), driven by hand one step at a time: the drivers' steps,
the job lifecycle, the import's reading, chunking, stops and resumes. No server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fullstory_api.models import (
    CreateBatchEventsImportJobResponse,
    CreateBatchUserImportJobResponse,
    GetBatchEventsImportErrorsResponse,
    GetBatchEventsImportsResponse,
    GetBatchUserImportErrorsResponse,
    GetBatchUserImportsResponse,
    JobResultsPending,
    JobStatus,
    JobStatusResponse,
)
from fullstory_api.types import UNSET
from session_analytics.errors import (
    FSBadRequestError,
    FSError,
    FSForbiddenError,
    FSInvalidArgumentError,
    FSMaxRetryError,
    FSNotFoundError,
    FSParseError,
    FSRateLimitedError,
    FSServerError,
    FSUnauthorizedError,
    ImportFailure,
)
from session_analytics.fullstory import (
    BatchJob,
    BatchJobOptions,
    _requests,
)
from session_analytics.fullstory._calls import ApiResponse, Call
from session_analytics.fullstory._flow import Emit, Flow, Request, Sleep
from session_analytics.fullstory._jobs.import_ import _Importer
from session_analytics.fullstory._jobs.lifecycle import _JobCore

# ---- flows driven by hand ---------------------------------------------------------------------

OPERATIONS = {
    "users": {
        "create_batch_user_import_job": "create",
        "get_batch_user_import_status": "status",
        "get_batch_user_imports": "imports",
        "get_batch_user_import_errors": "errors",
    },
    "events": {
        "create_batch_events_import_job": "create",
        "get_batch_events_import_status": "status",
        "get_batch_events_imports": "imports",
        "get_batch_events_import_errors": "errors",
    },
}
Answers = list[Any] | Callable[[Call[Any]], Any]


class Driver:
    """Drives a flow by hand: answers each Request from a script (by role: create, status,
    imports, errors) and records every step as ("create"), ("sleep", s) or ("emit", event)."""

    def __init__(self, kind: _requests.Kind, **answers: Answers) -> None:
        self.kind = kind
        self.answers = {role: a if callable(a) else list(a) for role, a in answers.items()}
        self.steps: list[tuple[Any, ...]] = []
        self.calls: list[tuple[str, Call[Any]]] = []
        self.emits: list[Emit] = []

    def _answer(self, call: Call[Any]) -> Any:
        operation = call.operation.__name__.rsplit(".", 1)[-1]
        role = OPERATIONS[self.kind].get(operation)
        if role is None:
            pytest.fail(f"a {self.kind} flow called {operation}")
        self.steps.append((role,))
        self.calls.append((role, call))
        source = self.answers.get(role)
        if callable(source):
            return source(call)
        if not source:
            pytest.fail(f"no answer left for {role}")
        return source.pop(0)

    def run(self, flow: Flow[Any]) -> Any:
        outcome: Any = None
        while True:
            try:
                step = flow.send(outcome)
            except StopIteration as stop:
                return stop.value
            outcome = None
            if isinstance(step, Request):
                outcome = self._answer(step.call)
            elif isinstance(step, Sleep):
                self.steps.append(("sleep", step.seconds))
            else:
                self.steps.append(("emit", step.event))
                self.emits.append(step)

    def emitted(self, event: str) -> list[tuple[Any, ...]]:
        return [emit.args for emit in self.emits if emit.event == event]

    def requests(self, role: str) -> list[Call[Any]]:
        return [call for each, call in self.calls if each == role]

    @property
    def sleeps(self) -> list[float]:
        return [step[1] for step in self.steps if step[0] == "sleep"]


def ok(body: Any) -> ApiResponse[Any]:
    return ApiResponse(body=body, http_status_code=200, http_headers=httpx.Headers())


def job(state: str = "PROCESSING", job_id: str = "j1") -> dict[str, Any]:
    return {"id": job_id, "status": state, "created": "2024-02-01T12:00:00Z"}


def created(kind: _requests.Kind = "users", job_id: str = "j1") -> ApiResponse[Any]:
    model = (
        CreateBatchUserImportJobResponse if kind == "users" else CreateBatchEventsImportJobResponse
    )
    return ok(model.from_dict({"job": job(job_id=job_id)}))


def status(
    state: str, *, imports: int = 0, errors: int | None = None, job_id: str = "j1"
) -> ApiResponse[JobStatusResponse]:
    body: dict[str, Any] = {"job": job(state, job_id), "imports": imports}
    if errors is not None:
        body["errors"] = errors
    return ok(JobStatusResponse.from_dict(body))


def imports_page(
    kind: _requests.Kind, names: list[str], token: str | None = None
) -> ApiResponse[Any]:
    if kind == "users":
        results: list[Any] = [{"id": f"fs-{name}", "uid": name} for name in names]
        model: Any = GetBatchUserImportsResponse
    else:
        results, model = [{"name": name} for name in names], GetBatchEventsImportsResponse
    body = {"results": results, "total_records": str(len(names))}
    if token:
        body["next_page_token"] = token
    return ok(model.from_dict(body))


def echo(kind: _requests.Kind, name: str) -> dict[str, Any]:
    """A failed item as the API echoes it back."""
    return {"user": {"uid": name}} if kind == "users" else {"event": {"name": name}}


def errors_page(
    kind: _requests.Kind, names: list[str], token: str | None = None
) -> ApiResponse[Any]:
    results = [
        {"code": "invalid_argument", "message": f"{name} is bad", **echo(kind, name)}
        for name in names
    ]
    model: Any = (
        GetBatchUserImportErrorsResponse if kind == "users" else GetBatchEventsImportErrorsResponse
    )
    body: dict[str, Any] = {"results": results, "total_records": str(len(names))}
    if token:
        body["next_page_token"] = token
    return ok(model.from_dict(body))


def items(kind: _requests.Kind, count: int) -> list[dict[str, Any]]:
    if kind == "users":
        return [{"uid": f"u{i}"} for i in range(count)]
    return [{"name": f"e{i}", "user": {"uid": f"u{i}"}} for i in range(count)]


def new_job(
    kind: _requests.Kind = "users",
    count: int = 2,
    *,
    poll_interval: float = 1.0,
    max_retry: int = 3,
) -> _JobCore[Any, Any]:
    options = BatchJobOptions(poll_interval=poll_interval, max_retry=max_retry)
    return _JobCore(
        kind, items(kind, count), shared_context=None, include_schema=False, options=options
    )


def detached_job() -> BatchJob[Any, Any]:
    """A BatchJob without a client: its flow is driven by hand, never by its thread."""
    return BatchJob(
        cast(Any, None),
        "users",
        items("users", 1),
        shared_context=None,
        include_schema=False,
        options=None,
    )


def server_error() -> FSServerError:
    return FSServerError("GET answered 503", http_status_code=503)


# ---- job flow ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["users", "events"])
def test_job_lifecycle(kind: _requests.Kind) -> None:
    batch = new_job(kind, poll_interval=1.5)
    drive = Driver(
        kind,
        create=[created(kind)],
        status=[status("PROCESSING"), status("COMPLETED", imports=3)],
        imports=[imports_page(kind, ["a", "b"], "p2"), imports_page(kind, ["c"])],
        errors=[errors_page(kind, [])],
    )
    assert drive.run(batch.flow()) is None
    assert drive.steps == [
        ("create",),
        ("emit", "created"),
        ("sleep", 1.5),
        ("status",),
        ("emit", "processing"),
        ("sleep", 1.5),
        ("status",),
        ("imports",),
        ("imports",),
        ("errors",),
        ("emit", "done"),
    ]
    [create] = drive.requests("create")
    assert create.kwargs["body"].to_dict()["requests"] == items(kind, 2)
    assert create.kwargs["idempotency_key"] == batch._key
    assert [call.kwargs["page_token"] for call in drive.requests("imports")] == [UNSET, "p2"]
    assert drive.requests("status")[0].max_retries == 0  # polls count failures themselves
    [(metadata,)] = drive.emitted("created")
    assert metadata.id == "j1"
    assert drive.emitted("processing") == [(batch,)]
    [(imported, failed)] = drive.emitted("done")
    assert len(imported) == 3
    assert failed == []
    assert batch.id == "j1"
    assert batch.status is JobStatus.COMPLETED
    result = batch._result()
    assert (result.job_id, result.imports_count, result.errors_count) == ("j1", 3, 0)


def test_failed_job_collects_imports_and_errors() -> None:
    batch = new_job()
    drive = Driver(
        "users",
        create=[created()],
        status=[status("FAILED", imports=1, errors=2)],
        imports=[imports_page("users", ["a"])],
        errors=[errors_page("users", ["b"], "e2"), errors_page("users", ["c"])],
    )
    drive.run(batch.flow())
    [(imported, failed)] = drive.emitted("done")
    assert [item.uid for item in imported] == ["a"]
    assert [item.user.uid for item in failed] == ["b", "c"]
    assert [item.code for item in failed] == ["invalid_argument"] * 2
    result = batch._result()
    assert result.status is JobStatus.FAILED
    assert (result.imports_count, result.errors_count) == (1, 2)
    assert len(result.imported) == 1
    assert len(result.failed) == 2


def test_a_good_poll_resets_the_failure_count() -> None:
    batch = new_job(max_retry=3)
    drive = Driver(
        "users",
        create=[created()],
        status=[
            server_error(),
            server_error(),
            status("PROCESSING"),
            server_error(),
            server_error(),
            status("COMPLETED", imports=2),
        ],
        imports=[imports_page("users", ["a", "b"])],
        errors=[errors_page("users", [])],
    )
    drive.run(batch.flow())
    assert drive.sleeps == [1.0, 2.0, 4.0, 1.0, 2.0, 4.0]
    assert len(drive.emitted("error")) == 4
    assert drive.emitted("abort") == []
    assert len(drive.emitted("done")) == 1


@pytest.mark.parametrize("max_retry", [1, 3])
def test_max_retry_failed_polls_abort_the_job(max_retry: int) -> None:
    batch = new_job(max_retry=max_retry)
    failures = [server_error() for _ in range(max_retry)]
    drive = Driver("users", create=[created()], status=list(failures))
    drive.run(batch.flow())
    assert drive.steps[-2:] == [("emit", "error"), ("emit", "abort")]
    errors = [args[0] for args in drive.emitted("error")]
    assert errors[:-1] == failures
    gave_up = errors[-1]
    assert isinstance(gave_up, FSMaxRetryError)
    assert gave_up.last_error is failures[-1]
    assert gave_up.retries_taken == max_retry
    assert gave_up.__cause__ is failures[-1]
    assert drive.emitted("abort") == [([*failures, gave_up],)]
    assert drive.emitted("done") == []
    with pytest.raises(FSMaxRetryError):
        batch._result()


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [(7.0, 7.0), (None, 2.0), (0.5, 2.0), (3600.0, 60.0)],
)
def test_rate_limited_poll_waits_as_asked(retry_after: float | None, wait: float) -> None:
    batch = new_job()
    limited = FSRateLimitedError("slow down", retry_after=retry_after, http_status_code=429)
    drive = Driver(
        "users",
        create=[created()],
        status=[limited, status("COMPLETED")],
        imports=[imports_page("users", [])],
        errors=[errors_page("users", [])],
    )
    drive.run(batch.flow())
    assert drive.sleeps == [1.0, wait]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(FSNotFoundError("no such job", http_status_code=404), id="404"),
        pytest.param(FSUnauthorizedError("who", http_status_code=401), id="401"),
        pytest.param(FSForbiddenError("no", http_status_code=403), id="403"),
        pytest.param(FSParseError("unreadable", http_status_code=200), id="parse"),
    ],
)
def test_unfixable_poll_failure_aborts_at_once(error: FSError) -> None:
    batch = new_job(max_retry=3)
    drive = Driver("users", create=[created()], status=[error])
    drive.run(batch.flow())
    assert drive.steps[2:] == [
        ("sleep", 1.0),
        ("status",),
        ("emit", "error"),
        ("emit", "abort"),
    ]
    assert drive.emitted("abort") == [([error],)]


def test_refused_create_aborts() -> None:
    batch = new_job()
    refused = FSBadRequestError("too many items", http_status_code=400)
    drive = Driver("users", create=[refused])
    drive.run(batch.flow())
    assert drive.steps == [("create",), ("emit", "error"), ("emit", "abort")]
    assert batch.id is None


def test_results_not_ready_are_waited_for() -> None:
    batch = new_job(max_retry=2)
    pending = ok(JobResultsPending.from_dict({}))
    drive = Driver(
        "users",
        create=[created()],
        status=[status("COMPLETED", imports=1)],
        imports=[pending, pending, imports_page("users", ["a"])],
        errors=[errors_page("users", [])],
    )
    drive.run(batch.flow())
    assert drive.steps[4:] == [
        ("imports",),
        ("sleep", 1.0),
        ("imports",),
        ("sleep", 1.0),
        ("imports",),
        ("errors",),
        ("emit", "done"),
    ]
    [(imported, _)] = drive.emitted("done")
    assert len(imported) == 1


def listener(*args: Any) -> None:
    """A listener that does nothing; compared by identity."""


def test_late_listeners_get_what_they_missed() -> None:
    batch = new_job()
    assert batch._register("done", listener) == []
    assert batch._register("created", listener) == []
    drive = Driver(
        "users",
        create=[created()],
        status=[server_error(), status("COMPLETED", imports=1)],
        imports=[imports_page("users", ["a"])],
        errors=[errors_page("users", [])],
    )
    drive.run(batch.flow())
    done = [emit for emit in drive.emits if emit.event == "done"]
    assert [list(emit.listeners) for emit in done] == [[listener]]
    [(imported, failed)] = batch._register("done", listener)
    assert [item.uid for item in imported] == ["a"]
    assert failed == []
    assert batch._register("created", listener) == drive.emitted("created")
    assert drive.emitted("created")[0][0].status is JobStatus.PROCESSING
    [(error,)] = batch._register("error", listener)
    assert isinstance(error, FSServerError)
    assert batch._register("abort", listener) == []
    assert batch._register("processing", listener) == []


def test_late_abort_listener() -> None:
    batch = new_job()
    gone = FSNotFoundError("no such job", http_status_code=404)
    Driver("users", create=[created()], status=[gone]).run(batch.flow())
    assert batch._register("abort", listener) == [([gone],)]
    assert batch._register("error", listener) == [(gone,)]
    assert batch._register("done", listener) == []


def test_batch_job_calls_a_late_listener_at_once() -> None:
    batch = detached_job()
    Driver(
        "users",
        create=[created()],
        status=[status("COMPLETED", imports=1)],
        imports=[imports_page("users", ["a"])],
        errors=[errors_page("users", [])],
    ).run(batch.flow())
    heard: list[tuple[Any, ...]] = []
    batch.on("done", lambda *args: heard.append(args))
    batch.on("created", lambda *args: heard.append(args))
    assert len(heard) == 2
    assert [item.uid for item in heard[0][0]] == ["a"]
    assert heard[1][0].id == "j1"


def test_unknown_event_is_refused() -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        new_job()._register("finished", listener)
    assert info.value.field == "event"


def test_add_after_execute_is_refused() -> None:
    batch = new_job()
    batch._start(None, restart=False)  # what execute() does
    with pytest.raises(FSInvalidArgumentError, match="already executed"):
        batch._add(items("users", 1))
    assert len(batch.requests) == 2


def test_add_after_the_job_was_created_is_refused() -> None:
    batch = detached_job()
    Driver("users", create=[created()], status=[FSNotFoundError("x", http_status_code=404)]).run(
        batch.flow()
    )
    with pytest.raises(FSInvalidArgumentError, match="already executed"):
        batch.add({"uid": "late"})
    assert len(batch.requests) == 1


def test_a_job_holds_at_most_50000_items() -> None:
    full = new_job(count=50_000)
    assert len(full.requests) == 50_000
    with pytest.raises(FSInvalidArgumentError, match="at most 50000") as info:
        full._add([{"uid": "one-more"}])
    assert info.value.field == "requests"
    assert len(full.requests) == 50_000
    with pytest.raises(FSInvalidArgumentError, match="at most 50000"):
        new_job(count=50_001)


def test_job_items_are_checked_when_added() -> None:
    with pytest.raises(FSInvalidArgumentError) as info:
        _JobCore(
            "users",
            [{"uid": "ok"}, {"displayName": "Ann"}],
            shared_context=None,
            include_schema=False,
            options=None,
        )
    assert info.value.field == "requests[1].displayName"


# ---- import flow ------------------------------------------------------------------------------


def importer(
    kind: _requests.Kind,
    source: list[Any],
    *,
    chunk_size: int,
    jobs_in_flight: int = 4,
    max_retry: int = 3,
    **listeners: Any,
) -> _Importer:
    return _Importer(
        kind,
        source,
        shared_context=None,
        options=BatchJobOptions(poll_interval=1.0, max_retry=max_retry),
        jobs_in_flight=jobs_in_flight,
        chunk_size=chunk_size,
        on_progress=listeners.get("on_progress"),
        on_failed=listeners.get("on_failed"),
        on_imported=listeners.get("on_imported"),
        include_schema=False,
    )


class FakeJobs:
    """Creates a job for every create and reports it COMPLETED, all imported, at its first poll;
    checks that no more than ``limit`` jobs are ever running."""

    def __init__(self, kind: _requests.Kind, limit: int) -> None:
        self.kind = kind
        self.limit = limit
        self.sizes: dict[str, int] = {}
        self.running = 0

    def create(self, call: Call[Any]) -> ApiResponse[Any]:
        job_id = f"j{len(self.sizes) + 1}"
        self.sizes[job_id] = len(call.kwargs["body"].to_dict()["requests"])
        self.running += 1
        assert self.running <= self.limit
        return created(self.kind, job_id)

    def status(self, call: Call[Any]) -> ApiResponse[Any]:
        self.running -= 1
        job_id = call.kwargs["job_id"]
        return status("COMPLETED", imports=self.sizes[job_id], job_id=job_id)


def test_import_sends_chunks_with_jobs_in_flight_at_most() -> None:
    fake = FakeJobs("users", limit=2)
    drive = Driver("users", create=fake.create, status=fake.status)
    result = drive.run(importer("users", items("users", 5), chunk_size=2, jobs_in_flight=2).flow())
    roles = [step[0] for step in drive.steps if step[0] != "emit"]
    assert roles == ["create", "create", "sleep", "status", "status", "create", "sleep", "status"]
    bodies = [call.kwargs["body"].to_dict()["requests"] for call in drive.requests("create")]
    assert bodies == [items("users", 5)[0:2], items("users", 5)[2:4], items("users", 5)[4:]]
    keys = [call.kwargs["idempotency_key"] for call in drive.requests("create")]
    assert len(set(keys)) == 3
    assert (result.read, result.submitted, result.imported, result.failed_count) == (5, 5, 5, 0)
    assert result.job_ids == ["j1", "j2", "j3"]
    assert result.ok


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param(
            lambda: FSRateLimitedError("busy", retry_after=5.0, http_status_code=429), id="429"
        ),
        pytest.param(
            lambda: FSMaxRetryError(
                "gave up",
                last_error=FSRateLimitedError("busy", retry_after=5.0, http_status_code=429),
                retries_taken=3,
            ),
            id="429-after-retries",
        ),
    ],
)
def test_busy_create_waits_and_reuses_its_key(refusal: Callable[[], FSError]) -> None:
    fake = FakeJobs("events", limit=4)
    answers = [refusal(), fake.create, fake.create]

    def create(call: Call[Any]) -> Any:
        answer = answers.pop(0)
        return answer(call) if callable(answer) else answer

    drive = Driver("events", create=create, status=fake.status)
    result = drive.run(importer("events", items("events", 2), chunk_size=1).flow())
    assert drive.steps[:3] == [("create",), ("sleep", 5.0), ("create",)]
    calls = drive.requests("create")
    keys = [call.kwargs["idempotency_key"] for call in calls]
    assert keys[0] == keys[1]
    assert keys[2] != keys[1]
    bodies = [call.kwargs["body"].to_dict()["requests"] for call in calls]
    assert bodies[0] == bodies[1] == items("events", 2)[:1]
    assert (result.submitted, result.imported) == (2, 2)


def test_unfixable_create_failure_stops_the_import() -> None:
    refused = FSForbiddenError("no", http_status_code=403)
    drive = Driver("users", create=[refused])
    with pytest.raises(FSForbiddenError):
        drive.run(importer("users", items("users", 3), chunk_size=2).flow())
    assert drive.steps == [("create",)]


def test_invalid_items_are_reported_not_sent() -> None:
    source = [{"uid": "a"}, {"displayName": "x"}, {"uid": "b"}, {"uid": "u" * 257}]
    fake = FakeJobs("users", limit=4)
    drive = Driver("users", create=fake.create, status=fake.status)
    result = drive.run(importer("users", source, chunk_size=10).flow())
    [create] = drive.requests("create")
    assert create.kwargs["body"].to_dict()["requests"] == [{"uid": "a"}, {"uid": "b"}]
    assert [(f.index, f.code, f.job_id, f.item) for f in result.failed] == [
        (1, "invalid_argument", None, {"displayName": "x"}),
        (3, "invalid_argument", None, {"uid": "u" * 257}),
    ]
    assert "items[1].displayName" in result.failed[0].message
    assert (result.read, result.submitted, result.imported, result.failed_count) == (4, 2, 2, 2)
    assert not result.ok


def test_server_failures_are_named_with_their_job() -> None:
    drive = Driver(
        "users",
        create=[created()],
        status=[status("PROCESSING"), status("FAILED", imports=2, errors=2)],
        errors=[errors_page("users", ["c"], "e2"), errors_page("users", ["d"])],
    )
    source = [*items("users", 4), {"uid": 5}]
    result = drive.run(importer("users", source, chunk_size=10).flow())
    assert [(f.job_id, f.index, f.code, f.item) for f in result.failed[1:]] == [
        ("j1", None, "invalid_argument", {"uid": "c"}),
        ("j1", None, "invalid_argument", {"uid": "d"}),
    ]
    assert result.failed[0].index == 4
    assert drive.requests("imports") == []  # counts come from the status
    assert (result.read, result.submitted, result.imported, result.failed_count) == (5, 4, 2, 3)
    assert result.read == result.submitted + 1
    assert result.submitted == result.imported + 2
    assert result.job_ids == ["j1"]


def test_listeners_take_failures_and_imported_items() -> None:
    heard: dict[str, list[Any]] = {"failed": [], "imported": [], "progress": []}
    drive = Driver(
        "users",
        create=[created()],
        status=[status("FAILED", imports=1, errors=1)],
        imports=[imports_page("users", ["a"])],
        errors=[errors_page("users", ["b"])],
    )
    flow = importer(
        "users",
        [{"uid": "a"}, {"uid": "b"}, {"bad": 1}],
        chunk_size=10,
        on_failed=heard["failed"].append,
        on_imported=heard["imported"].append,
        on_progress=heard["progress"].append,
    ).flow()
    result = drive.run(flow)
    for emit in drive.emits:
        for each in emit.listeners:
            each(*emit.args)
    assert result.failed == []  # on_failed took them
    assert result.failed_count == 2
    assert result.imported == 1
    assert [[f.index for f in batch] for batch in heard["failed"]] == [[2], [None]]
    assert [[i.uid for i in batch] for batch in heard["imported"]] == [["a"]]
    assert heard["progress"][-1].imported == 1
    assert heard["progress"][-1].failed == 2


def test_failed_polls_stop_the_import() -> None:
    drive = Driver("users", create=[created()], status=[server_error() for _ in range(3)])
    with pytest.raises(FSMaxRetryError) as info:
        drive.run(importer("users", items("users", 1), chunk_size=1).flow())
    assert isinstance(info.value.last_error, FSServerError)
    assert info.value.retries_taken == 3


def test_import_rate_limited_poll_waits_as_asked() -> None:
    limited = FSRateLimitedError("slow down", retry_after=7.0, http_status_code=429)
    drive = Driver("users", create=[created()], status=[limited, status("COMPLETED", imports=1)])
    drive.run(importer("users", items("users", 1), chunk_size=1).flow())
    assert drive.sleeps[0] == 1.0
    assert drive.sleeps[1] >= 7.0


def test_import_results_not_ready_are_not_read_as_empty() -> None:
    pending = ok(JobResultsPending.from_dict({}))
    drive = Driver(
        "users",
        create=[created()],
        status=[status("FAILED", imports=0, errors=1)],
        errors=[pending, errors_page("users", ["a"])],
    )
    result = drive.run(importer("users", items("users", 1), chunk_size=1).flow())
    assert result.failed_count == 1
    assert [f.item for f in result.failed] == [{"uid": "a"}]


@settings(max_examples=60, deadline=None)
@given(
    valid=st.lists(st.booleans(), max_size=25),
    chunk_size=st.integers(min_value=1, max_value=6),
    jobs_in_flight=st.integers(min_value=1, max_value=3),
)
def test_import_numbers_add_up(valid: list[bool], chunk_size: int, jobs_in_flight: int) -> None:
    source = [{"uid": f"u{i}"} if ok_ else {"uid": i} for i, ok_ in enumerate(valid)]
    fake = FakeJobs("users", limit=jobs_in_flight)
    drive = Driver("users", create=fake.create, status=fake.status)
    result = drive.run(
        importer("users", source, chunk_size=chunk_size, jobs_in_flight=jobs_in_flight).flow()
    )
    sent = [call.kwargs["body"].to_dict()["requests"] for call in drive.requests("create")]
    assert all(1 <= len(chunk) <= chunk_size for chunk in sent)
    assert [item for chunk in sent for item in chunk] == [
        item for item, ok_ in zip(source, valid, strict=True) if ok_
    ]
    assert result.read == len(valid)
    assert result.submitted == result.imported == sum(valid)
    assert result.failed_count == len(valid) - sum(valid)
    assert [f.index for f in result.failed] == [i for i, ok_ in enumerate(valid) if not ok_]
    assert all(isinstance(f, ImportFailure) for f in result.failed)
    assert fake.running == 0


def test_import_refuses_naive_timestamp_strings_locally() -> None:
    source = [
        {"name": "e0", "timestamp": "2024-01-01T00:00:00Z"},
        {"name": "e1", "timestamp": "2024-01-01T00:00:00"},
        {"name": "e2", "timestamp": "2024-01-01T02:00:00+02:00"},
    ]
    fake = FakeJobs("events", limit=4)
    drive = Driver("events", create=fake.create, status=fake.status)
    result = drive.run(importer("events", source, chunk_size=10).flow())
    [create] = drive.requests("create")
    assert create.kwargs["body"].to_dict()["requests"] == [source[0], source[2]]
    assert [(f.index, f.code, f.job_id, f.item) for f in result.failed] == [
        (1, "invalid_argument", None, source[1])
    ]
    assert "items[1].timestamp" in result.failed[0].message
    assert "add Z or an offset like +02:00" in result.failed[0].message
    assert (result.read, result.submitted, result.imported, result.failed_count) == (3, 2, 2, 1)
