"""What the exporters take from the SDK: the temporality a library is configured with, the
public-property fallback used when an SDK lacks one of the private fields the fast path reads,
the log exporter interface and record layout of each side of the SDK's 1.39 rename, and the
attribute values newer SDKs accept."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import pytest
from log_records import READABLE, make_logs, record_of, resource_of
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from parquet_store import read_rows

from opentelemetry.exporter.parquet import (
    ParquetLibrary,
    ParquetLogExporter,
    ParquetMetricExporter,
    ParquetSpanExporter,
    _encoding,
    _log_encoding,
)

DELTA = AggregationTemporality.DELTA.value
CUMULATIVE = AggregationTemporality.CUMULATIVE.value


def _count_twice(exporter: ParquetMetricExporter) -> None:
    provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)])
    counter = provider.get_meter("m").create_counter("requests")
    counter.add(2)
    provider.force_flush()
    counter.add(3)
    provider.shutdown()


@pytest.mark.parametrize(
    ("make", "temporality", "values"),
    [
        (lambda store: ParquetLibrary(output_dir=store, temporality="delta").metric_exporter(), DELTA, [2, 3]),
        (lambda store: ParquetLibrary(output_dir=store).metric_exporter(), CUMULATIVE, [2, 5]),
        (lambda store: ParquetLibrary(output_dir=store, temporality="delta").metric_exporter("cumulative"), 2, [2, 5]),
        (lambda store: ParquetMetricExporter(library=ParquetLibrary(output_dir=store, temporality="delta")), 1, [2, 3]),
    ],
    ids=["library-delta", "default-cumulative", "explicit-wins", "exporter-of-a-delta-library"],
)
def test_metric_exporters_take_the_library_temporality(
    store: str, make: Any, temporality: int, values: list[int]
) -> None:
    exporter = make(store)
    _count_twice(exporter)
    rows = sorted(read_rows(store, "metrics_sum"), key=lambda r: r["TimeUnix"])
    assert [(r["AggregationTemporality"], r["IntValue"]) for r in rows] == [(temporality, v) for v in values]


def test_the_environment_temporality_reaches_the_metric_exporter(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_PARQUET_TEMPORALITY", "delta")
    exporter = ParquetMetricExporter(output_dir=store)
    assert exporter.temporality == "delta"
    _count_twice(exporter)
    assert sorted(r["IntValue"] for r in read_rows(store, "metrics_sum")) == [2, 3]


class PublicOnly:
    """A span exposing only ``ReadableSpan``'s public properties (as an SDK that renamed its
    private fields would): every private attribute is missing."""

    def __init__(self, span: ReadableSpan) -> None:
        self._wrapped = span

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._wrapped, name)


def _rich_spans() -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "compat", "a": 1}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("compat", "1.0", schema_url="https://s", attributes={"scope.attr": True})
    linked = SpanContext(trace_id=7, span_id=8, is_remote=True, trace_flags=TraceFlags(1))
    with tracer.start_as_current_span(
        "outer", kind=SpanKind.SERVER, attributes={"k": "v", "n": [1, 2]}, links=[Link(linked, {"l": 1.5})]
    ) as outer:
        outer.add_event("event", {"e": "x"}, timestamp=123)
        with tracer.start_as_current_span("inner") as inner:
            inner.set_status(Status(StatusCode.ERROR, "boom"))
    provider.shutdown()
    return list(memory.get_finished_spans())


def test_spans_without_private_fields_are_encoded_through_public_properties(
    tmp_path: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    spans = _rich_spans()
    stores = {}
    monkeypatch.setattr(_encoding, "_warned_public", False)
    for name, batch in (("private", spans), ("public", [PublicOnly(s) for s in spans])):
        store = str(tmp_path / name)
        exporter = ParquetSpanExporter(output_dir=store)
        assert exporter.export(batch) is SpanExportResult.SUCCESS  # type: ignore[arg-type]
        assert exporter.force_flush()
        stores[name] = sorted(read_rows(store, "traces"), key=lambda r: r["SpanName"])
    assert stores["public"] == stores["private"]
    assert [r["SpanName"] for r in stores["public"]] == ["inner", "outer"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "public properties" in warnings[0], warnings


# ---------------------------------------------------------------------------------------------
# Logs: both sides of the SDK's 1.39 rename


def test_the_log_exporter_is_the_installed_sdks_log_exporter(store: str) -> None:
    """``LogRecordExporter`` from 1.39 (``LogExporter`` is a deprecated alias there), ``LogExporter``
    before: what ``BatchLogRecordProcessor`` and the zero-code configurator of each SDK take.
    Creating and using the exporter raises no deprecation warning."""
    import opentelemetry.sdk._logs.export as export

    expected = getattr(export, "LogRecordExporter", None) or export.LogExporter
    batch = make_logs("one")  # the SDK's own record types warn in 1.38
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exporter = ParquetLogExporter(output_dir=store)
        result = exporter.export(batch)
        exporter.shutdown()
    assert isinstance(exporter, expected)
    assert result.name == "SUCCESS"
    assert type(result) is (getattr(export, "LogRecordExportResult", None) or export.LogExportResult)


class PublicRecord:
    """A log record exposing only its public names, less ``resource``, plus what is given."""

    def __init__(self, record: Any, **extra: Any) -> None:
        self._wrapped = record
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        if name in self._extra:
            return self._extra[name]
        if name.startswith("_") or name == "resource":
            raise AttributeError(name)
        return getattr(self._wrapped, name)


class OtherLayout:
    """A log item of the other side of the 1.39 rename, exposing only public names: a
    ``LogData``-like object (the resource on the record) on SDKs with ``ReadableLogRecord``, a
    ``ReadableLogRecord``-like one (the resource beside the record) before."""

    def __init__(self, item: Any) -> None:
        record = record_of(item)
        self.instrumentation_scope = item.instrumentation_scope
        if READABLE:
            dropped = item.dropped_attributes
            self.log_record = PublicRecord(record, resource=resource_of(item), dropped_attributes=dropped)
        else:
            self.log_record = PublicRecord(record)
            self.resource = resource_of(item)
            self.dropped_attributes = record.dropped_attributes


def test_log_records_of_the_other_layout_are_encoded_through_public_properties(
    tmp_path: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = make_logs("first", {"k": [1, 2]}, None, attributes={"a": 1, "b": "x"})
    monkeypatch.setattr(_log_encoding, "_warned_public", False)
    stores = {}
    for name, batch in (("fast", items), ("public", [OtherLayout(i) for i in items])):
        store = str(tmp_path / name)
        exporter = ParquetLogExporter(output_dir=store)
        assert exporter.export(batch).name == "SUCCESS"
        assert exporter.force_flush()
        stores[name] = sorted(read_rows(store, "logs"), key=lambda r: r["ObservedTimestamp"])
    assert stores["public"] == stores["fast"]
    assert [r["Body"] for r in stores["public"]] == ["first", '{"k":[1,2]}', ""]
    warnings_logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings_logged) == 1 and "public properties" in warnings_logged[0], warnings_logged


def test_a_dict_attribute_value_the_sdk_keeps_is_stored_as_a_map(store: str) -> None:
    """SDKs that accept any value for span attributes (1.4x) keep a dict: it is stored as OTLP's
    key-value list, like a log body; SDKs that refuse it drop it themselves."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("compat").start_as_current_span("s", attributes={"m": {"a": 1}, "n": 2}):
        pass
    provider.shutdown()
    spans = list(memory.get_finished_spans())
    exporter = ParquetSpanExporter(output_dir=store)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    assert exporter.force_flush()
    (row,) = read_rows(store, "traces")
    if "m" in dict(spans[0].attributes or {}):
        assert row["SpanAttributes"] == {"m": '{"a":1}', "n": "2"}
        assert row["SpanAttributesTypes"]["m"] == '{"kvlistValue":{"values":[{"key":"a","value":{"intValue":"1"}}]}}'
    else:
        assert row["SpanAttributes"] == {"n": "2"}
