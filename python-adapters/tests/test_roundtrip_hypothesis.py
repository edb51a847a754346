"""Property tests: arbitrary SDK span batches are stored losslessly (read back with pyarrow and
compared with the SDK objects field by field, attribute types included), and each of the two
metrics entry points of the bindings (``export_metrics_ref`` / ``export_metrics``, which share
their decoding) stores the tables an independent path stores: the SDK's own OTLP encoder
(opentelemetry-exporter-otlp-proto-common) into ``export_otlp_metrics``."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics as otlp_encode_metrics
from opentelemetry.sdk.metrics import Exemplar as SdkExemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Buckets,
    ExponentialHistogram,
    ExponentialHistogramDataPoint,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode
from parquet_store import METRIC_TABLES, assert_span_row, has_table, hex_id, read_rows, read_table

from opentelemetry.exporter.parquet import ParquetLibrary, ParquetSpanExporter
from opentelemetry.exporter.parquet._metric_encoding import encode_metrics

MAX_I64 = 2**63 - 1
# OTLP times are u64, but the bindings' pickle decoding rejects ints above i64::MAX (a Decode error).
times = st.integers(0, MAX_I64)
ints64 = st.integers(-(2**63), MAX_I64)
floats = st.floats(allow_nan=True, allow_infinity=True)
texts = st.text(max_size=20)
keys = st.text(min_size=1, max_size=12)

scalars = st.one_of(texts, st.booleans(), ints64, floats)
arrays = st.one_of(
    st.lists(texts, max_size=4),
    st.lists(st.booleans(), max_size=4),
    st.lists(ints64, max_size=4),
    st.lists(floats, max_size=4),
)
values = st.one_of(scalars, arrays)
small_dicts = st.dictionaries(keys, values, max_size=6)
large_dicts = st.dictionaries(keys, values, min_size=100, max_size=200)
# Plain dicts may hold what BoundedAttributes would clean away: bytes and empty keys.
plain_dicts = st.dictionaries(st.text(max_size=6), st.one_of(values, st.binary(max_size=8)), max_size=6)


@st.composite
def attribute_sets(draw: st.DrawFn, allow_large: bool = True) -> Any:
    """None, a plain dict, or the SDK's BoundedAttributes (maybe bounded, so with dropped entries)."""
    choices = [small_dicts, plain_dicts] + ([large_dicts] if allow_large else [])
    content = draw(st.one_of(*choices))
    form = draw(st.sampled_from(["none", "dict", "bounded", "bounded-limit"]))
    if form == "none":
        return None
    if form == "dict":
        return content
    clean = {k: v for k, v in content.items() if k and not isinstance(v, bytes)}
    maxlen = draw(st.integers(0, 5)) if form == "bounded-limit" else None
    return BoundedAttributes(maxlen=maxlen, attributes=clean, immutable=False)


trace_states = st.lists(
    st.sampled_from([("vendor", "v1"), ("k", "v"), ("a1", "b-2"), ("congo", "t61rcWkgMzE")]),
    unique_by=lambda kv: kv[0],
    max_size=3,
).map(TraceState)


@st.composite
def span_contexts(draw: st.DrawFn, span_id: int | None = None) -> SpanContext:
    return SpanContext(
        trace_id=draw(st.integers(0, 2**128 - 1)),
        span_id=draw(st.integers(0, 2**64 - 1)) if span_id is None else span_id,
        is_remote=draw(st.booleans()),
        trace_flags=TraceFlags(draw(st.integers(0, 255))),
        trace_state=draw(trace_states),
    )


@st.composite
def statuses(draw: st.DrawFn) -> Status:
    code = draw(st.sampled_from(StatusCode))
    description = draw(st.one_of(st.none(), texts))
    status = Status(code, description if code is StatusCode.ERROR else None)
    if code is not StatusCode.ERROR and description:
        status._description = description  # what a non-ERROR status carries is not stored
    return status


