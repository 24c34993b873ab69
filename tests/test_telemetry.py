"""``session_analytics.telemetry`` against the real sandbox over loopback HTTP, read back through
the OpenTelemetry SDK's in-memory metric reader and span exporter.

Proven here: the batcher counters and queue depth match ``stats()`` and what the sandbox
recorded; a scripted 500 shows as one retry; each FullStory API call is one span named by its
operation template, with its status code and retries, an error status on failure, and neither
the key nor the user's ids; ``event_trace_ids`` adds the ids inside a span only; disabled again,
nothing is reported.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from session_analytics import telemetry
from session_analytics.errors import FSNotFoundError
from session_analytics.fullstory import AsyncFullStory, BatchingOptions, FullStory
from session_analytics.sandbox import Sandbox
from session_analytics.smartlook import BatchingOptions as SmartlookBatching
from session_analytics.smartlook import Smartlook

EAGER = BatchingOptions(flush_at=1, max_batch_events=1, flush_interval=0.05)


class Telemetry:
    """The SDK providers the SDK under test reports to, and ways to read them back."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.meters = MeterProvider(metric_readers=[self.reader])
        self.exporter = InMemorySpanExporter()
        self.tracers = TracerProvider()
        self.tracers.add_span_processor(SimpleSpanProcessor(self.exporter))

    def points(self, name: str) -> dict[str, Any]:
        """The data points of metric ``name`` by their ``api`` attribute (and ``outcome``)."""
        found: dict[str, Any] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        attributes = dict(point.attributes or {})
                        label = str(attributes.get("api"))
                        if "outcome" in attributes:
                            label += "/" + str(attributes["outcome"])
                        found[label] = point
        return found

    def value(self, name: str, api: str = "fullstory") -> int:
        point = self.points(name).get(api)
        return 0 if point is None else int(point.value)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    gc.collect()  # the batchers of earlier tests out of the live set
    reading = Telemetry()
    telemetry.enable_opentelemetry(
        meter_provider=reading.meters, tracer_provider=reading.tracers, event_trace_ids=True
    )
    yield reading
    telemetry.disable_opentelemetry()
    reading.meters.shutdown()
    reading.tracers.shutdown()


@pytest.fixture
def fs(sandbox: Sandbox) -> Iterator[FullStory]:
    client = FullStory(api_key=sandbox.api_key, base_url=sandbox.url, batching=EAGER)
    yield client
    sandbox.set_faults()
    client.close(timeout=5)


def test_counters_and_queue_depth_follow_the_batcher(
    otel: Telemetry, fs: FullStory, sandbox: Sandbox
) -> None:
    before = otel.value("session_analytics.batcher.delivered")
    for n in range(25):
        assert fs.events.track("Metered", user={"uid": f"m{n}"}, properties={"n": n})
    assert fs.flush(timeout=10)

    assert len(sandbox.events("fullstory", name="Metered")) == 25
    assert fs.stats().delivered == 25
    assert otel.value("session_analytics.batcher.delivered") - before == 25
    assert otel.value("session_analytics.batcher.enqueued") >= 25
    assert otel.value("session_analytics.batcher.queue_depth") == 0
    latencies = otel.points("session_analytics.batcher.send.duration")
    assert latencies["fullstory/delivered"].count == 25
    assert latencies["fullstory/delivered"].sum > 0


