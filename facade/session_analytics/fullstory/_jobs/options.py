"""How a batch job is followed once it is created: :class:`BatchJobOptions`.

The same options drive ``batch_create()`` jobs and the jobs of ``import_()``; each is checked
when it is made, before any I/O.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from ..._constants import (
    DEFAULT_JOB_MAX_RETRY,
    DEFAULT_MAX_RATE_LIMITED_WAIT_S,
    DEFAULT_POLL_INTERVAL_S,
)
from ...errors import FSInvalidArgumentError

# How long import_() waits out job creates refused with 429 before it stops (seconds).


def _check_positive(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FSInvalidArgumentError(f"{attribute.name} must be a number", field=attribute.name)
    if not math.isfinite(value) or value <= 0:
        raise FSInvalidArgumentError(f"{attribute.name} must be > 0", field=attribute.name)


def _check_retries(_: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FSInvalidArgumentError(
            f"{attribute.name} must be a whole number >= 1", field=attribute.name
        )


@attrs.frozen(kw_only=True)
class BatchJobOptions:
    """How a job is followed once it is created.

    Attributes:
        poll_interval: seconds between status polls (the Node SDK's ``pollInterval`` is in ms).
        max_retry: failed polls in a row before the job is aborted with FS_MAX_RETRY.
        collect_results: hold imported and failed items for ``done``/``wait()``; turn off for
            big jobs and stream them with ``iter_imports()`` / ``iter_errors()``.
        max_rate_limited_wait: ``import_()`` only: the longest time, in seconds, that job
            creates may keep being refused with 429 (rate limited, or too much in progress)
            before the import stops with FS_MAX_RETRY; counted from the first refused create
            since the last one that went through, and reset by every job created.
    """

    poll_interval: float = attrs.field(default=DEFAULT_POLL_INTERVAL_S, validator=_check_positive)
    max_retry: int = attrs.field(default=DEFAULT_JOB_MAX_RETRY, validator=_check_retries)
    collect_results: bool = True
    max_rate_limited_wait: float = attrs.field(
        default=DEFAULT_MAX_RATE_LIMITED_WAIT_S, validator=_check_positive
    )
