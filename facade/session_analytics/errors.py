"""Every error the SDK raises, one hierarchy, with the names of the FullStory Node SDK.

    FSError                          .name is an FSErrorName; never holds an API key
    ├── FSApiError                   FS_FULLSTORY_API: the API answered with an error status
    │   ├── FSBadRequestError        400
    │   │   └── FSIdempotencyKeyReusedError   the key was used before with another body
    │   ├── FSUnauthorizedError      401
    │   ├── FSForbiddenError         403
    │   ├── FSNotFoundError          404
    │   ├── FSRateLimitedError       FS_RATE_LIMITED: 429, with .retry_after (seconds)
    │   └── FSServerError            5xx
    ├── FSTimeoutError               FS_TIMEOUT: no answer within the timeout
    ├── FSMaxRetryError              FS_MAX_RETRY: still failing after every retry; .last_error
    ├── FSParseError                 FS_ERROR_PARSE_RESPONSE: a 2xx answer we could not read
    ├── FSInvalidArgumentError       FS_ERROR_INVALID_ARGUMENT: bad input, found before any I/O
    └── FSUnknownError               FS_UNKNOWN
        └── FSConnectionError        the connection failed or dropped without an answer

    SmartlookError                   the Smartlook API; never holds the project key
    ├── SmartlookInvalidArgumentError   a bad event or setting (also a ValueError)
    ├── SmartlookProjectError        the key was refused, or analytics is off for the project
    ├── SmartlookApiError            an error status, with .http_status_code and .retry_after
    └── SmartlookConnectionError     no connection, a timeout, or a dropped connection

    InvalidArgumentError (a ValueError) is the base of both invalid-argument errors.
    QuotaWarning (a UserWarning) is warned, not raised: an import would exceed the quota.

API errors carry ``http_status_code``, ``headers`` and the payload's ``code`` and ``message``;
the error that caused another is chained (``__cause__``). ``retries_taken`` says how many times
the request was retried before the error was raised. An error that stopped ``import_()`` also
carries ``import_stopped``, an :class:`ImportStopped`: the jobs that may still be running and the
items not sent (as :class:`ImportChunk` when they may be in a job), and the :class:`ImportFailure`
of each item refused.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from typing import Any, TypeGuard

import attrs


class FSErrorName(str, enum.Enum):
    """The error names of the FullStory Node SDK; each value is the Node SDK's string."""

    FS_UNKNOWN = "FS_UNKNOWN"
    FS_TIMEOUT = "FS_TIMEOUT"
    FS_MAX_RETRY = "FS_MAX_RETRY"
    FS_RATE_LIMITED = "FS_RATE_LIMITED"
    FS_FULLSTORY_API = "FS_FULLSTORY_API"
    FS_ERROR_PARSE_RESPONSE = "FS_ERROR_PARSE_RESPONSE"
    FS_ERROR_INVALID_ARGUMENT = "FS_ERROR_INVALID_ARGUMENT"

    def __str__(self) -> str:
        return self.value


