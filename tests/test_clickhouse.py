"""ClickHouse reads our files as the tables of the OpenTelemetry Collector's ClickHouse exporter.

Real telemetry (Python SDK spans with events and links through ``ParquetSpanExporter``, every
instrument kind through ``ParquetMetricExporter``, a summary through ``export_otlp_metrics``) is
written to a store; chdb (ClickHouse embedded in Python) then runs, over the store's files through
the ``file()`` table function, the queries of the exporter's README
(opentelemetry-collector-contrib, ``exporter/clickhouseexporter/README.md``, sections "Traces" and
"Metrics") copied verbatim: only the table names are replaced, ``otel_traces`` by
``file('<store>/traces/**/*.parquet', Parquet)`` and so on, and ``otel_traces_trace_id_ts`` by the
exporter's own materialized view (``traces_id_ts_lookup_mv.sql``) as a subquery over the traces.
Every result is compared, row by row and value by value, with what the SDK handed the exporters.

Beyond the README: every ``Events.*``, ``Links.*``, ``Exemplars.*`` and ``ValueAtQuantiles.*``
subcolumn, ``ARRAY JOIN Events``, the histogram, exponential histogram and summary columns, and the
type ClickHouse infers for every column of the exporter's tables (``internal/sqltemplates/*.sql``),
both by default and with ``schema_inference_make_columns_nullable = 0``.

Skipped, saying why, where chdb is not importable (xtask/requirements-test.txt installs it where
PyPI has its engine, chdb-core, as a wheel: Linux x86_64 and macOS).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import clickhouse_files
import pytest
from clickhouse_files import NOT_NULLABLE, attrs, ch_array, ch_map, query, types_match
from opentelemetry import trace
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    Metric,
    ResourceMetrics,
    ScopeMetrics,
    Summary,
    SummaryDataPoint,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ProtoResource
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ExponentialHistogramDataPoint,
    HistogramDataPoint,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

from opentelemetry.exporter.parquet import ParquetLibrary, ParquetMetricExporter

# The README's queries, verbatim.
README_TRACE_QUERIES = {
    "spans with specific attribute": """
SELECT Timestamp,
       TraceId,
       SpanId,
       ParentSpanId,
       SpanName,
       SpanKind,
       ServiceName,
       Duration,
       StatusCode,
       StatusMessage,
       toString(SpanAttributes),
       toString(ResourceAttributes),
       toString(Events.Name),
       toString(Links.TraceId)
FROM otel_traces
WHERE ServiceName = 'clickhouse-exporter'
  AND SpanAttributes['peer.service'] = 'telemetrygen-server'
  AND Timestamp >= NOW() - INTERVAL 1 HOUR
Limit 100;
""",
    "traces with traceID": """
WITH
    '391dae938234560b16bb63f51501cb6f' as trace_id,
    (SELECT min(Start) FROM otel_traces_trace_id_ts WHERE TraceId = trace_id) as start,
    (SELECT max(End) + 1 FROM otel_traces_trace_id_ts WHERE TraceId = trace_id) as end
SELECT Timestamp,
       TraceId,
       SpanId,
       ParentSpanId,
       SpanName,
       SpanKind,
       ServiceName,
       Duration,
       StatusCode,
       StatusMessage,
       toString(SpanAttributes),
       toString(ResourceAttributes),
       toString(Events.Name),
       toString(Links.TraceId)
FROM otel_traces
WHERE TraceId = trace_id
  AND Timestamp >= start
  AND Timestamp <= end
Limit 100;
""",
    "spans is error": """
SELECT Timestamp,
       TraceId,
       SpanId,
       ParentSpanId,
       SpanName,
       SpanKind,
       ServiceName,
       Duration,
       StatusCode,
       StatusMessage,
       toString(SpanAttributes),
       toString(ResourceAttributes),
       toString(Events.Name),
       toString(Links.TraceId)
FROM otel_traces
WHERE ServiceName = 'clickhouse-exporter'
  AND StatusCode = 'Error'
  AND Timestamp >= NOW() - INTERVAL 1 HOUR
Limit 100;
""",
    "slow spans": """
SELECT Timestamp,
       TraceId,
       SpanId,
       ParentSpanId,
       SpanName,
       SpanKind,
       ServiceName,
       Duration,
       StatusCode,
       StatusMessage,
       toString(SpanAttributes),
       toString(ResourceAttributes),
       toString(Events.Name),
       toString(Links.TraceId)
FROM otel_traces
WHERE ServiceName = 'clickhouse-exporter'
  AND Duration > 1 * 1e9
  AND Timestamp >= NOW() - INTERVAL 1 HOUR
