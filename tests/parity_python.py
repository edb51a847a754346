"""The telemetry of ``crates/opentelemetry-parquet/examples/parity.rs``, value for value, through
the Python SDK and the Python exporters: a custom IdGenerator handing out the same sequential IDs,
explicit start/end/event times, a ``Resource`` built directly (without the SDK's default
``telemetry.sdk.*`` attributes, as ``Resource::builder_empty()``), the same scope, log records of
every body type with the same times, severities and attributes. ``test_parity.py`` compares the
stores. Keep the two in step."""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import opentelemetry.sdk._logs as sdk_logs
from opentelemetry import trace
from opentelemetry._logs import LogRecord as ApiLogRecord
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
    TraceState,
)
from opentelemetry.trace.status import Status, StatusCode

from opentelemetry.exporter.parquet import ParquetLibrary

FIRST_TRACE_ID = 0x5B8EFFF79880_38132C1B0D9DCB1D0001
FIRST_SPAN_ID = 0x00F067AA0BA90001
BASE_NS = 1_700_000_000 * 10**9


def at(ms: int) -> int:
    """2023-11-14T22:13:20Z plus ``ms`` milliseconds, in nanoseconds (``at`` of parity.rs)."""
    return BASE_NS + ms * 1_000_000


class SequentialIds(IdGenerator):
    def __init__(self) -> None:
        self.traces = 0
        self.spans = 0

    def generate_trace_id(self) -> int:
        self.traces += 1
        return FIRST_TRACE_ID + self.traces - 1

    def generate_span_id(self) -> int:
        self.spans += 1
        return FIRST_SPAN_ID + self.spans - 1


EVERY_TYPE: dict[str, Any] = {
    "http.request.method": "GET",
    "empty": "",
    "unicode": 'ünïcødé ✓ "quoted" <b>&',
    "flag": True,
    "off": False,
    "count": 42,
    "int64.min": -(2**63),
    "int64.max": 2**63 - 1,
    "ratio": 1.5,
    "whole": 2.0,
    "negative.zero": -0.0,
    "huge": 1e21,
    "tiny": 1.5e-7,
    "not.a.number": math.nan,
    "infinity": math.inf,
    "ints": [1, 2],
    "floats": [1.5, 2.0],
    "bools": [True, False],
    "strs": ["a", "b"],
    "no.items": [],
}


# The log bodies of parity.rs (``bodies()``), one record each; maps of one entry, as the Rust SDK
# keeps a map in no set order.
BODIES: list[Any] = [
    "card declined",
    "",
    -(2**63),
    -0.0,
    math.nan,
    True,
    b"\x00\xff",
    [1, "a", [2.5]],
    {"order": {"items": [False]}},
    {},
    [],
    None,
]
SEVERITIES = [SeverityNumber.INFO, SeverityNumber.WARN, SeverityNumber.ERROR, SeverityNumber.DEBUG2]
READABLE = hasattr(sdk_logs, "ReadableLogRecord")  # SDK 1.39+
_RECORD: Any = ApiLogRecord if READABLE else getattr(sdk_logs, "LogRecord", None)
EVENT_NAMES = "event_name" in inspect.signature(_RECORD.__init__).parameters


def emit(logger: Any, *, span_context: SpanContext | None = None, event_name: str | None = None, **fields: Any) -> None:
    """One record through the SDK's Logger API of either side of the 1.39 rename."""
    if EVENT_NAMES:
        fields["event_name"] = event_name
    if READABLE:
        context = trace.set_span_in_context(NonRecordingSpan(span_context)) if span_context else Context()
        logger.emit(ApiLogRecord(context=context, **fields))
        return
    ids = span_context or INVALID_SPAN_CONTEXT
    logger.emit(
        _RECORD(
            trace_id=ids.trace_id,
            span_id=ids.span_id,
            trace_flags=ids.trace_flags,
            resource=logger.resource,
            **fields,
        )
    )


