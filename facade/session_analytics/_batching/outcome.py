"""The sender contract: what a batcher hands a sender (``Entry`` batches) and what the sender
answers (``SendOutcome``: ``Delivered`` or ``Failed``, retryable or not)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import attrs

from .. import _json
from .._retry import is_retryable_exception, maybe_delivered

logger = logging.getLogger("session_analytics")

# payload (the event's JSON), idempotency key (FullStory), spool row (when spooling)
Entry = tuple[bytes, "str | None", "int | None"]


@attrs.frozen
class Delivered:
    pass


@attrs.frozen
class Failed:
    error: BaseException
    retryable: bool
    retry_after: float | None = None
    # The request may have reached the server (connection dropped, timeout after sending).
    maybe_delivered: bool = False


SendOutcome = Delivered | Failed


def request_failed(error: BaseException, cause: BaseException) -> Failed:
    """The outcome of a send whose request raised ``cause`` (an httpx error), told as ``error``."""
    error.__cause__ = cause
    return Failed(
        error, retryable=is_retryable_exception(cause), maybe_delivered=maybe_delivered(cause)
    )


class Sender(Protocol):
    name: str
    # True when the API dedupes re-sent events (FullStory's Idempotency-Key).
    deduplicates: bool

    def send(self, batch: list[Entry]) -> SendOutcome: ...


class AsyncSender(Protocol):
    name: str
    deduplicates: bool

    async def send(self, batch: list[Entry]) -> SendOutcome: ...


def logger_of(sender: Any) -> logging.Logger:
    """The logger a sender names (``sender.logger``), else the package's."""
    found: logging.Logger = getattr(sender, "logger", logger)
    return found


def decode(payload: bytes) -> dict[str, Any]:
    """A queued event as the dict that ``on_error`` and ``on_drop`` receive."""
    event: dict[str, Any] = _json.loads(payload)
    return event
