"""Nothing queued is lost when the process stops, whatever stops it.

- A Starlette app run by uvicorn, and by gunicorn (``-w 4 --preload``, uvicorn workers), takes
  3,000 requests that each track a FullStory and a Smartlook event, then gets SIGTERM (or SIGINT):
  every event arrives at the sandbox, once, although uvicorn ends the process by raising the
  signal again after its graceful shutdown (the exit guard drains first); with sync endpoints too,
  whose events are queued from the thread pool only. With the lifespan
  pattern (the app closes its clients) the same holds, and the process ends as the host intends.
- A plain script killed by SIGTERM drains, then dies by SIGTERM.
- Ctrl-C (a real SIGINT) in the middle of ``close()``/``stop()`` against a slow sandbox: every
  event is delivered or handed to ``on_error``, none twice; the exit hook finished the close.
- A cancelled ``aclose()``/``stop()`` goes on until its deadline, or, when the event loop ends,
  hands what is left to ``on_error``; no connection is left open.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from session_analytics import fullstory
from session_analytics.fullstory import AsyncFullStory
from session_analytics.sandbox import Sandbox
from session_analytics.smartlook import AsyncSmartlook, BatchingOptions

pytestmark = pytest.mark.slow

APPS = Path(__file__).parent / "apps"
REQUESTS = 3_000
DRIVERS = 8  # client threads sending the requests
EXIT_DEADLINE_S = 90.0  # a process that has not ended by then hangs: killed, the test fails


# ---- helpers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def app_env(sandbox: Sandbox, failed: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FULLSTORY_API_KEY=sandbox.api_key,
        FULLSTORY_BASE_URL=sandbox.url,
        SMARTLOOK_KEY=sandbox.smartlook_key,
        SMARTLOOK_HOST=sandbox.url,
        SHUTDOWN_APP_FAILED=str(failed),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    env.pop("SMARTLOOK_FLUSH_INTERVAL_MILLIS", None)
    return env


def wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server ended at start ({server.returncode}): {log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not start: {log.read_text()}")


def drive(url: str, count: int) -> None:
    """``count`` requests from DRIVERS threads; each must be answered 200 (tracked and queued)."""
    errors: list[str] = []

    def send(numbers: range) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for number in numbers:
                response = client.get(f"/track/{number}")
                if response.status_code != 200:
                    errors.append(f"{number}: {response.status_code} {response.text}")

    threads = [
        threading.Thread(target=send, args=(range(k, count, DRIVERS),)) for k in range(DRIVERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:10]


def wait_exit(process: subprocess.Popen[bytes], log: Path) -> int:
    try:
        return process.wait(EXIT_DEADLINE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        pytest.fail(f"the process did not end within {EXIT_DEADLINE_S} s: {log.read_text()}")


def failed_numbers(failed: Path) -> list[tuple[str, int]]:
    if not failed.exists():
        return []
    return [(r["api"], r["i"]) for r in map(json.loads, failed.read_text().splitlines())]


def arrived(sandbox: Sandbox, api: str, name: str) -> Counter[int]:
    field = "properties" if api == "fullstory" else "props"
    return Counter(e[field]["i"] for e in sandbox.events(api, name=name))


def assert_all_arrived_once(sandbox: Sandbox, failed: Path, count: int, log: Path) -> None:
    assert failed_numbers(failed) == [], log.read_text()[-3000:]
    for api in ("fullstory", "smartlook"):
        numbers = arrived(sandbox, api, "request")
        missing = sorted(set(range(count)) - set(numbers))
        assert not missing, (
            f"{api}: {len(missing)} lost, e.g. {missing[:10]}\n{log.read_text()[-3000:]}"
        )
        twice = {n: c for n, c in numbers.items() if c > 1}
        assert not twice, f"{api}: arrived more than once: {list(twice.items())[:10]}"


@pytest.fixture
def server_log(tmp_path: Path) -> Path:
    return tmp_path / "server.log"


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=APPS)


def uvicorn_command(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "shutdown_app:app", "--port", str(port),
            "--no-access-log"]  # fmt: skip


def gunicorn_command(port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "shutdown_app:app", "-w", "4", "--preload",
            "-k", "uvicorn.workers.UvicornWorker", "-b", f"127.0.0.1:{port}",
            "--graceful-timeout", "60"]  # fmt: skip


# ---- servers: 3,000 requests, then a signal ----------------------------------------------------


@pytest.mark.parametrize(
    ("server", "sig", "lifespan", "expected_code"),
    [
        # uvicorn raises the signal again after its shutdown: the process dies by it.
        ("uvicorn", signal.SIGTERM, False, -signal.SIGTERM),
        ("uvicorn", signal.SIGINT, False, 0),
        ("uvicorn", signal.SIGTERM, True, -signal.SIGTERM),
        # The master waits for its workers, which die by the signal, and exits 0.
        ("gunicorn", signal.SIGTERM, False, 0),
        ("gunicorn", signal.SIGTERM, True, 0),
    ],
    ids=[
        "uvicorn-sigterm",
        "uvicorn-sigint",
        "uvicorn-sigterm-lifespan",
        "gunicorn-sigterm",
        "gunicorn-sigterm-lifespan",
    ],
)
def test_a_server_stopped_by_a_signal_loses_no_event(
    sandbox: Sandbox,
    tmp_path: Path,
    server_log: Path,
    server: str,
    sig: signal.Signals,
    lifespan: bool,
    expected_code: int,
) -> None:
    port = free_port()
    failed = tmp_path / "failed.jsonl"
    env = app_env(sandbox, failed, SHUTDOWN_APP_LIFESPAN="1" if lifespan else "0")
    command = uvicorn_command(port) if server == "uvicorn" else gunicorn_command(port)
    process = start(command, env, server_log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process, server_log)
        drive(url, REQUESTS)
        process.send_signal(sig)
        code = wait_exit(process, server_log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
    assert code == expected_code, server_log.read_text()[-3000:]
    assert_all_arrived_once(sandbox, failed, REQUESTS, server_log)


def test_gunicorn_with_sync_endpoints_stopped_by_sigterm_loses_no_event(
    sandbox: Sandbox, tmp_path: Path, server_log: Path
) -> None:
    """Sync endpoints run in the thread pool: no event is queued on a worker's main thread, and
    uvicorn's handler replaced everything the client put in place before the fork. The guard is
    still there when SIGTERM comes: every event arrives, and the master exits 0."""
    port = free_port()
    failed = tmp_path / "failed.jsonl"
    env = app_env(sandbox, failed, SHUTDOWN_APP_LIFESPAN="0", SHUTDOWN_APP_SYNC="1")
    process = start(gunicorn_command(port), env, server_log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process, server_log)
        drive(url, REQUESTS)
        process.send_signal(signal.SIGTERM)
        code = wait_exit(process, server_log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0, server_log.read_text()[-3000:]
    assert_all_arrived_once(sandbox, failed, REQUESTS, server_log)


SCRIPT_KILLED_BY_SIGTERM = """
import sys, time
from session_analytics import smartlook

