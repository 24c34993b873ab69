"""End-to-end tests of ``session-analytics sessions list|events``.

Each test runs the installed console script against the sandbox of the package's pytest plugin,
whose sessions come from what it was sent: a table for people, the API's JSON with --json (the
same document the SDK reads), errors that name the option, exit codes, and no key in any output.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
from typing import Any

import pytest
from support import CLI_TIMEOUT_S, EXE, assert_no_traceback, base_env, cli, sandbox_env

from session_analytics.fullstory import FullStory
from session_analytics.sandbox import Sandbox

SECRET = "sk-Heron-Marmot-4410-distinctive"


@pytest.fixture
def env(sandbox: Sandbox) -> dict[str, str]:
    return sandbox_env(sandbox)


def start_session(sandbox: Sandbox, uid: str) -> str:
    """A new session of the user ``uid`` (created with it when it is new): its id."""
    session_id: str = sandbox.create_session(uid=uid)["id"]
    return session_id


def send_to_session(sandbox: Sandbox, session_id: str, *names: str) -> None:
    with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
        for number, name in enumerate(names):
            fs.events.create(
                {
                    "name": name,
                    "session": {"id": session_id},
                    "properties": {"step": number},
                }
            )


def sdk_json(sandbox: Sandbox, call: Any) -> Any:
    """What the SDK reads from the sandbox, as JSON: what --json must print."""
    with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
        return call(fs).to_dict()


def table(out: str) -> list[list[str]]:
    """The rows of a plain-text table (its header first), cells split on runs of spaces."""
    return [line.split() for line in out.splitlines()]


# ---- sessions list ------------------------------------------------------------------------------


def test_sessions_list_prints_a_table_newest_first(sandbox: Sandbox, env: dict[str, str]) -> None:
    first = start_session(sandbox, "u-1")
    second = start_session(sandbox, "u-1")
    start_session(sandbox, "someone-else")

    code, out, err = cli("sessions", "list", "--uid", "u-1", env=env)

    assert code == 0, err
    assert err == ""
    rows = table(out)
    assert rows[0] == ["session", "started", "replay"]
    assert [row[0] for row in rows[1:]] == [second, first]
    for row in rows[1:]:
        assert len(row) == 4  # id, the start in UTC (date, time), the replay link
        assert row[2].endswith("Z")
        assert row[-1].startswith(sandbox.url)  # the replay link points at the sandbox
        assert row[0].replace(":", "%3A") in row[-1]  # the id, URL-encoded


def on_a_terminal(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run ``session-analytics ARGS`` with its stdout on a pseudo-terminal: (exit code, what it
    wrote there)."""
    leader, follower = pty.openpty()
    try:
        with subprocess.Popen(
            [str(EXE), *args], env=env, stdout=follower, stderr=subprocess.PIPE
        ) as process:
            os.close(follower)
            follower = -1
            chunks = []
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal closed with the process
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            code = process.wait(timeout=CLI_TIMEOUT_S)
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    return code, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def test_on_a_narrow_terminal_ids_and_links_stay_whole(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    session_id = start_session(sandbox, "u-1")
    narrow = {**env, "TERM": "dumb", "COLUMNS": "60"}  # dumb: no colours, 80 columns at most

    code, out = on_a_terminal("sessions", "list", "--uid", "u-1", env=narrow)

    assert code == 0, out
    header, row = out.splitlines()
    assert header.split() == ["session", "started", "replay"]
    cells = row.split()
    assert cells[0] == session_id
    assert cells[-1].startswith(sandbox.url)
    assert cells[-1].endswith(session_id.replace(":", "%3A"))


def test_sessions_list_json_is_the_api_document(sandbox: Sandbox, env: dict[str, str]) -> None:
    start_session(sandbox, "u-1")
    start_session(sandbox, "u-1")

    code, out, err = cli("sessions", "list", "--uid", "u-1", "--json", env=env)

    assert code == 0, err
    document = json.loads(out)
    assert document == sdk_json(sandbox, lambda fs: fs.sessions.list(uid="u-1"))
    assert len(document["results"]) == 2


def test_sessions_list_limit(sandbox: Sandbox, env: dict[str, str]) -> None:
    start_session(sandbox, "u-1")
    newest = start_session(sandbox, "u-1")

    code, out, err = cli("sessions", "list", "--uid", "u-1", "--limit", "1", env=env)

    assert code == 0, err
    assert [row[0] for row in table(out)[1:]] == [newest]


def test_sessions_list_by_email(sandbox: Sandbox, env: dict[str, str]) -> None:
    session_id = start_session(sandbox, "u-mail")
    with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
        fs.users.create({"uid": "u-mail", "email": "ada@example.com"})

    code, out, err = cli("sessions", "list", "--email", "ada@example.com", "--json", env=env)

    assert code == 0, err
    assert [session["id"] for session in json.loads(out)["results"]] == [session_id]


def test_sessions_list_by_session_uid(sandbox: Sandbox, env: dict[str, str]) -> None:
    start_session(sandbox, "u-1")
    wanted: str = sandbox.create_session(uid="u-1", session_uid="checkout-42")["id"]

    code, out, err = cli("sessions", "list", "--session-uid", "checkout-42", env=env)

    assert code == 0, err
    assert [row[0] for row in table(out)[1:]] == [wanted]


def test_no_sessions_is_a_friendly_line(sandbox: Sandbox, env: dict[str, str]) -> None:
    code, out, err = cli("sessions", "list", "--uid", "nobody", env=env)
    assert (code, out, err) == (0, "no sessions found for uid nobody\n", "")

    code, out, err = cli("sessions", "list", "--email", "no@example.com", env=env)
    assert (code, out, err) == (0, "no sessions found for email no@example.com\n", "")

    code, out, err = cli("sessions", "list", "--session-uid", "none", env=env)
    assert (code, out, err) == (0, "no sessions found for session uid none\n", "")

    code, out, err = cli("sessions", "list", "--uid", "nobody", "--json", env=env)
    assert code == 0, err
    assert json.loads(out) == {"results": []}


def test_sessions_list_needs_one_way_to_find_the_user(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    code, out, err = cli("sessions", "list", env=env)
    assert code == 2
    assert out == ""
    assert "one of the arguments --uid --email --session-uid is required" in err

    code, out, err = cli("sessions", "list", "--uid", "a", "--email", "b@example.com", env=env)
    assert code == 2
    assert out == ""
    assert "argument --email: not allowed with argument --uid" in err

    code, out, err = cli("sessions", "list", "--uid", "a", "--session-uid", "s", env=env)
    assert code == 2
    assert "argument --session-uid: not allowed with argument --uid" in err
    assert_no_traceback(out, err)
    assert sandbox.requests() == []


@pytest.mark.parametrize("limit", ["0", "-3"])
def test_a_limit_below_1_exits_2(sandbox: Sandbox, env: dict[str, str], limit: str) -> None:
    code, out, err = cli("sessions", "list", "--uid", "a", "--limit", limit, env=env)
    assert (code, out, err) == (2, "", f"error: --limit must be at least 1 (got {limit})\n")
    assert sandbox.requests() == []


# ---- sessions events ----------------------------------------------------------------------------


def test_sessions_events_prints_a_table(sandbox: Sandbox, env: dict[str, str]) -> None:
    session_id = start_session(sandbox, "u-1")
    send_to_session(sandbox, session_id, "Opened Cart", "Paid")

    code, out, err = cli("sessions", "events", session_id, env=env)

    assert code == 0, err
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["time", "type", "source", "details"]
    assert len(lines) == 3
    assert "Opened Cart" in lines[1]
    assert "step=0" in lines[1]
    assert "Paid" in lines[2]
    assert "step=1" in lines[2]


def test_sessions_events_json_is_the_api_document(sandbox: Sandbox, env: dict[str, str]) -> None:
    session_id = start_session(sandbox, "u-1")
    send_to_session(sandbox, session_id, "Opened Cart")

    code, out, err = cli("sessions", "events", session_id, "--json", env=env)

    assert code == 0, err
    document = json.loads(out)
    assert document == sdk_json(sandbox, lambda fs: fs.sessions.events(session_id))
    assert len(document["events"]) == 1


def test_a_session_without_events(sandbox: Sandbox, env: dict[str, str]) -> None:
    session_id = start_session(sandbox, "u-1")
    code, out, err = cli("sessions", "events", session_id, env=env)
    assert (code, out, err) == (0, f"no events in session {session_id}\n", "")


def test_an_unknown_session_exits_1_with_the_api_error(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    code, out, err = cli("sessions", "events", "123:456", env=env)
    assert code == 1
    assert out == ""
    assert err.startswith("error: no session 123:456 (GET /v2/sessions/123:456/events answered 404")
    assert_no_traceback(out, err)


def test_a_malformed_session_id_exits_2_before_anything_is_sent(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    code, out, err = cli("sessions", "events", "not-a-session", env=env)
    assert code == 2
    assert out == ""
    assert err.startswith("error: SESSION_ID must be ")
    assert sandbox.requests() == []
    assert_no_traceback(out, err)


def test_sessions_events_needs_a_session_id(sandbox: Sandbox, env: dict[str, str]) -> None:
    code, out, err = cli("sessions", "events", env=env)
    assert code == 2
    assert out == ""
    assert "SESSION_ID" in err


# ---- keys ---------------------------------------------------------------------------------------


def test_a_missing_key_exits_2_naming_the_option_and_variable(sandbox: Sandbox) -> None:
    env = {**base_env(), "FULLSTORY_BASE_URL": sandbox.url}
    for args in (("sessions", "list", "--uid", "a"), ("sessions", "events", "1:2")):
        code, out, err = cli(*args, env=env)
        assert code == 2, args
        assert out == ""
        assert err.startswith("error: no FullStory API key")
        assert "--api-key" in err
        assert "FULLSTORY_API_KEY" in err
    assert sandbox.requests() == []


def test_the_api_key_is_never_printed() -> None:
    with Sandbox(api_key=SECRET, job_delay=0) as server:
        session_id = start_session(server, "u-1")
        send_to_session(server, session_id, "Paid")
        env = {**base_env(), "FULLSTORY_API_KEY": SECRET, "FULLSTORY_BASE_URL": server.url}
        runs = {
            "list": cli("sessions", "list", "--uid", "u-1", env=env),
            "list-json": cli("sessions", "list", "--uid", "u-1", "--json", env=env),
            "events": cli("sessions", "events", session_id, env=env),
            "events-json": cli("sessions", "events", session_id, "--json", env=env),
            "flag": cli("sessions", "list", "--uid", "u-1", "--api-key", SECRET, env=env),
            "unknown": cli("sessions", "events", "123:456", env=env),
            "refused": cli("sessions", "list", "--uid", "u-1", "--api-key", SECRET + "-x", env=env),
        }
    codes = {name: code for name, (code, _, _) in runs.items()}
    assert codes == {
        "list": 0,
        "list-json": 0,
        "events": 0,
        "events-json": 0,
        "flag": 0,
        "unknown": 1,
        "refused": 2,
    }
    for name, (_, out, err) in runs.items():
        assert "Heron-Marmot" not in out + err, name
