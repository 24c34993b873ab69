"""The servers that can serve the sandbox app on a bound socket, in a thread or in the foreground.

- ``uvicorn`` (the default): HTTP/1.1. Its protocol reports every TCP connection as it opens and
  closes, so ``connections_opened``/``connections_open`` are exact and the setup cost
  (``connect_latency_ms``) starts when the connection does.
- ``hypercorn`` (needs the ``hypercorn`` package): HTTP/1.1 and HTTP/2 (``h2`` over TLS, chosen
  by ALPN, so give it ``tls_cert``/``tls_key``; h2c with prior knowledge over plain HTTP).
  Connections are counted by client address when their first request arrives (see
  ``connections.py``): closes are not seen, so ``connections_open`` is None. The ``reset_rate``
  fault answers 500 there instead of dropping the connection (see ``connection_drop.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

import uvicorn

from .app import SandboxApp
from .connections import ConnectionMeter, peer_of
from .errors import SandboxError


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets of that protocol,
    # and without it every answer waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        hint = " (pass port 0 for a free one)" if port else ""
        raise SandboxError(f"cannot listen on {host}:{port}: {err.strerror}{hint}") from err
    sock.set_inheritable(True)
    return sock


ServerName = Literal["uvicorn", "hypercorn"]
SERVERS: tuple[ServerName, ...] = ("uvicorn", "hypercorn")


# ---- uvicorn ----------------------------------------------------------------------------------


def _meter_of(config: uvicorn.Config) -> ConnectionMeter | None:
    app = config.app
    return app.state.connections if isinstance(app, SandboxApp) else None


class _Metering(asyncio.Protocol):
    """Mixed into uvicorn's HTTP protocol: reports each TCP connection, as it opens and closes,
    to the sandbox's connection meter (exact counts, and the setup cost starts with it)."""

    config: uvicorn.Config
    client: tuple[str, int] | None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        meter = _meter_of(self.config)
        if meter is not None:
            meter.connection_made(peer_of(self.client))

    def connection_lost(self, exc: Exception | None) -> None:
        meter = _meter_of(self.config)
        if meter is not None:
            meter.connection_lost(peer_of(self.client))
        super().connection_lost(exc)


def _metered_protocol() -> type[asyncio.Protocol]:
    """uvicorn's fastest HTTP/1.1 protocol (httptools, else h11), reporting its connections."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is part of the sandbox extra
        from uvicorn.protocols.http.h11_impl import H11Protocol

        class MeteredH11(_Metering, H11Protocol):
            pass

        return MeteredH11

    class MeteredHttpTools(_Metering, HttpToolsProtocol):
        pass

    return MeteredHttpTools


def _uvicorn_config(
    app: SandboxApp, tls_cert: str | Path | None, tls_key: str | Path | None, log_level: str
) -> uvicorn.Config:
    if (tls_cert is None) != (tls_key is None):
        raise SandboxError("TLS needs both a certificate and a key file")
    app.state.connections.counted_by_server()
    return uvicorn.Config(
        app,
        http=_metered_protocol(),
        log_config=None,  # the library never installs logging handlers
        log_level=log_level,
        access_log=False,
        lifespan="off",
        # The sandbox is never behind a proxy; a forwarded address would hide the connection.
        proxy_headers=False,
        timeout_graceful_shutdown=1,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
    )


class Runner(Protocol):
    """One server serving the app on a bound socket: ``run`` blocks until ``stop``."""

    def run(self) -> None: ...

    def started(self) -> bool: ...

    def stop(self) -> None: ...


class _UvicornRunner:
    def __init__(
        self,
        app: SandboxApp,
        sock: socket.socket,
        tls: tuple[str | Path | None, str | Path | None],
        log_level: str,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        self._sock = sock
        self._server = _UvicornServer(_uvicorn_config(app, *tls, log_level), on_ready)

    def run(self) -> None:
        self._server.run(sockets=[self._sock])

    def started(self) -> bool:
        return bool(self._server.started)

    def stop(self) -> None:
        self._server.should_exit = True


class _UvicornServer(uvicorn.Server):
    """A uvicorn server that says when it is ready."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()


# ---- hypercorn --------------------------------------------------------------------------------


class _HypercornRunner:
    """Serves the app with hypercorn on an asyncio loop of its own (HTTP/1.1 and HTTP/2).

    hypercorn gets a duplicate of the bound socket (``fd://``), so the caller keeps its own;
    it is ready once that socket listens. ``handle_signals`` (foreground only) stops it on
    SIGINT/SIGTERM.
    """

    def __init__(
        self,
        app: SandboxApp,
        sock: socket.socket,
        tls: tuple[str | Path | None, str | Path | None],
        *,
        on_ready: Callable[[], None] | None = None,
        handle_signals: bool = False,
    ) -> None:
        try:
            from hypercorn.config import Config
        except ImportError as err:
            raise SandboxError(
                "serving with hypercorn needs the hypercorn and h2 packages: "
                "pip install hypercorn h2"
            ) from err
        if (tls[0] is None) != (tls[1] is None):
            raise SandboxError("TLS needs both a certificate and a key file")
        self._app = app
        self._sock = sock
        self._on_ready = on_ready
        self._handle_signals = handle_signals
        self._config = Config()
        self._config.bind = [f"fd://{os.dup(sock.fileno())}"]
        self._config.certfile = str(tls[0]) if tls[0] else None
        self._config.keyfile = str(tls[1]) if tls[1] else None
        self._config.accesslog = None
        # A logger object, not "-": the library never installs logging handlers.
        self._config.errorlog = logging.getLogger("hypercorn.error")
        self._config.graceful_timeout = 1.0
        self._exit = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        from hypercorn.asyncio import serve

        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if self._exit.is_set():
            return
        if self._handle_signals:
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(signum, self._stopping.set)
        watcher = asyncio.create_task(self._announce_when_listening())
        try:
            # The app is ASGI 3; hypercorn's type names each ASGI message type instead.
            app: Any = self._app
            await serve(app, self._config, shutdown_trigger=self._stopping.wait)
        finally:
            watcher.cancel()

    async def _announce_when_listening(self) -> None:
        while not self.started():
            await asyncio.sleep(0.01)
        if self._on_ready is not None:
            self._on_ready()

    def started(self) -> bool:
        try:
            return bool(self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
        except OSError:
            return False

    def stop(self) -> None:
        self._exit.set()
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(stopping.set)


def make_runner(
    server: ServerName,
    app: SandboxApp,
    sock: socket.socket,
    tls: tuple[str | Path | None, str | Path | None],
    log_level: str,
    *,
    on_ready: Callable[[], None] | None = None,
    foreground: bool = False,
) -> Runner:
    if server == "hypercorn":
        return _HypercornRunner(app, sock, tls, on_ready=on_ready, handle_signals=foreground)
    return _UvicornRunner(app, sock, tls, log_level, on_ready)


def check_server(server: str) -> ServerName:
    for known in SERVERS:
        if server == known:
            return known
    raise SandboxError(f"unknown server {server!r}; use one of {', '.join(SERVERS)}")


def server_url(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"