Limit 100;
""",
}
README_METRIC_QUERIES = {
    "sum metrics with name": """
select TimeUnix,MetricName,Attributes,Value from otel_metrics_sum
where MetricName='calls' limit 100
""",
    "sum metrics with name, attribute": """
select TimeUnix,MetricName,Attributes,Value from otel_metrics_sum
where MetricName='calls' and Attributes['service_name']='featureflagservice'
limit 100
""",
}
# The exporter's otel_traces_trace_id_ts is filled by this materialized view over otel_traces
# (internal/sqltemplates/traces_id_ts_lookup_mv.sql); over files it is a subquery.
TRACE_ID_TS = """(SELECT
              TraceId,
              min(Timestamp) as Start,
              max(Timestamp) as End
   FROM otel_traces
   WHERE TraceId != ''
   GROUP BY TraceId)"""

# The columns of the exporter's tables (internal/sqltemplates/*_table.sql, codecs, indexes and
# ALIAS columns left out), Nested columns as the Array subcolumns ClickHouse gives them. Metric
# times as the exporter wrote them until it moved to one-second DateTime (the store keeps ns).
_ATTRS = "Map(LowCardinality(String), String)"
_METRIC_COMMON = {
    "ResourceAttributes": _ATTRS,
    "ResourceSchemaUrl": "String",
    "ScopeName": "String",
    "ScopeVersion": "String",
    "ScopeAttributes": _ATTRS,
    "ScopeDroppedAttrCount": "UInt32",
    "ScopeSchemaUrl": "String",
    "ServiceName": "LowCardinality(String)",
    "MetricName": "String",
    "MetricDescription": "String",
    "MetricUnit": "String",
    "Attributes": _ATTRS,
    "StartTimeUnix": "DateTime64(9)",
    "TimeUnix": "DateTime64(9)",
    "Flags": "UInt32",
}
_EXEMPLARS = {
    "Exemplars.FilteredAttributes": f"Array({_ATTRS})",
    "Exemplars.TimeUnix": "Array(DateTime64(9))",
    "Exemplars.Value": "Array(Float64)",
    "Exemplars.SpanId": "Array(String)",
    "Exemplars.TraceId": "Array(String)",
}
EXPORTER_COLUMNS: dict[str, dict[str, str]] = {
    "traces": {
        "Timestamp": "DateTime64(9)",
        "TraceId": "String",
        "SpanId": "String",
        "ParentSpanId": "String",
        "TraceState": "String",
        "SpanName": "LowCardinality(String)",
        "SpanKind": "LowCardinality(String)",
        "ServiceName": "LowCardinality(String)",
        "ResourceAttributes": _ATTRS,
        "ScopeName": "String",
        "ScopeVersion": "String",
        "SpanAttributes": _ATTRS,
        "Duration": "UInt64",
        "StatusCode": "LowCardinality(String)",
        "StatusMessage": "String",
        "Events.Timestamp": "Array(DateTime64(9))",
        "Events.Name": "Array(LowCardinality(String))",
        "Events.Attributes": f"Array({_ATTRS})",
        "Links.TraceId": "Array(String)",
        "Links.SpanId": "Array(String)",
        "Links.TraceState": "Array(String)",
        "Links.Attributes": f"Array({_ATTRS})",
    },
    "metrics_gauge": {**_METRIC_COMMON, "Value": "Float64", **_EXEMPLARS},
    "metrics_sum": {
        **_METRIC_COMMON,
        "Value": "Float64",
        **_EXEMPLARS,
        "AggregationTemporality": "Int32",
        "IsMonotonic": "Bool",
    },
    "metrics_histogram": {
        **_METRIC_COMMON,
        "Count": "UInt64",
        "Sum": "Float64",
        "BucketCounts": "Array(UInt64)",
        "ExplicitBounds": "Array(Float64)",
        **_EXEMPLARS,
        "Min": "Float64",
        "Max": "Float64",
        "AggregationTemporality": "Int32",
    },
    "metrics_exponential_histogram": {
        **_METRIC_COMMON,
        "Count": "UInt64",
        "Sum": "Float64",
        "Scale": "Int32",
        "ZeroCount": "UInt64",
        "PositiveOffset": "Int32",
        "PositiveBucketCounts": "Array(UInt64)",
        "NegativeOffset": "Int32",
        "NegativeBucketCounts": "Array(UInt64)",
        **_EXEMPLARS,
        "Min": "Float64",
        "Max": "Float64",
        "AggregationTemporality": "Int32",
    },
    "metrics_summary": {
        **_METRIC_COMMON,
        "Count": "UInt64",
        "Sum": "Float64",
        "ValueAtQuantiles.Quantile": "Array(Float64)",
        "ValueAtQuantiles.Value": "Array(Float64)",
    },
}
# Null where OTLP left them unset, where the exporter writes 0 (README, "Numbers").
_UNSET_IS_NULL = {"Sum", "Min", "Max", "Exemplars.Value"}
DELIBERATELY_NULLABLE = {
    "traces": set(),
    "metrics_gauge": {"Value", "Exemplars.Value"},
    "metrics_sum": {"Value", "Exemplars.Value"},
    "metrics_histogram": _UNSET_IS_NULL,
    "metrics_exponential_histogram": {*_UNSET_IS_NULL, "PositiveOffset", "NegativeOffset"},
    "metrics_summary": set(),
}

README_TRACE_ID = 0x391DAE938234560B16BB63F51501CB6F
SERVICE = "clickhouse-exporter"
PEER = "telemetrygen-server"
MS = 1_000_000
S = 1_000 * MS


class ListedIds(IdGenerator):
    """Trace IDs from a list (the README's first), span IDs counting up."""

    def __init__(self, trace_ids: Sequence[int]) -> None:
        self.trace_ids = list(trace_ids)
        self.span_id = 0xA0A0_0000_0000_0000

    def generate_trace_id(self) -> int:
        return self.trace_ids.pop(0)

    def generate_span_id(self) -> int:
        self.span_id += 1
        return self.span_id


class CapturingMetricExporter(ParquetMetricExporter):
    """The real exporter, remembering every ``MetricsData`` the reader gave it."""

    def __init__(self, library: ParquetLibrary) -> None:
        super().__init__(library)
        self.exported: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        self.exported.append(metrics_data)
        result = super().export(metrics_data, timeout_millis, **kwargs)
        assert result is MetricExportResult.SUCCESS
        return result


@dataclass
class Store:
    root: Path
    spans: list[ReadableSpan]
    metrics: list[MetricsData]
    summary: ExportMetricsServiceRequest


def _write_spans(library: ParquetLibrary, base: int) -> list[ReadableSpan]:
    captured = InMemorySpanExporter()
    ids = ListedIds(
        [README_TRACE_ID, 0x0BAD_0000_0000_0000_0000_0000_0000_0001, 0x0C0C_0000_0000_0000_0000_0000_0000_0002]
    )
    providers = []
    for service in (SERVICE, "frontend"):
        resource = Resource.create({"service.name": service, "deployment.environment.name": "test", "host.cpus": 4})
        provider = TracerProvider(resource=resource, id_generator=ids)
        provider.add_span_processor(SimpleSpanProcessor(library.span_exporter()))
        provider.add_span_processor(SimpleSpanProcessor(captured))
        providers.append(provider)
    tracer = providers[0].get_tracer("checkout", "1.2.3")
    frontend = providers[1].get_tracer("render", "0.1")

    retried = SpanContext(
        0x1111_1111_1111_1111_1111_1111_1111_1111,
        0x2222_2222_2222_2222,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "v1")]),
    )
    # Trace A (the README's trace ID): a slow server span in error with two events and a link.
    server = tracer.start_span(
        "GET /checkout",
        kind=SpanKind.SERVER,
        start_time=base,
        links=[Link(retried, {"link.reason": "retry"})],
        attributes={
            "peer.service": PEER,
            "http.request.method": "GET",
            "http.response.status_code": 504,
            "retry.ratio": 0.25,
            "cache.hit": False,
        },
    )
    server.add_event("request.received", {"body.size": 512}, timestamp=base + 1 * MS)
    server.add_event(
        "exception",
        {"exception.type": "TimeoutError", "exception.message": "deadline exceeded"},
        timestamp=base + 1400 * MS,
    )
    server_cx = trace.set_span_in_context(server)
    # A fast client child, Ok, with one event and two links.
    first = SpanContext(0x3333_3333_3333_3333_3333_3333_3333_3333, 0x4444_4444_4444_4444, is_remote=False)
    second = SpanContext(0x5555_5555_5555_5555_5555_5555_5555_5555, 0x6666_6666_6666_6666, is_remote=True)
    client = tracer.start_span(
        "SELECT orders",
        context=server_cx,
        kind=SpanKind.CLIENT,
        start_time=base + 10 * MS,
        attributes={"peer.service": PEER, "db.system.name": "postgresql"},
        links=[Link(first), Link(second, {"link.n": 2})],
    )
    client.add_event("rows.fetched", {"rows": 3}, timestamp=base + 25 * MS)
    client.set_status(Status(StatusCode.OK))
    client.end(end_time=base + 30 * MS)
    # A producer child talking to another peer, status unset.
    producer = tracer.start_span(
        "publish",
        context=server_cx,
        kind=SpanKind.PRODUCER,
        start_time=base + 40 * MS,
        attributes={"peer.service": "queue"},
    )
    producer.end(end_time=base + 41 * MS)
    # Another service's slow error span in the same trace.
    render = frontend.start_span(
        "render", context=server_cx, start_time=base + 50 * MS, attributes={"peer.service": PEER}
    )
    render.set_status(Status(StatusCode.ERROR, "render failed"))
    render.end(end_time=base + 2550 * MS)
    server.set_status(Status(StatusCode.ERROR, "upstream timeout"))
    server.end(end_time=base + 1500 * MS)

    # Trace B: two hours old, slow and in error: outside every "last hour" query.
    old = tracer.start_span(
        "GET /old", kind=SpanKind.SERVER, start_time=base - 7200 * S, attributes={"peer.service": PEER}
    )
    old.set_status(Status(StatusCode.ERROR, "old"))
    old.end(end_time=base - 7197 * S)
    # Trace C: a fast root span, no events or links.
    health = tracer.start_span(
        "GET /health", kind=SpanKind.SERVER, start_time=base + 100 * MS, attributes={"peer.service": PEER}
    )
    health.end(end_time=base + 101 * MS)

    for provider in providers:
        provider.shutdown()
    spans = list(captured.get_finished_spans())
    assert len(spans) == 6
    return spans


