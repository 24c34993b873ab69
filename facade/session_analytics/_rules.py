"""Rules for single values that the API refuses, shared by the SDK and the sandbox.

The SDK checks these at the call site; the sandbox refuses the same values with 400
``invalid_argument``. Both import the functions below, so what one refuses the other refuses.

Each ``*_problem`` function returns None for a value the API takes, else why it does not take it
as a phrase to put after the field's name (``"timestamp " + problem``).

- A timestamp is an RFC 3339 date-time (the spec's ``format: date-time``): ``YYYY-MM-DD``, ``T``,
  ``HH:MM:SS``, an optional fraction of 1 to 9 digits, then ``Z`` or ``±HH:MM``; RFC 3339 allows
  a lower-case ``t`` and ``z``. The day must exist, the time and the offset must exist (no leap
  second: ``:60`` is refused), and the instant must fall within the years 0001 to 9999 in UTC.
  ISO 8601 forms outside RFC 3339 are refused: no seconds (``12:30Z``), the basic format
  (``20240201T123000Z``), a space for the ``T``, week or ordinal dates, ``+0200``.
- A session id is ``<device id>:<session id>``, two decimal integers of at most 64 bits, or the
  client-id form ``<uuid>:<uuid>``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

DATE_TIME_WITH_ZONE = "an ISO 8601 date-time with a time zone, such as 2024-02-01T12:30:00Z"
MUST_BE_DATE_TIME = f"must be {DATE_TIME_WITH_ZONE}"
NO_ZONE_HINT = "add Z or an offset like +02:00"
MAX_FRACTION_DIGITS = 9  # nanoseconds: what the API keeps

_DATE = r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?"
_OFFSET = r"(?:[Zz]|(?P<sign>[+-])(?P<offset_hour>[0-9]{2}):(?P<offset_minute>[0-9]{2}))"
_HINTS = (
    (
        f"{_DATE}[Tt][0-9]{{2}}:[0-9]{{2}}(?:[Zz]|[+-][0-9]{{2}}:?(?:[0-9]{{2}})?)\\Z",
        "the time needs its seconds, HH:MM:SS",
    ),
    (f"{_DATE} [0-9]{{2}}:", "a T goes between the date and the time, not a space"),
    (r"[0-9]{8}(?:[Tt]|\Z)", "write the date and time with their separators, not 20240201T123000Z"),
    (
        r"[0-9]{4}-?(?:W[0-9]{2}|[0-9]{3}(?:[Tt]|\Z))",
        "write a calendar date, YYYY-MM-DD, not a week or ordinal date",
    ),
    (
        f"{_DATE}[Tt].*[+-][0-9]{{2}}(?:[0-9]{{2}})?\\Z",
        "write the offset as +HH:MM (+02:00, not +0200 or +02)",
    ),
)


@functools.cache
def _date_time() -> re.Pattern[str]:
    return re.compile(f"{_DATE}[Tt]{_TIME}{_OFFSET}\\Z")


@functools.cache
def _near_misses() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Forms that are not date-times the API takes, with what to write instead (compiled when
    a timestamp is first refused)."""
    return (
        (re.compile(f"{_DATE}\\Z"), f"{MUST_BE_DATE_TIME}, not a date alone"),
        (re.compile(f"{_DATE}[Tt]{_TIME}\\Z"), f"{MUST_BE_DATE_TIME} ({NO_ZONE_HINT})"),
        *((re.compile(pattern), f"{MUST_BE_DATE_TIME} ({hint})") for pattern, hint in _HINTS),
    )


def timestamp_problem(text: str) -> str | None:
    """None when ``text`` is a date-time the API takes; else why not ("must be ...")."""
    found = _date_time().match(text)
    if found is None:
        return next((why for form, why in _near_misses() if form.match(text)), MUST_BE_DATE_TIME)
    year, month, day = int(found["year"]), int(found["month"]), int(found["day"])
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return f"{MUST_BE_DATE_TIME} (there is no day {text[:10]})"
    hour, minute, second = int(found["hour"]), int(found["minute"]), int(found["second"])
    if hour > 23 or minute > 59 or second > 59:
        return f"{MUST_BE_DATE_TIME} (there is no time {hour:02}:{minute:02}:{second:02})"
    fraction = found["fraction"]
    if fraction is not None and len(fraction) > MAX_FRACTION_DIGITS:
        return f"{MUST_BE_DATE_TIME} (at most {MAX_FRACTION_DIGITS} digits after the point)"
    offset = dt.timedelta(0)
    if found["sign"] is not None:
        offset_hour, offset_minute = int(found["offset_hour"]), int(found["offset_minute"])
        if offset_hour > 23 or offset_minute > 59:
            return f"{MUST_BE_DATE_TIME} (there is no offset {text[-6:]})"
        offset = dt.timedelta(hours=offset_hour, minutes=offset_minute)
        if found["sign"] == "-":
            offset = -offset
    moment = dt.datetime.combine(date, dt.time(hour, minute, second), dt.timezone(offset))
    try:
        moment.astimezone(dt.timezone.utc)
    except OverflowError:
        return f"{MUST_BE_DATE_TIME} (in UTC it falls outside the years 0001 to 9999)"
    return None


def is_timestamp(value: Any) -> bool:
    """For a JSON schema ``format: date-time``: a string the API takes as a timestamp."""
    return isinstance(value, str) and timestamp_problem(value) is None


_UUID = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"


@functools.cache
def _session_id() -> re.Pattern[str]:
    return re.compile(f"(?:([0-9]{{1,20}}):([0-9]{{1,20}})|{_UUID}:{_UUID})\\Z")


MAX_ID_INTEGER = 2**64 - 1
SESSION_ID_FORMS = (
    "must be '<device id>:<session id>' (two integers) or '<uuid>:<uuid>', "
    "such as 406214335320288249:3829143070270885557"
)


def session_id_problem(text: str) -> str | None:
    """None when ``text`` is a session id in one of the two forms FullStory gives out."""
    found = _session_id().match(text)
    if found is None:
        return SESSION_ID_FORMS
    if found[1] is not None and max(int(found[1]), int(found[2])) > MAX_ID_INTEGER:
        return f"{SESSION_ID_FORMS}; each integer fits in 64 bits"
    return None


MAX_SHOWN_KEY = 80


def member(where: str, key: Any) -> str:
    """The name of ``where``'s member ``key``: ``properties.plan``; a key that is not valid
    Unicode text (a lone surrogate) is shown escaped, ``props['\\ud800']``, so that the name of
    the field can always be printed."""
    if isinstance(key, str):
        if key.isascii() or _encodable(key):
            return f"{where}.{key}" if where else key
        shown = repr(key)
    else:
        try:
            shown = str(key)
        except Exception:  # an int too long to show, a __str__ that fails
            shown = f"<{type(key).__name__}>"
        if len(shown) > MAX_SHOWN_KEY:
            shown = f"{shown[: MAX_SHOWN_KEY - 3]}..."
        if _encodable(shown):
            return f"{where}.{shown}" if where else shown
        shown = repr(shown)
    return f"{where}[{shown}]"


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
