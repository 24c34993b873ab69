"""Fault injection: the failures a client must survive, as data, reproducible with a seed.

Faults touch the API routes only (never ``/_sandbox/...``), optionally only paths that start with
one of ``paths``. For each request, in this order:

- ``connect_latency_ms`` (every API route, whatever ``paths`` says): a request on a connection
  younger than this waits until it is this old, as if opening a connection cost a TLS handshake
  (see ``connections.py``);
- ``rate_limit_rps``: a token bucket per API key and endpoint, ``rate_limit_burst`` tokens deep
  (default: one second's worth); a request without a token gets 429 with ``Retry-After`` =
  the whole seconds until one is free (at least 1), and is NOT processed (see ``limiter.py``);
- ``latency_ms``: the answer is delayed by this much, plus a uniform draw in
  [-``latency_jitter_ms``, +``latency_jitter_ms``] (never below 0);
- ``error_rate``: 500 with the API's error body; the request is NOT processed;
- ``rate_limit_rate``: 429 with ``Retry-After: <retry_after_s>``; NOT processed;
- ``reset_rate``: the request IS processed, then the connection is dropped without an answer
  (the case where only an idempotency key makes a retry safe);
- ``malformed_rate``: the request IS processed and answered 200 with a body that is not JSON.

``script`` lists the fates of the next requests in order ("ok", "error", "rate_limit", "reset",
"malformed"); while it lasts, the rates are not consulted. With a ``seed``, the same sequence of
requests meets the same faults.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Literal

import attrs

from .errors import bad_request
from .limiter import RateLimiter

Fate = Literal["ok", "error", "rate_limit", "reset", "malformed"]
FATES: tuple[Fate, ...] = ("ok", "error", "rate_limit", "reset", "malformed")
RATES = ("error_rate", "rate_limit_rate", "reset_rate", "malformed_rate")
AMOUNTS = (
    "retry_after_s",
    "latency_ms",
    "latency_jitter_ms",
    "connect_latency_ms",
    "rate_limit_rps",
)


@attrs.frozen(kw_only=True)
class Faults:
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after_s: float = 1.0
    reset_rate: float = 0.0
    malformed_rate: float = 0.0
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    connect_latency_ms: float = 0.0
    rate_limit_rps: float = 0.0
    rate_limit_burst: int | None = None
    seed: int | None = None
    paths: tuple[str, ...] = ()
    script: tuple[Fate, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["paths"] = list(self.paths)
        out["script"] = list(self.script)
        return out


def parse_faults(data: Any) -> Faults:
    """Faults from the JSON of ``POST /_sandbox/faults``; a bad value gives a 400 ApiError."""
    if not isinstance(data, Mapping):
        raise bad_request("faults must be a JSON object")
    known = {a.name for a in attrs.fields(Faults)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise bad_request(
            f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = {}
    for name in (*RATES, *AMOUNTS):
        if name in data:
            value = data[name]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise bad_request(f"{name} must be a finite number >= 0")
            if name in RATES and value > 1:
                raise bad_request(f"{name} must be between 0 and 1")
            values[name] = float(value)
    if data.get("rate_limit_burst") is not None:
        values["rate_limit_burst"] = _burst(data["rate_limit_burst"])
    if data.get("seed") is not None:
        if isinstance(data["seed"], bool) or not isinstance(data["seed"], int):
            raise bad_request("seed must be an integer")
        values["seed"] = data["seed"]
    for name in ("paths", "script"):
        if name in data:
            items = data[name]
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise bad_request(f"{name} must be a list of strings")
            values[name] = tuple(items)
    bad = [f for f in values.get("script", ()) if f not in FATES]
    if bad:
        raise bad_request(f"unknown fate(s) in script: {', '.join(bad)}; use {', '.join(FATES)}")
    return Faults(**values)


def _burst(value: Any) -> int:
    """A bucket size: a whole number of requests, at least 1 (``50.0`` counts as 50)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not float(value).is_integer()
        or value < 1
    ):
        raise bad_request("rate_limit_burst must be a whole number >= 1 (or null)")
    return int(value)


@attrs.frozen
class FaultDecision:
    fate: Fate
    latency_s: float


def _jitter_rng(seed: int | None) -> random.Random:
    """The jitter's own random stream: the same seed gives the same delays."""
    return random.Random(None if seed is None else f"latency-jitter-{seed}")  # noqa: S311


class FaultInjector:
    """Decides, request by request, what the current :class:`Faults` do to it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.faults = Faults()
        self._rng = random.Random()  # noqa: S311 - fault sampling, not security
        self._jitter = _jitter_rng(None)
        self._script: deque[Fate] = deque()
        self.injected: Counter[str] = Counter()
        self.limiter = RateLimiter(clock)

    def configure(self, faults: Faults) -> None:
        """Apply ``faults`` from now on: the seed starts over and every bucket is full again."""
        self.faults = faults
        self._rng = random.Random(faults.seed)  # noqa: S311
        self._jitter = _jitter_rng(faults.seed)
        self._script = deque(faults.script)
        self.limiter.configure(faults.rate_limit_rps, faults.rate_limit_burst)

    def applies(self, path: str) -> bool:
        """Whether faults touch ``path`` (all API paths unless ``paths`` narrows them)."""
        return not self.faults.paths or path.startswith(self.faults.paths)

    def latency_s(self, path: str) -> float:
        """How long to hold back the answer to a request for ``path``: latency plus jitter."""
        faults = self.faults
        if not self.applies(path):
            return 0.0
        delay = faults.latency_ms
        if faults.latency_jitter_ms:
            jitter = faults.latency_jitter_ms
            delay += self._jitter.uniform(-jitter, jitter)
        return max(0.0, delay) / 1000.0

    def throttle(self, path: str, bucket: Hashable) -> int | None:
        """Take a token for a request to ``path`` from ``bucket``: None when the request may go
        on, else the Retry-After seconds of its 429."""
        if not self.applies(path):
            return None
        return self.limiter.take(bucket)

    def decide(self, path: str) -> FaultDecision:
        faults = self.faults
        if not self.applies(path):
            return FaultDecision("ok", 0.0)
        latency = self.latency_s(path)
        if self._script:
            fate = self._script.popleft()
        else:
            # Always draw all four numbers, so a seed gives the same faults whatever the rates.
            draws = [self._rng.random() for _ in RATES]
            fate = "ok"
            if draws[0] < faults.error_rate:
                fate = "error"
            elif draws[1] < faults.rate_limit_rate:
                fate = "rate_limit"
            elif draws[2] < faults.reset_rate:
                fate = "reset"
            elif draws[3] < faults.malformed_rate:
                fate = "malformed"
        if fate != "ok":
            self.injected[fate] += 1
        return FaultDecision(fate, latency)