def bounded(items: list[Any], maxlen: int | None) -> Any:
    return items if maxlen is None else BoundedList.from_seq(maxlen, items)


resources = st.builds(
    Resource,
    attributes=st.one_of(
        small_dicts,
        st.builds(lambda d, name: {**d, "service.name": name}, small_dicts, texts),
    ),
    schema_url=st.one_of(st.none(), st.just(""), texts),
)
scopes = st.one_of(
    st.none(),
    st.builds(
        InstrumentationScope,
        name=texts,
        version=st.one_of(st.none(), texts),
        schema_url=st.one_of(st.none(), texts),
        attributes=st.one_of(st.none(), small_dicts),
    ),
)


@st.composite
def span_batches(draw: st.DrawFn) -> list[ReadableSpan]:
    pool_resources = draw(st.lists(resources, min_size=1, max_size=3))
    pool_scopes = draw(st.lists(scopes, min_size=1, max_size=3))
    span_ids = draw(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=8, unique=True))
    spans = []
    for span_id in span_ids:
        events = [
            Event(name=draw(texts), attributes=draw(attribute_sets(allow_large=False)), timestamp=draw(times))
            for _ in range(draw(st.integers(0, 3)))
        ]
        links = [
            Link(draw(span_contexts()), draw(attribute_sets(allow_large=False))) for _ in range(draw(st.integers(0, 3)))
        ]
        spans.append(
            ReadableSpan(
                name=draw(st.text(max_size=40)),
                context=draw(span_contexts(span_id=span_id)),
                parent=draw(st.one_of(st.none(), span_contexts())),
                resource=draw(st.sampled_from(pool_resources)),
                attributes=draw(attribute_sets()),
                events=bounded(events, draw(st.one_of(st.none(), st.integers(0, 3)))),
                links=bounded(links, draw(st.one_of(st.none(), st.integers(0, 3)))),
                kind=draw(st.sampled_from(SpanKind)),
                status=draw(statuses()),
                start_time=draw(times),
                end_time=draw(times),
                instrumentation_scope=draw(st.sampled_from(pool_scopes)),
            )
        )
    return spans


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(span_batches())
def test_span_batches_round_trip(spans: list[ReadableSpan]) -> None:
    with tempfile.TemporaryDirectory() as store:
        library = ParquetLibrary(output_dir=store)
        try:
            exporter = ParquetSpanExporter(library=library)
            assert exporter.export(spans).name == "SUCCESS"
            library.flush()
            rows = read_rows(store, "traces")
        finally:
            library.shutdown()
    assert len(rows) == len(spans)
    by_id = {r["SpanId"]: r for r in rows}
    for span in spans:
        assert span.context is not None
        assert_span_row(by_id[hex_id(span.context.span_id, 8)], span)


# ---------------------------------------------------------------------------------------------
# Metrics: export_metrics_ref and export_metrics store the same tables.

point_times = st.integers(0, MAX_I64)
numbers = st.one_of(ints64, floats)
counts = st.integers(0, MAX_I64)
metric_attributes = st.one_of(st.none(), small_dicts)


@st.composite
def exemplars(draw: st.DrawFn) -> list[SdkExemplar]:
    return draw(
        st.lists(
            st.builds(
                SdkExemplar,
                filtered_attributes=metric_attributes,
                value=numbers,
                time_unix_nano=point_times,
                span_id=st.one_of(st.none(), st.integers(0, 2**64 - 1)),
                trace_id=st.one_of(st.none(), st.integers(0, 2**128 - 1)),
            ),
            max_size=2,
        )
    )


