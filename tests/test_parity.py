"""Rust and Python parity: the same telemetry exported through the Rust SDK
(``crates/opentelemetry-parquet/examples/parity.rs``) and through the Python SDK with
``ParquetSpanExporter`` and ``ParquetLogExporter`` gives identical ``traces`` and ``logs``
tables: same schema, same rows, every column.

The Python side mirrors the example value for value: a custom IdGenerator handing out the same
sequential IDs, explicit start/end/event times, a ``Resource`` built directly (without the SDK's
default ``telemetry.sdk.*`` attributes, as ``Resource::builder_empty()``), the same scope, log
records of every body type with the same times, severities and attributes. No span column is
excluded: nothing the two SDKs record for these spans differs. Two log columns differ, each
checked to the value: ``ScopeSchemaUrl`` (the Rust path stores the resource's schema URL there, as
opentelemetry-proto's ``group_logs_by_resource_and_scope`` sends it; the Python path the scope's,
as the Python OTLP encoder does), and ``EventName`` on SDKs before 1.35, which have no event names.
"""

from __future__ import annotations

import inspect
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import opentelemetry.sdk._logs as sdk_logs
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from arrow_rows import int_times
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

REPO = Path(__file__).resolve().parent.parent
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


def write_python_spans(output_dir: Path) -> None:
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


