"""The FullStory Server API v2: users, events and batch import jobs, sync and async.

from session_analytics import fullstory

fs = fullstory.init()                       # FULLSTORY_API_KEY from the environment
user = fs.users.create({"uid": "u1", "display_name": "Ann"})
fs.events.create({"name": "Signed Up", "user": {"uid": "u1"}})
"""

from fullstory_api import models

from .._batcher import BatcherStats, BatchingOptions, FlushResult
from .._calls import ApiResponse
from ._client import AsyncFullStory, FullStory, init
from ._events import AsyncEvents, Events
from ._import import ImportFailure, ImportProgress, ImportResult, ImportStopped
from ._jobs import AsyncBatchJob, BatchJob, BatchJobOptions, BatchJobResult
from ._users import AsyncUsers, Users

__all__ = [
    "ApiResponse",
    "AsyncBatchJob",
    "AsyncEvents",
    "AsyncFullStory",
    "AsyncUsers",
    "BatchJob",
    "BatchJobOptions",
    "BatchJobResult",
    "BatcherStats",
    "BatchingOptions",
    "Events",
    "FlushResult",
    "FullStory",
    "ImportFailure",
    "ImportProgress",
    "ImportResult",
    "ImportStopped",
    "Users",
    "init",
    "models",
]

for _name in __all__:
    _value = globals()[_name]
    if getattr(_value, "__module__", "").startswith(__name__ + "."):
        _value.__module__ = __name__