def write_python_logs(library: ParquetLibrary, resource: Resource) -> None:
    """The log records of parity.rs (``write_logs``), through the Python SDK."""
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(library.log_exporter()))
    logger = provider.get_logger(
        "parity.scope",
        "4.5.6",
        schema_url="https://example.com/schemas/scope/1.0",
        attributes={"scope.attr": "s", "n": 1},
    )
    for i, body in enumerate(BODIES):
        severity = SEVERITIES[i % len(SEVERITIES)]
        emit(
            logger,
            timestamp=at(40 + i),
            observed_timestamp=at(60 + i),
            severity_number=severity,
            severity_text=severity.name,
            body=body,
            attributes={"body.index": i},
        )
    emit(
        logger,
        span_context=SpanContext(FIRST_TRACE_ID, FIRST_SPAN_ID, is_remote=False, trace_flags=TraceFlags(1)),
        event_name="payment.failed",
        timestamp=at(8),
        observed_timestamp=at(9),
        severity_number=SeverityNumber.WARN,
        severity_text="WARN",
        body="payment failed",
        attributes={"str": "v", "int": -7, "float": 0.25, "bool": False, "ints": [1, 2], "strs": ["a", "b"]},
    )
    emit(logger, timestamp=None, observed_timestamp=at(90), body="no time, no severity")
    provider.shutdown()


def write_python(output_dir: Path) -> None:
    """The spans and log records of parity.rs, through the Python SDK."""
    library = ParquetLibrary(output_dir=str(output_dir))
    resource = Resource(
        {
            "service.name": "parity",
            "service.version": "1.2.3",
            "host.cpus": 8,
            "load": 0.75,
            "on.call": False,
            "regions": ["eu", "us"],
        },
        schema_url="https://opentelemetry.io/schemas/1.26.0",
    )
    provider = TracerProvider(resource=resource, id_generator=SequentialIds())
    provider.add_span_processor(SimpleSpanProcessor(library.span_exporter()))
    tracer = provider.get_tracer(
        "parity.scope",
        "4.5.6",
        schema_url="https://example.com/schemas/scope/1.0",
        attributes={"scope.attr": "s", "n": 1},
    )

    # 1. A server span with every attribute type and an event.
    server = tracer.start_span("GET /checkout", kind=SpanKind.SERVER, attributes=EVERY_TYPE, start_time=at(0))
    server.add_event(
        "request.received", {"body.size": 512, "ok": True, "ratio": 0.25, "tags": ["a", "b"]}, timestamp=at(1)
    )
    server_cx = trace.set_span_in_context(server)

    # 2. A client child with two links and an error status.
    unsampled_link = SpanContext(
        trace_id=0x11111111111111111111111111111111,
        span_id=0x2222222222222222,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.DEFAULT),
    )
    remote_link = SpanContext(
        trace_id=0x33333333333333333333333333333333,
        span_id=0x4444444444444444,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("k", "v")]),
    )
    client = tracer.start_span(
        "SELECT orders",
        context=server_cx,
        kind=SpanKind.CLIENT,
        start_time=at(2),
        links=[Link(unsampled_link, {"link.reason": "retry", "link.n": 2}), Link(remote_link)],
    )
    client.add_event("retry", timestamp=at(3))
    client.set_status(Status(StatusCode.ERROR, "connection reset"))
    client.end(end_time=at(4))

    # 3. A producer child whose attribute is set after the start.
    producer = tracer.start_span("publish", context=server_cx, kind=SpanKind.PRODUCER, start_time=at(5))
    producer.set_attribute("messaging.batch", 3)
    producer.end(end_time=at(6))

    server.set_status(Status(StatusCode.OK))
    server.end(end_time=at(10))

    # 4. A consumer whose parent is remote (with a trace state), with an error without message.
    remote_parent = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "v1"), ("other", "x")]),
    )
    consumer = tracer.start_span(
        "consume",
        context=trace.set_span_in_context(NonRecordingSpan(remote_parent)),
        kind=SpanKind.CONSUMER,
        start_time=at(20),
    )
    consumer.set_status(Status(StatusCode.ERROR))
    consumer.end(end_time=at(25))

    # 5. An internal root span of zero duration, without attributes.
    internal = tracer.start_span("internal work", start_time=at(30))
    internal.end(end_time=at(30))

    provider.shutdown()
    write_python_logs(library, resource)
    library.shutdown()
