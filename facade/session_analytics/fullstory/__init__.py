"""The FullStory Server API v2, sync and async: users (and queued user creates), events, batch
import jobs, sessions (their events, context and summaries), summary profiles, annotations and the
organization's quotas.

from session_analytics import fullstory

fs = fullstory.init()                       # FULLSTORY_API_KEY from the environment
user = fs.users.create({"uid": "u1", "display_name": "Ann"})
fs.events.create({"name": "Signed Up", "user": {"uid": "u1"}})
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fullstory_api import models

    from .._batching import BatcherStats, BatchingOptions, FlushResult
    from ..errors import ImportChunk, ImportFailure, ImportStopped
    from ._annotations import Annotations, AsyncAnnotations
    from ._calls import ApiResponse
    from ._client import AsyncFullStory, FullStory, init
    from ._events import AsyncEvents, Events
    from ._identity import Identified, current_user, identify
    from ._jobs import (
        AsyncBatchJob,
        BatchJob,
        BatchJobOptions,
        BatchJobResult,
        ImportProgress,
        ImportResult,
    )
    from ._organization import AsyncOrganization, Organization
    from ._queued_users import AsyncQueuedUserCreate, QueuedUserCreate
    from ._quotas import QuotaCheck, quota_check
    from ._sessions import AsyncSessions, Sessions
    from ._summary_profiles import AsyncSummaryProfiles, SummaryProfiles
    from ._users import AsyncUsers, Users

__all__ = [
    "Annotations",
    "ApiResponse",
    "AsyncAnnotations",
    "AsyncBatchJob",
    "AsyncEvents",
    "AsyncFullStory",
    "AsyncOrganization",
    "AsyncQueuedUserCreate",
    "AsyncSessions",
    "AsyncSummaryProfiles",
    "AsyncUsers",
    "BatchJob",
    "BatchJobOptions",
    "BatchJobResult",
    "BatcherStats",
    "BatchingOptions",
    "Events",
    "FlushResult",
    "FullStory",
    "Identified",
    "ImportChunk",
    "ImportFailure",
    "ImportProgress",
    "ImportResult",
    "ImportStopped",
    "Organization",
    "QueuedUserCreate",
    "QuotaCheck",
    "Sessions",
    "SummaryProfiles",
    "Users",
    "current_user",
    "identify",
    "init",
    "models",
    "quota_check",
]

# Imported on first use, not with the package: importing it costs nothing (a script or a
# command line that may not send anything does not pay for httpx); the first use of a name loads
# what it needs, and no more (the client leaves the generated models, batch jobs and import_()
# to the first call that needs them). What a stopped import leaves lives in ``errors``, with every
# other class a user can catch or receive.
_LAZY_HOMES = {
    "AsyncFullStory": "_client",
    "FullStory": "_client",
    "init": "_client",
    "AsyncEvents": "_events",
    "Events": "_events",
    "Identified": "_identity",
    "current_user": "_identity",
    "identify": "_identity",
    "AsyncUsers": "_users",
    "Users": "_users",
    "Annotations": "_annotations",
    "AsyncAnnotations": "_annotations",
    "AsyncOrganization": "_organization",
    "Organization": "_organization",
    "AsyncQueuedUserCreate": "_queued_users",
    "QueuedUserCreate": "_queued_users",
    "QuotaCheck": "_quotas",
    "quota_check": "_quotas",
    "AsyncSessions": "_sessions",
    "Sessions": "_sessions",
    "AsyncSummaryProfiles": "_summary_profiles",
    "SummaryProfiles": "_summary_profiles",
    "ApiResponse": "session_analytics.fullstory._calls",
    "BatcherStats": "session_analytics._batching",
    "BatchingOptions": "session_analytics._batching",
    "FlushResult": "session_analytics._batching",
    "AsyncBatchJob": "_jobs",
    "BatchJob": "_jobs",
    "BatchJobOptions": "_jobs",
    "BatchJobResult": "_jobs",
    "ImportProgress": "_jobs",
    "ImportResult": "_jobs",
    "ImportChunk": "session_analytics.errors",
    "ImportFailure": "session_analytics.errors",
    "ImportStopped": "session_analytics.errors",
}


def _publish(value: Any) -> None:
    """Name the package, not the private module, as the home of a public class or function."""
    if getattr(value, "__module__", "").startswith(__name__ + "."):
        value.__module__ = __name__


def _load(home: str) -> None:
    """Import ``._jobs`` (say) and publish its public names here (as attributes of the package,
    named as living in it). The package's own modules get these names from here too
    (``from . import BatchJob``), so they are published whoever asks first."""
    module = importlib.import_module(home if "." in home else f"{__name__}.{home}")
    for name, where in _LAZY_HOMES.items():
        if where == home and name not in globals():
            value = getattr(module, name)
            _publish(value)
            globals()[name] = value


def __getattr__(name: str) -> Any:
    if name == "models":
        module = importlib.import_module("fullstory_api.models")
        globals()[name] = module
        return module
    home = _LAZY_HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _load(home)
    return globals()[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


for _name in __all__:
    if _name in globals():
        _publish(globals()[_name])