def _write_metrics(library: ParquetLibrary, tracer_provider: TracerProvider) -> list[MetricsData]:
    exporter = CapturingMetricExporter(library)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create({"service.name": "featureflagservice"}),
        views=[View(instrument_name="payload.size", aggregation=ExponentialBucketHistogramAggregation(max_size=20))],
    )
    meter = provider.get_meter("flags", "2.0")
    calls = meter.create_counter("calls", unit="1", description="calls served")
    errors = meter.create_counter("errors")
    queue = meter.create_up_down_counter("queue.depth")
    latency = meter.create_histogram("latency", unit="ms")
    payload = meter.create_histogram("payload.size", unit="By")
    temperature = meter.create_gauge("cpu.temperature", unit="Cel")
    flag_service = {"service_name": "featureflagservice", "span.kind": "server"}

    with tracer_provider.get_tracer("exemplars").start_as_current_span("measure"):
        calls.add(3, flag_service)
    calls.add(5, {"service_name": "frontend"})
    errors.add(1, {"service_name": "featureflagservice"})
    queue.add(4)
    queue.add(-1)
    for value in (3.0, 7.5, 120.0, 900.0):
        latency.record(value, {"route": "/flags"})
    for value in (0.0, 1.0, 2.0, 300.0):
        payload.record(value)
    temperature.set(61.5, {"core": 0})
    reader.force_flush()
    # Second collection: cumulative points grow, the gauge moves.
    calls.add(4, flag_service)
    latency.record(15.0, {"route": "/flags"})
    temperature.set(58.25, {"core": 0})
    provider.shutdown()
    assert len(exporter.exported) == 2
    return exporter.exported


