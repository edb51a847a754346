"""Python benchmarks of `cargo xtask bench`: each subcommand prints one JSON object.

- ``export``: per span, ``ParquetSpanExporter.export`` (flush excluded, and with a flush per
  batch) against ``encode_spans(spans).SerializeToString()`` (alone, and with the bytes appended
  to a file and fsynced), over batches of 512 spans made by a real SDK tracer (10 attributes and
  one event each, like the Rust benchmarks); and under ``logs`` the same per log record for
  ``ParquetLogExporter.export`` against the OTLP log encoder (``encode_logs`` + ``SerializeToString``,
  alone and into a file with fsync) and the OTLP/JSON file exporter's ``FileLogExporter`` (with
  fsync), over batches of 512 ``logging`` records made by the SDK's ``LoggingHandler`` (a formatted
  message, 4 ``extra`` attributes and the handler's code attributes, half inside a span).
- ``pipeline``: spans per second created by a tracer and exported by a ``BatchSpanProcessor``
  (``force_flush`` at the end) into ``ParquetSpanExporter``, ``InMemorySpanExporter``, the
  OTLP/JSON file exporter (``opentelemetry-exporter-otlp-json-file``) and an OTLP protobuf file.
- ``callgrind WHAT``: for a run under valgrind: makes the batches, then exports them (``parquet``),
  encodes them (``encode``) or nothing (``none``), and leaves with ``os._exit`` so that no
  exit-time flush runs.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.exporter.otlp.json.file._log_exporter import FileLogExporter
from opentelemetry.exporter.otlp.json.file.trace_exporter import FileSpanExporter
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from opentelemetry.exporter.parquet import ParquetLogExporter, ParquetSpanExporter

BATCH = 512
# The packages whose versions the report names.
PACKAGES = (
    "opentelemetry-sdk",
    "opentelemetry-exporter-otlp-proto-common",
    "opentelemetry-exporter-otlp-json-file",
    "protobuf",
    "opentelemetry-parquet",
    "opentelemetry-exporter-parquet",
)
SPANS_PER_TRACE = 8
METHODS = ("GET", "POST", "PUT", "DELETE")
# Nothing but an explicit flush writes.
EXPLICIT_FLUSH = {
    "flush_interval_ms": 86_400_000,
    "flush_rows": 1 << 30,
    "flush_bytes": 1 << 34,
    "max_buffer_bytes": 1 << 34,
}


def make_spans(tracer: Tracer, count: int) -> None:
    """``count`` spans (a multiple of 8): traces of a server span and 7 children, each with 10
    attributes (4 strings, 3 ints, 2 doubles, 1 bool) and one event; every 16th failed."""
    n = 0

    def span(kind: SpanKind, name: str) -> None:
        nonlocal n
        i = n
        n += 1
        attributes = {
            "http.request.method": METHODS[i % 4],
            "url.path": f"/api/v1/orders/{10_000 + i * 7}",
            "http.route": "/api/v1/orders/{id}",
            "server.address": f"orders-{i % 3}.internal",
            "http.response.status_code": 500 if i % 16 == 5 else 200,
            "http.request.body.size": (i * 37) % 4096,
            "app.cart.items": i % 12,
            "app.cart.total": 19.99 + i * 0.73,
            "app.discount.ratio": (i % 10) / 20.0,
            "app.cache.hit": i % 3 == 0,
        }
        with tracer.start_as_current_span(name, kind=kind, attributes=attributes) as current:
            current.add_event("cache.lookup", {"cache.key": f"cart:{i % 97}", "cache.latency_ms": 0.42})
            if i % 16 == 5:
                current.set_status(Status(StatusCode.ERROR, "upstream returned 500"))
            elif kind == SpanKind.SERVER:
                current.set_status(Status(StatusCode.OK))
            if kind == SpanKind.SERVER:
                for child in range(1, SPANS_PER_TRACE):
                    if child % 2 == 0:
                        span(SpanKind.CLIENT, "GET inventory")
                    else:
                        span(SpanKind.INTERNAL, "price cart")

    for _ in range(count // SPANS_PER_TRACE):
        span(SpanKind.SERVER, "POST /api/v1/orders/{id}")


def provider() -> TracerProvider:
    return TracerProvider(resource=Resource.create({"service.name": "checkout-service"}))


def batches(count: int) -> list[Sequence[ReadableSpan]]:
    """``count`` batches of 512 finished spans."""
    memory = InMemorySpanExporter()
    tracers = provider()
    tracers.add_span_processor(SimpleSpanProcessor(memory))
    make_spans(tracers.get_tracer("checkout-service", "1.4.2"), count * BATCH)
    spans = memory.get_finished_spans()
    return [spans[i : i + BATCH] for i in range(0, len(spans), BATCH)]


def per_span(rounds: int, pool: list[Sequence[Any]], work: Callable[[Sequence[Any]], Any]) -> float:
    """Median over ``rounds`` of the µs per item (span or log record) of ``work`` over every batch
    of the pool."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for batch in pool:
            work(batch)
        samples.append((time.perf_counter() - start) * 1e6 / (len(pool) * BATCH))
    return statistics.median(samples)


