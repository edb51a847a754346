"""ClickHouse reads our `logs` files as the ClickHouse exporter's `otel_logs` table.

Real log records (the standard library's ``logging`` through the Python SDK's ``LoggingHandler``
and ``ParquetLogExporter``, some inside spans, from two services) are written to a store; chdb
then runs the logs queries of the exporter's README (opentelemetry-collector-contrib,
``exporter/clickhouseexporter/README.md``, section "Logs") copied verbatim, only ``otel_logs``
replaced by ``file('<store>/logs/**/*.parquet', Parquet)``. Every result is compared with what the
SDK handed the exporter. Beyond the README: the type ClickHouse infers for every column of the
exporter's ``otel_logs`` (``internal/sqltemplates/logs_table.sql``), and the question local
telemetry is asked most, the log lines of a failing trace, as a join of `logs` and `traces`.

Skipped, saying why, where chdb is not importable (see tests/clickhouse_files.py).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from clickhouse_files import NOT_NULLABLE, attrs, query, rendered, table, types_match
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from opentelemetry.exporter.parquet import ParquetLibrary, ParquetLogExporter

# The README's queries, verbatim.
README_LOG_QUERIES = {
    "log severity count time series": """
SELECT toDateTime(toStartOfInterval(Timestamp, INTERVAL 60 second)) as time, SeverityText, count() as count
FROM otel_logs
WHERE toStartOfFiveMinutes(Timestamp) >= toStartOfFiveMinutes(NOW() - INTERVAL 1 HOUR)
  AND Timestamp >= NOW() - INTERVAL 1 HOUR
GROUP BY SeverityText, time
ORDER BY time;
""",
    "any log": """
SELECT Timestamp as log_time, Body
FROM otel_logs
WHERE toStartOfFiveMinutes(Timestamp) >= toStartOfFiveMinutes(NOW() - INTERVAL 1 HOUR)
  AND Timestamp >= NOW() - INTERVAL 1 HOUR
ORDER BY (toStartOfFiveMinutes(Timestamp), Timestamp) DESC
LIMIT 100;
""",
    "log with specific service": """
SELECT Timestamp as log_time, Body
FROM otel_logs
WHERE ServiceName = 'clickhouse-exporter'
  AND toStartOfFiveMinutes(Timestamp) >= toStartOfFiveMinutes(NOW() - INTERVAL 1 HOUR)
  AND Timestamp >= NOW() - INTERVAL 1 HOUR
ORDER BY (toStartOfFiveMinutes(Timestamp), Timestamp) DESC
LIMIT 100;
""",
    "log with specific attribute": """
SELECT Timestamp as log_time, Body
FROM otel_logs
WHERE LogAttributes['container_name'] = '/example_flog_1'
  AND toStartOfFiveMinutes(Timestamp) >= toStartOfFiveMinutes(NOW() - INTERVAL 1 HOUR)
  AND Timestamp >= NOW() - INTERVAL 1 HOUR
ORDER BY (toStartOfFiveMinutes(Timestamp), Timestamp) DESC
LIMIT 100;
""",
    "log with body contain string token": """
SELECT Timestamp as log_time, Body
FROM otel_logs
WHERE hasToken(Body, 'http')
  AND toStartOfFiveMinutes(Timestamp) >= toStartOfFiveMinutes(NOW() - INTERVAL 1 HOUR)
  AND Timestamp >= NOW() - INTERVAL 1 HOUR
ORDER BY (toStartOfFiveMinutes(Timestamp), Timestamp) DESC
LIMIT 100;
""",
    "log with body contain string": """
SELECT Timestamp as log_time, Body
FROM otel_logs
WHERE Body like '%http%'
  AND toStartOfFiveMinutes(Timestamp) >= toStartOfFiveMinutes(NOW() - INTERVAL 1 HOUR)
  AND Timestamp >= NOW() - INTERVAL 1 HOUR
ORDER BY (toStartOfFiveMinutes(Timestamp), Timestamp) DESC
LIMIT 100;
""",
    "log with body regexp match string": """
SELECT Timestamp as log_time, Body
FROM otel_logs
WHERE match(Body, 'http')
  AND toStartOfFiveMinutes(Timestamp) >= toStartOfFiveMinutes(NOW() - INTERVAL 1 HOUR)
  AND Timestamp >= NOW() - INTERVAL 1 HOUR
