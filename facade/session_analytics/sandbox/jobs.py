"""Batch import jobs: accepted at once, processed item by item in the background.

Progress is a function of time, so it is deterministic: a running job starts working
``job_delay_s`` after it started and then imports ``job_items_per_s`` items per second; every read
of the sandbox's state first catches the jobs up with the clock. Up to ``max_running_jobs`` jobs
run at once; later ones stay queued (still PROCESSING) until a slot frees up. With
``max_jobs_in_progress`` jobs or ``max_operations_in_progress`` items in progress, new jobs are
refused with 429 and a Retry-After that says when the next running job will be done.

A job with any failed item ends FAILED (partial failure included); its successful items are still
imported and listed on ``/imports`` next to the failures on ``/errors``.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from . import spec
from .config import SandboxConfig
from .errors import ApiError, bad_request, not_found, too_many_requests
from .fullstory import Clock, FullStoryState, check_event_body, utc_iso
from .paging import paginate

Kind = Literal["users", "events"]

JOB_LIMIT_MESSAGE = (
    "Too many batch import jobs or operations are in progress for this organization; "
    "try again after Retry-After seconds."
)


@attrs.define(eq=False)
class Job:
    id: str
    kind: Kind
    items: list[Any]
    shared: Mapping[str, Any] | None
    created: float  # monotonic
    created_wall: float
    integration_source: str | None = None
    idempotency_key: str | None = None
    started: float | None = None  # monotonic; None while queued
    processed: int = 0
    imports: list[dict[str, Any]] = attrs.field(factory=list)
    errors: list[dict[str, Any]] = attrs.field(factory=list)
    finished: float | None = None

    @property
    def done(self) -> bool:
        return self.finished is not None

    def status(self) -> str:
        if self.finished is None:
            return "PROCESSING"
        return "FAILED" if self.errors else "COMPLETED"

    def finish_time(self, config: SandboxConfig) -> float:
        assert self.started is not None
        return self.started + config.job_delay_s + len(self.items) / config.job_items_per_s

    def due(self, now: float, config: SandboxConfig) -> int:
        """How many items should be processed by ``now``."""
        if self.started is None:
            return 0
        elapsed = now - self.started - config.job_delay_s
        if elapsed <= 0:
            return 0
        return min(len(self.items), math.floor(elapsed * config.job_items_per_s))


class JobBoard:
    def __init__(
        self, clock: Clock, config: Callable[[], SandboxConfig], fullstory: FullStoryState
    ) -> None:
        self._clock = clock
        self._config = config
        self._fullstory = fullstory
        self.jobs: dict[str, Job] = {}
        self._unfinished: list[Job] = []  # in creation order

    # ---- creating -------------------------------------------------------------------------

    def create(
        self,
        kind: Kind,
        body: Mapping[str, Any],
        *,
        integration_source: str | None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        schema = (
            "CreateBatchUserImportJobRequest"
            if kind == "users"
            else ("CreateBatchEventsImportJobRequest")
        )
        spec.validate("fullstory", schema, body, items_as_objects=True)
        items = list(body["requests"])
        config = self._config()
        if not items:
            raise bad_request("requests must hold at least one item")
        if len(items) > config.max_batch_items:
            raise bad_request(f"requests may hold at most {config.max_batch_items} items")
        self.advance()
        now = self._clock.monotonic()
        in_progress = len(self._unfinished)
        operations = sum(len(j.items) - j.processed for j in self._unfinished)
        if (
            in_progress >= config.max_jobs_in_progress
            or operations >= config.max_operations_in_progress
        ):
            raise too_many_requests(self._retry_after(now), JOB_LIMIT_MESSAGE)
        job = Job(
            id=self._new_id(),
            kind=kind,
            items=items,
            shared=body.get("shared"),
            created=now,
            created_wall=self._clock.wall(),
            integration_source=integration_source,
            idempotency_key=idempotency_key,
        )
        if self._running_count() < config.max_running_jobs:
            job.started = now
        self.jobs[job.id] = job
        self._unfinished.append(job)
        return {"job": self._metadata(job)}

    def _new_id(self) -> str:
        while True:
            job_id = secrets.token_urlsafe(12)
            if job_id not in self.jobs:
                return job_id

    def _running_count(self) -> int:
        return sum(1 for j in self._unfinished if j.started is not None)

    def _retry_after(self, now: float) -> int:
        config = self._config()
        ends = [j.finish_time(config) for j in self._unfinished if j.started is not None]
        wait = (min(ends) - now) if ends else 1.0
        return max(1, math.ceil(wait))

    # ---- progress ---------------------------------------------------------------------------

    def advance(self) -> None:
        """Catch every job up with the clock: finish due jobs, start queued ones, progress."""
        config = self._config()
        now = self._clock.monotonic()
        while True:
            running = [j for j in self._unfinished if j.started is not None]
            if not running:
                break
            first = min(running, key=lambda j: j.finish_time(config))
            ends_at = first.finish_time(config)
            if ends_at > now:
                break
            self._process_items(first, len(first.items))
            first.finished = ends_at
            self._unfinished.remove(first)
            self._start_queued(ends_at, config)
        for job in self._unfinished:
            self._process_items(job, job.due(now, config))

    def _start_queued(self, at: float, config: SandboxConfig) -> None:
        slots = config.max_running_jobs - self._running_count()
        for job in self._unfinished:
            if slots <= 0:
                return
            if job.started is None:
                job.started = at
                slots -= 1

    def _process_items(self, job: Job, upto: int) -> None:
        while job.processed < upto:
            item = job.items[job.processed]
            job.processed += 1
            try:
                if job.kind == "users":
                    job.imports.append(self._import_user(item))
                else:
                    job.imports.append(self._import_event(job, item))
            except ApiError as err:
                failed: dict[str, Any] = {"code": err.code, "message": err.message}
                if job.kind == "users":
                    failed["user"] = item
                else:
                    failed["event"] = item
                    if job.shared is not None:
                        failed["shared"] = job.shared
                job.errors.append(failed)

    def _import_user(self, item: Mapping[str, Any]) -> dict[str, Any]:
        spec.validate("fullstory", "BatchUserImportRequest", item)
        user = self._fullstory.upsert_user(item, by_id=True)
        snapshot = user.to_api(include_schema=True)
        del snapshot["is_being_deleted"]
        return snapshot

    def _import_event(self, job: Job, item: Mapping[str, Any]) -> dict[str, Any]:
        check_event_body(item)
        event = self._fullstory.create_event(
            item,
            shared=job.shared,
            via="batch",
            job_id=job.id,
            idempotency_key=job.idempotency_key,
            integration_source=job.integration_source,
        )
        imported = {k: event[k] for k in ("name", "timestamp", "user", "properties", "schema")}
        if event["session"]:
            imported["session"] = event["session"]
        if event["context"]:
            imported["context"] = event["context"]
        return imported

    # ---- reading ---------------------------------------------------------------------------

    def get(self, kind: Kind, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None or job.kind != kind:
            raise not_found()
        self.advance()
        return job

    def status(self, kind: Kind, job_id: str) -> dict[str, Any]:
        job = self.get(kind, job_id)
        return {
            "imports": len(job.imports),
            "errors": len(job.errors),
            "job": self._metadata(job),
        }

    def _metadata(self, job: Job) -> dict[str, Any]:
        out = {"id": job.id, "status": job.status(), "created": utc_iso(job.created_wall)}
        if job.finished is not None:
            out["finished"] = utc_iso(job.created_wall + (job.finished - job.created))
        return out

    def imports(
        self, kind: Kind, job_id: str, page_token: str | None, include_schema: bool
    ) -> dict[str, Any] | None:
        """One page of imported items; None while the job is processing (answered with 202)."""
        job = self.get(kind, job_id)
        if not job.done:
            return None
        page, next_token = paginate(
            job.imports, page_token, self._config().results_page_size, f"imports:{job.id}"
        )
        results = []
        for item in page:
            shown = dict(item)
            if not include_schema:
                if kind == "users":
                    shown["schema"] = shown["type_conflicts"] = None
                else:
                    shown.pop("schema", None)
            results.append(shown)
        return _results_page(results, len(job.imports), next_token)

    def errors(self, kind: Kind, job_id: str, page_token: str | None) -> dict[str, Any] | None:
        """One page of failed items; None while the job is processing (answered with 202)."""
        job = self.get(kind, job_id)
        if not job.done:
            return None
        page, next_token = paginate(
            job.errors, page_token, self._config().results_page_size, f"errors:{job.id}"
        )
        return _results_page(page, len(job.errors), next_token)

    def summary(self) -> dict[str, int]:
        self.advance()
        finished = [j for j in self.jobs.values() if j.done]
        return {
            "total": len(self.jobs),
            "running": self._running_count(),
            "queued": sum(1 for j in self._unfinished if j.started is None),
            "completed": sum(1 for j in finished if not j.errors),
            "failed": sum(1 for j in finished if j.errors),
        }


def _results_page(results: list[Any], total: int, next_token: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"results": results, "total_records": str(total)}
    if next_token:
        out["next_page_token"] = next_token
    return out
