"""Contains all the data models used in inputs/outputs"""

from .analytics_status import AnalyticsStatus
from .backend_event import BackendEvent
from .check_request import CheckRequest
from .check_response import CheckResponse
from .error_response import ErrorResponse
from .event_props import EventProps
from .event_type import EventType
from .events_accepted import EventsAccepted
from .events_request import EventsRequest
from .project_options import ProjectOptions

__all__ = (
    "AnalyticsStatus",
    "BackendEvent",
    "CheckRequest",
    "CheckResponse",
    "ErrorResponse",
    "EventProps",
    "EventsAccepted",
    "EventsRequest",
    "EventType",
    "ProjectOptions",
)
