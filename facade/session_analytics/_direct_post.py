"""The one transport under every FullStory call: auth, headers, idempotency keys and retries.

Retries live here, at the httpx transport level, so that they apply to the facade's calls and to
the generated endpoints called through ``fs.raw`` alike, and are never stacked. This is the only
code that sleeps between attempts. A POST to one of the four create operations gets an
Idempotency-Key before the first attempt (unless the caller gave one), and every retry reuses it,
so a retried create never creates twice.

Per-call settings (``max_retries`` for job polls, which have their own policy) travel in a
context variable, as does the final response, so the facade can report a status even when the
generated parser choked on the body.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import re
import select
import socket
import ssl
import sys
import time
import typing
import uuid
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextvars import ContextVar
from typing import Any

import attrs
import httpx

from . import _constants as C
from ._retry import RetryDecision, RetryPolicy, maybe_delivered
from ._version import __version__
from .errors import InvalidArgumentError

logger = logging.getLogger("session_analytics")

USER_AGENT = (
    f"session-analytics/{__version__} python/{'.'.join(map(str, sys.version_info[:3]))} "
    f"httpx/{httpx.__version__}"
)
# Creates that the API makes idempotent with an Idempotency-Key (not the update: it takes none).
IDEMPOTENT_POST = re.compile(r"/v2(?:beta)?/(?:users|events)(?:/batch)?/?\Z")
RETRIES_EXTENSION = "session_analytics.retries"
# asyncio turns Nagle off by itself; the sync transport must ask, or a POST whose headers and
# body go out in two writes can wait for a delayed ACK.
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


async def asyncio_sleep(seconds: float) -> None:
    # asyncio is imported on first use: sync programs never pay for importing it.
    import asyncio

    await asyncio.sleep(seconds)


@attrs.define
class CallScope:
    """What one facade call tells the transport, and what the transport tells it back."""

    max_retries: int | None = None
    response: httpx.Response | None = None
    retries_taken: int = 0
    exhausted: bool = False  # stopped because the retries ran out (not for another reason)
    # Some attempt may have been processed although it failed (a lost answer, a 502/504).
    maybe_processed: bool = False


_scope: ContextVar[CallScope | None] = ContextVar("session_analytics_call_scope", default=None)


@contextlib.contextmanager
def call_scope(max_retries: int | None = None) -> Iterator[CallScope]:
    scope = CallScope(max_retries=max_retries)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def new_idempotency_key() -> str:
    """128 random bits, as the API suggests (a v4 UUID)."""
    return str(uuid.uuid4())


def auth_header(api_key: str) -> str:
    """The Authorization value: ``Basic <key>``, or the value itself when it holds a space."""
    return api_key if " " in api_key.strip() else f"Basic {api_key}"


class FullStoryAuth(httpx.Auth):
    """``Authorization: Basic <key>``: the key exactly as issued, no base64 step. A value that
    already holds a space (a full header value) is sent unchanged."""

    def __init__(self, api_key: str) -> None:
        self._header = auth_header(api_key)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "FullStoryAuth(api_key='***')"


def _prepare(request: httpx.Request) -> None:
    if (
        request.method == "POST"
        and IDEMPOTENT_POST.search(request.url.path)
        and not request.headers.get(C.IDEMPOTENCY_HEADER)
    ):
        request.headers[C.IDEMPOTENCY_HEADER] = new_idempotency_key()


def _policy_for(policy: RetryPolicy) -> RetryPolicy:
    scope = _scope.get()
    if scope is not None and scope.max_retries is not None:
        return attrs.evolve(policy, max_retries=scope.max_retries)
    return policy


def _log_retry(
    request: httpx.Request, cause: str, decision: RetryDecision, retries: int, most: int
) -> None:
    logger.info(
        "%s %s %s; retrying in %.2f s (retry %d of %d)",
        request.method,
        request.url.path,
        cause,
        decision.delay_s,
        retries + 1,
        most,
    )


def _note(result: httpx.Response | BaseException) -> None:
    """Remember in the call's scope an attempt the server may have processed all the same."""
    scope = _scope.get()
    if scope is not None and not scope.maybe_processed and maybe_delivered(result):
        scope.maybe_processed = True


