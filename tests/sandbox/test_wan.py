"""The sandbox as a WAN shows it: latency and jitter, the cost of a new connection, connection
counters, the per-key per-endpoint rate limiter, and HTTP/2 through hypercorn.

Timings are only checked from below: a delay can never be shorter than configured, but a busy
machine may make anything longer. What must not be paid (a kept-alive connection's setup) is
checked through the connection counters and, without a server, with a fake clock.
"""

from __future__ import annotations

import contextlib
import queue
import re
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
import trustme
from support import wait_until

from session_analytics.sandbox import Sandbox, SandboxError
from session_analytics.sandbox.connections import ConnectionMeter
from session_analytics.sandbox.faults import FaultInjector, Faults
from session_analytics.sandbox.limiter import RateLimiter

RATE_LIMITED = {
    "code": "too_many_requests",
    "message": "Too many requests. Client has exceeded the rate limit for this endpoint.",
}
# asyncio may wake a sleeper up to its clock resolution early; allow a hair below the setting.
EARLY_S = 0.005


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Basic {key}"}


def _opened(sandbox: Sandbox) -> int:
    return int(sandbox.stats()["connections_opened"])


# ---- latency and jitter -------------------------------------------------------------------------


def test_latency_delays_every_api_answer(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.set_faults(latency_ms=200)
    for call in (
        lambda: fs.get("/v2/users"),
        lambda: fs.post("/v2/events", json={"name": "Slow"}),
    ):
        answer, took = _timed(call)
        assert answer.status_code == 200
        assert took >= 0.2 - EARLY_S


def test_jitter_delays_at_least_latency_minus_jitter(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.set_faults(latency_ms=150, latency_jitter_ms=50, seed=3)
    for _ in range(5):
        answer, took = _timed(lambda: fs.get("/v2/users"))
        assert answer.status_code == 200
        assert took >= 0.1 - EARLY_S


def _latencies(faults: Faults, n: int = 500) -> list[float]:
    injector = FaultInjector()
    injector.configure(faults)
    return [injector.latency_s("/v2/users") for _ in range(n)]


def test_jitter_draws_stay_in_range_and_spread() -> None:
    drawn = _latencies(Faults(latency_ms=100, latency_jitter_ms=20))
    assert all(0.08 <= d <= 0.12 for d in drawn)
    assert min(drawn) < 0.085
    assert max(drawn) > 0.115
    assert len(set(drawn)) > 400


def test_jitter_never_makes_a_negative_delay() -> None:
    drawn = _latencies(Faults(latency_ms=10, latency_jitter_ms=50))
    assert all(0.0 <= d <= 0.06 for d in drawn)
    assert drawn.count(0.0) > 100  # the draws below zero are cut to no delay


def test_the_same_seed_gives_the_same_jitter() -> None:
    profile = Faults(latency_ms=80, latency_jitter_ms=5, seed=42)
    assert _latencies(profile, 50) == _latencies(profile, 50)
    assert _latencies(profile, 50) != _latencies(Faults(latency_ms=80, latency_jitter_ms=5), 50)


def test_jitter_does_not_change_which_requests_meet_which_fate() -> None:
    def fates(faults: Faults) -> list[str]:
        injector = FaultInjector()
        injector.configure(faults)
        return [injector.decide("/v2/users").fate for _ in range(100)]

    plain = Faults(seed=7, error_rate=0.3, reset_rate=0.2)
    jittery = Faults(seed=7, error_rate=0.3, reset_rate=0.2, latency_jitter_ms=30)
    assert fates(plain) == fates(jittery)


def test_latency_follows_paths(sandbox: Sandbox) -> None:
    injector = FaultInjector()
    injector.configure(Faults(latency_ms=100, latency_jitter_ms=10, paths=("/v2/events",)))
    assert injector.latency_s("/v2/users") == 0.0
    assert injector.latency_s("/v2/events") >= 0.09


# ---- the cost of a new connection, and the counters -------------------------------------------


def test_a_kept_alive_connection_pays_its_setup_once(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.set_faults(connect_latency_ms=300)
    before = _opened(sandbox)
    first, took = _timed(lambda: fs.get("/v2/users"))
    assert first.status_code == 200
    assert took >= 0.3 - EARLY_S
    for _ in range(4):
        assert fs.get("/v2/users").status_code == 200
    assert _opened(sandbox) - before == 1


def test_a_new_connection_per_request_pays_every_time(sandbox: Sandbox) -> None:
    sandbox.set_faults(connect_latency_ms=200)
    before = _opened(sandbox)
    for _ in range(3):
        answer, took = _timed(
            lambda: httpx.get(sandbox.url + "/v2/users", headers=_auth(sandbox.api_key))
        )
        assert answer.status_code == 200
        assert took >= 0.2 - EARLY_S
    assert _opened(sandbox) - before == 3


def test_connections_open_counts_the_open_ones(sandbox: Sandbox) -> None:
    stats = sandbox.stats()
    assert stats["connections_counted"] == "exact"
    baseline = stats["connections_open"]
    with httpx.Client(base_url=sandbox.url, headers=_auth(sandbox.api_key)) as one:
        one.get("/v2/users")
        with httpx.Client(base_url=sandbox.url, headers=_auth(sandbox.api_key)) as two:
            two.get("/v2/users")
            assert sandbox.stats()["connections_open"] == baseline + 2
        wait_until(
            lambda: sandbox.stats()["connections_open"] == baseline + 1,
            what="the second connection to close",
        )
    wait_until(
        lambda: sandbox.stats()["connections_open"] == baseline,
        what="both connections to close",
    )


def test_a_connection_counts_even_without_a_request(sandbox: Sandbox) -> None:
    before = _opened(sandbox)
    with socket_to(sandbox.url):
        wait_until(lambda: _opened(sandbox) == before + 1, what="the connection to be counted")


@contextlib.contextmanager
def socket_to(url: str) -> Iterator[None]:
    import socket

    target = httpx.URL(url)
    assert target.port is not None
    with socket.create_connection((target.host, target.port), timeout=10):
        yield


def test_the_setup_cost_is_paid_once_per_connection_by_the_clock() -> None:
    clock = FakeClock()
    meter = ConnectionMeter(lambda: 0.08, clock)
    meter.counted_by_server()
    meter.connection_made(("127.0.0.1", 5000))
    assert meter.wait_s(("127.0.0.1", 5000)) == pytest.approx(0.08)
    clock.now += 0.05
    assert meter.wait_s(("127.0.0.1", 5000)) == pytest.approx(0.03)
    clock.now += 0.05
    assert meter.wait_s(("127.0.0.1", 5000)) == 0.0  # kept alive: never again
    meter.connection_lost(("127.0.0.1", 5000))
    meter.connection_made(("127.0.0.1", 5001))
    assert meter.wait_s(("127.0.0.1", 5001)) == pytest.approx(0.08)  # a new one pays again
    assert meter.stats() == {
        "connections_opened": 2,
        "connections_open": 1,
        "connections_counted": "exact",
    }


def test_without_a_server_that_reports_connections_they_count_by_client_address() -> None:
    clock = FakeClock()
    meter = ConnectionMeter(lambda: 0.05, clock)
    for port in (6000, 6000, 6001, 6000):
        meter.request_from(("10.0.0.1", port))
    assert meter.wait_s(("10.0.0.1", 6001)) == pytest.approx(0.05)
    clock.now += 1
    assert meter.wait_s(("10.0.0.1", 6001)) == 0.0
    assert meter.stats() == {
        "connections_opened": 2,
        "connections_open": None,
        "connections_counted": "by client address",
    }
    meter.reset()
    assert meter.opened == 0


# ---- the rate limiter ---------------------------------------------------------------------------


def _retry_after(answer: httpx.Response) -> int:
    assert answer.status_code == 429
    assert answer.json() == RATE_LIMITED
    value = answer.headers["Retry-After"]
    assert re.fullmatch(r"\d+", value), value
    return int(value)


def test_past_the_burst_requests_get_429_and_are_not_processed(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    sandbox.set_faults(rate_limit_rps=0.1, rate_limit_burst=3)
    for i in range(3):
        assert fs.post("/v2/events", json={"name": f"allowed-{i}"}).status_code == 200
    refused = fs.post("/v2/events", json={"name": "refused"})
    assert _retry_after(refused) == 10  # one token every 10 s
    assert [e["name"] for e in sandbox.events()] == ["allowed-0", "allowed-1", "allowed-2"]
    stats = sandbox.stats()
    assert stats["rate_limited"] == 1
    assert stats["requests"]["POST /v2/events"] == {"200": 3, "429": 1}


def test_requests_go_through_again_after_the_refill(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.set_faults(rate_limit_rps=5, rate_limit_burst=2)
    assert [fs.get("/v2/users").status_code for _ in range(2)] == [200, 200]
    wait = _retry_after(fs.get("/v2/users"))
    assert wait == 1
    time.sleep(wait)
    assert fs.get("/v2/users").status_code == 200


def test_each_key_has_its_own_buckets(sandbox: Sandbox) -> None:
    sandbox.set_faults(rate_limit_rps=0.01, rate_limit_burst=1)
    with (
        httpx.Client(base_url=sandbox.url, headers=_auth("key-a")) as a,
        httpx.Client(base_url=sandbox.url, headers=_auth("key-b")) as b,
    ):
        assert a.post("/v2/events", json={"name": "A"}).status_code == 200
        assert _retry_after(a.post("/v2/events", json={"name": "A"})) == 100
        assert b.post("/v2/events", json={"name": "B"}).status_code == 200
        assert b.post("/v2/events", json={"name": "B"}).status_code == 429


def test_each_endpoint_has_its_own_bucket(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.set_faults(rate_limit_rps=0.01, rate_limit_burst=1)
    assert fs.post("/v2/events", json={"name": "once"}).status_code == 200
    assert fs.post("/v2/events", json={"name": "twice"}).status_code == 429
    assert fs.post("/v2beta/events", json={"name": "alias"}).status_code == 429  # same endpoint
    assert fs.get("/v2/users").status_code == 200  # another endpoint
    assert fs.post("/v2/users", json={"uid": "u"}).status_code == 200  # another method
    # One bucket per route template, whatever the id in the path.
    assert fs.get("/v2/users/1").status_code == 404
    assert fs.get("/v2/users/2").status_code == 429
    assert sandbox.stats()["rate_limited"] == 3


def test_smartlook_buckets_are_per_project(sandbox: Sandbox, raw: httpx.Client) -> None:
    sandbox.set_faults(rate_limit_rps=0.01, rate_limit_burst=1)
    batch = [{"name": "Sl", "visitorId": "v1", "timestamp": "2024-01-01T00:00:00Z"}]
    first = raw.post("/events/backend", params={"pid": "p1", "group": "g"}, json=batch)
    again = raw.post("/events/backend", params={"pid": "p1", "group": "g"}, json=batch)
    other = raw.post("/events/backend", params={"pid": "p2", "group": "g"}, json=batch)
    assert first.status_code != 429
    assert other.status_code != 429
    assert _retry_after(again) >= 1


def test_the_limiter_follows_paths(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.set_faults(rate_limit_rps=0.01, rate_limit_burst=1, paths=["/v2/events"])
    assert [fs.get("/v2/users").status_code for _ in range(3)] == [200] * 3
    assert fs.post("/v2/events", json={"name": "a"}).status_code == 200
    assert fs.post("/v2/events", json={"name": "b"}).status_code == 429


@pytest.mark.parametrize(
    "path",
    ["/_sandbox/health", "/_sandbox/stats", "/_sandbox/events", "/_sandbox/faults"],
)
def test_admin_routes_are_never_limited(sandbox: Sandbox, raw: httpx.Client, path: str) -> None:
    sandbox.set_faults(rate_limit_rps=0.01, rate_limit_burst=1)
    assert [raw.get(path).status_code for _ in range(5)] == [200] * 5
    assert sandbox.stats()["rate_limited"] == 0


def test_the_limiter_is_off_by_default(sandbox: Sandbox, fs: httpx.Client) -> None:
    assert sandbox.set_faults()["rate_limit_rps"] == 0.0
    assert {fs.get("/v2/users").status_code for _ in range(50)} == {200}
    assert sandbox.stats()["rate_limited"] == 0


def test_the_default_burst_is_one_second_of_requests() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    limiter.configure(4, None)
    assert [limiter.take("k") for _ in range(5)] == [None, None, None, None, 1]
    limiter.configure(0.5, None)
    assert [limiter.take("k") for _ in range(2)] == [None, 2]


def test_retry_after_is_the_time_to_the_next_token_rounded_up() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    limiter.configure(0.25, 1)  # a token every 4 s
    assert limiter.take("k") is None
    assert limiter.take("k") == 4
    clock.now += 2.5
    assert limiter.take("k") == 2  # 1.5 s left
    clock.now += 1.5
    assert limiter.take("k") is None
    clock.now += 100
    assert [limiter.take("k") for _ in range(2)] == [None, 4]  # never more than the burst
    assert limiter.limited == 3


# ---- reset, settings and bad values -------------------------------------------------------------


@pytest.fixture(scope="module")
def limited() -> Iterator[Sandbox]:
    """A sandbox that starts with a strict limiter (and so comes back to it at every reset)."""
    with Sandbox(faults={"rate_limit_rps": 0.01, "rate_limit_burst": 1}) as server:
        yield server


def test_reset_refills_the_buckets_and_clears_the_counters(limited: Sandbox) -> None:
    with httpx.Client(base_url=limited.url, headers=_auth(limited.api_key)) as client:
        assert client.get("/v2/users").status_code == 200
        assert client.get("/v2/users").status_code == 429
        stats = limited.stats()
        assert stats["rate_limited"] == 1
        assert stats["connections_opened"] >= 1
        limited.reset()
        stats = limited.stats()
        assert (stats["rate_limited"], stats["connections_opened"]) == (0, 0)
        assert stats["connections_open"] >= 2  # this client's and the admin's stay open
        assert client.get("/v2/users").status_code == 200  # a full bucket again
        assert client.get("/v2/users").status_code == 429  # the starting limiter is back
    assert httpx.get(limited.url + "/_sandbox/faults").json()["rate_limit_burst"] == 1


def test_set_faults_takes_the_wan_profile(sandbox: Sandbox) -> None:
    profile = {
        "latency_ms": 80,
        "latency_jitter_ms": 5,
        "connect_latency_ms": 80,
        "rate_limit_rps": 300,
        "rate_limit_burst": 50,
    }
    shown = sandbox.set_faults(**profile)
    assert {k: shown[k] for k in profile} == profile
    assert isinstance(shown["rate_limit_burst"], int)
    assert sandbox.set_faults(rate_limit_burst=None)["rate_limit_burst"] is None


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"latency_jitter_ms": -1}, "latency_jitter_ms must be a finite number >= 0"),
        ({"connect_latency_ms": "80"}, "connect_latency_ms must be a finite number >= 0"),
        ({"rate_limit_rps": -5}, "rate_limit_rps must be a finite number >= 0"),
        ({"rate_limit_rps": True}, "rate_limit_rps must be a finite number >= 0"),
        ({"rate_limit_burst": 0}, "rate_limit_burst must be a whole number >= 1"),
        ({"rate_limit_burst": 2.5}, "rate_limit_burst must be a whole number >= 1"),
        ({"rate_limit_burst": "5"}, "rate_limit_burst must be a whole number >= 1"),
        ({"rate_limit_burst": False}, "rate_limit_burst must be a whole number >= 1"),
        ({"jitter_ms": 5}, "unknown fault(s) jitter_ms"),
    ],
)
def test_bad_wan_settings_get_400(
    sandbox: Sandbox, raw: httpx.Client, settings: dict[str, Any], reason: str
) -> None:
    sandbox.set_faults(latency_ms=1)
    answer = raw.post("/_sandbox/faults", json=settings)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_argument"
    assert reason in answer.json()["message"]
    assert raw.get("/_sandbox/faults").json()["latency_ms"] == 1.0  # unchanged


@pytest.mark.parametrize(
    "body",
    [
        b'{"latency_jitter_ms": NaN}',
        b'{"connect_latency_ms": Infinity}',
        b'{"rate_limit_rps": 1e999}',
    ],
)
def test_non_finite_wan_settings_get_400(raw: httpx.Client, body: bytes) -> None:
    assert raw.post("/_sandbox/faults", content=body).status_code == 400


def test_bad_starting_faults_are_refused_before_serving() -> None:
    with pytest.raises(SandboxError, match="rate_limit_burst must be a whole number >= 1"):
        Sandbox(faults={"rate_limit_burst": 0})
    with pytest.raises(SandboxError, match="unknown server 'nginx'"):
        Sandbox(server="nginx")  # type: ignore[arg-type]


# ---- the command line ---------------------------------------------------------------------------

CLI = str(Path(sys.executable).with_name("session-analytics"))
READY = re.compile(r"session-analytics sandbox ready at (https?://127\.0\.0\.1:\d+)")
WAN_ARGS = [
    "--latency-ms", "80", "--jitter-ms", "5", "--connect-latency-ms", "80",
    "--rate-limit", "300", "--rate-burst", "50",
]  # fmt: skip
WAN_FAULTS = {
    "latency_ms": 80.0,
    "latency_jitter_ms": 5.0,
    "connect_latency_ms": 80.0,
    "rate_limit_rps": 300.0,
    "rate_limit_burst": 50,
}


@contextlib.contextmanager
def _serving(
    command: list[str], timeout: float = 20.0
) -> Iterator[tuple[str, queue.Queue[str | None]]]:
    """Run a sandbox command; give its URL (once ready) and the lines it prints after that."""
    lines: queue.Queue[str | None] = queue.Queue()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        seen: list[str] = []
        try:
            deadline = time.monotonic() + timeout
            while (line := lines.get(timeout=max(0.01, deadline - time.monotonic()))) is not None:
                seen.append(line)
                if match := READY.fullmatch(line.rstrip("\n")):
                    yield match.group(1), lines
                    break
            else:
                raise AssertionError(f"no ready line: {seen}")
        finally:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize(
    "command",
    [[CLI, "sandbox"], [sys.executable, "-m", "session_analytics.sandbox"]],
    ids=["session-analytics", "python -m"],
)
def test_cli_flags_set_the_wan_profile_and_reset_keeps_it(command: list[str]) -> None:
    with _serving([*command, "--port", "0", *WAN_ARGS]) as (url, printed):
        faults = httpx.get(url + "/_sandbox/faults", timeout=10).json()
        assert {k: faults[k] for k in WAN_FAULTS} == WAN_FAULTS
        assert httpx.post(url + "/_sandbox/reset", timeout=10).status_code == 200
        faults = httpx.get(url + "/_sandbox/faults", timeout=10).json()
        assert {k: faults[k] for k in WAN_FAULTS} == WAN_FAULTS
        answer, took = _timed(lambda: httpx.get(url + "/v2/users", headers=_auth("k")))
        assert answer.status_code == 200
        assert took >= (80 - 5 + 80) / 1000 - EARLY_S  # a new connection, then the latency
    notes = [str(printed.get(timeout=10)) for _ in range(4)]
    assert notes[3] == (
        "  WAN profile: 80 ms latency ± 5 ms, 80 ms per new connection, "
        "300 requests/s per key and endpoint (burst 50)\n"
    )


def test_cli_rate_limit_applies() -> None:
    with _serving([CLI, "sandbox", "--port", "0", "--rate-limit", "0.01", "--rate-burst", "2"]) as (
        url,
        _,
    ):
        with httpx.Client(base_url=url, headers=_auth("k"), timeout=10) as client:
            statuses = [client.get("/v2/users").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--latency-ms", "-1", "argument --latency-ms: must be a number >= 0"),
        ("--jitter-ms", "lots", "argument --jitter-ms: not a number"),
        ("--connect-latency-ms", "nan", "argument --connect-latency-ms: must be a number >= 0"),
        ("--rate-limit", "-3", "argument --rate-limit: must be a number >= 0"),
        ("--rate-burst", "0", "argument --rate-burst: must be at least 1"),
        ("--rate-burst", "2.5", "argument --rate-burst: not a whole number"),
        ("--server", "nginx", "argument --server: invalid choice"),
    ],
)
def test_cli_refuses_bad_wan_flags(flag: str, value: str, message: str) -> None:
    done = subprocess.run(
        [CLI, "sandbox", "--port", "0", flag, value],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "ready" not in done.stdout


# ---- HTTP/2 through hypercorn -------------------------------------------------------------------


class TlsFiles(NamedTuple):
    cert: Path
    key: Path
    context: ssl.SSLContext


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "chain.pem", folder / "key.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    key.write_bytes(issued.private_key_pem.bytes())
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return TlsFiles(cert, key, context)


@pytest.fixture(scope="module")
def h2(tls: TlsFiles) -> Iterator[Sandbox]:
    with Sandbox(server="hypercorn", tls_cert=tls.cert, tls_key=tls.key, verify=tls.context) as sb:
        yield sb


@pytest.fixture
def h2_client(h2: Sandbox, tls: TlsFiles) -> Iterator[httpx.Client]:
    h2.reset()
    with httpx.Client(
        base_url=h2.url, http2=True, verify=tls.context, headers=_auth(h2.api_key), timeout=10
    ) as client:
        yield client


def test_hypercorn_serves_http2_over_tls(h2: Sandbox, h2_client: httpx.Client) -> None:
    assert h2.url.startswith("https://127.0.0.1:")
    created = h2_client.post("/v2/users", json={"uid": "over-h2"})
    assert (created.http_version, created.status_code) == ("HTTP/2", 200)
    listed = h2_client.get("/v2/users", params={"uid": "over-h2"})
    assert (listed.http_version, listed.json()["total_records"]) == ("HTTP/2", "1")
    assert h2.stats()["users"] == 1


def test_hypercorn_applies_latency_and_the_limiter(h2: Sandbox, h2_client: httpx.Client) -> None:
    h2.set_faults(latency_ms=150, latency_jitter_ms=50, rate_limit_rps=0.01, rate_limit_burst=1)
    answer, took = _timed(lambda: h2_client.get("/v2/users"))
    assert (answer.http_version, answer.status_code) == ("HTTP/2", 200)
    assert took >= 0.1 - EARLY_S
    refused, took = _timed(lambda: h2_client.get("/v2/users"))
    assert _retry_after(refused) == 100
    assert took >= 0.1 - EARLY_S  # a 429 makes the round trip too
    assert h2.stats()["rate_limited"] == 1


def test_hypercorn_counts_connections_by_client_address(
    h2: Sandbox, h2_client: httpx.Client, tls: TlsFiles
) -> None:
    h2.set_faults(connect_latency_ms=200)
    before = h2.stats()
    assert (before["connections_counted"], before["connections_open"]) == (
        "by client address",
        None,
    )
    first, took = _timed(lambda: h2_client.get("/v2/users"))
    assert first.status_code == 200
    assert took >= 0.2 - EARLY_S
    for _ in range(3):
        assert h2_client.get("/v2/users").status_code == 200
    assert h2.stats()["connections_opened"] - before["connections_opened"] == 1
    for _ in range(2):
        with httpx.Client(http2=True, verify=tls.context, headers=_auth(h2.api_key)) as fresh:
            started = time.monotonic()
            answer = fresh.get(h2.url + "/v2/users")
            took = time.monotonic() - started
            assert answer.status_code == 200
            assert took >= 0.2 - EARLY_S
    assert h2.stats()["connections_opened"] - before["connections_opened"] == 3