ORDER BY (toStartOfFiveMinutes(Timestamp), Timestamp) DESC
LIMIT 100;
""",
    "log with body json extract": """
SELECT Timestamp as log_time, Body
FROM otel_logs
WHERE JSONExtractFloat(Body, 'bytes') > 1000
  AND toStartOfFiveMinutes(Timestamp) >= toStartOfFiveMinutes(NOW() - INTERVAL 1 HOUR)
  AND Timestamp >= NOW() - INTERVAL 1 HOUR
ORDER BY (toStartOfFiveMinutes(Timestamp), Timestamp) DESC
LIMIT 100;
""",
}

# The exporter's otel_logs columns (logs_table.sql; `TimestampTime` is a DEFAULT the server
# computes from `Timestamp` on insert, not part of what is written).
_ATTRS = "Map(LowCardinality(String), String)"
EXPORTER_LOGS_COLUMNS = {
    "Timestamp": "DateTime64(9)",
    "TraceId": "String",
    "SpanId": "String",
    "TraceFlags": "UInt8",
    "SeverityText": "LowCardinality(String)",
    "SeverityNumber": "UInt8",
    "ServiceName": "LowCardinality(String)",
    "Body": "String",
    "ResourceSchemaUrl": "LowCardinality(String)",
    "ResourceAttributes": _ATTRS,
    "ScopeSchemaUrl": "LowCardinality(String)",
    "ScopeName": "String",
    "ScopeVersion": "LowCardinality(String)",
    "ScopeAttributes": _ATTRS,
    "LogAttributes": _ATTRS,
    "EventName": "String",
}

SERVICE = "clickhouse-exporter"


@dataclass(frozen=True)
class Row:
    """What the SDK handed the exporter for one record, as the exporter's columns render it."""

    timestamp: int
    service: str
    severity_text: str
    body: str
    attributes: dict[str, str]
    trace_id: str
    span_id: str


