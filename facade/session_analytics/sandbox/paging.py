"""Page tokens of the list routes: an offset and a hash of the query it belongs to, so that a
token is refused when it is sent with other filters."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from .errors import bad_request


def paginate(
    items: list[Any], page_token: str | None, page_size: int, query: str = ""
) -> tuple[list[Any], str | None]:
    """One page of ``items`` and the token of the next (None on the last page)."""
    start = 0
    if page_token:
        start = _read_token(page_token, query)
    end = start + page_size
    next_token = _make_token(end, query) if end < len(items) else None
    return items[start:end], next_token


def _make_token(offset: int, query: str) -> str:
    raw = json.dumps([offset, hash_query(query)]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _read_token(token: str, query: str) -> int:
    try:
        offset, query_hash = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError
    except (ValueError, TypeError, json.JSONDecodeError):
        raise bad_request("page_token is not a token this API gave out") from None
    if query_hash != hash_query(query):
        raise bad_request("page_token belongs to another query; repeat the same filters")
    return offset


def hash_query(query: str) -> int:
    return zlib.crc32(query.encode())
