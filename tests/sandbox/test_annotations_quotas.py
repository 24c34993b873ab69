"""The sandbox's annotations (POST /v2/annotations, listed on /_sandbox/annotations) and the
organization's quotas (GET /v2/organization/quotas) counted from what it received, over HTTP.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import wait_until

from session_analytics.sandbox import Sandbox, spec

CLI = str(Path(sys.executable).with_name("session-analytics"))
READY = re.compile(r"session-analytics sandbox ready at (http://127\.0\.0\.1:\d+)")


def annotate(fs: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = fs.post("/v2/annotations", json=body)
    assert response.status_code == 200, response.text
    spec.validate("fullstory", "Annotation", response.json())
    answer: dict[str, Any] = response.json()
    return answer


def quotas(fs: httpx.Client) -> dict[str, Any]:
    response = fs.get("/v2/organization/quotas")
    assert response.status_code == 200, response.text
    spec.validate("fullstory", "QuotasResponse", response.json())
    body: dict[str, Any] = response.json()
    return body


def usage(fs: httpx.Client) -> tuple[str, str]:
    body = quotas(fs)
    return body["session_quota"]["usage"], body["server_event_quota"]["usage"]


# ---- annotations ---------------------------------------------------------------------------------


def test_an_annotation_is_answered_whole_and_listed(sandbox: Sandbox, fs: httpx.Client) -> None:
    body = {
        "text": "Release 4.2",
        "start_time": "2024-06-29T14:23:23Z",
        "end_time": "2024-06-29T17:00:00.5+02:00",
        "source": "deploy pipeline",
    }

    assert annotate(fs, body) == body
    (listed,) = sandbox.annotations()
    assert {k: listed[k] for k in body} == body
    assert listed["received_at"].endswith("Z")
    assert sandbox.stats()["annotations"] == 1


def test_an_annotation_gets_its_defaults(sandbox: Sandbox, fs: httpx.Client) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)

    answer = annotate(fs, {"text": "Now"})

    assert set(answer) == {"text", "start_time", "end_time", "source"}
    assert answer["source"] == ""
    assert answer["end_time"] == answer["start_time"]
    started = datetime.fromisoformat(answer["start_time"].replace("Z", "+00:00"))
    assert started >= before
    assert annotate(fs, {"text": "Later", "start_time": "2024-01-01T00:00:00Z"})["end_time"] == (
        "2024-01-01T00:00:00Z"
    )


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "text"),
        ({"text": None}, "text"),
        ({"text": 5}, "text"),
        ({"text": "x" * 201}, "text"),
        ({"text": "t", "source": "s" * 41}, "source"),
        ({"text": "t", "start_time": "yesterday"}, "start_time"),
        ({"text": "t", "start_time": "2024-06-29 14:23:23"}, "start_time"),
        ({"text": "t", "end_time": "2024-13-01T00:00:00Z"}, "end_time"),
        (
            {"text": "t", "start_time": "2024-06-29T14:00:00Z", "end_time": "2024-06-29T13:59:59Z"},
            "end_time must be after start_time",
        ),
        (
            {
                "text": "t",
                "start_time": "2024-06-29T14:00:00Z",
                "end_time": "2024-06-29T16:00:00+02:00",
            },
            "end_time must be after start_time",
        ),
        ({"text": "t", "end_time": "2001-01-01T00:00:00Z"}, "end_time must be after start_time"),
    ],
)
def test_a_bad_annotation_is_refused_and_not_kept(
    sandbox: Sandbox, fs: httpx.Client, body: dict[str, Any], fragment: str
) -> None:
    response = fs.post("/v2/annotations", json=body)

    assert response.status_code == 400, response.text
    assert set(response.json()) == {"code", "message"}
    assert fragment in response.json()["message"]
    assert sandbox.annotations() == []


def test_text_of_exactly_200_and_source_of_40_characters_are_taken(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    answer = annotate(fs, {"text": "x" * 200, "source": "s" * 40})

    assert (len(answer["text"]), len(answer["source"])) == (200, 40)


def test_reset_forgets_the_annotations(sandbox: Sandbox, fs: httpx.Client) -> None:
    annotate(fs, {"text": "gone soon"})

    sandbox.reset()

    assert sandbox.annotations() == []


# ---- quotas --------------------------------------------------------------------------------------


def test_quotas_report_the_configured_limits_for_this_month(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    body = quotas(fs)

    now = datetime.now(timezone.utc)
    month_start = f"{now.year:04}-{now.month:02}-01T00:00:00Z"
    following = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    month_end = f"{following[0]:04}-{following[1]:02}-01T00:00:00Z"
    assert body == {
        "session_quota": {
            "usage": "0",
            "limit": "100000",
            "period_start": month_start,
            "period_end": month_end,
        },
        "server_event_quota": {
            "usage": "0",
            "limit": "1000000",
            "period_start": month_start,
            "period_end": month_end,
        },
    }


def test_quotas_count_sessions_and_stored_server_events(sandbox: Sandbox, fs: httpx.Client) -> None:
    most_recent = {"user": {"uid": "counted"}, "session": {"use_most_recent": True}}
    for name in ("A", "B"):
        assert fs.post("/v2/events", json={"name": name, **most_recent}).status_code == 200
    assert fs.post("/v2/events", json={"name": "C"}).status_code == 200
    assert fs.post("/v2/events", json={"name": ""}).status_code == 400  # refused: not counted
    sandbox.create_session(uid="recorded")

    assert usage(fs) == ("2", "3")

    sandbox.configure(job_delay_s=0)
    items = [{"name": "D"}, {"name": ""}, {"name": "E", "session": {"id": "123:456"}}]
    assert fs.post("/v2/events/batch", json={"requests": items}).status_code == 200
    wait_until(lambda: usage(fs) == ("3", "5"), what="the two imported events and one session")


def test_quota_limits_come_from_the_config(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.configure(session_quota=5, server_event_quota=7)

    body = quotas(fs)

    assert (body["session_quota"]["limit"], body["server_event_quota"]["limit"]) == ("5", "7")


def test_quota_options_of_a_sandbox_of_its_own() -> None:
    with (
        Sandbox(session_quota=12, server_event_quota=34, stream_delay=0) as own,
        httpx.Client(base_url=own.url, headers={"Authorization": f"Basic {own.api_key}"}) as fs,
    ):
        body = quotas(fs)
        config = fs.get("/_sandbox/config").json()

    assert (body["session_quota"]["limit"], body["server_event_quota"]["limit"]) == ("12", "34")
    assert (config["session_quota"], config["server_event_quota"]) == (12, 34)
    assert config["stream_delay_s"] == 0.0


def test_the_cli_flags_set_the_quotas_and_the_stream_delay() -> None:
    command = [CLI, "sandbox", "--port", "0", "--session-quota", "12"]
    command += ["--server-event-quota", "34", "--stream-delay", "0"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as run:
        try:
            assert run.stdout is not None
            printed = []
            for line in run.stdout:
                printed.append(line)
                if found := READY.search(line):
                    break
            else:
                raise AssertionError("the sandbox never said it was ready: " + "".join(printed))
            url = found.group(1)
            with httpx.Client(base_url=url, headers={"Authorization": "Basic k"}) as fs:
                body = quotas(fs)
                user_id = status_of(fs, fs.post("/v2/users/stream", json={"uid": "cli"}))
            for line in run.stdout:  # the start-up notes, up to the last one
                printed.append(line)
                if "press Ctrl+C" in line:
                    break
        finally:
            run.kill()
    assert (body["session_quota"]["limit"], body["server_event_quota"]["limit"]) == ("12", "34")
    assert user_id != ""
    assert "stream user creates apply after 0 s; monthly quotas: 12 sessions, 34 server events" in (
        "".join(printed)
    )


def status_of(fs: httpx.Client, created: httpx.Response) -> str:
    assert created.status_code == 200, created.text
    answer = fs.get(f"/v2/users/stream/{created.json()['request_id']}")
    assert answer.status_code == 200, answer.text
    user_id: str = answer.json()["id"]
    return user_id


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--session-quota", "-1", "argument --session-quota: must be a whole number >= 0"),
        ("--server-event-quota", "1.5", "argument --server-event-quota: not a whole number"),
        ("--stream-delay", "soon", "argument --stream-delay: not a number"),
    ],
)
def test_the_cli_refuses_bad_quota_and_delay_flags(flag: str, value: str, message: str) -> None:
    done = subprocess.run(
        [CLI, "sandbox", "--port", "0", flag, value],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 2
    assert message in done.stderr
