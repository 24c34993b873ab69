"""An API that keeps answering 429: ``import_()`` and ``session-analytics import`` end.

Job creates refused with 429 are tried again (same chunk, same Idempotency-Key) for at most
``BatchJobOptions.max_rate_limited_wait`` seconds in a row (``--max-rate-limited-wait``), with a
log line and a visible status while waiting; then the import stops with FSMaxRetryError (exit
3), ``import_stopped`` saying what to send again. Resuming once the limit is lifted imports each
item once. Deadlines here only catch a hang: the bound is a few seconds.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support import cli, sandbox_env

from session_analytics.errors import FSMaxRetryError, FSRateLimitedError
from session_analytics.fullstory import BatchJobOptions, FullStory
from session_analytics.sandbox import Sandbox

HANG_S = 90.0  # far above every bound used here: only a hang gets there


def run_or_hang(target: Any) -> Any:
    """``target()`` on a thread: its result or exception, or a failure after HANG_S."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = target()
        except BaseException as error:  # handed to the test
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_S)
    assert not thread.is_alive(), f"the import did not end within {HANG_S} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def write_users(path: Path, count: int) -> Path:
    path.write_text("".join(f'{{"uid": "u{n}"}}\n' for n in range(count)), encoding="utf-8")
    return path


def uids_of(sandbox: Sandbox) -> Counter[str]:
    with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
        return Counter(user.uid for user in fs.users.iter())


# ---- import_() ------------------------------------------------------------------------------