def _summary_request(base: int) -> ExportMetricsServiceRequest:
    """A summary (the SDK makes none: they come from Prometheus and other receivers), as OTLP."""

    def kv(key: str, value: str) -> KeyValue:
        return KeyValue(key=key, value=AnyValue(string_value=value))

    point = SummaryDataPoint(
        attributes=[kv("handler", "/api")],
        start_time_unix_nano=base - 60 * S,
        time_unix_nano=base,
        count=10,
        sum=42.5,
        quantile_values=[
            SummaryDataPoint.ValueAtQuantile(quantile=0.5, value=3.5),
            SummaryDataPoint.ValueAtQuantile(quantile=0.99, value=12.25),
        ],
    )
    metric = Metric(name="rpc.duration", unit="s", summary=Summary(data_points=[point]))
    return ExportMetricsServiceRequest(
        resource_metrics=[
            ResourceMetrics(
                resource=ProtoResource(attributes=[kv("service.name", "featureflagservice")]),
                scope_metrics=[ScopeMetrics(scope=InstrumentationScope(name="prometheus"), metrics=[metric])],
            )
        ]
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("clickhouse") / "store"
    library = ParquetLibrary(output_dir=str(root))
    base = time.time_ns() - 600 * S  # ten minutes ago: inside the README's "last hour"
    spans = _write_spans(library, base)
    metrics = _write_metrics(library, TracerProvider())
    summary = _summary_request(base)
    assert library.library.export_otlp_metrics(summary.SerializeToString()) == 1
    library.shutdown()
    yield Store(root, spans, metrics, summary)


# --- Running queries -------------------------------------------------------------------------


def table(store: Store, name: str) -> str:
    return clickhouse_files.table(store.root, name)


def on_files(store: Store, sql: str) -> str:
    """The query with its table names (and only them) replaced by our files."""
    sql = re.sub(r"\botel_traces_trace_id_ts\b", lambda _: TRACE_ID_TS, sql)
    sql, tables = re.subn(r"\botel_(traces|metrics_\w+)\b", lambda m: table(store, m.group(1)), sql)
    assert tables, "the query names no table"
    return sql


# --- Expected values, from what the SDK handed the exporters -----------------------------------


KINDS = {
    SpanKind.INTERNAL: "Internal",
    SpanKind.SERVER: "Server",
    SpanKind.CLIENT: "Client",
    SpanKind.PRODUCER: "Producer",
    SpanKind.CONSUMER: "Consumer",
}
STATUSES = {StatusCode.UNSET: "Unset", StatusCode.OK: "Ok", StatusCode.ERROR: "Error"}


def expected_span_row(span: ReadableSpan) -> dict[str, Any]:
    """The README's 14 trace columns for one span, toString'd maps and arrays parsed."""
    context = span.get_span_context()
    assert context is not None and span.start_time is not None and span.end_time is not None
    return {
        "Timestamp": span.start_time,
        "TraceId": f"{context.trace_id:032x}",
        "SpanId": f"{context.span_id:016x}",
        "ParentSpanId": f"{span.parent.span_id:016x}" if span.parent else "",
        "SpanName": span.name,
        "SpanKind": KINDS[span.kind],
        "ServiceName": span.resource.attributes["service.name"],
        "Duration": span.end_time - span.start_time,
        "StatusCode": STATUSES[span.status.status_code],
        "StatusMessage": span.status.description or "",
        "toString(SpanAttributes)": attrs(span.attributes),
        "toString(ResourceAttributes)": attrs(span.resource.attributes),
        "toString(Events.Name)": [event.name for event in span.events],
        "toString(Links.TraceId)": [f"{link.context.trace_id:032x}" for link in span.links],
    }


def parsed_span_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "toString(SpanAttributes)": ch_map(row["toString(SpanAttributes)"]),
        "toString(ResourceAttributes)": ch_map(row["toString(ResourceAttributes)"]),
        "toString(Events.Name)": ch_array(row["toString(Events.Name)"]),
        "toString(Links.TraceId)": ch_array(row["toString(Links.TraceId)"]),
    }


