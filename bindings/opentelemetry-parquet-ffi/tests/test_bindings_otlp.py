"""export_otlp_traces / export_otlp_metrics take protobuf requests built with ``opentelemetry.proto``:
they round-trip, and a pickle batch stores exactly the rows of the OTLP request it stands for."""

from __future__ import annotations

from pathlib import Path

from bindings_helpers import METRIC_TABLES, T0, batch, dumps, open_library, rows
from bindings_otlp import metrics_request, traces_request
from bindings_samples import metrics, span_batch
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2 as t

from opentelemetry_parquet import OtlpLibrary

RESOURCE = Resource(
    attributes=[
        KeyValue(key="service.name", value=AnyValue(string_value="otlp-service")),
        KeyValue(key="host.cpus", value=AnyValue(int_value=8)),
    ],
    dropped_attributes_count=1,
)
SCOPE = InstrumentationScope(name="otlp.scope", version="3.0")


def test_otlp_traces_round_trip(library: OtlpLibrary, store: Path) -> None:
    span = t.Span(
        trace_id=bytes.fromhex("5b8efff798038103d269b633813fc60c"),
        span_id=bytes.fromhex("eee19b7ec3c1b174"),
        parent_span_id=bytes.fromhex("eee19b7ec3c1b173"),
        trace_state="a=b",
        flags=0x301,
        name="GET /",
        kind=t.Span.SPAN_KIND_SERVER,
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 5_000,
        attributes=[
            KeyValue(key="http.status_code", value=AnyValue(int_value=200)),
            KeyValue(
                key="nested",
                value=AnyValue(
                    kvlist_value=KeyValueList(
                        values=[
                            KeyValue(key="z", value=AnyValue(bool_value=False)),
                            KeyValue(key="a", value=AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1)]))),
                        ]
                    )
                ),
            ),
            KeyValue(key="no.value"),
        ],
        events=[t.Span.Event(time_unix_nano=T0 + 1, name="ev", dropped_attributes_count=2)],
        links=[t.Span.Link(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, flags=0x100)],
        status=t.Status(code=t.Status.STATUS_CODE_ERROR, message="boom"),
        dropped_links_count=9,
    )
    request = ExportTraceServiceRequest(
        resource_spans=[
            t.ResourceSpans(
                resource=RESOURCE,
                schema_url="https://r",
                scope_spans=[t.ScopeSpans(scope=SCOPE, schema_url="https://s", spans=[span])],
            )
        ]
    )
    assert library.export_otlp_traces(request.SerializeToString()) == 1
    library.flush()
    (row,) = rows(store, "traces")
    assert row["TraceId"] == "5b8efff798038103d269b633813fc60c"
    assert (row["SpanId"], row["ParentSpanId"]) == ("eee19b7ec3c1b174", "eee19b7ec3c1b173")
    assert (row["TraceState"], row["Flags"], row["SpanKind"]) == ("a=b", 0x301, "Server")
    assert (row["Timestamp"], row["Duration"]) == (T0, 5_000)
    assert (row["StatusCode"], row["StatusMessage"], row["DroppedLinksCount"]) == ("Error", "boom", 9)
    assert row["SpanAttributes"] == [
        ("http.status_code", "200"),
        ("nested", '{"a":[1],"z":false}'),
        ("no.value", ""),
    ]
    assert row["SpanAttributesTypes"] == [
        ("http.status_code", "int"),
        (
            "nested",
            '{"kvlistValue":{"values":[{"key":"z","value":{"boolValue":false}},'
            '{"key":"a","value":{"arrayValue":{"values":[{"intValue":"1"}]}}}]}}',
        ),
        ("no.value", "unset"),
    ]
    assert [(e["Timestamp"], e["Name"], e["DroppedAttributesCount"]) for e in row["Events"]] == [(T0 + 1, "ev", 2)]
    assert [(li["TraceId"], li["SpanId"], li["Flags"]) for li in row["Links"]] == [("01" * 16, "02" * 8, 0x100)]
    # OTLP resources are stored in their own order (only SDK/pickle resources are sorted).
    assert row["ResourceAttributes"] == [("service.name", "otlp-service"), ("host.cpus", "8")]
    assert (row["ServiceName"], row["ResourceDroppedAttributesCount"], row["ResourceSchemaUrl"]) == (
        "otlp-service",
        1,
        "https://r",
    )
    assert (row["ScopeName"], row["ScopeVersion"], row["ScopeSchemaUrl"]) == ("otlp.scope", "3.0", "https://s")