def log_batches(count: int) -> list[Sequence[Any]]:
    """``count`` batches of 512 log records as the SDK hands them to an exporter: ``logging``
    calls through the SDK's ``LoggingHandler``, every other one inside a span."""
    memory = InMemoryLogRecordExporter()
    loggers = LoggerProvider(resource=Resource.create({"service.name": "checkout-service"}), shutdown_on_exit=False)
    loggers.add_log_record_processor(SimpleLogRecordProcessor(memory))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # SDK 1.45 points to instrumentation-logging
        handler = LoggingHandler(logger_provider=loggers)
    std = logging.getLogger("checkout.orders")
    std.setLevel(logging.INFO)
    std.propagate = False
    std.addHandler(handler)
    tracer = provider().get_tracer("checkout-service", "1.4.2")
    for n in range(count * BATCH):
        extra = {"order.id": 10_000 + n, "customer": f"c-{n % 97}", "amount": 19.99 + n * 0.73, "express": n % 3 == 0}
        if n % 2:
            with tracer.start_as_current_span("POST /api/v1/orders/{id}"):
                std.info("order %d shipped to %s", 10_000 + n, METHODS[n % 4], extra=extra)
        else:
            std.warning("order %d is late", 10_000 + n, extra=extra)
    std.removeHandler(handler)
    loggers.shutdown()
    records = memory.get_finished_logs()
    return [records[i : i + BATCH] for i in range(0, len(records), BATCH)]


