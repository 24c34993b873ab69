"""How a request to the FullStory API is authorised, and which requests the API makes
idempotent: what the API-neutral transport (``_transport.py``) is handed by FullStory's client.
"""

from __future__ import annotations

import re
from collections.abc import Generator

import httpx

# Creates that the API makes idempotent with an Idempotency-Key (not the update: it takes none):
# users, events, their batch import jobs, and queued (stream) user creates.
IDEMPOTENT_POST = re.compile(r"/v2(?:beta)?/(?:users/stream|(?:users|events)(?:/batch)?)/?\Z")


def takes_idempotency_key(request: httpx.Request) -> bool:
    """A POST to one of the five create operations: it gets an Idempotency-Key, so a retry of
    it never creates twice."""
    return request.method == "POST" and IDEMPOTENT_POST.search(request.url.path) is not None


def auth_header(api_key: str) -> str:
    """The Authorization value: ``Basic <key>``, or the value itself when it holds a space."""
    return api_key if " " in api_key.strip() else f"Basic {api_key}"


class FullStoryAuth(httpx.Auth):
    """``Authorization: Basic <key>``: the key exactly as issued, no base64 step. A value that
    already holds a space (a full header value) is sent unchanged."""

    def __init__(self, api_key: str) -> None:
        self._header = auth_header(api_key)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "FullStoryAuth(api_key='***')"
