"""Failure behaviour: the SDK exporters log and return FAILURE (never raise) on bad input or an
unusable library; bad options raise clear errors at construction; odd-but-valid values still export."""

from __future__ import annotations

import enum
import logging
import pickle
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Metric,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    PeriodicExportingMetricReader,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, TraceFlags
from parquet_store import has_table, read_rows

from opentelemetry.exporter.parquet import (
    ParquetConfigError,
    ParquetLibrary,
    ParquetMetricExporter,
    ParquetSpanExporter,
)
from opentelemetry_parquet import OtlpError

SPAN_LOGGER = "opentelemetry.exporter.parquet.trace_exporter"
METRIC_LOGGER = "opentelemetry.exporter.parquet.metric_exporter"


class Color(enum.IntEnum):
    RED = 3


class Label(str):
    """A ``str`` subclass, as some libraries pass for attribute values."""


class Ratio(float):
    pass


def make_spans(attributes: dict[str, Any] | None = None, count: int = 1) -> list[ReadableSpan]:
    """Real SDK spans (through an in-memory exporter)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "failures"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("failures")
    for n in range(count):
        with tracer.start_as_current_span(f"span-{n}", attributes=attributes):
            pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def metrics_data(value: Any = 1, attributes: dict[str, Any] | None = None) -> MetricsData:
    point = NumberDataPoint(attributes=attributes or {}, start_time_unix_nano=1, time_unix_nano=2, value=value)
    metric = Metric(
        name="requests",
        description="",
        unit="",
        data=Sum(data_points=[point], aggregation_temporality=AggregationTemporality.CUMULATIVE, is_monotonic=True),
    )
    scope = ScopeMetrics(scope=InstrumentationScope("failures"), metrics=[metric], schema_url="")
    return MetricsData(resource_metrics=[ResourceMetrics(resource=Resource({}), scope_metrics=[scope], schema_url="")])


def errors(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.levelno >= logging.WARNING]


# ---------------------------------------------------------------------------------------------
# export never raises


def test_span_export_after_shutdown_fails_and_logs(store: str, caplog: pytest.LogCaptureFixture) -> None:
    exporter = ParquetSpanExporter(output_dir=store)
    exporter.shutdown()
    exporter.shutdown()  # idempotent
    assert exporter.export(make_spans()) is SpanExportResult.FAILURE
    (record,) = errors(caplog, SPAN_LOGGER)
    assert "after shutdown" in record.getMessage()
    assert not has_table(store, "traces")


def test_metric_export_after_shutdown_fails_and_logs(store: str, caplog: pytest.LogCaptureFixture) -> None:
    exporter = ParquetMetricExporter(output_dir=store)
    exporter.shutdown()
    assert exporter.export(metrics_data()) is MetricExportResult.FAILURE
    (record,) = errors(caplog, METRIC_LOGGER)
    assert "after shutdown" in record.getMessage()


def test_library_shut_down_underneath(store: str, caplog: pytest.LogCaptureFixture) -> None:
    """Each refused batch logs one line naming the reason, without a traceback."""
    library = ParquetLibrary(output_dir=store)
    spans, metrics = library.span_exporter(), library.metric_exporter()
    library.shutdown()
    for _ in range(3):
        assert spans.export(make_spans()) is SpanExportResult.FAILURE
        assert metrics.export(metrics_data()) is MetricExportResult.FAILURE
    span_errors, metric_errors = errors(caplog, SPAN_LOGGER), errors(caplog, METRIC_LOGGER)
    assert len(span_errors) == 3
    assert len(metric_errors) == 3
    for record in span_errors + metric_errors:
        assert record.exc_info is None
        assert "AlreadyShutdown" in record.getMessage()
        assert "\n" not in record.getMessage()
    # Neither flushing nor shutting down a dead library raises.
    assert isinstance(spans.force_flush(), bool)
    spans.shutdown()
    metrics.shutdown(timeout=0)


def test_an_out_of_range_int_costs_only_its_own_fidelity(store: str, caplog: pytest.LogCaptureFixture) -> None:
    """The API accepts any Python int; OTLP ints are 64-bit. Such a value is stored as its decimal
    string (type ``string``, BATCH_FORMAT.md); the rest of the batch is stored as it is."""
    exporter = ParquetSpanExporter(output_dir=store)
    batch = make_spans({"n": 1}, count=3) + make_spans({"huge": 2**64, "tiny": -(2**63) - 1, "fine": 2**63 - 1})
    assert exporter.export(batch) is SpanExportResult.SUCCESS
    assert exporter.force_flush()
    assert not errors(caplog, SPAN_LOGGER)
    rows = read_rows(store, "traces")
    assert sorted(r["SpanAttributes"].get("n", "-") for r in rows) == ["-", "1", "1", "1"]
    (odd,) = (r for r in rows if "huge" in r["SpanAttributes"])
    assert odd["SpanAttributes"] == {"huge": str(2**64), "tiny": str(-(2**63) - 1), "fine": str(2**63 - 1)}
    assert odd["SpanAttributesTypes"] == {"huge": "string", "tiny": "string", "fine": "int"}


def test_a_lone_surrogate_costs_only_its_own_fidelity(store: str, caplog: pytest.LogCaptureFixture) -> None:
    """A str that is not valid Unicode text is stored with each lone surrogate replaced by U+FFFD."""
    exporter = ParquetSpanExporter(output_dir=store)
    batch = make_spans({"lone.surrogate": "a\ud800b", "list": ["\udfff", "ok"], "key\udc80": 1})
    batch += make_spans({"n": 2}, count=2)
    assert exporter.export(batch) is SpanExportResult.SUCCESS
    assert exporter.force_flush()
    assert not errors(caplog, SPAN_LOGGER)
    rows = read_rows(store, "traces")
    assert len(rows) == 3
    (odd,) = (r for r in rows if "list" in r["SpanAttributes"])
    assert odd["SpanAttributes"]["lone.surrogate"] == "a\ufffdb"
    assert odd["SpanAttributesTypes"]["lone.surrogate"] == "string"
    assert odd["SpanAttributes"]["list"] == '["\ufffd","ok"]'
    assert odd["SpanAttributes"]["key\ufffd"] == "1"


@pytest.mark.parametrize("garbage", [42, None, "spans", [42], [None, object()]], ids=repr)
def test_exporting_garbage_never_raises(store: str, caplog: pytest.LogCaptureFixture, garbage: Any) -> None:
    spans = ParquetSpanExporter(output_dir=store)
    metrics = ParquetMetricExporter(output_dir=store)
    expected = SpanExportResult.SUCCESS if garbage is None else SpanExportResult.FAILURE
    assert spans.export(garbage) is expected
    assert metrics.export(garbage) is MetricExportResult.FAILURE
    for record in errors(caplog, SPAN_LOGGER) + errors(caplog, METRIC_LOGGER):
        assert record.exc_info is None and "\n" not in record.getMessage()
    assert len(errors(caplog, SPAN_LOGGER)) == (0 if garbage is None else 1)
    assert len(errors(caplog, METRIC_LOGGER)) == 1


def test_broken_span_object_fails_and_logs(store: str, caplog: pytest.LogCaptureFixture) -> None:
    exporter = ParquetSpanExporter(output_dir=store)
    broken = ReadableSpan(name="no context", context=None)
    assert exporter.export([broken]) is SpanExportResult.FAILURE
    assert len(errors(caplog, SPAN_LOGGER)) == 1


def test_unsupported_metric_data_fails_and_logs(store: str, caplog: pytest.LogCaptureFixture) -> None:
    exporter = ParquetMetricExporter(output_dir=store)
    data = metrics_data()
    bad = Metric(name="odd", description=None, unit=None, data=object())  # type: ignore[arg-type]
    scope = ScopeMetrics(scope=InstrumentationScope("failures"), metrics=[bad], schema_url="")
    broken = MetricsData(
        resource_metrics=[ResourceMetrics(resource=Resource({}), scope_metrics=[scope], schema_url="")]
    )
    assert exporter.export(broken) is MetricExportResult.FAILURE
    (record,) = errors(caplog, METRIC_LOGGER)
    assert "odd" in record.getMessage()
    # A data point's own value beyond 64 bits has no stored form: that batch fails, logged.
    assert exporter.export(metrics_data(2**64)) is MetricExportResult.FAILURE
    assert exporter.export(data) is MetricExportResult.SUCCESS


def test_bindings_reject_malformed_batches(store: str) -> None:
    """The raw bindings raise ``OtlpError.Decode`` naming what was wrong, and store nothing."""
    library = ParquetLibrary(output_dir=store).library
    with pytest.raises(OtlpError.Decode, match="malformed span batch"):
        library.export_traces(b"not a pickle")
    with pytest.raises(OtlpError.Decode, match="malformed span batch"):
        library.export_traces(pickle.dumps((1, [({}, None, 0, [("scope", None, None, None, [("short",)])])])))
    with pytest.raises(OtlpError.Decode, match="unknown kind"):
        library.export_metrics(
            pickle.dumps((1, [({}, None, 0, [("s", None, None, None, [("m", "", "", "x", 0, False, [])])])]))
        )
    with pytest.raises(OtlpError.Decode, match="reads version 1"):
        library.export_traces(pickle.dumps((99, [])))
    with pytest.raises(OtlpError.Decode):
        library.export_metrics_ref(b"\x80\x05N.")
    with pytest.raises(OtlpError.Decode):
        library.export_otlp_traces(b"\xff\xff\xff")
    library.flush()
    assert not has_table(store, "traces")


# ---------------------------------------------------------------------------------------------
# construction errors


def test_invalid_option_value(store: str) -> None:
    """One exception family, ``ParquetConfigError`` (a ``ValueError``), for every rejected option:
    the adapters' own checks and the Rust engine's (chained from ``OtlpError.InvalidConfig``)."""
    from_rust = [
        ("flush_rows", lambda: ParquetSpanExporter(output_dir=store, flush_rows=0)),
        ("compression", lambda: ParquetSpanExporter(output_dir=store, compression="brotli")),
        ("format", lambda: ParquetMetricExporter(output_dir=store, format="csv")),
    ]
    for named, make in from_rust:
        with pytest.raises(ParquetConfigError, match=named) as caught:
            make()
        assert isinstance(caught.value.__cause__, OtlpError.InvalidConfig)
    from_python: list[tuple[str, Any]] = [
        ("flush_rows", lambda: ParquetSpanExporter(output_dir=store, flush_rows=-1)),
        ("export_timeout_ms", lambda: ParquetLibrary(output_dir=store, export_timeout_ms=2**64)),
        ("flush_interval_ms", lambda: ParquetSpanExporter(output_dir=store, flush_interval_ms="100")),
        ("output_dir", lambda: ParquetLibrary(output_dir=3)),
        ("temporality", lambda: ParquetMetricExporter(output_dir=store, temporality="sometimes")),
    ]
    for named, make in from_python:
        with pytest.raises(ValueError, match=named) as caught:
            make()
        assert type(caught.value) is ParquetConfigError


def test_unknown_option_is_named(store: str) -> None:
    with pytest.raises(ParquetConfigError, match="flush_row"):
        ParquetSpanExporter(output_dir=store, flush_row=10)
    with pytest.raises(ParquetConfigError, match="bogus"):
        ParquetLibrary(output_dir=store, bogus=True)
    with pytest.raises(ParquetConfigError, match="not both"):
        ParquetSpanExporter(library=ParquetLibrary(output_dir=store), output_dir=store)


def test_explicit_options_win_over_the_environment(
    store: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad variable of an option passed explicitly is never read; a bad unrelated one is ignored
    with one warning naming it; neither rejects a valid explicit configuration."""
    monkeypatch.setenv("OTEL_PARQUET_FLUSH_ROWS", "many")
    monkeypatch.setenv("OTEL_PARQUET_RETENTION_MAX_AGE_SECS", "forever")
    monkeypatch.setenv("OTEL_PARQUET_FORMAT", "arrow")
    library = ParquetLibrary(output_dir=store, flush_rows=50, format="parquet")
    assert (library.config.flush_rows, library.config.format, library.config.retention_max_age_secs) == (
        50,
        "parquet",
        None,
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "OTEL_PARQUET_RETENTION_MAX_AGE_SECS" in warnings[0], warnings
    assert library.span_exporter().export(make_spans()) is SpanExportResult.SUCCESS
    library.shutdown()
    assert len(read_rows(store, "traces")) == 1


def test_output_dir_blocked_by_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    with pytest.raises(OtlpError.OutputDir, match="a-file"):
        ParquetSpanExporter(output_dir=str(blocker))
    with pytest.raises(OtlpError.OutputDir, match="a-file"):
        ParquetMetricExporter(output_dir=str(blocker / "below"))


def test_output_dir_may_be_a_path(tmp_path: Path) -> None:
    library = ParquetLibrary(output_dir=tmp_path / "store")
    assert library.output_dir == str(tmp_path / "store")
    exporter = library.span_exporter()
    assert exporter.export(make_spans()) is SpanExportResult.SUCCESS
    assert exporter.force_flush()
    assert len(read_rows(tmp_path / "store", "traces")) == 1


# ---------------------------------------------------------------------------------------------
# values that are subclasses of builtins


def test_subclasses_of_builtins_export_as_their_builtin(store: str, caplog: pytest.LogCaptureFixture) -> None:
    class LocalColor(enum.IntEnum):  # cannot be pickled by reference: defined in a function
        BLUE = 4

    class LocalLabel(str):
        pass

    exporter = ParquetSpanExporter(output_dir=store)
    cases: list[dict[str, Any]] = [
        {"enum": Color.RED, "label": Label("x"), "ratio": Ratio(0.5)},
        {"enum": LocalColor.BLUE, "label": LocalLabel("y"), "list": [Color.RED, 5]},
    ]
    for attributes in cases:
        assert exporter.export(make_spans(attributes)) is SpanExportResult.SUCCESS
    assert exporter.force_flush()
    assert not errors(caplog, SPAN_LOGGER)
    stored = [(r["SpanAttributes"], r["SpanAttributesTypes"]) for r in read_rows(store, "traces")]
    second: tuple[dict[str, str], dict[str, str]] = ({"enum": "4", "label": "y"}, {"enum": "int", "label": "string"})
    # SDKs before 1.3x drop a sequence holding a subclass (an IntEnum) themselves.
    if "list" in dict(BoundedAttributes(attributes={"list": [Color.RED, 5]})):
        second[0]["list"] = "[3,5]"
        second[1]["list"] = '{"arrayValue":{"values":[{"intValue":"3"},{"intValue":"5"}]}}'
    assert sorted(stored, key=repr) == sorted(
        [({"enum": "3", "label": "x", "ratio": "0.5"}, {"enum": "int", "label": "string", "ratio": "double"}), second],
        key=repr,
    )


def test_subclass_values_in_metrics(store: str, caplog: pytest.LogCaptureFixture) -> None:
    class LocalLabel(str):
        pass

    exporter = ParquetMetricExporter(output_dir=store)
    assert exporter.export(metrics_data(Color.RED, {"color": Color.RED, "label": LocalLabel("z")})) is (
        MetricExportResult.SUCCESS
    )
    assert exporter.force_flush()
    assert not errors(caplog, METRIC_LOGGER)
    (row,) = read_rows(store, "metrics_sum")
    assert (row["IntValue"], row["Attributes"], row["AttributesTypes"]) == (
        3,
        {"color": "3", "label": "z"},
        {"color": "int", "label": "string"},
    )


# ---------------------------------------------------------------------------------------------
# shutdown and flush


def test_exporter_shutdown_leaves_a_shared_library_running(store: str) -> None:
    library = ParquetLibrary(output_dir=store)
    first, second = library.span_exporter(), library.span_exporter()
    assert first.export(make_spans()) is SpanExportResult.SUCCESS
    first.shutdown()
    assert len(read_rows(store, "traces")) == 1, "the exporter's shutdown flushed"
    assert not library.library.is_shutdown()
    assert second.export(make_spans(count=2)) is SpanExportResult.SUCCESS
    assert first.export(make_spans()) is SpanExportResult.FAILURE
    second.shutdown()
    assert len(read_rows(store, "traces")) == 3

    # The same for exporters sharing the process-wide library of their options.
    a = ParquetSpanExporter(output_dir=store)
    b = ParquetSpanExporter(output_dir=store)
    m = ParquetMetricExporter(output_dir=store)
    assert a.library is b.library is m.library
    a.shutdown()
    assert b.export(make_spans()) is SpanExportResult.SUCCESS
    assert m.export(metrics_data()) is MetricExportResult.SUCCESS
    b.shutdown()
    m.shutdown()
    assert len(read_rows(store, "traces")) == 4
    assert len(read_rows(store, "metrics_sum")) == 1


@pytest.mark.parametrize("timeout", [0, -5.0, 250.0, 30_000])
def test_metric_shutdown_with_timeout_keyword(store: str, timeout: float, caplog: pytest.LogCaptureFixture) -> None:
    """``PeriodicExportingMetricReader`` calls ``shutdown(timeout=<what is left of its deadline>)``,
    possibly zero or negative: the exporter still flushes."""
    exporter = ParquetMetricExporter(output_dir=store)
    assert exporter.export(metrics_data(7)) is MetricExportResult.SUCCESS
    exporter.shutdown(timeout=timeout)
    assert [r["IntValue"] for r in read_rows(store, "metrics_sum")] == [7]
    assert not errors(caplog, METRIC_LOGGER)


def test_reader_shutdown_path(store: str, caplog: pytest.LogCaptureFixture) -> None:
    exporter = ParquetMetricExporter(output_dir=store)
    provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)])
    provider.get_meter("m").create_counter("shutdown.count").add(3)
    provider.shutdown()
    assert [r["IntValue"] for r in read_rows(store, "metrics_sum")] == [3]
    assert not errors(caplog, METRIC_LOGGER)