def test_smartlook_batches_are_counted_apart(otel: Telemetry, sandbox: Sandbox) -> None:
    fullstory_before = otel.value("session_analytics.batcher.delivered")
    before = {
        name: otel.value(f"session_analytics.batcher.{name}", "smartlook")
        for name in ("delivered", "enqueued")
    }
    with Smartlook(
        sandbox.smartlook_key,
        host=sandbox.url,
        batching=SmartlookBatching(flush_at=10, max_batch_events=10, flush_interval=0.05),
    ) as client:
        for n in range(30):
            assert client.event("visitor", "counted", props={"n": n})
        assert client.flush(timeout=10)
        assert client.stats().delivered == 30
        delivered = otel.value("session_analytics.batcher.delivered", "smartlook")
        enqueued = otel.value("session_analytics.batcher.enqueued", "smartlook")
        assert delivered - before["delivered"] == 30
        assert enqueued - before["enqueued"] == 30
        assert otel.value("session_analytics.batcher.queue_depth", "smartlook") == 0
        latencies = otel.points("session_analytics.batcher.send.duration")
        assert latencies["smartlook/delivered"].count == 3
    assert len(sandbox.events("smartlook")) == 30
    assert otel.value("session_analytics.batcher.delivered") == fullstory_before


def test_a_scripted_error_shows_as_one_retry(
    otel: Telemetry, fs: FullStory, sandbox: Sandbox
) -> None:
    retried_before = otel.value("session_analytics.batcher.retried")
    delivered_before = otel.value("session_analytics.batcher.delivered")
    sandbox.set_faults(script=["error", "ok"])
    assert fs.events.track("Retried", user={"uid": "r1"})
    assert fs.flush(timeout=10)

    assert otel.value("session_analytics.batcher.retried") - retried_before == 1
    assert otel.value("session_analytics.batcher.delivered") - delivered_before == 1
    latencies = otel.points("session_analytics.batcher.send.duration")
    assert latencies["fullstory/failed"].count == 1
    assert latencies["fullstory/delivered"].count == 1


def _attributes_text(span: ReadableSpan) -> str:
    return span.name + " " + " ".join(f"{k}={v}" for k, v in (span.attributes or {}).items())


def test_api_calls_are_spans_named_by_their_operation(
    otel: Telemetry, fs: FullStory, sandbox: Sandbox
) -> None:
    created = fs.users.create({"uid": "span-user"})
    sandbox.set_faults(script=["error", "ok"])
    fs.users.update(created.id, {"display_name": "Spanned"})
    with pytest.raises(FSNotFoundError):
        fs.users.get("no-such-user-id")

    spans = otel.spans()
    assert [span.name for span in spans] == [
        "POST /v2/users",
        "POST /v2/users/{id}",
        "GET /v2/users/{id}",
    ]
    create, update, missing = (dict(span.attributes or {}) for span in spans)
    assert all(span.kind is SpanKind.CLIENT for span in spans)
    assert create["http.request.method"] == "POST"
    assert create["url.template"] == "/v2/users"
    assert create["http.response.status_code"] == 200
    assert create["session_analytics.retries"] == 0
    assert spans[0].status.status_code is StatusCode.UNSET
    assert update["session_analytics.retries"] == 1
    assert update["http.response.status_code"] == 200
    assert missing["http.response.status_code"] == 404
    assert missing["session_analytics.retries"] == 0
    assert missing["error.type"] == "FSNotFoundError"
    assert spans[2].status.status_code is StatusCode.ERROR
    for span in spans:
        text = _attributes_text(span)
        assert sandbox.api_key not in text
        assert created.id not in text
        assert "no-such-user-id" not in text


def test_async_calls_are_spans_too(otel: Telemetry, sandbox: Sandbox) -> None:
    async def main() -> None:
        async with AsyncFullStory(api_key=sandbox.api_key, base_url=sandbox.url) as client:
            await client.users.create({"uid": "async-span-user"})

    asyncio.run(main())
    (span,) = otel.spans()
    assert span.name == "POST /v2/users"
    assert dict(span.attributes or {})["http.response.status_code"] == 200


