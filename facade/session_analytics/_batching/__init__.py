"""The event batcher behind Smartlook ``event()`` and FullStory ``track()``.

The caller's thread only validates, serialises (orjson) and appends to a bounded in-memory queue;
workers (threads for the sync clients, tasks of the running loop for the async ones) send batches
when ``flush_at`` events or ``max_batch_bytes`` are queued, when the oldest has waited
``flush_interval`` seconds, or on ``flush()``.

Nothing is lost without a word. Every accepted event is, in the end:
- delivered (``stats().delivered``);
- handed to ``on_error`` with the error, after a refusal that no retry can fix, after retrying for
  ``max_retry_time`` seconds, or when ``stop(timeout)`` ran out of time (``failed``);
- or still in the spool, when one is configured, to be sent by the next process.
An event refused at the door because the queue is full is counted (``dropped``), passed to
``on_drop`` and logged (``drops``).

After ``os.fork()`` the child starts with an empty queue and its own workers; the parent keeps
its own (with a spool, the child opens its own file on its first event). At interpreter exit,
every batcher whose stop did not finish gets a short shared deadline to drain; a death by SIGTERM
is preceded by the same drain (``exits``). A spool that cannot be written (a full disk) leaves the
batcher memory-only (``backlog``).

The rooms: ``options`` (what a user sets, what is reported back), ``outcome`` (the sender
contract), ``queue`` (the queue and its delivery decisions), ``backlog`` (the spool), ``drops``
(undelivered events, told), ``concurrency`` (requests in flight), ``clock`` (time and waits),
``exits`` (drain at exit, the signal guard), ``threads`` and ``tasks`` (the two drivers). Other
packages import from here, never from the rooms.
"""

from ..errors import GaveUpError, ShutdownError
from .clock import Clock, ManualClock
from .options import BatcherStats, BatchingOptions, FlushResult
from .outcome import AsyncSender, Delivered, Entry, Failed, Sender, SendOutcome, request_failed
from .tasks import AsyncBatcher
from .threads import Batcher

__all__ = [
    "AsyncBatcher",
    "AsyncSender",
    "Batcher",
    "BatcherStats",
    "BatchingOptions",
    "Clock",
    "Delivered",
    "Entry",
    "Failed",
    "FlushResult",
    "GaveUpError",
    "ManualClock",
    "SendOutcome",
    "Sender",
    "ShutdownError",
    "request_failed",
]
