"""How a sandbox behaves: keys, job timing, limits, paging, quotas, stream delay. Every value has
a default."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from .errors import ApiError, bad_request

KEY_LEVELS = ("standard", "architect", "admin")
DEFAULT_API_KEY = "sandbox-key"
DEFAULT_SMARTLOOK_KEY = "sandbox-project-key"


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value}")


def _positive(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value}")


def _check_levels(_: Any, __: Any, value: Mapping[str, str] | None) -> None:
    if value is None:
        return
    for key, level in value.items():
        if not key:
            raise ValueError("an API key must not be empty")
        if level not in KEY_LEVELS:
            raise ValueError(f"unknown key level {level!r}; use one of {', '.join(KEY_LEVELS)}")


@attrs.frozen(kw_only=True)
class SandboxConfig:
    """Settings of one sandbox. ``POST /_sandbox/config`` changes them at run time and
    ``POST /_sandbox/reset`` brings back the values the sandbox started with."""

    # FullStory keys with their level (standard/architect/admin). None: any non-empty key is an
    # admin key. Keys are never logged or echoed.
    api_keys: Mapping[str, str] | None = attrs.field(
        default=None, validator=_check_levels, repr=False
    )
    # Smartlook project keys; None: any non-empty key names a project of its own.
    smartlook_keys: frozenset[str] | None = attrs.field(default=None, repr=False)
    smartlook_analytics_enabled: bool = True

    job_delay_s: float = attrs.field(default=1.0, validator=_non_negative)
    job_items_per_s: float = attrs.field(default=20_000.0, validator=_positive)
    max_batch_items: int = attrs.field(default=50_000, validator=_positive)
    max_running_jobs: int = attrs.field(default=100, validator=_positive)
    max_jobs_in_progress: int = attrs.field(default=200, validator=_positive)
    max_operations_in_progress: int = attrs.field(default=500_000, validator=_positive)

    list_page_size: int = attrs.field(default=100, validator=_positive)
    results_page_size: int = attrs.field(default=1_000, validator=_positive)
    deletion_window_s: float = attrs.field(default=2.0, validator=_non_negative)
    idempotency_ttl_s: float = attrs.field(default=24 * 3600.0, validator=_non_negative)
    session_window_s: float = attrs.field(default=30 * 60.0, validator=_non_negative)
    max_body_bytes: int = attrs.field(default=64 * 1024 * 1024, validator=_positive)

    # The limits GET /v2/organization/quotas reports for the current calendar month (UTC): new
    # sessions, and server events stored (POST /v2/events and events import items).
    session_quota: int = attrs.field(default=100_000, validator=_non_negative)
    server_event_quota: int = attrs.field(default=1_000_000, validator=_non_negative)
    # Seconds before a POST /v2/users/stream create is applied (0: at once).
    stream_delay_s: float = attrs.field(default=0.5, validator=_non_negative)

    def client_key(self) -> str:
        """A key a client may use against this sandbox (an admin one when levels are set)."""
        if self.api_keys is None:
            return DEFAULT_API_KEY
        admins = [k for k, level in self.api_keys.items() if level == "admin"]
        return (admins or list(self.api_keys))[0]

    def client_smartlook_key(self) -> str:
        if self.smartlook_keys:
            return sorted(self.smartlook_keys)[0]
        return DEFAULT_SMARTLOOK_KEY

    def public(self) -> dict[str, Any]:
        """Everything but the keys, for ``GET /_sandbox/config``."""
        out = attrs.asdict(self, filter=lambda a, _: a.name not in TUNABLE_EXCLUDED)
        out["api_keys"] = "any" if self.api_keys is None else f"{len(self.api_keys)} configured"
        out["smartlook_keys"] = (
            "any" if self.smartlook_keys is None else f"{len(self.smartlook_keys)} configured"
        )
        return out

    def updated(self, changes: Mapping[str, Any]) -> SandboxConfig:
        """A copy with ``changes`` applied; unknown or bad values give an ApiError (400)."""
        unknown = sorted(set(changes) - TUNABLE)
        if unknown:
            raise bad_request(
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(TUNABLE))}"
            )
        defaults = {a.name: a.default for a in attrs.fields(SandboxConfig)}
        typed: dict[str, Any] = {}
        for name, value in changes.items():
            default = defaults[name]
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise bad_request(f"{name} must be true or false")
            elif (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise bad_request(f"{name} must be a finite number")
            elif isinstance(default, int):
                if not float(value).is_integer():
                    raise bad_request(f"{name} must be a whole number")
                value = int(value)
            else:
                value = float(value)
            typed[name] = value
        try:
            return attrs.evolve(self, **typed)
        except ValueError as err:
            raise bad_request(str(err)) from err


TUNABLE_EXCLUDED = frozenset({"api_keys", "smartlook_keys"})
TUNABLE = frozenset(a.name for a in attrs.fields(SandboxConfig)) - TUNABLE_EXCLUDED

__all__ = ["DEFAULT_API_KEY", "DEFAULT_SMARTLOOK_KEY", "KEY_LEVELS", "ApiError", "SandboxConfig"]
