"""``import session_analytics.fullstory`` loads what a first call needs, and the rest on first use.

Each check runs in a fresh interpreter, where nothing else has imported the modules yet. httpx
0.28 imports its own command line (click, rich, pygments) whenever those are installed; the
checks hide it (``sys.modules["httpx._main"] = None``: httpx then skips it, as it does when they
are not installed) so that they see what the SDK itself imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from session_analytics.sandbox import Sandbox

PRELUDE = """
import json, sys
sys.modules["httpx._main"] = None  # httpx's own CLI: not the SDK's doing
def loaded(*prefixes):
    return sorted(m for m in sys.modules if any(m == p or m.startswith(p + ".") for p in prefixes))
"""
# What `import session_analytics.fullstory` must leave for later.
NOT_AT_IMPORT = [
    "fullstory_api.models",
    "session_analytics.fullstory._jobs",
    "session_analytics.fullstory._jobs.import_",
    "session_analytics.cli",
    "rich",
    "click",
    # The web integrations and their frameworks: only an app that asks for one imports it.
    "session_analytics.integrations",
    "django",
    "flask",
    "starlette",
    "fastapi",
    # OpenTelemetry: only enable_opentelemetry() imports it.
    "opentelemetry",
    "celery",
]
LAZY = {
    "models": "fullstory_api.models",
    "AsyncBatchJob": "session_analytics.fullstory._jobs",
    "BatchJob": "session_analytics.fullstory._jobs",
    "BatchJobOptions": "session_analytics.fullstory._jobs",
    "BatchJobResult": "session_analytics.fullstory._jobs",
    "ImportChunk": "session_analytics.errors",
    "ImportFailure": "session_analytics.errors",
    "ImportProgress": "session_analytics.fullstory._jobs",
    "ImportResult": "session_analytics.fullstory._jobs",
    "ImportStopped": "session_analytics.errors",
    "Identified": "session_analytics.fullstory._identity",
    "current_user": "session_analytics.fullstory._identity",
    "identify": "session_analytics.fullstory._identity",
}


def run_fresh(code: str, *args: str) -> Any:
    """Run ``code`` (after PRELUDE) in a new interpreter; it prints one JSON value."""
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "statement", ["import session_analytics.fullstory", "import session_analytics"]
)
def test_import_leaves_models_jobs_import_and_the_cli_for_later(statement: str) -> None:
    found = run_fresh(
        f"""
        {statement}
        print(json.dumps(loaded(*{NOT_AT_IMPORT!r})))
        """
    )
    assert found == []


def test_importing_the_package_loads_no_client_and_no_httpx() -> None:
    # A program that imports fullstory and sends nothing pays for nothing; the first use of a
    # client name loads the client (and httpx), still leaving models, jobs and import_() alone.
    found = run_fresh(
        """
        def present(*names):
            return [name for name in names if sys.modules.get(name) is not None]

        from session_analytics import fullstory
        client = ("httpx", "session_analytics._batching", "session_analytics.fullstory._client")
        at_import = present(*client)
        from session_analytics.fullstory import FullStory
        at_first_use = present("httpx", "session_analytics.fullstory._client", *sys.argv[1:])
        print(json.dumps([at_import, at_first_use]))
        """,
        *NOT_AT_IMPORT,
    )
    assert found == [[], ["httpx", "session_analytics.fullstory._client"]]


def test_smartlook_import_loads_neither_fullstory_nor_the_cli() -> None:
    found = run_fresh(
        """
        import session_analytics.smartlook
        print(json.dumps(loaded(
            "fullstory_api", "session_analytics.fullstory", "session_analytics.cli", "rich", "click"
        )))
        """
    )
    assert found == []


def test_the_serverless_helper_imports_no_client_and_no_framework() -> None:
    # A handler module imports it at a cold start: it must cost nothing until a flush.
    found = run_fresh(
        """
        import session_analytics.serverless
        found = loaded(
            "httpx", "session_analytics._batching", "session_analytics.fullstory._client",
            "session_analytics.smartlook", "fullstory_api", "session_analytics.cli", "sqlite3",
            "asyncio", "django", "flask", "starlette", "celery", "gevent", "opentelemetry",
        )
        print(json.dumps([name for name in found if sys.modules[name] is not None]))
        """
    )
    assert found == []


def test_lazy_names_are_their_home_modules_objects() -> None:
    result = run_fresh(
        f"""
        import importlib
        from session_analytics import fullstory
        lazy = {LAZY!r}
        out = {{"in_all": sorted(set(lazy) - set(fullstory.__all__)),
                "in_dir": sorted(set(fullstory.__all__) - set(dir(fullstory))),
                "same": {{}}, "module": {{}}}}
        for name, home in lazy.items():
            value = getattr(fullstory, name)
            home_module = importlib.import_module(home)
            home_value = home_module if name == "models" else getattr(home_module, name)
            out["same"][name] = value is home_value
            out["module"][name] = getattr(value, "__module__", None) if name != "models" else None
        from session_analytics.fullstory import BatchJobOptions, ImportStopped, models
        out["from_import"] = (BatchJobOptions is fullstory.BatchJobOptions
                              and ImportStopped is fullstory.ImportStopped
                              and models.CreateUserRequest is fullstory.models.CreateUserRequest)
        out["all_resolve"] = all(hasattr(fullstory, name) for name in fullstory.__all__)
        try:
            fullstory.NoSuchName
        except AttributeError as error:
            out["missing"] = str(error)
        print(json.dumps(out))
        """
    )
    assert result["in_all"] == []
    assert result["in_dir"] == []
    assert all(result["same"].values()), result["same"]
    named = {name: module for name, module in result["module"].items() if name != "models"}
    # Named as living in the package, but for what a stopped import leaves: errors is its home.
    assert named == {
        name: home if home == "session_analytics.errors" else "session_analytics.fullstory"
        for name, home in LAZY.items()
        if name != "models"
    }
    assert result["from_import"] is True
    assert result["all_resolve"] is True
    assert result["missing"] == (
        "module 'session_analytics.fullstory' has no attribute 'NoSuchName'"
    )


def test_classes_loaded_by_a_call_are_the_public_ones() -> None:
    """A batch job made before anyone asked for ``fullstory.BatchJob`` is one all the same, named
    as living in the package; an error's ``import_stopped`` pickles."""
    result = run_fresh(
        """
        import pickle
        from session_analytics import fullstory
        from session_analytics.errors import FSConnectionError
        with fullstory.FullStory(api_key="k", base_url="http://127.0.0.1:9") as fs:
            job = fs.users.batch_create([{"uid": "u1"}])
            first_module = type(job).__module__
            is_public = isinstance(job, fullstory.BatchJob)
        stopped = fullstory.ImportStopped(
            read=1, submitted=0, imported=0, failed_count=0, job_ids=[], running_job_ids=[],
            running_items=0, unsent=[{"uid": "u1"}], unsent_indices=[0], maybe_sent=False,
            refused=[],
        )
        error = FSConnectionError("down")
        error.import_stopped = stopped
        copy = pickle.loads(pickle.dumps(error))
        print(json.dumps({
            "first_module": first_module,
            "is_public": is_public,
            "pickled": copy.import_stopped == stopped,
            "class_pickles": pickle.loads(pickle.dumps(fullstory.ImportStopped))
            is fullstory.ImportStopped,
        }))
        """
    )
    assert result == {
        "first_module": "session_analytics.fullstory",
        "is_public": True,
        "pickled": True,
        "class_pickles": True,
    }