def by_name(spans: list[ReadableSpan], *names: str) -> list[ReadableSpan]:
    found = [span for span in spans if span.name in names]
    assert sorted(span.name for span in found) == sorted(names)
    return found


def points(store: Store, name: str) -> list[tuple[int, Any]]:
    """(export number, data point) of every point of the metric `name` the SDK exported."""
    found = []
    for number, data in enumerate(store.metrics):
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        found.extend((number, point) for point in metric.data.data_points)
    assert found, f"the SDK exported no {name}"
    return found


def sorted_rows(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: tuple(json.dumps(row[key], sort_keys=True, default=str) for key in keys))


# --- The README's queries ------------------------------------------------------------------------

# Which spans each trace query must return (their setup is in _write_spans).
TRACE_QUERY_SPANS = {
    "spans with specific attribute": ("GET /checkout", "SELECT orders", "GET /health"),
    "traces with traceID": ("GET /checkout", "SELECT orders", "publish", "render"),
    "spans is error": ("GET /checkout",),
    "slow spans": ("GET /checkout",),
}


@pytest.mark.parametrize("name", list(README_TRACE_QUERIES))
def test_readme_trace_query(store: Store, name: str) -> None:
    rows = query(on_files(store, README_TRACE_QUERIES[name]))
    expected = [expected_span_row(span) for span in by_name(store.spans, *TRACE_QUERY_SPANS[name])]
    got = [parsed_span_row(row) for row in rows]
    assert sorted_rows(got, "SpanId") == sorted_rows(expected, "SpanId")