smartlook.init(sys.argv[2], host=sys.argv[1], flush_interval_millis=60_000)
for i in range(500):
    smartlook.event(vid="v", name="killed", props={"i": i})
print("queued", flush=True)
time.sleep(60)
"""


def test_a_script_killed_by_sigterm_drains_then_dies_by_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    log = tmp_path / "script.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SCRIPT_KILLED_BY_SIGTERM, sandbox.url, sandbox.smartlook_key],
            stdout=subprocess.PIPE,
            stderr=out,
        )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"queued\n", log.read_text()
        process.send_signal(signal.SIGTERM)
        code = wait_exit(process, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
    assert code == -signal.SIGTERM
    numbers = arrived(sandbox, "smartlook", "killed")
    assert sorted(numbers) == list(range(500)), log.read_text()
    assert set(numbers.values()) == {1}


# ---- Ctrl-C in the middle of close() -----------------------------------------------------------

INTERRUPTED_CLOSE = """
import json, sys
from session_analytics import fullstory, smartlook

url, fs_key, sl_key, which, failed_path = sys.argv[1:6]
failed = open(failed_path, "a")


def on_error(events, error):
    for event in events:
        number = (event.get("properties") or event.get("props"))["i"]
        failed.write(json.dumps(number) + "\\n")
    failed.flush()


if which == "fullstory":
    options = fullstory.BatchingOptions(
        flush_at=1, max_batch_events=1, flush_interval=0.5, concurrency=4, min_concurrency=4,
        on_error=on_error, shutdown_timeout=1.0,
    )
    client = fullstory.init(api_key=fs_key, base_url=url, batching=options)
    for i in range(500):
        client.events.track("slow", user={"uid": "u"}, properties={"i": i})
    print("closing", flush=True)
    client.close(timeout=120)
else:
    options = smartlook.BatchingOptions(
        flush_at=10, max_batch_events=10, flush_interval=0.5, concurrency=1, min_concurrency=1,
        on_error=on_error, shutdown_timeout=1.0,
    )
    smartlook.init(sl_key, host=url, batching=options)
    for i in range(500):
        smartlook.event(vid="v", name="slow", props={"i": i})
    print("closing", flush=True)
    smartlook.stop(timeout=120)
