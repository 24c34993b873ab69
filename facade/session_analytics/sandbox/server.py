"""Run a sandbox: in a background thread of this process (``Sandbox``), or in the foreground.

``Sandbox`` binds a free loopback port by default, waits (with a deadline) until the server is
serving, and stops and joins the thread on exit. Its helper methods call the admin routes over
HTTP, so they work the same against a sandbox started elsewhere (``Sandbox.attach(url)``).

Two servers can serve the same app:

- ``uvicorn`` (the default): HTTP/1.1. Its protocol reports every TCP connection as it opens and
  closes, so ``connections_opened``/``connections_open`` are exact and the setup cost
  (``connect_latency_ms``) starts when the connection does.
- ``hypercorn`` (needs the ``hypercorn`` package): HTTP/1.1 and HTTP/2 (``h2`` over TLS, chosen
  by ALPN, so give it ``tls_cert``/``tls_key``; h2c with prior knowledge over plain HTTP).
  Connections are counted by client address when their first request arrives (see
  ``connections.py``): closes are not seen, so ``connections_open`` is None. The ``reset_rate``
  fault answers 500 there instead of dropping the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol

import attrs
import httpx
import uvicorn

from .app import SandboxApp, build_app
from .config import SandboxConfig
from .connections import ConnectionMeter, peer_of
from .errors import ApiError
from .faults import Faults, parse_faults

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


class SandboxError(RuntimeError):
    """The sandbox could not start, or an admin call was refused."""


def _bind(host: str, port: int) -> socket.socket:
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


def _faults(given: Faults | Mapping[str, Any] | None) -> Faults | None:
    """Starting faults from a :class:`Faults` or the JSON-like settings of ``set_faults``."""
    if given is None or isinstance(given, Faults):
        return given
    try:
        return parse_faults(dict(given))
    except ApiError as err:
        raise SandboxError(f"bad fault settings: {err.message}") from None


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


class _Runner(Protocol):
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


def _runner(
    server: ServerName,
    app: SandboxApp,
    sock: socket.socket,
    tls: tuple[str | Path | None, str | Path | None],
    log_level: str,
    *,
    on_ready: Callable[[], None] | None = None,
    foreground: bool = False,
) -> _Runner:
    if server == "hypercorn":
        return _HypercornRunner(app, sock, tls, on_ready=on_ready, handle_signals=foreground)
    return _UvicornRunner(app, sock, tls, log_level, on_ready)


def _check_server(server: str) -> ServerName:
    for known in SERVERS:
        if server == known:
            return known
    raise SandboxError(f"unknown server {server!r}; use one of {', '.join(SERVERS)}")


def _url(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


class Sandbox:
    """A local emulator of the FullStory v2 and Smartlook APIs, served from a background thread.

    >>> with Sandbox() as sb:                       # doctest: +SKIP
    ...     fs = fullstory.init(api_key=sb.api_key, base_url=sb.url)

    ``faults`` (the settings of :meth:`set_faults`, e.g. a WAN profile
    ``{"latency_ms": 80, "connect_latency_ms": 80, "rate_limit_rps": 300}``) apply from the start
    and come back at every reset. ``server="hypercorn"`` serves HTTP/2 too (with TLS files).
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | Mapping[str, str] | None = None,
        job_delay: float | None = None,
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
        log_level: str = "warning",
        verify: bool | str | ssl.SSLContext = True,
        faults: Faults | Mapping[str, Any] | None = None,
        server: ServerName = "uvicorn",
    ) -> None:
        if (tls_cert is None) != (tls_key is None):
            raise SandboxError("TLS needs both a certificate and a key file")
        self._server_name = _check_server(server)
        self._faults = _faults(faults)
        config = config or SandboxConfig()
        changes: dict[str, Any] = {}
        if api_key is not None:
            changes["api_keys"] = {api_key: "admin"} if isinstance(api_key, str) else api_key
        if job_delay is not None:
            changes["job_delay_s"] = job_delay
        self.config = attrs.evolve(config, **changes) if changes else config
        self._host = host
        self._port = port
        self._tls = (tls_cert, tls_key)
        self._log_level = log_level
        # A CA file path becomes an SSL context: httpx deprecates paths for `verify`.
        self._verify = (
            ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        )
        self._attached = False
        self._server: _Runner | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._admin: httpx.Client | None = None

    @classmethod
    def attach(
        cls, url: str, *, api_key: str = "sandbox-key", verify: bool | str | ssl.SSLContext = True
    ) -> Sandbox:
        """A handle on a sandbox that is already running at ``url`` (``start`` and ``stop``
        leave that server alone)."""
        handle = cls(api_key=api_key, verify=verify)
        handle._url = url.rstrip("/")
        handle._attached = True
        return handle

    # ---- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._url is None:
            raise SandboxError("the sandbox is not running: use `with Sandbox() as sb:`")
        return self._url

    @property
    def api_key(self) -> str:
        """A FullStory API key this sandbox accepts (an admin one)."""
        return self.config.client_key()

    @property
    def smartlook_key(self) -> str:
        """A Smartlook project key this sandbox accepts."""
        return self.config.client_smartlook_key()

    def start(self, timeout: float = START_TIMEOUT_S) -> Sandbox:
        if self._thread is not None or self._attached:
            return self
        sock = _bind(self._host, self._port)
        port = sock.getsockname()[1]
        app = build_app(self.config, self._faults)
        try:
            server = _runner(self._server_name, app, sock, self._tls, self._log_level)
        except BaseException:
            sock.close()
            raise
        thread = threading.Thread(
            target=server.run, name=f"session-analytics-sandbox-{port}", daemon=True
        )
        thread.start()
        if not _wait_started(server, thread, timeout):
            server.stop()
            thread.join(STOP_TIMEOUT_S)
            sock.close()
            raise SandboxError(f"the sandbox did not start within {timeout:g} s")
        self._server, self._thread, self._sock = server, thread, sock
        scheme = "https" if self._tls[0] else "http"
        self._url = _url(scheme, self._host, port)
        return self

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self._server is None or self._thread is None or self._attached:
            return
        self._server.stop()
        self._thread.join(timeout)
        self._sock.close()
        self._server = self._thread = None
        self._url = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._url or "not running"
        return f"<Sandbox {where}>"

    # ---- admin helpers ------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._admin is None:
            self._admin = httpx.Client(base_url=self.url, timeout=30.0, verify=self._verify)
        response = self._admin.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise SandboxError(f"{method} {path} answered {response.status_code}: {response.text}")
        return response.json()

    def reset(self) -> None:
        """Forget all users, events, jobs and keys; restore the starting settings and faults,
        refill the rate limiter and count requests and connections from zero."""
        self._call("POST", "/_sandbox/reset")

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the fault settings (see ``faults.py``); ``set_faults()`` clears them.

        WAN profile and limiter: ``latency_ms``, ``latency_jitter_ms``, ``connect_latency_ms``,
        ``rate_limit_rps`` (0: off) and ``rate_limit_burst``."""
        result: dict[str, Any] = self._call("POST", "/_sandbox/faults", json=faults)
        return result

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change settings such as ``job_delay_s`` until the next reset."""
        result: dict[str, Any] = self._call("POST", "/_sandbox/config", json=changes)
        return result

    def events(
        self, api: str | None = None, *, name: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Every event received, both APIs unless ``api`` is "fullstory" or "smartlook"."""
        given = {"api": api, "name": name, "limit": limit}
        params = {k: v for k, v in given.items() if v is not None}
        events: list[dict[str, Any]] = self._call("GET", "/_sandbox/events", params=params)[
            "events"
        ]
        return events

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/_sandbox/stats")
        return result

    def requests(self) -> list[dict[str, Any]]:
        """The last requests received (headers without credentials), oldest first."""
        result: list[dict[str, Any]] = self._call("GET", "/_sandbox/requests")["requests"]
        return result

    def create_session(
        self, *, uid: str | None = None, user_id: str | None = None, format: str = "numeric"
    ) -> dict[str, Any]:
        """Start a session for a user, as a browser recording would (``format``: numeric/uuid)."""
        body = {"uid": uid, "user_id": user_id, "format": format}
        result: dict[str, Any] = self._call(
            "POST", "/_sandbox/sessions", json={k: v for k, v in body.items() if v}
        )
        return result


def _wait_started(server: _Runner, thread: threading.Thread, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and thread.is_alive() and not server.started():
        time.sleep(0.01)
    return server.started()


def serve(
    config: SandboxConfig,
    *,
    host: str,
    port: int,
    tls_cert: str | Path | None = None,
    tls_key: str | Path | None = None,
    log_level: str = "info",
    announce: Any = print,
    notes: Sequence[str] = (),
    faults: Faults | Mapping[str, Any] | None = None,
    server: ServerName = "uvicorn",
) -> None:
    """Serve in the foreground until interrupted; announce the URL once it is ready."""
    chosen = _check_server(server)
    app = build_app(config, _faults(faults))
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    scheme = "https" if tls_cert else "http"
    url = _url(scheme, host, bound_port)

    def ready() -> None:
        announce(f"session-analytics sandbox ready at {url}")
        for note in notes:
            announce(f"  {note}")

    try:
        runner = _runner(
            chosen, app, sock, (tls_cert, tls_key), log_level, on_ready=ready, foreground=True
        )
        runner.run()
    finally:
        sock.close()
