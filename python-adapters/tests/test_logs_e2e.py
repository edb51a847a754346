"""End to end: a real ``LoggerProvider`` exporting through ``ParquetLogExporter``, fed by the SDK's
Logger API and by the standard library's ``logging`` through the SDK's ``LoggingHandler``. The
files are read back with pyarrow and DuckDB and every stored row is checked against the record
the SDK handed the exporter; records logged inside a span carry its IDs."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import duckdb
import pytest
from log_records import EVENT_NAMES, InMemoryLogExporter, assert_log_row, emit, record_of
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanContext, TraceFlags
from parquet_store import duck, hex_id, read_rows, read_table

from opentelemetry.exporter.parquet import ParquetLibrary, ParquetLogExporter

RESOURCE_SCHEMA = "https://opentelemetry.io/schemas/1.26.0"
SCOPE_SCHEMA = "https://example.com/schemas/scope/1.0"
T0 = 1_700_000_000 * 10**9
RESOURCE_ATTRIBUTES: dict[str, Any] = {"service.name": "e2e-logs", "service.version": "1.2.3", "host.cpus": 8}

# A body of every type the data model has (and a tuple, stored as an array).
BODIES: list[Any] = [
    "plain text",
    "",
    42,
    -(2**63),
    1.5,
    -0.0,
    math.inf,
    True,
    b"\x00\xff",
    [1, "a", None, [2.5]],
    (1, 2),
    {"k": "v", "nested": {"n": [True, None]}, "empty": {}},
    None,
]
ATTRIBUTES: dict[str, Any] = {
    "str": "v",
    "int": -7,
    "float": 0.25,
    "bool": False,
    "ints": [1, 2],
    "strs": ["a", "b"],
}
SPAN = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
)
PROCESSORS: dict[str, Callable[[Any], Any]] = {"batch": BatchLogRecordProcessor, "simple": SimpleLogRecordProcessor}


def _logger_api_records(provider: LoggerProvider) -> None:
    logger = provider.get_logger("e2e.logger", "4.5.6", schema_url=SCOPE_SCHEMA, attributes={"scope.attr": "s"})
    severities = list(SeverityNumber)
    for i, body in enumerate(BODIES):
        emit(
            logger,
            timestamp=T0 + i,
            observed_timestamp=T0 + 1_000 + i,
            severity_text=severities[i % len(severities)].name,
            severity_number=severities[i % len(severities)],
            body=body,
            attributes={**ATTRIBUTES, "body.index": i},
        )
    emit(
        logger,
        span_context=SPAN,
        max_attributes=2,
        event_name="payment.failed",
        timestamp=T0 + 100,
        observed_timestamp=T0 + 1_100,
        severity_text="WARN",
        severity_number=SeverityNumber.WARN,
        body="in a span, attributes dropped",
        attributes=ATTRIBUTES,
    )
    emit(logger, timestamp=None, observed_timestamp=T0 + 1_200, severity_number=None, body="no time, no severity")


def _stdlib_records(provider: LoggerProvider, store: str) -> tuple[int, int]:
    """``logging`` calls outside and inside a span (exported by a span exporter into the same
    store); returns the span's trace and span IDs."""
    tracers = TracerProvider()
    tracers.add_span_processor(SimpleSpanProcessor(ParquetLibrary(output_dir=store).span_exporter()))
    tracer = tracers.get_tracer("e2e.tracer")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # SDK 1.45 points to instrumentation-logging
        handler = LoggingHandler(level=logging.DEBUG, logger_provider=provider)
    std = logging.getLogger("e2e.std")
    std.setLevel(logging.DEBUG)
    std.propagate = False
    std.addHandler(handler)
    try:
        std.info("outside %s", "spans", extra={"order.id": 7, "ratio": 0.5})
        with tracer.start_as_current_span("checkout") as span:
            std.warning("inside the span")
            std.debug({"structured": [1, 2]})
            try:
                raise ValueError("bad card")
            except ValueError:
                std.exception("payment failed")
        std.critical("after the span")
    finally:
        std.removeHandler(handler)
    tracers.shutdown()
    context = span.get_span_context()
    return context.trace_id, context.span_id


def run_workload(store: str, processor: Callable[[Any], Any]) -> tuple[list[Any], tuple[int, int]]:
    memory = InMemoryLogExporter()
    provider = LoggerProvider(resource=Resource.create(RESOURCE_ATTRIBUTES, schema_url=RESOURCE_SCHEMA))
    provider.add_log_record_processor(processor(ParquetLogExporter(output_dir=store)))
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    _logger_api_records(provider)
    ids = _stdlib_records(provider, store)
    provider.shutdown()
    items = list(memory.get_finished_logs())
    assert len(items) == len(BODIES) + 2 + 5
    return items, ids


@pytest.fixture(params=sorted(PROCESSORS))
def workload(request: pytest.FixtureRequest, store: str) -> Iterator[tuple[str, list[Any], tuple[int, int]]]:
    items, ids = run_workload(store, PROCESSORS[request.param])
    yield store, items, ids


def _key(scope: str, time: int, observed: int) -> tuple[str, int, int]:
    return (scope, time, observed)


