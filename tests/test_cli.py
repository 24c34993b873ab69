"""End-to-end tests of the ``session-analytics`` command line.

Every test runs the installed console script as a subprocess, with its key and base URL in
FULLSTORY_API_KEY and FULLSTORY_BASE_URL, against the sandbox of the package's pytest plugin (or,
where a test needs its own keys, a ``Sandbox`` started in this process). They check what a person
sees: exit codes, the summary, the failed file, messages on stderr, and what reached the API.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import EXE, assert_no_traceback, base_env, cli, sandbox_env

from session_analytics.cli._import.failed import FailedFile
from session_analytics.fullstory import FullStory
from session_analytics.sandbox import Sandbox, SandboxConfig

TIMEOUT_S = 120.0
BIG_TIMEOUT_S = 300.0
FAST = ("--poll-interval", "0.1")


def write_ndjson(path: Path, lines: list[Any]) -> Path:
    """Each entry is written as one line: a str as it is, anything else as JSON."""
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def free_closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def fast_jobs(sandbox: Sandbox) -> Sandbox:
    sandbox.configure(job_delay_s=0, job_items_per_s=1_000_000)
    return sandbox


@pytest.fixture
def env(sandbox: Sandbox) -> dict[str, str]:
    return sandbox_env(sandbox)


# ---- 1. help and usage ------------------------------------------------------------------------

CONNECTION = ["--api-key", "--base-url", "--timeout", "--max-retries"]
IMPORT_OPTIONS = [
    "--format",
    "--failed-file",
    "--jobs-in-flight",
    "--chunk-size",
    "--poll-interval",
    "--no-progress",
    *CONNECTION,
]
HELP_CASES = {
    "": ["sandbox", "import", "send-event", "users", "--version", "Exit codes"],
    "sandbox": ["--host", "--port", "--api-key", "--smartlook-key", "--job-delay", "--tls-cert"],
    "import": ["users", "events", "NDJSON", "CSV", ":int", "_error"],
    "import users": ["file", *IMPORT_OPTIONS],
    "import events": ["file", "--shared-context", *IMPORT_OPTIONS],
    "send-event": [
        "name",
        "--uid",
        "--user-id",
        "--session-id",
        "--property",
        "--timestamp",
        "--idempotency-key",
        "--smartlook",
        "--vid",
        "--smartlook-key",
        "--host",
        *CONNECTION,
    ],
    "users": ["get", "list", "delete"],
    "users get": ["id", "--include-schema", *CONNECTION],
    "users list": [
        "--uid",
        "--email",
        "--display-name",
        "--identified",
        "--anonymous",
        "--limit",
        *CONNECTION,
    ],
    "users delete": ["--id", "--uid", *CONNECTION],
}


@pytest.mark.parametrize("command", list(HELP_CASES), ids=lambda c: c or "top")
def test_help_names_the_options_of_every_command(command: str) -> None:
    code, out, err = cli(*command.split(), "--help")
    assert code == 0, err
    assert out.startswith(f"usage: session-analytics {command}".rstrip())
    missing = [option for option in HELP_CASES[command] if option not in out]
    assert missing == []
    assert err == ""


def test_import_users_help_has_no_events_only_option() -> None:
    code, out, _ = cli("import", "users", "--help")
    assert code == 0
    assert "--shared-context" not in out


def test_no_arguments_prints_usage_on_stderr_and_exits_2() -> None:
    code, out, err = cli()
    assert code == 2
    assert out == ""
    assert err.startswith("usage: session-analytics")
    assert "send-event" in err


def test_an_unknown_command_exits_2() -> None:
    code, out, err = cli("frobnicate")
    assert code == 2
    assert out == ""
    assert "invalid choice: 'frobnicate'" in err


# ---- 2. a 200,000-line import -----------------------------------------------------------------


@pytest.mark.slow
def test_import_of_200000_users_with_the_progress_bar(
    fast_jobs: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "users.ndjson"
    with path.open("w", encoding="utf-8") as out:
        for n in range(200_000):
            user = {"uid": f"u{n}", "display_name": f"User {n}", "properties": {"rank": n}}
            out.write(json.dumps(user) + "\n")

    code, out, err = cli("import", "users", str(path), *FAST, env=env, timeout=BIG_TIMEOUT_S)

    assert code == 0, err
    summary = out.splitlines()[0]
    assert summary.startswith("imported 200,000 users of 200,000 read in ")
    assert summary.endswith(", 4 jobs")
    assert "failed" not in out
    assert "importing users" in err  # rich draws the bar on stderr
    assert "200,000 read, 200,000 imported, 0 failed" in err
    assert "100%" in err  # the bar ends full, once every item is done
    assert "/s" in err  # the rate column
    assert_no_traceback(out, err)
    stats = fast_jobs.stats()
    assert stats["users"] == 200_000
    assert stats["jobs"]["total"] == 4
    assert not (tmp_path / "users.ndjson.failed.ndjson").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.ndjson"]


# ---- 3. bad lines, the failed file, and importing it again ------------------------------------

LONG_UID = "x" * 300


def bad_users_file(tmp_path: Path) -> Path:
    return write_ndjson(
        tmp_path / "users.ndjson",
        [
            {"uid": "good-1", "display_name": "Good One"},  # line 1
            "{this is not json",  # line 2
            '["an", "array"]',  # line 3
            "",  # line 4: ignored
            {"uid": LONG_UID, "display_name": "Too long"},  # line 5
            {"id": "123456789", "display_name": "Nobody"},  # line 6: the API refuses it
            {"uid": "good-2", "display_name": "Good Two"},  # line 7
        ],
    )


def test_bad_lines_go_to_the_failed_file_and_the_fixed_file_imports(
    fast_jobs: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    path = bad_users_file(tmp_path)

    code, out, err = cli("import", "users", str(path), "--no-progress", *FAST, env=env)

    assert code == 1, err
    failed_path = tmp_path / "users.ndjson.failed.ndjson"
    lines = out.splitlines()
    assert lines[0].startswith("imported 2 users of 6 read in ")
    assert lines[1] == f"4 failed: written to {failed_path} (fix them and import that file)"
    # The first failures, on the console too: line, code, message.
    shown = [line.split(": ")[:2] for line in lines[2:]]
    assert shown[:3] == [
        ["  line 2", "invalid_json"],
        ["  line 3", "not_an_object"],
        ["  line 5", "invalid_argument"],
    ]
    assert len(shown) == 4
    assert shown[3][0].startswith("  job ")  # refused by the API: in a job, its line forgotten
    assert shown[3][1] == "resource_not_found"
    assert "/s)" not in lines[0]  # a rate of 2 users says nothing
    assert err == ""  # --no-progress: nothing on stderr
    assert fast_jobs.stats()["users"] == 2

    failed = read_ndjson(failed_path)
    by_code = {f["_error"]["code"]: f for f in failed}
    assert sorted(by_code) == [
        "invalid_argument",
        "invalid_json",
        "not_an_object",
        "resource_not_found",
    ]
    assert len(failed) == 4
    # Lines that are not objects keep their text, with the line they came from.
    assert by_code["invalid_json"]["_raw"] == "{this is not json"
    assert by_code["invalid_json"]["_error"]["line"] == 2
    assert by_code["invalid_json"]["_error"]["message"].startswith("not JSON: ")
    assert by_code["not_an_object"]["_raw"] == '["an", "array"]'
    assert by_code["not_an_object"]["_error"]["line"] == 3
    # Refused before sending: the item as given, the field and the line.
    refused = by_code["invalid_argument"]
    assert refused["uid"] == LONG_UID
    assert refused["display_name"] == "Too long"
    assert refused["_error"]["line"] == 5
    assert refused["_error"]["message"] == "uid: must be at most 256 characters (got 300)"
    assert "job_id" not in refused["_error"]
    # Refused by the API: the item as the API echoes it, with the job that refused it.
    unknown = by_code["resource_not_found"]
    assert unknown["id"] == "123456789"
    assert unknown["display_name"] == "Nobody"
    assert unknown["_error"]["job_id"]
    assert unknown["_error"]["message"]

    # A person fixes the failed lines in place, leaving the _error keys, and imports that file.
    fixed = []
    for entry in failed:
        error = entry["_error"]
        fixed.append({"uid": f"fixed-{error['code']}", "display_name": "Fixed", "_error": error})
    write_ndjson(failed_path, fixed)

    code, out, err = cli("import", "users", str(failed_path), "--no-progress", *FAST, env=env)

    assert code == 0, out + err
    assert out.startswith("imported 4 users of 4 read in ")
    assert "failed" not in out
    assert not Path(f"{failed_path}.failed.ndjson").exists()
    assert fast_jobs.stats()["users"] == 6
    with FullStory(fast_jobs.api_key, base_url=fast_jobs.url) as fs:
        uids = sorted(user.uid for user in fs.users.iter())
        names = {user.uid: user.display_name for user in fs.users.iter()}
    assert uids == [
        "fixed-invalid_argument",
        "fixed-invalid_json",
        "fixed-not_an_object",
        "fixed-resource_not_found",
        "good-1",
        "good-2",
    ]
    assert names["good-1"] == "Good One"
    assert names["fixed-invalid_json"] == "Fixed"


def test_failed_file_flag_and_progress_bar_count_failures(
    fast_jobs: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    path = bad_users_file(tmp_path)
    failed_path = tmp_path / "elsewhere" / "failed.ndjson"
    failed_path.parent.mkdir()

    code, out, err = cli(
        "import", "users", str(path), "--failed-file", str(failed_path), *FAST, env=env
    )

    assert code == 1
    assert f"4 failed: written to {failed_path}" in out
    assert len(read_ndjson(failed_path)) == 4
    assert not (tmp_path / "users.ndjson.failed.ndjson").exists()
    assert "importing users" in err
    assert "2 imported, 4 failed" in err
    assert_no_traceback(out, err)


def test_a_failed_file_that_is_the_input_is_refused_and_the_input_kept(
    fast_jobs: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    path = bad_users_file(tmp_path)
    before = path.read_bytes()
    code, out, err = cli(
        "import", "users", str(path), "--failed-file", str(path), "--no-progress", env=env
    )
    assert (code, out) == (2, ""), err
    assert err == (f"error: --failed-file {path} is the file being imported; name another file\n")
    assert path.read_bytes() == before
    assert fast_jobs.stats()["jobs"]["total"] == 0


def test_a_run_that_cannot_start_keeps_the_earlier_failed_file(tmp_path: Path) -> None:
    path = bad_users_file(tmp_path)
    failed_path = Path(f"{path}.failed.ndjson")
    failed_path.write_text('{"uid": "from-the-last-run"}\n', encoding="utf-8")
    code, out, err = cli("import", "users", str(path), "--no-progress")  # no key
    assert (code, out) == (2, ""), err
    assert err.startswith("error: no FullStory API key")
    assert failed_path.read_text(encoding="utf-8") == '{"uid": "from-the-last-run"}\n'


def test_an_import_the_api_stops_midway_saves_what_was_not_sent(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    """The 3 a.m. case: jobs were created, then the API failed. The jobs created keep going;
    what was not sent goes to the failed file; importing it sends each event exactly once."""
    sandbox.configure(job_delay_s=0.05)
    lines: list[Any] = [{"name": f"e{n}", "user": {"uid": f"u{n}"}} for n in range(30)]
    lines.insert(15, "{not json")  # line 16, in the chunk that was not sent
    path = write_ndjson(tmp_path / "events.ndjson", lines)
    sandbox.set_faults(paths=["/v2/events/batch/"], script=["error"] * 50)  # every status poll

    code, out, err = cli(
        "import", "events", str(path), "--chunk-size", "10", "--jobs-in-flight", "1",
        "--max-retries", "1", "--no-progress", *FAST, env=env,
    )  # fmt: skip

    assert code == 3, err
    assert out.startswith("imported 0 events of 31 read in ")
    assert out.endswith(", 1 job\n")
    failed_path = Path(f"{path}.failed.ndjson")
    assert err.startswith("error: the import stopped: FullStory kept failing: ")
    assert "  10 items are in jobs that may still be importing them (" in err
    assert f"is in {failed_path}: import that file once the API works again" in err
    assert_no_traceback(out, err)
    failed = read_ndjson(failed_path)
    not_sent = [f for f in failed if f["_error"]["code"] == "not_sent"]
    assert [f["name"] for f in not_sent] == [f"e{n}" for n in range(10, 30)]
    lines_of = {f["name"]: f["_error"]["line"] for f in not_sent}
    assert (lines_of["e10"], lines_of["e14"], lines_of["e15"], lines_of["e29"]) == (11, 15, 17, 31)
    [bad] = [f for f in failed if f["_error"]["code"] == "invalid_json"]
    assert bad["_error"]["line"] == 16

    sandbox.set_faults()
    code, out, err = cli("import", "events", str(failed_path), "--no-progress", *FAST, env=env)

    assert code == 1, err  # the line that is not JSON is still not JSON
    assert out.startswith("imported 20 events of 21 read")
    names = sorted(e["name"] for e in sandbox.events("fullstory"))
    assert names == sorted(f"e{n}" for n in range(30))  # each once: none lost, none twice


def test_an_import_whose_create_got_no_answer_marks_those_items_maybe_sent(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    path = write_ndjson(tmp_path / "users.ndjson", [{"uid": f"u{n}"} for n in range(5)])
    # Every attempt is processed, then its connection dropped: the job exists, no answer came.
    sandbox.set_faults(paths=["/v2/users/batch"], script=["reset"] * 20)

    code, out, err = cli(
        "import", "users", str(path), "--max-retries", "1", "--no-progress", *FAST, env=env
    )

    assert code == 3, err
    assert out.startswith("imported 0 users of 5 read in ")
    failed_path = Path(f"{path}.failed.ndjson")
    assert "  5 items may be in a job whose create got no answer (code maybe_sent in " in err
    assert_no_traceback(out, err)
    failed = read_ndjson(failed_path)
    assert [(f["uid"], f["_error"]["code"], f["_error"]["line"]) for f in failed] == [
        (f"u{n}", "maybe_sent", n + 1) for n in range(5)
    ]
    assert sandbox.stats()["jobs"]["total"] == 1  # the warning was warranted


def test_a_csv_that_breaks_midway_says_where_to_resume(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    sandbox.configure(job_delay_s=0)
    path = tmp_path / "users.csv"
    rows = [f"u{n},User {n}" for n in range(15)]
    rows.insert(13, 'u-bad,"' + "x" * 200_000 + '"')  # line 15: beyond the csv field limit
    path.write_text("uid,display_name\n" + "\n".join(rows) + "\n", encoding="utf-8")

    code, out, err = cli(
        "import", "users", str(path), "--chunk-size", "10", "--jobs-in-flight", "1",
        "--no-progress", *FAST, env=env,
    )  # fmt: skip

    assert code == 2, err
    assert err.startswith(f"error: the import stopped: {path}: line 15: not valid CSV")
    assert "the input from line 15 on was not read" in err
    assert "then this one with --from-line 15" in err
    assert_no_traceback(out, err)
    failed_path = Path(f"{path}.failed.ndjson")
    assert [f["uid"] for f in read_ndjson(failed_path)] == ["u10", "u11", "u12"]

    # The person fixes line 15, imports the failed file, then the rest of the file.
    rows[13] = "u-bad,Fixed"
    path.write_text("uid,display_name\n" + "\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = cli("import", "users", str(failed_path), "--no-progress", *FAST, env=env)
    assert code == 0, err
    code, out, err = cli(
        "import", "users", str(path), "--from-line", "15", "--no-progress", *FAST, env=env
    )
    assert code == 0, err
    assert out.startswith("imported 3 users of 3 read")
    with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
        uids = sorted(user.uid for user in fs.users.iter())
    assert uids == sorted([f"u{n}" for n in range(15)] + ["u-bad"])


def test_ctrl_c_during_an_import_lists_the_running_jobs(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    sandbox.configure(job_delay_s=30)  # the first job stays running
    path = write_ndjson(tmp_path / "users.ndjson", [{"uid": f"u{n}"} for n in range(25)])
    process = subprocess.Popen(
        [str(EXE), "import", "users", str(path), "--chunk-size", "10", "--jobs-in-flight", "1",
         "--no-progress", *FAST],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while sandbox.stats()["jobs"]["total"] < 1:
            assert time.monotonic() < deadline, "no job was created"
            time.sleep(0.05)
        time.sleep(0.3)  # polling now
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert err.startswith("error: the import stopped: interrupted\n")
    assert "  10 items are in jobs that may still be importing them (" in err
    assert "the input from line 21 on was not read" in err
    assert "--from-line 21" in err
    assert_no_traceback(out, err)
    failed = read_ndjson(Path(f"{path}.failed.ndjson"))
    assert [f["uid"] for f in failed] == [f"u{n}" for n in range(10, 20)]
    assert {f["_error"]["code"] for f in failed} == {"not_sent"}


def test_failed_lines_fixed_in_place_import(
    fast_jobs: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "name,user.uid,properties.seats:int\n"
        "Signed Up,u1,3\n"
        "Signed Up,u2,three\n"  # line 3: not an int
        "Signed Up,u3,4,extra\n",  # line 4: one cell too many
        encoding="utf-8",
    )
    code, out, err = cli("import", "events", str(path), "--no-progress", *FAST, env=env)
    assert code == 1, err
    failed_path = Path(f"{path}.failed.ndjson")
    by_line = {f["_error"]["line"]: f for f in read_ndjson(failed_path)}
    assert by_line[3]["_cells"] == {
        "name": "Signed Up", "user.uid": "u2", "properties.seats:int": "three"
    }  # fmt: skip
    assert by_line[4]["_cells"]["_extra"] == ["extra"]

    # Imported again untouched, they fail again for the same reasons, not for odd keys.
    code, out, err = cli("import", "events", str(failed_path), "--no-progress", *FAST, env=env)
    assert code == 1, err
    again = read_ndjson(Path(f"{failed_path}.failed.ndjson"))
    assert sorted(f["_error"]["code"] for f in again) == ["invalid_row", "invalid_value"]
    assert "'three' is not a whole number" in json.dumps(again)

    # Fixed in place: the cell corrected, the extra cell removed; a _raw line rewritten.
    by_line[3]["_cells"]["properties.seats:int"] = "3"
    del by_line[4]["_cells"]["_extra"]
    raw_line = {"_raw": '{"name": "Fixed", "user": {"uid": "u9"}}', "_error": {"code": "x"}}
    write_ndjson(failed_path, [by_line[3], by_line[4], raw_line])
    code, out, err = cli("import", "events", str(failed_path), "--no-progress", *FAST, env=env)
    assert code == 0, out + err
    seats = {e["user"]["uid"]: e.get("properties") for e in fast_jobs.events("fullstory")}
    assert seats == {"u1": {"seats": 3}, "u2": {"seats": 3}, "u3": {"seats": 4}, "u9": {}}


# ---- 4. events from CSV, stdin ----------------------------------------------------------------

CSV_HEADER = "name,user.uid,properties.plan,properties.seats:int,properties.active:bool"


def test_import_events_from_csv_nests_and_converts_columns(
    fast_jobs: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        f"{CSV_HEADER}\n"
        "Signed Up,u1,pro,3,true\n"  # line 2
        "Signed Up,u2,free,many,false\n"  # line 3: many is not an int
        "Upgraded,u3,,12,0\n",  # line 4: an empty cell is left out
        encoding="utf-8",
    )

    code, out, err = cli(
        "import",
        "events",
        str(path),
        "--no-progress",
        "--shared-context",
        '{"browser": {"url": "https://x"}}',
        *FAST,
        env=env,
    )

    assert code == 1, err
    assert out.startswith("imported 2 events of 3 read in ")
    assert "1 failed: written to" in out
    events = sorted(fast_jobs.events("fullstory"), key=lambda e: e["user"]["uid"])
    assert [(e["name"], e["user"]["uid"], e["properties"]) for e in events] == [
        ("Signed Up", "u1", {"plan": "pro", "seats": 3, "active": True}),
        ("Upgraded", "u3", {"seats": 12, "active": False}),
    ]
    assert all(e["context"] == {"browser": {"url": "https://x"}} for e in events)
    assert all(e["via"] == "batch" and e["job_id"] for e in events)
    failed = read_ndjson(tmp_path / "events.csv.failed.ndjson")
    assert len(failed) == 1
    error = failed[0]["_error"]
    assert error["code"] == "invalid_value"
    assert error["line"] == 3
    assert "properties.seats:int" in error["message"]
    assert "'many'" in error["message"]


def test_csv_with_an_unknown_type_suffix_exits_2_naming_the_column(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text("name,properties.seats:integer\nSigned Up,3\n", encoding="utf-8")

    code, out, err = cli("import", "events", str(path), "--no-progress", *FAST, env=env)

    assert code == 2
    assert out == ""
    assert "error: column 'properties.seats:integer': unknown type 'integer'" in err
    assert "int, real, bool, json" in err
    assert_no_traceback(out, err)
    assert sandbox.events("fullstory") == []
    assert sandbox.stats()["requests"] == {}


def test_import_reads_ndjson_from_stdin(
    fast_jobs: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    lines = [
        json.dumps({"name": "Piped", "user": {"uid": f"p{n}"}, "properties": {"n": n}})
        for n in range(3)
    ]

    code, out, err = cli(
        "import",
        "events",
        "-",
        "--no-progress",
        *FAST,
        env=env,
        input="\n".join(lines) + "\n",
        cwd=tmp_path,
    )

    assert code == 0, err
    assert out.startswith("imported 3 events of 3 read in ")
    received = sorted((e["user"]["uid"], e["properties"]["n"]) for e in fast_jobs.events())
    assert received == [("p0", 0), ("p1", 1), ("p2", 2)]
    assert list(tmp_path.iterdir()) == []  # nothing failed: no failed file


def test_failures_from_stdin_go_to_import_failed_ndjson(
    fast_jobs: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    code, out, _ = cli(
        "import",
        "events",
        "-",
        "--no-progress",
        *FAST,
        env=env,
        input='{"name": "Ok", "user": {"uid": "a"}}\nnot json\n',
        cwd=tmp_path,
    )

    assert code == 1
    assert "1 failed: written to import-failed.ndjson" in out
    failed = read_ndjson(tmp_path / "import-failed.ndjson")
    assert [(f["_raw"], f["_error"]["code"], f["_error"]["line"]) for f in failed] == [
        ("not json", "invalid_json", 2)
    ]
    assert [e["name"] for e in fast_jobs.events("fullstory")] == ["Ok"]


# ---- 5. errors a person can act on ------------------------------------------------------------


def test_missing_key_exits_2_and_says_how_to_give_one(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    del env["FULLSTORY_API_KEY"]
    path = write_ndjson(tmp_path / "users.ndjson", [{"uid": "a"}])
    for args in (
        ("users", "list"),
        ("send-event", "Clicked", "--uid", "a"),
        ("import", "users", str(path), "--no-progress"),
    ):
        code, out, err = cli(*args, env=env)
        assert code == 2, args
        assert out == ""
        assert err.startswith("error: ")
        assert "FULLSTORY_API_KEY" in err
        assert "--api-key" in err
        assert_no_traceback(out, err)
    assert sandbox.stats()["requests"] == {}


def test_a_file_that_does_not_exist_exits_2_naming_it(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-file.ndjson"
    code, out, err = cli("import", "users", str(missing), env=env)
    assert code == 2
    assert out == ""
    assert err == f"error: cannot read {missing}: No such file or directory\n"
    assert not Path(f"{missing}.failed.ndjson").exists()


def test_an_unreachable_server_exits_3(env: dict[str, str], tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_closed_port()}"
    path = write_ndjson(tmp_path / "users.ndjson", [{"uid": "a"}])
    for args in (
        ("users", "list"),
        ("users", "get", "1"),
        ("send-event", "Clicked", "--uid", "a"),
        ("import", "users", str(path), "--no-progress"),
    ):
        code, out, err = cli(*args, "--base-url", url, "--max-retries", "0", env=env)
        assert code == 3, (args, err)
        assert out == ""
        assert "error: cannot reach FullStory" in err
        assert err.endswith("(check --base-url and the network)\n")
        assert_no_traceback(out, err)


def test_a_server_too_slow_for_the_timeout_says_to_raise_it(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    sandbox.set_faults(latency_ms=1500, paths=["/v2/users"])
    code, out, err = cli("users", "list", "--timeout", "0.3", "--max-retries", "0", env=env)
    assert code == 3, err
    assert out == ""
    assert err.startswith("error: cannot reach FullStory: ")
    assert err.endswith(
        "(raise --timeout if the API is slow, or check --base-url and the network)\n"
    )
    assert_no_traceback(out, err)
    # The server finishes the slow request after the client gave up: let it, so that it is
    # not counted in the next test's sandbox.
    deadline = time.monotonic() + 10
    while "GET /v2/users" not in sandbox.stats()["requests"]:
        assert time.monotonic() < deadline, "the slow request never finished"
        time.sleep(0.05)


def test_a_refused_key_exits_2() -> None:
    with Sandbox(api_key="right", job_delay=0) as server:
        env = {**base_env(), "FULLSTORY_BASE_URL": server.url}
        code, out, err = cli("users", "list", "--api-key", "wrong", env=env)
        assert code == 2
        assert out == ""
        assert err.startswith("error: the API key was refused")
        assert "401" in err
        assert_no_traceback(out, err)
        # The right key, the same way, works.
        code, out, err = cli("users", "list", "--api-key", "right", env=env)
        assert (code, out, err) == (0, "", "")


@pytest.mark.parametrize(
    "args",
    [
        ("--chunk-size", "0"),
        ("--chunk-size", "50001"),
        ("--shared-context", "{not json"),
        ("--jobs-in-flight", "0"),
    ],
    ids=["chunk-0", "chunk-50001", "bad-context", "no-jobs"],
)
def test_bad_import_options_exit_2(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path, args: tuple[str, str]
) -> None:
    path = write_ndjson(tmp_path / "events.ndjson", [{"name": "A", "user": {"uid": "a"}}])
    code, out, err = cli("import", "events", str(path), "--no-progress", *args, env=env)
    assert code == 2, err
    assert out == ""
    assert err.startswith("error: ")
    assert args[0] in err or args[0].lstrip("-").replace("-", "_") in err
    assert_no_traceback(out, err)
    assert sandbox.stats()["requests"] == {}
    assert not (tmp_path / "events.ndjson.failed.ndjson").exists()


def test_chunk_size_0_names_the_range(env: dict[str, str], tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "users.ndjson", [{"uid": "a"}])
    code, out, err = cli("import", "users", str(path), "--chunk-size", "0", env=env)
    assert (code, out, err) == (2, "", "error: --chunk-size must be between 1 and 50000\n")


def test_a_server_that_keeps_failing_exits_3(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    sandbox.configure(job_delay_s=0)
    sandbox.set_faults(error_rate=1.0, paths=["/v2/users/batch"])
    path = write_ndjson(tmp_path / "users.ndjson", [{"uid": "a"}])
    code, out, err = cli(
        "import", "users", str(path), "--no-progress", "--max-retries", "1", *FAST, env=env
    )
    assert code == 3
    assert out == ""
    assert err.startswith("error: FullStory kept failing: ")
    assert "500" in err
    assert "try again later" in err
    assert_no_traceback(out, err)
    assert sandbox.stats()["requests"]["POST /v2/users/batch"] == {"500": 2}


def test_a_5xx_without_retries_exits_3(sandbox: Sandbox, env: dict[str, str]) -> None:
    sandbox.set_faults(error_rate=1.0, paths=["/v2/events"])
    code, out, err = cli("send-event", "Clicked", "--uid", "u1", "--max-retries", "0", env=env)
    assert code == 3, err
    assert out == ""
    assert err.startswith("error: FullStory is failing: ")
    assert "try again later" in err
    assert_no_traceback(out, err)


@pytest.mark.parametrize("where", ["missing-dir", "a-directory"])
def test_a_failed_file_that_cannot_be_written_exits_2_before_importing(
    fast_jobs: Sandbox, env: dict[str, str], tmp_path: Path, where: str
) -> None:
    path = bad_users_file(tmp_path)
    target = tmp_path / "missing-dir" / "failed.ndjson" if where == "missing-dir" else tmp_path
    code, out, err = cli(
        "import", "users", str(path), "--failed-file", str(target), "--no-progress", *FAST, env=env
    )
    assert code == 2, err
    assert out == ""
    assert err.startswith(f"error: {target}") or err.startswith(f"error: --failed-file {target}")
    assert "does not exist" in err or "Is a directory" in err
    assert_no_traceback(out, err)
    assert fast_jobs.stats()["jobs"]["total"] == 0


def test_a_csv_header_that_is_not_csv_exits_2(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text('name,user.uid,"' + "x" * 200_000 + '"\nSigned Up,u1,x\n')  # > field limit
    code, out, err = cli("import", "events", str(path), "--no-progress", env=env)
    assert code == 2, err
    assert out == ""
    assert f"error: {path}: the header is not valid CSV" in err
    assert_no_traceback(out, err)


def test_an_empty_csv_file_exits_2(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("", encoding="utf-8")
    code, out, err = cli("import", "events", str(path), "--no-progress", env=env)
    assert (code, out, err) == (2, "", f"error: {path}: the CSV file has no header row\n")


def test_an_ndjson_line_that_is_not_utf8_fails_with_its_line(
    fast_jobs: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "users.ndjson"
    path.write_bytes(b'{"uid": "a"}\n{"uid": "Caf\xe9"}\n{"uid": "b"}\n')
    code, out, err = cli("import", "users", str(path), "--no-progress", *FAST, env=env)
    assert code == 1, err
    assert out.startswith("imported 2 users of 3 read")
    [failed] = read_ndjson(tmp_path / "users.ndjson.failed.ndjson")
    assert failed["_error"]["code"] == "invalid_json"
    assert failed["_error"]["line"] == 2
    assert failed["_raw"] == '{"uid": "Caf\ufffd"}'


@pytest.mark.parametrize("where", ["header", "row"])
def test_a_csv_file_that_is_not_utf8_is_an_error_a_person_can_act_on(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path, where: str
) -> None:
    path = tmp_path / "events.csv"
    header, row = "name,user.uid,properties.caf\xe9", "Signed Up,u1,caf\xe9"
    if where == "header":
        text = f"{header}\n{row}\n"
    else:
        text = "name,user.uid,properties.place\nSigned Up,u1,home\n" + row + "\n"
    path.write_bytes(text.encode("latin-1"))

    code, out, err = cli("import", "events", str(path), "--no-progress", *FAST, env=env)

    assert_no_traceback(out, err)
    if where == "header":
        # The whole file is unusable: say which file and what is wrong with it.
        assert code == 2, err
        assert out == ""
        assert err == f"error: {path}: the header is not UTF-8 text; save the file as UTF-8\n"
    else:
        # Only that row fails, with its line, and the others are imported.
        assert code == 1, err
        [failed] = read_ndjson(Path(f"{path}.failed.ndjson"))
        assert failed["_error"]["code"] == "invalid_utf8"
        assert failed["_error"]["line"] == 3
        assert failed["_cells"]["properties.place"] == "caf\ufffd"
        assert [e["properties"] for e in sandbox.events("fullstory")] == [{"place": "home"}]


def test_a_csv_row_that_is_not_utf8_deep_in_a_file_is_named_by_its_line(
    fast_jobs: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "users.csv"
    rows = [f"u{n},User {n}" for n in range(5000)]
    rows[4000] = "u4000,Caf\xe9"  # line 4002: the header is line 1
    path.write_bytes(("uid,display_name\n" + "\n".join(rows) + "\n").encode("latin-1"))

    code, out, err = cli("import", "users", str(path), "--no-progress", *FAST, env=env)

    assert code == 1, err
    assert out.startswith("imported 4,999 users of 5,000 read")
    [failed] = read_ndjson(Path(f"{path}.failed.ndjson"))
    assert failed["_error"]["line"] == 4002
    assert failed["_cells"] == {"uid": "u4000", "display_name": "Caf\ufffd"}


# ---- 6. send-event ----------------------------------------------------------------------------


def test_send_event_with_properties(sandbox: Sandbox, env: dict[str, str]) -> None:
    code, out, err = cli(
        "send-event",
        "Clicked",
        "--uid",
        "u1",
        "--property",
        "plan=pro",
        "--property",
        "seats:=3",
        env=env,
    )

    assert code == 0, err
    answer = json.loads(out)
    assert answer["sent"] == "Clicked"
    assert answer["status"] == 200
    assert isinstance(answer["idempotency_key"], str)
    assert len(answer["idempotency_key"]) >= 16
    [event] = sandbox.events("fullstory")
    assert event["name"] == "Clicked"
    assert event["user"]["uid"] == "u1"
    assert event["properties"] == {"plan": "pro", "seats": 3}
    assert event["idempotency_key"] == answer["idempotency_key"]
    assert event["integration_source"] == "session-analytics-cli"


def test_send_event_with_timestamp_and_session(sandbox: Sandbox, env: dict[str, str]) -> None:
    session = sandbox.create_session(uid="u7")
    code, out, err = cli(
        "send-event",
        "Paid",
        "--session-id",
        session["id"],
        "--timestamp",
        "2024-02-01T12:30:00Z",
        "--property",
        'items:=["a", "b"]',
        env=env,
    )
    assert code == 0, err
    assert json.loads(out)["status"] == 200
    [event] = sandbox.events("fullstory")
    assert event["timestamp"] == "2024-02-01T12:30:00Z"
    assert event["session"] == {"id": session["id"]}
    assert event["user"]["uid"] == "u7"
    assert event["properties"] == {"items": ["a", "b"]}


def test_send_event_twice_with_one_idempotency_key_is_recorded_once(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    args = ("send-event", "Clicked", "--uid", "u1", "--idempotency-key", "click-42")
    first = cli(*args, env=env)
    second = cli(*args, env=env)
    assert first[0] == 0, first[2]
    assert second[0] == 0, second[2]
    assert json.loads(first[1])["idempotency_key"] == "click-42"
    assert json.loads(second[1])["idempotency_key"] == "click-42"
    assert len(sandbox.events("fullstory", name="Clicked")) == 1


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ("plan", "--property 'plan': write key=value (a string) or key:=json"),
        ("seats:={", "--property 'seats:={': the part after := is not JSON"),
        ("=pro", "--property '=pro': the key is empty"),
    ],
)
def test_send_event_with_a_malformed_property_exits_2(
    sandbox: Sandbox, env: dict[str, str], prop: str, expected: str
) -> None:
    code, out, err = cli("send-event", "Clicked", "--uid", "u1", "--property", prop, env=env)
    assert (code, out, err) == (2, "", f"error: {expected}\n")
    assert sandbox.events() == []


def test_send_event_with_a_bad_timestamp_exits_2(sandbox: Sandbox, env: dict[str, str]) -> None:
    code, out, err = cli(
        "send-event", "Clicked", "--uid", "u1", "--timestamp", "yesterday", env=env
    )
    assert code == 2
    assert out == ""
    assert "timestamp" in err
    assert "ISO 8601" in err
    assert_no_traceback(out, err)
    assert sandbox.events() == []


def test_send_event_to_smartlook(sandbox: Sandbox) -> None:
    code, out, err = cli(
        "send-event",
        "Opened",
        "--smartlook",
        "--vid",
        "v1",
        "--value",
        "42",
        "--property",
        "plan=pro",
        "--smartlook-key",
        sandbox.smartlook_key,
        "--host",
        sandbox.url,
    )
    assert code == 0, err
    assert json.loads(out) == {"sent": "Opened", "to": "smartlook", "vid": "v1"}
    [event] = sandbox.events("smartlook")
    assert (event["name"], event["vid"], event["value"]) == ("Opened", "v1", "42")
    assert event["props"] == {"plan": "pro"}
    assert sandbox.events("fullstory") == []


def test_send_event_to_smartlook_from_the_environment(sandbox: Sandbox) -> None:
    env = {**base_env(), "SMARTLOOK_KEY": sandbox.smartlook_key, "SMARTLOOK_HOST": sandbox.url}
    code, _, err = cli("send-event", "Opened", "--smartlook", "--vid", "v9", env=env)
    assert code == 0, err
    assert [e["vid"] for e in sandbox.events("smartlook")] == ["v9"]


def test_smartlook_without_vid_exits_2(sandbox: Sandbox) -> None:
    code, out, err = cli(
        "send-event", "Opened", "--smartlook", "--smartlook-key", "k", "--host", sandbox.url
    )
    assert (code, out, err) == (2, "", "error: --smartlook needs --vid (the visitor id)\n")
    assert sandbox.events() == []


def test_smartlook_unreachable_exits_3() -> None:
    url = f"http://127.0.0.1:{free_closed_port()}"
    code, out, err = cli(
        "send-event",
        "Opened",
        "--smartlook",
        "--vid",
        "v1",
        "--smartlook-key",
        "k",
        "--host",
        url,
        "--timeout",
        "2",
    )
    assert code == 3, err
    assert out == ""
    assert "cannot reach Smartlook" in err
    assert "check --host and the network" in err
    assert "--base-url" not in err
    assert_no_traceback(out, err)


# ---- 7. users ---------------------------------------------------------------------------------


@pytest.fixture
def three_users(sandbox: Sandbox) -> dict[str, str]:
    """uid -> FullStory id of three users."""
    with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
        return {
            uid: fs.users.create({"uid": uid, "display_name": name, "email": f"{uid}@x.io"}).id
            for uid, name in (("ann", "Ann"), ("bob", "Bob"), ("cy", "Cy"))
        }


def test_users_list_prints_one_json_object_per_line(
    three_users: dict[str, str], env: dict[str, str]
) -> None:
    code, out, err = cli("users", "list", "--uid", "bob", env=env)
    assert code == 0, err
    [line] = out.splitlines()
    user = json.loads(line)
    assert (user["id"], user["uid"], user["display_name"]) == (three_users["bob"], "bob", "Bob")

    code, out, _ = cli("users", "list", env=env)
    assert code == 0
    assert sorted(json.loads(line)["uid"] for line in out.splitlines()) == ["ann", "bob", "cy"]

    code, out, _ = cli("users", "list", "--limit", "2", env=env)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert all(json.loads(line)["uid"] in three_users for line in lines)

    code, out, _ = cli("users", "list", "--uid", "nobody", env=env)
    assert (code, out) == (0, "")


def test_users_list_with_a_negative_limit_exits_2(env: dict[str, str]) -> None:
    code, out, err = cli("users", "list", "--limit", "-1", env=env)
    assert (code, out, err) == (2, "", "error: --limit must be 0 (all) or more\n")


def test_users_get_prints_the_user(three_users: dict[str, str], env: dict[str, str]) -> None:
    code, out, err = cli("users", "get", three_users["ann"], env=env)
    assert code == 0, err
    user = json.loads(out)
    assert user["id"] == three_users["ann"]
    assert user["uid"] == "ann"
    assert user["display_name"] == "Ann"
    assert user["email"] == "ann@x.io"


def test_users_get_unknown_exits_1_with_the_api_message(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    code, out, err = cli("users", "get", "999999999", env=env)
    assert code == 1
    assert out == ""
    assert err.startswith("error: ")
    assert "404" in err
    assert "resource_not_found" in err
    assert "does not exist" in err
    assert_no_traceback(out, err)


def test_users_delete_by_uid_and_by_id(
    sandbox: Sandbox, three_users: dict[str, str], env: dict[str, str]
) -> None:
    assert sandbox.stats()["users"] == 3
    code, out, err = cli("users", "delete", "--uid", "bob", env=env)
    assert (code, out, err) == (0, "deleted uid bob\n", "")
    assert sandbox.stats()["users"] == 2

    code, out, err = cli("users", "delete", "--id", three_users["cy"], env=env)
    assert (code, out, err) == (0, f"deleted user {three_users['cy']}\n", "")
    assert sandbox.stats()["users"] == 1

    code, out, _ = cli("users", "get", three_users["bob"], env=env)
    gone_or_going = code == 1 or json.loads(out).get("is_being_deleted") is True
    assert gone_or_going


def test_users_delete_needs_id_or_uid(env: dict[str, str]) -> None:
    code, out, err = cli("users", "delete", env=env)
    assert code == 2
    assert out == ""
    assert "one of the arguments --id --uid is required" in err

    code, _, err = cli("users", "delete", "--id", "1", "--uid", "a", env=env)
    assert code == 2
    assert "not allowed with argument" in err


# ---- 8. the key is never printed --------------------------------------------------------------

SECRET = "sk-Zebra-Quokka-7731-distinctive"


def test_the_api_key_is_never_printed(tmp_path: Path) -> None:
    good = write_ndjson(tmp_path / "good.ndjson", [{"uid": f"s{n}"} for n in range(3)])
    bad = write_ndjson(tmp_path / "bad.ndjson", [{"uid": "ok"}, "nope", {"id": "404404"}])
    with Sandbox(api_key=SECRET, job_delay=0) as server:
        env = {**base_env(), "FULLSTORY_API_KEY": SECRET, "FULLSTORY_BASE_URL": server.url}
        runs = {
            # successful
            "list": cli("users", "list", env=env),
            "send": cli("send-event", "Clicked", "--uid", "s0", env=env),
            "flag": cli("users", "list", "--api-key", SECRET, env=env),
            # verbose: the progress bar and the summary
            "import": cli("import", "users", str(good), *FAST, env=env),
            # failing
            "bad-import": cli("import", "users", str(bad), *FAST, env=env),
            "get-unknown": cli("users", "get", "404404", env=env),
            "refused": cli("users", "list", "--api-key", SECRET + "-wrong", env=env),
            "unreachable": cli(
                "users",
                "list",
                "--base-url",
                f"http://127.0.0.1:{free_closed_port()}",
                "--max-retries",
                "0",
                env=env,
            ),
        }
    codes = {name: code for name, (code, _, _) in runs.items()}
    assert codes == {
        "list": 0,
        "send": 0,
        "flag": 0,
        "import": 0,
        "bad-import": 1,
        "get-unknown": 1,
        "refused": 2,
        "unreachable": 3,
    }
    assert "importing users" in runs["import"][2]
    for name, (_, out, err) in runs.items():
        assert SECRET not in out, name
        assert SECRET not in err, name
        assert "Zebra-Quokka" not in out + err, name
    failed_file = (tmp_path / "bad.ndjson.failed.ndjson").read_text(encoding="utf-8")
    assert "Zebra-Quokka" not in failed_file


@pytest.fixture
def smartlook_server() -> Iterator[Sandbox]:
    """A sandbox that accepts one Smartlook project key only."""
    config = SandboxConfig(smartlook_keys=frozenset({"the-project-key"}))
    with Sandbox(config, job_delay=0) as server:
        yield server


def smartlook_send(server: Sandbox) -> tuple[str, ...]:
    return ("send-event", "Opened", "--smartlook", "--vid", "v1", "--host", server.url)


def test_smartlook_missing_key_exits_2_naming_the_flag_and_variable(
    smartlook_server: Sandbox,
) -> None:
    code, out, err = cli(*smartlook_send(smartlook_server))
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert "SMARTLOOK_KEY" in err
    assert "--smartlook-key" in err  # a person at a shell passes a flag, not key=...
    assert_no_traceback(out, err)
    assert smartlook_server.events() == []


def test_smartlook_refused_key_exits_2(smartlook_server: Sandbox) -> None:
    send = smartlook_send(smartlook_server)
    code, out, err = cli(*send, "--smartlook-key", "not-the-project-key")
    assert code == 2
    assert out == ""
    assert "error: Smartlook refused the project key" in err
    assert "SMARTLOOK_KEY" in err
    assert_no_traceback(out, err)
    assert smartlook_server.events() == []

    code, _, err = cli(*send, "--smartlook-key", "the-project-key")
    assert code == 0, err
    assert [e["vid"] for e in smartlook_server.events("smartlook")] == ["v1"]


def test_the_summary_shows_the_first_failures_and_counts_the_rest(tmp_path: Path) -> None:
    failed = FailedFile(tmp_path / "failed.ndjson")
    for n in range(7):
        failed.write({"n": n}, {"code": "invalid_json", "message": f"bad {n}", "line": n + 1})
    failed.close()
    shown = failed.first_lines(7)
    assert shown[: FailedFile.SHOWN] == [
        f"  line {n + 1}: invalid_json: bad {n}" for n in range(FailedFile.SHOWN)
    ]
    assert shown[FailedFile.SHOWN :] == [f"  ... and 2 more in {failed.path}"]
    assert len(read_ndjson(failed.path)) == 7  # the file has them all
