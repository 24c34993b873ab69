"""Stream user creates (POST /v2/users/stream): checked at once, applied ``stream_delay_s``
later exactly like POST /v2/users (an upsert by uid), then reported by request id.

Like the jobs, progress is a function of the clock: every request first applies the creates
that are due. A create applied later that fails keeps its error, which its status route answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from . import spec
from .config import SandboxConfig
from .errors import ApiError, not_found
from .fullstory import Clock, FullStoryState, checked_properties


@attrs.define
class StreamRequest:
    id: str
    body: Mapping[str, Any]
    due: float  # monotonic
    user_id: str | None = None
    error: ApiError | None = None


class UserStreams:
    def __init__(
        self, clock: Clock, config: Callable[[], SandboxConfig], fullstory: FullStoryState
    ) -> None:
        self._clock = clock
        self._config = config
        self._fullstory = fullstory
        self.requests: dict[str, StreamRequest] = {}
        self._pending: list[StreamRequest] = []

    def create(self, body: Any) -> dict[str, str]:
        """Check the user as POST /v2/users does and queue it; the answer names the request.

        Raises:
            ApiError: 400 naming the field, as POST /v2/users answers.
        """
        spec.validate("fullstory", "CreateUserRequest", body)
        checked_properties(body)
        self.advance()
        request = StreamRequest(
            str(uuid.uuid4()), body, self._clock.monotonic() + self._config().stream_delay_s
        )
        self.requests[request.id] = request
        self._pending.append(request)
        self.advance()
        return {"request_id": request.id}

    def advance(self) -> None:
        """Apply every create that is due, in the order they are due."""
        now = self._clock.monotonic()
        due = sorted((r for r in self._pending if r.due <= now), key=lambda r: r.due)
        for request in due:
            self._pending.remove(request)
            try:
                request.user_id = self._fullstory.upsert_user(request.body).id
            except ApiError as err:
                request.error = err

    def status(self, request_id: str) -> dict[str, str]:
        """``{"id": ""}`` while the create waits, the user's id once it ran.

        Raises:
            ApiError: 404 for a request the sandbox never gave out; the create's own error when
                it failed.
        """
        self.advance()
        request = self.requests.get(request_id)
        if request is None:
            raise not_found()
        if request.error is not None:
            raise request.error
        return {"id": request.user_id or ""}

    def pending(self) -> int:
        self.advance()
        return len(self._pending)
