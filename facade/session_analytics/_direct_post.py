"""track()'s direct path: POSTs to one URL on connections of its own, past the client layer.

The sync side speaks the standard library's http.client, the asyncio side httpcore; either way
a failure comes out as the httpx error an httpx client would raise, so the sender judges both
paths alike. Used only with the default transport (see :class:`DirectPost`).
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import ssl
import typing
from typing import Any

import attrs
import httpx

from ._constants import DEFAULT_CONNECT_TIMEOUT_S, MAX_CONNECTIONS
from ._http_client import NO_DELAY


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
                "connect": min(timeout, DEFAULT_CONNECT_TIMEOUT_S),
                "read": timeout,
                "write": timeout,
                "pool": timeout,
            }
        }
        self._tls = httpx.create_ssl_context() if parsed.scheme == "https" else None
        self._parsed = parsed
        self._str_headers = [("Host", host), *headers.items()]
        self._timeouts = (min(timeout, DEFAULT_CONNECT_TIMEOUT_S), timeout)
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
            max_connections=MAX_CONNECTIONS,
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
