"""Shared fixtures for the sandbox tests: plain HTTP clients pointed at the `sandbox` fixture.

The `sandbox` fixture itself comes from the package's own pytest plugin
(session_analytics.sandbox.pytest_plugin): one uvicorn server for the session, reset before
each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from session_analytics.sandbox import Sandbox


@pytest.fixture
def fs(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An httpx client for the FullStory routes, authenticated with the sandbox's key."""
    with httpx.Client(
        base_url=sandbox.url,
        headers={"Authorization": f"Basic {sandbox.api_key}"},
        timeout=30.0,
    ) as client:
        yield client


@pytest.fixture
def raw(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An httpx client without credentials (Smartlook routes, admin routes, auth tests)."""
    with httpx.Client(base_url=sandbox.url, timeout=30.0) as client:
        yield client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
