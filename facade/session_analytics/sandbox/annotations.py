"""Annotations (POST /v2/annotations): checked, completed with their defaults and kept in the
order they arrived, for ``GET /_sandbox/annotations`` and the stats.

A start time defaults to the sandbox's clock (UTC, milliseconds), an end time to the start time,
a source to ""; a given end time must be after the start time. Times are kept as given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import _rules
from .context import parse_time
from .errors import bad_request
from .fullstory import utc_iso

MAX_TEXT = 200
MAX_SOURCE = 40


def _text(body: Mapping[str, Any], name: str, maximum: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string")
    if len(value) > maximum:
        raise bad_request(f"{name} must be at most {maximum} characters")
    return value


def _time(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string")
    problem = _rules.timestamp_problem(value)
    if problem is not None:
        raise bad_request(f"{name} {problem}")
    return value


class AnnotationLog:
    def __init__(self, wall: Callable[[], float]) -> None:
        self._wall = wall
        self.annotations: list[dict[str, Any]] = []

    def create(self, body: Any) -> dict[str, str]:
        """Check, complete and keep one annotation; returns it as the API answers it.

        Raises:
            ApiError: 400 naming the field.
        """
        if not isinstance(body, Mapping):
            raise bad_request("the request body must be an object")
        text = _text(body, "text", MAX_TEXT)
        if text is None:
            raise bad_request("text is required", code="required_field")
        if not text:
            raise bad_request("text must not be empty")
        source = _text(body, "source", MAX_SOURCE) or ""
        start = _time(body, "start_time")
        end = _time(body, "end_time")
        now = self._wall()
        start = start or utc_iso(now)
        if end is not None and parse_time(end) <= parse_time(start):
            raise bad_request("end_time must be after start_time")
        answer = {"text": text, "start_time": start, "end_time": end or start, "source": source}
        self.annotations.append({**answer, "received_at": utc_iso(now)})
        return answer
