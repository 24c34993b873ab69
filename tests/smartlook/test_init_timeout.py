"""``smartlook.init()`` waits for the check handshake at most ``check_timeout`` seconds.

Against a host that takes the connection and never answers (a socket that listens but is never
read), the handshake would take every retry of a request timeout; ``init()`` returns once its
bound has passed instead, and the check goes on in the background. Events queue meanwhile: they
go out once the check succeeds, and until then ``stats()`` and ``on_error`` say where they are.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support import Collected, wait_until

from session_analytics import smartlook
from session_analytics._constants import SMARTLOOK_CHECK_TIMEOUT_S
from session_analytics.errors import (
    ShutdownError,
    SmartlookInvalidArgumentError,
    SmartlookProjectError,
)
from session_analytics.sandbox import Sandbox
from session_analytics.smartlook import BatchingOptions, Smartlook

LOGGER = "session_analytics.smartlook"
MARGIN_S = 1.5  # a busy machine's allowance on top of the bound
QUICK = {"flush_interval": 0.05, "retry_initial_delay": 0.05, "retry_max_delay": 0.1}


# ---- helpers --------------------------------------------------------------------------------


@contextlib.contextmanager
def black_hole() -> Iterator[str]:
    """An http URL whose socket listens (connections are made) but is never read."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


