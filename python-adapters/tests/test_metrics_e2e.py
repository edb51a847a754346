"""End to end: a real ``MeterProvider`` with a ``PeriodicExportingMetricReader`` over
``ParquetMetricExporter``, every instrument type, cumulative and delta temporality; the files are read
back with pyarrow and DuckDB and compared with what the SDK handed the exporter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ExponentialHistogram,
    Gauge,
    Histogram,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
    Sum,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from parquet_store import METRIC_TABLES, assert_attrs, duck, has_table, hex_id, read_rows

from opentelemetry.exporter.parquet import ParquetMetricExporter

HOUR_MS = 3_600_000


class CapturingExporter(ParquetMetricExporter):
    """The real exporter, remembering every ``MetricsData`` the reader gave it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exported: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        self.exported.append(metrics_data)
        result = super().export(metrics_data, timeout_millis, **kwargs)
        assert result is MetricExportResult.SUCCESS
        return result


def run_workload(store: str, temporality: str) -> tuple[CapturingExporter, dict[str, str]]:
    """Three collections: after phase one, after phase two, and at shutdown (no new measurements).
    Returns the exporter and the ids of the span the first counter measurement was made in."""
    exporter = CapturingExporter(output_dir=store, temporality=temporality)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=HOUR_MS)
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create({"service.name": "metrics-e2e", "region": "eu"}),
        views=[View(instrument_name="exp.hist", aggregation=ExponentialBucketHistogramAggregation())],
    )
    meter = provider.get_meter("e2e.meter", "3.1.4", schema_url="https://example.com/meter-schema")
    counter = meter.create_counter("c.int", unit="1", description="an int counter")
    float_counter = meter.create_counter("c.float")
    updown = meter.create_up_down_counter("ud")
    histogram = meter.create_histogram("h", unit="ms", description="latency")
    exp_histogram = meter.create_histogram("exp.hist")
    gauge = meter.create_gauge("g")
    calls = [0]

    def observe_counter(options: CallbackOptions) -> Iterable[Observation]:
        calls[0] += 1
        yield Observation(10 * calls[0], {"cb": "x"})

    meter.create_observable_counter("oc", [observe_counter])
    meter.create_observable_up_down_counter("oud", [lambda options: [Observation(-3)]])
    meter.create_observable_gauge("og", [lambda options: [Observation(2.5, {"core": 1})]])

    tracer = TracerProvider().get_tracer("exemplars")
    with tracer.start_as_current_span("measure") as span:
        counter.add(5, {"k": "v"})
        ctx = span.get_span_context()
    float_counter.add(1.5)
    updown.add(3)
    updown.add(-1)
    histogram.record(3, {"route": "/a"})
    histogram.record(30, {"route": "/a"})
    for value in (1, 4, 0):
        exp_histogram.record(value)
    gauge.set(7)
    assert provider.force_flush()

    counter.add(7, {"k": "v"})
    float_counter.add(1.0)
    histogram.record(1000, {"route": "/a"})
    exp_histogram.record(8)
    gauge.set(9)
    assert provider.force_flush()

    provider.shutdown()
    return exporter, {"span_id": hex_id(ctx.span_id, 8), "trace_id": hex_id(ctx.trace_id, 16)}


@pytest.fixture(params=["cumulative", "delta"])
def workload(request: pytest.FixtureRequest, store: str) -> tuple[str, str, CapturingExporter, dict[str, str]]:
    exporter, ids = run_workload(store, request.param)
    return store, request.param, exporter, ids


def series(rows: list[dict[str, Any]], name: str, column: str) -> list[Any]:
    """One column of a metric's rows in collection order."""
    return [r[column] for r in sorted(rows, key=lambda r: r["TimeUnix"]) if r["MetricName"] == name]


