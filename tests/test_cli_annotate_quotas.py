"""End-to-end tests of ``session-analytics annotate`` and ``session-analytics quotas``.

The installed console script against the sandbox of the package's pytest plugin: the stored
annotation printed back (one line, or the API's JSON), times refused before anything is sent
when they are not RFC 3339 with a time zone, the quotas as a table or JSON, and no key in any
output.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from dateutil.parser import isoparse
from support import assert_no_traceback, base_env, cli, sandbox_env

from fullstory_api.models import QuotaUsage
from fullstory_api.types import UNSET
from session_analytics.cli._quotas import quota_row
from session_analytics.fullstory import FullStory
from session_analytics.sandbox import Sandbox

SECRET = "sk-Lynx-Pelican-2093-distinctive"


@pytest.fixture
def env(sandbox: Sandbox) -> dict[str, str]:
    return sandbox_env(sandbox)


def table(out: str) -> list[list[str]]:
    """The rows of a plain-text table (its header first), cells split on runs of 2+ spaces."""
    return [
        [cell.strip() for cell in line.split("  ") if cell.strip()] for line in out.splitlines()
    ]


# ---- annotate -----------------------------------------------------------------------------------


def test_annotate_prints_the_stored_annotation(sandbox: Sandbox, env: dict[str, str]) -> None:
    code, out, err = cli(
        "annotate",
        "Deploy 1.4.2",
        "--start",
        "2024-06-29T16:23:00+02:00",
        "--source",
        "deploy-pipeline",
        env=env,
    )
    assert code == 0, err
    assert err == ""
    assert out == 'annotation "Deploy 1.4.2" at 2024-06-29 14:23:00Z (source: deploy-pipeline)\n'
    [stored] = sandbox.annotations()
    assert stored["text"] == "Deploy 1.4.2"
    assert stored["source"] == "deploy-pipeline"
    assert isoparse(stored["start_time"]) == isoparse("2024-06-29T14:23:00Z")
    assert stored["end_time"] == stored["start_time"]


def test_annotate_with_a_range(sandbox: Sandbox, env: dict[str, str]) -> None:
    code, out, err = cli(
        "annotate",
        "Outage",
        "--start",
        "2024-06-29T14:23:00Z",
        "--end",
        "2024-06-29T15:00:30.250Z",
        env=env,
    )
    assert code == 0, err
    assert out == ('annotation "Outage" from 2024-06-29 14:23:00Z to 2024-06-29 15:00:30.250Z\n')


def test_annotate_without_times_takes_the_server_time(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    code, out, err = cli("annotate", "Deploy", env=env)
    assert code == 0, err
    assert out.startswith('annotation "Deploy" at 20')
    assert out.endswith("Z\n")


def test_annotate_json_is_the_api_document(sandbox: Sandbox, env: dict[str, str]) -> None:
    code, out, err = cli(
        "annotate",
        "Release",
        "--start",
        "2024-06-29T14:23:00Z",
        "--end",
        "2024-06-30T14:23:00Z",
        "--source",
        "ci",
        "--json",
        env=env,
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["text"] == "Release"
    assert document["source"] == "ci"
    assert document["start_time"].startswith("2024-06-29T14:23:00")
    assert document["end_time"].startswith("2024-06-30T14:23:00")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--start", "2024-06-29T14:23:00"),
            "error: --start '2024-06-29T14:23:00' has no time zone: add Z or an offset like "
            "+02:00 (such as 2024-06-29T14:23:00Z)\n",
        ),
        (
            ("--end", "yesterday"),
            "error: --end 'yesterday' is not a time: write RFC 3339, such as "
            "2024-06-29T14:23:00Z\n",
        ),
        (
            ("--start", "2024-06-29T14:23:00Z", "--end", "2024-06-29T14:00:00Z"),
            "error: --end 2024-06-29T14:00:00Z is not after --start 2024-06-29T14:23:00Z\n",
        ),
        (
            ("--start", "2024-06-29T16:23:00+02:00", "--end", "2024-06-29T14:23:00Z"),
            "error: --end 2024-06-29T14:23:00Z is not after --start 2024-06-29T16:23:00+02:00\n",
        ),
    ],
    ids=["naive", "not-a-time", "end-before-start", "same-moment"],
)
def test_bad_times_exit_2_before_anything_is_sent(
    sandbox: Sandbox, env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = cli("annotate", "Deploy", *args, env=env)
    assert (code, out, err) == (2, "", message)
    assert sandbox.requests() == []


def test_annotate_needs_text(sandbox: Sandbox, env: dict[str, str]) -> None:
    code, out, err = cli("annotate", env=env)
    assert code == 2
    assert out == ""
    assert "TEXT" in err


def test_annotate_help_shows_a_deploy_script() -> None:
    code, out, err = cli("annotate", "--help")
    assert code == 0, err
    for text in ("--start", "--end", "--source", "--json", "--api-key", "--base-url"):
        assert text in out
    assert 'session-analytics annotate "Deploy $GIT_SHA" --source deploy-pipeline' in out
    assert "time zone" in out


# ---- quotas -------------------------------------------------------------------------------------


def send_events(sandbox: Sandbox, count: int) -> None:
    with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
        for number in range(count):
            fs.events.create({"name": f"Event {number}", "user": {"uid": "u-1"}})


def test_quotas_prints_a_table(sandbox: Sandbox, env: dict[str, str]) -> None:
    send_events(sandbox, 3)

    code, out, err = cli("quotas", env=env)

    assert code == 0, err
    assert err == ""
    rows = table(out)
    assert rows[0] == ["quota", "used", "limit", "left", "period end"]
    assert [row[0] for row in rows[1:]] == ["sessions", "server events"]
    server_events = rows[2]
    with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
        quota: Any = fs.organization.quotas().server_event_quota
    used, limit = int(quota.usage), int(quota.limit)
    assert used >= 3
    assert server_events[1:4] == [f"{used:,}", f"{limit:,}", f"{max(limit - used, 0):,}"]
    assert server_events[4].endswith("Z")


def test_past_the_limit_nothing_is_left(sandbox: Sandbox, env: dict[str, str]) -> None:
    sandbox.configure(server_event_quota=2)
    send_events(sandbox, 3)

    code, out, err = cli("quotas", env=env)

    assert code == 0, err
    assert table(out)[2][:4] == ["server events", "3", "2", "0"]


def test_a_quota_the_api_leaves_out_is_shown_as_dashes() -> None:
    assert quota_row("sessions", UNSET) == ["sessions", "-", "-", "-", "-"]
    assert quota_row("server events", QuotaUsage(usage="7")) == [
        "server events",
        "7",
        "-",
        "-",
        "-",
    ]


def test_quotas_json_is_the_api_document(sandbox: Sandbox, env: dict[str, str]) -> None:
    send_events(sandbox, 2)

    code, out, err = cli("quotas", "--json", env=env)

    assert code == 0, err
    with FullStory(sandbox.api_key, base_url=sandbox.url) as fs:
        expected = fs.organization.quotas().to_dict()
    assert json.loads(out) == expected
    assert set(expected) >= {"session_quota", "server_event_quota"}


def test_quotas_help() -> None:
    code, out, err = cli("quotas", "--help")
    assert code == 0, err
    for text in ("--json", "--api-key", "--base-url", "--timeout", "--max-retries"):
        assert text in out


# ---- keys ---------------------------------------------------------------------------------------


def test_a_missing_key_exits_2(sandbox: Sandbox) -> None:
    env = {**base_env(), "FULLSTORY_BASE_URL": sandbox.url}
    for args in (("annotate", "Deploy"), ("quotas",)):
        code, out, err = cli(*args, env=env)
        assert code == 2, args
        assert out == ""
        assert err.startswith("error: no FullStory API key")
        assert "FULLSTORY_API_KEY" in err
        assert_no_traceback(out, err)
    assert sandbox.requests() == []


def test_the_api_key_is_never_printed() -> None:
    with Sandbox(api_key=SECRET, job_delay=0) as server:
        env = {**base_env(), "FULLSTORY_API_KEY": SECRET, "FULLSTORY_BASE_URL": server.url}
        runs = {
            "annotate": cli("annotate", "Deploy", "--source", "ci", env=env),
            "annotate-json": cli("annotate", "Deploy", "--json", env=env),
            "quotas": cli("quotas", env=env),
            "quotas-json": cli("quotas", "--json", env=env),
            "flag": cli("quotas", "--api-key", SECRET, env=env),
            "refused-annotate": cli("annotate", "Deploy", "--api-key", SECRET + "-x", env=env),
            "refused-quotas": cli("quotas", "--api-key", SECRET + "-x", env=env),
        }
    codes = {name: code for name, (code, _, _) in runs.items()}
    assert codes == {
        "annotate": 0,
        "annotate-json": 0,
        "quotas": 0,
        "quotas-json": 0,
        "flag": 0,
        "refused-annotate": 2,
        "refused-quotas": 2,
    }
    for name, (_, out, err) in runs.items():
        assert "Lynx-Pelican" not in out + err, name
        assert_no_traceback(out, err)
