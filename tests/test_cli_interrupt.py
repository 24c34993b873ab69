"""Ctrl-C during an import, then the printed instructions followed: each item exactly once.

The real command runs as a subprocess against the sandbox, with latency so that job creates are
in flight; SIGINT lands at many points (a create in flight, lines being read, jobs being
polled). The test then does what the command said (import the failed file, then the input from
``--from-line N``; or run the same command again when nothing was sent) and counts in the
sandbox: every event once, every line that is not JSON in exactly one failed file.

The library's own stop (``import_stopped``) is checked the same way: ``resume_items()`` resends
a chunk that may be in a job with its Idempotency-Key, so it is not imported twice.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import EXE, cli, sandbox_env

from session_analytics.cli import main
from session_analytics.fullstory import BatchJobOptions, FullStory
from session_analytics.fullstory import _flow as flow_module
from session_analytics.sandbox import Sandbox

TIMEOUT_S = 120.0
EVENTS = 3000
BAD_EVERY = 400  # every 400th line is not JSON
FAST = BatchJobOptions(poll_interval=0.02)
RUN = ("--chunk-size", "200", "--jobs-in-flight", "2", "--poll-interval", "0.05", "--no-progress")


def events_file(path: Path, count: int = EVENTS) -> tuple[Path, set[str]]:
    """``count`` events named <tag>e0, <tag>e1, ... (the tag is the test's own: a create still
    on its way from the previous test's killed command may land after the sandbox's reset);
    some lines between them are not JSON (bad-N)."""
    bad = set()
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            if n % BAD_EVERY == BAD_EVERY // 2:
                bad.add(f"bad-{n}")
                out.write(f"{{bad-{n} is not json\n")
            name = f"{tag_of(path)}e{n}"
            out.write(json.dumps({"name": name, "user": {"uid": f"u{n % 50}"}}) + "\n")
    return path, bad


def tag_of(path: Path) -> str:
    """The test's own prefix for its event names: its temporary directory's name."""
    return f"{path.parent.name}-"


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def bad_in(path: Path) -> list[str]:
    found = []
    for record in read_ndjson(path):
        raw = record.get("_raw")
        if isinstance(raw, str):
            match = re.match(r"\{(bad-\d+) ", raw)
            assert match, raw
            found.append(match.group(1))
    return found


def connections(sandbox: Sandbox) -> int:
    opened: int = sandbox.stats()["connections_opened"]
    return opened


def wait_for_a_request(sandbox: Sandbox, process: subprocess.Popen[str], before: int) -> None:
    """Until the command has opened its connection to the sandbox (it is importing): more
    connections than ``before`` (counted while this test's own admin connection was open)."""
    deadline = time.monotonic() + 60
    while connections(sandbox) <= before:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the command never reached the sandbox"
        time.sleep(0.01)


def interrupted_run(
    sandbox: Sandbox, path: Path, env: dict[str, str], after_s: float, run: tuple[str, ...] = RUN
) -> tuple[int, str, str]:
    before = connections(sandbox)
    process = subprocess.Popen(
        [str(EXE), "import", "events", str(path), *run],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_a_request(sandbox, process, before)
        time.sleep(after_s)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT_S)
    finally:
        process.kill()
    assert "Traceback" not in err, err
    return process.returncode, out, err


def follow_the_instructions(
    code: int, err: str, path: Path, env: dict[str, str], run: tuple[str, ...] = RUN
) -> tuple[list[str], dict[str, int]]:
    """Do what the interrupted command said; return the bad lines in the failed files left at
    the end, and how many maybe-sent items were resent with their key."""
    failed_path = Path(f"{path}.failed.ndjson")
    resent = {"maybe_sent": 0, "keyed": 0}
    if code in (0, 1) and "the import stopped" not in err:  # done before the signal came
        return bad_in(failed_path), resent
    assert code == 130, err
    resume = re.search(r"--from-line (\d+)", err)
    if resume is None:  # nothing was sent: the same command again
        assert err.strip() == "interrupted", err
        again, _, err = cli("import", "events", str(path), *run, env=env)
        assert again == 1, err  # the lines that are not JSON
        return bad_in(failed_path), resent
    assert err.startswith("error: the import stopped: interrupted\n"), err
    saved = read_ndjson(failed_path)
    for record in saved:
        if record["_error"]["code"] == "maybe_sent":
            resent["maybe_sent"] += 1
            resent["keyed"] += "idempotency_key" in record["_error"]
    bad: list[str] = []
    if saved:
        code, _, err = cli("import", "events", str(failed_path), *run, env=env)
        assert code in (0, 1), err
        bad += bad_in(Path(f"{failed_path}.failed.ndjson"))
    failed_path.unlink(missing_ok=True)
    code, _, err = cli("import", "events", str(path), *run, "--from-line", resume[1], env=env)
    assert code in (0, 1), err
    bad += bad_in(failed_path)
    return bad, resent


def assert_each_event_once(
    sandbox: Sandbox, path: Path, count: int = EVENTS, said: str = ""
) -> None:
    """Each of this test's events once (events of another test's late requests aside)."""
    tag = tag_of(path)
    names = Counter(
        event["name"] for event in sandbox.events("fullstory") if event["name"].startswith(tag)
    )
    twice = sorted(name for name, seen in names.items() if seen > 1)
    missing = sorted({f"{tag}e{n}" for n in range(count)} - set(names))
    assert (len(twice), len(missing)) == (0, 0), (
        f"imported more than once: {twice[:10]} ({len(twice)}); "
        f"never imported: {missing[:10]} ({len(missing)}); {said}"
    )


# Offsets after the command's first connection: creates in flight, lines being read ahead of
# them, jobs polled and results read, and the end.
OFFSETS = [0.0, 0.07, 0.15, 0.25, 0.4, 0.55, 0.7, 0.9, 1.1, 1.4, 1.8, 2.3]


@pytest.mark.parametrize("after_s", OFFSETS)
def test_ctrl_c_at_any_point_then_the_printed_instructions_import_each_item_once(
    sandbox: Sandbox, tmp_path: Path, after_s: float
) -> None:
    sandbox.configure(job_delay_s=0.05, job_items_per_s=20_000)
    sandbox.set_faults(latency_ms=60, latency_jitter_ms=40, seed=int(after_s * 100))
    path, bad = events_file(tmp_path / "events.ndjson")
    env = sandbox_env(sandbox)

    code, _, err = interrupted_run(sandbox, path, env, after_s)
    sandbox.set_faults()  # the resumed imports need no latency
    found, resent = follow_the_instructions(code, err, path, env)

    # Should it fail: what the interrupted command said, and what was resent with a key.
    said = f"the interrupted command exited {code}: {err.strip()[-600:]!r}; resent: {resent}"
    assert_each_event_once(sandbox, path, said=said)
    assert sorted(found) == sorted(bad)  # each line that is not JSON in one failed file, once
    assert resent["keyed"] == resent["maybe_sent"]  # every maybe-sent item kept its key


BIG = 60_000
BIG_RUN = ("--chunk-size", "10000", "--jobs-in-flight", "3", "--poll-interval", "0.05",
           "--no-progress")  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("after_s", [0.05, 0.2, 0.4])
def test_ctrl_c_while_lines_are_read_then_the_resume_imports_each_item_once(
    sandbox: Sandbox, tmp_path: Path, after_s: float
) -> None:
    """Big chunks, no latency: the command spends its time reading and checking lines, so
    the signal lands while a line is taken in; the resume must neither skip nor repeat it."""
    sandbox.configure(job_delay_s=0.05, job_items_per_s=1_000_000)
    path, bad = events_file(tmp_path / "events.ndjson", BIG)
    env = sandbox_env(sandbox)

    code, _, err = interrupted_run(sandbox, path, env, after_s, BIG_RUN)
    found, resent = follow_the_instructions(code, err, path, env, BIG_RUN)

    assert_each_event_once(sandbox, path, BIG)
    assert sorted(found) == sorted(bad)
    assert resent["keyed"] == resent["maybe_sent"]


def test_ctrl_c_while_a_create_is_in_flight_resends_that_chunk_with_its_key(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The create reaches the API and makes its job, but the command is stopped before the
    answer: the chunk is saved as maybe_sent with the create's key, and importing the failed
    file gets the same job back instead of creating a second one."""
    sandbox.configure(job_delay_s=0.05)
    path = tmp_path / "users.ndjson"
    path.write_text("".join(json.dumps({"uid": f"u{n}"}) + "\n" for n in range(30)))
    proxy = SlowAnswers(sandbox.url, delay_s=1.5)  # every answer comes 1.5 s late
    env = {**sandbox_env(sandbox), "FULLSTORY_BASE_URL": proxy.url}
    before = connections(sandbox)
    process = subprocess.Popen(
        [str(EXE), "import", "users", str(path), "--chunk-size", "10", "--jobs-in-flight", "1",
         "--poll-interval", "0.05", "--no-progress"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for_a_request(sandbox, process, before)
        time.sleep(0.5)  # the first create is on its way; its answer is 1 s away
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT_S)
    finally:
        process.kill()
        proxy.close()

    assert process.returncode == 130, err
    assert "  10 items may be in a job whose create got no answer (code maybe_sent in " in err
    # The next chunk was read while the create was on its way; the rest was not read.
    assert "then this one with --from-line 21" in err
    failed_path = Path(f"{path}.failed.ndjson")
    failed = read_ndjson(failed_path)
    maybe = [f for f in failed if f["_error"]["code"] == "maybe_sent"]
    assert [f["uid"] for f in maybe] == [f"u{n}" for n in range(10)]
    assert len({f["_error"]["idempotency_key"] for f in maybe}) == 1
    assert [f["uid"] for f in failed if f["_error"]["code"] == "not_sent"] == [
        f"u{n}" for n in range(10, 20)
    ]
    assert sandbox.stats()["jobs"]["total"] == 1  # the create was carried out all the same

    env = sandbox_env(sandbox)
    code, out, err = cli("import", "users", str(failed_path), "--poll-interval", "0.05",
                         "--no-progress", env=env)  # fmt: skip
    assert code == 0, err
    assert out.startswith("imported 20 users of 20 read")
    assert sandbox.stats()["jobs"]["total"] == 2  # the first job came back, not made again
    code, out, err = cli("import", "users", str(path), "--from-line", "21", "--poll-interval",
                         "0.05", "--no-progress", env=env)  # fmt: skip
    assert code == 0, err
    assert out.startswith("imported 10 users of 10 read")
    with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
        uids = sorted(user.uid for user in fs.users.iter())
    assert uids == sorted(f"u{n}" for n in range(30))


class SlowAnswers:
    """A TCP proxy to the sandbox that passes requests on at once and holds every answer for
    ``delay_s``: a create is carried out (its job exists) while its answer is still on its
    way."""

    def __init__(self, upstream: str, delay_s: float) -> None:
        host, _, port = upstream.removeprefix("http://").partition(":")
        self._upstream = (host, int(port.rstrip("/")))
        self._delay_s = delay_s
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream)
            threading.Thread(target=self._pipe, args=(client, server, 0.0), daemon=True).start()
            threading.Thread(
                target=self._pipe, args=(server, client, self._delay_s), daemon=True
            ).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket, delay_s: float) -> None:
        try:
            while data := source.recv(65536):
                time.sleep(delay_s)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for each in (source, target):
                with contextlib.suppress(OSError):
                    each.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()


def test_ctrl_c_after_the_summary_changes_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    """Ctrl-C pressed again and again from the moment the summary is printed to the exit: the
    finished import neither dies by the signal (Python's shutdown puts the default disposition
    back) nor says "interrupted" (which would mean: run the same command again)."""
    path, bad = events_file(tmp_path / "events.ndjson", count=500)
    env = {**sandbox_env(sandbox), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [str(EXE), "import", "events", str(path), *RUN],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        summary = process.stdout.readline()
        assert summary.startswith("imported 500 events"), summary
        signals = 0
        while process.poll() is None:
            process.send_signal(signal.SIGINT)
            signals += 1
            time.sleep(0.0005)
        _, err = process.communicate(timeout=TIMEOUT_S)
    finally:
        process.kill()
    assert signals > 0
    assert process.returncode == 1, (process.returncode, err)  # the lines that are not JSON
    assert "interrupted" not in err, err
    assert sorted(bad_in(Path(f"{path}.failed.ndjson"))) == sorted(bad)
    assert_each_event_once(sandbox, path, count=500)


def test_the_import_command_called_in_a_program_gives_its_ctrl_c_back(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``main()`` called in a program (not the executable) puts the program's SIGINT handler
    back when the import ends: only the executable ignores Ctrl-C until it exits."""
    path, _ = events_file(tmp_path / "events.ndjson", count=10)
    for name, value in sandbox_env(sandbox).items():
        monkeypatch.setenv(name, value)
    before = signal.getsignal(signal.SIGINT)
    logger = logging.getLogger("session_analytics")
    level = logger.level
    try:
        assert main(["import", "events", str(path), *RUN]) == 0
    finally:
        logger.setLevel(level)  # the command quiets the SDK's own warnings
    assert signal.getsignal(signal.SIGINT) is before


# ---- the library ----------------------------------------------------------------------------


def interrupted(items: list[dict[str, Any]], at: int) -> Iterator[dict[str, Any]]:
    """The items, with a Ctrl-C landing as item ``at`` is read."""
    for n, item in enumerate(items):
        if n == at:
            raise KeyboardInterrupt
        yield item


@pytest.mark.parametrize("at", [5, 15, 25, 37])
def test_import_stopped_by_ctrl_c_resumes_each_item_once(sandbox: Sandbox, at: int) -> None:
    sandbox.configure(job_delay_s=0.05)
    sandbox.set_faults(latency_ms=300)  # the create of the chunk before is in flight
    items = [{"name": f"e{n}", "user": {"uid": "u1"}} for n in range(40)]
    source = interrupted(items, at)
    with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
        with pytest.raises(KeyboardInterrupt) as stop:
            fs.events.import_(source, chunk_size=10, jobs_in_flight=1)
        stopped = stop.value.import_stopped  # type: ignore[attr-defined]
        assert stopped is not None
        assert stopped.read == at
        assert stopped.maybe_sent_count == sum(len(c.items) for c in stopped.unsent_chunks)
        if stopped.maybe_sent:
            assert [len(c.items) for c in stopped.unsent_chunks] == [10]
        # Every item read is in a job that was made, or unsent: none lost.
        assert len(stopped.unsent) + stopped.submitted == at
        time.sleep(0.5)  # the create in flight reaches the sandbox and makes its job

        sandbox.set_faults()
        rest = itertools.islice(iter(items), at, None)
        result = fs.events.import_(itertools.chain(stopped.resume_items(), rest), chunk_size=10)

    assert result.read == len(items) - stopped.submitted
    # This test's names only: another test's late request may land after the reset.
    names = Counter(
        e["name"] for e in sandbox.events("fullstory") if re.fullmatch(r"e\d+", e["name"])
    )
    assert names == Counter(f"e{n}" for n in range(40))


class CtrlCAfterStep:
    """Stands in for the driver's per-step context: a Ctrl-C lands just as the flow has handed
    the driver its ``at``-th step, before the driver has done anything with it: the narrowest
    window there is, and one a real SIGINT can hit."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.steps = 0
        self._real = flow_module._overlapping

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._real():
            yield
        self.steps += 1
        if self.steps == self.at:
            raise KeyboardInterrupt


def steps_of_a_whole_import(sandbox: Sandbox, items: list[dict[str, Any]]) -> int:
    counting = CtrlCAfterStep(0)
    with (
        pytest.MonkeyPatch.context() as patch,
        FullStory(sandbox.api_key, base_url=sandbox.url) as fs,
    ):
        patch.setattr(flow_module, "_overlapping", counting)
        assert fs.events.import_(items, chunk_size=10, jobs_in_flight=1, options=FAST).ok
    return counting.steps


def test_a_ctrl_c_between_any_two_steps_says_where_the_import_stood(sandbox: Sandbox) -> None:
    """Wherever the Ctrl-C lands, the exception carries ``import_stopped``, and resuming from it
    imports every item once (a stop with no ``import_stopped`` reads as "nothing was sent",
    and the same import run again would duplicate what was)."""
    sandbox.configure(job_delay_s=0.02)
    sandbox.set_faults(latency_ms=20)  # creates are in flight while the next chunk is read
    rounds = 0
    steps = steps_of_a_whole_import(sandbox, [{"name": "w", "user": {"uid": "u"}}] * 25)
    assert steps > 10
    for at in range(1, steps + 1):
        sandbox.reset()
        sandbox.configure(job_delay_s=0.02)
        sandbox.set_faults(latency_ms=20)
        items = [{"name": f"s{at}-e{n}", "user": {"uid": "u1"}} for n in range(25)]
        with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(flow_module, "_overlapping", CtrlCAfterStep(at))
                try:
                    fs.events.import_(iter(items), chunk_size=10, jobs_in_flight=1, options=FAST)
                except KeyboardInterrupt as stop:
                    stopped = getattr(stop, "import_stopped", None)
                    assert stopped is not None, f"a Ctrl-C after step {at} hid where it stood"
                else:
                    continue  # the Ctrl-C came after the last step
            rounds += 1
            time.sleep(0.1)  # a create in flight reaches the sandbox and makes its job
            rest = items[stopped.read :]
            resumed = itertools.chain(stopped.resume_items(), rest)
            assert fs.events.import_(resumed, chunk_size=10, options=FAST).ok
        names = Counter(e["name"] for e in sandbox.events("fullstory"))
        assert names == Counter(item["name"] for item in items), f"Ctrl-C after step {at}"
    assert rounds >= steps - 1


def test_a_create_whose_answer_was_lost_is_not_imported_twice_from_the_failed_file(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The API carries out every attempt of the create and drops the connection: exit 3, the
    items saved as maybe_sent with the key; importing the failed file gets that job back."""
    path = tmp_path / "users.ndjson"
    path.write_text("".join(json.dumps({"uid": f"u{n}"}) + "\n" for n in range(5)))
    sandbox.set_faults(paths=["/v2/users/batch"], script=["reset"] * 20)
    env = sandbox_env(sandbox)

    code, _, err = cli(
        "import", "users", str(path), "--max-retries", "1", "--no-progress",
        "--poll-interval", "0.05", env=env,
    )  # fmt: skip

    assert code == 3, err
    assert "so importing that file within 24 hours does not import them twice" in err
    failed_path = Path(f"{path}.failed.ndjson")
    failed = read_ndjson(failed_path)
    assert {f["_error"]["code"] for f in failed} == {"maybe_sent"}
    assert len({f["_error"]["idempotency_key"] for f in failed}) == 1
    assert sandbox.stats()["jobs"]["total"] == 1

    sandbox.set_faults()
    code, out, err = cli(
        "import", "users", str(failed_path), "--no-progress", "--poll-interval", "0.05", env=env
    )
    assert code == 0, err
    assert out.startswith("imported 5 users of 5 read")
    assert sandbox.stats()["jobs"]["total"] == 1  # the job the lost answer named, not a new one
    with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
        uids = sorted(user.uid for user in fs.users.iter())
    assert uids == sorted(f"u{n}" for n in range(5))
