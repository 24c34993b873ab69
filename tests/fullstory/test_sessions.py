"""Sessions, session context and summaries, summary profiles, annotations and queued user creates
against the sandbox over HTTP, with both clients.

Sessions come from the events sent to the sandbox (``session.id``, or ``use_most_recent`` for a
user); their events come back as ``custom`` events; context and summaries are the sandbox's
documented, deterministic stand-ins (``sandbox/context.py``, ``sandbox/summaries.py``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from fullstory_api.models import SummaryProfileRequest
from session_analytics.errors import FSError, FSNotFoundError, FSTimeoutError
from session_analytics.sandbox import Sandbox


def start_session(fs: Any, sandbox: Sandbox, uid: str, *names: str) -> str:
    """A session of the user ``uid`` holding one event per name, in order; its id."""
    session_id = str(sandbox.create_session(uid=uid)["id"])
    for index, name in enumerate(names):
        fs.events.create(
            {"name": name, "session": {"id": session_id}, "properties": {"step": index}}
        )
    return session_id


# ---- sessions ------------------------------------------------------------------------------------


def test_sessions_of_a_user_by_uid_email_and_session_uid(fs: Any, sandbox: Sandbox) -> None:
    fs.users.create({"uid": "ann", "email": "ann@example.com"})
    first = start_session(fs, sandbox, "ann", "Opened")
    fs.events.create({"name": "Paid", "user": {"uid": "ann"}, "session": {"use_most_recent": True}})
    by_uid = fs.sessions.list(uid="ann")
    assert [session.id for session in by_uid.results] == [first]
    assert fs.sessions.list(email="ann@example.com").results[0].id == first
    assert fs.sessions.list(uid="ann", limit=1).results[0].id == first
    ref = by_uid.results[0]
    assert ref.app_url.startswith(sandbox.url)
    assert httpx.get(ref.app_url).status_code == 200  # the replay link opens
    own = sandbox.create_session(uid="ann", session_uid="checkout-77")
    assert [s.id for s in fs.sessions.list(session_uid="checkout-77").results] == [own["id"]]
    assert fs.sessions.list(uid="nobody").results == []


def test_a_sessions_events_come_back_in_order(fs: Any, sandbox: Sandbox) -> None:
    session_id = start_session(fs, sandbox, "bo", "Viewed", "Added", "Paid")
    answer = fs.sessions.events_detailed(session_id)
    assert answer.http_status_code == 200
    events = answer.body.events
    assert [e.event_properties["event_name"] for e in events] == ["Viewed", "Added", "Paid"]
    assert {e.event_type for e in events} == {"custom"}
    assert events[2].event_properties["step"] == 2
    assert f"{events[0].device_id}:{events[0].session_id}" == session_id
    # (That the colon goes out percent-encoded is pinned on the wire in test_v2_calls.py.)


def test_an_unknown_session_is_not_found(fs: Any) -> None:
    with pytest.raises(FSNotFoundError):
        fs.sessions.events("1:2")


def test_context_honours_the_slice_and_the_elements(fs: Any, sandbox: Sandbox) -> None:
    session_id = start_session(fs, sandbox, "cy", "One", "Two", "Three")
    whole = fs.sessions.context(session_id).context_data
    assert whole.context.session_id == session_id
    assert [e.description for page in whole.pages for e in page.events] == ["One", "Two", "Three"]
    last = fs.sessions.context(
        session_id,
        slice={"mode": "LAST", "event_limit": 2, "duration_limit_ms": 3_600_000},
        context={"include": ["user"]},
    ).context_data
    assert [e.description for page in last.pages for e in page.events] == ["Two", "Three"]
    assert last.context.user_context.user_uid == "cy"
    assert "org_context" not in last.context.to_dict()
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    none = fs.sessions.context(
        session_id, slice={"mode": "TIMESTAMP", "start_timestamp": later}, events={}, cache={}
    ).context_data
    assert [e for page in none.pages for e in page.events] == []


def test_summaries_with_and_without_a_profile_and_overrides(fs: Any, sandbox: Sandbox) -> None:
    session_id = start_session(fs, sandbox, "di", "Searched", "Bought")
    plain = fs.sessions.summary(session_id)
    assert plain.summary == f"Session {session_id}: 2 events: Searched, Bought"
    profile = fs.summary_profiles.create(
        {
            "name": "Buyers",
            "llm": {
                "pre_prompt": "Shopper",
                "response_schema": {
                    "type": "OBJECT",
                    "properties": {
                        "count": {"type": "INTEGER"},
                        "names": {"type": "ARRAY", "items": {"type": "STRING"}},
                    },
                },
            },
        }
    )
    with_profile = fs.sessions.summary(session_id, profile_id=profile.id)
    assert with_profile.summary.startswith("Shopper | ")
    assert with_profile.response["count"] == 2
    assert with_profile.response["names"] == ["Searched", "Bought"]
    overridden = fs.sessions.summary(
        session_id,
        profile_id=profile.id,
        slice={"mode": "FIRST", "event_limit": 1},
        llm={"post_prompt": "Done"},
    )
    assert overridden.summary == f"Shopper | Session {session_id}: 1 events: Searched | Done"
    assert overridden.response["count"] == 1
    # end_timestamp alone: a GET; with an override: merged into the slice of a POST.
    past = datetime.now(timezone.utc) - timedelta(days=1)
    assert fs.sessions.summary(session_id, end_timestamp=past).summary == (
        f"Session {session_id}: 0 events"
    )
    assert fs.sessions.summary(session_id, end_timestamp=past, llm={"pre_prompt": "P"}).summary == (
        f"P | Session {session_id}: 0 events"
    )
    routes = [r["route"] for r in sandbox.requests() if "summary" in r["route"]]
    assert routes.count("GET /v2/sessions/{session_id}/summary") == 3
    assert routes.count("POST /v2/sessions/{session_id}/summary") == 2


# ---- summary profiles ----------------------------------------------------------------------------


def test_summary_profiles_crud_and_iter(fs: Any) -> None:
    model = SummaryProfileRequest.from_dict(
        {"name": "Model", "slice": {"mode": "LAST", "event_limit": 5}}
    )
    created = fs.summary_profiles.create_detailed(model)
    assert created.http_status_code == 200
    assert created.idempotency_key is None  # the API takes no key for this create
    ids = [created.body.id] + [fs.summary_profiles.create({"name": f"P{i}"}).id for i in range(4)]
    read = fs.summary_profiles.get(ids[0])
    assert read.name == "Model"
    assert read.configuration.slice_.event_limit == 5
    page = fs.summary_profiles.list(limit=2)
    assert len(page.profiles) == 2
    assert page.next_page_token
    assert sorted(p.id for p in fs.summary_profiles.iter(limit=2)) == sorted(ids)
    fs.summary_profiles.update(ids[0], {"name": "Renamed", "llm": {"temperature": 0.2}})
    replaced = fs.summary_profiles.get(ids[0])
    assert replaced.name == "Renamed"
    assert replaced.llm.temperature == pytest.approx(0.2)
    fs.summary_profiles.delete(ids[0])
    with pytest.raises(FSNotFoundError):
        fs.summary_profiles.get(ids[0])
    assert len(list(fs.summary_profiles.iter())) == 4


# ---- annotations ---------------------------------------------------------------------------------


def test_annotations_are_stored_with_their_times(fs: Any, sandbox: Sandbox) -> None:
    start = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    span = fs.annotations.create(
        "Release 1.4", start_time=start, end_time=start + timedelta(minutes=5), source="ci"
    )
    assert (span.text, span.source) == ("Release 1.4", "ci")
    assert span.start_time == start
    point = fs.annotations.create("Incident", start_time="2026-05-02T08:00:00+02:00")
    assert point.end_time == point.start_time
    assert point.source == ""
    now = fs.annotations.create_detailed("Now")
    assert now.idempotency_key is None
    stored = sandbox.annotations()
    assert [a["text"] for a in stored] == ["Release 1.4", "Incident", "Now"]
    assert stored[0]["start_time"] == "2026-05-01T12:00:00.000Z"
    assert stored[1]["start_time"] == "2026-05-02T08:00:00+02:00"  # a string goes as given


@pytest.mark.parametrize(
    ("script", "maybe", "stored"),
    [
        (["error", "ok"], None, 1),  # a 500: not processed, retried
        (["rate_limit", "ok"], None, 1),
        (["reset", "ok"], True, 1),  # processed, the answer lost: not sent again
    ],
)
def test_an_annotation_is_never_stored_twice(
    script: list[str], maybe: bool | None, stored: int, make_fs: Any, sandbox: Sandbox
) -> None:
    fs = make_fs()
    sandbox.set_faults(paths=["/v2/annotations"], script=script, retry_after_s=0)
    if maybe is None:
        fs.annotations.create("Deploy")
    else:
        with pytest.raises(FSError) as raised:
            fs.annotations.create("Deploy")
        assert raised.value.maybe_processed is maybe
    assert len(sandbox.annotations()) == stored


# ---- queued user creates -------------------------------------------------------------------------


def test_a_queued_create_is_waited_for(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(stream_delay_s=0.3)
    queued = fs.users.create_queued({"uid": "eve", "display_name": "Eve"})
    assert queued.request_id
    assert queued.idempotency_key
    assert fs.users.queued_status(queued.request_id).id == ""
    user_id = queued.wait(timeout=30)
    assert fs.users.get(user_id).display_name == "Eve"
    assert fs.users.queued_status(queued.request_id).id == user_id
    resumed = fs.users.queued(queued.request_id)
    assert resumed.poll() == user_id


def test_a_queued_create_still_pending_times_out(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(stream_delay_s=600)
    queued = fs.users.create_queued({"uid": "slow"})
    with pytest.raises(FSTimeoutError):
        queued.wait(timeout=0.2, poll_interval=0.05)
    assert queued.poll() is None


def test_a_retried_queued_create_is_queued_once(make_fs: Any, sandbox: Sandbox) -> None:
    fs = make_fs()
    sandbox.configure(stream_delay_s=0)
    sandbox.set_faults(paths=["/v2/users/stream"], script=["reset", "error", "ok"])
    created = fs.users.create_queued_detailed({"display_name": "Anonymous"})
    assert created.retries_taken == 2
    keys = [
        r["headers"].get("idempotency-key")
        for r in sandbox.requests()
        if r["route"] == "POST /v2/users/stream"
    ]
    assert keys == [created.idempotency_key] * 3
    # (The async client's handle is awaited; the test wrapper only wraps what it is handed.)
    user_id = fs.users.queued(created.body.request_id).wait(timeout=30)
    assert [u.id for u in fs.users.iter()] == [user_id]  # anonymous: a second create would show
