"""The Smartlook client against the real sandbox, over loopback HTTP.

Covers the module-level API (init/event/flush/stop/stats) and the Smartlook / AsyncSmartlook
classes; settings from arguments and from SMARTLOOK_KEY / SMARTLOOK_HOST /
SMARTLOOK_FLUSH_INTERVAL_MILLIS / SMARTLOOK_LOG_LEVEL; the check handshake (refused key, analytics
off, Smartlook unreachable, a transient failure); the project key never showing in reprs, errors
or logs; and the proofs under faults of the issue's point 8: nothing lost (and duplicates
counted) under error/429/reset faults, a 10 s outage followed by recovery, and ``stop(timeout=2)``
with the API down handing every pending event to ``on_error`` or leaving it in the spool.

``SESSION_ANALYTICS_SOAK_EVENTS`` sets how many events the fault proof sends (20,000 by default;
200,000 for the soak run).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import math
import os
import socket
import sqlite3
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support import Collected, await_until, wait_until

from session_analytics import _outage as outage_log
from session_analytics import smartlook
from session_analytics.errors import (
    GaveUpError,
    ShutdownError,
    SmartlookConnectionError,
    SmartlookError,
    SmartlookInvalidArgumentError,
    SmartlookProjectError,
)
from session_analytics.sandbox import Sandbox, SandboxConfig
from session_analytics.sandbox.smartlook import project_for
from session_analytics.smartlook import AsyncSmartlook, BatchingOptions, Smartlook

LOGGER = "session_analytics.smartlook"
ENV_VARS = (
    "SMARTLOOK_KEY",
    "SMARTLOOK_HOST",
    "SMARTLOOK_FLUSH_INTERVAL_MILLIS",
    "SMARTLOOK_LOG_LEVEL",
)
EVENTS_ROUTE = "POST /events/backend"
CHECK_ROUTE = "POST /rec/check/backend"
ALLOWED_KEY = "restricted-project-key-7c1d"

SOAK_EVENTS = int(os.environ.get("SESSION_ANALYTICS_SOAK_EVENTS", "20000"))
FAULT_BATCH = 200
FAULTS = {"error_rate": 0.2, "rate_limit_rate": 0.1, "retry_after_s": 1, "reset_rate": 0.05}
OUTAGE_S = 10.0
OUTAGE_EVENTS = 2_000
RECOVERY_BOUND_S = 2.0
STOP_QUEUED = 500


# ---- helpers --------------------------------------------------------------------------------


def assert_nothing_arrives(sandbox: Sandbox, seconds: float) -> None:
    """The sandbox stores no Smartlook event for ``seconds`` (polled all along)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert sandbox.stats()["events"]["smartlook"] == 0
        time.sleep(0.05)


def route_counts(sandbox: Sandbox, route: str = EVENTS_ROUTE) -> dict[str, int]:
    """Requests the sandbox answered on ``route``, by status ("200", "500", "dropped", ...)."""
    counts: dict[str, int] = sandbox.stats()["requests"].get(route, {})
    return counts


def closed_port_url() -> str:
    """An http URL on loopback where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def numbers(events: list[dict[str, Any]]) -> Counter[int]:
    """How many times each ``props["i"]`` was seen."""
    return Counter(int(event["props"]["i"]) for event in events)


def parse_received_at(stamp: str) -> float:
    """The sandbox's ISO UTC ``received_at`` ("...Z") as a POSIX timestamp."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def spooled_events(directory: Path) -> list[dict[str, Any]]:
    """Every event still in the SQLite spool files under ``directory``."""
    found: list[dict[str, Any]] = []
    for path in sorted(directory.glob("spool-*.sqlite3")):
        with contextlib.closing(sqlite3.connect(path)) as db:
            found += [
                json.loads(payload) for (payload,) in db.execute("SELECT payload FROM events")
            ]
    return found


