"""What a batch job or an import hands back: :class:`BatchJobResult`, :class:`ImportResult`
and the :class:`ImportProgress` reports of an import under way, and how the counts of a job
status are read. (What a stopped import leaves, ``ImportStopped``, lives in ``errors``.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from fullstory_api.models import JobStatus
from fullstory_api.types import Unset

from ...errors import ImportFailure

if TYPE_CHECKING:
    from .._quotas import QuotaCheck

I = TypeVar("I")  # noqa: E741 - an imported item
F = TypeVar("F")  # a failed item


def status_count(value: int | Unset) -> int:
    """A count of a job status (imports, errors): 0 when the API left it out."""
    return 0 if isinstance(value, Unset) else int(value)


@attrs.frozen
class BatchJobResult(Generic[I, F]):
    """How a job ended: its final status and, when collected, its items."""

    job_id: str
    status: JobStatus
    imported: list[I]
    failed: list[F]
    imports_count: int
    errors_count: int


@attrs.frozen
class ImportProgress:
    """Where an import stands, passed to ``on_progress`` as it moves."""

    read: int
    submitted: int
    imported: int
    failed: int
    jobs_running: int
    jobs_done: int
    # While the API refuses job creates with 429: seconds until the next try (else None).
    retry_in: float | None = None
    # Every item before this position in the input is in a job or was reported as failed.
    settled: int = 0
    done: bool = False  # the import has ended: this is its last report


@attrs.frozen
class ImportResult:
    """How an import ended. ``failed`` lists every failed item unless ``on_failed`` took them;
    ``quota`` is what the server-event quota left for it, when the import was asked to check
    (``check_quota=True``) and the quotas could be read."""

    read: int
    submitted: int
    imported: int
    failed_count: int
    job_ids: list[str]
    failed: list[ImportFailure]
    quota: QuotaCheck | None = None

    @property
    def ok(self) -> bool:
        return self.failed_count == 0
