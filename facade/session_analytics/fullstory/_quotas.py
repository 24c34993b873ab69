"""What the server-event quota leaves for an import: :class:`QuotaCheck`, read from a
QuotasResponse by :func:`quota_check`. Pure arithmetic, no I/O; ``organization.check_quota()``
and ``events.import_(check_quota=True)`` build one from the quotas they read.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import attrs

from ..errors import FSInvalidArgumentError

_COUNT = re.compile(r"-?[0-9]+\Z")


def _count(value: Any) -> int | None:
    """A count the API writes as a decimal string (an int is taken too); None when absent or
    unreadable."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _COUNT.match(value.strip()):
        return int(value.strip())
    return None


def _moment(value: Any) -> dt.datetime | None:
    return value if isinstance(value, dt.datetime) else None


def checked_events(value: Any) -> int | None:
    """A count of events to compare with the quota: a whole number >= 0, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FSInvalidArgumentError(
            "events must be a whole number >= 0, or None when the count is not known",
            field="events",
        )
    return value


@attrs.frozen
class QuotaCheck:
    """How a number of server events compares with what is left of the quota this cycle.

    Attributes:
        events: what the caller would send (None: not known, an iterator say).
        usage: server events counted so far this billing cycle (None: the API did not say).
        limit: server events allowed in the cycle (None: not said, or no limit: a negative one).
        remaining: ``limit - usage``, at least 0 (None when either is unknown).
        period_end: when the cycle ends and the count starts again (None: not said).
        would_exceed: ``events`` is more than ``remaining`` (False when either is unknown).
        share: ``events / remaining`` (None when either is unknown or nothing is left).
    """

    events: int | None
    usage: int | None
    limit: int | None
    remaining: int | None
    period_end: dt.datetime | None
    would_exceed: bool
    share: float | None

    def describe(self) -> str:
        """One sentence for people, such as "this import would use 12,000 of the 88,000 server
        events left until 2026-12-31 (14%)"."""
        until = f" until {self.period_end.date().isoformat()}" if self.period_end else ""
        if self.remaining is None:
            known = "the API did not say how many server events are left this cycle"
            if self.events is None:
                return known
            return f"this import would send {self.events:,} server events; {known}"
        left = f"{self.remaining:,} server events left{until}"
        if self.events is None:
            used = f" ({self.usage:,} of {self.limit:,} used)" if self.limit is not None else ""
            return f"{left}{used}; the size of this import is not known"
        if self.would_exceed:
            return f"this import would send {self.events:,} server events, more than the {left}"
        return f"this import would use {self.events:,} of the {left} ({_percent(self.share)})"


def _percent(share: float | None) -> str:
    if share is None:
        return "none of them"
    if 0 < share < 0.005:
        return "under 1%"
    return f"{share:.0%}"


def quota_check(quotas: Any, events: int | None) -> QuotaCheck:
    """``events`` against the server-event quota of ``quotas`` (a QuotasResponse, or anything
    with a ``server_event_quota`` holding ``usage``, ``limit`` and ``period_end``)."""
    events = checked_events(events)
    quota = getattr(quotas, "server_event_quota", None)
    usage = _count(getattr(quota, "usage", None))
    limit = _count(getattr(quota, "limit", None))
    if limit is not None and limit < 0:
        limit = None  # a negative limit is no limit
    period_end = _moment(getattr(quota, "period_end", None))
    remaining = None if usage is None or limit is None else max(0, limit - usage)
    would_exceed = events is not None and remaining is not None and events > remaining
    share = None
    if events is not None and remaining:
        share = events / remaining
    return QuotaCheck(events, usage, limit, remaining, period_end, would_exceed, share)
