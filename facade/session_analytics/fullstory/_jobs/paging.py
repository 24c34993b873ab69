"""The result pages of a finished batch job, walked without I/O: :class:`ResultPages`.

It builds the request for the next page of imported items (/imports) or failed ones (/errors),
follows the page tokens, and counts "not ready yet" answers (202), which are not "no results".
:func:`read_next_page` is the one-page flow the batch job and its ``iter_*()`` run on it;
``import_()`` drives the same walk with its requests overlapped.
"""

from __future__ import annotations

from typing import Any

import attrs

from fullstory_api.models import JobResultsPending

from ...errors import FSError, FSInvalidArgumentError, FSUnknownError
from .._calls import ApiResponse, Call
from .._flow import Flow, Request, Sleep
from .._requests import Kind, job_errors_call, job_imports_call, next_page_token, page_results


@attrs.define(eq=False)
class ResultPages:
    """Where the walk through one job's results stands."""

    kind: Kind
    job_id: str
    include_schema: bool
    imports: bool = True  # reading /imports (else /errors)
    token: str | None = None
    waits: int = 0  # "not ready yet" answers of these results
    last: bool = False  # the last page of these results was read

    def call(self) -> Call[Any]:
        if self.imports:
            return job_imports_call(self.kind, self.job_id, self.token, self.include_schema)
        return job_errors_call(self.kind, self.job_id, self.token)

    def read(self, body: Any) -> list[Any] | None:
        """The items of this page, the walk moving on to the next; None when the results are
        not ready yet (counted in ``waits``)."""
        if isinstance(body, JobResultsPending):
            self.waits += 1
            return None
        items = page_results(body)
        token = next_page_token(body, self.token)
        if token is None:
            self.last = True
        else:
            self.token = token
        return items

    def not_ready_too_long(self, max_retry: int, what: str = "job") -> FSUnknownError | None:
        """The error to stop on once the results were not ready more than ``max_retry`` times."""
        if self.waits <= max_retry:
            return None
        return FSUnknownError(
            f"{what} {self.job_id}: results still not ready after {self.waits} tries"
        )

    def turn_to_errors(self) -> None:
        """Walk the failed items next, from their first page."""
        self.imports, self.token, self.waits, self.last = False, None, 0, False


def read_next_page(
    pages: ResultPages, *, pending_wait: float | None = None, max_retry: int = 0
) -> Flow[list[Any]]:
    """The items of the next page; a failed request raises its FSError. Results not ready yet
    are asked for again ``pending_wait`` seconds later, until they were not ready more than
    ``max_retry`` times (FSUnknownError); with ``pending_wait`` None (the job was seen finished,
    its results must be there) they raise FSInvalidArgumentError at once."""
    while True:
        page = yield Request(pages.call())
        if isinstance(page, FSError):
            raise page
        assert isinstance(page, ApiResponse)
        items = pages.read(page.body)
        if items is not None:
            return items
        if pending_wait is None:
            raise FSInvalidArgumentError("the job's results are not ready yet", field="job")
        too_long = pages.not_ready_too_long(max_retry)
        if too_long is not None:
            raise too_long
        yield Sleep(pending_wait)