def _finish(
    request: httpx.Request, response: httpx.Response | None, retries: int, decision: RetryDecision
) -> None:
    request.extensions[RETRIES_EXTENSION] = retries
    scope = _scope.get()
    if scope is not None:
        scope.retries_taken = retries
        scope.exhausted = decision.exhausted
        if response is not None:
            scope.response = response
    if response is not None:
        response.extensions = {**response.extensions, RETRIES_EXTENSION: retries}


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport with the retry policy (sync)."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _prepare(request)
        policy = _policy_for(self._policy)
        retries = 0
        while True:
            request.headers[C.RETRY_COUNT_HEADER] = str(retries)
            try:
                response = self._inner.handle_request(request)
            except httpx.HTTPError as error:
                _note(error)
                decision = policy.after_exception(error, retries)
                if not decision.retry:
                    _finish(request, None, retries, decision)
                    raise
                _log_retry(
                    request,
                    f"failed ({type(error).__name__})",
                    decision,
                    retries,
                    policy.max_retries,
                )
            else:
                _note(response)
                decision = policy.after_status(response.status_code, response.headers, retries)
                if not decision.retry:
                    _finish(request, response, retries, decision)
                    return response
                _log_retry(
                    request,
                    f"answered {response.status_code}",
                    decision,
                    retries,
                    policy.max_retries,
                )
                # Read and close the failed answer before sleeping, or its connection leaks.
                response.read()
                response.close()
            self._sleep(decision.delay_s)
            retries += 1

    def close(self) -> None:
        self._inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """Wraps a transport with the retry policy (asyncio)."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._sleep = sleep or asyncio_sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _prepare(request)
        policy = _policy_for(self._policy)
        retries = 0
        while True:
            request.headers[C.RETRY_COUNT_HEADER] = str(retries)
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.HTTPError as error:
                _note(error)
                decision = policy.after_exception(error, retries)
                if not decision.retry:
                    _finish(request, None, retries, decision)
                    raise
                _log_retry(
                    request,
                    f"failed ({type(error).__name__})",
                    decision,
                    retries,
                    policy.max_retries,
                )
            else:
                _note(response)
                decision = policy.after_status(response.status_code, response.headers, retries)
                if not decision.retry:
                    _finish(request, response, retries, decision)
                    return response
                _log_retry(
                    request,
                    f"answered {response.status_code}",
                    decision,
                    retries,
                    policy.max_retries,
                )
                await response.aread()
                await response.aclose()
            await self._sleep(decision.delay_s)
            retries += 1

    async def aclose(self) -> None:
        await self._inner.aclose()


class _ThroughClient(httpx.BaseTransport):
    """Sends through a caller's own httpx.Client (its proxies, TLS, pool), which the caller
    keeps owning: closing the SDK does not close it."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._client.send(request, stream=True)


class _AsyncThroughClient(httpx.AsyncBaseTransport):
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._client.send(request, stream=True)


# ---- the direct path: one POST route, past the client layer --------------------------------


def describe(error: BaseException) -> str:
    """``Type: message`` for an error message; a request that could not be written (h11 may
    quote the request's headers) is named only by its type, so no header value can leak."""
    if isinstance(error, httpx.LocalProtocolError):
        return f"{type(error).__name__} (the request could not be written)"
    return f"{type(error).__name__}: {error}"


def uses_proxy(url: str) -> bool:
    """Whether the environment routes ``url`` through a proxy (HTTP(S)_PROXY, ALL_PROXY, less
    NO_PROXY), as httpx's own clients would."""
    import urllib.request

    parsed = httpx.URL(url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parsed.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parsed.host)


def _as_httpx_error(error: Exception) -> httpx.HTTPError:
    """httpcore's exceptions carry the same names as httpx's: name for name. A connection that
    could not take the request never sent it: a connect error."""
    name = type(error).__name__
    kind = getattr(httpx, "ConnectError" if name == "ConnectionNotAvailable" else name, None)
    if not (isinstance(kind, type) and issubclass(kind, httpx.TransportError)):
        kind = httpx.TransportError
    return kind(str(error))