def test_span_shutdown_timeout_and_force_flush(store: str) -> None:
    exporter = ParquetSpanExporter(output_dir=store)
    assert exporter.force_flush() is True
    assert exporter.force_flush(timeout_millis=5_000) is True
    assert exporter.export(make_spans()) is SpanExportResult.SUCCESS
    assert exporter.export([]) is SpanExportResult.SUCCESS
    assert exporter.force_flush() is True
    assert len(read_rows(store, "traces")) == 1
    exporter.shutdown(timeout_millis=1_000)
    metric_exporter = ParquetMetricExporter(output_dir=store)
    assert metric_exporter.force_flush() is True
    assert metric_exporter.force_flush(timeout_millis=1_000) is True


def test_invalid_parent_context_is_stored_as_given(store: str) -> None:
    """A span whose parent context is invalid (span id 0) still exports: the parent is stored as given."""
    parent = SpanContext(trace_id=1, span_id=0, is_remote=True, trace_flags=TraceFlags(0))
    span = ReadableSpan(
        name="orphan",
        context=SpanContext(trace_id=1, span_id=2, is_remote=False),
        parent=parent,
        start_time=10,
        end_time=20,
    )
    exporter = ParquetSpanExporter(output_dir=store)
    assert exporter.export([span]) is SpanExportResult.SUCCESS
    assert exporter.force_flush()
    (row,) = read_rows(store, "traces")
    # An all-zero ID is stored as the ClickHouse exporter stores it: ''.
    assert (row["ParentSpanId"], row["Flags"], row["Duration"]) == ("", 0x300, 10)
