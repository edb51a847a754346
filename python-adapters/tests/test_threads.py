"""Many Python threads exporting at once: nothing lost, nothing duplicated, nothing mixed up."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from parquet_store import read_rows

from opentelemetry.exporter.parquet import ParquetLibrary, ParquetSpanExporter

THREADS = 16
SPANS_PER_THREAD = 200


def run_threads(target: Callable[[int, threading.Barrier], None], count: int) -> None:
    """Runs ``target(index, barrier)`` on ``count`` threads released together; re-raises a failure."""
    barrier = threading.Barrier(count, timeout=120)
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="exporter") as pool:
        futures = [pool.submit(target, i, barrier) for i in range(count)]
        for future in futures:
            future.result(timeout=300)


def test_one_provider_many_threads(store: str) -> None:
    """``SimpleSpanProcessor`` does not serialize exports: 16 threads call ``export`` concurrently."""
    provider = TracerProvider(resource=Resource.create({"service.name": "threads"}))
    provider.add_span_processor(SimpleSpanProcessor(ParquetSpanExporter(output_dir=store)))
    tracer = provider.get_tracer("threads")
    expected: dict[str, tuple[int, int]] = {}
    lock = threading.Lock()

    def work(index: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        for n in range(SPANS_PER_THREAD):
            with tracer.start_as_current_span(
                f"t{index}", attributes={"thread": index, "n": n, "tag": f"{index}:{n}"}
            ) as s:
                s.add_event("tick", {"n": n})
                span_id = format(s.get_span_context().span_id, "016x")
            with lock:
                expected[span_id] = (index, n)

    run_threads(work, THREADS)
    provider.shutdown()

    rows = read_rows(store, "traces")
    assert len(rows) == THREADS * SPANS_PER_THREAD
    counts = Counter(r["SpanId"] for r in rows)
    assert set(counts) == set(expected), "every span id is stored"
    assert set(counts.values()) == {1}, "and exactly once"
    for row in rows:
        index, n = expected[row["SpanId"]]
        assert row["SpanName"] == f"t{index}"
        assert row["SpanAttributes"] == {"thread": str(index), "n": str(n), "tag": f"{index}:{n}"}
        assert row["SpanAttributesTypes"] == {"thread": "int", "n": "int", "tag": "string"}
        assert [(e["Name"], e["Attributes"]) for e in row["Events"]] == [("tick", {"n": str(n)})]
        assert row["ServiceName"] == "threads"


def test_many_exporters_of_one_library(store: str) -> None:
    """Several exporters from one ``ParquetLibrary``, each behind its own provider and thread."""
    library = ParquetLibrary(output_dir=store)
    threads = 8
    spans = 150

    def work(index: int, barrier: threading.Barrier) -> None:
        provider = TracerProvider(resource=Resource.create({"service.name": f"svc-{index}"}))
        provider.add_span_processor(SimpleSpanProcessor(library.span_exporter()))
        tracer = provider.get_tracer(f"scope-{index}")
        barrier.wait()
        for n in range(spans):
            with tracer.start_as_current_span("work", attributes={"n": n, "ratio": n / 2}):
                pass
        provider.shutdown()  # flushes the shared library but leaves it running for the others

    run_threads(work, threads)
    library.flush()

    rows = read_rows(store, "traces")
    assert len(rows) == threads * spans
    assert len({r["SpanId"] for r in rows}) == len(rows)
    per_service = Counter(r["ServiceName"] for r in rows)
    assert per_service == {f"svc-{i}": spans for i in range(threads)}
    for row in rows:
        index = int(row["ServiceName"].removeprefix("svc-"))
        assert row["ScopeName"] == f"scope-{index}", "resource and scope are never mixed between exporters"
        n = int(row["SpanAttributes"]["n"])
        assert float(row["SpanAttributes"]["ratio"]) == n / 2
    assert sorted(int(r["SpanAttributes"]["n"]) for r in rows if r["ServiceName"] == "svc-0") == list(range(spans))
    library.shutdown()
