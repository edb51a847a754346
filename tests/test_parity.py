"""Rust and Python parity: the same telemetry exported through the Rust SDK
(``crates/opentelemetry-parquet/examples/parity.rs``) and through the Python SDK with
``ParquetSpanExporter`` gives identical ``traces`` tables: same schema, same rows, every column.

The Python side mirrors the example value for value: a custom IdGenerator handing out the same
sequential IDs, explicit start/end/event times, a ``Resource`` built directly (without the SDK's
default ``telemetry.sdk.*`` attributes, as ``Resource::builder_empty()``), the same scope.
No column is excluded: nothing the two SDKs record for these spans differs.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from arrow_rows import int_times
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState
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


def write_python_spans(output_dir: Path) -> None:
    """The spans of parity.rs, through the Python SDK."""
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
