"""A loopback TCP proxy that adds a network round trip, for the WAN benchmark (benchmarks/wan.py).

Every chunk read from one side is written to the other ``rtt/2`` later (plus an optional uniform
jitter of +-``jitter``), in each direction, so a request and its answer cost one RTT. Each
direction of each connection has its own queue of ``(due, bytes)`` and its own writer task:
chunks keep their order (a jittered due time is never earlier than the previous chunk's) and
pipelined or concurrent requests are never serialised behind one another. A new connection pays
a setup cost first (``setup_rtts`` round trips, default 1, as a TCP handshake does; 2 or 3 for
TCP + TLS): nothing it sends is forwarded before that.

``drop_answer_rate`` makes the proxy lose answers: an upstream chunk picked at that rate is not
delivered; both sides of that connection are aborted instead (the request reached the server and
was processed, the client sees a dropped connection), as the sandbox's ``reset_rate`` fault does,
for servers that have no such fault.

It counts connections accepted, the peak open at once, requests in flight (a connection is busy
from the first client byte until an answer chunk is delivered back to it) and their peak.

Run it as a process of its own (its CPU is then not the client's); it prints
``ready PORT CONTROL_PORT`` once it serves. The control port takes one line per connection and
answers one line of JSON: ``stats``, ``reset`` (zero the counters; answers the stats before),
``set {"rtt_ms": 80, ...}`` (new settings for chunks read from then on).

    python benchmarks/latency_proxy.py --upstream 127.0.0.1:8765 --rtt-ms 80 [--jitter-ms 5]
        [--setup-rtts 1] [--drop-answer-rate 0] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs

HERE = Path(__file__).resolve().parent
CHUNK = 256 * 1024
_EOF = b""  # the queue item that says: the other side is done sending


@attrs.define
class Settings:
    rtt_ms: float = 0.0
    jitter_ms: float = 0.0
    setup_rtts: float = 1.0
    drop_answer_rate: float = 0.0

    def update(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            if name not in attrs.fields_dict(Settings):
                raise ValueError(f"unknown setting {name}")
            value = float(value)
            if value < 0:
                raise ValueError(f"{name} must be >= 0")
            setattr(self, name, value)


@attrs.define
class Counters:
    accepted: int = 0
    open: int = 0
    peak_open: int = 0
    busy: int = 0
    peak_busy: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    answers_dropped: int = 0
    upstream_failures: int = 0

    def snapshot(self) -> dict[str, int]:
        return attrs.asdict(self)

    def reset(self) -> None:
        """Zero what accumulates; the connections open now stay counted as open (and as peak)."""
        open_now, busy_now = self.open, self.busy
        for field in attrs.fields(Counters):
            setattr(self, field.name, 0)
        self.open = self.peak_open = open_now
        self.busy = self.peak_busy = busy_now


class Connection:
    """One client connection and its upstream connection: two delayed pipes."""

    def __init__(self, proxy: LatencyProxy, accepted_at: float) -> None:
        self.proxy = proxy
        self.accepted_at = accepted_at
        self.busy = False
        self.closing = False
        self.writers: list[asyncio.StreamWriter] = []

    def set_busy(self, busy: bool) -> None:
        if busy == self.busy:
            return
        self.busy = busy
        counters = self.proxy.counters
        counters.busy += 1 if busy else -1
        counters.peak_busy = max(counters.peak_busy, counters.busy)

    def abort(self) -> None:
        self.closing = True
        for writer in self.writers:
            writer.transport.abort()

    async def pump_in(
        self, reader: asyncio.StreamReader, out: asyncio.Queue[tuple[float, bytes]], upward: bool
    ) -> None:
        """Read chunks from one side and queue them with the time they are due at the other."""
        settings, rng = self.proxy.settings, self.proxy.rng
        last_due = 0.0
        if upward:  # the first byte leaves once the connection is "set up", then travels
            last_due = self.accepted_at + (settings.setup_rtts + 0.5) * settings.rtt_ms / 1000.0
        while True:
            try:
                data = await reader.read(CHUNK)
            except (ConnectionError, OSError):
                data = _EOF
            now = time.monotonic()
            one_way = settings.rtt_ms / 2000.0
            if settings.jitter_ms:
                one_way += rng.uniform(-settings.jitter_ms, settings.jitter_ms) / 1000.0
            # Never before the previous chunk: jitter does not reorder a connection's bytes.
            due = max(now + max(one_way, 0.0), last_due)
            last_due = due
            if upward and data:
                self.proxy.counters.bytes_up += len(data)
                self.set_busy(True)
            elif data:
                self.proxy.counters.bytes_down += len(data)
            out.put_nowait((due, data))
            if not data:
                return

    async def pump_out(
        self, queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter, down: bool
    ) -> None:
        """Write each queued chunk when it is due; at the end, half-close that side."""
        proxy = self.proxy
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if self.closing:
                return
            if not data:
                # uvloop raises RuntimeError for a transport the other side closed meanwhile.
                with contextlib.suppress(OSError, RuntimeError):
                    if writer.can_write_eof():
                        writer.write_eof()
                return
            rate = proxy.settings.drop_answer_rate
            if down and rate and proxy.rng.random() < rate:
                proxy.counters.answers_dropped += 1
                self.set_busy(False)
                self.abort()
                return
            try:
                writer.write(data)
                await writer.drain()
            except (OSError, RuntimeError):
                self.abort()
                return
            if down:
                self.set_busy(False)


class LatencyProxy:
    def __init__(self, upstream: tuple[str, int], settings: Settings, seed: int | None) -> None:
        self.upstream = upstream
        self.settings = settings
        self.counters = Counters()
        self.rng = random.Random(seed)

    async def handle(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        counters = self.counters
        counters.accepted += 1
        counters.open += 1
        counters.peak_open = max(counters.peak_open, counters.open)
        conn = Connection(self, time.monotonic())
        try:
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            except OSError:
                counters.upstream_failures += 1
                client_writer.transport.abort()
                return
            conn.writers = [client_writer, up_writer]
            to_upstream: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
            to_client: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
            tasks = [
                asyncio.create_task(conn.pump_in(client_reader, to_upstream, upward=True)),
                asyncio.create_task(conn.pump_in(up_reader, to_client, upward=False)),
                asyncio.create_task(conn.pump_out(to_upstream, up_writer, down=False)),
                asyncio.create_task(conn.pump_out(to_client, client_writer, down=True)),
            ]
            # Done when the answers have all been delivered (or the connection was aborted).
            await tasks[3]
            for task in tasks:
                task.cancel()
            for writer in conn.writers:
                writer.close()
        finally:
            conn.set_busy(False)
            counters.open -= 1

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = (await reader.readline()).decode().strip()
        command, _, rest = line.partition(" ")
        answer: dict[str, Any]
        try:
            if command == "stats":
                answer = self.counters.snapshot()
            elif command == "reset":
                answer = self.counters.snapshot()
                self.counters.reset()
            elif command == "set":
                self.settings.update(json.loads(rest))
                answer = attrs.asdict(self.settings)
            else:
                answer = {"error": f"unknown command {command!r}"}
        except ValueError as err:
            answer = {"error": str(err)}
        writer.write(json.dumps(answer).encode() + b"\n")
        await writer.drain()
        writer.close()


async def serve(proxy: LatencyProxy) -> None:
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0, backlog=1024)
    control = await asyncio.start_server(proxy.control, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    control_port = control.sockets[0].getsockname()[1]
    print(f"ready {port} {control_port}", flush=True)
    async with server, control:
        await asyncio.gather(server.serve_forever(), control.serve_forever())


# ---- for the harness ----------------------------------------------------------------------------


class ProxyProcess:
    """The proxy in a process of its own: ``url`` to send through, ``stats()``/``reset()``."""

    def __init__(
        self,
        upstream: str,
        rtt_ms: float,
        *,
        jitter_ms: float = 0.0,
        setup_rtts: float = 1.0,
        drop_answer_rate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        command = [
            sys.executable,
            str(HERE / "latency_proxy.py"),
            "--upstream",
            upstream,
            "--rtt-ms",
            str(rtt_ms),
            "--jitter-ms",
            str(jitter_ms),
            "--setup-rtts",
            str(setup_rtts),
            "--drop-answer-rate",
            str(drop_answer_rate),
        ]
        if seed is not None:
            command += ["--seed", str(seed)]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        words = self.proc.stdout.readline().split()
        if len(words) != 3 or words[0] != "ready":
            self.proc.kill()
            raise SystemExit("the latency proxy did not start")
        self.port, self.control_port = int(words[1]), int(words[2])
        self.url = f"http://127.0.0.1:{self.port}"

    def command(self, line: str) -> dict[str, Any]:
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=10) as sock:
            sock.sendall(line.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        return dict(json.loads(data))

    def stats(self) -> dict[str, Any]:
        return self.command("stats")

    def reset(self) -> dict[str, Any]:
        return self.command("reset")

    def set(self, **settings: float) -> dict[str, Any]:
        return self.command("set " + json.dumps(settings))

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def __enter__(self) -> ProxyProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT (or http://HOST:PORT)")
    parser.add_argument("--rtt-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--setup-rtts", type=float, default=1.0)
    parser.add_argument("--drop-answer-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    host, _, port = args.upstream.split("://")[-1].rstrip("/").rpartition(":")
    settings = Settings(args.rtt_ms, args.jitter_ms, args.setup_rtts, args.drop_answer_rate)
    try:
        import uvloop  # the proxy's own CPU is not measured, but less of it leaves more for others
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(serve(LatencyProxy((host, int(port)), settings, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
