"""Connections as a WAN shows them: counted, and each new one slow to become ready.

``connect_latency_ms`` stands for the cost of setting up a connection (TCP and TLS handshakes):
an API request on a connection that is younger than that waits until the connection is that old
before it is answered. A client that keeps its connections alive pays it once per connection;
a client that opens a connection per request pays it every time. Admin routes never wait.

Connections are known by the client address of the ASGI scope (host, port), which is unique
among open connections. Two ways of counting:

- exact: the server reports every connection as it opens and closes (the sandbox's uvicorn
  protocol does, see ``runners.py``); a connection counts even when no request came on it, and
  ``connections_open`` says how many are open now;
- by client address (any other ASGI server, e.g. hypercorn): a connection counts, and starts its
  setup, when its first request arrives; closes are not seen, so ``connections_open`` is None.
  A client port reused soon after for a new connection is not counted again (rare: the
  operating system cycles through its ephemeral ports).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

Peer = tuple[Any, ...]

# Client addresses remembered when counting by address; the oldest are forgotten first.
MAX_PEERS = 65_536


def peer_of(client: Sequence[Any] | None) -> Peer | None:
    """The key of a connection from an ASGI scope's ``client`` (None when the server gave none)."""
    return tuple(client) if client else None


class ConnectionMeter:
    """Counts connections and knows when each one is ready (its setup cost paid)."""

    def __init__(
        self, setup_s: Callable[[], float], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._setup_s = setup_s
        self._clock = clock
        self.exact = False
        self.opened = 0
        self.open = 0
        self._ready_at: OrderedDict[Peer, float] = OrderedDict()

    def counted_by_server(self) -> None:
        """The server reports opens and closes (``connection_made``/``connection_lost``)."""
        self.exact = True

    def connection_made(self, peer: Peer | None) -> None:
        self.opened += 1
        self.open += 1
        if peer is not None:
            self._ready_at[peer] = self._clock() + self._setup_s()

    def connection_lost(self, peer: Peer | None) -> None:
        self.open = max(0, self.open - 1)
        if peer is not None:
            self._ready_at.pop(peer, None)

    def request_from(self, peer: Peer | None) -> None:
        """Note a request (any route); counting by address, an unseen address is a new
        connection."""
        if self.exact or peer is None:
            return
        if peer in self._ready_at:
            self._ready_at.move_to_end(peer)
            return
        self.opened += 1
        self._ready_at[peer] = self._clock() + self._setup_s()
        if len(self._ready_at) > MAX_PEERS:
            self._ready_at.popitem(last=False)

    def wait_s(self, peer: Peer | None) -> float:
        """Seconds until the connection of ``peer`` is ready (0 when it is, or is unknown)."""
        ready_at = self._ready_at.get(peer) if peer is not None else None
        return 0.0 if ready_at is None else max(0.0, ready_at - self._clock())

    def reset(self) -> None:
        """Count from zero again; open connections stay open (and stay counted as open)."""
        self.opened = 0

    def stats(self) -> dict[str, Any]:
        return {
            "connections_opened": self.opened,
            "connections_open": self.open if self.exact else None,
            "connections_counted": "exact" if self.exact else "by client address",
        }