def test_sums_and_gauges(workload: tuple[str, str, CapturingExporter, dict[str, str]]) -> None:
    store, temporality, _, ids = workload
    sums = read_rows(store, "metrics_sum")
    gauges = read_rows(store, "metrics_gauge")
    delta = temporality == "delta"

    # Counters: per-interval values with delta (nothing at shutdown: no new measurement),
    # running totals with cumulative.
    assert series(sums, "c.int", "IntValue") == ([5, 7] if delta else [5, 12, 12])
    assert series(sums, "c.int", "Value") == ([5.0, 7.0] if delta else [5.0, 12.0, 12.0])
    assert series(sums, "c.float", "Value") == ([1.5, 1.0] if delta else [1.5, 2.5, 2.5])
    assert series(sums, "c.float", "IntValue") == [None] * (2 if delta else 3), "float points have no IntValue"
    assert series(sums, "oc", "IntValue") == ([10, 10, 10] if delta else [10, 20, 30])
    # Up-down counters stay cumulative under the delta preference (as the OTLP exporter's).
    assert series(sums, "ud", "IntValue") == [2, 2, 2]
    assert series(sums, "oud", "IntValue") == [-3, -3, -3]

    monotonic_temporality = 1 if delta else 2
    for name in ("c.int", "c.float", "oc"):
        assert set(series(sums, name, "AggregationTemporality")) == {monotonic_temporality}
        assert set(series(sums, name, "IsMonotonic")) == {True}
    for name in ("ud", "oud"):
        assert set(series(sums, name, "AggregationTemporality")) == {2}
        assert set(series(sums, name, "IsMonotonic")) == {False}

    first = min((r for r in sums if r["MetricName"] == "c.int"), key=lambda r: r["TimeUnix"])
    assert first["Attributes"] == {"k": "v"}
    assert first["AttributesTypes"] == {"k": "string"}
    assert (first["MetricDescription"], first["MetricUnit"]) == ("an int counter", "1")
    (exemplar,) = first["Exemplars"]
    assert (exemplar["SpanId"], exemplar["TraceId"]) == (ids["span_id"], ids["trace_id"])
    assert (exemplar["IntValue"], exemplar["Value"]) == (5, 5.0)

    # The last collection repeats an unchanged synchronous gauge on newer SDKs only (1.30 skips it).
    assert series(gauges, "g", "IntValue") in ([7, 9, 9], [7, 9])
    assert series(gauges, "og", "Value") == [2.5, 2.5, 2.5]
    assert series(gauges, "og", "IntValue") == [None, None, None]
    assert {tuple(r["Attributes"].items()) for r in gauges if r["MetricName"] == "og"} == {(("core", "1"),)}
    assert {tuple(r["AttributesTypes"].items()) for r in gauges if r["MetricName"] == "og"} == {(("core", "int"),)}

    for row in sums + gauges:
        assert row["ServiceName"] == "metrics-e2e"
        assert row["ResourceAttributes"]["region"] == "eu"
        assert (row["ScopeName"], row["ScopeVersion"], row["ScopeSchemaUrl"]) == (
            "e2e.meter",
            "3.1.4",
            "https://example.com/meter-schema",
        )


def test_histograms(workload: tuple[str, str, CapturingExporter, dict[str, str]]) -> None:
    store, temporality, _, _ = workload
    delta = temporality == "delta"
    rows = read_rows(store, "metrics_histogram")
    bounds = [0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0, 10000.0]
    first_buckets = [0, 1, 0, 0, 1] + [0] * 11
    second_buckets = [0] * 10 + [1] + [0] * 5  # 1000 is in (750, 1000]
    if delta:
        expected = [(2, 33.0, 3.0, 30.0, first_buckets), (1, 1000.0, 1000.0, 1000.0, second_buckets)]
    else:
        both = [a + b for a, b in zip(first_buckets, second_buckets, strict=True)]
        expected = [(2, 33.0, 3.0, 30.0, first_buckets)] + [(3, 1033.0, 3.0, 1000.0, both)] * 2
    got = [
        (r["Count"], r["Sum"], r["Min"], r["Max"], r["BucketCounts"])
        for r in sorted(rows, key=lambda r: r["TimeUnix"])
        if r["MetricName"] == "h"
    ]
    assert got == expected
    for row in rows:
        assert row["ExplicitBounds"] == bounds
        assert row["AggregationTemporality"] == (1 if delta else 2)
        assert (row["MetricUnit"], row["MetricDescription"]) == ("ms", "latency")
        assert row["Attributes"] == {"route": "/a"}

    exp_rows = sorted(read_rows(store, "metrics_exponential_histogram"), key=lambda r: r["TimeUnix"])
    expected_exp = (
        [(3, 5.0, 1, 0.0, 4.0), (1, 8.0, 0, 8.0, 8.0)]
        if delta
        else [(3, 5.0, 1, 0.0, 4.0)] + [(4, 13.0, 1, 0.0, 8.0)] * 2
    )
    assert [(r["Count"], r["Sum"], r["ZeroCount"], r["Min"], r["Max"]) for r in exp_rows] == expected_exp
    for row in exp_rows:
        assert sum(row["PositiveBucketCounts"]) == row["Count"] - row["ZeroCount"]
        assert sum(row["NegativeBucketCounts"]) == 0
        assert row["AggregationTemporality"] == (1 if delta else 2)
        assert -10 <= row["Scale"] <= 20
        assert row["ZeroThreshold"] == 0.0


