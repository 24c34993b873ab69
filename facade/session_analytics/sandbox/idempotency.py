"""Idempotency-Key semantics of the FullStory create operations.

- The first answer for a key is kept (status and body) and replayed, without doing the work
  again, for a later request with the same key and the same body (compared as parsed JSON).
- The same key with a different body is refused: 400 ``invalid_argument`` (the real API's code
  for this case is not published; this one is the sandbox's choice).
- Answers 429 and 5xx are not kept, so the same key may be retried after them; nothing is kept
  when authentication failed, because no operation began.
- A key is scoped to the API key, the method and the path, and forgotten after a TTL (24 h).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import attrs

from .errors import bad_request

REUSED_KEY_MESSAGE = "Idempotency-Key was already used with a different request body"

Scope = tuple[str, str, str, str]  # api key, method, path, idempotency key


def fingerprint(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@attrs.frozen
class StoredAnswer:
    fingerprint: str
    status: int
    body: bytes
    headers: dict[str, str]
    expires_at: float


def is_kept(status: int) -> bool:
    return status != 429 and status < 500


class IdempotencyStore:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._answers: dict[Scope, StoredAnswer] = {}

    def __len__(self) -> int:
        return len(self._answers)

    def clear(self) -> None:
        self._answers.clear()

    def replay(self, scope: Scope, body_fingerprint: str) -> StoredAnswer | None:
        """The kept answer for this key, or None when the key is new (or expired).

        Raises:
            ApiError: the key was used before with a different body.
        """
        kept = self._answers.get(scope)
        if kept is None:
            return None
        if kept.expires_at <= self._clock():
            del self._answers[scope]
            return None
        if kept.fingerprint != body_fingerprint:
            raise bad_request(REUSED_KEY_MESSAGE)
        return kept

    def remember(
        self,
        scope: Scope,
        body_fingerprint: str,
        status: int,
        body: bytes,
        headers: dict[str, str],
        ttl_s: float,
    ) -> None:
        if not is_kept(status):
            return
        self._answers[scope] = StoredAnswer(
            body_fingerprint, status, body, headers, self._clock() + ttl_s
        )
