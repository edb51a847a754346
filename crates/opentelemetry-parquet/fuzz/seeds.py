"""Writes the seed corpus of the fuzz targets (corpus/<target>/seed-N) from real OpenTelemetry
SDK telemetry: OTLP protobuf requests (opentelemetry-exporter-otlp-proto-common) and the Python
adapters' pickle batches (opentelemetry-exporter-parquet). Run from this directory with the
test virtualenv's Python: `python seeds.py`.
"""

from __future__ import annotations

from pathlib import Path

import logging

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs as otlp_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics as otlp_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as otlp_spans
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from opentelemetry.exporter.parquet._encoding import encode_spans
from opentelemetry.exporter.parquet._log_encoding import encode_logs
from opentelemetry.exporter.parquet._metric_encoding import encode_metrics

CORPUS = Path(__file__).resolve().parent / "corpus"


def spans() -> list[list[object]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "fuzz", "n": 1}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("fuzz", "1.0")
    with tracer.start_as_current_span("parent", attributes={"s": "x", "i": 7, "f": 1.5, "b": True}) as parent:
        parent.add_event("event", {"list": [1, 2, 3], "strs": ["a", "b"]})
        with tracer.start_as_current_span("child", links=[Link(parent.get_span_context(), {"l": 1})]) as child:
            child.set_attribute("code", 200)
            child.set_attribute("code", 500)
            child.set_status(Status(StatusCode.ERROR, "failed"))
    finished = list(memory.get_finished_spans())
    return [finished[:1], finished]


def metrics() -> list[object]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=Resource.create({"service.name": "fuzz"}), metric_readers=[reader])
    meter = provider.get_meter("fuzz")
    meter.create_counter("requests").add(3, {"route": "/a"})
    meter.create_up_down_counter("queue").add(-2)
    meter.create_histogram("latency").record(12.5, {"route": "/a"})
    meter.create_gauge("temperature").set(21.5)
    data = reader.get_metrics_data()
    provider.shutdown()
    return [data]


def logs() -> list[list[object]]:
    memory = InMemoryLogExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": "fuzz"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = logging.getLogger("fuzz")
    logger.propagate = False
    logger.addHandler(LoggingHandler(logger_provider=provider))
    tracer_provider = TracerProvider()
    with tracer_provider.get_tracer("fuzz").start_as_current_span("request"):
        logger.warning("payment %s failed", "p-1", extra={"amount": 12.5, "tries": [1, 2]})
    logger.error({"structured": {"code": 7}, "ok": False})
    provider.shutdown()
    finished = list(memory.get_finished_logs())
    return [finished[:1], finished]


def write(target: str, seeds: list[bytes]) -> None:
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    for n, seed in enumerate(seeds):
        (directory / f"seed-{n}").write_bytes(seed)


def main() -> None:
    span_sets = spans()
    metric_sets = metrics()
    write("otlp_traces_bytes", [otlp_spans(s).SerializeToString() for s in span_sets])  # type: ignore[arg-type]
    write("otlp_metrics_bytes", [otlp_metrics(m).SerializeToString() for m in metric_sets])  # type: ignore[arg-type]
    log_sets = logs()
    write("otlp_logs_bytes", [otlp_logs(batch).SerializeToString() for batch in log_sets])  # type: ignore[arg-type]
    write("python_batch_logs", [encode_logs(batch) for batch in log_sets])
    write("python_batch_traces", [encode_spans(s) for s in span_sets])  # type: ignore[arg-type]
    write("python_batch_metrics", [encode_metrics(m) for m in metric_sets])  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
