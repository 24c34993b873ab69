"""The direct path of ``track()`` (``_transport.DirectPost``) against a raw socket server that
misbehaves on purpose: connections the server closes while idle, answers that never come,
requests that time out. Each failure must come out as the httpx error an httpx client would
raise (so the batcher's retry and duplicate rules apply unchanged), and the next request must
work on a fresh connection.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from session_analytics._direct_post import DirectPost
from session_analytics._retry import is_retryable_exception, maybe_delivered

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
Behaviour = Callable[[socket.socket, int], None]


class RawServer:
    """Accepts connections on loopback; ``behave(conn, n)`` handles the n-th one (from 0)."""

    def __init__(self, behave: Behaviour) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.behave = behave
        self.accepted = 0
        self.requests: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            number, self.accepted = self.accepted, self.accepted + 1
            threading.Thread(target=self._handle, args=(conn, number), daemon=True).start()

    def _handle(self, conn: socket.socket, number: int) -> None:
        with conn:
            self.behave(conn, number)

    def read_request(self, conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += conn.recv(65536)
        self.requests.append(head)
        return data

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], RawServer]]:
    servers: list[RawServer] = []

    def start(behave: Behaviour) -> RawServer:
        server = RawServer(behave)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def post(server: RawServer, timeout: float = 5.0) -> DirectPost:
    return DirectPost(
        f"http://127.0.0.1:{server.port}/v2/events",
        {"Authorization": "Basic secret-key", "Content-Type": "application/json"},
        timeout,
    )


KEY = [(b"Idempotency-Key", b"key-1")]


def test_requests_share_one_kept_alive_connection(
    serve: Callable[[Behaviour], RawServer],
) -> None:
    def keep_answering(conn: socket.socket, _: int) -> None:
        while server.read_request(conn):
            conn.sendall(OK)

    server = serve(keep_answering)
    direct = post(server)
    for _ in range(5):
        assert direct.post(b"{}", KEY).status == 200
    assert (server.accepted, direct.connections()) == (1, 1)
    head = server.requests[0].decode()
    assert head.startswith("POST /v2/events HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.port}" in head
    assert "Idempotency-Key: key-1" in head
    assert "Content-Length: 2" in head
    direct.close()


def test_a_connection_the_server_closed_while_idle_is_replaced(
    serve: Callable[[Behaviour], RawServer],
) -> None:
    def answer_once_then_close(conn: socket.socket, _: int) -> None:
        server.read_request(conn)
        conn.sendall(OK)  # keep-alive by HTTP/1.1's default, then closed all the same

    server = serve(answer_once_then_close)
    direct = post(server)
    assert direct.post(b"{}", KEY).status == 200
    time.sleep(0.1)  # the close reaches us
    assert direct.post(b"{}", KEY).status == 200  # not a failed attempt: a new connection
    assert server.accepted == 2
    direct.close()


def test_no_answer_is_a_protocol_error_that_may_have_been_delivered(
    serve: Callable[[Behaviour], RawServer],
) -> None:
    def read_and_hang_up(conn: socket.socket, number: int) -> None:
        server.read_request(conn)
        if number > 0:
            conn.sendall(OK)

    server = serve(read_and_hang_up)
    direct = post(server)
    with pytest.raises(httpx.RemoteProtocolError) as info:
        direct.post(b"{}", KEY)
    assert is_retryable_exception(info.value)
    assert maybe_delivered(info.value)  # the request went out: only the key makes a resend safe
    assert "secret-key" not in str(info.value)
    assert direct.post(b"{}", KEY).status == 200  # and the next attempt reconnects
    direct.close()


def test_an_answer_that_does_not_come_in_time_is_a_read_timeout(
    serve: Callable[[Behaviour], RawServer],
) -> None:
    def slow(conn: socket.socket, _: int) -> None:
        server.read_request(conn)
        time.sleep(1.0)

    server = serve(slow)
    direct = post(server, timeout=0.2)
    with pytest.raises(httpx.ReadTimeout) as info:
        direct.post(b"{}", KEY)
    assert is_retryable_exception(info.value)
    assert maybe_delivered(info.value)
    direct.close()


def test_a_refused_connection_is_a_connect_error_that_was_not_delivered() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    direct = DirectPost(f"http://127.0.0.1:{port}/v2/events", {}, 5.0)
    with pytest.raises(httpx.ConnectError) as info:
        direct.post(b"{}", KEY)
    assert is_retryable_exception(info.value)
    assert not maybe_delivered(info.value)
    direct.close()


def test_garbage_instead_of_http_is_a_protocol_error(
    serve: Callable[[Behaviour], RawServer],
) -> None:
    def garbage(conn: socket.socket, _: int) -> None:
        server.read_request(conn)
        conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")

    server = serve(garbage)
    direct = post(server)
    with pytest.raises(httpx.RemoteProtocolError):
        direct.post(b"{}", KEY)
    direct.close()