def test_help_documents_the_lazy_names() -> None:
    text = run_fresh(
        """
        import pydoc
        from session_analytics import fullstory
        print(json.dumps(pydoc.render_doc(fullstory, renderer=pydoc.plaintext)))
        """
    )
    for name in ("class BatchJobOptions", "class ImportStopped", "class FullStory", "init("):
        assert name in text


def test_a_first_call_loads_what_it_needs(sandbox: Sandbox) -> None:
    result = run_fresh(
        """
        from session_analytics import fullstory
        before = loaded("fullstory_api.models", "session_analytics.fullstory._jobs")
        with fullstory.init(api_key=sys.argv[1], base_url=sys.argv[2]) as fs:
            created = fs.users.create({"uid": "lazy-1", "display_name": "Ann"})
            after_create = loaded("fullstory_api.models", "session_analytics.fullstory._jobs")
            event = fs.events.create({"name": "Signed Up", "user": {"uid": "lazy-1"}})
        print(json.dumps({
            "before": before,
            "models_after": "fullstory_api.models" in after_create,
            "jobs_after": "session_analytics.fullstory._jobs" in after_create,
            "is_model": isinstance(created, fullstory.models.CreateUserResponse),
            "id": created.id,
            "event": type(event).__name__,
        }))
        """,
        sandbox.api_key,
        sandbox.url,
    )
    assert result["before"] == []
    assert result["models_after"] is True
    assert result["jobs_after"] is False
    assert result["is_model"] is True
    assert isinstance(result["id"], str)
    assert result["id"]
    assert result["event"] == "CreateEventResponse"
    assert [event["name"] for event in sandbox.events("fullstory")] == ["Signed Up"]