def write_rust_spans(output_dir: Path) -> None:
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.skip("cargo is not installed")
    done = subprocess.run(
        [cargo, "run", "-q", "-p", "opentelemetry-parquet", "--example", "parity", "--", str(output_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def traces(output_dir: Path) -> pa.Table:
    table = ds.dataset(str(output_dir / "traces"), format="parquet", partitioning="hive").to_table()
    return table.sort_by("SpanId")


def test_rust_and_python_store_identical_traces(tmp_path: Path) -> None:
    rust_dir, python_dir = tmp_path / "rust", tmp_path / "python"
    write_rust_spans(rust_dir)
    write_python_spans(python_dir)

    rust_files = sorted(rust_dir.glob("traces/date=*/hour=*/part-*.parquet"))
    python_files = sorted(python_dir.glob("traces/date=*/hour=*/part-*.parquet"))
    assert [f.parent.relative_to(rust_dir) for f in rust_files] == [
        f.parent.relative_to(python_dir) for f in python_files
    ], "same partitions"
    for rust_file, python_file in zip(rust_files, python_files, strict=True):
        assert pq.read_schema(rust_file).equals(pq.read_schema(python_file), check_metadata=True)

    rust, python = traces(rust_dir), traces(python_dir)
    assert rust.schema.equals(python.schema)
    assert rust.num_rows == python.num_rows == 5
    assert rust.column("SpanName").to_pylist() == [
        "GET /checkout",
        "SELECT orders",
        "publish",
        "consume",
        "internal work",
    ]
    schema = pa.schema([f.with_type(int_times(f.type)) for f in rust.schema])
    rust_rows, python_rows = rust.cast(schema), python.cast(schema)
    for name in rust.column_names:
        assert rust_rows.column(name).to_pylist() == python_rows.column(name).to_pylist(), name
    assert rust.equals(python), "identical tables"

    # And the values are the expected ones, not just equal to each other.
    server = rust_rows.slice(0, 1).to_pylist()[0]
    attributes = dict(server["SpanAttributes"])
    assert attributes["negative.zero"] == "-0"
    assert attributes["not.a.number"] == "NaN"
    assert attributes["infinity"] == "+Inf"
    assert attributes["floats"] == "[1.5,2]"
    assert (server["Timestamp"], server["Duration"]) == (at(0), at(10) - at(0))
    consumer = rust_rows.slice(3, 1).to_pylist()[0]
    assert (consumer["Flags"], consumer["TraceState"]) == (0x301, "vendor=v1,other=x")


def test_rust_and_python_store_identical_logs(tmp_path: Path) -> None:
    rust_dir, python_dir = tmp_path / "rust", tmp_path / "python"
    write_rust_spans(rust_dir)
    write_python_spans(python_dir)

    def logs(output_dir: Path) -> pa.Table:
        table = ds.dataset(str(output_dir / "logs"), format="parquet", partitioning="hive").to_table()
        return table.sort_by("ObservedTimestamp")

    rust, python = logs(rust_dir), logs(python_dir)
    assert rust.schema.equals(python.schema)
    assert rust.num_rows == python.num_rows == len(BODIES) + 2
    schema = pa.schema([f.with_type(int_times(f.type)) for f in rust.schema])
    rust_rows, python_rows = rust.cast(schema), python.cast(schema)
    differing = {"ScopeSchemaUrl"} | (set() if EVENT_NAMES else {"EventName"})
    for name in rust.column_names:
        if name not in differing:
            assert rust_rows.column(name).to_pylist() == python_rows.column(name).to_pylist(), name
    assert set(rust_rows.column("ScopeSchemaUrl").to_pylist()) == {"https://opentelemetry.io/schemas/1.26.0"}
    assert set(python_rows.column("ScopeSchemaUrl").to_pylist()) == {"https://example.com/schemas/scope/1.0"}
    events = [r for r in rust_rows.column("EventName").to_pylist() if r]
    assert events == ["payment.failed"]
    if not EVENT_NAMES:
        assert set(python_rows.column("EventName").to_pylist()) == {""}

    # And the values are the expected ones, not just equal to each other.
    by_body = {r["Body"]: r for r in python_rows.to_pylist()}
    in_span = by_body["payment failed"]
    assert (in_span["TraceId"], in_span["SpanId"], in_span["Flags"]) == (
        format(FIRST_TRACE_ID, "032x"),
        format(FIRST_SPAN_ID, "016x"),
        1,
    )
    assert [(r["Body"], r["BodyType"]) for r in python_rows.to_pylist()[1:5]] == [
        ("card declined", "s"),
        ("", "s"),
        ("-9223372036854775808", "i"),
        ("-0", "d"),
    ]
    untimed = by_body["no time, no severity"]
    assert (untimed["TimestampFromObserved"], untimed["Timestamp"], untimed["SeverityNumber"]) == (True, at(90), 0)


def _exemplar_metrics() -> Any:
    from opentelemetry.sdk.metrics import Exemplar
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        Metric,
        MetricsData,
        NumberDataPoint,
        ResourceMetrics,
        ScopeMetrics,
        Sum,
    )
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    exemplars = [
        Exemplar({"case": "no span"}, 1.5, at(1), None, None),
        Exemplar({"case": "all-zero ids"}, 2.5, at(2), 0, 0),
        Exemplar({"case": "sampled span"}, 3.5, at(3), FIRST_SPAN_ID, FIRST_TRACE_ID),
    ]
    point = NumberDataPoint({"k": "v"}, at(0), at(5), 7, exemplars=exemplars)
    data = Sum([point], AggregationTemporality.CUMULATIVE, True)
    metric = Metric("requests", "", "1", data)
    scope = ScopeMetrics(InstrumentationScope("parity.scope", "4.5.6"), [metric], "")
    return MetricsData([ResourceMetrics(Resource({"service.name": "parity"}), [scope], "")])


def test_exemplars_without_a_span_store_the_same_ids_from_python_and_rust(tmp_path: Path) -> None:
    """Exemplars without a span (the SDK's None IDs) and with all-zero IDs are stored as the
    ClickHouse exporter stores them, '' in both ID columns, by the Python SDK path and by the Rust
    decoding of the same metrics as OTLP (the SDK's own encoder, the form the Rust SDK sends)."""
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

    data = _exemplar_metrics()
    stored = {}
    for path in ("python", "rust"):
        library = ParquetLibrary(output_dir=str(tmp_path / path))
        if path == "python":
            library.metric_exporter().export(data)
        else:
            library.library.export_otlp_metrics(encode_metrics(data).SerializeToString())
        library.shutdown()
        table = ds.dataset(str(tmp_path / path / "metrics_sum"), format="parquet", partitioning="hive").to_table()
        (row,) = table.select(["Exemplars"]).to_pylist()
        stored[path] = [(dict(e["FilteredAttributes"])["case"], e["SpanId"], e["TraceId"]) for e in row["Exemplars"]]
    assert stored["python"] == stored["rust"]
    assert stored["python"] == [
        ("no span", "", ""),
        ("all-zero ids", "", ""),
        ("sampled span", format(FIRST_SPAN_ID, "016x"), format(FIRST_TRACE_ID, "032x")),
    ]
