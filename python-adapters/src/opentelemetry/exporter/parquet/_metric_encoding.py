"""The SDK's ``MetricsData`` to the batch format of BATCH_FORMAT.md ("Metrics"), on top of the
groups and values ``_encoding`` defines for every signal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import (
    ExponentialHistogram,
    Gauge,
    Histogram,
    MetricsData,
    Sum,
)

from ._encoding import BATCH_FORMAT_VERSION, attrs, dropped, dumps, resource_attributes, scope_group


def _id(value: int | None, size: int) -> bytes | None:
    return None if value is None else value.to_bytes(size, "big")


def _exemplars(exemplars: Sequence[Any] | None) -> list[tuple[Any, ...]] | None:
    if not exemplars:
        return None
    # The span's IDs only when it has both, as the SDK's OTLP encoder does (an exemplar without a
    # span stores '' for both, BATCH_FORMAT.md).
    return [
        (
            dict(e.filtered_attributes or {}),
            e.time_unix_nano,
            e.value,
            *(
                (_id(e.span_id, 8), _id(e.trace_id, 16))
                if e.span_id is not None and e.trace_id is not None
                else (None, None)
            ),
        )
        for e in exemplars
    ]


def _buckets(buckets: Any) -> tuple[int, list[int]] | None:
    return None if buckets is None else (buckets.offset, list(buckets.bucket_counts))


def _metric(metric: Any) -> tuple[Any, ...]:
    data = metric.data
    points: list[tuple[Any, ...]]
    if isinstance(data, (Gauge, Sum)):
        points = [
            (
                dict(p.attributes or {}),
                p.start_time_unix_nano or 0,
                p.time_unix_nano,
                p.value,
                _exemplars(p.exemplars),
                0,
            )
            for p in data.data_points
        ]
        if isinstance(data, Sum):
            return (
                metric.name,
                metric.description or "",
                metric.unit or "",
                "sum",
                data.aggregation_temporality.value,
                data.is_monotonic,
                points,
            )
        return (metric.name, metric.description or "", metric.unit or "", "gauge", 0, False, points)
    if isinstance(data, Histogram):
        points = [
            (
                dict(p.attributes or {}),
                p.start_time_unix_nano,
                p.time_unix_nano,
                p.count,
                float(p.sum),
                list(p.bucket_counts),
                [float(b) for b in p.explicit_bounds],
                None if p.min is None else float(p.min),
                None if p.max is None else float(p.max),
                _exemplars(p.exemplars),
                0,
            )
            for p in data.data_points
        ]
        kind = "histogram"
    elif isinstance(data, ExponentialHistogram):
        points = [
            (
                dict(p.attributes or {}),
                p.start_time_unix_nano,
                p.time_unix_nano,
                p.count,
                float(p.sum),
                p.scale,
                p.zero_count,
                0.0,
                _buckets(p.positive),
                _buckets(p.negative),
                None if p.min is None else float(p.min),
                None if p.max is None else float(p.max),
                _exemplars(p.exemplars),
                p.flags,
            )
            for p in data.data_points
        ]
        kind = "exponential_histogram"
    else:
        raise TypeError(f"unsupported metric data {type(data).__name__} in metric {metric.name!r}")
    return (
        metric.name,
        metric.description or "",
        metric.unit or "",
        kind,
        data.aggregation_temporality.value,
        False,
        points,
    )


def encode_metrics(metrics_data: MetricsData) -> bytes:
    """Encodes the SDK's ``MetricsData`` as one batch."""
    batch = [
        (
            attrs(resource_attributes(rm.resource)) or {},
            rm.schema_url or rm.resource.schema_url or None,
            dropped(resource_attributes(rm.resource)),
            [
                (
                    *scope_group(sm.scope, [])[:4],
                    [_metric(m) for m in sm.metrics],
                )
                for sm in rm.scope_metrics
            ],
        )
        for rm in metrics_data.resource_metrics
    ]
    return dumps((BATCH_FORMAT_VERSION, batch))
