"""Queued (stream) user creates: :class:`QueuedUserCreate` follows one by its request id until
the API names the user. ``fs.users.create_queued()`` queues one, ``fs.users.queued()`` resumes
following one; ``wait()`` polls with a growing interval, as batch-job status polls do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._constants import DEFAULT_POLL_INTERVAL_S
from ..errors import FSInvalidArgumentError, FSTimeoutError
from ._calls import ApiResponse, run_async, run_sync
from ._v2_requests import user_stream_status_call

if TYPE_CHECKING:
    from fullstory_api.models import UserStreamStatusResponse

    from ._client import AsyncFullStory, FullStory

# The first wait between two status polls when no poll_interval is given; it doubles after each
# poll still pending, up to the batch jobs' poll interval. Queued creates usually take a moment.
FIRST_POLL_DELAY_S = 0.25


def _check_wait(timeout: Any, poll_interval: Any) -> None:
    for name, value, zero_ok in (
        ("timeout", timeout, True),
        ("poll_interval", poll_interval, False),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise FSInvalidArgumentError(f"{name} must be a number of seconds or None", field=name)
        if value < 0 or (value == 0 and not zero_ok):
            bound = ">= 0" if zero_ok else "> 0"
            raise FSInvalidArgumentError(f"{name} must be {bound}", field=name)


class PollSchedule:
    """The waits between the status polls of one ``wait()``: ``poll_interval`` each when it is
    given, else from FIRST_POLL_DELAY_S doubling up to DEFAULT_POLL_INTERVAL_S; never past the
    deadline. No I/O: it only reads the clock it is given."""

    def __init__(
        self,
        request_id: str,
        timeout: float | None,
        poll_interval: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_wait(timeout, poll_interval)
        self._request_id = request_id
        self._timeout = timeout
        self._clock = clock
        self._deadline = None if timeout is None else clock() + timeout
        self._fixed = poll_interval
        self._next: float = FIRST_POLL_DELAY_S if poll_interval is None else poll_interval

    def next_wait(self) -> float:
        """How long to wait before the next poll; FSTimeoutError once the deadline is reached."""
        delay = self._next
        if self._fixed is None:
            self._next = min(DEFAULT_POLL_INTERVAL_S, self._next * 2.0)
        if self._deadline is None:
            return delay
        left = self._deadline - self._clock()
        if left <= 0:
            raise FSTimeoutError(
                f"queued user create {self._request_id} still pending after "
                f"{self._timeout:g} s; it goes on, wait() again"
            )
        return min(delay, left)


def _user_id(status: Any) -> str | None:
    """The user's id from a stream status: None while pending (the API answers "" then)."""
    user_id = getattr(status, "id", None)
    return user_id if isinstance(user_id, str) and user_id else None


class QueuedUserCreate:
    """A user create queued with ``fs.users.create_queued()``: ``request_id`` names it;
    ``poll()`` asks once, ``wait()`` until the API names the user."""

    def __init__(
        self, client: FullStory, request_id: str, idempotency_key: str | None = None
    ) -> None:
        self._client = client
        self.request_id = request_id
        # The key the create was queued with (None when following one by its request id).
        self.idempotency_key = idempotency_key
        self.user_id: str | None = None  # once known

    def status(self) -> UserStreamStatusResponse:
        """One status read, as the API gives it (``id`` is "" while pending)."""
        return run_sync(self._client.raw, user_stream_status_call(self.request_id)).body

    def poll(self) -> str | None:
        """Ask once: the user's FullStory id, or None while the create is still queued."""
        if self.user_id is None:
            self.user_id = _user_id(self.status())
        return self.user_id

    def wait(self, timeout: float | None = 60.0, *, poll_interval: float | None = None) -> str:
        """Poll until the create is done and return the user's FullStory id.

        Polls wait ``poll_interval`` seconds apart when given, else from 0.25 s doubling up to
        2 s. A poll that fails is retried like any read; one that still fails raises its error.

        Raises:
            FSTimeoutError: still pending after ``timeout`` seconds (None: no limit); the
                create goes on, and ``wait()`` may be called again.
        """
        schedule = PollSchedule(self.request_id, timeout, poll_interval)
        while True:
            user_id = self.poll()
            if user_id is not None:
                return user_id
            self._client._sleep(schedule.next_wait())

    def __repr__(self) -> str:
        return f"QueuedUserCreate(request_id={self.request_id!r}, user_id={self.user_id!r})"


class AsyncQueuedUserCreate:
    """A queued user create followed on asyncio: the same as :class:`QueuedUserCreate`,
    awaited."""

    def __init__(
        self, client: AsyncFullStory, request_id: str, idempotency_key: str | None = None
    ) -> None:
        self._client = client
        self.request_id = request_id
        self.idempotency_key = idempotency_key
        self.user_id: str | None = None

    async def status(self) -> UserStreamStatusResponse:
        """One status read, as the API gives it (``id`` is "" while pending)."""
        return (await run_async(self._client.raw, user_stream_status_call(self.request_id))).body

    async def poll(self) -> str | None:
        """Ask once: the user's FullStory id, or None while the create is still queued."""
        if self.user_id is None:
            self.user_id = _user_id(await self.status())
        return self.user_id

    async def wait(
        self, timeout: float | None = 60.0, *, poll_interval: float | None = None
    ) -> str:
        """Poll until the create is done; see :meth:`QueuedUserCreate.wait`.

        Raises:
            FSTimeoutError: still pending after ``timeout`` seconds; the create goes on.
        """
        schedule = PollSchedule(self.request_id, timeout, poll_interval)
        while True:
            user_id = await self.poll()
            if user_id is not None:
                return user_id
            await self._client._sleep(schedule.next_wait())

    def __repr__(self) -> str:
        return f"AsyncQueuedUserCreate(request_id={self.request_id!r}, user_id={self.user_id!r})"


def queued_response(
    created: ApiResponse[Any], handle: QueuedUserCreate | AsyncQueuedUserCreate
) -> ApiResponse[Any]:
    """The create's envelope around the handle that follows it."""
    return ApiResponse(
        handle,
        created.http_status_code,
        created.http_headers,
        created.retries_taken,
        created.idempotency_key,
    )
