"""Pre-fork servers: a client made in the parent before the fork and used in every child.

- The Flask integration app under real ``gunicorn --preload -w 3`` (sync and gthread workers):
  its client is made in the master, every worker tracks with its copy; after SIGTERM to the
  master every event arrives once, with its request's user, and the master exits.
- The ASGI middleware under gunicorn ``--preload`` with uvicorn workers, its client (a
  ``FullStory`` or an ``AsyncFullStory``) made in the master: the same, with async endpoints
  (and sync ones, run on the thread pool, for the ``FullStory``).
- A multiprocessing pool (fork start method) whose workers track with a client made in the
  parent, which had queued events of its own before the fork: after ``close()``/``join()`` and
  the parent's ``close()`` every event arrives once (none of the parent's copied into a child),
  with workers that live for the whole map or are replaced after each task.
- The Flask app under uWSGI (when the ``uwsgi`` program is installed; not a test dependency),
  which forks its workers from C: with and without ``--enable-threads`` every event arrives once,
  and without it the SDK warns once that its sender runs only during requests.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from integrations.real_servers import free_port, server_env, wait_delivered

from session_analytics.sandbox import Sandbox

REQUESTS = 120
DRIVERS = 6  # client threads: requests in parallel reach several workers


def drive(url: str, count: int, path: Callable[[int], str]) -> Counter[int]:
    """``count`` requests ``path(n)`` (which tracks ``prefork-<n>``) as user ``u<n>``, from
    DRIVERS threads; returns how many ``/whoami`` probes each worker process answered (every
    request must be answered 200 with its user)."""
    errors: list[str] = []
    workers: Counter[int] = Counter()

    def send(numbers: range) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            for number in numbers:
                response = http.get(path(number), headers={"X-User": f"u{number}"})
                if response.status_code != 200 or response.json() != {
                    "user": {"uid": f"u{number}"}
                }:
                    errors.append(f"{number}: {response.status_code} {response.text}")
            # a new connection per probe: with keep-alive one worker would answer them all
            for _ in range(3):
                with httpx.Client(base_url=url, timeout=30) as probe:
                    workers[probe.get("/whoami").json()["worker"]] += 1

    threads = [
        threading.Thread(target=send, args=(range(k, count, DRIVERS),)) for k in range(DRIVERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:10]
    return workers


def gunicorn(app: str, port: int, worker: list[str]) -> list[str]:
    return [sys.executable, "-m", "gunicorn", app, "--preload", "-w", "3", *worker,
            "-b", f"127.0.0.1:{port}", "--graceful-timeout", "60"]  # fmt: skip


def assert_each_once(sandbox: Sandbox, count: int, log: str) -> None:
    arrived = wait_delivered(sandbox, count)
    expected = Counter({(f"prefork-{n}", f"u{n}"): 1 for n in range(count)})
    missing = expected - arrived
    assert not missing, f"{len(missing)} lost, e.g. {list(missing)[:5]}\n{log}"
    assert arrived == expected, f"arrived more than once: {list(arrived - expected)[:5]}"


@pytest.mark.parametrize(
    "worker",
    [["-k", "sync"], ["-k", "gthread", "--threads", "4"]],
    ids=["sync", "gthread"],
)
def test_flask_under_gunicorn_preload_delivers_every_event_once(
    sandbox: Sandbox, real_server: Any, tmp_path: Path, worker: list[str]
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # HOLD_EVENTS=1: each worker sends nothing before its exit drain (at SIGTERM)
    server = real_server(gunicorn("prefork_flask_app:app", port, worker),
                         server_env(sandbox, HOLD_EVENTS="1"))  # fmt: skip
    server.wait_ready(url)
    made_in = httpx.get(f"{url}/whoami", timeout=30).json()["client_made_in"]
    workers = drive(url, REQUESTS, lambda n: f"/track/prefork-{n}")
    assert made_in not in workers, "the client was not made in the master (no preload?)"
    assert made_in == server.process.pid, server.text()
    assert sandbox.events("fullstory") == [], "events were sent before the drain"
    assert server.stop() == 0, server.text()
    assert_each_once(sandbox, REQUESTS, server.text())


@pytest.mark.parametrize("async_client", [False, True], ids=["FullStory", "AsyncFullStory"])
def test_asgi_under_gunicorn_preload_with_uvicorn_workers_delivers_every_event_once(
    sandbox: Sandbox, real_server: Any, async_client: bool
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env(sandbox, PREFORK_ASYNC_CLIENT="1" if async_client else "0")
    command = gunicorn("prefork_asgi_app:app", port, ["-k", "uvicorn.workers.UvicornWorker"])
    server = real_server(command, env)
    server.wait_ready(url)
    made_in = httpx.get(f"{url}/whoami", timeout=30).json()["client_made_in"]
    # an AsyncFullStory queues from coroutines only: its requests all go to async endpoints
    kinds = ("async", "async") if async_client else ("sync", "async")
    workers = drive(url, REQUESTS, lambda n: f"/{kinds[n % 2]}/prefork-{n}")
    assert made_in not in workers, "the client was not made in the master (no preload?)"
    assert made_in == server.process.pid, server.text()
    assert sandbox.events("fullstory") == [], "events were sent before the drain"
    assert server.stop() == 0, server.text()
    assert_each_once(sandbox, REQUESTS, server.text())


POOL_SCRIPT = """
import multiprocessing, sys
from session_analytics import fullstory