def test_otlp_metrics_round_trip_including_summaries(library: OtlpLibrary, store: Path) -> None:
    request = ExportMetricsServiceRequest(
        resource_metrics=[
            m.ResourceMetrics(
                resource=RESOURCE,
                scope_metrics=[
                    m.ScopeMetrics(
                        scope=SCOPE,
                        metrics=[
                            m.Metric(
                                name="rpc.duration",
                                unit="s",
                                summary=m.Summary(
                                    data_points=[
                                        m.SummaryDataPoint(
                                            start_time_unix_nano=T0 - 10,
                                            time_unix_nano=T0,
                                            count=3,
                                            sum=1.5,
                                            quantile_values=[
                                                m.SummaryDataPoint.ValueAtQuantile(quantile=0.5, value=0.4),
                                                m.SummaryDataPoint.ValueAtQuantile(quantile=0.99, value=0.9),
                                            ],
                                        )
                                    ]
                                ),
                            ),
                            m.Metric(
                                name="up",
                                gauge=m.Gauge(data_points=[m.NumberDataPoint(time_unix_nano=T0, as_int=1)]),
                                metadata=[KeyValue(key="origin", value=AnyValue(string_value="probe"))],
                            ),
                        ],
                    )
                ],
            )
        ]
    )
    assert library.export_otlp_metrics(request.SerializeToString()) == 2
    library.flush()
    (summary,) = rows(store, "metrics_summary")
    assert (summary["MetricName"], summary["MetricUnit"], summary["Count"], summary["Sum"]) == (
        "rpc.duration",
        "s",
        3,
        1.5,
    )
    assert summary["ValueAtQuantiles"] == [{"Quantile": 0.5, "Value": 0.4}, {"Quantile": 0.99, "Value": 0.9}]
    assert (summary["StartTimeUnix"], summary["TimeUnix"]) == (T0 - 10, T0)
    (gauge,) = rows(store, "metrics_gauge")
    assert (gauge["MetricName"], gauge["Value"], gauge["IntValue"]) == ("up", 1.0, 1)
    assert (gauge["MetricMetadata"], gauge["MetricMetadataTypes"]) == ([("origin", "probe")], [("origin", "string")])


def _all_rows(root: Path, tables: tuple[str, ...]) -> dict[str, list[str]]:
    return {name: sorted(repr(r) for r in rows(root, name)) for name in tables}


def test_a_span_batch_stores_the_rows_of_its_otlp_request(tmp_path: Path) -> None:
    pickled, otlp = open_library(tmp_path / "pickle"), open_library(tmp_path / "otlp")
    assert pickled.export_traces(dumps(span_batch())) == otlp.export_otlp_traces(traces_request(span_batch())) == 6
    pickled.shutdown()
    otlp.shutdown()
    assert _all_rows(tmp_path / "pickle", ("traces",)) == _all_rows(tmp_path / "otlp", ("traces",))


def test_a_metrics_batch_stores_the_rows_of_its_otlp_request(tmp_path: Path) -> None:
    data = batch(metrics(), name="metrics.scope", version=None, schema_url="https://s", attributes={"k": [1, 2]})
    pickled, otlp = open_library(tmp_path / "pickle"), open_library(tmp_path / "otlp")
    assert pickled.export_metrics(dumps(data)) == otlp.export_otlp_metrics(metrics_request(data)) == 9
    pickled.shutdown()
    otlp.shutdown()
    assert _all_rows(tmp_path / "pickle", METRIC_TABLES) == _all_rows(tmp_path / "otlp", METRIC_TABLES)