def test_readme_trace_queries_see_events_and_links(store: Store) -> None:
    """The data behind the README's queries is not vacuous: the checked rows carry events, links,
    several attribute types and the resource."""
    (row,) = (
        parsed_span_row(r)
        for r in query(on_files(store, README_TRACE_QUERIES["slow spans"]))
        if r["SpanName"] == "GET /checkout"
    )
    assert row["toString(Events.Name)"] == ["request.received", "exception"]
    assert row["toString(Links.TraceId)"] == ["11111111111111111111111111111111"]
    assert row["TraceId"] == "391dae938234560b16bb63f51501cb6f"
    assert row["Duration"] == 1500 * MS
    assert row["toString(SpanAttributes)"] == {
        "peer.service": PEER,
        "http.request.method": "GET",
        "http.response.status_code": "504",
        "retry.ratio": "0.25",
        "cache.hit": "false",
    }
    assert row["toString(ResourceAttributes)"]["host.cpus"] == "4"
    assert row["toString(ResourceAttributes)"]["service.name"] == SERVICE


@pytest.mark.parametrize("name", list(README_METRIC_QUERIES))
def test_readme_metric_query(store: Store, name: str) -> None:
    rows = query(on_files(store, README_METRIC_QUERIES[name]))
    everything = name == "sum metrics with name"
    expected = [
        {
            "TimeUnix": point.time_unix_nano,
            "MetricName": "calls",
            "Attributes": attrs(point.attributes),
            "Value": float(point.value),
        }
        for _, point in points(store, "calls")
        if everything or point.attributes.get("service_name") == "featureflagservice"
    ]
    got = [{**row, "Attributes": dict(row["Attributes"])} for row in rows]
    assert sorted_rows(got, "TimeUnix", "Attributes") == sorted_rows(expected, "TimeUnix", "Attributes")
    # Cumulative: 3 then 3 + 4 for the feature flag service, 5 twice for the frontend.
    values = sorted((row["Attributes"]["service_name"], row["Value"]) for row in got)
    frontend = [] if not everything else [("frontend", 5.0), ("frontend", 5.0)]
    assert values == [("featureflagservice", 3.0), ("featureflagservice", 7.0), *frontend]


def test_readme_sum_query_over_the_gauge_table(store: Store) -> None:
    """The README's first metric query with the gauge table (and the gauge's name): Value reads."""
    sql = README_METRIC_QUERIES["sum metrics with name"].replace("otel_metrics_sum", "otel_metrics_gauge")
    rows = query(on_files(store, sql.replace("'calls'", "'cpu.temperature'")))
    got = sorted((row["TimeUnix"], dict(row["Attributes"]), row["Value"]) for row in rows)
    expected = [(p.time_unix_nano, attrs(p.attributes), float(p.value)) for _, p in points(store, "cpu.temperature")]
    assert got == sorted(expected)
    assert [value for _, _, value in got] == [61.5, 58.25]


# --- Nested subcolumns: Events.*, Links.*, Exemplars.*, ValueAtQuantiles.* -------------------------


def test_events_and_links_subcolumns(store: Store) -> None:
    rows = query(
        f"""SELECT SpanId, Events.Timestamp, Events.Name, Events.Attributes,
                   Links.TraceId, Links.SpanId, Links.TraceState, Links.Attributes
            FROM {table(store, "traces")}"""
    )
    got = {
        row["SpanId"]: {
            **row,
            "Events.Attributes": [dict(m) for m in row["Events.Attributes"]],
            "Links.Attributes": [dict(m) for m in row["Links.Attributes"]],
        }
        for row in rows
    }
    expected = {}
    for span in store.spans:
        context = span.get_span_context()
        assert context is not None
        span_id = f"{context.span_id:016x}"
        expected[span_id] = {
            "SpanId": span_id,
            "Events.Timestamp": [event.timestamp for event in span.events],
            "Events.Name": [event.name for event in span.events],
            "Events.Attributes": [attrs(event.attributes) for event in span.events],
            "Links.TraceId": [f"{link.context.trace_id:032x}" for link in span.links],
            "Links.SpanId": [f"{link.context.span_id:016x}" for link in span.links],
            "Links.TraceState": [link.context.trace_state.to_header() for link in span.links],
            "Links.Attributes": [attrs(link.attributes) for link in span.links],
        }
    assert got == expected
    assert sum(len(e["Events.Name"]) for e in expected.values()) == 3
    assert sum(len(e["Links.TraceState"]) for e in expected.values()) == 3


def test_array_join_events(store: Store) -> None:
    """`ARRAY JOIN Events` then `Events.Name` / `Events.Attributes[...]`, as on a Nested column."""
    rows = query(
        f"""SELECT SpanName, Events.Name AS name, Events.Attributes['exception.message'] AS message
            FROM {table(store, "traces")} ARRAY JOIN Events
            WHERE Events.Name = 'exception'"""
    )
    assert rows == [{"SpanName": "GET /checkout", "name": "exception", "message": "deadline exceeded"}]


