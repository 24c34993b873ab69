"""The examples and `make demo` run end to end, so that they never rot.

- scripts/demo.py (what `make demo` runs) starts its own sandbox, runs the quickstart, stops it;
- examples/quickstart.py runs against the `sandbox` fixture, in its sandbox mode and in its
  "real APIs" mode (the sandbox standing in for FullStory and Smartlook), and refuses to run
  with nothing configured;
- examples/fastapi_app.py is driven in-process through its lifespan (Starlette's TestClient);
- examples/flask_app.py is driven by Flask's test client;
- examples/django_app.py is driven by Django's test client in a subprocess (its settings stay
  out of the test process);
- examples/import_users_csv.py imports CSV files as a subprocess;
- examples/test_with_sandbox.py passes under pytest.

Every subprocess gets an environment without the variables the examples read (and without
PYTHONUNBUFFERED), so that the outcome does not depend on the shell the tests run from.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from session_analytics import fullstory
from session_analytics.sandbox import Sandbox

# Starlette's test client warns that it will move to another HTTP library; it works with httpx.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SUBPROCESS_TIMEOUT_S = 300

# What the quickstart sends: 1 event created + 4 imported (1 of 5 fails) + 1,000 tracked.
QUICKSTART_FULLSTORY_EVENTS = 1 + 4 + 1_000
QUICKSTART_SMARTLOOK_EVENTS = 1_000
QUICKSTART_SECTIONS = (
    "== users: create, get, update, list, delete",
    "== an event, recorded now",
    "== a batch import of users, followed as it runs",
    "== a batch import of events (one of them invalid: FAILED keeps the good ones)",
    "== track(): 1000 events queued from 'request handlers', sent in the background",
    "== Smartlook: init, 1000 events, stop",
    "== what the sandbox received",
)

# Variables that the examples, the SDK or pytest itself read from the environment.
_AMBIENT = ("SESSION_ANALYTICS_", "FULLSTORY_", "SMARTLOOK_", "PYTEST_")


# ---- helpers --------------------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without the variables the examples read, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_AMBIENT) and k != "PYTHONUNBUFFERED"
    }
    env.update(extra)
    return env


def run_python(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` from the repository root, with a timeout, output captured."""
    return subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )


def explain(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a subprocess, for assertion messages."""
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def printed_summary(stdout: str) -> dict[str, int]:
    """The numbers of the quickstart's closing summary."""
    fullstory_line = re.search(r"^FullStory events: (\d+) \(sent (\d+)\)$", stdout, re.M)
    smartlook_line = re.search(r"^Smartlook events: (\d+) \(sent (\d+)\)$", stdout, re.M)
    users_line = re.search(r"^users: (\d+), jobs: ", stdout, re.M)
    assert fullstory_line, stdout
    assert smartlook_line, stdout
    assert users_line, stdout
    return {
        "fullstory_received": int(fullstory_line[1]),
        "fullstory_sent": int(fullstory_line[2]),
        "smartlook_received": int(smartlook_line[1]),
        "smartlook_sent": int(smartlook_line[2]),
        "users": int(users_line[1]),
    }


def event_counts(sandbox: Sandbox) -> dict[str, int]:
    """How many events of each name the sandbox holds, per API."""
    counts: dict[str, int] = {}
    for api in ("fullstory", "smartlook"):
        for event in sandbox.events(api):
            key = f"{api}:{event['name']}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def load_example(name: str) -> Iterator[ModuleType]:
    """Import examples/NAME.py afresh under a unique module name (examples/ is no package)."""
    module_name = f"_example_{name}_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(module_name, None)


def write_users_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=["uid", "display_name", "email", "plan"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def good_user(i: int) -> dict[str, str]:
    return {
        "uid": f"csv-user-{i:04d}",
        "display_name": f"User {i}",
        "email": f"user{i}@example.com",
        "plan": "pro" if i % 2 else "free",
    }


# ---- make demo ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    """One run of scripts/demo.py, as `make demo` runs it (its stdout a pipe, as in CI)."""
    return run_python(ROOT / "scripts" / "demo.py", env=clean_env())


def test_demo_runs_the_whole_quickstart(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, explain(demo)
    out = demo.stdout
    positions = [out.find(title) for title in QUICKSTART_SECTIONS]
    assert -1 not in positions, explain(demo)
    assert positions == sorted(positions), explain(demo)
    assert re.search(r"^job \S+ created$", out, re.M), out
    assert "done: 6 imported, 0 failed" in out
    assert re.search(r"^users job \S+: COMPLETED, 6 imported$", out, re.M), out
    assert re.search(r"^events job \S+: FAILED, 4 imported, 1 failed$", out, re.M), out
    assert "delivered 1000, retried 0, failed 0, dropped 0, still pending 0" in out
    assert "enqueued 1000; stop() left 0 pending" in out
    assert printed_summary(out) == {
        "fullstory_received": QUICKSTART_FULLSTORY_EVENTS,
        "fullstory_sent": QUICKSTART_FULLSTORY_EVENTS,
        "smartlook_received": QUICKSTART_SMARTLOOK_EVENTS,
        "smartlook_sent": QUICKSTART_SMARTLOOK_EVENTS,
        "users": 6,
    }
    assert "nothing lost" in lines_of(out)
    assert lines_of(out)[-1] == "sandbox stopped"


def test_demo_output_is_in_order(demo: subprocess.CompletedProcess[str]) -> None:
    """The sandbox URL first, the quickstart's output, then "nothing lost", "sandbox stopped"."""
    lines = lines_of(demo.stdout)
    assert lines[0].startswith("sandbox running at http://127.0.0.1:"), explain(demo)
    assert lines[1].startswith("against the sandbox at http://127.0.0.1:"), explain(demo)
    assert lines[-2:] == ["nothing lost", "sandbox stopped"], explain(demo)


def test_demo_leaves_no_sandbox_behind(demo: subprocess.CompletedProcess[str]) -> None:
    found = re.search(r"sandbox running at http://127\.0\.0\.1:(\d+)", demo.stdout)
    assert found, explain(demo)
    port = int(found[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


# ---- the quickstart -------------------------------------------------------------------------


def test_quickstart_against_the_sandbox_loses_nothing(sandbox: Sandbox) -> None:
    result = run_python(
        EXAMPLES / "quickstart.py", env=clean_env(SESSION_ANALYTICS_SANDBOX_URL=sandbox.url)
    )
    assert result.returncode == 0, explain(result)
    assert result.stdout.splitlines()[0] == f"against the sandbox at {sandbox.url}"
    assert lines_of(result.stdout)[-1] == "nothing lost"

    stats = sandbox.stats()
    summary = printed_summary(result.stdout)
    assert summary == {
        "fullstory_received": stats["events"]["fullstory"],
        "fullstory_sent": QUICKSTART_FULLSTORY_EVENTS,
        "smartlook_received": stats["events"]["smartlook"],
        "smartlook_sent": QUICKSTART_SMARTLOOK_EVENTS,
        "users": stats["users"],
    }
    assert stats["events"] == {
        "fullstory": QUICKSTART_FULLSTORY_EVENTS,
        "smartlook": QUICKSTART_SMARTLOOK_EVENTS,
    }
    assert stats["users"] == 6  # the 6 imported; Ann was deleted again
    assert event_counts(sandbox) == {
        "fullstory:Support Ticket": 1,
        "fullstory:Imported Order": 4,
        "fullstory:Order Shipped": 1_000,
        "smartlook:backend_login": 1_000,
    }
    assert stats["jobs"]["completed"] == 1
    assert stats["jobs"]["failed"] == 1


def test_quickstart_with_nothing_configured_points_to_make_demo() -> None:
    result = run_python(EXAMPLES / "quickstart.py", env=clean_env())
    assert result.returncode == 2, explain(result)
    assert "make demo" in result.stderr
    assert "SESSION_ANALYTICS_SANDBOX_URL" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("apis", "expected_events"),
    [
        (("fullstory", "smartlook"), {"fullstory": 1_005, "smartlook": 1_000}),
        (("fullstory",), {"fullstory": 1_005, "smartlook": 0}),
        (("smartlook",), {"fullstory": 0, "smartlook": 1_000}),
    ],
    ids=["both", "fullstory-only", "smartlook-only"],
)
def test_quickstart_against_the_real_apis(
    sandbox: Sandbox, apis: tuple[str, ...], expected_events: dict[str, int]
) -> None:
    """The sandbox stands in for the real APIs: only the keys are set, no sandbox URL."""
    env: dict[str, str] = {}
    if "fullstory" in apis:
        env |= {"FULLSTORY_API_KEY": sandbox.api_key, "FULLSTORY_BASE_URL": sandbox.url}
    if "smartlook" in apis:
        env |= {"SMARTLOOK_KEY": sandbox.smartlook_key, "SMARTLOOK_HOST": sandbox.url}
    result = run_python(EXAMPLES / "quickstart.py", env=clean_env(**env))
    assert result.returncode == 0, explain(result)
    assert result.stdout.splitlines()[0] == "against the real APIs"
    assert "== what the sandbox received" not in result.stdout
    assert sandbox.stats()["events"] == expected_events
    assert ("== Smartlook: init, 1000 events, stop" in result.stdout) == ("smartlook" in apis)
    assert ("== users: create, get, update, list, delete" in result.stdout) == ("fullstory" in apis)


# ---- the FastAPI app ------------------------------------------------------------------------


@pytest.fixture
def fastapi_example(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """examples/fastapi_app.py, freshly imported, configured for the sandbox."""
    monkeypatch.setenv("FULLSTORY_API_KEY", sandbox.api_key)
    monkeypatch.setenv("FULLSTORY_BASE_URL", sandbox.url)
    yield from load_example("fastapi_app")


def order(i: int) -> dict[str, Any]:
    return {"order_id": f"order-{i}", "total": 10.5 + i}


def customer(i: int) -> str:
    return f"customer-{i % 5}"


def test_fastapi_app_tracks_every_order(fastapi_example: ModuleType, sandbox: Sandbox) -> None:
    """Each order is tracked for the X-User-Id of its request; the lifespan shutdown, which the
    middleware runs, delivered everything that was still queued."""
    with TestClient(fastapi_example.app) as http:  # startup, the requests, then the shutdown
        responses = [
            http.post("/orders", json=order(i), headers={"X-User-Id": customer(i)})
            for i in range(50)
        ]
        tracking = http.get("/tracking")

    assert [r.status_code for r in responses] == [200] * 50
    assert [r.json() for r in responses] == [
        {"status": "accepted", "order_id": f"order-{i}"} for i in range(50)
    ]
    assert tracking.status_code == 200
    assert tracking.json()["enqueued"] == 50
    assert tracking.json()["failed"] == 0

    events = sandbox.events("fullstory")
    assert len(events) == 50
    assert {e["name"] for e in events} == {"Order Placed"}
    received = sorted(
        (e["user"]["uid"], e["properties"]["order_id"], e["properties"]["total"]) for e in events
    )
    expected = sorted((customer(i), order(i)["order_id"], order(i)["total"]) for i in range(50))
    assert received == expected
    assert {e["integration_source"] for e in events} == {"fastapi-example"}


def test_fastapi_app_rejects_a_bad_order_without_tracking(
    fastapi_example: ModuleType, sandbox: Sandbox
) -> None:
    with TestClient(fastapi_example.app) as http:
        rejected = http.post("/orders", json={"order_id": "x"}, headers={"X-User-Id": "u"})
        tracking = http.get("/tracking").json()

    assert rejected.status_code == 422
    assert tracking == {"enqueued": 0, "delivered": 0, "failed": 0}
    assert sandbox.events("fullstory") == []


# ---- the Flask app --------------------------------------------------------------------------


def tracked_for_users(sandbox: Sandbox) -> list[tuple[str, str, str]]:
    """(name, uid, order_id) of each FullStory event the sandbox holds, sorted."""
    return sorted(
        (e["name"], e["user"]["uid"], e["properties"]["order_id"])
        for e in sandbox.events("fullstory")
    )


@pytest.fixture
def flask_example() -> Iterator[ModuleType]:
    yield from load_example("flask_app")


def test_flask_app_tracks_for_the_user_of_each_request(
    flask_example: ModuleType, sandbox: Sandbox
) -> None:
    app = flask_example.create_app(
        {"FULLSTORY_API_KEY": sandbox.api_key, "FULLSTORY_BASE_URL": sandbox.url}
    )
    http = app.test_client()
    shipped = http.post("/orders/o-1/ship", headers={"X-User-Id": "user-42"})
    refunded = http.post("/orders/o-2/refund", headers={"X-User-Id": "user-7"})
    assert (shipped.status_code, shipped.get_json()) == (200, {"shipped": "o-1"})
    assert (refunded.status_code, refunded.get_json()) == (200, {"refunded": "o-2"})
    with app.app_context():
        assert flask_example.client().flush(timeout=30)  # in a server, the exit drain does this

    assert tracked_for_users(sandbox) == [
        ("Order Refunded", "user-7", "o-2"),
        ("Order Shipped", "user-42", "o-1"),
    ]


# ---- the Django project ---------------------------------------------------------------------

# Run in a subprocess, so that the example's settings stay out of the test process.
DJANGO_DRIVER = """
import django
from django.test import Client

django.setup()
from session_analytics.integrations import django as analytics

http = Client()
for path, user in (("/orders/o-1/ship", "user-42"), ("/orders/o-2/refund", "user-7")):
    response = http.post(path, headers={"X-User-Id": user})
    print(response.status_code, response.content.decode())
print("pending", analytics.close(timeout=30).pending)
"""


def test_django_app_tracks_for_the_user_of_each_request(sandbox: Sandbox) -> None:
    env = clean_env(
        FULLSTORY_API_KEY=sandbox.api_key,
        FULLSTORY_BASE_URL=sandbox.url,
        DJANGO_SETTINGS_MODULE="examples.django_app",
        PYTHONPATH=str(ROOT),
    )
    result = run_python("-c", DJANGO_DRIVER, env=env)

    assert result.returncode == 0, explain(result)
    assert lines_of(result.stdout) == [
        '200 {"shipped": "o-1"}',
        '200 {"refunded": "o-2"}',
        "pending 0",
    ], explain(result)
    assert tracked_for_users(sandbox) == [
        ("Order Refunded", "user-7", "o-2"),
        ("Order Shipped", "user-42", "o-1"),
    ]


# ---- the CSV import job ---------------------------------------------------------------------


@pytest.fixture
def import_env(sandbox: Sandbox) -> dict[str, str]:
    sandbox.configure(job_delay_s=0)
    return clean_env(FULLSTORY_API_KEY=sandbox.api_key, FULLSTORY_BASE_URL=sandbox.url)


def test_csv_import_of_1000_users(
    sandbox: Sandbox, import_env: dict[str, str], tmp_path: Path
) -> None:
    users_csv = write_users_csv(tmp_path / "users.csv", [good_user(i) for i in range(1_000)])
    result = run_python(EXAMPLES / "import_users_csv.py", users_csv, env=import_env)

    assert result.returncode == 0, explain(result)
    assert "imported 1,000 users in 1 jobs" in result.stdout
    assert "failed" not in lines_of(result.stdout)[-1]
    assert sandbox.stats()["users"] == 1_000
    assert not (tmp_path / "users.failed.ndjson").exists()
    with fullstory.init(api_key=sandbox.api_key, base_url=sandbox.url) as fs:
        [user] = list(fs.users.iter(uid="csv-user-0007"))
        user = fs.users.get(user.id)
    assert (user.display_name, user.email) == ("User 7", "user7@example.com")
    assert user.properties.to_dict() == {"plan": "pro"}


def test_csv_import_writes_the_failed_rows(
    sandbox: Sandbox, import_env: dict[str, str], tmp_path: Path
) -> None:
    bad_uid = "x" * 300
    rows = [good_user(i) for i in range(9)]
    rows.insert(4, {"uid": bad_uid, "display_name": "Bad", "email": "bad@example.com"})
    users_csv = write_users_csv(tmp_path / "users.csv", rows)
    result = run_python(EXAMPLES / "import_users_csv.py", users_csv, env=import_env)

    assert result.returncode == 1, explain(result)
    failed_path = tmp_path / "users.failed.ndjson"
    assert "imported 9 users in 1 jobs" in result.stdout
    assert f"1 failed, see {failed_path}" in result.stdout
    assert sandbox.stats()["users"] == 9
    [record] = [json.loads(line) for line in failed_path.read_text().splitlines()]
    assert record["item"] == {"uid": bad_uid, "display_name": "Bad", "email": "bad@example.com"}
    assert record["code"] == "invalid_argument"
    assert "uid" in record["message"]
    assert "256" in record["message"]


# ---- the pytest example ---------------------------------------------------------------------


def test_the_pytest_example_passes() -> None:
    result = run_python(
        "-m",
        "pytest",
        "examples/test_with_sandbox.py",
        "-q",
        "-p",
        "no:cacheprovider",
        env=clean_env(),
    )
    assert result.returncode == 0, explain(result)
    assert "4 passed" in result.stdout