class CapturingLogExporter(ParquetLogExporter):
    """The real exporter, remembering every record the SDK gave it."""

    def __init__(self, library: ParquetLibrary) -> None:
        super().__init__(library)
        self.records: list[Any] = []

    def export(self, batch: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        self.records.extend(batch)
        return super().export(batch, *args, **kwargs)


def _body(body: object) -> str:
    """A body as the exporter renders it (`AsString`): maps as JSON with sorted keys."""
    if isinstance(body, dict):
        return json.dumps(body, sort_keys=True, separators=(",", ":"))
    return rendered(body)


def _row(data: Any) -> Row:
    record = data.log_record
    resource = getattr(data, "resource", None) or record.resource
    return Row(
        timestamp=record.timestamp,
        service=resource.attributes["service.name"],
        severity_text=record.severity_text or "",
        body=_body(record.body),
        attributes=attrs(record.attributes),
        trace_id=f"{record.trace_id:032x}" if record.trace_id else "",
        span_id=f"{record.span_id:016x}" if record.span_id else "",
    )


@dataclass
class Store:
    root: Path
    rows: list[Row]


def _log(service: str, library: ParquetLibrary, tracer_provider: TracerProvider) -> CapturingLogExporter:
    exporter = CapturingLogExporter(library)
    provider = LoggerProvider(resource=Resource.create({"service.name": service}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger(f"clickhouse.{service}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = LoggingHandler(level=logging.DEBUG, logger_provider=provider)
    logger.addHandler(handler)
    tracer = tracer_provider.get_tracer("checkout")
    logger.info("GET http://shop/cart 200", extra={"container_name": "/example_flog_1"})
    logger.debug("redirect to https://shop/login")
    with tracer.start_as_current_span("POST /checkout") as span:
        logger.warning("retrying payment", extra={"attempt": 2, "container_name": "/example_flog_1"})
        logger.error("payment declined by http gateway")
        span.set_status(Status(StatusCode.ERROR, "payment declined"))
    logger.info({"bytes": 1500, "path": "/img/large.png"})
    logger.info({"bytes": 10, "path": "/img/icon.png"})
    logger.removeHandler(handler)
    provider.shutdown()
    return exporter


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("clickhouse-logs") / "store"
    library = ParquetLibrary(output_dir=str(root))
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    tracer_provider.add_span_processor(SimpleSpanProcessor(library.span_exporter()))
    exporters = [_log(SERVICE, library, tracer_provider), _log("other-service", library, tracer_provider)]
    tracer_provider.shutdown()
    library.shutdown()
    rows = [_row(record) for exporter in exporters for record in exporter.records]
    assert len(rows) == 12
    yield Store(root, rows)


def on_files(store: Store, sql: str) -> str:
    sql, tables = re.subn(r"\botel_(logs|traces)\b", lambda m: table(store.root, m.group(1)), sql)
    assert tables, "the query names no table"
    return sql


def _listed(rows: list[Row]) -> list[dict[str, Any]]:
    """`Timestamp as log_time, Body` of rows, newest first, as the README's queries order them."""
    ordered = sorted(rows, key=lambda r: (r.timestamp // (300 * 10**9), r.timestamp), reverse=True)
    return [{"log_time": row.timestamp, "Body": row.body} for row in ordered]


def _has_token(body: str, token: str) -> bool:
    return token in re.split(r"[^A-Za-z0-9_\x80-\uffff]+", body)


EXPECTED_ROWS = {
    "any log": lambda row: True,
    "log with specific service": lambda row: row.service == SERVICE,
    "log with specific attribute": lambda row: row.attributes.get("container_name") == "/example_flog_1",
    "log with body contain string token": lambda row: _has_token(row.body, "http"),
    "log with body contain string": lambda row: "http" in row.body,
    "log with body regexp match string": lambda row: re.search("http", row.body) is not None,
    "log with body json extract": lambda row: row.body.startswith("{") and json.loads(row.body)["bytes"] > 1000,
}


@pytest.mark.parametrize("name", list(EXPECTED_ROWS))
def test_readme_log_query(store: Store, name: str) -> None:
    expected = [row for row in store.rows if EXPECTED_ROWS[name](row)]
    assert expected, "the store has rows this query must find"
    assert len(expected) < len(store.rows) or name == "any log", "the query's filter must matter"
    rows = query(on_files(store, README_LOG_QUERIES[name]))
    # Rows with the same time bucket and time come in either order: compare as sorted lists.
    got = sorted(rows, key=lambda r: (-r["log_time"], r["Body"]))
    assert got == sorted(_listed(expected), key=lambda r: (-r["log_time"], r["Body"]))


def test_readme_severity_time_series(store: Store) -> None:
    rows = query(on_files(store, README_LOG_QUERIES["log severity count time series"]))
    counts: dict[tuple[int, str], int] = {}
    for row in store.rows:
        key = (row.timestamp // (60 * 10**9) * 60, row.severity_text)
        counts[key] = counts.get(key, 0) + 1
    got = {(r["time"], r["SeverityText"]): r["count"] for r in rows}  # seconds (DateTime)
    assert got == counts
    # DEBUG, INFO, WARNING (WARN from SDK 1.39 on) and ERROR.
    assert len({severity for _, severity in counts}) == 4


def test_log_lines_of_a_failing_trace(store: Store) -> None:
    """The spans of the trace whose status is Error, each with its log lines, by TraceId/SpanId."""
    sql = on_files(
        store,
        """SELECT s.SpanName AS span, s.StatusCode AS status, l.SeverityText AS severity, l.Body AS body
           FROM otel_traces AS s JOIN otel_logs AS l ON l.TraceId = s.TraceId AND l.SpanId = s.SpanId
           WHERE s.TraceId IN (SELECT TraceId FROM otel_traces WHERE StatusCode = 'Error')
             AND l.ServiceName = 'clickhouse-exporter'
           ORDER BY l.Timestamp""",
    )
    in_span = [row for row in store.rows if row.service == SERVICE and row.span_id]
    assert [r.body for r in in_span] == ["retrying payment", "payment declined by http gateway"]
    assert query(sql) == [
        {"span": "POST /checkout", "status": "Error", "severity": row.severity_text, "body": row.body}
        for row in in_span
    ]


def test_inferred_types_are_the_exporters(store: Store) -> None:
    types_match(store.root, "logs", EXPORTER_LOGS_COLUMNS, set())


def test_inferred_types_are_the_exporters_with_setting(store: Store) -> None:
    types_match(store.root, "logs", EXPORTER_LOGS_COLUMNS, set(), f", {NOT_NULLABLE}")