def _stdlib_error(error: BaseException, phase: str) -> httpx.TransportError:
    """An http.client or socket error as the httpx error an httpx client would raise, by the
    phase it happened in (a failed connect never sent anything)."""
    kind: type[httpx.TransportError]
    if isinstance(error, TimeoutError):
        kind = {"connect": httpx.ConnectTimeout, "write": httpx.WriteTimeout}.get(
            phase, httpx.ReadTimeout
        )
    elif phase == "connect":
        kind = httpx.ConnectError  # refused, unreachable, a failed TLS handshake
    elif isinstance(error, http.client.HTTPException):
        kind = httpx.RemoteProtocolError  # no answer, or not HTTP
    else:
        kind = httpx.WriteError if phase == "write" else httpx.ReadError
    return kind(f"{type(error).__name__}: {error}")


def _readable(sock: socket.socket) -> bool:
    """An idle keep-alive socket that is readable was closed by the server (or sent junk)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock], [], [], 0)[0])


class Http11Connection:
    """One kept-alive HTTP/1.1 connection of the standard library's http.client, for the
    direct path: the leanest request there is in Python (about 40 % less CPU than httpcore's
    connection), the request line, headers and body sent with one call per part."""

    def __init__(
        self,
        url: httpx.URL,
        headers: list[tuple[str, str]],
        tls: ssl.SSLContext | None,
        timeouts: tuple[float, float],
    ) -> None:
        host, port = url.host, url.port
        self._connect_timeout, self._timeout = timeouts
        if tls is not None:
            self._http: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=self._connect_timeout, context=tls
            )
        else:
            self._http = http.client.HTTPConnection(host, port, timeout=self._connect_timeout)
        self._path = url.raw_path.decode("ascii")
        self._headers = headers

    def is_closed(self) -> bool:
        return False  # a closed one connects again when next used

    def has_expired(self) -> bool:
        sock = self._http.sock
        return sock is not None and _readable(sock)

    def close(self) -> None:
        self._http.close()

    def post(self, content: bytes, headers: list[tuple[bytes, bytes]]) -> Answer:
        connection = self._http
        phase = "connect"
        try:
            if connection.sock is None:
                connection.connect()  # with the connect timeout; then the one for the rest
                typing.cast(socket.socket, connection.sock).settimeout(self._timeout)
            phase = "write"
            connection.putrequest("POST", self._path, skip_host=True, skip_accept_encoding=True)
            for name, value in self._headers:
                connection.putheader(name, value)
            for raw_name, raw_value in headers:
                connection.putheader(raw_name.decode("latin-1"), raw_value.decode("latin-1"))
            connection.putheader("Content-Length", str(len(content)))
            connection.endheaders(content)
            phase = "read"
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            connection.close()  # whatever state it was left in, the next use starts afresh
            raise _stdlib_error(error, phase) from error
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        return Answer(response.status, response.getheaders(), body)


@attrs.frozen
class Answer:
    """What the direct path read back: enough to judge the outcome without an httpx.Response
    (which is only built for an error status, see ``response()``)."""

    status: int
    headers: list[tuple[str, str]] | list[tuple[bytes, bytes]]
    content: bytes

    def response(self) -> httpx.Response:
        return httpx.Response(self.status, headers=self.headers, content=self.content)


class DirectPost:
    """POSTs to one URL on connections of its own: the headers are built once, and each request
    gets a connection of its own, kept alive and reused last-in first-out (sync: the standard
    library's http.client; asyncio: httpcore).

    One request per event at 100+ in flight is where a general client costs most: httpx builds
    and merges a request and a response object per call, and a shared pool scans all of its
    connections per request (and, holding more requests than ``max_keepalive_connections``,
    closes connections as they go idle, so every event pays a handshake). Here a request takes
    an idle connection off a stack and puts it back: as many connections as the most requests
    ever in flight, none opened twice; one the server closed is noticed before use and
    replaced. With ``http2`` one shared pool multiplexes the requests over few connections.

    Only for the default transport: with a proxy in the environment, your own ``http_client``
    or ``transport``, the client's general path is used.
    """

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        timeout: float,
        *,
        http2: bool = False,
        asynchronous: bool = False,
    ) -> None:
        import httpcore

        self._httpcore = httpcore
        self._errors = (
            httpcore.TimeoutException,
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.ProxyError,
            httpcore.UnsupportedProtocol,
            httpcore.ConnectionNotAvailable,
        )
        parsed = httpx.URL(url)
        self._url = httpcore.URL(str(parsed))
        self._origin = self._url.origin
        host = parsed.netloc.decode("ascii")
        self._headers = [(b"Host", host.encode("ascii"))] + [
            (name.encode("ascii"), value.encode("latin-1")) for name, value in headers.items()
        ]
        self._extensions = {
            "timeout": {
                "connect": min(timeout, C.DEFAULT_CONNECT_TIMEOUT_S),
                "read": timeout,
                "write": timeout,
                "pool": timeout,
            }
        }
        self._tls = httpx.create_ssl_context() if parsed.scheme == "https" else None
        self._parsed = parsed
        self._str_headers = [("Host", host), *headers.items()]
        self._timeouts = (min(timeout, C.DEFAULT_CONNECT_TIMEOUT_S), timeout)
        self._asynchronous = asynchronous
        self._free: list[Any] = []  # idle connections, most recently used last
        self._all: list[Any] = []  # every connection (or pool) not closed yet
        self._made = 0
        self._shared = self._new_shared_pool() if http2 else None

    def _new_shared_pool(self) -> Any:
        httpcore = self._httpcore
        cls = httpcore.AsyncConnectionPool if self._asynchronous else httpcore.ConnectionPool
        pool = cls(
            ssl_context=self._tls,
            max_connections=C.MAX_CONNECTIONS,
            http1=True,
            http2=True,
            socket_options=NO_DELAY,
        )
        self._all.append(pool)
        self._made += 1
        return pool

    def _new_connection(self) -> Any:
        connection: Any
        if self._asynchronous:
            connection = self._httpcore.AsyncHTTPConnection(
                self._origin, ssl_context=self._tls, socket_options=NO_DELAY
            )
        else:
            connection = Http11Connection(
                self._parsed, self._str_headers, self._tls, self._timeouts
            )
        self._all.append(connection)
        self._made += 1
        return connection

    def _idle(self) -> tuple[Any, bool]:
        """An idle connection (a new one when none is left), and whether it is stale: closed
        by the server while idle, or broken (the caller closes it and asks again)."""
        try:
            connection = self._free.pop()  # list.pop and append are atomic: no lock needed
        except IndexError:
            return self._new_connection(), False
        if connection.is_closed() or connection.has_expired():
            with contextlib.suppress(ValueError):
                self._all.remove(connection)
            return connection, True
        return connection, False

    def _take(self) -> Any:
        if self._shared is not None:
            return self._shared
        while True:
            connection, stale = self._idle()
            if not stale:
                return connection
            connection.close()

    async def _atake(self) -> Any:
        if self._shared is not None:
            return self._shared
        while True:
            connection, stale = self._idle()
            if not stale:
                return connection
            await connection.aclose()

    def _give_back(self, connection: Any) -> None:
        if connection is not self._shared:
            self._free.append(connection)

    def _request(self, content: bytes, headers: list[tuple[bytes, bytes]]) -> Any:
        return self._httpcore.Request(
            b"POST",
            self._url,
            headers=[*self._headers, (b"Content-Length", str(len(content)).encode()), *headers],
            content=content,
            extensions=self._extensions,
        )

    def post(self, content: bytes, headers: list[tuple[bytes, bytes]]) -> Answer:
        """One attempt. Raises httpx.HTTPError (a transport error) like an httpx client would."""
        shared = self._shared
        if shared is None:
            connection = self._take()
            try:
                return connection.post(content, headers)  # type: ignore[no-any-return]
            finally:
                self._give_back(connection)
        try:
            response = shared.handle_request(self._request(content, headers))
            try:
                body = response.read()
            finally:
                response.close()
        except self._errors as error:
            raise _as_httpx_error(error) from error
        return Answer(response.status, response.headers, body)

    async def apost(self, content: bytes, headers: list[tuple[bytes, bytes]]) -> Answer:
        connection = await self._atake()
        try:
            response = await connection.handle_async_request(self._request(content, headers))
            try:
                body = await response.aread()
            finally:
                await response.aclose()
        except self._errors as error:
            raise _as_httpx_error(error) from error
        finally:
            self._give_back(connection)
        return Answer(response.status, response.headers, body)

    def connections(self) -> int:
        """Connections made so far (with http2: pools, each of a few connections)."""
        return self._made

    def close(self) -> None:
        held, self._all, self._free = self._all, [], []
        for connection in held:
            connection.close()

    async def aclose(self) -> None:
        held, self._all, self._free = self._all, [], []
        for connection in held:
            await connection.aclose()


def require_h2(http2: bool, error: type[InvalidArgumentError] = InvalidArgumentError) -> bool:
    """``http2`` as given, once we know the h2 package is there to speak it."""
    if http2:
        try:
            import h2  # noqa: F401
        except ImportError:
            raise error(
                "http2=True needs the h2 package: pip install 'session-analytics[http2]'",
                field="http2",
            ) from None
    return http2


def _limits() -> httpx.Limits:
    return httpx.Limits(
        max_connections=C.MAX_CONNECTIONS, max_keepalive_connections=C.MAX_KEEPALIVE_CONNECTIONS
    )


def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, C.DEFAULT_CONNECT_TIMEOUT_S))


def default_headers(integration_source: str | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if integration_source:
        headers[C.INTEGRATION_SOURCE_HEADER] = integration_source
    return headers


def warn_shared_client_after_fork(api: str) -> None:
    """In a forked child of a client made with the caller's ``http_client``: that client's pool
    holds the parent's connections, which the two processes would now share."""
    logger.warning(
        "%s client: this process was forked after the client was made with your http_client; "
        "its pooled connections are shared with the parent process, which can mix up answers. "
        "Make the client after the fork (a post-fork hook of your server), or leave "
        "http_client out and let the client dial its own connections in each process.",
        api,
    )


def sync_client(
    *,
    base_url: str,
    api_key: str | None,
    timeout: float,
    policy: RetryPolicy,
    integration_source: str | None,
    http_client: httpx.Client | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    http2: bool = False,
) -> httpx.Client:
    inner: httpx.BaseTransport
    if transport is not None:
        inner = transport
    elif http_client is not None:
        inner = _ThroughClient(http_client)
    else:
        inner = httpx.HTTPTransport(
            limits=_limits(), socket_options=NO_DELAY, http2=require_h2(http2)
        )
    return httpx.Client(
        base_url=base_url,
        auth=FullStoryAuth(api_key) if api_key is not None else None,
        headers=default_headers(integration_source),
        timeout=_timeout(timeout),
        transport=RetryTransport(inner, policy, sleep),
    )


def async_client(
    *,
    base_url: str,
    api_key: str | None,
    timeout: float,
    policy: RetryPolicy,
    integration_source: str | None,
    http_client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    http2: bool = False,
) -> httpx.AsyncClient:
    inner: httpx.AsyncBaseTransport
    if transport is not None:
        inner = transport
    elif http_client is not None:
        inner = _AsyncThroughClient(http_client)
    else:
        inner = httpx.AsyncHTTPTransport(limits=_limits(), http2=require_h2(http2))
    return httpx.AsyncClient(
        base_url=base_url,
        auth=FullStoryAuth(api_key) if api_key is not None else None,
        headers=default_headers(integration_source),
        timeout=_timeout(timeout),
        transport=AsyncRetryTransport(inner, policy, sleep),
    )
