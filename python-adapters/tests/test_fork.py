"""Fork safety: a provider and exporter created in the parent keep working in a forked child (the
library reopens itself there), and every span lands exactly once."""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from parquet_store import read_rows

from opentelemetry.exporter.parquet import ParquetSpanExporter

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

CHILD_TIMEOUT_S = 60.0
PARENT_SPANS = 5
CHILD_SPANS = 7


def wait_for_child(pid: int) -> int:
    """The child's exit code; a child still running after the timeout is killed and fails the test."""
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"the forked child hung for {CHILD_TIMEOUT_S} s and was killed")


def fork() -> int:
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads; that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


@pytest.mark.parametrize("processor", [SimpleSpanProcessor, BatchSpanProcessor], ids=["simple", "batch"])
def test_provider_keeps_working_in_a_forked_child(
    store: str, processor: Callable[[SpanExporter], SpanProcessor]
) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "fork"}))
    provider.add_span_processor(processor(ParquetSpanExporter(output_dir=store)))
    tracer = provider.get_tracer("fork")
    for n in range(PARENT_SPANS):
        with tracer.start_as_current_span("parent", attributes={"n": n}):
            pass
    # Buffered in the BatchSpanProcessor's queue or the library's memory, not flushed yet:
    # neither may be exported twice (once by each process).
    if processor is BatchSpanProcessor:
        assert provider.force_flush()

    pid = fork()
    if pid == 0:  # the child: report through the exit code only, never return into pytest
        code = 1
        try:
            for n in range(CHILD_SPANS):
                with tracer.start_as_current_span("child", attributes={"n": n, "pid": os.getpid()}):
                    pass
            provider.shutdown()
            code = 0
        finally:
            os._exit(code)

    assert wait_for_child(pid) == 0, "the child failed to export"
    with tracer.start_as_current_span("parent", attributes={"n": PARENT_SPANS}):
        pass
    provider.shutdown()

    rows = read_rows(store, "traces")
    counts = Counter(r["SpanId"] for r in rows)
    assert set(counts.values()) == {1}, "every span stored exactly once"
    parent_rows = sorted(int(r["SpanAttributes"]["n"]) for r in rows if r["SpanName"] == "parent")
    child_rows = [r for r in rows if r["SpanName"] == "child"]
    assert parent_rows == list(range(PARENT_SPANS + 1))
    assert sorted(int(r["SpanAttributes"]["n"]) for r in child_rows) == list(range(CHILD_SPANS))
    assert {r["SpanAttributes"]["pid"] for r in child_rows} == {str(pid)}
    assert {r["ServiceName"] for r in rows} == {"fork"}


def test_unflushed_parent_data_is_not_duplicated_by_the_child(store: str) -> None:
    """Spans the parent's library still buffers at fork time are written by the parent only."""
    provider = TracerProvider()
    exporter = ParquetSpanExporter(output_dir=store, flush_interval_ms=3_600_000)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("fork")
    with tracer.start_as_current_span("before fork"):
        pass

    pid = fork()
    if pid == 0:
        code = 1
        try:
            exporter.force_flush()  # the child's own (reopened) library: nothing of the parent's
            with tracer.start_as_current_span("in child"):
                pass
            provider.shutdown()
            code = 0
        finally:
            os._exit(code)

    assert wait_for_child(pid) == 0
    provider.shutdown()
    names = sorted(r["SpanName"] for r in read_rows(store, "traces"))
    assert names == ["before fork", "in child"]


def test_fork_while_other_threads_export(store: str) -> None:
    """Forking while parent threads are inside ``export`` (holding the library's locks) must not
    hang the child: it reopens its own library instead of touching the inherited one."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ParquetSpanExporter(output_dir=store)))
    tracer = provider.get_tracer("fork")
    stop = threading.Event()
    exported = Counter[int]()

    def busy(index: int) -> None:
        while not stop.is_set():
            with tracer.start_as_current_span("busy", attributes={"thread": index}):
                pass
            exported[index] += 1

    threads = [threading.Thread(target=busy, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        while sum(exported.values()) < 50:
            time.sleep(0.01)
        pids = []
        for _ in range(3):
            pid = fork()
            if pid == 0:
                code = 1
                try:
                    with tracer.start_as_current_span("child"):
                        pass
                    provider.shutdown()
                    code = 0
                finally:
                    os._exit(code)
            pids.append(pid)
        for pid in pids:
            assert wait_for_child(pid) == 0
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    provider.shutdown()
    rows = read_rows(store, "traces")
    assert Counter(r["SpanName"] for r in rows) == {"busy": sum(exported.values()), "child": 3}
    assert len({r["SpanId"] for r in rows}) == len(rows)
