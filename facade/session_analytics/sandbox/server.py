"""Run a sandbox: in a background thread of this process (``Sandbox``), or in the foreground
(``serve``).

``Sandbox`` binds a free loopback port by default, waits (with a deadline) until the server is
serving, and stops and joins the thread on exit. Its helper methods call the admin routes over
HTTP, so they work the same against a sandbox started elsewhere (``Sandbox.attach(url)``). The
servers it can run are in ``runners.py``.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs
import httpx

from .app import build_app
from .config import SandboxConfig
from .errors import ApiError, SandboxError
from .faults import Faults, parse_faults
from .runners import Runner, ServerName, bind_socket, check_server, make_runner, server_url

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


def _starting_faults(given: Faults | Mapping[str, Any] | None) -> Faults | None:
    """Starting faults from a :class:`Faults` or the JSON-like settings of ``set_faults``."""
    if given is None or isinstance(given, Faults):
        return given
    try:
        return parse_faults(dict(given))
    except ApiError as err:
        raise SandboxError(f"bad fault settings: {err.message}") from None


class Sandbox:
    """A local emulator of the FullStory v2 and Smartlook APIs, served from a background thread.

    >>> with Sandbox() as sb:                       # doctest: +SKIP
    ...     fs = fullstory.init(api_key=sb.api_key, base_url=sb.url)

    ``job_delay``, ``stream_delay`` (seconds before a POST /v2/users/stream create is applied),
    ``session_quota`` and ``server_event_quota`` (the monthly limits GET /v2/organization/quotas
    reports) set those config values. ``faults`` (the settings of :meth:`set_faults`, e.g. a WAN
    profile ``{"latency_ms": 80, "connect_latency_ms": 80, "rate_limit_rps": 300}``) apply from
    the start and come back at every reset. ``server="hypercorn"`` serves HTTP/2 too (with TLS
    files).
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | Mapping[str, str] | None = None,
        job_delay: float | None = None,
        stream_delay: float | None = None,
        session_quota: int | None = None,
        server_event_quota: int | None = None,
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
        log_level: str = "warning",
        verify: bool | str | ssl.SSLContext = True,
        faults: Faults | Mapping[str, Any] | None = None,
        server: ServerName = "uvicorn",
    ) -> None:
        if (tls_cert is None) != (tls_key is None):
            raise SandboxError("TLS needs both a certificate and a key file")
        self._server_name = check_server(server)
        self._faults = _starting_faults(faults)
        config = config or SandboxConfig()
        changes: dict[str, Any] = {}
        if api_key is not None:
            changes["api_keys"] = {api_key: "admin"} if isinstance(api_key, str) else api_key
        settings = {
            "job_delay_s": job_delay,
            "stream_delay_s": stream_delay,
            "session_quota": session_quota,
            "server_event_quota": server_event_quota,
        }
        changes.update({name: value for name, value in settings.items() if value is not None})
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
        self._server: Runner | None = None
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
        sock = bind_socket(self._host, self._port)
        port = sock.getsockname()[1]
        app = build_app(self.config, self._faults)
        try:
            server = make_runner(self._server_name, app, sock, self._tls, self._log_level)
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
        self._url = server_url(scheme, self._host, port)
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

    def _admin_request(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._admin is None:
            self._admin = httpx.Client(base_url=self.url, timeout=30.0, verify=self._verify)
        response = self._admin.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise SandboxError(f"{method} {path} answered {response.status_code}: {response.text}")
        return response.json()

    def reset(self) -> None:
        """Forget all users, events, jobs and keys; restore the starting settings and faults,
        refill the rate limiter and count requests and connections from zero."""
        self._admin_request("POST", "/_sandbox/reset")

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the fault settings (see ``faults.py``); ``set_faults()`` clears them.

        WAN profile and limiter: ``latency_ms``, ``latency_jitter_ms``, ``connect_latency_ms``,
        ``rate_limit_rps`` (0: off) and ``rate_limit_burst``."""
        result: dict[str, Any] = self._admin_request("POST", "/_sandbox/faults", json=faults)
        return result

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change settings such as ``job_delay_s`` until the next reset."""
        result: dict[str, Any] = self._admin_request("POST", "/_sandbox/config", json=changes)
        return result

    def events(
        self, api: str | None = None, *, name: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Every event received, both APIs unless ``api`` is "fullstory" or "smartlook"."""
        given = {"api": api, "name": name, "limit": limit}
        params = {k: v for k, v in given.items() if v is not None}
        events: list[dict[str, Any]] = self._admin_request(
            "GET", "/_sandbox/events", params=params
        )["events"]
        return events

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._admin_request("GET", "/_sandbox/stats")
        return result

    def requests(self) -> list[dict[str, Any]]:
        """The last requests received (headers without credentials), oldest first."""
        result: list[dict[str, Any]] = self._admin_request("GET", "/_sandbox/requests")["requests"]
        return result

    def create_session(
        self,
        *,
        uid: str | None = None,
        user_id: str | None = None,
        format: str = "numeric",
        session_uid: str | None = None,
    ) -> dict[str, Any]:
        """Start a session for a user, as a browser recording would (``format``: numeric/uuid);
        ``session_uid`` is a customer-defined id that ``GET /v2/sessions?session_uid=`` finds."""
        body = {"uid": uid, "user_id": user_id, "format": format, "session_uid": session_uid}
        result: dict[str, Any] = self._admin_request(
            "POST", "/_sandbox/sessions", json={k: v for k, v in body.items() if v}
        )
        return result

    def annotations(self) -> list[dict[str, Any]]:
        """Every annotation created, oldest first (with the time it arrived)."""
        result: list[dict[str, Any]] = self._admin_request("GET", "/_sandbox/annotations")[
            "annotations"
        ]
        return result


def _wait_started(server: Runner, thread: threading.Thread, timeout: float) -> bool:
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
    chosen = check_server(server)
    app = build_app(config, _starting_faults(faults))
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    scheme = "https" if tls_cert else "http"
    url = server_url(scheme, host, bound_port)

    def ready() -> None:
        announce(f"session-analytics sandbox ready at {url}")
        for note in notes:
            announce(f"  {note}")

    try:
        runner = make_runner(
            chosen, app, sock, (tls_cert, tls_key), log_level, on_ready=ready, foreground=True
        )
        runner.run()
    finally:
        sock.close()