print("closed", flush=True)
"""


@pytest.mark.parametrize(("which", "in_flight"), [("fullstory", 4), ("smartlook", 10)])
def test_ctrl_c_during_close_loses_nothing(
    sandbox: Sandbox, tmp_path: Path, which: str, in_flight: int
) -> None:
    """A real SIGINT while ``close()`` waits on a slow sandbox: close() raises
    KeyboardInterrupt, the exit hook finishes it (one more second), and every event is
    delivered or handed to ``on_error``; only those in flight at that deadline may be both."""
    api = "fullstory" if which == "fullstory" else "smartlook"
    sandbox.set_faults(latency_ms=200)
    failed = tmp_path / "failed.jsonl"
    log = tmp_path / "child.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-W", "always::ResourceWarning", "-c", INTERRUPTED_CLOSE,
             sandbox.url, sandbox.api_key, sandbox.smartlook_key, which, str(failed)],
            stdout=subprocess.PIPE, stderr=err,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"closing\n", log.read_text()
        time.sleep(1.0)  # inside close(), waiting for the slow answers
        process.send_signal(signal.SIGINT)
        code = wait_exit(process, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
    stderr = log.read_text()
    assert "KeyboardInterrupt" in stderr, f"the interrupt did not land in close(): {stderr}"
    assert code != 0
    assert "ResourceWarning" not in stderr, stderr
    delivered = arrived(sandbox, api, "slow")
    reported = Counter(json.loads(line) for line in failed.read_text().splitlines())
    lost = set(range(500)) - set(delivered) - set(reported)
    assert not lost, f"{len(lost)} neither delivered nor reported: {stderr}"
    assert delivered, "nothing was delivered before the interrupt: the test proves nothing"
    assert reported, "everything was delivered: the interrupt came too late to prove anything"
    assert set(delivered.values()) == {1}
    assert set(reported.values()) == {1}
    assert len(set(delivered) & set(reported)) <= in_flight


# ---- a cancelled aclose() ---------------------------------------------------------------------


class Failures:
    def __init__(self) -> None:
        self.numbers: Counter[int] = Counter()

    def __call__(self, events: list[dict[str, Any]], error: BaseException) -> None:
        for event in events:
            self.numbers[(event.get("properties") or event.get("props"))["i"]] += 1


def make_async_client(which: str, sandbox: Sandbox, failures: Failures) -> Any:
    if which == "fullstory":
        options = fullstory.BatchingOptions(
            flush_at=1, max_batch_events=1, flush_interval=0.5, concurrency=4,
            min_concurrency=4, on_error=failures,
        )  # fmt: skip
        return AsyncFullStory(api_key=sandbox.api_key, base_url=sandbox.url, batching=options)
    options = BatchingOptions(
        flush_at=10, max_batch_events=10, flush_interval=0.5, concurrency=1, min_concurrency=1,
        on_error=failures,
    )  # fmt: skip
    return AsyncSmartlook(sandbox.smartlook_key, host=sandbox.url, batching=options)


def queue(client: Any, which: str, count: int) -> None:
    for i in range(count):
        if which == "fullstory":
            assert client.events.track("cancelled", user={"uid": "u"}, properties={"i": i})
        else:
            assert client.event("v", "cancelled", props={"i": i})


async def close(client: Any, timeout: float) -> Any:
    return await (client.aclose(timeout) if hasattr(client, "aclose") else client.stop(timeout))


@pytest.mark.parametrize("which", ["fullstory", "smartlook"])
@pytest.mark.parametrize("loop_goes_on", [True, False], ids=["loop-goes-on", "loop-ends"])
def test_a_cancelled_close_loses_nothing_and_leaves_no_connection_open(
    sandbox: Sandbox, which: str, loop_goes_on: bool
) -> None:
    count = 200
    api = "fullstory" if which == "fullstory" else "smartlook"
    in_flight = 4 if which == "fullstory" else 10
    sandbox.set_faults(latency_ms=100)
    failures = Failures()

    async def main() -> None:
        client = make_async_client(which, sandbox, failures)
        queue(client, which, count)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(close(client, 120), 0.5)
        if loop_goes_on:
            # The close goes on by itself; a second call waits for the same one.
            result = await close(client, 120)
            assert result.pending == 0
        # else: asyncio.run() ends here, cancelling the close that goes on.

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]
    delivered = arrived(sandbox, api, "cancelled")
    lost = set(range(count)) - set(delivered) - set(failures.numbers)
    assert not lost, f"{len(lost)} neither delivered nor handed to on_error"
    assert set(delivered.values()) <= {1}
    assert set(failures.numbers.values()) <= {1}
    if loop_goes_on:
        assert not failures.numbers
    else:
        assert failures.numbers, "the loop ended after everything was delivered: proves nothing"
        assert len(set(delivered) & set(failures.numbers)) <= in_flight


def test_the_exit_hook_finishes_a_close_interrupted_in_process() -> None:
    """The same without a server: a stop() interrupted by KeyboardInterrupt leaves a batcher that
    the exit hook still drains (the sender prints what it delivered)."""
    code = textwrap.dedent(
        """
        import threading, _thread
        from session_analytics._batching import Batcher, BatchingOptions, Delivered

        gate = threading.Event()

        class Slow:
            name = "slow"
            deduplicates = False

            def send(self, batch):
                gate.wait(5)
                for payload, _, _ in batch:
                    print("sent", payload.decode(), flush=True)
                return Delivered()

        options = BatchingOptions(flush_at=1, max_batch_events=1, shutdown_timeout=5)
        batcher = Batcher(Slow(), options)
        for i in range(20):
            batcher.enqueue(b'{"i": %d}' % i, None)
        threading.Timer(0.3, _thread.interrupt_main).start()
        try:
            batcher.stop(timeout=60)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        gate.set()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "interrupted", done.stderr
    sent = sorted(json.loads(line.split(" ", 1)[1])["i"] for line in lines[1:])
    assert sent == list(range(20)), done.stderr