def test_exemplars_subcolumns(store: Store) -> None:
    rows = query(
        f"""SELECT TimeUnix, Attributes, Exemplars.TraceId, Exemplars.SpanId, Exemplars.Value,
                   Exemplars.TimeUnix, Exemplars.FilteredAttributes
            FROM {table(store, "metrics_sum")} WHERE MetricName = 'calls'"""
    )
    got = sorted(
        (
            row["TimeUnix"],
            json.dumps(dict(row["Attributes"]), sort_keys=True),
            row["Exemplars.TraceId"],
            row["Exemplars.SpanId"],
            row["Exemplars.Value"],
            row["Exemplars.TimeUnix"],
            [dict(m) for m in row["Exemplars.FilteredAttributes"]],
        )
        for row in rows
    )
    expected = sorted(
        (
            point.time_unix_nano,
            json.dumps(attrs(point.attributes), sort_keys=True),
            [f"{e.trace_id:032x}" if e.trace_id else "" for e in point.exemplars],
            [f"{e.span_id:016x}" if e.span_id else "" for e in point.exemplars],
            [float(e.value) for e in point.exemplars],
            [e.time_unix_nano for e in point.exemplars],
            [attrs(e.filtered_attributes) for e in point.exemplars],
        )
        for _, point in points(store, "calls")
    )
    assert got == expected
    assert any(trace_ids and trace_ids[0] for _, _, trace_ids, *_ in got), "the measurement in a span has an exemplar"


# --- Histograms and summaries through the exporter's columns --------------------------------------


def test_histogram_columns(store: Store) -> None:
    rows = query(
        f"""SELECT TimeUnix, Attributes, Count, Sum, BucketCounts, ExplicitBounds, Min, Max,
                   AggregationTemporality
            FROM {table(store, "metrics_histogram")} WHERE MetricName = 'latency'"""
    )
    got = sorted((row["TimeUnix"], [*row.values()][1:]) for row in rows)
    expected = []
    for _, point in points(store, "latency"):
        assert isinstance(point, HistogramDataPoint)
        expected.append(
            (
                point.time_unix_nano,
                [
                    list(attrs(point.attributes).items()),
                    point.count,
                    float(point.sum),
                    list(point.bucket_counts),
                    [float(b) for b in point.explicit_bounds],
                    float(point.min),
                    float(point.max),
                    2,
                ],
            )
        )
    assert got == sorted(expected)
    assert [row[1][1] for row in got] == [4, 5]


def test_exponential_histogram_columns(store: Store) -> None:
    rows = query(
        f"""SELECT TimeUnix, Count, Sum, Scale, ZeroCount, PositiveOffset, PositiveBucketCounts,
                   NegativeOffset, NegativeBucketCounts, Min, Max, AggregationTemporality
            FROM {table(store, "metrics_exponential_histogram")} WHERE MetricName = 'payload.size'"""
    )
    got = sorted(tuple(row.values()) for row in rows)
    expected = []
    for _, point in points(store, "payload.size"):
        assert isinstance(point, ExponentialHistogramDataPoint)
        expected.append(
            (
                point.time_unix_nano,
                point.count,
                float(point.sum),
                point.scale,
                point.zero_count,
                point.positive.offset,
                list(point.positive.bucket_counts),
                point.negative.offset,
                list(point.negative.bucket_counts),
                float(point.min),
                float(point.max),
                2,
            )
        )
    assert got == sorted(expected)
    assert [(row[1], row[4]) for row in got] == [(4, 1), (4, 1)]  # count, zero count


def test_summary_columns(store: Store) -> None:
    rows = query(
        f"""SELECT TimeUnix, StartTimeUnix, MetricName, Attributes, Count, Sum,
                   ValueAtQuantiles.Quantile, ValueAtQuantiles.Value
            FROM {table(store, "metrics_summary")}"""
    )
    point = store.summary.resource_metrics[0].scope_metrics[0].metrics[0].summary.data_points[0]
    assert rows == [
        {
            "TimeUnix": point.time_unix_nano,
            "StartTimeUnix": point.start_time_unix_nano,
            "MetricName": "rpc.duration",
            "Attributes": [("handler", "/api")],
            "Count": 10,
            "Sum": 42.5,
            "ValueAtQuantiles.Quantile": [0.5, 0.99],
            "ValueAtQuantiles.Value": [3.5, 12.25],
        }
    ]


