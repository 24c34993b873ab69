"""``session-analytics import ... --check-quota``: the events of the input counted first, what
they would use of the server-event quota said before the import starts, a warning on stderr
(not a Python warning) when that is more than is left, and the import going on either way.
Users do not count against that quota.

The command runs as the installed console script against a sandbox; the counting of the input
is tested on its own too.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from support import assert_no_traceback, base_env, cli, sandbox_env

from session_analytics.cli._import.quota import count_items
from session_analytics.fullstory import FullStory
from session_analytics.sandbox import Sandbox

FAST = ("--poll-interval", "0.1", "--no-progress")
QUOTAS_PATH = "/v2/organization/quotas"
SECRET = "sk-Ibis-Wombat-5521-distinctive"


@pytest.fixture
def env(sandbox: Sandbox) -> dict[str, str]:
    sandbox.configure(job_delay_s=0, job_items_per_s=1_000_000)
    return sandbox_env(sandbox)


def events_file(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            event = {"name": f"Event {number}", "user": {"uid": f"u{number}"}}
            out.write(json.dumps(event) + "\n")
    return path


def server_event_quota(sandbox: Sandbox) -> Any:
    with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
        return fs.organization.quotas().server_event_quota


def quota_requests(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests() if r.get("path") == QUOTAS_PATH]


def test_under_the_quota_the_check_is_said_and_the_import_runs(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    path = events_file(tmp_path / "events.ndjson", 5)

    code, out, err = cli("import", "events", str(path), "--check-quota", *FAST, env=env)

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"quota: 5 events to import from {path}"
    assert lines[1].startswith("quota: ")
    assert lines[2].startswith("imported 5 events of 5 read")
    assert "warning" not in err.lower()
    assert_no_traceback(out, err)
    assert len(sandbox.events("fullstory")) == 5
    assert len(quota_requests(sandbox)) == 1


def test_over_the_quota_a_warning_is_printed_and_the_import_goes_on(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    sandbox.configure(server_event_quota=3)
    path = events_file(tmp_path / "events.ndjson", 5)

    code, out, err = cli("import", "events", str(path), "--check-quota", *FAST, env=env)

    lines = out.splitlines()
    assert lines[0] == f"quota: 5 events to import from {path}"
    assert lines[1].startswith("quota: ")
    assert err.startswith("warning: this import would use more of the server-event quota")
    assert "importing anyway" in err
    # Said once, by the command: not a second time as a Python warning.
    assert "QuotaWarning" not in err
    assert "warnings.warn" not in err
    assert err.count("warning") == 1
    assert_no_traceback(out, err)
    # The import was not stopped: what is past the limit is the API's to decide, and the
    # sandbox takes it.
    assert code == 0, err
    assert lines[2].startswith("imported 5 events of 5 read")
    assert len(sandbox.events("fullstory")) == 5


def test_without_the_flag_no_quota_is_read(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    sandbox.configure(server_event_quota=3)
    path = events_file(tmp_path / "events.ndjson", 5)

    code, out, err = cli("import", "events", str(path), *FAST, env=env)

    assert "quota" not in out
    assert "warning" not in err.lower()
    assert quota_requests(sandbox) == []
    assert_no_traceback(out, err)
    assert out.startswith("imported ")
    assert code in (0, 1)


def test_a_csv_file_with_quoted_cells_is_counted_about(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        'name,user.uid,properties.note\nOpened,u1,"one, two"\nPaid,u2,plain\n', encoding="utf-8"
    )

    code, out, err = cli("import", "events", str(path), "--check-quota", *FAST, env=env)

    assert code == 0, err
    assert out.splitlines()[0] == f"quota: about 2 events to import from {path}"
    assert len(sandbox.events("fullstory")) == 2


def test_one_event_is_one_event(sandbox: Sandbox, env: dict[str, str], tmp_path: Path) -> None:
    path = events_file(tmp_path / "events.ndjson", 1)

    code, out, err = cli("import", "events", str(path), "--check-quota", *FAST, env=env)

    assert code == 0, err
    assert out.splitlines()[0] == f"quota: 1 event to import from {path}"


def test_standard_input_is_not_counted(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    lines = "".join(json.dumps({"name": "E", "user": {"uid": f"u{n}"}}) + "\n" for n in range(3))
    failed = tmp_path / "failed.ndjson"

    code, out, err = cli(
        "import",
        "events",
        "-",
        "--check-quota",
        "--failed-file",
        str(failed),
        *FAST,
        env=env,
        input=lines,
    )

    assert code == 0, err
    assert out.splitlines()[0].startswith("quota: standard input cannot be counted")
    assert out.splitlines()[1].startswith("quota: ")
    assert len(sandbox.events("fullstory")) == 3


def test_a_pipe_is_not_counted_and_imports_whole(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    fifo = tmp_path / "events.ndjson"
    os.mkfifo(fifo)
    lines = "".join(json.dumps({"name": "E", "user": {"uid": f"u{n}"}}) + "\n" for n in range(3))

    def feed() -> None:
        with fifo.open("w", encoding="utf-8") as out:  # waits for the command to open it
            out.write(lines)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    code, out, err = cli("import", "events", str(fifo), "--check-quota", *FAST, env=env)
    writer.join(timeout=30)

    assert code == 0, err
    assert out.splitlines()[0] == (
        f"quota: {fifo} (not a regular file) cannot be counted before it is read; "
        "the quota as it is:"
    )
    assert len(sandbox.events("fullstory")) == 3


def test_a_users_import_says_users_do_not_count(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "users.ndjson"
    path.write_text('{"uid": "a"}\n{"uid": "b"}\n', encoding="utf-8")

    code, out, err = cli("import", "users", str(path), "--check-quota", *FAST, env=env)

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        "quota: users do not count against the server-event quota; importing without a check"
    )
    assert lines[1].startswith("imported 2 users of 2 read")
    assert quota_requests(sandbox) == []


def test_a_file_that_does_not_exist_exits_2(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.ndjson"
    code, out, err = cli("import", "events", str(missing), "--check-quota", *FAST, env=env)
    assert (code, out, err) == (2, "", f"error: cannot read {missing}: No such file or directory\n")
    assert sandbox.requests() == []


def test_check_quota_is_in_the_help() -> None:
    code, out, err = cli("import", "events", "--help")
    assert code == 0, err
    assert "--check-quota" in out
    assert "not stopped" in out
    code, out, err = cli("import", "users", "--help")
    assert code == 0, err
    assert "--check-quota" in out
    assert "users do not count" in out


def test_the_api_key_is_never_printed(tmp_path: Path) -> None:
    path = events_file(tmp_path / "events.ndjson", 4)
    with Sandbox(api_key=SECRET, job_delay=0) as server:
        server.configure(server_event_quota=2)
        env = {**base_env(), "FULLSTORY_API_KEY": SECRET, "FULLSTORY_BASE_URL": server.url}
        over = cli("import", "events", str(path), "--check-quota", *FAST, env=env)
        refused = cli(
            "import",
            "events",
            str(path),
            "--check-quota",
            *FAST,
            "--api-key",
            SECRET + "-x",
            env=env,
        )
    assert over[0] in (0, 1)
    assert refused[0] == 2
    for code, out, err in (over, refused):
        assert "Ibis-Wombat" not in out + err, code
        assert_no_traceback(out, err)


# ---- counting the input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fmt", "from_line", "expected"),
    [
        ('{"a": 1}\n{"a": 2}\n', "ndjson", 1, "2"),
        ('{"a": 1}\n\n   \n{"a": 2}', "ndjson", 1, "2"),  # blank lines; no final newline
        ('{"a": 1}\n{"a": 2}\n{"a": 3}\n', "ndjson", 2, "2"),
        ("", "ndjson", 1, "0"),
        ("name,user.uid\nA,u1\nB,u2\n\n", "csv", 1, "2"),
        ("name,user.uid\nA,u1\nB,u2\nC,u3\n", "csv", 3, "2"),
        ('name,note\nA,"x\ny"\n', "csv", 1, "about 2"),  # a quoted cell over two lines
        ('name,"the note"\nA,b\n', "csv", 1, "1"),  # a quote in the header only
    ],
)
def test_count_items(tmp_path: Path, text: str, fmt: str, from_line: int, expected: str) -> None:
    path = tmp_path / f"input.{fmt}"
    path.write_text(text, encoding="utf-8")
    assert str(count_items(str(path), fmt, from_line)) == expected


def test_count_items_over_block_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "big.ndjson"
    line = json.dumps({"name": "x" * 1000}) + "\n"
    path.write_text(line * 3000, encoding="utf-8")  # about 3 MB: lines cross the blocks
    assert str(count_items(str(path), "ndjson", 1)) == "3,000"