class FSError(Exception):
    """Base of every session-analytics error."""

    name: FSErrorName = FSErrorName.FS_UNKNOWN
    # Set when ``import_()`` stopped on this error: what was sent, what was not.
    import_stopped: ImportStopped | None = None
    # True when some attempt of the failed request may have been processed all the same (its
    # answer was lost, or a gateway answered 502/504): a create may have happened.
    maybe_processed: bool = False

    def __init__(self, message: str, *, retries_taken: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.retries_taken = retries_taken

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class FSApiError(FSError):
    """The API answered with an error status."""

    name = FSErrorName.FS_FULLSTORY_API

    def __init__(
        self,
        message: str,
        *,
        http_status_code: int,
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
        api_message: str | None = None,
        body: Any = None,
        retries_taken: int = 0,
    ) -> None:
        super().__init__(message, retries_taken=retries_taken)
        self.http_status_code = http_status_code
        self.headers = dict(headers or {})
        self.code = code
        self.api_message = api_message
        self.body = body

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(http_status_code={self.http_status_code}, "
            f"code={self.code!r}, message={self.api_message!r})"
        )


class FSBadRequestError(FSApiError):
    """400: the API refused the request as it is; retrying it unchanged will not help."""


class FSIdempotencyKeyReusedError(FSBadRequestError):
    """The Idempotency-Key was already used with a different request body."""


class FSUnauthorizedError(FSApiError):
    """401: the API key is missing, malformed or unknown."""


class FSForbiddenError(FSApiError):
    """403: the API key's level is too low (reads and deletes need Architect or Admin)."""


class FSNotFoundError(FSApiError):
    """404: no such user, job or route."""


class FSRateLimitedError(FSApiError):
    """429: too many requests, or too many import jobs in progress."""

    name = FSErrorName.FS_RATE_LIMITED

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class FSServerError(FSApiError):
    """5xx: the API failed on its side."""


class FSTimeoutError(FSError):
    """No answer within the timeout."""

    name = FSErrorName.FS_TIMEOUT


class FSMaxRetryError(FSError):
    """The request (or job poll) kept failing after every retry; ``last_error`` is the last."""

    name = FSErrorName.FS_MAX_RETRY

    def __init__(self, message: str, *, last_error: FSError, retries_taken: int) -> None:
        super().__init__(message, retries_taken=retries_taken)
        self.last_error = last_error

    @property
    def http_status_code(self) -> int | None:
        return getattr(self.last_error, "http_status_code", None)

    @property
    def retry_after(self) -> float | None:
        return getattr(self.last_error, "retry_after", None)


class FSParseError(FSError):
    """A successful answer whose body could not be read."""

    name = FSErrorName.FS_ERROR_PARSE_RESPONSE

    def __init__(
        self, message: str, *, http_status_code: int | None = None, body: str | None = None
    ) -> None:
        super().__init__(message)
        self.http_status_code = http_status_code
        self.body = body


class InvalidArgumentError(ValueError):
    """Bad input or settings, found before any I/O; ``field`` names what is wrong.

    The base of FSInvalidArgumentError and SmartlookInvalidArgumentError, and what settings
    shared by both APIs (BatchingOptions) raise.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[Exception], args: tuple[Any, ...], state: dict[str, Any]) -> Exception:
    """Unpickle an error: its message args and attributes, without calling its ``__init__``
    (whose keyword-only arguments pickle's default would not pass)."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class FSInvalidArgumentError(FSError, InvalidArgumentError):
    """Bad input, found before anything was sent; ``field`` names it when there is one."""

    name = FSErrorName.FS_ERROR_INVALID_ARGUMENT

    def __init__(self, message: str, *, field: str | None = None) -> None:
        FSError.__init__(self, message)
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        return FSError.__reduce__(self)


class FSUnknownError(FSError):
    """A failure that fits no other class."""

    name = FSErrorName.FS_UNKNOWN


class FSConnectionError(FSUnknownError):
    """The connection could not be made, or dropped before an answer came."""


# ---- where a stopped import stood ----------------------------------------------------------
# ``import_()`` of users and events sets an ImportStopped as ``import_stopped`` on the error (or
# any other exception) that stopped it; a user receives these and hands ImportChunks back.


@attrs.frozen
class ImportFailure:
    """One item that was not imported, and why."""

    item: Any  # the request: as given (refused before sending) or as the API echoes it
    code: str
    message: str
    job_id: str | None  # None when the item was refused before it was sent
    index: int | None  # its position in the input, when known


@attrs.frozen
class ImportChunk:
    """Items that must go into one job, created with this Idempotency-Key: a chunk that an
    import that stopped may have sent already (``ImportStopped.resume_items()`` yields them).
    Given to ``import_()`` among the items, it is sent alone, as it is, with its key: if its
    job was created before (within the API's 24 hours for a key), the API answers with that
    job instead of creating a second one."""

    items: list[dict[str, Any]]
    idempotency_key: str


@attrs.frozen
class ImportStopped:
    """Where an import stood when it stopped: set as ``import_stopped`` on the exception that
    stopped it (an FSError, or anything else: a KeyboardInterrupt, an error of the iterable).

    The iterable was consumed up to ``read`` items. ``unsent`` holds those of them that are in no
    job (already checked, ready to import again; ``unsent_indices`` are their positions in the
    input); the items after ``read`` were not read: import ``itertools.chain(unsent, rest)`` once
    the API works again, and nothing is sent twice. ``running_job_ids`` were created and may still
    be importing: do not send their items again (``get_batch_user_import_status`` /
    ``get_batch_events_import_status`` of ``fullstory_api.api`` on ``fs.raw`` tell how each
    ended). ``maybe_sent`` is True when the stop was a job create that got no answer (a timeout,
    a dropped connection, a 5xx, or a stop while it was in flight or its answer was being read),
    or an ``ImportChunk`` given back was not sent yet: that job may exist, with the first
    ``maybe_sent_count`` items of ``unsent`` in it; the others were never sent.
    ``refused`` lists items refused by the checks that ``on_failed`` was not told about yet.

    ``unsent_chunks`` are those first ``maybe_sent_count`` items of ``unsent`` again, as the
    chunks they were sent in, each with its Idempotency-Key: import
    ``itertools.chain(stopped.resume_items(), rest)`` and a chunk whose job was created is not
    created again (the API answers with the job the key made), so each item is imported once.
    """

    read: int
    submitted: int
    imported: int
    failed_count: int
    job_ids: list[str]
    running_job_ids: list[str]
    running_items: int  # in the running jobs
    unsent: list[dict[str, Any]]
    unsent_indices: list[int]
    maybe_sent: bool
    refused: list[ImportFailure]
    # How many of ``unsent`` (the first ones) may be in that job; the others were never sent.
    maybe_sent_count: int = 0
    unsent_chunks: list[ImportChunk] = attrs.field(factory=list)

    def resume_items(self) -> Iterator[Any]:
        """What to import again, in the order to import it: the chunks that may have been sent
        (each an :class:`ImportChunk` with its key), then the items never sent."""
        yield from self.unsent_chunks
        yield from self.unsent[self.maybe_sent_count :]


class SmartlookError(Exception):
    """Base of every Smartlook error; never holds the project key."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))


class SmartlookInvalidArgumentError(SmartlookError, InvalidArgumentError):
    """A bad event or setting, found before anything was queued; ``field`` names it."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        SmartlookError.__init__(self, message)
        self.field = field


class SmartlookProjectError(SmartlookError):
    """The project key was refused, or the project's analytics module is off."""


class SmartlookApiError(SmartlookError):
    """The Smartlook API answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        http_status_code: int,
        code: str | None = None,
        api_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status_code = http_status_code
        self.code = code
        self.api_message = api_message
        self.retry_after = retry_after


class SmartlookConnectionError(SmartlookError):
    """No connection to Smartlook, a timeout, or a connection dropped before an answer."""


def is_fs_error(value: object) -> TypeGuard[FSError]:
    """True for any error raised by session-analytics."""
    return isinstance(value, FSError)


_BY_STATUS: dict[int, type[FSApiError]] = {
    400: FSBadRequestError,
    401: FSUnauthorizedError,
    403: FSForbiddenError,
    404: FSNotFoundError,
    429: FSRateLimitedError,
}


def api_error_class(status: int) -> type[FSApiError]:
    """The error class for an error status: one table for sync and async alike."""
    if status >= 500:
        return FSServerError
    return _BY_STATUS.get(status, FSApiError)


__all__ = [
    "FSApiError",
    "FSBadRequestError",
    "FSConnectionError",
    "FSError",
    "FSErrorName",
    "FSForbiddenError",
    "FSIdempotencyKeyReusedError",
    "FSInvalidArgumentError",
    "FSMaxRetryError",
    "FSNotFoundError",
    "FSParseError",
    "FSRateLimitedError",
    "FSServerError",
    "FSTimeoutError",
    "FSUnauthorizedError",
    "FSUnknownError",
    "ImportChunk",
    "ImportFailure",
    "ImportStopped",
    "InvalidArgumentError",
    "SmartlookApiError",
    "SmartlookConnectionError",
    "SmartlookError",
    "SmartlookInvalidArgumentError",
    "SmartlookProjectError",
    "is_fs_error",
]


# ---- the event batcher: events not delivered ---------------------------------------------------
# Handed to ``on_error`` with the events they concern (see ``BatchingOptions.on_error``).


class ShutdownError(Exception):
    """The batcher stopped before these events were confirmed delivered."""


class GaveUpError(Exception):
    """A batch kept failing for ``max_retry_time`` seconds; the last error is the cause."""


__all__ += ["GaveUpError", "ShutdownError"]


# ---- warnings ---------------------------------------------------------------------------------


class QuotaWarning(UserWarning):
    """An import would send more server events than the organization's quota has left this
    billing cycle (``events.import_(check_quota=True)``). The import goes on: what happens past
    the quota is the API's decision."""


__all__ += ["QuotaWarning"]
