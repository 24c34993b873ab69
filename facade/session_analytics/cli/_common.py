"""What every command shares: exit codes, the FullStory client from flags or env, error messages
a person can act on."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from .._constants import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_S
from ..errors import (
    FSConnectionError,
    FSError,
    FSForbiddenError,
    FSMaxRetryError,
    FSTimeoutError,
    FSUnauthorizedError,
    GaveUpError,
    InvalidArgumentError,
    SmartlookConnectionError,
    SmartlookError,
    SmartlookProjectError,
)

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran, but items failed or the API refused the request
EXIT_USAGE = 2  # bad arguments, missing key, unreadable file, a key the API refuses
EXIT_UNREACHABLE = 3  # the API could not be reached (network, timeouts, 5xx after retries)

Command = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    raise CommandError(message, code)


def add_fullstory_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("FullStory connection")
    group.add_argument(
        "--api-key",
        help="the API key (default: $FULLSTORY_API_KEY; prefer the variable: flags show in ps)",
    )
    group.add_argument(
        "--base-url", help="default: $FULLSTORY_BASE_URL, then https://api.fullstory.com"
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds per request ({DEFAULT_TIMEOUT_S:g})",
    )
    group.add_argument(
        "--max-retries",
        type=int,
        default=DEFAULT_MAX_RETRIES,
        help=f"retries per request ({DEFAULT_MAX_RETRIES})",
    )


def fullstory_client(args: argparse.Namespace) -> Any:
    from ..fullstory import FullStory

    return FullStory(
        args.api_key,
        base_url=args.base_url,
        timeout=args.timeout,
        max_retries=args.max_retries,
        integration_source="session-analytics-cli",
    )


# Settings named by their Python parameter in SDK messages, and the flag a person types.
FLAGS = {
    "jobs_in_flight": "--jobs-in-flight",
    "chunk_size": "--chunk-size",
    "poll_interval": "--poll-interval",
    "max_rate_limited_wait": "--max-rate-limited-wait",
    "timeout": "--timeout",
    "max_retries": "--max-retries",
    "timestamp": "--timestamp",
    "base_url": "--base-url",
    "host": "--host",
    "api_key": "--api-key",
    "key": "--smartlook-key",
    # sessions, annotate
    "uid": "--uid",
    "email": "--email",
    "session_uid": "--session-uid",
    "limit": "--limit",
    "session_id": "SESSION_ID",
    "text": "TEXT",
    "start_time": "--start",
    "end_time": "--end",
    "source": "--source",
}
MISSING_KEY = {
    "api_key": "no FullStory API key: pass --api-key or set FULLSTORY_API_KEY (create one in "
    "FullStory under Settings > Integrations > API Keys)",
    "key": "no Smartlook project key: pass --smartlook-key or set SMARTLOOK_KEY (the project "
    "key is in the Smartlook project settings)",
}


def _as_flags(error: InvalidArgumentError) -> str:
    field = error.field or ""
    message = str(error)
    if field in MISSING_KEY and "no " in message and " key" in message:
        return MISSING_KEY[field]
    flag = FLAGS.get(field)
    if flag is None:
        return message
    for prefix in (f"{field}: ", f"{field} "):
        if message.startswith(prefix):
            return f"{flag} {message[len(prefix) :]}"
    return message


def explain(error: BaseException, where: str = "FullStory") -> CommandError:
    """The message and exit code for an error the SDK raised."""
    if isinstance(error, GaveUpError) and isinstance(error.__cause__, BaseException):
        error = error.__cause__  # the batcher gave up: what made it give up is what matters
    last = error.last_error if isinstance(error, FSMaxRetryError) else error
    if isinstance(error, InvalidArgumentError):
        return CommandError(_as_flags(error), EXIT_USAGE)
    if isinstance(last, FSUnauthorizedError):
        return CommandError(
            f"the API key was refused: {error} (check --api-key or FULLSTORY_API_KEY)",
            EXIT_USAGE,
        )
    if isinstance(last, FSForbiddenError):
        return CommandError(
            f"{error} (the key's level is too low for this: reading and deleting users and "
            "reading import results need an Architect or Admin key)",
            EXIT_USAGE,
        )
    if isinstance(last, FSConnectionError | FSTimeoutError | SmartlookConnectionError):
        flag = "--host" if where == "Smartlook" else "--base-url"
        hint = f"check {flag} and the network"
        if isinstance(last, FSTimeoutError) or "timed out" in str(last).lower():
            hint = f"raise --timeout if the API is slow, or {hint}"
        return CommandError(f"cannot reach {where}: {error} ({hint})", EXIT_UNREACHABLE)
    if isinstance(error, FSMaxRetryError):
        return CommandError(f"{where} kept failing: {error}; try again later", EXIT_UNREACHABLE)
    status = getattr(last, "http_status_code", None)
    if isinstance(status, int) and (status >= 500 or status == 429):
        return CommandError(f"{where} is failing: {error}; try again later", EXIT_UNREACHABLE)
    if isinstance(error, SmartlookProjectError):
        return CommandError(str(error), EXIT_USAGE)
    if isinstance(error, FSError | SmartlookError):
        return CommandError(str(error), EXIT_FAILED)
    return CommandError(f"{type(error).__name__}: {error}", EXIT_FAILED)


EXIT_INTERRUPTED = 130


def command_error(error: BaseException) -> CommandError:
    """What to tell a person about an exception that ended a command, and the exit code;
    anything not expected (a bug) is raised again, with its traceback."""
    if isinstance(error, CommandError):
        return error
    if isinstance(error, FSError | SmartlookError | InvalidArgumentError | GaveUpError):
        return explain(error, "Smartlook" if isinstance(error, SmartlookError) else "FullStory")
    if isinstance(error, csv.Error):
        return CommandError(f"not valid CSV ({error})", EXIT_USAGE)
    if isinstance(error, OSError):  # a file that cannot be read or written
        where = f"{error.filename}: " if error.filename else ""
        return CommandError(f"{where}{error.strerror or error}", EXIT_USAGE)
    if isinstance(error, KeyboardInterrupt):
        return CommandError("interrupted", EXIT_INTERRUPTED)
    raise error


def run(command: Command, args: argparse.Namespace) -> int:
    try:
        return command(args)
    except (
        CommandError,
        FSError,
        SmartlookError,
        InvalidArgumentError,
        GaveUpError,
        csv.Error,
        OSError,
        KeyboardInterrupt,
    ) as error:
        explained = command_error(error)
        prefix = "" if isinstance(error, KeyboardInterrupt) else "error: "
        print(f"{prefix}{explained}", file=sys.stderr)
        return explained.code


def to_json(value: Any) -> Any:
    """A generated model (or a list of them) as plain JSON."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def print_json(value: Any, *, pretty: bool = True) -> None:
    text = json.dumps(to_json(value), indent=2 if pretty else None, default=str)
    print(text)


def key_values(pairs: list[str] | None, flag: str) -> dict[str, Any]:
    """``key=value`` (a string) or ``key:=json`` (any JSON value), as httpie writes them."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if ":=" in pair:
            key, raw = pair.split(":=", 1)
            try:
                out[key] = json.loads(raw)
            except ValueError:
                fail(f"{flag} {pair!r}: the part after := is not JSON")
        elif "=" in pair:
            key, value = pair.split("=", 1)
            out[key] = value
        else:
            fail(f"{flag} {pair!r}: write key=value (a string) or key:=json")
        if not key:
            fail(f"{flag} {pair!r}: the key is empty")
    return out