number_points = st.builds(
    NumberDataPoint,
    attributes=metric_attributes,
    start_time_unix_nano=st.one_of(st.none(), point_times),
    time_unix_nano=point_times,
    value=numbers,
    exemplars=exemplars(),
)
histogram_points = st.builds(
    HistogramDataPoint,
    attributes=metric_attributes,
    start_time_unix_nano=point_times,
    time_unix_nano=point_times,
    count=counts,
    sum=numbers,
    bucket_counts=st.lists(counts, max_size=6),
    explicit_bounds=st.lists(floats, max_size=5),
    min=st.one_of(st.none(), floats),
    max=st.one_of(st.none(), floats),
    exemplars=exemplars(),
)
bucket_sets = st.builds(Buckets, offset=st.integers(-(2**31), 2**31 - 1), bucket_counts=st.lists(counts, max_size=6))
exponential_points = st.builds(
    ExponentialHistogramDataPoint,
    attributes=metric_attributes,
    start_time_unix_nano=point_times,
    time_unix_nano=point_times,
    count=counts,
    sum=numbers,
    scale=st.integers(-10, 20),
    zero_count=counts,
    positive=bucket_sets,
    negative=bucket_sets,
    flags=st.integers(0, 2**32 - 1),
    min=st.one_of(st.none(), floats),
    max=st.one_of(st.none(), floats),
    exemplars=exemplars(),
)
temporalities = st.sampled_from([AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE])
metric_data = st.one_of(
    st.builds(Gauge, data_points=st.lists(number_points, max_size=3)),
    st.builds(
        Sum,
        data_points=st.lists(number_points, max_size=3),
        aggregation_temporality=temporalities,
        is_monotonic=st.booleans(),
    ),
    st.builds(Histogram, data_points=st.lists(histogram_points, max_size=3), aggregation_temporality=temporalities),
    st.builds(
        ExponentialHistogram,
        data_points=st.lists(exponential_points, max_size=3),
        aggregation_temporality=temporalities,
    ),
)
metrics = st.builds(
    Metric,
    name=texts,
    description=st.one_of(st.none(), texts),
    unit=st.one_of(st.none(), texts),
    data=metric_data,
)
scope_metrics = st.builds(
    ScopeMetrics,
    scope=st.builds(
        InstrumentationScope,
        name=texts,
        version=st.one_of(st.none(), texts),
        schema_url=st.one_of(st.none(), texts),
        attributes=st.one_of(st.none(), small_dicts),
    ),
    metrics=st.lists(metrics, max_size=3),
    schema_url=st.just(""),
)
metrics_data = st.builds(
    MetricsData,
    resource_metrics=st.lists(
        st.builds(
            ResourceMetrics,
            resource=resources,
            scope_metrics=st.lists(scope_metrics, max_size=3),
            schema_url=st.one_of(st.just(""), texts),
        ),
        max_size=3,
    ),
)


