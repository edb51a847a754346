"""Side-by-side timing of a batch of 512 real SDK spans (10 attributes and 1 event each):

(a) the OTLP exporter's conversion: ``encode_spans(spans).SerializeToString()``,
(b) our conversion: ``opentelemetry.exporter.parquet._encoding.encode_spans(spans)``,
(c) our full export: ``ParquetSpanExporter.export(spans)`` (conversion + FFI + Rust ingestion;
    the library is flushed between rounds, outside the timing).

Run ``pytest python-adapters/tests/test_benchmark.py`` to get the pytest-benchmark table (one group)
and a summary in microseconds per span with the ratio a/b. Nothing here asserts on time; with
``--benchmark-disable`` each benchmark runs once as a plain test.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as otlp_encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from parquet_store import read_rows

from opentelemetry.exporter.parquet import ParquetLibrary
from opentelemetry.exporter.parquet._encoding import BATCH_FORMAT_VERSION, encode_spans

SPANS = 512
GROUP = "export 512 spans (10 attributes + 1 event each)"
LABELS = {
    "otlp": "(a) OTLP encode_spans + SerializeToString",
    "ours": "(b) parquet encode_spans (pickle batch)",
    "export": "(c) ParquetSpanExporter.export (+FFI +Rust)",
}


@pytest.fixture(scope="module")
def spans() -> list[ReadableSpan]:
    """512 finished spans from a real TracerProvider."""
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
    finished = list(memory.get_finished_spans())
    assert len(finished) == SPANS
    return finished


class _Summary:
    """Prints microseconds per span for each benchmark, and a/b, after the run."""

    def __init__(self) -> None:
        self.us_per_span: dict[str, float] = {}
        self.disabled = False

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.us_per_span and not self.disabled:
            return
        terminalreporter.write_sep("-", "opentelemetry-parquet: microseconds per span (median of rounds)")
        if self.disabled or not self.us_per_span:
            terminalreporter.write_line("benchmarks disabled (--benchmark-disable): run without it to measure")
            return
        for key, label in LABELS.items():
            if key in self.us_per_span:
                terminalreporter.write_line(f"{label:<46} {self.us_per_span[key]:9.2f} us/span")
        if "otlp" in self.us_per_span and "ours" in self.us_per_span:
            ratio = self.us_per_span["otlp"] / self.us_per_span["ours"]
            terminalreporter.write_line(f"{'ratio a/b (OTLP encoding / ours)':<46} {ratio:9.2f}x")


@pytest.fixture(scope="session")
def summary(request: pytest.FixtureRequest) -> Iterator[_Summary]:
    plugin = _Summary()
    request.config.pluginmanager.register(plugin, "opentelemetry-parquet-benchmark-summary")
    yield plugin


def record(benchmark: Any, summary: _Summary, key: str) -> None:
    stats = getattr(benchmark, "stats", None)
    if not benchmark.enabled or stats is None:
        summary.disabled = True
        return
    us = stats.stats.median / SPANS * 1e6
    summary.us_per_span[key] = us
    benchmark.extra_info["us_per_span"] = round(us, 3)


@pytest.mark.benchmark(group=GROUP)
def test_a_otlp_encode_spans(benchmark: Any, spans: list[ReadableSpan], summary: _Summary) -> None:
    encoded = benchmark(lambda: otlp_encode_spans(spans).SerializeToString())
    assert isinstance(encoded, bytes)
    assert len(encoded) > SPANS * 100
    record(benchmark, summary, "otlp")


@pytest.mark.benchmark(group=GROUP)
def test_b_parquet_encode_spans(benchmark: Any, spans: list[ReadableSpan], summary: _Summary) -> None:
    encoded = benchmark(encode_spans, spans)
    version, ((_, _, _, scopes),) = pickle.loads(encoded)
    assert version == BATCH_FORMAT_VERSION
    assert sum(len(scope[4]) for scope in scopes) == SPANS
    record(benchmark, summary, "ours")


@pytest.mark.benchmark(group=GROUP)
def test_c_full_export(benchmark: Any, spans: list[ReadableSpan], summary: _Summary, store: str) -> None:
    library = ParquetLibrary(output_dir=store, flush_interval_ms=3_600_000)
    exporter = library.span_exporter()
    calls = [0]

    def export() -> SpanExportResult:
        calls[0] += 1
        return exporter.export(spans)

    # The flush happens in setup, outside the timing: each round starts with an empty buffer.
    result = benchmark.pedantic(export, setup=library.flush, rounds=30, warmup_rounds=1)
    assert result is SpanExportResult.SUCCESS
    library.flush()
    rows = read_rows(store, "traces")
    assert len(rows) == SPANS * calls[0]
    assert rows[0]["SpanAttributes"]["http.route"] == "/api/orders/{id}"
    record(benchmark, summary, "export")
    library.shutdown()
