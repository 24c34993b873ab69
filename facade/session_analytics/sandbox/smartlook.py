"""State and rules of the emulated Smartlook backend events API.

- ``/rec/check/backend`` exchanges a project key for a project id, the analytics host (this
  sandbox's own address, so that events come back here) and a store group. An unknown key gets
  404 ``project_not_found`` (the real status for a wrong key is not published). With analytics
  switched off, the answer is 200 with ``analytics.ok`` false and a reason, as the real API does.
- ``/events/backend`` stores a batch under its project id and store group; a pid/group pair that
  no check handed out gets 404 ``project_not_found``. There is no idempotency: a batch sent twice
  is stored twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from . import spec
from .config import SandboxConfig
from .errors import ApiError
from .fullstory import Clock, utc_iso

ANALYTICS_OFF_MESSAGE = "Analytics module is not enabled for this project"


def project_not_found(message: str) -> ApiError:
    return ApiError(404, "project_not_found", message)


def project_for(key: str) -> tuple[str, str]:
    """The project id and store group that a key names (stable for the same key)."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"sl{digest[:14]}", f"sandbox-{digest[14:20]}"


class SmartlookState:
    def __init__(self, clock: Clock, config: Callable[[], SandboxConfig]) -> None:
        self._clock = clock
        self._config = config
        self.events: list[dict[str, Any]] = []
        self.batches = 0
        # Projects are configuration, not data: a reset keeps them, so a client that did its
        # handshake before a reset can go on sending.
        self._projects: dict[str, str] = {}
        for key in config().smartlook_keys or ():
            pid, group = project_for(key)
            self._projects[pid] = group

    def clear(self) -> None:
        self.events.clear()
        self.batches = 0

    def check(self, body: Any, analytics_host: str) -> dict[str, Any]:
        spec.validate("smartlook", "CheckRequest", body)
        key = body["key"]
        allowed = self._config().smartlook_keys
        if allowed is not None and key not in allowed:
            raise project_not_found("No project has this key")
        pid, group = project_for(key)
        self._projects[pid] = group
        analytics: dict[str, Any] = {"ok": self._config().smartlook_analytics_enabled}
        if analytics["ok"]:
            analytics["host"] = analytics_host
        else:
            analytics["error"] = ANALYTICS_OFF_MESSAGE
        return {"pid": pid, "analytics": analytics, "options": {"storeGroup": group}}

    def ingest(self, pid: str, group: str, body: Any) -> int:
        if self._projects.get(pid) != group:
            raise project_not_found("No project has this project id and store group")
        if not self._config().smartlook_analytics_enabled:
            raise ApiError(400, "analytics_disabled", ANALYTICS_OFF_MESSAGE)
        spec.validate("smartlook", "EventsRequest", body)
        self.batches += 1
        received = utc_iso(self._clock.wall())
        for event in body["events"]:
            self.events.append(_stored_event(event, pid, group, self.batches, received))
        return len(body["events"])


def _stored_event(
    event: Mapping[str, Any], pid: str, group: str, batch: int, received: str
) -> dict[str, Any]:
    return {
        "api": "smartlook",
        "type": event.get("type", "custom"),
        "vid": event["vid"],
        "name": event["name"],
        "value": event.get("value"),
        "props": event.get("props") or {},
        "sid": event.get("sid"),
        "pid": pid,
        "group": group,
        "batch": batch,
        "received_at": received,
    }
