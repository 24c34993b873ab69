"""``track()`` over a round trip: against the sandbox with its WAN profile (latency on every
answer, a cost on every new connection), over HTTP/1.1 and HTTP/2.

What these prove: with work waiting, more requests go out at once than the floor of 4; each
request has a connection of its own that is opened once and kept alive (the sandbox counts the
connections it accepted); every event is recorded once. HTTP/2 multiplexes them over one
connection. Options that earlier versions read differently still deliver every event.
"""

from __future__ import annotations

import ssl
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from session_analytics._constants import TRACK_MAX_CONCURRENCY
from session_analytics._direct_post import uses_proxy
from session_analytics.fullstory import BatchingOptions, FullStory
from session_analytics.sandbox import Sandbox

EVENTS = 400


def numbers(sandbox: Sandbox, name: str) -> Counter[int]:
    return Counter(e["properties"]["i"] for e in sandbox.events("fullstory", name=name))


def test_a_round_trip_raises_the_requests_in_flight_on_kept_alive_connections(
    make_fs: Callable[..., Any], sandbox: Sandbox
) -> None:
    sandbox.set_faults(latency_ms=40, connect_latency_ms=40)
    opened_before = sandbox.stats()["connections_opened"]
    fs = make_fs()
    most = 0
    for i in range(EVENTS):
        assert fs.events.track("Far Away", properties={"i": i}) is True
        most = max(most, fs.stats().in_flight)
    assert fs.flush(60.0).pending == 0
    connections = fs._direct.connections()
    opened = sandbox.stats()["connections_opened"] - opened_before
    sandbox.set_faults()

    assert connections > 4  # more than the floor went out at once...
    assert connections <= TRACK_MAX_CONCURRENCY  # ...never more than the ceiling
    assert opened == connections  # one connection each, opened once: none churned
    assert numbers(sandbox, "Far Away") == Counter(range(EVENTS))
    stats = fs.stats()
    assert (stats.delivered, stats.failed, stats.dropped) == (EVENTS, 0, 0)


def test_options_with_batches_bigger_than_one_still_send_every_event(
    make_fs: Callable[..., Any], sandbox: Sandbox
) -> None:
    # FullStory has no bulk events call: a batch size from the generic defaults must not
    # make the client send the first event of each batch only.
    fs = make_fs(batching=BatchingOptions(flush_at=5, max_batch_events=10, flush_interval=0.05))
    for i in range(23):
        assert fs.events.track("Grouped", properties={"i": i}) is True
    assert fs.flush(30.0).pending == 0
    assert numbers(sandbox, "Grouped") == Counter(range(23))
    assert fs.stats().delivered == 23


def test_a_closed_port_is_a_connection_error_for_on_error() -> None:
    failures: list[tuple[list[dict[str, Any]], BaseException]] = []
    fs = FullStory(
        "key",
        base_url="http://127.0.0.1:9",  # the discard port: nothing listens there
        batching=BatchingOptions(
            max_retry_time=0.3,
            retry_initial_delay=0.01,
            on_error=lambda events, error: failures.append((events, error)),
        ),
    )
    assert fs._direct is not None
    assert fs.events.track("Nowhere", properties={"i": 1}) is True
    fs.flush(10.0)
    fs.close(1.0)
    assert [events[0]["name"] for events, _ in failures] == ["Nowhere"]
    error = failures[0][1]
    assert type(error).__name__ == "GaveUpError"
    assert type(error.__cause__).__name__ == "FSConnectionError"
    assert "key" not in str(error.__cause__)


def test_a_proxy_in_the_environment_keeps_the_general_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert uses_proxy("https://api.fullstory.com/v2/events")
    with FullStory("key") as fs:
        assert fs._direct is None  # httpx's client honours the proxy
    monkeypatch.setenv("NO_PROXY", "api.fullstory.com")
    assert not uses_proxy("https://api.fullstory.com/v2/events")
    with FullStory("key") as fs:
        assert fs._direct is not None


# ---- HTTP/2 ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authority_pem(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    authority = trustme.CA()
    folder = tmp_path_factory.mktemp("ca")
    pem = folder / "ca.pem"
    authority.cert_pem.write_to_path(str(pem))
    return authority, pem


@pytest.fixture(scope="module")
def h2_sandbox(
    authority_pem: tuple[trustme.CA, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    authority, _ = authority_pem
    issued = authority.issue_cert("127.0.0.1")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "chain.pem", folder / "key.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    key.write_bytes(issued.private_key_pem.bytes())
    context = ssl.create_default_context()
    authority.configure_trust(context)
    with Sandbox(server="hypercorn", tls_cert=cert, tls_key=key, verify=context) as sb:
        yield sb


def test_http2_multiplexes_track_over_one_connection(
    make_fs: Callable[..., Any],
    h2_sandbox: Sandbox,
    authority_pem: tuple[trustme.CA, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(authority_pem[1]))  # how users trust their own CA
    h2_sandbox.reset()
    h2_sandbox.set_faults(latency_ms=30)
    fs = make_fs(api_key=h2_sandbox.api_key, base_url=h2_sandbox.url, http2=True)
    for i in range(200):
        assert fs.events.track("Multiplexed", properties={"i": i}) is True
    assert fs.flush(60.0).pending == 0
    h2_sandbox.set_faults()
    assert numbers(h2_sandbox, "Multiplexed") == Counter(range(200))
    versions = {r["http_version"] for r in h2_sandbox.requests() if r["path"] == "/v2/events"}
    assert versions == {"2"}
    assert fs._direct.connections() == 1  # one shared pool
    assert fs.users.create({"uid": "over-h2"}).id  # the general path speaks h2 too
    assert {r["http_version"] for r in h2_sandbox.requests() if r["path"] == "/v2/users"} == {"2"}


def test_http2_without_h2_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_h2(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "h2" or name.startswith("h2."):
            raise ImportError("No module named 'h2'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_h2)
    from session_analytics.errors import FSInvalidArgumentError

    with pytest.raises(FSInvalidArgumentError, match=r"session-analytics\[http2\]") as info:
        FullStory("key", http2=True)
    assert info.value.field == "http2"
