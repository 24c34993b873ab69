"""Every code sample in README.md runs, against a sandbox standing in for both APIs.

Python samples run section by section (the samples of one ``##`` section share their names, as
a reader would type them one after the other) with FULLSTORY_* and SMARTLOOK_* pointing at the
sandbox; a sample marked ``<!-- readme-test: pytest file -->`` is a test file and runs under
pytest. The ``session-analytics`` and ``python -m`` lines of the shell samples run too (a sandbox
command is started, seen ready, and stopped; its port is taken free). ``pip install`` and
``make`` lines are covered elsewhere: tests/test_packaging.py installs the package,
tests/test_examples.py runs what ``make demo`` runs, and CI runs ``make check``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from session_analytics import smartlook
from session_analytics.fullstory import FullStory
from session_analytics.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI = Path(sys.executable).parent / "session-analytics"
PYTEST_MARK = "<!-- readme-test: pytest file -->"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def sections() -> dict[str, list[tuple[str, str, bool]]]:
    """## title -> [(language, code, is a pytest file)], in README order."""
    found: dict[str, list[tuple[str, str, bool]]] = {}
    for part in re.split(r"^## ", README, flags=re.MULTILINE)[1:]:
        title = part.splitlines()[0].strip()
        blocks = []
        for match in FENCE.finditer(part):
            before = part[: match.start()].rstrip().splitlines()
            marked = bool(before) and before[-1].strip() == PYTEST_MARK
            blocks.append((match.group(1), match.group(2), marked))
        if blocks:
            found[title] = blocks
    return found


SECTIONS = sections()
PYTHON_SECTIONS = [t for t, blocks in SECTIONS.items() if any(b[0] == "python" for b in blocks)]
SHELL_SECTIONS = [t for t, blocks in SECTIONS.items() if any(b[0] == "bash" for b in blocks)]


@pytest.fixture(scope="module")
def api() -> Iterator[Sandbox]:
    with Sandbox(job_delay=0.2) as sandbox:
        yield sandbox


@pytest.fixture
def env(api: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    api.reset()
    values = {
        "FULLSTORY_API_KEY": "readme-key",
        "FULLSTORY_BASE_URL": api.url,
        "SMARTLOOK_KEY": "readme-project-key",
        "SMARTLOOK_HOST": api.url,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    # The files the samples read.
    users = [f'{{"uid": "u{i}", "email": "ann@example.com"}}' for i in range(3)]
    (tmp_path / "users.ndjson").write_text("\n".join(users) + "\n", encoding="utf-8")
    (tmp_path / "events.csv").write_text(
        "name,user.uid,properties.plan,properties.seats:int\nSigned Up,u1,pro,3\n",
        encoding="utf-8",
    )
    return dict(os.environ)


def test_the_readme_has_samples_to_run() -> None:
    assert {"Quickstart", "FullStory", "Smartlook"} <= set(PYTHON_SECTIONS)
    assert sum(len(blocks) for blocks in SECTIONS.values()) >= 20
    assert any(marked for blocks in SECTIONS.values() for _, _, marked in blocks)


@pytest.mark.parametrize("title", PYTHON_SECTIONS)
def test_python_samples_run(title: str, env: dict[str, str], tmp_path: Path) -> None:
    namespace: dict[str, object] = {"__name__": f"readme_{title}"}
    for index, (language, code, marked) in enumerate(SECTIONS[title]):
        if language != "python":
            continue
        if marked:
            test_file = tmp_path / f"test_readme_sample_{index}.py"
            test_file.write_text(code, encoding="utf-8")
            result = subprocess.run(
                [sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider"],
                capture_output=True,
                text=True,
                timeout=120,
                env=env,
                check=False,
            )
            assert result.returncode == 0, result.stdout + result.stderr
            continue
        exec(compile(code, f"README.md ({title}, sample {index})", "exec"), namespace)  # noqa: S102
    for value in list(namespace.values()):  # what the samples left open
        if isinstance(value, FullStory):
            value.close()
    smartlook.stop()


def shell_commands(title: str) -> list[str]:
    commands = []
    for language, code, _ in SECTIONS[title]:
        if language != "bash":
            continue
        for line in code.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command.startswith(("session-analytics", "python -m")):
                commands.append(command)
    return commands


# The "Command line" samples import files and start a sandbox: the one slow section.
@pytest.mark.parametrize(
    "title",
    [
        pytest.param(title, marks=pytest.mark.slow) if title == "Command line" else title
        for title in SHELL_SECTIONS
    ],
)
def test_shell_samples_run(title: str, env: dict[str, str]) -> None:
    for command in shell_commands(title):
        argv = shlex.split(command)
        argv[0] = str(CLI) if argv[0] == "session-analytics" else sys.executable
        serves = argv[1:2] == ["sandbox"] or argv[2:3] == ["session_analytics.sandbox"]
        if serves and "--help" not in argv:
            run_sandbox_briefly(argv, env)
            continue
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=120, env=env, check=False
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"


def run_sandbox_briefly(argv: list[str], env: dict[str, str]) -> None:
    """Start a sandbox command (on a free port), see it ready, stop it."""
    if "--port" in argv:
        argv[argv.index("--port") + 1] = "0"
    else:
        argv += ["--port", "0"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline and "ready at" not in line:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
        assert "ready at" in line, f"{' '.join(argv)} did not start"
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