def test_sum_columns(store: Store) -> None:
    rows = query(
        f"""SELECT MetricName, Value, AggregationTemporality, IsMonotonic
            FROM {table(store, "metrics_sum")} WHERE MetricName IN ('queue.depth', 'errors')"""
    )
    assert sorted(tuple(row.values()) for row in rows) == [
        ("errors", 1.0, 2, True),
        ("errors", 1.0, 2, True),
        ("queue.depth", 3.0, 2, False),
        ("queue.depth", 3.0, 2, False),
    ]


# --- ClickHouse semantics of the attribute maps and the column types ------------------------------


MISSING_KEY = "SELECT SpanName FROM {traces} WHERE SpanAttributes['db.system.name'] = '' ORDER BY SpanName"


def _missing_key(store: Store, settings: str = "") -> None:
    """In ClickHouse a missing map key reads '' (Map(String, String)): every span but the one with
    `db.system.name` matches."""
    rows = query(MISSING_KEY.format(traces=table(store, "traces")) + settings)
    expected = sorted(span.name for span in store.spans if "db.system.name" not in (span.attributes or {}))
    assert [row["SpanName"] for row in rows] == expected
    assert len(expected) == 5


def test_missing_attribute_key_reads_empty_string(store: Store) -> None:
    _missing_key(store)


def test_missing_attribute_key_reads_empty_string_with_setting(store: Store) -> None:
    _missing_key(store, f" SETTINGS {NOT_NULLABLE}, schema_inference_use_cache_for_file = 0")


# The exporter's otel_traces columns (traces_table.sql without codecs) as a structure for file():
# ClickHouse then reads the files with exactly these types, Nested included.
TRACES_STRUCTURE = """Timestamp DateTime64(9), TraceId String, SpanId String, ParentSpanId String,
    TraceState String, SpanName LowCardinality(String), SpanKind LowCardinality(String),
    ServiceName LowCardinality(String), ResourceAttributes Map(LowCardinality(String), String),
    ScopeName String, ScopeVersion String, SpanAttributes Map(LowCardinality(String), String),
    Duration UInt64, StatusCode LowCardinality(String), StatusMessage String,
    Events Nested (Timestamp DateTime64(9), Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)),
    Links Nested (TraceId String, SpanId String, TraceState String,
        Attributes Map(LowCardinality(String), String))"""


def test_the_exporters_structure_reads_our_files(store: Store) -> None:
    """`file(path, Parquet, '<the exporter's columns>')` reads our files with the exporter's types
    today: Nested Events/Links from our lists of structs, '' for a missing key. (ClickHouse 25.x
    wants `use_hive_partitioning = 0` with an explicit structure over our `date=/hour=` paths.)"""
    files = f"file('{store.root}/traces/**/*.parquet', Parquet, '{TRACES_STRUCTURE}')"
    rows = query(
        f"""SELECT SpanName, toTypeName(SpanAttributes) AS type, SpanAttributes['db.system.name'] AS db,
                   Events.Name, Events.Attributes, Links.TraceId
            FROM {files} ORDER BY SpanName SETTINGS use_hive_partitioning = 0"""
    )
    got = [{**row, "Events.Attributes": [dict(m) for m in row["Events.Attributes"]]} for row in rows]
    expected = sorted(
        (
            {
                "SpanName": span.name,
                "type": "Map(LowCardinality(String), String)",
                "db": (span.attributes or {}).get("db.system.name", ""),
                "Events.Name": [event.name for event in span.events],
                "Events.Attributes": [attrs(event.attributes) for event in span.events],
                "Links.TraceId": [f"{link.context.trace_id:032x}" for link in span.links],
            }
            for span in store.spans
        ),
        key=lambda row: row["SpanName"],
    )
    assert got == expected


def _types_match(store: Store, name: str, settings: str = "") -> None:
    types_match(store.root, name, EXPORTER_COLUMNS[name], DELIBERATELY_NULLABLE[name], settings)


@pytest.mark.parametrize("name", list(EXPORTER_COLUMNS))
def test_inferred_types_are_the_exporters(store: Store, name: str) -> None:
    _types_match(store, name)


@pytest.mark.parametrize("name", list(EXPORTER_COLUMNS))
def test_inferred_types_are_the_exporters_with_setting(store: Store, name: str) -> None:
    """With `schema_inference_make_columns_nullable = 0` every column has the exporter's type
    today (and unset Sum/Min/Max/Value read 0, as the exporter writes them)."""
    _types_match(store, name, f", {NOT_NULLABLE}")