def export_logs(args: argparse.Namespace, tmp: str) -> dict[str, Any]:
    """µs per log record of each way to store a batch (see the module's docstring)."""
    pool = log_batches(args.batches)
    parquet = ParquetLogExporter(output_dir=f"{tmp}/logs-only", **EXPLICIT_FLUSH)
    flushed = ParquetLogExporter(output_dir=f"{tmp}/logs-flushed", **EXPLICIT_FLUSH)
    out = open(f"{tmp}/logs.binpb", "wb")  # noqa: SIM115 - closed below
    json_out = open(f"{tmp}/logs.jsonl", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    json_file = FileLogExporter(stream=json_out)

    def export_only(batch: Sequence[Any]) -> None:
        assert parquet.export(batch).name == "SUCCESS"  # noqa: S101 - a failed export voids the run

    def export_flush(batch: Sequence[Any]) -> None:
        assert flushed.export(batch).name == "SUCCESS"  # noqa: S101
        flushed.force_flush()

    def protobuf_file(batch: Sequence[Any]) -> None:
        data = encode_logs(batch).SerializeToString()
        out.write(len(data).to_bytes(4, "little"))
        out.write(data)
        out.flush()
        os.fsync(out.fileno())

    def otlp_json_file(batch: Sequence[Any]) -> None:
        assert json_file.export(batch).name == "SUCCESS"  # noqa: S101 - it flushes the stream itself
        os.fsync(json_out.fileno())

    export_only(pool[0])  # warm-up: the library starts its writer lazily
    parquet.force_flush()
    result = {
        "records": len(pool) * BATCH,
        "parquet_export_us": per_span(args.rounds, pool, export_only),
        "parquet_export_flush_us": per_span(args.rounds, pool, export_flush),
        "encode_logs_serialize_us": per_span(args.rounds, pool, lambda b: encode_logs(b).SerializeToString()),
        "protobuf_file_us": per_span(args.rounds, pool, protobuf_file),
        "otlp_json_file_us": per_span(args.rounds, pool, otlp_json_file),
    }
    parquet.force_flush()
    out.close()
    json_file.shutdown()
    json_out.close()
    return result


def export(args: argparse.Namespace) -> dict[str, Any]:
    pool = batches(args.batches)
    with tempfile.TemporaryDirectory() as tmp:
        parquet = ParquetSpanExporter(output_dir=f"{tmp}/only", **EXPLICIT_FLUSH)
        flushed = ParquetSpanExporter(output_dir=f"{tmp}/flushed", **EXPLICIT_FLUSH)
        out = open(f"{tmp}/spans.binpb", "wb")  # noqa: SIM115 - closed below

        def export_only(batch: Sequence[ReadableSpan]) -> None:
            assert parquet.export(batch) == SpanExportResult.SUCCESS  # noqa: S101 - a failed export voids the run

        def export_flush(batch: Sequence[ReadableSpan]) -> None:
            assert flushed.export(batch) == SpanExportResult.SUCCESS  # noqa: S101
            flushed.force_flush()

        def protobuf_file(batch: Sequence[ReadableSpan]) -> None:
            data = encode_spans(batch).SerializeToString()
            out.write(len(data).to_bytes(4, "little"))
            out.write(data)
            out.flush()
            os.fsync(out.fileno())

        export_only(pool[0])  # warm-up: the library starts its writer lazily
        parquet.force_flush()
        result = {
            "spans": len(pool) * BATCH,
            "versions": {name: importlib.metadata.version(name) for name in PACKAGES},
            "parquet_export_us": per_span(args.rounds, pool, export_only),
            "parquet_export_flush_us": per_span(args.rounds, pool, export_flush),
            "encode_spans_serialize_us": per_span(args.rounds, pool, lambda b: encode_spans(b).SerializeToString()),
            "protobuf_file_us": per_span(args.rounds, pool, protobuf_file),
        }
        parquet.force_flush()
        out.close()
        result["logs"] = export_logs(args, tmp)
        return result


class ProtobufFileExporter(SpanExporter):
    """The OTLP protobuf path: ``encode_spans`` + ``SerializeToString``, length-prefixed into a file."""

    def __init__(self, path: str) -> None:
        self._out = open(path, "wb")  # noqa: SIM115 - closed at shutdown

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        data = encode_spans(spans).SerializeToString()
        self._out.write(len(data).to_bytes(4, "little"))
        self._out.write(data)
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        self._out.flush()
        return True

    def shutdown(self) -> None:
        self._out.close()


def pipeline(args: argparse.Namespace) -> dict[str, Any]:
    count = args.batches * BATCH
    results: dict[str, Any] = {"spans": count}
    with tempfile.TemporaryDirectory() as tmp:
        exporters: dict[str, Callable[[], SpanExporter]] = {
            "parquet": lambda: ParquetSpanExporter(output_dir=f"{tmp}/parquet"),
            "in_memory": InMemorySpanExporter,
            "otlp_json_file": lambda: FileSpanExporter(f"{tmp}/spans.jsonl"),
            "otlp_protobuf_file": lambda: ProtobufFileExporter(f"{tmp}/spans.binpb"),
        }
        samples: dict[str, list[float]] = {name: [] for name in exporters}
        # Rounds interleave the exporters, so that a busy moment of the machine hits them alike.
        for _ in range(args.rounds):
            for name, make in exporters.items():
                tracers = provider()
                # A queue that holds every span: none is dropped, whatever the exporter's speed.
                tracers.add_span_processor(BatchSpanProcessor(make(), max_queue_size=count + BATCH))
                tracer = tracers.get_tracer("checkout-service", "1.4.2")
                start = time.perf_counter()
                make_spans(tracer, count)
                tracers.force_flush()
                samples[name].append(count / (time.perf_counter() - start))
                tracers.shutdown()
        for name, values in samples.items():
            results[f"{name}_spans_per_s"] = statistics.median(values)
            print(f"  pipeline {name}: {results[f'{name}_spans_per_s']:,.0f} spans/s", file=sys.stderr)
    return results


def callgrind(args: argparse.Namespace) -> None:
    pool = batches(args.batches)
    tmp = tempfile.mkdtemp()
    if args.what == "parquet":
        exporter = ParquetSpanExporter(output_dir=tmp, **EXPLICIT_FLUSH)
        for batch in pool:
            exporter.export(batch)
    elif args.what == "encode":
        for batch in pool:
            encode_spans(batch).SerializeToString()
    sys.stdout.flush()
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["export", "pipeline", "callgrind"])
    parser.add_argument("mode", nargs="?", choices=["parquet", "encode", "none"], default="none")
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.what == "callgrind":
        args.what = args.mode
        callgrind(args)
        return
    result = export(args) if args.what == "export" else pipeline(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