def test_import_stops_after_max_rate_limited_wait_when_every_request_is_429(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.set_faults(rate_limit_rate=1.0, retry_after_s=0.5)
    items = [{"name": f"e{n}", "user": {"uid": "u1"}} for n in range(25)]
    source = iter(items)
    progress: list[Any] = []
    # Each create: refused, 1 s (Retry-After), refused again: the import tries twice or so.
    options = BatchJobOptions(poll_interval=0.05, max_rate_limited_wait=4.0)
    with FullStory(sandbox.api_key, base_url=sandbox.url, max_retries=1) as fs:
        with (
            caplog.at_level(logging.WARNING, logger="session_analytics"),
            pytest.raises(FSMaxRetryError) as stop,
        ):
            run_or_hang(
                lambda: fs.events.import_(
                    source, chunk_size=10, options=options, on_progress=progress.append
                )
            )
        error = stop.value
        assert isinstance(error.last_error, FSRateLimitedError)
        assert "max_rate_limited_wait is 4 s" in str(error)
        assert any("retrying in" in r.getMessage() for r in caplog.records)
        assert any(p.retry_in is not None for p in progress)  # the wait was reported
        stopped = error.import_stopped
        assert stopped is not None
        assert stopped.job_ids == []  # 429: nothing was made
        assert not stopped.maybe_sent
        assert sorted(stopped.unsent_indices) == list(range(stopped.read))
        assert sandbox.stats()["jobs"]["total"] == 0

        sandbox.set_faults()
        result = fs.events.import_(itertools.chain(stopped.resume_items(), source))

    assert result.imported == 25
    assert Counter(e["name"] for e in sandbox.events("fullstory")) == Counter(
        f"e{n}" for n in range(25)
    )


def test_import_under_a_token_bucket_stops_within_the_bound_and_resumes_once(
    sandbox: Sandbox,
) -> None:
    """One create every two minutes: the first chunk goes, the next is refused with a
    Retry-After far beyond the bound, so the import stops at once, the first job running."""
    sandbox.configure(job_delay_s=0.05)
    sandbox.set_faults(rate_limit_rps=1 / 120, rate_limit_burst=1)
    items = [{"uid": f"u{n}"} for n in range(30)]
    source = iter(items)
    options = BatchJobOptions(poll_interval=0.05, max_rate_limited_wait=5.0)
    with FullStory(sandbox.api_key, base_url=sandbox.url, max_retries=1) as fs:
        started = time.monotonic()
        with pytest.raises(FSMaxRetryError) as stop:
            run_or_hang(lambda: fs.users.import_(source, chunk_size=10, options=options))
        assert time.monotonic() - started < HANG_S
        stopped = stop.value.import_stopped
        assert stopped is not None
        assert stopped.submitted == 10
        assert len(stopped.job_ids) == 1
        assert not stopped.maybe_sent
        assert sandbox.stats()["rate_limited"] >= 1

        sandbox.set_faults()
        fs.users.import_(itertools.chain(stopped.resume_items(), source), chunk_size=10)

    deadline = time.monotonic() + 30
    while sum(uids_of(sandbox).values()) < 30:  # the first job finishes on its own
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert uids_of(sandbox) == Counter(f"u{n}" for n in range(30))


def test_a_slow_token_bucket_within_the_bound_is_waited_out(sandbox: Sandbox) -> None:
    sandbox.configure(job_delay_s=0.05)
    sandbox.set_faults(rate_limit_rps=2, rate_limit_burst=1)
    items = [{"uid": f"u{n}"} for n in range(50)]
    options = BatchJobOptions(poll_interval=0.05, max_rate_limited_wait=30.0)
    with FullStory(sandbox.api_key, base_url=sandbox.url, max_retries=0) as fs:
        result = run_or_hang(
            lambda: fs.users.import_(items, chunk_size=10, jobs_in_flight=1, options=options)
        )
    assert result.imported == 50
    assert uids_of(sandbox) == Counter(f"u{n}" for n in range(50))


def test_max_rate_limited_wait_must_be_positive() -> None:
    from session_analytics.errors import FSInvalidArgumentError

    with pytest.raises(FSInvalidArgumentError, match="max_rate_limited_wait"):
        BatchJobOptions(max_rate_limited_wait=0)


# ---- the command line -----------------------------------------------------------------------


def test_cli_exits_3_within_the_bound_then_the_same_command_imports_each_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.set_faults(rate_limit_rate=1.0, retry_after_s=0.5)
    path = write_users(tmp_path / "users.ndjson", 25)
    env = sandbox_env(sandbox)
    args = ("import", "users", str(path), "--poll-interval", "0.05", "--max-retries", "1")

    code, _, err = cli(*args, "--max-rate-limited-wait", "4", "--no-progress", env=env)

    assert code == 3, err
    assert "users: rate limited (429), retrying in " in err  # seen while it waited
    assert "error: FullStory kept failing: " in err
    assert "max_rate_limited_wait is 4 s" in err
    assert "Traceback" not in err
    assert sandbox.stats()["jobs"]["total"] == 0

    sandbox.set_faults()
    code, _, err = cli(*args, "--no-progress", env=env)
    assert code == 0, err
    assert uids_of(sandbox) == Counter(f"u{n}" for n in range(25))


def test_cli_under_a_token_bucket_saves_what_was_not_sent_and_its_file_imports_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.configure(job_delay_s=0.05)
    sandbox.set_faults(rate_limit_rps=1 / 120, rate_limit_burst=1)
    path = write_users(tmp_path / "users.ndjson", 30)
    env = sandbox_env(sandbox)

    code, _, err = cli(
        "import", "users", str(path), "--chunk-size", "10", "--poll-interval", "0.05",
        "--max-retries", "1", "--max-rate-limited-wait", "5", env=env,
    )  # fmt: skip

    assert code == 3, err
    assert "error: the import stopped: FullStory kept failing: " in err
    assert "  10 items are in jobs that may still be importing them (" in err
    assert "import that file once the API works again" in err
    assert "Traceback" not in err
    failed_path = Path(f"{path}.failed.ndjson")
    saved = [line for line in failed_path.read_text().splitlines() if line]
    assert len(saved) == 20

    sandbox.set_faults()
    code, _, err = cli(
        "import", "users", str(failed_path), "--poll-interval", "0.05", "--no-progress", env=env
    )
    assert code == 0, err
    deadline = time.monotonic() + 30
    while sum(uids_of(sandbox).values()) < 30:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert uids_of(sandbox) == Counter(f"u{n}" for n in range(30))


def test_cli_rejects_a_bound_that_is_not_positive(sandbox: Sandbox, tmp_path: Path) -> None:
    path = write_users(tmp_path / "users.ndjson", 1)
    code, _, err = cli(
        "import", "users", str(path), "--max-rate-limited-wait", "0", env=sandbox_env(sandbox)
    )
    assert code == 2
    assert "--max-rate-limited-wait must be more than 0 seconds" in err