class HeldProxy:
    """A TCP proxy to ``upstream`` that holds every connection, unread, until ``release()``:
    a black hole that turns into the sandbox."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").rsplit(":", 1)
        self._upstream = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # accept() wakes up to see close()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._released = threading.Event()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._start(self._accept)

    def _start(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _keep(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self._keep(conn)
            self._start(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        self._released.wait()
        if self._closing.is_set():
            return
        try:
            upstream = socket.create_connection(self._upstream)
        except OSError:
            return
        self._keep(upstream)
        self._start(self._pipe, upstream, conn)
        self._pipe(conn, upstream)

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self._closing.set()
        self._released.set()
        self._listener.close()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in threads:
            thread.join(5)


@pytest.fixture
def held_proxy(sandbox: Sandbox) -> Iterator[HeldProxy]:
    proxy = HeldProxy(sandbox.url)
    yield proxy
    proxy.close()


def background_check_ended(client: Smartlook) -> None:
    """The check thread that init left behind has finished (its socket is gone with it)."""
    pending = client._sender.pending_check
    if pending is not None:
        pending.join(10)
        assert not pending.is_alive()
    gc.collect()


@pytest.fixture(autouse=True)
def no_default_client() -> Iterator[None]:
    smartlook.stop(timeout=1)
    yield
    smartlook.stop(timeout=1)


@pytest.fixture(autouse=True)
def no_smartlook_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SMARTLOOK_KEY", "SMARTLOOK_HOST", "SMARTLOOK_FLUSH_INTERVAL_MILLIS"):
        monkeypatch.delenv(name, raising=False)


# ---- the bound ------------------------------------------------------------------------------


def test_init_against_a_black_hole_returns_within_the_default_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert SMARTLOOK_CHECK_TIMEOUT_S == 5.0
    with black_hole() as url:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            client = smartlook.init("some-project-key", host=url)
        took = time.monotonic() - started
        assert SMARTLOOK_CHECK_TIMEOUT_S - 0.1 <= took <= SMARTLOOK_CHECK_TIMEOUT_S + MARGIN_S
        assert client.project is None
        assert "has not answered within 5.0 s" in caplog.text
        assert smartlook.event("v1", "queued") is True
        smartlook.stop(timeout=0.5)
    background_check_ended(client)


@pytest.mark.parametrize("bound", [0.2, 1])
def test_init_returns_within_the_bound_it_is_given(bound: float) -> None:
    with black_hole() as url:
        started = time.monotonic()
        client = Smartlook("some-project-key", host=url, check_timeout=bound, timeout=30)
        took = time.monotonic() - started
        assert bound - 0.05 <= took <= bound + MARGIN_S
        client.stop(timeout=0.2)
    background_check_ended(client)


def test_events_queued_while_the_check_hangs_wait_and_are_not_lost() -> None:
    collected = Collected()
    batching = BatchingOptions(on_error=collected, **QUICK)
    with black_hole() as url:
        client = Smartlook(
            "some-project-key", host=url, check_timeout=0.2, timeout=30, batching=batching
        )
        for i in range(3):
            assert client.event("v1", "queued", props={"i": i}) is True
        time.sleep(0.5)  # a few flush intervals: the events wait for the check

        stats = client.stats()
        assert (stats.enqueued, stats.delivered, stats.failed) == (3, 0, 0)
        assert stats.queue_depth + stats.in_flight == 3
        assert stats.retried >= 1  # tried, told to wait for the check, tried again
        assert client.project is None

        started = time.monotonic()
        result = client.stop(timeout=0.5)
        assert time.monotonic() - started < 0.5 + MARGIN_S  # not held up by the hanging check
    assert result.pending == 3
    assert sorted(event["props"]["i"] for event in collected.events) == [0, 1, 2]
    assert all(isinstance(error, ShutdownError) for error in collected.errors)
    assert "not confirmed delivered before the stop deadline" in str(collected.errors[0])
    background_check_ended(client)


def test_a_check_answered_after_the_bound_releases_the_queued_events(
    sandbox: Sandbox, held_proxy: HeldProxy
) -> None:
    collected = Collected()
    batching = BatchingOptions(on_error=collected, **QUICK)
    started = time.monotonic()
    client = Smartlook(
        sandbox.smartlook_key,
        host=held_proxy.url,
        check_timeout=0.3,
        timeout=30,
        batching=batching,
    )
    try:
        assert time.monotonic() - started <= 0.3 + MARGIN_S
        assert client.project is None
        for i in range(5):
            assert client.event("v1", "early", props={"i": i}) is True
        time.sleep(0.3)
        assert sandbox.events("smartlook") == []

        held_proxy.release()  # the handshake that init stopped waiting for is answered now

        wait_until(lambda: len(sandbox.events("smartlook")) == 5, timeout=10, what="the events")
        assert client.project is not None
        assert sorted(e["props"]["i"] for e in sandbox.events("smartlook")) == [0, 1, 2, 3, 4]
        wait_until(lambda: client.stats().delivered == 5, timeout=10, what="the answer")
        assert collected.calls == []
    finally:
        client.stop(timeout=2)
    background_check_ended(client)


def test_a_project_refused_after_the_bound_sends_its_events_to_on_error(
    sandbox: Sandbox, held_proxy: HeldProxy, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.configure(smartlook_analytics_enabled=False)
    collected = Collected()
    batching = BatchingOptions(on_error=collected, **QUICK)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        client = Smartlook(  # no SmartlookProjectError: the answer comes after the bound
            sandbox.smartlook_key,
            host=held_proxy.url,
            check_timeout=0.3,
            timeout=30,
            batching=batching,
        )
        try:
            assert client.event("v1", "refused") is True
            held_proxy.release()
            wait_until(lambda: collected.calls, timeout=10, what="on_error")
            assert [event["name"] for event in collected.events] == ["refused"]
            assert isinstance(collected.errors[0], SmartlookProjectError)
            assert "analytics is off" in caplog.text
        finally:
            client.stop(timeout=1)
    background_check_ended(client)


def test_an_answer_within_the_bound_is_waited_for(sandbox: Sandbox) -> None:
    client = Smartlook(sandbox.smartlook_key, host=sandbox.url, check_timeout=5)
    try:
        assert client.project is not None
    finally:
        client.stop(timeout=1)


def test_no_bound_waits_for_the_check(sandbox: Sandbox) -> None:
    client = Smartlook(sandbox.smartlook_key, host=sandbox.url, check_timeout=None)
    try:
        assert client.project is not None
        assert client._sender.pending_check is None  # no thread: the check ran in init
    finally:
        client.stop(timeout=1)


@pytest.mark.parametrize("bound", [0, -1, math.nan, math.inf, "5", True])
def test_a_bad_check_timeout_is_refused_before_any_io(bound: Any) -> None:
    with black_hole() as url:
        started = time.monotonic()
        with pytest.raises(SmartlookInvalidArgumentError) as caught:
            Smartlook("some-project-key", host=url, check_timeout=bound)
        assert time.monotonic() - started < 0.5
    assert caught.value.field == "check_timeout"
