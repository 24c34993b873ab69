"""FullStory client settings: arguments, then environment variables, then defaults; checked once."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from scripted_http import Harness, Server, reply, resolve

from session_analytics.errors import (
    FSInvalidArgumentError,
)
from session_analytics.fullstory import (
    AsyncFullStory,
    FullStory,
)

BASE = "https://api.example.test"
KEY = "sk-test-SECRET-123"
USER = {"id": "fs-1"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ---- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("client", [FullStory, AsyncFullStory])
@pytest.mark.parametrize("api_key", [None, "", "   "])
def test_missing_key_is_refused_before_any_io(
    monkeypatch: pytest.MonkeyPatch, client: type[Any], api_key: str | None
) -> None:
    monkeypatch.delenv("FULLSTORY_API_KEY", raising=False)
    server = Server()
    with pytest.raises(FSInvalidArgumentError, match="FULLSTORY_API_KEY") as info:
        client(api_key, base_url=BASE, transport=httpx.MockTransport(server))
    assert info.value.field == "api_key"
    assert server.seen == []


@pytest.mark.parametrize("client", [FullStory, AsyncFullStory])
@pytest.mark.parametrize(
    "api_key",
    [
        "sk-test\nSECRET-123",
        "sk-test SECRET-123",
        "sk-test-SECRÉT-123",
        "\u201csk-test-SECRET-123\u201d",
    ],
    ids=["line-break", "space", "non-ascii", "smart-quotes"],
)
def test_a_key_no_header_can_carry_is_refused_without_showing_it(
    client: type[Any], api_key: str
) -> None:
    server = Server()
    with pytest.raises(FSInvalidArgumentError, match="copy it again") as info:
        client(api_key, base_url=BASE, transport=httpx.MockTransport(server))
    assert info.value.field == "api_key"
    assert "SECRET" not in str(info.value)
    assert "SECRET" not in repr(info.value)
    assert server.seen == []


@pytest.mark.anyio
async def test_environment_is_used(
    make: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULLSTORY_API_KEY", "env-key")
    monkeypatch.setenv("FULLSTORY_BASE_URL", "https://env.example.test/")
    h = make(reply(200, USER), api_key=None, base_url=None)
    assert h.fs.config.base_url == "https://env.example.test"
    await resolve(h.fs.users.create({"uid": "u1"}))
    assert h.server.header("Authorization") == ["Basic env-key"]
    assert h.server.seen[0].url.host == "env.example.test"


@pytest.mark.anyio
async def test_arguments_beat_the_environment(
    make: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULLSTORY_API_KEY", "env-key")
    monkeypatch.setenv("FULLSTORY_BASE_URL", "https://env.example.test")
    h = make(reply(200, USER))
    await resolve(h.fs.users.create({"uid": "u1"}))
    assert h.server.header("Authorization") == [f"Basic {KEY}"]
    assert h.server.seen[0].url.host == "api.example.test"
    assert h.fs.config.base_url == BASE


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ({"base_url": "not a url"}, "base_url"),
        ({"base_url": "ftp://files.example.test"}, "base_url"),
        ({"base_url": "https://"}, "base_url"),
        ({"timeout": None}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"timeout": math.inf}, "timeout"),
        ({"timeout": math.nan}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"timeout": "30"}, "timeout"),
        ({"max_retries": None}, "max_retries"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"max_retries": 2.0}, "max_retries"),
        ({"integration_source": 7}, "integration_source"),
    ],
)
@pytest.mark.parametrize("client", [FullStory, AsyncFullStory])
def test_bad_settings_name_the_field(
    client: type[Any], setting: dict[str, Any], field: str
) -> None:
    server = Server()
    with pytest.raises(FSInvalidArgumentError) as info:
        client(KEY, transport=httpx.MockTransport(server), **setting)
    assert info.value.field == field
    assert server.seen == []


@pytest.mark.anyio
async def test_reprs_never_show_the_key(make: Callable[..., Harness], flavor: str) -> None:
    fs = make().fs
    http = fs.raw.get_httpx_client() if flavor == "sync" else fs.raw.get_async_httpx_client()
    shown = [repr(fs), repr(fs.config), repr(fs.raw), str(http), repr(http)]
    shown += [repr(value) for value in vars(fs).values()]
    assert [KEY in text for text in shown] == [False] * len(shown)
    assert "api_key='***'" in repr(fs.config)


@pytest.mark.parametrize("own_client", [True, False], ids=["http_client", "default"])
def test_a_forked_child_is_warned_about_a_shared_http_client(
    caplog: pytest.LogCaptureFixture, own_client: bool
) -> None:
    # The after-fork hook is called by hand: what a real fork does is tested in test_track.
    user_client = httpx.Client(transport=httpx.MockTransport(Server()))
    fs = FullStory(KEY, base_url=BASE, http_client=user_client if own_client else None)
    try:
        with caplog.at_level(logging.WARNING, logger="session_analytics"):
            fs._after_fork()
        warned = [r.getMessage() for r in caplog.records if "forked" in r.getMessage()]
        assert len(warned) == (1 if own_client else 0)
        if own_client:
            assert "Make the client after the fork" in warned[0]
            assert KEY not in warned[0]
    finally:
        fs.close()
        user_client.close()
