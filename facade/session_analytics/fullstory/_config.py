"""Client settings: arguments first, then environment variables, then defaults; checked once."""

from __future__ import annotations

import math
import os
import re
from typing import Any

import attrs
import httpx

from .._constants import FULLSTORY_API_KEY_ENV, FULLSTORY_BASE_URL, FULLSTORY_BASE_URL_ENV
from ..errors import FSInvalidArgumentError

# A key as issued, or a whole header value ("Basic <key>"): visible ASCII, one scheme word.
_HEADER_SAFE_KEY = re.compile(r"(?:[A-Za-z]+ )?[\x21-\x7e]+")


@attrs.frozen(kw_only=True)
class FullStoryConfig:
    api_key: str = attrs.field(repr=False)
    base_url: str
    timeout: float
    max_retries: int
    integration_source: str | None

    def __repr__(self) -> str:
        return (
            f"FullStoryConfig(base_url={self.base_url!r}, api_key='***', timeout={self.timeout}, "
            f"max_retries={self.max_retries}, integration_source={self.integration_source!r})"
        )


def fullstory_config(
    *,
    api_key: str | None,
    base_url: str | None,
    timeout: Any,
    max_retries: Any,
    integration_source: str | None,
) -> FullStoryConfig:
    key = api_key if api_key is not None else os.environ.get(FULLSTORY_API_KEY_ENV)
    if not isinstance(key, str) or not key.strip():
        raise FSInvalidArgumentError(
            "no FullStory API key: pass api_key=... or set the FULLSTORY_API_KEY environment "
            "variable (create a key in FullStory under Settings > Integrations > API Keys)",
            field="api_key",
        )
    if not _HEADER_SAFE_KEY.fullmatch(key.strip()):
        # Never echo the key: it is a secret, and the bad character may be a paste accident.
        raise FSInvalidArgumentError(
            "the FullStory API key has characters an HTTP header cannot carry (spaces, line "
            "breaks, quotes from a word processor, non-ASCII letters); copy it again from "
            "FullStory",
            field="api_key",
        )
    url = base_url or os.environ.get(FULLSTORY_BASE_URL_ENV) or FULLSTORY_BASE_URL
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as err:
        raise FSInvalidArgumentError(
            f"base_url {url!r} is not a URL: {err}", field="base_url"
        ) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FSInvalidArgumentError(
            f"base_url must be an http(s) URL such as {FULLSTORY_BASE_URL}, not {url!r}",
            field="base_url",
        )
    if timeout is None or isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise FSInvalidArgumentError(
            "timeout must be a number of seconds (None would let a call wait forever)",
            field="timeout",
        )
    if not math.isfinite(timeout) or timeout <= 0:
        raise FSInvalidArgumentError(
            "timeout must be a positive number of seconds", field="timeout"
        )
    if max_retries is None or isinstance(max_retries, bool) or not isinstance(max_retries, int):
        raise FSInvalidArgumentError(
            "max_retries must be a whole number (0 turns retries off)", field="max_retries"
        )
    if max_retries < 0:
        raise FSInvalidArgumentError("max_retries must be 0 or more", field="max_retries")
    if integration_source is not None and not isinstance(integration_source, str):
        raise FSInvalidArgumentError(
            "integration_source must be a string", field="integration_source"
        )
    return FullStoryConfig(
        api_key=key.strip(),
        base_url=str(parsed).rstrip("/"),
        timeout=float(timeout),
        max_retries=max_retries,
        integration_source=integration_source or None,
    )
