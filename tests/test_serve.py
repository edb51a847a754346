"""`opentelemetry-parquet serve` with real clients: the Python SDK's own OTLP exporters (HTTP and
gRPC, all three signals) send to the command, which stores what they send; a stop (SIGTERM, or
Ctrl-Break on Windows) drains, flushes and exits 0. The spans it stores are the rows
``ParquetSpanExporter`` stores in-process for the same spans, column for column; the log records
likewise.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Status, StatusCode
from serve_process import Serve, table

from opentelemetry.exporter.parquet import ParquetLibrary


def _spans(exporter: SpanExporter) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "served"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("checkout", "1.0")
    with tracer.start_as_current_span("POST /checkout", attributes={"http.route": "/checkout", "n": 3}) as span:
        span.add_event("retry", {"attempt": 2, "ratio": 0.5})
        with tracer.start_as_current_span("SELECT carts") as child:
            child.set_status(Status(StatusCode.ERROR, "timeout"))
    provider.shutdown()


def _unordered(column: str, table: pa.Table) -> list[object]:
    """A column's values, attribute maps compared as maps: the in-process exporter stores a
    resource's attributes sorted by key, the OTLP path in the order the client sent them (every
    value here is a scalar, so the type codes compare as a multiset too)."""
    values = table.column(column).to_pylist()
    if column.endswith("Attributes"):
        return [dict(v) for v in values]
    if column.endswith("AttributesTypes"):
        return ["".join(sorted(v)) for v in values]
    return values


def test_the_python_sdks_otlp_exporters_fill_the_store(serve: Serve, tmp_path: Path) -> None:
    http, grpc = serve.addresses["HTTP"], serve.addresses["gRPC"]
    _spans(OTLPSpanExporter(endpoint=f"http://{http}/v1/traces"))

    logs = LoggerProvider(resource=Resource.create({"service.name": "served"}))
    logs.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"http://{http}/v1/logs")))
    logger = logging.getLogger("test_serve")
    logger.propagate = False
    handler = LoggingHandler(logger_provider=logs)
    logger.addHandler(handler)
    tracer_provider = TracerProvider()
    with tracer_provider.get_tracer("t").start_as_current_span("request"):
        logger.warning("card declined", extra={"amount": 12.5})
    logger.error({"structured": True})
    logger.removeHandler(handler)
    logs.shutdown()

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"http://{grpc}", insecure=True), export_interval_millis=3_600_000
    )
    meters = MeterProvider(resource=Resource.create({"service.name": "served"}), metric_readers=[reader])
    meters.get_meter("m").create_counter("requests").add(5, {"route": "/a"})
    meters.shutdown()

    output = serve.stop()
    assert "stopped" in output, output
    store = tmp_path / "served"

    # The same spans through the in-process exporter store the same rows, column for column.
    library = ParquetLibrary(output_dir=str(tmp_path / "in-process"))
    _spans(library.span_exporter())
    library.shutdown()
    served, in_process = table(store, "traces"), table(tmp_path / "in-process", "traces")
    assert served.num_rows == in_process.num_rows == 2
    key = [("SpanName", "ascending")]
    served, in_process = served.sort_by(key), in_process.sort_by(key)
    for column in served.column_names:
        if column in ("TraceId", "SpanId", "ParentSpanId", "Timestamp", "Duration", "Events", "Flags"):
            continue  # a second run of the program: new IDs and times; Flags below
        assert _unordered(column, served) == _unordered(column, in_process), column
    assert [e["Name"] for e in served.column("Events").to_pylist()[0]] == ["retry"]
    # The Python OTLP encoder sends only the has-is-remote bit (0x100), not the W3C trace flags
    # that ParquetSpanExporter stores (sampled, random): the store keeps what it was sent.
    assert served.column("Flags").to_pylist() == [0x100, 0x100]
    assert all(f & 0xFF00 == 0x100 for f in in_process.column("Flags").to_pylist())

    records = table(store, "logs").sort_by([("ObservedTimestamp", "ascending")]).to_pylist()
    assert [(r["SeverityText"], r["Body"]) for r in records] == [
        ("WARN", "card declined"),
        ("ERROR", '{"structured":true}'),
    ]
    assert records[0]["TraceId"] and records[0]["SpanId"], "logged inside a span"
    assert ("amount", "12.5") in records[0]["LogAttributes"]
    sums = table(store, "metrics_sum").to_pylist()
    assert [(r["MetricName"], r["Value"], r["IntValue"]) for r in sums] == [("requests", 5.0, 5)]