url, key, per_child, tasks = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
held = fullstory.BatchingOptions(flush_interval=3600)  # sent only by a drain
client = fullstory.FullStory(api_key=key, base_url=url, batching=held)
for n in range(10):  # queued in the parent before the fork: each child inherits the queue
    client.events.track(f"parent-{n}", user={"uid": f"p{n}"})


def work(n):
    client.events.track(f"prefork-{n}", user={"uid": f"u{n}"})
    return n


if __name__ == "__main__":
    context = multiprocessing.get_context("fork")
    maxtasks = None if per_child == "all" else 1
    with context.Pool(3, maxtasksperchild=maxtasks) as pool:
        assert sorted(pool.map(work, range(tasks), chunksize=1)) == list(range(tasks))
        pool.close()
        pool.join()
    client.close()
    print("done", flush=True)
"""


@pytest.mark.parametrize("per_child", ["all", "one"], ids=["long-lived", "maxtasksperchild-1"])
def test_a_fork_pool_using_the_parents_client_delivers_every_event_once(
    sandbox: Sandbox, per_child: str
) -> None:
    tasks = 60
    command = [sys.executable, "-c", POOL_SCRIPT, sandbox.url, sandbox.api_key, per_child,
               str(tasks)]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired as expired:  # run() killed it
        pytest.fail(f"the pool hung: {expired.stderr!r}")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n", done.stderr
    expected = Counter({(f"prefork-{n}", f"u{n}"): 1 for n in range(tasks)})
    expected.update({(f"parent-{n}", f"p{n}"): 1 for n in range(10)})
    arrived = wait_delivered(sandbox, tasks + 10)
    missing = expected - arrived
    assert not missing, f"{len(missing)} lost, e.g. {list(missing)[:5]}\n{done.stderr}"
    assert arrived == expected, f"arrived more than once: {list(arrived - expected)[:5]}"


UWSGI = Path(sys.executable).parent / "uwsgi"  # installed by the dev tools (make setup)


@pytest.mark.parametrize("threads", [False, True], ids=["threads-off", "enable-threads"])
def test_flask_under_uwsgi_delivers_every_event_once(
    sandbox: Sandbox, real_server: Any, threads: bool
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(UWSGI), "--http-socket", f"127.0.0.1:{port}", "--module",
               "prefork_flask_app:app", "--master", "-p", "3", "--die-on-term",
               *(["--enable-threads"] if threads else [])]  # fmt: skip
    server = real_server(command, server_env(sandbox, HOLD_EVENTS="1"))
    server.wait_ready(url)
    made_in = httpx.get(f"{url}/whoami", timeout=30).json()["client_made_in"]
    # uWSGI's HTTP socket closes each connection: one client per request
    for number in range(REQUESTS):
        response = httpx.get(f"{url}/track/prefork-{number}",
                             headers={"X-User": f"u{number}"}, timeout=30)  # fmt: skip
        assert response.json() == {"user": {"uid": f"u{number}"}}, response.text
    assert made_in == server.process.pid, server.text()
    assert server.stop() == 0, server.text()
    assert_each_once(sandbox, REQUESTS, server.text())
    warnings = server.log.read_text().count("uWSGI runs without --enable-threads")
    assert warnings == (0 if threads else 1), server.text()