def expected_points(exported: list[MetricsData]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows each table should hold for these exports: the key columns of every data point."""
    expected: dict[str, list[tuple[Any, ...]]] = {t: [] for t in METRIC_TABLES}
    for data in exported:
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    d = metric.data
                    if isinstance(d, (Sum, Gauge)):
                        for p in d.data_points:
                            attributes = tuple(dict(p.attributes or {}).items())
                            head = (metric.name, attributes, p.time_unix_nano, p.start_time_unix_nano or 0)
                            value = (float(p.value), p.value if isinstance(p.value, int) else None)
                            if isinstance(d, Sum):
                                sum_fields = (d.aggregation_temporality.value, d.is_monotonic)
                                expected["metrics_sum"].append((*head, *value, *sum_fields))
                            else:
                                expected["metrics_gauge"].append((*head, *value))
                    elif isinstance(d, Histogram):
                        for h in d.data_points:
                            expected["metrics_histogram"].append(
                                (
                                    metric.name,
                                    tuple(dict(h.attributes or {}).items()),
                                    h.time_unix_nano,
                                    h.start_time_unix_nano,
                                    h.count,
                                    float(h.sum),
                                    list(h.bucket_counts),
                                    [float(b) for b in h.explicit_bounds],
                                    h.min,
                                    h.max,
                                    d.aggregation_temporality.value,
                                )
                            )
                    else:
                        assert isinstance(d, ExponentialHistogram)
                        for e in d.data_points:
                            expected["metrics_exponential_histogram"].append(
                                (
                                    metric.name,
                                    tuple(dict(e.attributes or {}).items()),
                                    e.time_unix_nano,
                                    e.start_time_unix_nano,
                                    e.count,
                                    float(e.sum),
                                    e.scale,
                                    e.zero_count,
                                    e.positive.offset,
                                    list(e.positive.bucket_counts),
                                    e.negative.offset,
                                    list(e.negative.bucket_counts),
                                    e.min,
                                    e.max,
                                    d.aggregation_temporality.value,
                                )
                            )
    return expected


def test_rows_equal_what_the_sdk_exported(workload: tuple[str, str, CapturingExporter, dict[str, str]]) -> None:
    """Every data point the reader handed the exporter is stored exactly once, field for field."""
    store, _, exporter, _ = workload
    expected = expected_points(exporter.exported)
    columns = {
        "metrics_sum": ["StartTimeUnix", "Value", "IntValue", "AggregationTemporality", "IsMonotonic"],
        "metrics_gauge": ["StartTimeUnix", "Value", "IntValue"],
        "metrics_histogram": [
            "StartTimeUnix",
            "Count",
            "Sum",
            "BucketCounts",
            "ExplicitBounds",
            "Min",
            "Max",
            "AggregationTemporality",
        ],
        "metrics_exponential_histogram": [
            "StartTimeUnix",
            "Count",
            "Sum",
            "Scale",
            "ZeroCount",
            "PositiveOffset",
            "PositiveBucketCounts",
            "NegativeOffset",
            "NegativeBucketCounts",
            "Min",
            "Max",
            "AggregationTemporality",
        ],
        "metrics_summary": [],
    }
    for table, cols in columns.items():
        rows = read_rows(store, table)
        got = [
            (
                r["MetricName"],
                tuple(r["Attributes"].items()),
                r["TimeUnix"],
                *(r[c] for c in cols),
            )
            for r in rows
        ]
        want = [(name, tuple((k, str(v)) for k, v in attrs), *rest) for name, attrs, *rest in expected[table]]
        assert sorted(got, key=repr) == sorted(want, key=repr), table
    assert not has_table(store, "metrics_summary")

    # Attribute types survive too.
    for row in read_rows(store, "metrics_sum"):
        if row["MetricName"] == "oc":
            assert_attrs(row["Attributes"], row["AttributesTypes"], {"cb": "x"})


def test_duckdb_reads_the_same_values(workload: tuple[str, str, CapturingExporter, dict[str, str]]) -> None:
    store, temporality, _, _ = workload
    delta = temporality == "delta"
    sums = duck(
        store,
        "metrics_sum",
        "MetricName, list(IntValue ORDER BY TimeUnix), list(Value ORDER BY TimeUnix), "
        "any_value(AggregationTemporality), any_value(IsMonotonic)",
        where="MetricName IN ('c.int', 'c.float', 'ud') GROUP BY MetricName",
    )
    assert sums == [
        ("c.float", [None] * (2 if delta else 3), [1.5, 1.0] if delta else [1.5, 2.5, 2.5], 1 if delta else 2, True),
        (
            "c.int",
            [5, 7] if delta else [5, 12, 12],
            [5.0, 7.0] if delta else [5.0, 12.0, 12.0],
            1 if delta else 2,
            True,
        ),
        ("ud", [2, 2, 2], [2.0, 2.0, 2.0], 2, False),
    ]
    histograms = duck(
        store, "metrics_histogram", "Count, Sum, Min, Max, BucketCounts[5], len(ExplicitBounds)", order="TimeUnix"
    )
    assert histograms[0] == (2, 33.0, 3.0, 30.0, 1, 15)
    assert histograms[1] == ((1, 1000.0, 1000.0, 1000.0, 0, 15) if delta else (3, 1033.0, 3.0, 1000.0, 1, 15))
    exponential = duck(
        store,
        "metrics_exponential_histogram",
        "Count, ZeroCount, list_sum(PositiveBucketCounts), Scale BETWEEN -10 AND 20",
        order="TimeUnix",
    )
    assert exponential[0] == (3, 1, 2, True)
    gauges = duck(store, "metrics_gauge", "MetricName, IntValue, Value", where="MetricName = 'g'", order="TimeUnix")
    # As in test_sums_and_gauges: SDK 1.30 does not repeat the unchanged gauge.
    assert gauges in ([("g", 7, 7.0), ("g", 9, 9.0), ("g", 9, 9.0)], [("g", 7, 7.0), ("g", 9, 9.0)])
    services = duck(store, "metrics_sum", "DISTINCT ServiceName, ScopeName")
    assert services == [("metrics-e2e", "e2e.meter")]