def comparable(value: Any) -> Any:
    """NaN-aware, type-keeping form of a row value."""
    if isinstance(value, float):
        return ("NaN",) if math.isnan(value) else (value, math.copysign(1.0, value))
    if isinstance(value, dict):
        return [(k, comparable(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def store_with(export: Callable[[ParquetLibrary, bytes], int], batch: bytes) -> tuple[int, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as store:
        library = ParquetLibrary(output_dir=store)
        try:
            stored = export(library, batch)
            library.flush()
            tables = {}
            for table in METRIC_TABLES:
                if has_table(store, table):
                    arrow = read_table(store, table)
                    rows = sorted((comparable(r) for r in read_rows(store, table)), key=repr)
                    tables[table] = (arrow.schema, rows)
        finally:
            library.shutdown()
    return stored, tables


def data_points(data: MetricsData) -> int:
    return sum(len(m.data.data_points) for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(metrics_data)
def test_each_metrics_entry_point_stores_what_the_otlp_encoder_stores(data: MetricsData) -> None:
    # The OTLP encoder keys resource metrics by resource and scope metrics by scope (one of each per
    # resource and scope, as the SDK produces them): equal ones would overwrite each other there.
    assume(len({rm.resource for rm in data.resource_metrics}) == len(data.resource_metrics))
    assume(all(len({sm.scope for sm in rm.scope_metrics}) == len(rm.scope_metrics) for rm in data.resource_metrics))
    # The SDK sets a ResourceMetrics' schema URL to its resource's and a ScopeMetrics' to its
    # scope's; encoders read one or the other (1.30 the ScopeMetrics', 1.45 the scope's).
    data = MetricsData(
        resource_metrics=[
            ResourceMetrics(
                resource=rm.resource,
                scope_metrics=[
                    ScopeMetrics(scope=sm.scope, metrics=sm.metrics, schema_url=sm.scope.schema_url or "")
                    for sm in rm.scope_metrics
                ],
                schema_url=rm.resource.schema_url,
            )
            for rm in data.resource_metrics
        ]
    )
    batch = encode_metrics(data)
    stored_otlp, otlp = store_with(
        lambda lib, _: lib.library.export_otlp_metrics(otlp_encode_metrics(data).SerializeToString()), b""
    )
    assert stored_otlp == data_points(data)
    assert sum(len(rows) for _, rows in otlp.values()) == data_points(data)
    for name, export in (
        ("export_metrics_ref", lambda lib, b: lib.library.export_metrics_ref(b)),
        ("export_metrics", lambda lib, b: lib.library.export_metrics(b)),
    ):
        stored, tables = store_with(export, batch)
        assert stored == stored_otlp, name
        assert tables.keys() == otlp.keys(), name
        for table, (schema, rows) in tables.items():
            assert schema.equals(otlp[table][0]), (name, table)
            ours, theirs = _resources_sorted(rows, table), _resources_sorted(otlp[table][1], table)
            assert ours == theirs, (name, table, _differences(ours, theirs))


def _encoder_writes_scope_details() -> bool:
    """Whether this opentelemetry-exporter-otlp-proto-common writes a scope's attributes and schema
    URL (1.30 writes neither)."""
    scope = ScopeMetrics(
        scope=InstrumentationScope("s", None, "https://s", {"a": 1}), metrics=[], schema_url="https://s"
    )
    request = otlp_encode_metrics(MetricsData([ResourceMetrics(Resource({}), [scope], "")]))
    encoded = request.resource_metrics[0].scope_metrics[0]
    return bool(encoded.schema_url and encoded.scope.attributes)


_ENCODER_WRITES_SCOPE_DETAILS = _encoder_writes_scope_details()


def _differences(ours: list[Any], theirs: list[Any]) -> list[Any]:
    """The (column, ours, theirs) that differ, row by row."""
    return [
        [(c, v, w) for (c, v), (_, w) in zip(a, b, strict=True) if v != w]
        for a, b in zip(ours, theirs, strict=False)
        if a != b
    ]


def _resources_sorted(rows: list[Any], table: str) -> list[Any]:
    """Rows up to what the OTLP encoder leaves out: resource attributes in key order (the SDK path
    stores an SDK resource sorted, as the Rust SDK does; the encoder keeps the resource's own
    order); the offset of exponential-histogram buckets without counts, which the encoder drops
    with the buckets (the SDK path and the Rust SDK keep it); a gauge point's start time, which
    the encoder drops (the SDK path keeps it); and, for encoders that leave them out (1.30), the
    scope's schema URL and attributes."""
    normalized = []
    for row in rows:
        cells = dict(row)
        for column in ("ResourceAttributes", "ResourceAttributesTypes"):
            cells[column] = sorted(cells[column])
        for side in ("Positive", "Negative"):
            if f"{side}Offset" in cells and not cells[f"{side}BucketCounts"]:
                cells[f"{side}Offset"] = None
        if table == "metrics_gauge":
            cells["StartTimeUnix"] = None
        if not _ENCODER_WRITES_SCOPE_DETAILS:
            for column in ("ScopeSchemaUrl", "ScopeAttributes", "ScopeAttributesTypes"):
                cells[column] = None
        normalized.append([(c, cells[c]) for c, _ in row])
    return sorted(normalized, key=repr)