def collect_garbage_ignoring_unclosed_resources() -> None:
    """Collect garbage without the ResourceWarnings of a leak proven by its own test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def build_and_stop(**kwargs: Any) -> None:
    """Build a Smartlook client without the check, and stop it at once (when it was built)."""
    Smartlook(**kwargs, check=False).stop(timeout=1)


# ---- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SMARTLOOK_* variable from the outside leaks into a test."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def restore_logger_level() -> Iterator[None]:
    """Log levels set by a client are put back after the test."""
    log = logging.getLogger(LOGGER)
    level = log.level
    yield
    log.setLevel(level)


@pytest.fixture(autouse=True)
def leaks_fail_their_own_test() -> Iterator[None]:
    """Collect garbage after each test (its clients stopped), so that a connection or file left
    open fails the test that left it (warnings are errors), not a later one."""
    yield
    gc.collect()


@pytest.fixture
def refused_clients_collected(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """For tests where a constructor is refused: what a refused constructor leaves open is
    proven by test_a_refused_init_closes_its_connection, not again here. (The captured warning
    "the check did not succeed" holds the error, hence the refused client: let it go first.)"""
    yield
    caplog.get_records("call").clear()
    collect_garbage_ignoring_unclosed_resources()


@pytest.fixture(autouse=True)
def no_default_client() -> Iterator[None]:
    """Every test starts and ends without a module-level client."""
    smartlook.stop(timeout=2)
    yield
    smartlook.stop(timeout=2)


@pytest.fixture
def make_client(sandbox: Sandbox) -> Iterator[Callable[..., Smartlook]]:
    """Build Smartlook clients for the sandbox (key and host unless given; ``key=None`` /
    ``host=None`` defer to the environment); every one is stopped after the test."""
    made: list[Smartlook] = []

    def make(**kwargs: Any) -> Smartlook:
        kwargs.setdefault("key", sandbox.smartlook_key)
        kwargs.setdefault("host", sandbox.url)
        client = Smartlook(**kwargs)
        made.append(client)
        return client

    yield make
    sandbox.set_faults()  # let what is left drain quickly
    for client in made:
        client.stop(timeout=2)


@pytest.fixture(scope="module")
def restricted_sandbox() -> Iterator[Sandbox]:
    """A sandbox that knows one Smartlook project key only."""
    with Sandbox(SandboxConfig(smartlook_keys=frozenset({ALLOWED_KEY}))) as server:
        yield server


# ---- 1. the module-level API and the classes -------------------------------------------------


def test_module_level_init_event_flush_stop(sandbox: Sandbox) -> None:
    key = sandbox.smartlook_key
    client = smartlook.init(key, host=sandbox.url, flush_interval_millis=0)
    pid, group = project_for(key)
    assert client.project is not None
    assert (client.project.pid, client.project.group) == (pid, group)

    sent = [
        {"vid": "visitor-1", "name": "backend_login", "value": "google", "props": {"i": 0}},
        {"vid": "visitor-1", "name": "purchase", "props": {"i": 1, "amount": 9.5, "vip": True}},
        {"vid": "visitor-2", "name": "backend_login", "sid": "session-9", "props": {"i": 2}},
    ]
    for event in sent:
        assert smartlook.event(**event) is True
    assert smartlook.event(vid="visitor-3", name="crash", value="boom", type="error") is True

    result = smartlook.flush(timeout=10)
    assert result
    assert result.pending == 0

    stored = sandbox.events("smartlook")
    assert len(stored) == 4
    by_name = {(e["vid"], e["name"]): e for e in stored}
    login = by_name[("visitor-1", "backend_login")]
    assert (login["type"], login["value"], login["props"], login["sid"]) == (
        "custom",
        "google",
        {"i": 0},
        None,
    )
    purchase = by_name[("visitor-1", "purchase")]
    assert purchase["props"] == {"i": 1, "amount": 9.5, "vip": True}
    assert purchase["value"] is None
    assert by_name[("visitor-2", "backend_login")]["sid"] == "session-9"
    crash = by_name[("visitor-3", "crash")]
    assert (crash["type"], crash["value"], crash["props"]) == ("error", "boom", {})
    assert {(e["pid"], e["group"]) for e in stored} == {(pid, group)}

    stats = smartlook.stats()
    assert (stats.enqueued, stats.delivered, stats.retried) == (4, 4, 0)
    assert (stats.dropped, stats.failed, stats.possible_duplicates) == (0, 0, 0)
    assert (stats.queue_depth, stats.in_flight, stats.spooled) == (0, 0, 0)

    stopped = smartlook.stop()
    assert stopped
    assert stopped.pending == 0
    with pytest.raises(SmartlookError, match=r"smartlook\.init\(\)"):
        smartlook.event(vid="visitor-1", name="too_late")
    assert len(sandbox.events("smartlook")) == 4


def test_module_level_calls_before_init_raise(sandbox: Sandbox) -> None:
    with pytest.raises(SmartlookError, match=r"init\(\)"):
        smartlook.event(vid="v", name="early")
    with pytest.raises(SmartlookError, match=r"init\(\)"):
        smartlook.flush()
    with pytest.raises(SmartlookError, match=r"init\(\)"):
        smartlook.stats()
    assert smartlook.stop() == smartlook.FlushResult(0)
    assert sandbox.stats()["requests"] == {}


def test_init_twice_replaces_the_first_client_after_delivering(sandbox: Sandbox) -> None:
    first = smartlook.init(sandbox.smartlook_key, host=sandbox.url, flush_interval_millis=0)
    assert smartlook.event(vid="v", name="from_first")
    assert sandbox.events("smartlook") == []  # no timer, far below flush_at: still queued

    second = smartlook.init(sandbox.smartlook_key, host=sandbox.url, flush_interval_millis=0)
    assert second is not first
    assert [e["name"] for e in sandbox.events("smartlook")] == ["from_first"]
    assert first.stats().delivered == 1
    assert first.event(vid="v", name="refused") is False  # the first one is stopped
    assert first.stats().dropped == 1

    assert smartlook.event(vid="v", name="from_second")
    assert second.stats().enqueued == 1
    assert smartlook.flush()
    assert sorted(e["name"] for e in sandbox.events("smartlook")) == ["from_first", "from_second"]


def test_smartlook_context_manager_delivers_on_exit(sandbox: Sandbox) -> None:
    with Smartlook(sandbox.smartlook_key, host=sandbox.url, flush_interval_millis=0) as client:
        for i in range(5):
            assert client.event(vid="v", name="in_context", props={"i": i})
        assert sandbox.events("smartlook") == []
    assert numbers(sandbox.events("smartlook", name="in_context")) == Counter(range(5))
    assert client.stats().delivered == 5
    assert client.event(vid="v", name="after_exit") is False


@pytest.mark.anyio
async def test_async_check_events_flush(sandbox: Sandbox) -> None:
    client = AsyncSmartlook(sandbox.smartlook_key, host=sandbox.url, flush_interval_millis=0)
    try:
        assert sandbox.stats()["requests"] == {}  # no I/O in the constructor
        project = await client.check()
        assert (project.pid, project.group) == project_for(sandbox.smartlook_key)
        assert client.project == project
        for i in range(5):
            assert client.event(vid="async-v", name="async_event", props={"i": i}, sid="s-1")
        result = await client.flush(timeout=10)
        assert result
        assert result.pending == 0
        stored = sandbox.events("smartlook", name="async_event")
        assert numbers(stored) == Counter(range(5))
        assert {(e["vid"], e["sid"], e["type"]) for e in stored} == {("async-v", "s-1", "custom")}
        stats = client.stats()
        assert (stats.enqueued, stats.delivered, stats.failed) == (5, 5, 0)
        assert route_counts(sandbox, CHECK_ROUTE) == {"200": 1}  # the check is done once
    finally:
        await client.stop(timeout=2)


@pytest.mark.anyio
async def test_async_context_manager_delivers_on_exit(sandbox: Sandbox) -> None:
    async with AsyncSmartlook(
        sandbox.smartlook_key, host=sandbox.url, flush_interval_millis=0
    ) as client:
        for i in range(3):
            assert client.event(vid="v", name="async_exit", props={"i": i})
    # No check() was awaited: the check is done before the first send.
    assert numbers(sandbox.events("smartlook", name="async_exit")) == Counter(range(3))
    assert client.project is not None
    assert client.stats().delivered == 3
    assert client.event(vid="v", name="after_exit") is False


@pytest.mark.anyio
async def test_async_flush_interval_sends_without_flush(sandbox: Sandbox) -> None:
    client = AsyncSmartlook(sandbox.smartlook_key, host=sandbox.url, flush_interval_millis=200)
    try:
        await client.check()
        for attempt in range(2):  # a fresh worker, then one idle after a delivery
            assert client.event(vid="v", name="async_timer", props={"i": attempt})
            # The default flush interval is 10 s: with it the event would not arrive within
            # these 3 s, so it arrives in time only if the 200 ms interval is applied.
            await await_until(
                lambda n=attempt: sandbox.stats()["events"]["smartlook"] > n,
                timeout=3.0,
                what=f"event {attempt}, to be sent by the 200 ms timer without flush()",
            )
    finally:
        await client.stop(timeout=2)


# ---- 2. settings ----------------------------------------------------------------------------


def test_settings_from_environment(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, make_client: Callable[..., Smartlook]
) -> None:
    monkeypatch.setenv("SMARTLOOK_KEY", sandbox.smartlook_key)
    monkeypatch.setenv("SMARTLOOK_HOST", sandbox.url)
    monkeypatch.setenv("SMARTLOOK_FLUSH_INTERVAL_MILLIS", "250")
    monkeypatch.setenv("SMARTLOOK_LOG_LEVEL", "debug")
    client = make_client(key=None, host=None)

    assert client.settings.key == sandbox.smartlook_key
    assert client.settings.host_url == sandbox.url
    assert client.settings.flush_interval_s == 0.25
    assert client.settings.log_level == "debug"
    assert logging.getLogger(LOGGER).level == logging.DEBUG
    assert client.project is not None
    assert client.project.pid == project_for(sandbox.smartlook_key)[0]

    assert client.event(vid="v", name="from_env")
    assert client.flush()
    assert [e["pid"] for e in sandbox.events("smartlook")] == [client.project.pid]


def test_arguments_win_over_environment(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, make_client: Callable[..., Smartlook]
) -> None:
    env_key = "environment-project-key"
    monkeypatch.setenv("SMARTLOOK_KEY", env_key)
    monkeypatch.setenv("SMARTLOOK_HOST", closed_port_url())
    monkeypatch.setenv("SMARTLOOK_FLUSH_INTERVAL_MILLIS", "5000")
    monkeypatch.setenv("SMARTLOOK_LOG_LEVEL", "error")
    client = make_client(
        key=sandbox.smartlook_key, host=sandbox.url, flush_interval_millis=0, log_level="info"
    )

    assert client.settings.key == sandbox.smartlook_key
    assert client.settings.host_url == sandbox.url
    assert client.settings.flush_interval_s == math.inf
    assert client.settings.log_level == "info"
    assert logging.getLogger(LOGGER).level == logging.INFO

    assert client.event(vid="v", name="from_arguments")
    assert client.flush()
    pid = project_for(sandbox.smartlook_key)[0]
    assert pid != project_for(env_key)[0]
    assert [e["pid"] for e in sandbox.events("smartlook")] == [pid]


def test_missing_key_is_refused_before_any_request(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARTLOOK_HOST", sandbox.url)
    attempts: list[Callable[[], Any]] = [
        lambda: Smartlook(),
        lambda: Smartlook("   "),
        lambda: smartlook.init(),
        lambda: AsyncSmartlook(),
    ]
    for attempt in attempts:
        with pytest.raises(SmartlookInvalidArgumentError) as info:
            attempt()
        assert info.value.field == "key"
        assert "SMARTLOOK_KEY" in str(info.value)
        assert isinstance(info.value, ValueError)
    monkeypatch.setenv("SMARTLOOK_KEY", "")
    with pytest.raises(SmartlookInvalidArgumentError, match="SMARTLOOK_KEY"):
        Smartlook()
    assert sandbox.stats()["requests"] == {}
    with pytest.raises(SmartlookError, match=r"init\(\)"):
        smartlook.event(vid="v", name="no_client")


@pytest.mark.parametrize(
    ("arguments", "environment", "field"),
    [
        ({}, {"SMARTLOOK_FLUSH_INTERVAL_MILLIS": "soon"}, "SMARTLOOK_FLUSH_INTERVAL_MILLIS"),
        ({"flush_interval_millis": -1}, {}, "flush_interval_millis"),
        ({"flush_interval_millis": math.nan}, {}, "flush_interval_millis"),
        ({"flush_interval_millis": "200"}, {}, "flush_interval_millis"),
        ({"log_level": "verbose"}, {}, "log_level"),
        ({}, {"SMARTLOOK_LOG_LEVEL": "loud"}, "log_level"),
        ({"host": "ftp://manager.smartlook.com"}, {}, "host"),
        ({"host": None}, {"SMARTLOOK_HOST": "https://[::1"}, "host"),
        ({"host": "http://"}, {}, "host"),
        ({"timeout": 0}, {}, "timeout"),
    ],
    ids=[
        "env-interval-not-a-number",
        "negative-interval",
        "nan-interval",
        "interval-as-text",
        "unknown-log-level",
        "env-unknown-log-level",
        "ftp-host",
        "env-host-unparsable",
        "scheme-without-host",
        "zero-timeout",
    ],
)
def test_bad_setting_is_refused_naming_the_field(
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    arguments: dict[str, Any],
    environment: dict[str, str],
    field: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    kwargs: dict[str, Any] = {"key": sandbox.smartlook_key, "host": sandbox.url, **arguments}
    with pytest.raises(SmartlookInvalidArgumentError) as info:
        build_and_stop(**kwargs)
    assert info.value.field == field
    assert field in str(info.value)
    with pytest.raises(SmartlookInvalidArgumentError):
        AsyncSmartlook(**kwargs)
    assert sandbox.stats()["requests"] == {}


def test_flush_interval_from_environment_sends_without_flush(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, make_client: Callable[..., Smartlook]
) -> None:
    monkeypatch.setenv("SMARTLOOK_FLUSH_INTERVAL_MILLIS", "200")
    client = make_client()
    assert client.settings.flush_interval_s == 0.2
    for attempt in range(2):  # a fresh worker, then one idle after a delivery
        assert client.event(vid="v", name="timer", props={"i": attempt})
        # The default flush interval is 10 s: with it the event would not arrive within these
        # 3 s, so it arrives in time only if the 200 ms interval is applied.
        wait_until(
            lambda n=attempt: sandbox.stats()["events"]["smartlook"] > n,
            timeout=3.0,
            what=f"event {attempt}, to be sent by the 200 ms timer without flush()",
        )


def test_flush_interval_zero_means_no_timer(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, make_client: Callable[..., Smartlook]
) -> None:
    monkeypatch.setenv("SMARTLOOK_FLUSH_INTERVAL_MILLIS", "0")
    client = make_client()
    assert client.settings.flush_interval_s == math.inf
    assert client.event(vid="v", name="waits_for_flush")
    assert_nothing_arrives(sandbox, seconds=1.0)
    assert client.stats().queue_depth == 1
    assert client.flush(timeout=5)
    assert [e["name"] for e in sandbox.events("smartlook")] == ["waits_for_flush"]


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("mute", logging.CRITICAL + 10),
        ("trace", 5),
        ("debug", logging.DEBUG),
        ("info", logging.INFO),
        ("error", logging.ERROR),
        ("Info", logging.INFO),
    ],
)
def test_log_level_maps_onto_the_logger(
    make_client: Callable[..., Smartlook], level: str, expected: int
) -> None:
    log = logging.getLogger(LOGGER)
    log.setLevel(logging.WARNING)
    client = make_client(log_level=level, check=False)
    assert log.level == expected
    assert client.settings.log_level == level.lower()
    if level == "mute":
        assert log.level > logging.CRITICAL
        assert not log.isEnabledFor(logging.CRITICAL)
    if level == "trace":
        assert logging.getLevelName(5) == "TRACE"
        assert log.isEnabledFor(5)


def test_log_level_from_environment(
    monkeypatch: pytest.MonkeyPatch, make_client: Callable[..., Smartlook]
) -> None:
    log = logging.getLogger(LOGGER)
    log.setLevel(logging.WARNING)
    monkeypatch.setenv("SMARTLOOK_LOG_LEVEL", "mute")
    client = make_client(check=False)
    assert client.settings.log_level == "mute"
    assert log.level > logging.CRITICAL


# ---- 3. the check handshake -----------------------------------------------------------------


@pytest.mark.usefixtures("refused_clients_collected")
def test_unknown_key_is_refused_at_init(restricted_sandbox: Sandbox) -> None:
    wrong = "wrong-project-key-5e1f9a"
    with pytest.raises(SmartlookProjectError) as info:
        Smartlook(wrong, host=restricted_sandbox.url)
    assert "refused" in str(info.value)
    assert wrong not in str(info.value)
    assert wrong not in repr(info.value)

    with pytest.raises(SmartlookProjectError):
        smartlook.init(wrong, host=restricted_sandbox.url)
    with pytest.raises(SmartlookError, match=r"init\(\)"):  # a refused init leaves no client
        smartlook.event(vid="v", name="nowhere")

    accepted = Smartlook(ALLOWED_KEY, host=restricted_sandbox.url)
    try:
        assert accepted.project is not None
        assert accepted.project.pid == project_for(ALLOWED_KEY)[0]
    finally:
        accepted.stop(timeout=2)


@pytest.mark.usefixtures("refused_clients_collected")
def test_a_refused_key_is_warned_even_during_a_warned_outage(
    restricted_sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="session_analytics")
    client = Smartlook("wrong-project-key-77", host=restricted_sandbox.url, check=False)
    try:
        client._failures.failed(SmartlookError("the API is down"))  # an outage, warned once
        assert isinstance(client._check_once(), SmartlookProjectError)
    finally:
        client.stop(timeout=2)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert warnings[1].startswith("smartlook: the check did not succeed: ")
    assert "refused" in warnings[1]
    assert "wrong-project-key-77" not in caplog.text


@pytest.mark.anyio
async def test_async_check_refuses_an_unknown_key(restricted_sandbox: Sandbox) -> None:
    wrong = "wrong-async-project-key-3b2a"
    client = AsyncSmartlook(wrong, host=restricted_sandbox.url)
    try:
        with pytest.raises(SmartlookProjectError) as info:
            await client.check()
        assert wrong not in str(info.value)
        assert client.project is None
    finally:
        await client.stop(timeout=2)


@pytest.mark.usefixtures("refused_clients_collected")
def test_analytics_disabled_is_refused_at_init(
    sandbox: Sandbox, make_client: Callable[..., Smartlook]
) -> None:
    sandbox.configure(smartlook_analytics_enabled=False)
    with pytest.raises(SmartlookProjectError, match="Analytics module is not enabled") as info:
        make_client()
    assert sandbox.smartlook_key not in str(info.value)
    assert route_counts(sandbox, CHECK_ROUTE) == {"200": 1}
    assert sandbox.stats()["events"]["smartlook"] == 0


def test_a_refused_init_closes_its_connection(sandbox: Sandbox) -> None:
    sandbox.configure(smartlook_analytics_enabled=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(SmartlookProjectError):
            # Muted: a captured log record would keep the refused client alive.
            Smartlook(sandbox.smartlook_key, host=sandbox.url, log_level="mute")
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []


def test_unreachable_at_init_then_events_go_to_on_error(
    caplog: pytest.LogCaptureFixture, make_client: Callable[..., Smartlook]
) -> None:
    caplog.set_level(logging.DEBUG, logger="session_analytics")
    collected = Collected()
    client = make_client(
        host=closed_port_url(),
        check=True,
        batching=BatchingOptions(
            max_retry_time=0.5, retry_max_delay=0.1, flush_interval=math.inf, on_error=collected
        ),
    )
    assert client.project is None
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert any("check did not succeed" in r.getMessage() for r in warnings)

    for i in range(3):
        assert client.event(vid="v", name="unreachable", props={"i": i})
    result = client.flush(timeout=15)
    assert result
    assert numbers(collected.events) == Counter(range(3))
    assert {e["name"] for e in collected.events} == {"unreachable"}
    for error in collected.errors:
        assert isinstance(error, GaveUpError)
        assert isinstance(error.__cause__, SmartlookConnectionError)
    stats = client.stats()
    assert (stats.enqueued, stats.delivered, stats.failed, stats.dropped) == (3, 0, 3, 0)


def test_transient_check_failure_at_init_is_redone_before_the_first_send(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture, make_client: Callable[..., Smartlook]
) -> None:
    caplog.set_level(logging.WARNING, logger="session_analytics")
    sandbox.set_faults(script=["error", "error", "error"])  # the check and its two retries
    client = make_client(flush_interval_millis=0)
    assert client.project is None
    assert route_counts(sandbox, CHECK_ROUTE) == {"500": 3}
    assert any("check did not succeed" in r.getMessage() for r in caplog.records)

    for i in range(4):
        assert client.event(vid="v", name="after_recovery", props={"i": i})
    assert client.flush(timeout=10)
    assert numbers(sandbox.events("smartlook", name="after_recovery")) == Counter(range(4))
    assert client.project is not None
    assert client.project.pid == project_for(sandbox.smartlook_key)[0]
    assert route_counts(sandbox, CHECK_ROUTE) == {"500": 3, "200": 1}
    assert client.stats().delivered == 4


def test_a_check_before_a_send_is_one_attempt_the_batcher_retries(
    sandbox: Sandbox, make_client: Callable[..., Smartlook]
) -> None:
    # The worker does not sit in the transport's own retries: each failed check fails the
    # batch attempt at once, and the batcher's back-off (and pause) decides when to try again.
    client = make_client(
        check=False,
        batching=BatchingOptions(retry_initial_delay=0.01, retry_max_delay=0.05),
    )
    sandbox.set_faults(script=["error", "error", "error"])
    assert client.event(vid="v", name="checked_late", props={"i": 0})
    assert client.flush(timeout=10)
    assert route_counts(sandbox, CHECK_ROUTE) == {"500": 3, "200": 1}
    assert numbers(sandbox.events("smartlook", name="checked_late")) == Counter([0])
    stats = client.stats()
    assert (stats.delivered, stats.retried) == (1, 3)


def smartlook_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


def test_an_unreachable_smartlook_is_warned_once_not_per_attempt(
    caplog: pytest.LogCaptureFixture, make_client: Callable[..., Smartlook]
) -> None:
    caplog.set_level(logging.DEBUG, logger="session_analytics")
    collected = Collected()
    client = make_client(
        host=closed_port_url(),
        check=True,
        batching=BatchingOptions(
            retry_initial_delay=0.01,
            retry_max_delay=0.05,
            max_retry_time=1.0,
            flush_interval=math.inf,
            on_error=collected,
        ),
    )
    for i in range(3):
        assert client.event(vid="v", name="unreachable", props={"i": i})
    assert client.flush(timeout=15)
    assert numbers(collected.events) == Counter(range(3))

    warned = smartlook_records(caplog, logging.WARNING)
    assert len(warned) == 1, warned
    assert "the check did not succeed" in warned[0]
    assert "further failures are logged at DEBUG level" in warned[0]
    # The check was asked again before each attempt to send: those are DEBUG lines.
    again = [m for m in smartlook_records(caplog, logging.DEBUG) if "did not succeed" in m]
    assert len(again) >= 5


@pytest.mark.anyio
async def test_async_unreachable_smartlook_is_warned_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="session_analytics")
    collected = Collected()
    client = AsyncSmartlook(
        "async-unreachable-key",
        host=closed_port_url(),
        batching=BatchingOptions(
            retry_initial_delay=0.01,
            retry_max_delay=0.05,
            max_retry_time=1.0,
            flush_interval=math.inf,
            on_error=collected,
        ),
    )
    try:
        with pytest.raises(SmartlookConnectionError):
            await client.check()
        for i in range(3):
            assert client.event(vid="v", name="unreachable", props={"i": i})
        assert await client.flush(timeout=15)
    finally:
        await client.stop(timeout=2)
    assert numbers(collected.events) == Counter(range(3))
    assert len(smartlook_records(caplog, logging.WARNING)) == 1
    again = [m for m in smartlook_records(caplog, logging.DEBUG) if "did not succeed" in m]
    assert len(again) >= 5


def test_a_send_outage_is_warned_once_then_its_recovery_and_the_next_outage(
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    make_client: Callable[..., Smartlook],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG, logger="session_analytics")
    client = make_client(
        flush_interval_millis=0,
        batching=BatchingOptions(retry_initial_delay=0.01, retry_max_delay=0.05),
    )
    assert client.project is not None

    def outage(name: str, attempts: int) -> None:
        before = route_counts(sandbox).get("500", 0)
        sandbox.set_faults(error_rate=1)
        assert client.event(vid="v", name=name, props={"i": 0})
        client.flush(timeout=0)
        wait_until(
            lambda: route_counts(sandbox).get("500", 0) >= before + attempts,
            timeout=10,
            what=f"{attempts} failed sends",
        )
        sandbox.set_faults()
        assert client.flush(timeout=10)

    outage("first_outage", 5)
    warned = smartlook_records(caplog, logging.WARNING)
    assert len(warned) == 1, warned
    assert "sending events answered 500" in warned[0]
    recovered = [m for m in smartlook_records(caplog, logging.INFO) if "succeed again" in m]
    assert len(recovered) == 1
    assert "failed attempts over" in recovered[0]

    # A new outage is warned about again, once (here without the 10 s between two warnings).
    monkeypatch.setattr(outage_log, "FAILURE_LOG_INTERVAL_S", 0.0)
    outage("second_outage", 5)
    assert len(smartlook_records(caplog, logging.WARNING)) == 2
    assert len([m for m in smartlook_records(caplog, logging.INFO) if "succeed again" in m]) == 2
    assert numbers(sandbox.events("smartlook", name="second_outage")) == Counter([0])


def test_a_flapping_api_is_warned_about_at_most_once_per_interval(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture, make_client: Callable[..., Smartlook]
) -> None:
    caplog.set_level(logging.WARNING, logger="session_analytics")
    client = make_client(
        flush_interval_millis=0,
        batching=BatchingOptions(retry_initial_delay=0.01, retry_max_delay=0.05),
    )
    for i in range(5):  # five short outages within a few seconds
        sandbox.set_faults(script=["error", "error"])
        assert client.event(vid="v", name="flapping", props={"i": i})
        assert client.flush(timeout=10)
    assert numbers(sandbox.events("smartlook", name="flapping")) == Counter(range(5))
    assert len(smartlook_records(caplog, logging.WARNING)) == 1


# ---- 4. the project key never shows ---------------------------------------------------------


@pytest.mark.usefixtures("refused_clients_collected")
def test_project_key_never_leaks(
    sandbox: Sandbox,
    restricted_sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    make_client: Callable[..., Smartlook],
) -> None:
    secret = "sl-project-key-0f9e8d7c6b5a-SECRET"
    caplog.set_level(logging.DEBUG, logger="session_analytics")
    collected = Collected()
    texts: list[str] = []

    # The check at init fails three ways (500, 429, dropped connection), each logged.
    sandbox.set_faults(script=["error", "rate_limit", "reset"])
    client = make_client(
        key=secret,
        log_level="debug",
        batching=BatchingOptions(
            max_retry_time=0.3, retry_max_delay=0.05, flush_interval=math.inf, on_error=collected
        ),
    )
    assert client.project is None
    texts += [repr(client), str(client), repr(client.settings), str(client.settings)]
    assert client.event(vid="v", name="delivered")
    assert client.flush(timeout=10)  # the check is redone, then the event is sent
    texts += [repr(client.project)]
    sandbox.set_faults(error_rate=1)
    assert client.event(vid="v", name="given_up")
    assert client.flush(timeout=10)
    assert len(collected.events) == 1
    for error in collected.errors:
        cause: BaseException | None = error
        while cause is not None:
            texts += [str(cause), repr(cause)]
            cause = cause.__cause__
    sandbox.set_faults()

    refusals: list[Callable[[], Any]] = [
        lambda: Smartlook(secret, host=restricted_sandbox.url),
        lambda: Smartlook(secret, host="ftp://nowhere"),
        lambda: Smartlook(secret, host=sandbox.url, log_level="loud"),
    ]
    for refusal in refusals:
        with pytest.raises(SmartlookError) as info:
            refusal()
        texts += [str(info.value), repr(info.value)]
    sandbox.configure(smartlook_analytics_enabled=False)
    with pytest.raises(SmartlookProjectError) as off:
        Smartlook(secret, host=sandbox.url)
    texts += [str(off.value), repr(off.value)]

    records = [r for r in caplog.records if r.name.startswith("session_analytics")]
    assert any(r.levelno == logging.WARNING for r in records)
    assert any(r.levelno == logging.DEBUG for r in records)
    texts += [r.getMessage() for r in records]
    texts.append(caplog.text)  # with formatted tracebacks
    # The key travels in the check's body only: never in a URL or a header.
    for request in sandbox.requests():
        texts += [request["path"], request["query"], json.dumps(request["headers"])]

    leaks = [text for text in texts if secret in text]
    assert leaks == []


# ---- 5-7. proof under faults ----------------------------------------------------------------


@pytest.mark.slow
def test_nothing_lost_under_faults_and_duplicates_are_counted(
    sandbox: Sandbox, make_client: Callable[..., Smartlook]
) -> None:
    total = SOAK_EVENTS
    collected = Collected()
    drops: list[dict[str, Any]] = []
    sandbox.set_faults(**FAULTS, seed=7)  # before the client: the check meets them too
    client = make_client(
        batching=BatchingOptions(
            max_queue_events=total + 1000,
            max_batch_events=FAULT_BATCH,
            on_error=collected,
            on_drop=drops.append,
        )
    )
    for i in range(total):
        assert client.event(vid=f"visitor-{i % 97}", name="fault_proof", props={"i": i})
    result = client.flush(timeout=300 * max(1.0, total / 20_000))
    injected = sandbox.stats()["faults_injected"]
    events_route = route_counts(sandbox)
    sandbox.set_faults()
    assert result.pending == 0, f"{result.pending} events still pending after flush()"

    # The test met every kind of fault, on the events route itself.
    assert injected.get("error", 0) > 0
    assert injected.get("rate_limit", 0) > 0
    assert injected.get("reset", 0) > 0
    assert events_route.get("500", 0) > 0
    assert events_route.get("429", 0) > 0
    dropped_batches = events_route.get("dropped", 0)
    assert dropped_batches > 0

    stored = sandbox.events("smartlook", name="fault_proof")
    seen = numbers(stored)
    lost = [i for i in range(total) if seen[i] == 0]
    assert lost == [], f"{len(lost)} events lost, first ones: {lost[:10]}"
    assert set(seen) == set(range(total))

    stats = client.stats()
    extra = len(stored) - total
    assert extra <= dropped_batches * FAULT_BATCH
    assert extra <= injected["reset"] * FAULT_BATCH
    assert extra <= stats.possible_duplicates, (
        f"{extra} extra copies stored, stats().possible_duplicates says {stats.possible_duplicates}"
    )
    assert stats.possible_duplicates <= dropped_batches * FAULT_BATCH
    assert (stats.enqueued, stats.delivered) == (total, total)
    assert (stats.failed, stats.dropped) == (0, 0)
    assert stats.retried > 0
    assert (stats.queue_depth, stats.in_flight) == (0, 0)
    assert collected.calls == []
    assert drops == []


@pytest.mark.slow
def test_api_down_for_10_s_then_up(sandbox: Sandbox, make_client: Callable[..., Smartlook]) -> None:
    client = make_client(flush_interval_millis=200)  # every other setting: the defaults
    assert client.project is not None
    outage_started = time.monotonic()
    sandbox.set_faults(error_rate=1)
    sent = 0
    for _ in range(20):  # 2,000 events over the first 2 s of the outage
        for _ in range(OUTAGE_EVENTS // 20):
            assert client.event(vid="v", name="outage", props={"i": sent})
            sent += 1
        time.sleep(0.1)
    time.sleep(max(0.0, outage_started + OUTAGE_S - time.monotonic()))

    assert sandbox.stats()["events"]["smartlook"] == 0
    assert route_counts(sandbox).get("500", 0) >= 5  # it kept trying all along
    recovered_wall = time.time()
    recovered = time.monotonic()
    sandbox.set_faults()

    first_seen: float | None = None
    deadline = recovered + 30
    while True:
        count = sandbox.stats()["events"]["smartlook"]
        now = time.monotonic()
        if count and first_seen is None:
            first_seen = now
        if count >= OUTAGE_EVENTS:
            break
        assert now < deadline, f"only {count} of {OUTAGE_EVENTS} events 30 s after recovery"
        time.sleep(0.05)
    assert first_seen is not None
    assert first_seen - recovered <= RECOVERY_BOUND_S

    stored = sandbox.events("smartlook", name="outage")
    assert numbers(stored) == Counter(range(OUTAGE_EVENTS))  # 0 lost, none twice
    earliest = min(parse_received_at(e["received_at"]) for e in stored)
    assert recovered_wall - 0.01 <= earliest <= recovered_wall + RECOVERY_BOUND_S
    stats = client.stats()
    assert (stats.delivered, stats.failed, stats.dropped) == (OUTAGE_EVENTS, 0, 0)
    assert stats.retried > 0


def _queue_with_api_down(
    sandbox: Sandbox, client: Smartlook, name: str
) -> tuple[smartlook.FlushResult, float]:
    """Queue STOP_QUEUED events while every send fails, then stop(timeout=2)."""
    sandbox.set_faults(error_rate=1)
    for i in range(STOP_QUEUED):
        assert client.event(vid="v", name=name, props={"i": i})
    wait_until(
        lambda: route_counts(sandbox).get("500", 0) >= 2,
        timeout=10,
        what="the client to be retrying a batch",
    )
    started = time.monotonic()
    result = client.stop(timeout=2)
    return result, time.monotonic() - started


def test_stop_with_the_api_down_hands_pending_events_to_on_error(
    sandbox: Sandbox, make_client: Callable[..., Smartlook]
) -> None:
    collected = Collected()
    client = make_client(
        batching=BatchingOptions(
            flush_at=100, max_batch_events=100, flush_interval=math.inf, on_error=collected
        )
    )
    result, elapsed = _queue_with_api_down(sandbox, client, "stop_on_error")

    assert elapsed < 3.5
    assert not result
    assert result.pending == STOP_QUEUED
    assert numbers(collected.events) == Counter(range(STOP_QUEUED))
    assert all(isinstance(error, ShutdownError) for error in collected.errors)
    stats = client.stats()
    assert (stats.enqueued, stats.delivered, stats.failed) == (STOP_QUEUED, 0, STOP_QUEUED)
    assert client.event(vid="v", name="after_stop") is False
    assert sandbox.stats()["events"]["smartlook"] == 0
    assert len(collected.events) == STOP_QUEUED  # reported once, not again by a late worker


def test_stop_with_the_api_down_leaves_pending_events_in_the_spool(
    sandbox: Sandbox, make_client: Callable[..., Smartlook], tmp_path: Path
) -> None:
    collected = Collected()
    client = Smartlook(
        sandbox.smartlook_key,
        host=sandbox.url,
        batching=BatchingOptions(
            flush_at=100,
            max_batch_events=100,
            flush_interval=math.inf,
            on_error=collected,
            spool_path=tmp_path,
        ),
    )
    try:
        result, elapsed = _queue_with_api_down(sandbox, client, "stop_spool")

        assert elapsed < 3.5
        assert not result
        assert result.pending == STOP_QUEUED
        assert collected.calls == []  # kept on disk instead
        assert numbers(spooled_events(tmp_path)) == Counter(range(STOP_QUEUED))
        assert sandbox.stats()["events"]["smartlook"] == 0

        # A new client on the same spool_path, the API back: it sends what was left.
        sandbox.set_faults()
        restarted = make_client(batching=BatchingOptions(spool_path=tmp_path, on_error=collected))
        restarted.flush(timeout=10)
        wait_until(
            lambda: sandbox.stats()["events"]["smartlook"] >= STOP_QUEUED,
            timeout=10,
            what="the spooled events, delivered by a new client on the same spool_path",
        )
        assert numbers(sandbox.events("smartlook", name="stop_spool")) == Counter(
            range(STOP_QUEUED)
        )
        assert restarted.stats().delivered == STOP_QUEUED
        assert restarted.stop(timeout=5)
        assert spooled_events(tmp_path) == []
        assert collected.calls == []
    finally:
        # The stopped client may still hold its spool open (that is what the restart above
        # checks); let it go here rather than in a later test.
        client.stop(timeout=1)
        del client
        collect_garbage_ignoring_unclosed_resources()
