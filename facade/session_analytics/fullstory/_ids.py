"""Event ids, made on the caller's thread when an event is accepted: 128 random bits per process,
then a counter. A fraction of the cost of ``uuid4()``, and unique across processes; a forked child
draws new random bits, or parent and child would hand out the same ids."""

from __future__ import annotations

import itertools
import os

from .._process import after_fork_in_child

_prefix = ""
_counter = itertools.count()


def _reset() -> None:
    global _prefix, _counter
    _prefix = os.urandom(16).hex() + "."
    _counter = itertools.count(1)


_reset()
after_fork_in_child(_reset)  # also run in uWSGI's workers, forked from C


def event_id() -> str:
    return _prefix + str(next(_counter))
