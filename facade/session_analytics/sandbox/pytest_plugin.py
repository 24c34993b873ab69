"""pytest fixtures for testing code that uses session-analytics, without a real account.

Installed with the package (entry point ``pytest11``), so any test suite can ask for them:

- ``sandbox``: a running sandbox, reset (no data, no faults, starting settings) before each test;
- ``sandbox_server``: the same server for the whole session, without the reset.

    def test_signup_sends_an_event(sandbox):
        fs = fullstory.init(api_key=sandbox.api_key, base_url=sandbox.url)
        ...
        assert [e["name"] for e in sandbox.events("fullstory")] == ["Signed Up"]

``pytest --sandbox-url http://127.0.0.1:8765`` runs them against a sandbox started elsewhere
(``session-analytics sandbox``) instead of one in a background thread. Batch jobs in the fixture
start after ``--sandbox-job-delay`` seconds (default 0.2) so that tests stay quick.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .server import Sandbox

DEFAULT_JOB_DELAY_S = 0.2


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("session-analytics")
    group.addoption(
        "--sandbox-url",
        default=None,
        help="use the session-analytics sandbox already running at this URL",
    )
    group.addoption(
        "--sandbox-job-delay",
        type=float,
        default=DEFAULT_JOB_DELAY_S,
        help="seconds before a batch job of the in-process sandbox starts (default 0.2)",
    )


@pytest.fixture(scope="session")
def sandbox_server(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """One sandbox for the whole test session (not reset between tests)."""
    from .server import Sandbox

    url = request.config.getoption("--sandbox-url")
    if url:
        yield Sandbox.attach(url)
        return
    with Sandbox(job_delay=request.config.getoption("--sandbox-job-delay")) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Sandbox:
    """A running sandbox, reset before the test: no users, events, jobs or faults."""
    sandbox_server.reset()
    return sandbox_server