def test_every_record_field_is_stored(workload: tuple[str, list[Any], tuple[int, int]]) -> None:
    store, items, _ = workload
    rows = read_rows(store, "logs")
    assert len(rows) == len(items)
    by_key = {_key(r["ScopeName"], r["Timestamp"], r["ObservedTimestamp"]): r for r in rows}
    assert len(by_key) == len(rows)
    for item in items:
        record = record_of(item)
        observed = record.observed_timestamp
        assert_log_row(by_key[_key(item.instrumentation_scope.name, record.timestamp or observed, observed)], item)


def test_literal_values(workload: tuple[str, list[Any], tuple[int, int]]) -> None:
    store, _, (trace_id, span_id) = workload
    rows = read_rows(store, "logs")
    api = sorted((r for r in rows if r["ScopeName"] == "e2e.logger"), key=lambda r: r["Timestamp"])
    assert [(r["Body"], r["BodyType"]) for r in api[:3]] == [("plain text", "s"), ("", "s"), ("42", "i")]
    assert (api[len(BODIES) - 1]["Body"], api[len(BODIES) - 1]["BodyType"]) == ("", "u"), "a None body is no body"
    assert api[0]["LogAttributes"]["ints"] == "[1,2]"
    in_span = api[len(BODIES)]
    assert (in_span["TraceId"], in_span["SpanId"]) == (hex_id(SPAN.trace_id, 16), hex_id(SPAN.span_id, 8))
    assert in_span["Flags"] == 1, "the trace flags alone: no is-remote bits on log records"
    assert (in_span["DroppedAttributesCount"], len(in_span["LogAttributes"])) == (len(ATTRIBUTES) - 2, 2)
    assert in_span["EventName"] == ("payment.failed" if EVENT_NAMES else "")
    untimed = api[-1]
    assert untimed["TimestampFromObserved"] and untimed["Timestamp"] == untimed["ObservedTimestamp"] == T0 + 1_200
    assert (untimed["SeverityNumber"], untimed["SeverityText"]) == (0, "")

    std = {r["Body"]: r for r in rows if r["ScopeName"] == "e2e.std"}
    assert sorted(std) == sorted(
        ["outside spans", "inside the span", '{"structured":[1,2]}', "payment failed", "after the span"]
    )
    for body in ("inside the span", '{"structured":[1,2]}', "payment failed"):
        assert (std[body]["TraceId"], std[body]["SpanId"]) == (hex_id(trace_id, 16), hex_id(span_id, 8)), body
        assert std[body]["TraceFlags"] & 1 == 1, "sampled"
    for body in ("outside spans", "after the span"):
        assert (std[body]["TraceId"], std[body]["SpanId"], std[body]["Flags"]) == ("", "", 0), body
    assert [(std[b]["SeverityText"], std[b]["SeverityNumber"]) for b in ("inside the span", "payment failed")] == [
        ("WARN", SeverityNumber.WARN.value),
        ("ERROR", SeverityNumber.ERROR.value),
    ]
    assert std["after the span"]["SeverityNumber"] == SeverityNumber.FATAL.value
    assert std['{"structured":[1,2]}']["BodyType"].startswith('{"kvlistValue"'), "a dict message is a map body"
    outside = std["outside spans"]
    assert (outside["LogAttributes"]["order.id"], outside["LogAttributesTypes"]["order.id"]) == ("7", "int")
    assert std["payment failed"]["LogAttributes"]["exception.type"] == "ValueError"
    assert std["payment failed"]["LogAttributes"]["exception.message"] == "bad card"
    for row in rows:
        assert (row["ServiceName"], row["ResourceSchemaUrl"]) == ("e2e-logs", RESOURCE_SCHEMA)


def test_pyarrow_schema_and_partitions(workload: tuple[str, list[Any], tuple[int, int]]) -> None:
    store, items, _ = workload
    table = read_table(store, "logs")
    assert table.num_rows == len(items)
    assert {"date", "hour"} <= set(table.column_names)
    assert str(table.schema.field("Timestamp").type) == "timestamp[ns, tz=UTC]"


def test_duckdb_joins_a_traces_spans_with_its_log_lines(workload: tuple[str, list[Any], tuple[int, int]]) -> None:
    store, _, (trace_id, _) = workload
    pattern = f"{store}/{{}}/**/*.parquet"
    with duckdb.connect() as con:
        joined = con.sql(
            f"SELECT s.SpanName, l.SeverityText, l.Body "
            f"FROM read_parquet('{pattern.format('traces')}', hive_partitioning = true) s "
            f"JOIN read_parquet('{pattern.format('logs')}', hive_partitioning = true) l "
            f"ON s.TraceId = l.TraceId AND s.SpanId = l.SpanId ORDER BY l.Timestamp"
        ).fetchall()
    assert joined == [
        ("checkout", "WARN", "inside the span"),
        ("checkout", "DEBUG", '{"structured":[1,2]}'),
        ("checkout", "ERROR", "payment failed"),
    ]
    assert duck(store, "logs", "count(*)", where=f"TraceId = '{hex_id(trace_id, 16)}'") == [(3,)]
