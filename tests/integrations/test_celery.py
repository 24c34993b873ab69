"""The Celery integration with a real worker (kombu's filesystem transport: no broker server),
stopped by SIGTERM: each task's event is for the user of the producer that sent it, events
tracked in prefork children (or the solo pool) are delivered once, and the shutdown drain
delivers what the batcher still held.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apps.celery_app import TASK_NAME, make_app
from celery import Celery
from celery.contrib.testing.worker import start_worker as worker_thread
from integrations.real_servers import APPS, server_env
from support import wait_until

from session_analytics import fullstory
from session_analytics.integrations import celery as session_analytics
from session_analytics.sandbox import Sandbox

TASKS = 6
EXIT_DEADLINE_S = 90.0  # a worker that has not ended by then hangs: killed, the test fails


class Worker:
    """One ``celery worker`` process of tests/apps/celery_app.py."""

    def __init__(self, pool: str, env: dict[str, str], log: Path, options: list[str]) -> None:
        self.log = log
        command = [sys.executable, "-m", "celery", "-A", "celery_app", "worker", *options]
        command += [f"--pool={pool}", "--loglevel=INFO"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        if pool == "prefork":
            command.append("--concurrency=2")
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=APPS
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_succeeded(self, count: int) -> None:
        def done() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"the worker ended ({self.process.returncode}): {self.text()[-4000:]}")
            return self.text().count("] succeeded in") >= count

        wait_until(done, timeout=90, interval=0.1, what=f"{count} tasks to succeed")

    def stop(self) -> int:
        """SIGTERM (a warm shutdown), then the exit code (the worker must end by itself)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(EXIT_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the worker did not end within {EXIT_DEADLINE_S} s: {self.text()}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def broker_dir(tmp_path: Path) -> Path:
    (tmp_path / "messages").mkdir()
    return tmp_path


@pytest.fixture
def producer(broker_dir: Path) -> Iterator[Celery]:
    app = make_app(broker_dir)
    yield app
    app.close()


@pytest.fixture
def start_worker(sandbox: Sandbox, broker_dir: Path) -> Iterator[Any]:
    """``start_worker(pool, *options, **env)`` starts a worker; any left running is killed at
    the end."""
    started: list[Worker] = []

    def start(pool: str, *options: str, **extra: str) -> Worker:
        env = server_env(sandbox, CELERY_BROKER_DIR=str(broker_dir), **extra)
        env["PYTHONPATH"] = os.pathsep.join([str(APPS), env.get("PYTHONPATH", "")])
        worker = Worker(pool, env, broker_dir / f"worker-{len(started)}.log", list(options))
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


def send_invoices(producer: Celery) -> None:
    """One task per user, each sent while its user is the producer's current user."""
    for number in range(TASKS):
        with fullstory.identify(uid=f"user-{number}"):
            producer.tasks[TASK_NAME].delay(f"inv-{number}")
    assert fullstory.current_user() is None


def delivered(sandbox: Sandbox) -> list[tuple[str | None, str, int]]:
    """(user uid, invoice id, pid of the process that tracked it) of each event received."""
    return sorted(
        (
            (event.get("user") or {}).get("uid"),
            event["properties"]["invoice_id"],
            event["properties"]["pid"],
        )
        for event in sandbox.events("fullstory")
        if event["name"] == "Invoice Sent"
    )


def test_the_producer_puts_its_user_in_the_task_headers(producer: Celery, broker_dir: Path) -> None:
    with fullstory.identify(uid="ann"):
        producer.tasks[TASK_NAME].delay("inv-ann")
    producer.tasks[TASK_NAME].delay("inv-nobody")
    producer.tasks[TASK_NAME].apply_async(
        ("inv-given",), headers={session_analytics.USER_HEADER: {"uid": "given"}}
    )
    messages = [json.loads(path.read_text()) for path in (broker_dir / "messages").iterdir()]
    users = {
        message["headers"]["argsrepr"]: message["headers"][session_analytics.USER_HEADER]
        for message in messages
    }
    assert users == {
        "('inv-ann',)": {"uid": "ann"},
        "('inv-nobody',)": None,
        "('inv-given',)": {"uid": "given"},
    }


@pytest.mark.parametrize(
    ("pool", "hold", "before_fork"),
    [
        ("prefork", False, False),
        ("prefork", True, False),
        ("prefork", True, True),
        ("solo", True, False),
    ],
    ids=[
        "prefork",
        "prefork-held-until-shutdown",
        "prefork-client-made-before-fork",
        "solo-held-until-shutdown",
    ],
)
def test_a_real_worker_tracks_for_the_producer_user_and_delivers_each_event_once(
    sandbox: Sandbox,
    producer: Celery,
    start_worker: Any,
    pool: str,
    hold: bool,
    before_fork: bool,
) -> None:
    send_invoices(producer)
    worker = start_worker(
        pool, HOLD_EVENTS="1" if hold else "0", CLIENT_BEFORE_FORK="1" if before_fork else "0"
    )
    worker.wait_succeeded(TASKS)
    if hold:  # nothing is sent before the drain: what arrives below, the shutdown delivered
        assert delivered(sandbox) == []
    assert worker.stop() == 0
    events = wait_until(
        lambda: len(delivered(sandbox)) >= TASKS and delivered(sandbox),
        timeout=60,
        what=f"{TASKS} events at the sandbox",
    )
    assert [(uid, invoice) for uid, invoice, _ in events] == [
        (f"user-{number}", f"inv-{number}") for number in range(TASKS)
    ]
    pids = {pid for _, _, pid in events}
    if pool == "prefork":  # tracked in the forked pool children, not the worker's main process
        assert worker.process.pid not in pids
    else:
        assert pids == {worker.process.pid}
    assert "not delivered" not in worker.text()


def test_a_pool_child_replaced_after_its_tasks_delivers_them_as_it_ends(
    sandbox: Sandbox, producer: Celery, start_worker: Any
) -> None:
    # Each child runs one task and is replaced: its held event is sent by its own drain, while
    # the worker goes on; each child's client is its own.
    send_invoices(producer)
    worker = start_worker("prefork", "--max-tasks-per-child=1", HOLD_EVENTS="1")
    worker.wait_succeeded(TASKS)
    events = wait_until(
        lambda: len(delivered(sandbox)) >= TASKS and delivered(sandbox),
        timeout=60,
        what=f"{TASKS} events at the sandbox before the worker stops",
    )
    assert worker.stop() == 0
    assert delivered(sandbox) == events
    assert [(uid, invoice) for uid, invoice, _ in events] == [
        (f"user-{number}", f"inv-{number}") for number in range(TASKS)
    ]
    assert len({pid for _, _, pid in events}) == TASKS


def test_without_the_integration_the_worker_tracks_for_nobody(
    sandbox: Sandbox, producer: Celery, start_worker: Any
) -> None:
    # The producer still sends the header; the worker, without setup(), does not read it.
    send_invoices(producer)
    worker = start_worker("solo", SESSION_ANALYTICS_SETUP="0")
    worker.wait_succeeded(TASKS)
    events = wait_until(
        lambda: len(delivered(sandbox)) >= TASKS and delivered(sandbox),
        timeout=60,
        what=f"{TASKS} events at the sandbox",
    )
    assert worker.stop() == 0
    assert {uid for uid, _, _ in events} == {None}


def test_a_bad_user_header_runs_the_task_for_nobody_and_says_so(
    sandbox: Sandbox,
    producer: Celery,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("FULLSTORY_API_KEY", sandbox.api_key)  # the client the task makes
    monkeypatch.setenv("FULLSTORY_BASE_URL", sandbox.url)
    bad = {session_analytics.USER_HEADER: {"uid": ""}}
    producer.tasks[TASK_NAME].apply_async(("inv-bad",), headers=bad)
    # The worker's logging setup takes over the root logger: the warning is caught at its own
    # logger, and the worker's level lets warnings through.
    integration_logger = logging.getLogger("session_analytics.integrations")
    integration_logger.addHandler(caplog.handler)
    root = logging.getLogger()
    root_handlers, root_level = list(root.handlers), root.level
    try:
        with worker_thread(producer, pool="solo", loglevel="WARNING", perform_ping_check=False):
            wait_until(lambda: "bad session_analytics_user" in caplog.text, timeout=60)
    finally:
        integration_logger.removeHandler(caplog.handler)
        root.handlers[:], root.level = root_handlers, root_level
        assert session_analytics.close(timeout=30)
    assert delivered(sandbox) == [(None, "inv-bad", os.getpid())]
    assert "carries a bad session_analytics_user header" in caplog.text


def test_an_eager_task_runs_for_the_caller_user(
    sandbox: Sandbox, producer: Celery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # task_always_eager (tests, scripts): the task runs in the caller's own context.
    monkeypatch.setenv("FULLSTORY_API_KEY", sandbox.api_key)
    monkeypatch.setenv("FULLSTORY_BASE_URL", sandbox.url)
    producer.conf.task_always_eager = True
    try:
        with fullstory.identify(uid="eve"):
            producer.tasks[TASK_NAME].delay("inv-eager")
            assert fullstory.current_user() == {"uid": "eve"}
    finally:
        assert session_analytics.close(timeout=30)
    assert delivered(sandbox) == [("eve", "inv-eager", os.getpid())]
