"""Side-by-side timing of a batch of 512 real SDK spans (10 attributes and 1 event each):

(a) the OTLP exporter's conversion: ``encode_spans(spans).SerializeToString()``,
(b) our conversion: ``opentelemetry.exporter.parquet._encoding.encode_spans(spans)``,
(c) our full export: ``ParquetSpanExporter.export(spans)`` (conversion + FFI + Rust ingestion;
    the library is flushed between rounds, outside the timing);

and the same three for a batch of 512 log records of the stdlib ``logging`` module through the
SDK's ``LoggingHandler`` (a formatted message, 4 ``extra`` attributes and the handler's code
attributes; half of them inside a span): (d) ``encode_logs(records).SerializeToString()`` of the
OTLP exporter, (e) our ``encode_logs``, (f) ``ParquetLogExporter.export``.

Run ``pytest python-adapters/tests/test_benchmark.py`` to get the pytest-benchmark tables (one
group per signal) and a summary in microseconds per span and per log record with the ratios a/b
and d/e. Nothing here asserts on time; with ``--benchmark-disable`` each benchmark runs once as a
plain test.
"""

from __future__ import annotations

import logging
import pickle
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from log_records import InMemoryLogExporter
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs as otlp_encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as otlp_encode_spans
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from parquet_store import read_rows

from opentelemetry.exporter.parquet import ParquetLibrary
from opentelemetry.exporter.parquet._encoding import BATCH_FORMAT_VERSION, encode_spans
from opentelemetry.exporter.parquet._log_encoding import encode_logs

SPANS = 512
GROUP = "export 512 spans (10 attributes + 1 event each)"
LOG_GROUP = "export 512 log records (logging through LoggingHandler, 4 extra attributes)"
# key: (label, the unit a median is divided into)
LABELS = {
    "otlp": ("(a) OTLP encode_spans + SerializeToString", "span"),
    "ours": ("(b) parquet encode_spans (pickle batch)", "span"),
    "export": ("(c) ParquetSpanExporter.export (+FFI +Rust)", "span"),
    "otlp_logs": ("(d) OTLP encode_logs + SerializeToString", "log record"),
    "ours_logs": ("(e) parquet encode_logs (pickle batch)", "log record"),
    "export_logs": ("(f) ParquetLogExporter.export (+FFI +Rust)", "log record"),
}
RATIOS = [
    ("otlp", "ours", "ratio a/b (OTLP encoding / ours)"),
    ("otlp_logs", "ours_logs", "ratio d/e (OTLP encoding / ours)"),
]


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


@pytest.fixture(scope="module")
def log_records() -> list[Any]:
    """512 log records as the SDK hands them to an exporter: ``logging`` calls through the SDK's
    ``LoggingHandler``, every other one inside a span."""
    memory = InMemoryLogExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": "bench"}), shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # SDK 1.45 points to instrumentation-logging
        handler = LoggingHandler(logger_provider=provider)
    std = logging.getLogger("bench.orders")
    std.setLevel(logging.INFO)
    std.propagate = False
    std.addHandler(handler)
    tracer = TracerProvider().get_tracer("bench")
    try:
        for n in range(SPANS):
            extra = {"order.id": n, "customer": f"c-{n % 97}", "amount": n * 1.25, "express": n % 2 == 0}
            if n % 2:
                with tracer.start_as_current_span("GET /api/orders/{id}"):
                    std.info("order %d shipped to %s", n, "Lisbon", extra=extra)
            else:
                std.warning("order %d is late", n, extra=extra)
    finally:
        std.removeHandler(handler)
    provider.shutdown()
    records = list(memory.get_finished_logs())
    assert len(records) == SPANS
    return records


class _Summary:
    """Prints microseconds per span or log record for each benchmark, and the ratios, after the run."""

    def __init__(self) -> None:
        self.us_per_item: dict[str, float] = {}
        self.disabled = False

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.us_per_item and not self.disabled:
            return
        terminalreporter.write_sep("-", "opentelemetry-parquet: microseconds per span / log record (median of rounds)")
        if self.disabled or not self.us_per_item:
            terminalreporter.write_line("benchmarks disabled (--benchmark-disable): run without it to measure")
            return
        for key, (label, unit) in LABELS.items():
            if key in self.us_per_item:
                terminalreporter.write_line(f"{label:<46} {self.us_per_item[key]:9.2f} us/{unit}")
        for theirs, ours, label in RATIOS:
            if theirs in self.us_per_item and ours in self.us_per_item:
                terminalreporter.write_line(f"{label:<46} {self.us_per_item[theirs] / self.us_per_item[ours]:9.2f}x")


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
    summary.us_per_item[key] = us
    benchmark.extra_info[f"us_per_{LABELS[key][1].replace(' ', '_')}"] = round(us, 3)


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


@pytest.mark.benchmark(group=LOG_GROUP)
def test_d_otlp_encode_logs(benchmark: Any, log_records: list[Any], summary: _Summary) -> None:
    encoded = benchmark(lambda: otlp_encode_logs(log_records).SerializeToString())
    assert isinstance(encoded, bytes)
    assert len(encoded) > SPANS * 100
    record(benchmark, summary, "otlp_logs")


@pytest.mark.benchmark(group=LOG_GROUP)
def test_e_parquet_encode_logs(benchmark: Any, log_records: list[Any], summary: _Summary) -> None:
    encoded = benchmark(encode_logs, log_records)
    version, ((_, _, _, scopes),) = pickle.loads(encoded)
    assert version == BATCH_FORMAT_VERSION
    assert sum(len(scope[4]) for scope in scopes) == SPANS
    record(benchmark, summary, "ours_logs")


@pytest.mark.benchmark(group=LOG_GROUP)
def test_f_full_log_export(benchmark: Any, log_records: list[Any], summary: _Summary, store: str) -> None:
    library = ParquetLibrary(output_dir=store, flush_interval_ms=3_600_000)
    exporter = library.log_exporter()
    calls = [0]

    def export() -> Any:
        calls[0] += 1
        return exporter.export(log_records)

    # The flush happens in setup, outside the timing: each round starts with an empty buffer.
    result = benchmark.pedantic(export, setup=library.flush, rounds=30, warmup_rounds=1)
    assert result.name == "SUCCESS"
    library.flush()
    rows = read_rows(store, "logs")
    assert len(rows) == SPANS * calls[0]
    assert {r["Body"] for r in rows[:2]} <= {"order 0 is late", "order 1 shipped to Lisbon"}
    record(benchmark, summary, "export_logs")
    library.shutdown()
