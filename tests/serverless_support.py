"""The Lambda-style runtime for ``tests/test_serverless.py``, seen from the test: ``Runtime``
runs ``apps/lambda_runtime.py`` (a loop that freezes itself after every return) and hands it one
event at a time; ``CuttableProxy`` stands between it and the sandbox and ends its connections
while it is frozen; ``arrived`` and ``expected`` count events by (invocation, n).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import IO, Any

from support import wait_until

from session_analytics.sandbox import Sandbox

APPS = Path(__file__).parent / "apps"
RUNTIME = APPS / "lambda_runtime.py"
HANDLER = APPS / "lambda_handler.py"
ANSWER_TIMEOUT_S = 60.0


class CuttableProxy:
    """A TCP proxy to ``upstream`` whose connections ``cut()`` ends, as an idle connection of a
    frozen process dies (a load balancer or the server closes it meanwhile).

    Each socket is read by one thread, which closes it once cut: a socket closed while another
    thread is still blocked reading it would stay open in the kernel, and end nothing."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").rsplit(":", 1)
        self._upstream = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._cut: set[socket.socket] = set()
        self._unread: set[socket.socket] = set()  # their reader saw the end and is gone
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._upstream)
            except OSError:
                conn.close()
                continue
            with self._lock:
                self.accepted += 1
                self._open += [conn, upstream]
            threading.Thread(target=self._pipe, args=(conn, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, conn), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
            with self._lock:
                was_cut = source in self._cut
            if not was_cut:
                target.shutdown(socket.SHUT_WR)  # pass a clean end on
        with self._lock:
            was_cut = source in self._cut
            if not was_cut:
                self._unread.add(source)  # a later cut() closes it itself
        if was_cut:
            source.close()

    def cut(self, *, reset: bool = True) -> None:
        """End every connection open now: reset (RST), or closed cleanly (FIN) as a server
        closes an idle keep-alive connection."""
        with self._lock:
            sockets, self._open = self._open, []
            self._cut.update(sockets)
            unread = [sock for sock in sockets if sock in self._unread]
        for sock in sockets:
            with contextlib.suppress(OSError):
                if reset:  # closed with no lingering: a reset
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.shutdown(socket.SHUT_RD)  # wakes its reader, which closes it
                else:
                    sock.shutdown(socket.SHUT_RDWR)
        for sock in unread:
            sock.close()
        # Closed (and so reset) by their readers before the frozen process runs again.
        wait_until(
            lambda: all(sock.fileno() == -1 for sock in sockets),
            timeout=10,
            what="the cut connections to close",
        )

    def close(self) -> None:
        self._listener.close()
        self.cut()


class Runtime:
    """A runtime process running ``lambda_runtime.py``: ``invoke()`` thaws it, hands it one
    event and returns the handler's answer once the process has frozen itself again."""

    def __init__(self, env: dict[str, str], stderr_path: Path) -> None:
        self._stderr: IO[str] = stderr_path.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, str(RUNTIME), str(HANDLER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            text=True,
        )
        self.frozen = False

    def invoke(self, **event: Any) -> Any:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.thaw()
        self.proc.stdin.write(json.dumps(event) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], ANSWER_TIMEOUT_S)
        assert ready, "the runtime did not answer"
        line = self.proc.stdout.readline()
        assert line.startswith(f"done {event['invocation']} "), line
        _, status = os.waitpid(self.proc.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status), "the runtime ended instead of freezing"
        self.frozen = True
        return json.loads(line.split(" ", 2)[2])

    def thaw(self) -> None:
        if self.frozen:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.frozen = False

    def kill(self) -> None:
        """End the process (frozen or not), as the platform ends an execution environment."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(ANSWER_TIMEOUT_S)
        self._close_files()

    def _close_files(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self._stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def end(self) -> None:
        assert self.proc.stdin is not None
        self.thaw()
        self.proc.stdin.close()
        try:
            assert self.proc.wait(ANSWER_TIMEOUT_S) == 0
        finally:
            self.kill()


def arrived(sandbox: Sandbox) -> Counter[tuple[int, int]]:
    """(invocation, n) of every FullStory event in the sandbox, with how many times each came."""
    return Counter(
        (event["properties"]["invocation"], event["properties"]["n"])
        for event in sandbox.events("fullstory")
    )


def expected(counts: dict[int, int]) -> Counter[tuple[int, int]]:
    return Counter({(i, n): 1 for i, count in counts.items() for n in range(count)})
