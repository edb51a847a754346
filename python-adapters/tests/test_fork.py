"""Fork safety: a provider and exporter created in the parent keep working in a forked child (the
library reopens itself there), and every span lands exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanContext
from parquet_store import read_rows

from opentelemetry.exporter.parquet import ParquetLibrary, ParquetSpanExporter
from opentelemetry_parquet import OtlpLibrary, ParquetConfig

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


def make_span(name: str) -> list[ReadableSpan]:
    context = SpanContext(trace_id=1, span_id=os.getpid(), is_remote=False)
    return [ReadableSpan(name=name, context=context, start_time=1, end_time=2)]


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


# A program that creates its exporter, then forks children that end through the normal
# interpreter exit (``sys.exit`` or the end of the program, as gunicorn's workers do): atexit
# handlers, finalizers and the Rust drop of everything the parent created all run in the child.
NORMAL_EXIT_PROGRAM = """
import os
import sys
import threading

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from opentelemetry.exporter.parquet import ParquetLibrary, ParquetSpanExporter
from opentelemetry_parquet import OtlpLibrary, ParquetConfig

store, how = sys.argv[1], sys.argv[2]
provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(ParquetSpanExporter(output_dir=store, flush_interval_ms=3_600_000)))
tracer = provider.get_tracer("fork")
with tracer.start_as_current_span("parent"):
    pass
assert provider.force_flush()

stop = threading.Event()


def busy():
    while not stop.is_set():
        with tracer.start_as_current_span("busy"):
            pass
        provider.force_flush()


if how == "busy":
    # The parent's writer and exporters are at work (holding their locks) when it forks.
    threads = [threading.Thread(target=busy) for _ in range(3)]
    for t in threads:
        t.start()

pids = []
for n in range(3):
    pid = os.fork()
    if pid == 0:
        stop.set()  # the copied flag: no thread runs busy() in the child anyway
        for i in range(5):
            with tracer.start_as_current_span("child", attributes={"n": n, "i": i}):
                pass
        if n == 0:
            sys.exit(0)
        if n == 1:
            raise SystemExit(0)
        break  # n == 2: falls off the end of the program
    pids.append(pid)
else:
    stop.set()
    if how == "busy":
        for t in threads:
            t.join()
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
    print("children exited")
"""


@pytest.mark.parametrize("how", ["idle", "busy"])
def test_children_that_exit_normally_store_their_spans_and_exit(store: str, tmp_path: Path, how: str) -> None:
    program = tmp_path / "program.py"
    program.write_text(NORMAL_EXIT_PROGRAM)
    try:
        done = subprocess.run(
            [sys.executable, str(program), store, how],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"a forked child hung at exit: {hung.stderr!r}")
    assert (done.returncode, done.stdout.strip()) == (0, "children exited"), done.stderr
    assert "panicked" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    rows = read_rows(store, "traces")
    children = Counter(
        (int(r["SpanAttributes"]["n"]), int(r["SpanAttributes"]["i"])) for r in rows if r["SpanName"] == "child"
    )
    assert children == Counter((n, i) for n in range(3) for i in range(5)), "every child span stored exactly once"
    assert Counter(r["SpanName"] for r in rows)["parent"] == 1
    assert len({r["SpanId"] for r in rows}) == len(rows)


def test_a_reopened_library_keeps_the_full_configuration(store: str) -> None:
    """A wrapped bindings library reopened in a child keeps every option, not only output_dir."""
    config = ParquetConfig(
        output_dir=store,
        format="arrow",
        compression="lz4",
        flush_interval_ms=3_600_000,
        flush_rows=1_000,
        temporality="delta",
        retention_max_age_secs=86_400,
    )
    library = ParquetLibrary(OtlpLibrary(config))
    parent_config = library.config
    exporter = library.span_exporter()
    pid = fork()
    if pid == 0:
        code = 1
        try:
            assert exporter.export(make_span("in child")) is SpanExportResult.SUCCESS
            reopened = library.library.config()
            code = 0 if (reopened == parent_config and library.config == parent_config) else 2
            library.flush()
        finally:
            os._exit(code)
    assert wait_for_child(pid) == 0, "the child's library had another configuration"
    assert (parent_config.format, parent_config.compression, parent_config.temporality) == ("arrow", "lz4", "delta")
    assert parent_config.retention_max_age_secs == 86_400
    files = [p for p in Path(store, "traces").rglob("*") if p.is_file()]
    assert files and all(p.suffix == ".arrow" for p in files), files
    library.shutdown()


TASKS = """
import os
import sys

def tasks():
    return len(os.listdir("/proc/self/task"))

before = tasks()
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from opentelemetry.exporter.parquet import ParquetLibrary, ParquetMetricExporter, ParquetSpanExporter

library = ParquetLibrary(output_dir=sys.argv[1])
spans = ParquetSpanExporter(output_dir=sys.argv[1])
metrics = ParquetMetricExporter(output_dir=sys.argv[1])
library.span_exporter(), library.metric_exporter()
constructed = tasks()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(spans))
with provider.get_tracer("t").start_as_current_span("first"):
    pass
spans.force_flush()
used = tasks()
print(before, constructed, used)
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc/self/task")
def test_constructing_exporters_starts_no_thread(store: str) -> None:
    """The writer thread starts on first use, so a process that forks after creating its exporters
    (gunicorn --preload) is single-threaded at fork (no "multi-threaded fork" warning on 3.12+)."""
    done = subprocess.run([sys.executable, "-c", TASKS, store], capture_output=True, text=True, check=True)
    before, constructed, used = map(int, done.stdout.split())
    assert constructed == before, "constructing libraries and exporters started a thread"
    assert used > constructed, "the first export started the writer"


@pytest.mark.skipif(sys.version_info < (3, 12), reason="Python 3.12+ warns on fork in a multi-threaded process")
def test_fork_after_constructing_an_exporter_does_not_warn(store: str) -> None:
    program = (
        "import os, warnings\n"
        "warnings.simplefilter('error', DeprecationWarning)\n"
        "from opentelemetry.exporter.parquet import ParquetSpanExporter\n"
        f"ParquetSpanExporter(output_dir={store!r})\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, timeout=CHILD_TIMEOUT_S)
