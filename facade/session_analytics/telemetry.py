"""OpenTelemetry, opt-in: batcher metrics, a span per FullStory API call, trace ids on events.

Nothing here imports opentelemetry until ``enable_opentelemetry()`` is called. While it is off,
the senders and the API calls read one module-level boolean (``active``) and go on; ``track()``
reads another (``event_trace_ids``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ._version import __version__

# Read by the batchers once per settled attempt and by every API call: True while enabled.
active = False
# Read by track() once per event and by events.create(): add the current span's ids to the
# event's properties.
event_trace_ids = False

INSTRUMENTATION_NAME = "session_analytics"
TRACE_ID_PROPERTY = "otel_trace_id"
SPAN_ID_PROPERTY = "otel_span_id"
COUNTERS = ("enqueued", "delivered", "retried", "dropped", "failed")

_lock = threading.Lock()
# The instruments of the current enabling; a callback of an earlier one observes nothing (the
# API has no way to take an observable instrument back).
_generation = 0
_latency: Any = None
_tracer: Any = None


def enable_opentelemetry(
    *,
    meter_provider: Any = None,
    tracer_provider: Any = None,
    event_trace_ids: bool = False,
) -> None:
    """Report the batchers' counters, queue depth and send latency as metrics, and each FullStory
    API call as a span, through the given providers (default: the global ones).

    ``event_trace_ids``: ``track()`` and ``events.create()`` (of an event given as a dict) add
    ``otel_trace_id`` and ``otel_span_id`` to the properties of an event made inside a valid
    span, unless the caller set them. Needs opentelemetry-api
    (``pip install 'session-analytics[otel]'``).
    """
    try:
        from opentelemetry import metrics, trace
    except ImportError as error:
        raise ImportError(
            "enable_opentelemetry() needs opentelemetry-api: pip install 'session-analytics[otel]'"
        ) from error
    global _generation, _latency, _tracer, active
    with _lock:
        _generation += 1
        generation = _generation
        provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
        meter = provider.get_meter(INSTRUMENTATION_NAME, __version__)
        for counter in COUNTERS:
            meter.create_observable_counter(
                f"session_analytics.batcher.{counter}",
                callbacks=[_counter_callback(counter, generation)],
                unit="{event}",
                description=f"Events {counter} by the batchers (stats().{counter})",
            )
        meter.create_observable_gauge(
            "session_analytics.batcher.queue_depth",
            callbacks=[_counter_callback("queue_depth", generation)],
            unit="{event}",
            description="Events queued and not yet taken for a send (stats().queue_depth)",
        )
        _latency = meter.create_histogram(
            "session_analytics.batcher.send.duration",
            unit="s",
            description="How long one send of a batch took, answer or failure",
        )
        _tracer = trace.get_tracer(INSTRUMENTATION_NAME, __version__, tracer_provider)
        globals()["event_trace_ids"] = bool(event_trace_ids)
        active = True


def disable_opentelemetry() -> None:
    """Stop reporting: no more spans, latencies or trace ids; the observable instruments
    already registered observe nothing from now on."""
    global _generation, _latency, _tracer, active
    with _lock:
        active = False
        globals()["event_trace_ids"] = False
        _generation += 1
        _latency = None
        _tracer = None


# ---- metrics --------------------------------------------------------------------------------


def api_of(sender_name: str) -> str:
    """The ``api`` attribute of a batcher: "fullstory" for "fullstory-track"."""
    return sender_name.split("-", 1)[0]


def totals(batchers: Iterable[Any], field: str) -> dict[str, int]:
    """``stats().<field>`` summed over the batchers of each API."""
    summed: dict[str, int] = {}
    for batcher in batchers:
        api = api_of(batcher._core.name)
        summed[api] = summed.get(api, 0) + getattr(batcher.stats(), field)
    return summed


def _counter_callback(field: str, generation: int) -> Any:
    def observe(options: Any) -> Iterator[Any]:
        from opentelemetry.metrics import Observation

        from ._batching.exits import _live

        if generation != _generation:
            return
        for api, value in totals(list(_live), field).items():
            yield Observation(value, {"api": api})

    return observe


def record_send(sender_name: str, seconds: float, delivered: bool) -> None:
    """One attempt of a batch ended (called by the batcher's worker, only while active)."""
    histogram = _latency
    if histogram is not None:
        attributes = {"api": api_of(sender_name), "outcome": "delivered" if delivered else "failed"}
        histogram.record(max(0.0, seconds), attributes)


# ---- spans ----------------------------------------------------------------------------------


def path_template(what: str, arguments: Mapping[str, Any]) -> tuple[str, str]:
    """``("GET", "/v2/users/{id}")`` from ``"GET /v2/users/u-123"`` and ``{"id": "u-123"}``:
    the values of the call's arguments put back as their names, the query left out (ids and
    uids are the user's data, not a label)."""
    method, _, path = what.partition(" ")
    path = path.partition("?")[0]
    # "/v2/<resource>" is fixed; what follows may hold the arguments' values.
    parts = path.split("/", 3)
    if len(parts) == 4:
        head, tail = "/".join(parts[:3]), parts[3]
        named = [(value, name) for name, value in arguments.items() if isinstance(value, str)]
        values = sorted((pair for pair in named if pair[0]), key=lambda pair: -len(pair[0]))
        for value, name in values:
            tail = tail.replace(value, "{" + name + "}")
        path = f"{head}/{tail}"
    return method, path


@contextmanager
def api_call_span(api: str, what: str, arguments: Mapping[str, Any]) -> Iterator[Any]:
    """A CLIENT span around one API call, named by its operation ("GET /v2/users/{id}"); yields
    it for ``call_answered``. An exception ends it with an error status, the HTTP status and
    the retries taken when the error has them. Never the key, the body or the ids."""
    tracer = _tracer
    if tracer is None:  # disabled meanwhile
        yield None
        return
    from opentelemetry.trace import SpanKind, Status, StatusCode

    method, template = path_template(what, arguments)
    attributes = {
        "http.request.method": method,
        "url.template": template,
        "session_analytics.api": api,
    }
    with tracer.start_as_current_span(
        f"{method} {template}",
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except BaseException as error:
            status = getattr(error, "http_status_code", None)
            if isinstance(status, int):
                span.set_attribute("http.response.status_code", status)
            span.set_attribute("session_analytics.retries", getattr(error, "retries_taken", 0))
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise


def call_answered(span: Any, status: int, retries: int) -> None:
    """The call succeeded with ``status`` after ``retries`` retries."""
    if span is not None:
        span.set_attribute("http.response.status_code", status)
        span.set_attribute("session_analytics.retries", retries)


# ---- trace ids on events --------------------------------------------------------------------


def with_trace_ids(properties: Any) -> Any:
    """``properties`` plus the current span's trace and span ids (hex), when a valid span is
    current; the caller's own values of those names win. The caller's dict is not changed."""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return properties
    if properties is not None and not isinstance(properties, dict):
        return properties  # not ours to fix: the checks name the field
    added = dict(properties) if properties is not None else {}
    added.setdefault(TRACE_ID_PROPERTY, trace.format_trace_id(context.trace_id))
    added.setdefault(SPAN_ID_PROPERTY, trace.format_span_id(context.span_id))
    return added


def event_with_trace_ids(event: Any) -> Any:
    """An ``events.create()`` event given as a dict, with ``with_trace_ids`` applied to its
    properties; a generated model is sent as it is."""
    if not isinstance(event, dict):
        return event
    properties = event.get("properties")
    added = with_trace_ids(properties)
    if added is properties:
        return event
    return {**event, "properties": added}