def test_identify_loads_no_client_and_no_httpx() -> None:
    # A module that only sets the request's user (a middleware of the app's own) pays for no
    # HTTP library.
    found = run_fresh(
        """
        from session_analytics.fullstory import identify
        with identify(uid="u1"):
            pass
        names = ("httpx", "session_analytics._batching", "session_analytics.fullstory._client")
        print(json.dumps([name for name in names if sys.modules.get(name) is not None]))
        """
    )
    assert found == []


@pytest.mark.parametrize(
    ("module", "frameworks"),
    [
        ("session_analytics.integrations", []),
        # Plain ASGI: Starlette and FastAPI apps both, importing neither.
        ("session_analytics.integrations.asgi", []),
        ("session_analytics.integrations.flask", ["flask"]),
        ("session_analytics.integrations.django", ["django"]),
    ],
)
def test_each_integration_imports_its_own_framework_only(
    module: str, frameworks: list[str]
) -> None:
    found = run_fresh(
        f"""
        import {module}
        print(json.dumps(loaded("django", "flask", "starlette", "fastapi")))
        """
    )
    assert sorted({name.split(".")[0] for name in found}) == frameworks


def test_telemetry_off_imports_no_opentelemetry(sandbox: Sandbox) -> None:
    # Installed (the dev tools pin it) but not enabled: a client that queues events, sends
    # them and calls the API never imports opentelemetry, nor does importing the switch.
    found = run_fresh(
        """
        from session_analytics import telemetry
        from session_analytics.fullstory import FullStory
        with FullStory(api_key=sys.argv[1], base_url=sys.argv[2]) as fs:
            fs.users.create({"uid": "lazy-otel"})
            fs.events.track("Lazy", user={"uid": "lazy-otel"})
            delivered = fs.flush(timeout=10)
        print(json.dumps([bool(delivered), telemetry.active, loaded("opentelemetry")]))
        """,
        sandbox.api_key,
        sandbox.url,
    )
    assert found == [True, False, []]


def test_the_celery_integration_imports_what_celery_itself_does() -> None:
    # kombu (under Celery) imports part of Django when Django is installed: not the SDK's doing.
    code = """
        import MODULE
        found = loaded("django", "flask", "starlette", "fastapi", "celery")
        print(json.dumps(sorted({name.split(".")[0] for name in found})))
        """
    by_celery = run_fresh(code.replace("MODULE", "celery.signals"))
    assert "celery" in by_celery
    by_integration = run_fresh(code.replace("MODULE", "session_analytics.integrations.celery"))
    assert by_integration == by_celery
