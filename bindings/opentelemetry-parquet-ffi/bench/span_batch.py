"""The 512-span batch of the issue-7 measurements (10 attributes and 1 event per span, from a real
SDK tracer), as the Python encoder writes it, and the time ``ParquetSpanExporter.export`` takes.

    python span_batch.py write PATH   # the batch pickle, read by examples/export_batch.rs
    python span_batch.py time [ROUNDS] # median microseconds per span of ParquetSpanExporter.export

Needs the two wheels installed (opentelemetry-parquet, opentelemetry-exporter-parquet).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

SPANS = 512


def spans() -> list[ReadableSpan]:
    """512 finished spans from a real TracerProvider (the spans of python-adapters' test_benchmark.py)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "bench", "service.version": "1.0"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench", "0.1")
    for n in range(SPANS):
        attributes: dict[str, Any] = {
            "http.request.method": "GET",
            "http.route": "/api/orders/{id}",
            "url.full": f"https://shop.example.com/api/orders/{n}",
            "http.response.status_code": 200,
            "server.port": 443,
            "user.id": n,
            "cache.hit": n % 2 == 0,
            "duration.ratio": n / 7,
            "tags": ["a", "b"],
            "retry.delays": [0.5, 1.5],
        }
        with tracer.start_as_current_span("GET /api/orders/{id}", kind=SpanKind.SERVER, attributes=attributes) as s:
            s.add_event("cache.lookup", {"cache.key": f"order:{n}", "attempt": 1})
    provider.shutdown()
    return list(memory.get_finished_spans())


def write(path: str) -> None:
    from opentelemetry.exporter.parquet._encoding import encode_spans

    with open(path, "wb") as f:
        f.write(encode_spans(spans()))


def timing(rounds: int) -> None:
    from opentelemetry.exporter.parquet import ParquetLibrary, ParquetSpanExporter

    batch = spans()
    with tempfile.TemporaryDirectory() as store:
        library = ParquetLibrary(output_dir=store, flush_interval_ms=3_600_000)
        exporter = ParquetSpanExporter(library=library)
        per_span = []
        for _ in range(rounds):
            start = time.perf_counter_ns()
            exporter.export(batch)
            per_span.append((time.perf_counter_ns() - start) / 1000 / SPANS)
            library.flush()
        exporter.shutdown()
    print(
        f"ParquetSpanExporter.export: median {statistics.median(per_span):.2f} us/span, "
        f"min {min(per_span):.2f} over {rounds} rounds"
    )


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        timing(int(sys.argv[2]) if len(sys.argv) > 2 else 200)
