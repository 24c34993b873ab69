"""Contains all the data models used in inputs/outputs"""

from .annotation import Annotation
from .batch_create_events_response import BatchCreateEventsResponse
from .batch_user_import_request import BatchUserImportRequest
from .batch_user_import_response import BatchUserImportResponse
from .browser_context import BrowserContext
from .cache_settings import CacheSettings
from .captured_event_properties import CapturedEventProperties
from .context import Context
from .context_element import ContextElement
from .context_event import ContextEvent
from .context_event_properties import ContextEventProperties
from .context_page import ContextPage
from .context_settings import ContextSettings
from .create_annotation_request import CreateAnnotationRequest
from .create_batch_events_import_job_request import CreateBatchEventsImportJobRequest
from .create_batch_events_import_job_response import CreateBatchEventsImportJobResponse
from .create_batch_user_import_job_request import CreateBatchUserImportJobRequest
from .create_batch_user_import_job_response import CreateBatchUserImportJobResponse
from .create_event_request import CreateEventRequest
from .create_event_response import CreateEventResponse
from .create_user_request import CreateUserRequest
from .create_user_response import CreateUserResponse
from .create_user_stream_response import CreateUserStreamResponse
from .delete_summary_profile_response import DeleteSummaryProfileResponse
from .delete_user_response import DeleteUserResponse
from .device_context import DeviceContext
from .error_response import ErrorResponse
from .event_settings import EventSettings
from .event_source_properties import EventSourceProperties
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
from .list_sessions_response import ListSessionsResponse
from .list_summary_profiles_response import ListSummaryProfilesResponse
from .list_users_response import ListUsersResponse
from .llm_settings import LlmSettings
from .location_context import LocationContext
from .mobile_context import MobileContext
from .pixel_size import PixelSize
from .profile_configuration import ProfileConfiguration
from .properties import Properties
from .property_types import PropertyTypes
from .quota_usage import QuotaUsage
from .quotas_response import QuotasResponse
from .response_schema import ResponseSchema
from .response_schema_properties import ResponseSchemaProperties
from .response_schema_type import ResponseSchemaType
from .schema import Schema
from .session_context_data import SessionContextData
from .session_context_request import SessionContextRequest
from .session_context_response import SessionContextResponse
from .session_device import SessionDevice
from .session_event import SessionEvent
from .session_events_response import SessionEventsResponse
from .session_id_request import SessionIdRequest
from .session_id_response import SessionIdResponse
from .session_location import SessionLocation
from .session_org import SessionOrg
from .session_ref import SessionRef
from .session_summary_request import SessionSummaryRequest
from .session_summary_response import SessionSummaryResponse
from .session_surroundings import SessionSurroundings
from .session_user import SessionUser
from .session_user_properties import SessionUserProperties
from .shared_data import SharedData
from .slice_settings import SliceSettings
from .slice_settings_mode import SliceSettingsMode
from .structured_answer import StructuredAnswer
from .summary_profile import SummaryProfile
from .summary_profile_id import SummaryProfileId
from .summary_profile_request import SummaryProfileRequest
from .type_conflicts import TypeConflicts
from .type_conflicts_properties import TypeConflictsProperties
from .update_user_request import UpdateUserRequest
from .update_user_response import UpdateUserResponse
from .user_id_request import UserIdRequest
from .user_id_response import UserIdResponse
from .user_stream_status_response import UserStreamStatusResponse

__all__ = (
    "Annotation",
    "BatchCreateEventsResponse",
    "BatchUserImportRequest",
    "BatchUserImportResponse",
    "BrowserContext",
    "CacheSettings",
    "CapturedEventProperties",
    "Context",
    "ContextElement",
    "ContextEvent",
    "ContextEventProperties",
    "ContextPage",
    "ContextSettings",
    "CreateAnnotationRequest",
    "CreateBatchEventsImportJobRequest",
    "CreateBatchEventsImportJobResponse",
    "CreateBatchUserImportJobRequest",
    "CreateBatchUserImportJobResponse",
    "CreateEventRequest",
    "CreateEventResponse",
    "CreateUserRequest",
    "CreateUserResponse",
    "CreateUserStreamResponse",
    "DeleteSummaryProfileResponse",
    "DeleteUserResponse",
    "DeviceContext",
    "ErrorResponse",
    "EventSettings",
    "EventSourceProperties",
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
    "ListSessionsResponse",
    "ListSummaryProfilesResponse",
    "ListUsersResponse",
    "LlmSettings",
    "LocationContext",
    "MobileContext",
    "PixelSize",
    "ProfileConfiguration",
    "Properties",
    "PropertyTypes",
    "QuotasResponse",
    "QuotaUsage",
    "ResponseSchema",
    "ResponseSchemaProperties",
    "ResponseSchemaType",
    "Schema",
    "SessionContextData",
    "SessionContextRequest",
    "SessionContextResponse",
    "SessionDevice",
    "SessionEvent",
    "SessionEventsResponse",
    "SessionIdRequest",
    "SessionIdResponse",
    "SessionLocation",
    "SessionOrg",
    "SessionRef",
    "SessionSummaryRequest",
    "SessionSummaryResponse",
    "SessionSurroundings",
    "SessionUser",
    "SessionUserProperties",
    "SharedData",
    "SliceSettings",
    "SliceSettingsMode",
    "StructuredAnswer",
    "SummaryProfile",
    "SummaryProfileId",
    "SummaryProfileRequest",
    "TypeConflicts",
    "TypeConflictsProperties",
    "UpdateUserRequest",
    "UpdateUserResponse",
    "UserIdRequest",
    "UserIdResponse",
    "UserStreamStatusResponse",
)
