"""The organization's quotas (GET /v2/organization/quotas): what the sandbox received in the
current calendar month (UTC) against the limits of its config.

Sessions count every session started (from events, ``use_most_recent`` or the admin route);
server events count every FullStory event stored (POST /v2/events and events import items).
Usage and limit are decimal strings, the API's encoding of 64-bit integers; the period runs from
the first instant of the month to the first instant of the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from .config import SandboxConfig
from .fullstory import FullStoryState


def month_of(wall_seconds: float) -> tuple[datetime, datetime]:
    now = datetime.fromtimestamp(wall_seconds, tz=timezone.utc)
    start = datetime(now.year, now.month, 1, tzinfo=timezone.utc)
    if now.month == 12:
        end = datetime(now.year + 1, 1, 1, tzinfo=timezone.utc)
    else:
        end = datetime(now.year, now.month + 1, 1, tzinfo=timezone.utc)
    return start, end


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def quotas(fullstory: FullStoryState, config: SandboxConfig, wall_now: float) -> dict[str, Any]:
    start, end = month_of(wall_now)
    low, high = start.timestamp(), end.timestamp()

    def quota(arrivals: Sequence[float], limit: int) -> dict[str, str]:
        usage = sum(1 for moment in arrivals if low <= moment < high)
        return {
            "usage": str(usage),
            "limit": str(limit),
            "period_start": _iso(start),
            "period_end": _iso(end),
        }

    return {
        "session_quota": quota(fullstory.session_starts, config.session_quota),
        "server_event_quota": quota(fullstory.event_arrivals, config.server_event_quota),
    }
