"""The sandbox's errors: ``ApiError``, shaped like the real APIs' answers (a status and a
``{code, message}`` body), and ``SandboxError`` for whoever runs the sandbox."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse


class ApiError(Exception):
    """Raised by the rules; the routes turn it into the API's error answer."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def bad_request(message: str, code: str = "invalid_argument") -> ApiError:
    return ApiError(400, code, message)


def not_found(message: str = "Requested resource does not exist") -> ApiError:
    return ApiError(404, "resource_not_found", message)


def user_not_found() -> ApiError:
    return ApiError(404, "user_not_found", "User with that ID does not exist")


def unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "access is unauthorized")


def forbidden() -> ApiError:
    return ApiError(403, "forbidden", "insufficient permissions")


RATE_LIMITED_MESSAGE = "Too many requests. Client has exceeded the rate limit for this endpoint."


def too_many_requests(retry_after_s: int, message: str = RATE_LIMITED_MESSAGE) -> ApiError:
    return ApiError(
        429, "too_many_requests", message, headers={"Retry-After": str(max(0, retry_after_s))}
    )


def server_error() -> ApiError:
    return ApiError(500, "server_error", "Server error was encountered")


def error_response(err: ApiError) -> JSONResponse:
    """The API's answer for ``err``: its status, ``{code, message}`` body and headers."""
    return JSONResponse(err.body(), status_code=err.status, headers=err.headers)


class SandboxError(RuntimeError):
    """The sandbox could not start, or an admin call was refused."""
