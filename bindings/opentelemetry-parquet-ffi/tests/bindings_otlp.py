"""The OTLP protobuf request a pickle batch stands for, built with ``opentelemetry.proto`` from the
layout documented in BATCH_FORMAT.md (sorted resource attributes, span flags with the
has-is-remote bit, status message only for errors, a log body of None unset, ...). Storing the
batch and storing this request must give the same rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1 import logs_pb2 as lg
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2 as t

ERROR = 2


def any_value(value: Any) -> AnyValue:
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list | tuple):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=key_values(value)))
    raise TypeError(f"not an attribute value: {value!r}")


def key_values(attributes: Mapping[str, Any] | None, *, sort: bool = False) -> list[KeyValue]:
    items = list((attributes or {}).items())
    if sort:
        items.sort(key=lambda kv: kv[0])
    return [KeyValue(key=k, value=any_value(v)) for k, v in items]


def flags(trace_flags: int, is_remote: bool) -> int:
    return (trace_flags & 0xFF) | 0x100 | (0x200 if is_remote else 0)


def _resource(attributes: Mapping[str, Any], dropped: int) -> Resource:
    return Resource(attributes=key_values(attributes, sort=True), dropped_attributes_count=dropped)


def _scope(name: str, version: str | None, attributes: Mapping[str, Any] | None) -> InstrumentationScope:
    return InstrumentationScope(name=name, version=version or "", attributes=key_values(attributes))


def _span(s: tuple[Any, ...]) -> t.Span:
    (
        trace_id,
        span_id,
        parent,
        parent_is_remote,
        trace_flags,
        trace_state,
        name,
        kind,
        start,
        end,
        attributes,
        dropped_attributes,
        events,
        dropped_events,
        links,
        dropped_links,
        status_code,
        description,
    ) = s
    return t.Span(
        trace_id=trace_id,
        span_id=span_id,
        trace_state=trace_state,
        parent_span_id=parent or b"",
        flags=flags(trace_flags, parent_is_remote),
        name=name,
        kind=kind,
        start_time_unix_nano=start,
        end_time_unix_nano=end,
        attributes=key_values(attributes),
        dropped_attributes_count=dropped_attributes,
        events=[
            t.Span.Event(time_unix_nano=time, name=n, attributes=key_values(a), dropped_attributes_count=d)
            for n, time, a, d in events or []
        ],
        dropped_events_count=dropped_events,
        links=[
            t.Span.Link(
                trace_id=tid,
                span_id=sid,
                trace_state=state,
                attributes=key_values(a),
                dropped_attributes_count=d,
                flags=flags(f, remote),
            )
            for tid, sid, f, remote, state, a, d in links or []
        ],
        dropped_links_count=dropped_links,
        status=t.Status(code=status_code, message=(description or "") if status_code == ERROR else ""),
    )


def traces_request(batch: list[tuple[Any, ...]]) -> bytes:
    request = ExportTraceServiceRequest(
        resource_spans=[
            t.ResourceSpans(
                resource=_resource(attributes, dropped),
                schema_url=schema_url or "",
                scope_spans=[
                    t.ScopeSpans(
                        scope=_scope(name, version, scope_attributes),
                        schema_url=scope_schema_url or "",
                        spans=[_span(s) for s in spans],
                    )
                    for name, version, scope_schema_url, scope_attributes, spans in scopes
                ],
            )
            for attributes, schema_url, dropped, scopes in batch
        ]
    )
    data: bytes = request.SerializeToString()
    return data


def _exemplars(exemplars: list[tuple[Any, ...]] | None) -> list[m.Exemplar]:
    out = []
    for attributes, time, value, span_id, trace_id in exemplars or []:
        e = m.Exemplar(
            filtered_attributes=key_values(attributes),
            time_unix_nano=time,
            span_id=span_id or b"",
            trace_id=trace_id or b"",
        )
        if isinstance(value, int):
            e.as_int = value
        else:
            e.as_double = value
        out.append(e)
    return out


def _number_point(p: tuple[Any, ...]) -> m.NumberDataPoint:
    attributes, start, time, value, exemplars, point_flags = p
    point = m.NumberDataPoint(
        attributes=key_values(attributes),
        start_time_unix_nano=start,
        time_unix_nano=time,
        exemplars=_exemplars(exemplars),
        flags=point_flags,
    )
    if isinstance(value, int):
        point.as_int = value
    else:
        point.as_double = value
    return point


def _histogram_point(p: tuple[Any, ...]) -> m.HistogramDataPoint:
    attributes, start, time, count, total, bucket_counts, bounds, low, high, exemplars, point_flags = p
    point = m.HistogramDataPoint(
        attributes=key_values(attributes),
        start_time_unix_nano=start,
        time_unix_nano=time,
        count=count,
        bucket_counts=bucket_counts,
        explicit_bounds=bounds,
        exemplars=_exemplars(exemplars),
        flags=point_flags,
    )
    for field, value in (("sum", total), ("min", low), ("max", high)):
        if value is not None:
            setattr(point, field, value)
    return point


def _exp_histogram_point(p: tuple[Any, ...]) -> m.ExponentialHistogramDataPoint:
    (
        attributes,
        start,
        time,
        count,
        total,
        scale,
        zero_count,
        zero_threshold,
        positive,
        negative,
        low,
        high,
        exemplars,
        point_flags,
    ) = p
    point = m.ExponentialHistogramDataPoint(
        attributes=key_values(attributes),
        start_time_unix_nano=start,
        time_unix_nano=time,
        count=count,
        scale=scale,
        zero_count=zero_count,
        zero_threshold=zero_threshold,
        exemplars=_exemplars(exemplars),
        flags=point_flags,
    )
    for field, value in (("sum", total), ("min", low), ("max", high)):
        if value is not None:
            setattr(point, field, value)
    for field, buckets in (("positive", positive), ("negative", negative)):
        if buckets is not None:
            offset, counts = buckets
            getattr(point, field).CopyFrom(m.ExponentialHistogramDataPoint.Buckets(offset=offset, bucket_counts=counts))
    return point


def _metric(metric: tuple[Any, ...]) -> m.Metric:
    name, description, unit, kind, temporality, is_monotonic, points = metric
    out = m.Metric(name=name, description=description, unit=unit)
    if kind == "gauge":
        out.gauge.CopyFrom(m.Gauge(data_points=[_number_point(p) for p in points]))
    elif kind == "sum":
        out.sum.CopyFrom(
            m.Sum(
                data_points=[_number_point(p) for p in points],
                aggregation_temporality=temporality,
                is_monotonic=is_monotonic,
            )
        )
    elif kind == "histogram":
        out.histogram.CopyFrom(
            m.Histogram(data_points=[_histogram_point(p) for p in points], aggregation_temporality=temporality)
        )
    elif kind == "exponential_histogram":
        out.exponential_histogram.CopyFrom(
            m.ExponentialHistogram(
                data_points=[_exp_histogram_point(p) for p in points], aggregation_temporality=temporality
            )
        )
    else:
        raise ValueError(f"unknown metric kind {kind!r}")
    return out


def metrics_request(batch: list[tuple[Any, ...]]) -> bytes:
    request = ExportMetricsServiceRequest(
        resource_metrics=[
            m.ResourceMetrics(
                resource=_resource(attributes, dropped),
                schema_url=schema_url or "",
                scope_metrics=[
                    m.ScopeMetrics(
                        scope=_scope(name, version, scope_attributes),
                        schema_url=scope_schema_url or "",
                        metrics=[_metric(x) for x in metrics],
                    )
                    for name, version, scope_schema_url, scope_attributes, metrics in scopes
                ],
            )
            for attributes, schema_url, dropped, scopes in batch
        ]
    )
    data: bytes = request.SerializeToString()
    return data


def _log_record(r: tuple[Any, ...]) -> lg.LogRecord:
    time, observed, trace_id, span_id, log_flags, severity_text, severity_number, body, attributes, dropped, event = r
    record = lg.LogRecord(
        time_unix_nano=time,
        observed_time_unix_nano=observed,
        trace_id=trace_id or b"",
        span_id=span_id or b"",
        flags=log_flags,
        severity_text=severity_text or "",
        severity_number=severity_number,
        attributes=key_values(attributes),
        dropped_attributes_count=dropped,
        event_name=event or "",
    )
    if body is not None:
        record.body.CopyFrom(any_value(body))
    return record


def logs_request(batch: list[tuple[Any, ...]]) -> bytes:
    request = ExportLogsServiceRequest(
        resource_logs=[
            lg.ResourceLogs(
                resource=_resource(attributes, dropped),
                schema_url=schema_url or "",
                scope_logs=[
                    lg.ScopeLogs(
                        scope=_scope(name, version, scope_attributes),
                        schema_url=scope_schema_url or "",
                        log_records=[_log_record(r) for r in records],
                    )
                    for name, version, scope_schema_url, scope_attributes, records in scopes
                ],
            )
            for attributes, schema_url, dropped, scopes in batch
        ]
    )
    data: bytes = request.SerializeToString()
    return data
