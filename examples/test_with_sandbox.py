"""How to test your own code with the ``sandbox`` fixture that session-analytics installs.

Run it with ``pytest examples/test_with_sandbox.py``: the fixture starts a sandbox once for the
session and resets it before each test, so every test starts with no users and no events.
"""

from __future__ import annotations

from session_analytics import fullstory, smartlook
from session_analytics.sandbox import Sandbox


# Your application code: something that records events.
def sign_up(fs: fullstory.FullStory, email: str) -> str:
    user = fs.users.create({"uid": email, "email": email})
    fs.events.track("Signed Up", user={"uid": email}, properties={"source": "landing"})
    return user.id


def test_sign_up_records_the_user_and_the_event(sandbox: Sandbox) -> None:
    with fullstory.init(api_key=sandbox.api_key, base_url=sandbox.url) as fs:
        user_id = sign_up(fs, "ann@example.com")
        assert fs.flush(timeout=10)  # wait until the tracked event was delivered

    events = sandbox.events("fullstory")
    assert [e["name"] for e in events] == ["Signed Up"]
    assert events[0]["user"] == {"id": user_id, "uid": "ann@example.com"}


def test_the_sandbox_was_reset_between_tests(sandbox: Sandbox) -> None:
    assert sandbox.events() == []
    assert sandbox.stats()["users"] == 0


def test_smartlook_events_arrive(sandbox: Sandbox) -> None:
    with smartlook.Smartlook(sandbox.smartlook_key, host=sandbox.url) as client:
        client.event("visitor-1", "backend_login", props={"source": "google"})
    assert [e["name"] for e in sandbox.events("smartlook")] == ["backend_login"]


def test_a_failing_api_does_not_lose_tracked_events(sandbox: Sandbox) -> None:
    sandbox.set_faults(error_rate=0.5, seed=1)  # half the requests fail with a 500
    with fullstory.init(api_key=sandbox.api_key, base_url=sandbox.url) as fs:
        for i in range(20):
            fs.events.track("Checkout", properties={"n": i})
        assert fs.flush(timeout=30)
    assert sorted(e["properties"]["n"] for e in sandbox.events("fullstory")) == list(range(20))
