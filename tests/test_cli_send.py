"""End-to-end tests of ``session-analytics send-event``: options that belong to one destination.

FullStory by default, Smartlook with ``--smartlook``; an option the chosen destination does not use
is an error (exit 2) that names it, never silently dropped. And a ``--timestamp`` the API would
refuse (no time zone) is refused before anything is sent. Like ``test_cli.py``, every test runs the
installed console script as a subprocess against the sandbox of the package's pytest plugin.
"""

from __future__ import annotations

import json

import pytest
from support import assert_no_traceback, base_env, cli

from session_analytics.sandbox import Sandbox

TIMEOUT_S = 120.0
NO_OFFSET_HINT = "add Z or an offset like +02:00"


def sent_anything(sandbox: Sandbox) -> bool:
    """Whether any request reached either API (a refused one included) since the reset."""
    return bool(sandbox.requests()) or bool(sandbox.events())


@pytest.fixture
def env(sandbox: Sandbox) -> dict[str, str]:
    """FullStory set up through the environment, as a person would."""
    return {**base_env(), "FULLSTORY_API_KEY": sandbox.api_key, "FULLSTORY_BASE_URL": sandbox.url}


def smartlook(sandbox: Sandbox) -> tuple[str, ...]:
    """A Smartlook send that works as it is."""
    return (
        "send-event",
        "Opened",
        "--smartlook",
        "--vid",
        "v1",
        "--smartlook-key",
        sandbox.smartlook_key,
        "--host",
        sandbox.url,
    )


# Each option only FullStory uses, with a value that would be fine for FullStory.
FULLSTORY_ONLY = {
    "--uid": ("--uid", "u1"),
    "--user-id": ("--user-id", "1234"),
    "--session-id": ("--session-id", "1:2"),
    "--use-most-recent": ("--use-most-recent",),
    "--timestamp": ("--timestamp", "2024-02-01T12:30:00Z"),
    "--idempotency-key": ("--idempotency-key", "k-1"),
    "--api-key": ("--api-key", "a-key"),
    "--base-url": ("--base-url", "http://127.0.0.1:9"),
    "--max-retries": ("--max-retries", "3"),  # the default value, but given: still an error
}
# Each option only Smartlook uses.
SMARTLOOK_ONLY = {
    "--vid": ("--vid", "v1"),
    "--value": ("--value", "42"),
    "--sid": ("--sid", "s1"),
    "--smartlook-key": ("--smartlook-key", "a-project-key"),
    "--host": ("--host", "http://127.0.0.1:9"),
}


@pytest.mark.parametrize("flag", list(FULLSTORY_ONLY))
def test_a_fullstory_option_with_smartlook_exits_2(sandbox: Sandbox, flag: str) -> None:
    code, out, err = cli(*smartlook(sandbox), *FULLSTORY_ONLY[flag])
    assert (code, out, err) == (
        2,
        "",
        f"error: {flag} applies to FullStory events: drop --smartlook, or drop {flag}\n",
    )
    assert not sent_anything(sandbox)


@pytest.mark.parametrize("flag", list(SMARTLOOK_ONLY))
def test_a_smartlook_option_without_smartlook_exits_2(
    sandbox: Sandbox, env: dict[str, str], flag: str
) -> None:
    code, out, err = cli("send-event", "Clicked", "--uid", "u1", *SMARTLOOK_ONLY[flag], env=env)
    assert (code, out, err) == (
        2,
        "",
        f"error: {flag} applies to Smartlook events: add --smartlook, or drop {flag}\n",
    )
    assert not sent_anything(sandbox)


def test_every_misplaced_option_is_named_at_once(sandbox: Sandbox, env: dict[str, str]) -> None:
    code, out, err = cli(
        "send-event", "Clicked", "--uid", "u1", "--vid", "v1", "--sid", "s1", env=env
    )
    assert (code, out, err) == (
        2,
        "",
        "error: --vid and --sid apply to Smartlook events: add --smartlook, or drop --vid and "
        "--sid\n",
    )
    code, out, err = cli(
        *smartlook(sandbox), "--uid", "u1", "--idempotency-key", "k", "--max-retries", "0"
    )
    assert (code, out, err) == (
        2,
        "",
        "error: --uid, --idempotency-key and --max-retries apply to FullStory events: drop "
        "--smartlook, or drop --uid, --idempotency-key and --max-retries\n",
    )
    assert not sent_anything(sandbox)


def test_options_both_destinations_use_are_accepted(sandbox: Sandbox, env: dict[str, str]) -> None:
    shared = ("--property", "plan=pro", "--timeout", "20")
    code, out, err = cli(*smartlook(sandbox), *shared)
    assert code == 0, err
    assert json.loads(out) == {"sent": "Opened", "to": "smartlook", "vid": "v1"}
    code, out, err = cli("send-event", "Clicked", "--uid", "u1", *shared, env=env)
    assert code == 0, err
    assert json.loads(out)["status"] == 200
    fullstory, smartlook_events = sandbox.events("fullstory"), sandbox.events("smartlook")
    assert [(e["name"], e["properties"]) for e in fullstory] == [("Clicked", {"plan": "pro"})]
    assert [(e["name"], e["props"]) for e in smartlook_events] == [("Opened", {"plan": "pro"})]


def test_max_retries_still_applies_to_fullstory(sandbox: Sandbox, env: dict[str, str]) -> None:
    sandbox.set_faults(error_rate=1.0, paths=["/v2/events"])
    code, _, err = cli("send-event", "Clicked", "--uid", "u1", "--max-retries", "1", env=env)
    assert code == 3, err
    # One retry: the flag was used, not replaced by the default (3).
    assert sandbox.stats()["requests"]["POST /v2/events"] == {"500": 2}


@pytest.mark.parametrize("naive", ["2024-02-01T12:30:00", "2024-02-01T12:30:00.250"])
def test_a_timestamp_without_a_time_zone_exits_2_before_sending(
    sandbox: Sandbox, env: dict[str, str], naive: str
) -> None:
    code, out, err = cli("send-event", "Paid", "--uid", "u1", "--timestamp", naive, env=env)
    assert code == 2
    assert out == ""
    assert err.startswith("error: --timestamp")
    assert "time zone" in err
    assert NO_OFFSET_HINT in err
    assert_no_traceback(out, err)
    assert not sent_anything(sandbox)  # refused here, not by the API

    with_offset = f"{naive}+02:00"
    code, out, err = cli("send-event", "Paid", "--uid", "u1", "--timestamp", with_offset, env=env)
    assert code == 0, err
    [event] = sandbox.events("fullstory")
    assert event["timestamp"] == with_offset


def test_send_event_help_says_which_options_belong_to_which_destination() -> None:
    code, out, err = cli("send-event", "--help")
    assert code == 0, err
    assert "apply only to" in " ".join(out.split())
    assert "time zone" in out