def test_trace_ids_on_events_inside_a_span_only(
    otel: Telemetry, fs: FullStory, sandbox: Sandbox
) -> None:
    tracer = otel.tracers.get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        context = span.get_span_context()
        assert fs.events.track("Inside", user={"uid": "t1"}, properties={"n": 1})
        assert fs.events.track(
            "Own", user={"uid": "t1"}, properties={"otel_trace_id": "mine", "n": 2}
        )
    assert fs.events.track("Outside", user={"uid": "t1"}, properties={"n": 3})
    assert fs.flush(timeout=10)

    def properties_of(name: str) -> dict[str, Any]:
        (event,) = sandbox.events("fullstory", name=name)
        found: dict[str, Any] = event["properties"]
        return found

    inside = properties_of("Inside")
    assert inside["otel_trace_id"] == format(context.trace_id, "032x")
    assert inside["otel_span_id"] == format(context.span_id, "016x")
    assert inside["n"] == 1
    own = properties_of("Own")
    assert own["otel_trace_id"] == "mine"
    assert own["otel_span_id"] == format(context.span_id, "016x")
    outside = properties_of("Outside")
    assert "otel_trace_id" not in outside
    assert "otel_span_id" not in outside


def test_trace_ids_on_created_events(otel: Telemetry, fs: FullStory, sandbox: Sandbox) -> None:
    tracer = otel.tracers.get_tracer("test")
    event = {"name": "Created", "user": {"uid": "c1"}, "properties": {"n": 1}}
    with tracer.start_as_current_span("request") as span:
        context = span.get_span_context()
        fs.events.create(event)
    fs.events.create({"name": "CreatedOutside", "user": {"uid": "c1"}})

    (inside,) = sandbox.events("fullstory", name="Created")
    assert inside["properties"]["otel_trace_id"] == format(context.trace_id, "032x")
    assert inside["properties"]["otel_span_id"] == format(context.span_id, "016x")
    assert inside["properties"]["n"] == 1
    assert event["properties"] == {"n": 1}  # the caller's dict is left as it was
    (outside,) = sandbox.events("fullstory", name="CreatedOutside")
    assert "otel_trace_id" not in (outside.get("properties") or {})
    # The create call's own span is the caller's child.
    create_span = next(s for s in otel.spans() if s.name == "POST /v2/events")
    assert create_span.parent is not None
    assert create_span.parent.span_id == context.span_id


def test_disabled_again_reports_nothing(otel: Telemetry, fs: FullStory, sandbox: Sandbox) -> None:
    telemetry.disable_opentelemetry()
    assert not telemetry.active
    assert not telemetry.event_trace_ids
    tracer = otel.tracers.get_tracer("test")
    with tracer.start_as_current_span("request"):
        fs.users.create({"uid": "quiet-user"})
        assert fs.events.track("Quiet", user={"uid": "quiet-user"})
    assert fs.flush(timeout=10)

    assert [span.name for span in otel.spans()] == ["request"]
    (event,) = sandbox.events("fullstory", name="Quiet")
    assert "otel_trace_id" not in event["properties"]
    assert otel.points("session_analytics.batcher.delivered") == {}
    assert otel.points("session_analytics.batcher.send.duration") == {}


def test_path_template_puts_the_arguments_names_back() -> None:
    assert telemetry.path_template("GET /v2/users/u-1", {"id": "u-1"}) == (
        "GET",
        "/v2/users/{id}",
    )
    assert telemetry.path_template("DELETE /v2/users?uid=someone", {"uid": "someone"}) == (
        "DELETE",
        "/v2/users",
    )
    assert telemetry.path_template(
        "GET /v2/sessions/a/b/events", {"session_id": "a/b", "limit": 5}
    ) == ("GET", "/v2/sessions/{session_id}/events")
    assert telemetry.path_template("GET /v2/users/batch/j1/errors", {"job_id": "j1"}) == (
        "GET",
        "/v2/users/batch/{job_id}/errors",
    )


def test_enabling_without_opentelemetry_says_what_to_install() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["opentelemetry"] = None  # as if opentelemetry-api were not installed
        from session_analytics import telemetry
        try:
            telemetry.enable_opentelemetry()
        except ImportError as error:
            print(telemetry.active, error)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (
        "False enable_opentelemetry() needs opentelemetry-api: "
        "pip install 'session-analytics[otel]'"
    )
