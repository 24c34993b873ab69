"""Everything one sandbox knows: both APIs' data (users, sessions, events, summary profiles,
annotations, stream creates), the jobs, the idempotency keys, the faults and
the connection meter, what arrived, and the counts ``/_sandbox/stats`` reports; ``reset()``
forgets the data and brings back the starting settings."""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any

from .annotations import AnnotationLog
from .config import SandboxConfig
from .connections import ConnectionMeter
from .faults import FaultInjector, Faults
from .fullstory import Clock, FullStoryState
from .idempotency import IdempotencyStore
from .jobs import JobBoard
from .smartlook import SmartlookState
from .stream import UserStreams
from .summaries import ProfileStore

REQUEST_LOG_SIZE = 1000


class SandboxState:
    """Everything one sandbox knows; ``reset()`` forgets the data but keeps the projects, and
    brings back the settings and faults it started with."""

    def __init__(
        self, config: SandboxConfig, clock: Clock | None = None, faults: Faults | None = None
    ) -> None:
        self.initial_config = config
        self.config = config
        self.clock = clock or Clock(monotonic=time.monotonic, wall=time.time)
        self.initial_faults = faults or Faults()
        self.faults = FaultInjector(self.clock.monotonic)
        self.faults.configure(self.initial_faults)
        self.connections = ConnectionMeter(lambda: self.faults.faults.connect_latency_ms / 1000.0)
        self.smartlook = SmartlookState(self.clock, lambda: self.config)
        self._clear_data()

    def _clear_data(self) -> None:
        self.fullstory = FullStoryState(self.clock, lambda: self.config)
        self.jobs = JobBoard(self.clock, lambda: self.config, self.fullstory)
        self.streams = UserStreams(self.clock, lambda: self.config, self.fullstory)
        self.profiles = ProfileStore()
        self.annotations = AnnotationLog(self.clock.wall)
        self.idempotency = IdempotencyStore(self.clock.monotonic)
        self.requests: Counter[tuple[str, str]] = Counter()
        self.integration_sources: Counter[str] = Counter()
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)

    def reset(self) -> None:
        self.config = self.initial_config
        self.faults.configure(self.initial_faults)
        self.faults.injected.clear()
        self.faults.limiter.reset()
        self.connections.reset()
        self.smartlook.clear()
        self._clear_data()

    def stats(self) -> dict[str, Any]:
        self.streams.advance()
        self.fullstory.sweep_deleted()
        by_route: dict[str, dict[str, int]] = {}
        for (route, status), count in sorted(self.requests.items()):
            by_route.setdefault(route, {})[status] = count
        return {
            "requests": by_route,
            "users": sum(1 for u in self.fullstory.users.values() if u.deleting_since is None),
            "events": {
                "fullstory": len(self.fullstory.events),
                "smartlook": len(self.smartlook.events),
            },
            "smartlook_batches": self.smartlook.batches,
            "sessions": len(self.fullstory.sessions),
            "annotations": len(self.annotations.annotations),
            "summary_profiles": len(self.profiles.profiles),
            "user_streams_pending": self.streams.pending(),
            "jobs": self.jobs.summary(),
            "idempotency_keys": len(self.idempotency),
            "faults_injected": dict(self.faults.injected),
            "rate_limited": self.faults.limiter.limited,
            **self.connections.stats(),
            "integration_sources": dict(self.integration_sources),
        }
