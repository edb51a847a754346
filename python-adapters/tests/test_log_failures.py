"""Failure behaviour of ``ParquetLogExporter``, as the span exporter's (test_failures.py): export
never raises (it logs one line and returns FAILURE), a batch the Rust side refuses is named,
values that do not fit cost only their own fidelity, and shutdown and flush follow the SDK."""

from __future__ import annotations

import enum
import logging
from typing import Any

import pytest
from log_records import make_logs, record_of
from parquet_store import has_table, read_rows

from opentelemetry.exporter.parquet import ParquetLibrary, ParquetLogExporter, ParquetSpanExporter
from opentelemetry.exporter.parquet.log_exporter import LogExportResult

LOG_LOGGER = "opentelemetry.exporter.parquet.log_exporter"
SUCCESS, FAILURE = LogExportResult.SUCCESS, LogExportResult.FAILURE


class Color(enum.IntEnum):
    RED = 3


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOG_LOGGER and r.levelno >= logging.WARNING]


def stored(store: str) -> list[dict[str, Any]]:
    return sorted(read_rows(store, "logs"), key=lambda r: r["ObservedTimestamp"])


def test_export_after_shutdown_fails_and_logs(store: str, caplog: pytest.LogCaptureFixture) -> None:
    exporter = ParquetLogExporter(output_dir=store)
    exporter.shutdown()
    exporter.shutdown()  # idempotent
    assert exporter.export(make_logs()) is FAILURE
    (record,) = errors(caplog)
    assert "after shutdown" in record.getMessage() and "1 log records dropped" in record.getMessage()
    assert not has_table(store, "logs")


def test_library_shut_down_underneath(store: str, caplog: pytest.LogCaptureFixture) -> None:
    library = ParquetLibrary(output_dir=store)
    exporter = library.log_exporter()
    library.shutdown()
    for _ in range(3):
        assert exporter.export(make_logs()) is FAILURE
    found = errors(caplog)
    assert len(found) == 3
    for record in found:
        assert record.exc_info is None
        assert "AlreadyShutdown" in record.getMessage() and "\n" not in record.getMessage()
    # Neither flushing nor shutting down a dead library raises.
    assert isinstance(exporter.force_flush(), bool)
    exporter.shutdown()


@pytest.mark.parametrize("garbage", [42, None, "logs", [42], [None, object()]], ids=repr)
def test_exporting_garbage_never_raises(store: str, caplog: pytest.LogCaptureFixture, garbage: Any) -> None:
    exporter = ParquetLogExporter(output_dir=store)
    assert exporter.export(garbage) is (SUCCESS if garbage is None else FAILURE)
    assert len(errors(caplog)) == (0 if garbage is None else 1)
    for record in errors(caplog):
        assert record.exc_info is None and "\n" not in record.getMessage()


class Severity:
    """A severity object of no SDK: its value does not fit OTLP's int32 enum."""

    value = 2**40


def test_a_record_the_rust_side_refuses_is_named(store: str, caplog: pytest.LogCaptureFixture) -> None:
    """The bindings validate the batch: the one log line names the field and where it is."""
    exporter = ParquetLogExporter(output_dir=store)
    batch = make_logs("fine", "also fine")
    record_of(batch[1]).severity_number = Severity()
    assert exporter.export(batch) is FAILURE
    (record,) = errors(caplog)
    message = record.getMessage()
    assert "2 log records not stored: Decode: malformed log batch" in message
    assert "log record 1: severity_number: invalid value: integer `1099511627776`, expected i32" in message
    assert exporter.force_flush()
    assert not has_table(store, "logs"), "nothing of a refused batch is stored"


def test_values_that_do_not_fit_cost_only_their_own_fidelity(store: str, caplog: pytest.LogCaptureFixture) -> None:
    """As for spans (BATCH_FORMAT.md, "Values"): an int beyond 64 bits becomes its decimal string,
    a lone surrogate U+FFFD, a subclass its builtin, a non-str dict key and any other object
    their ``str()``; the rest of the batch is stored as it is."""

    class Local:
        def __str__(self) -> str:
            return "a local object"

    bodies = [2**64, "a\ud800b", Color.RED, {1: "int key", "k": [-(2**63) - 1]}, Local(), {"a"}, "plain"]
    exporter = ParquetLogExporter(output_dir=store)
    assert exporter.export(make_logs(*bodies, attributes={"huge": 2**70})) is SUCCESS
    assert exporter.force_flush()
    assert not errors(caplog)
    rows = stored(store)
    assert [(r["Body"], r["BodyType"]) for r in rows] == [
        (str(2**64), "s"),
        ("a\ufffdb", "s"),
        ("3", "i"),
        ('{"1":"int key","k":["-9223372036854775809"]}', rows[3]["BodyType"]),
        ("a local object", "s"),
        ("{'a'}", "s"),
        ("plain", "s"),
    ]
    assert rows[3]["BodyType"].startswith('{"kvlistValue":{"values":[{"key":"1",')
    for row in rows:
        assert (row["LogAttributes"], row["LogAttributesTypes"]) == ({"huge": str(2**70)}, {"huge": "string"})


def test_shutdown_and_force_flush(store: str) -> None:
    exporter = ParquetLogExporter(output_dir=store)
    assert exporter.force_flush() is True
    assert exporter.force_flush(timeout_millis=5_000) is True
    assert exporter.export(make_logs()) is SUCCESS
    assert exporter.export([]) is SUCCESS
    assert exporter.force_flush() is True
    assert len(stored(store)) == 1
    assert exporter.export(make_logs()) is SUCCESS
    exporter.shutdown(timeout_millis=1_000)
    assert len(stored(store)) == 2, "shutdown flushed"


def test_exporter_shutdown_leaves_a_shared_library_running(store: str) -> None:
    logs, spans = ParquetLogExporter(output_dir=store), ParquetSpanExporter(output_dir=store)
    assert logs.library is spans.library, "exporters of the same options share one library"
    library = ParquetLibrary(output_dir=store)
    first, second = library.log_exporter(), library.log_exporter()
    assert first.export(make_logs()) is SUCCESS
    first.shutdown()
    assert len(stored(store)) == 1
    assert not library.library.is_shutdown()
    assert second.export(make_logs("two", "three")) is SUCCESS
    assert first.export(make_logs()) is FAILURE
    second.shutdown()
    assert len(stored(store)) == 3
