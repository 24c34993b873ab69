"""Contains all the data models used in inputs/outputs"""

from .batch_create_events_response import BatchCreateEventsResponse
from .batch_user_import_request import BatchUserImportRequest
from .batch_user_import_response import BatchUserImportResponse
from .browser_context import BrowserContext
from .context import Context
from .create_batch_events_import_job_request import CreateBatchEventsImportJobRequest
from .create_batch_events_import_job_response import CreateBatchEventsImportJobResponse
from .create_batch_user_import_job_request import CreateBatchUserImportJobRequest
from .create_batch_user_import_job_response import CreateBatchUserImportJobResponse
from .create_event_request import CreateEventRequest
from .create_event_response import CreateEventResponse
from .create_user_request import CreateUserRequest
from .create_user_response import CreateUserResponse
from .delete_user_response import DeleteUserResponse
from .device_context import DeviceContext
from .error_response import ErrorResponse
from .failed_events_import import FailedEventsImport
from .failed_user_import import FailedUserImport
from .get_batch_events_import_errors_response import GetBatchEventsImportErrorsResponse
from .get_batch_events_imports_response import GetBatchEventsImportsResponse
from .get_batch_user_import_errors_response import GetBatchUserImportErrorsResponse
from .get_batch_user_imports_response import GetBatchUserImportsResponse
from .get_user_response import GetUserResponse
from .job_metadata import JobMetadata
from .job_results_pending import JobResultsPending
from .job_status import JobStatus
from .job_status_response import JobStatusResponse
from .list_users_response import ListUsersResponse
from .location_context import LocationContext
from .mobile_context import MobileContext
from .properties import Properties
from .property_types import PropertyTypes
from .schema import Schema
from .session_id_request import SessionIdRequest
from .session_id_response import SessionIdResponse
from .shared_data import SharedData
from .type_conflicts import TypeConflicts
from .type_conflicts_properties import TypeConflictsProperties
from .update_user_request import UpdateUserRequest
from .update_user_response import UpdateUserResponse
from .user_id_request import UserIdRequest
from .user_id_response import UserIdResponse

__all__ = (
    "BatchCreateEventsResponse",
    "BatchUserImportRequest",
    "BatchUserImportResponse",
    "BrowserContext",
    "Context",
    "CreateBatchEventsImportJobRequest",
    "CreateBatchEventsImportJobResponse",
    "CreateBatchUserImportJobRequest",
    "CreateBatchUserImportJobResponse",
    "CreateEventRequest",
    "CreateEventResponse",
    "CreateUserRequest",
    "CreateUserResponse",
    "DeleteUserResponse",
    "DeviceContext",
    "ErrorResponse",
    "FailedEventsImport",
    "FailedUserImport",
    "GetBatchEventsImportErrorsResponse",
    "GetBatchEventsImportsResponse",
    "GetBatchUserImportErrorsResponse",
    "GetBatchUserImportsResponse",
    "GetUserResponse",
    "JobMetadata",
    "JobResultsPending",
    "JobStatus",
    "JobStatusResponse",
    "ListUsersResponse",
    "LocationContext",
    "MobileContext",
    "Properties",
    "PropertyTypes",
    "Schema",
    "SessionIdRequest",
    "SessionIdResponse",
    "SharedData",
    "TypeConflicts",
    "TypeConflictsProperties",
    "UpdateUserRequest",
    "UpdateUserResponse",
    "UserIdRequest",
    "UserIdResponse",
)
