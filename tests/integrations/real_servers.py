"""Helpers for the web integration tests: run a real server process (uvicorn, flask run, Django's
runserver) on a free port against the sandbox, send it requests, stop it with SIGTERM, and count
what arrived.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import wait_until

from session_analytics.sandbox import Sandbox

APPS = Path(__file__).parent.parent / "apps"
EXIT_DEADLINE_S = 90.0  # a server that has not ended by then hangs: killed, the test fails


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RealServer:
    """One server process: started with the sandbox's settings in its environment."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=APPS
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_ready(self, url: str) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"the server ended at start ({self.process.returncode}): {self.text()}")
            try:
                return httpx.get(f"{url}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, timeout=60, interval=0.1, what="the server to answer /health")

    def stop(self) -> int:
        """SIGTERM, then the exit code (the process must end by itself)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(EXIT_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            pytest.fail(f"the server did not end within {EXIT_DEADLINE_S} s: {self.text()}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def real_server(tmp_path: Path) -> Iterator[Any]:
    """``real_server(command, env)`` starts a server; any left running is killed at the end."""
    started: list[RealServer] = []

    def start(command: list[str], env: dict[str, str]) -> RealServer:
        server = RealServer(command, env, tmp_path / f"server-{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


def server_env(sandbox: Sandbox, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FULLSTORY_API_KEY=sandbox.api_key,
        FULLSTORY_BASE_URL=sandbox.url,
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def send_requests(url: str, paths: list[str]) -> None:
    """Each path once, in order; each must be answered 200."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code, response.text)


def delivered(sandbox: Sandbox) -> Counter[tuple[str, str | None]]:
    """How many times each (event name, user uid) arrived at the sandbox."""
    return Counter(
        (event["name"], (event.get("user") or {}).get("uid"))
        for event in sandbox.events("fullstory")
    )


def wait_delivered(sandbox: Sandbox, count: int) -> Counter[tuple[str, str | None]]:
    wait_until(
        lambda: len(sandbox.events("fullstory")) >= count,
        timeout=60,
        what=f"{count} events at the sandbox",
    )
    return delivered(sandbox)
