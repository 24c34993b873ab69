"""``fullstory.identify()``: the current user lives in a ``contextvars`` context (each thread and
each asyncio task its own), and ``events.track()`` sends it when given neither user nor session.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from support import wait_until

from session_analytics import fullstory
from session_analytics.errors import FSInvalidArgumentError
from session_analytics.fullstory import AsyncFullStory, FullStory
from session_analytics.sandbox import Sandbox


def users_of(sandbox: Sandbox, count: int) -> dict[str, Any]:
    """Each delivered event's name and its user's uid, once ``count`` have arrived."""
    events = wait_until(
        lambda: (found := sandbox.events("fullstory")) and len(found) >= count and found,
        timeout=30,
        what=f"{count} events at the sandbox",
    )
    assert len(events) == count
    return {event["name"]: (event.get("user") or {}).get("uid") for event in events}


def test_plain_call_sets_the_user_and_with_restores_it() -> None:
    def in_fresh_thread() -> None:
        assert fullstory.current_user() is None
        fullstory.identify(uid="outer")
        assert fullstory.current_user() == {"uid": "outer"}
        with fullstory.identify(id="fs-id-1") as user:
            assert user == {"id": "fs-id-1"}
            assert fullstory.current_user() == {"id": "fs-id-1"}
        assert fullstory.current_user() == {"uid": "outer"}
        seen.append(True)

    seen: list[bool] = []
    thread = threading.Thread(target=in_fresh_thread)
    thread.start()
    thread.join()
    assert seen == [True]


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        ((), {}, "uid"),
        (("u1",), {"id": "x"}, "uid"),
        (("",), {}, "uid"),
        ((7,), {}, "uid"),
        ((), {"id": ""}, "id"),
        (("u" * 257,), {}, "uid"),
    ],
)
def test_bad_input_names_the_field(
    args: tuple[Any, ...], kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(FSInvalidArgumentError) as caught:
        fullstory.identify(*args, **kwargs)
    assert caught.value.field == field


def test_threads_do_not_see_each_others_user() -> None:
    barrier = threading.Barrier(8)
    seen: dict[int, Any] = {}

    def worker(index: int) -> None:
        with fullstory.identify(uid=f"thread-{index}"):
            barrier.wait()  # every thread has set its own user before any reads
            seen[index] = fullstory.current_user()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {index: {"uid": f"thread-{index}"} for index in range(8)}


def test_asyncio_tasks_do_not_see_each_others_user() -> None:
    async def handler(index: int, ready: asyncio.Event, started: list[int]) -> Any:
        fullstory.identify(uid=f"task-{index}")
        started.append(index)
        if len(started) == 8:
            ready.set()
        await ready.wait()  # every task has set its own user before any reads
        return fullstory.current_user()

    async def main() -> list[Any]:
        ready = asyncio.Event()
        started: list[int] = []
        found = await asyncio.gather(*(handler(index, ready, started) for index in range(8)))
        return [*found, fullstory.current_user()]

    found = asyncio.run(main())
    assert found[:8] == [{"uid": f"task-{index}"} for index in range(8)]
    assert found[8] is None  # the tasks' users stayed in the tasks


def test_track_uses_the_identified_user_and_explicit_ones_win(sandbox: Sandbox) -> None:
    def run() -> None:
        with FullStory(api_key=sandbox.api_key, base_url=sandbox.url) as fs:
            with fullstory.identify(uid="ctx-user"):
                fs.events.track("Identified")
                fs.events.track("Explicit", user={"uid": "explicit-user"})
                # A session given: the identified user is not added to it.
                with pytest.raises(FSInvalidArgumentError) as caught:
                    fs.events.track("Session", session={"use_most_recent": True})
                refused.append(caught.value.field)
            fs.events.track("Nobody")

    refused: list[str | None] = []

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    users = users_of(sandbox, 3)
    assert refused == ["session.use_most_recent"]
    assert users["Identified"] == "ctx-user"
    assert users["Explicit"] == "explicit-user"
    assert users["Nobody"] is None


def test_async_track_uses_the_task_user(sandbox: Sandbox) -> None:
    async def request(fs: AsyncFullStory, index: int) -> None:
        fullstory.identify(uid=f"req-{index}")
        await asyncio.sleep(0)
        fs.events.track(f"Request {index}")

    async def main() -> None:
        async with AsyncFullStory(api_key=sandbox.api_key, base_url=sandbox.url) as fs:
            await asyncio.gather(*(request(fs, index) for index in range(5)))

    asyncio.run(main())
    users = users_of(sandbox, 5)
    assert users == {f"Request {index}": f"req-{index}" for index in range(5)}
