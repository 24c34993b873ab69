"""The event batcher behind Smartlook ``event()`` and FullStory ``track()`` (see ``queue``).
Other packages import from here, never from its modules."""

from .queue import (
    AsyncBatcher,
    AsyncSender,
    Batcher,
    BatcherStats,
    BatchingOptions,
    Delivered,
    Entry,
    Failed,
    FlushResult,
    Outcome,
    Sender,
    request_failed,
)

__all__ = [
    "AsyncBatcher",
    "AsyncSender",
    "Batcher",
    "BatcherStats",
    "BatchingOptions",
    "Delivered",
    "Entry",
    "Failed",
    "FlushResult",
    "Outcome",
    "Sender",
    "request_failed",
]
