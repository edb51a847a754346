"""A hand-built metrics batch (every metric kind, int and float values, unset optional fields,
exemplars) goes in through export_metrics and comes back out of the Parquet files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bindings_helpers import T0, batch, duck, dumps, rows
from bindings_samples import CUMULATIVE, DELTA, START, metrics

from opentelemetry_parquet import OtlpLibrary


@pytest.fixture
def stored(library: OtlpLibrary, store: Path) -> Path:
    assert library.export_metrics(dumps(batch(metrics(), name="metrics.scope", version="0.9"))) == 9
    library.flush()
    return store


def _by_attr(store: Path, table: str, key: str) -> dict[str, dict[str, Any]]:
    return {dict(r["Attributes"]).get(key, r["MetricName"]): r for r in rows(store, table)}


def test_gauge_int_and_float_values(stored: Path) -> None:
    by_queue = _by_attr(stored, "metrics_gauge", "queue")
    assert sorted(by_queue) == ["a", "b"]
    a, b = by_queue["a"], by_queue["b"]
    assert (a["MetricName"], a["MetricDescription"], a["MetricUnit"]) == ("queue.depth", "items waiting", "{item}")
    assert (a["Value"], a["IntValue"]) == (7.0, 7)
    assert (b["Value"], b["IntValue"]) == (-1.25, None)
    assert (a["StartTimeUnix"], a["TimeUnix"], a["Flags"], b["Flags"]) == (0, T0, 0, 1)
    assert a["Attributes"] == [("queue", "a")] and a["AttributesTypes"] == [("queue", "string")]
    assert a["Exemplars"] == [
        {
            "FilteredAttributes": [("user", "u1")],
            "FilteredAttributesTypes": [("user", "string")],
            "TimeUnix": T0 - 5,
            "Value": 3.0,
            "IntValue": 3,
            "SpanId": "b7ad6b7169203331",
            "TraceId": "0af7651916cd43dd8448eb211c80319c",
        }
    ]
    assert b["Exemplars"] == []
    assert (a["ServiceName"], a["ScopeName"], a["ScopeVersion"]) == ("bindings-test", "metrics.scope", "0.9")
    assert (a["date"], a["hour"]) == ("2023-11-14", 22)


def test_sums_delta_cumulative_monotonic(stored: Path) -> None:
    by_name = {r["MetricName"]: r for r in rows(stored, "metrics_sum")}
    assert sorted(by_name) == ["balance", "bytes.total", "requests"]
    requests, total, balance = by_name["requests"], by_name["bytes.total"], by_name["balance"]
    assert (requests["Value"], requests["IntValue"]) == (10.0, 10)
    assert (requests["AggregationTemporality"], requests["IsMonotonic"]) == (DELTA, True)
    assert (requests["StartTimeUnix"], requests["TimeUnix"]) == (START, T0)
    assert requests["Exemplars"] == [
        {
            "FilteredAttributes": [],
            "FilteredAttributesTypes": [],
            "TimeUnix": T0 - 7,
            "Value": 2.5,
            "IntValue": None,
            "SpanId": "",
            "TraceId": "",
        }
    ]
    assert (total["Value"], total["IntValue"], total["MetricUnit"]) == (1_048_576.5, None, "By")
    assert (total["AggregationTemporality"], total["IsMonotonic"]) == (CUMULATIVE, True)
    assert (balance["Value"], balance["IntValue"]) == (-3.0, -3)
    assert (balance["AggregationTemporality"], balance["IsMonotonic"]) == (CUMULATIVE, False)


def test_histograms_with_and_without_min_max(stored: Path) -> None:
    by_route = _by_attr(stored, "metrics_histogram", "route")
    full, empty = by_route["/a"], by_route["/b"]
    assert (full["MetricName"], full["MetricUnit"], full["AggregationTemporality"]) == ("latency", "ms", CUMULATIVE)
    assert (full["Count"], full["Sum"], full["Min"], full["Max"]) == (4, 13.5, 0.5, 9.0)
    assert (full["BucketCounts"], full["ExplicitBounds"]) == ([1, 2, 1], [1.0, 5.0])
    assert [(e["Value"], e["IntValue"], e["SpanId"]) for e in full["Exemplars"]] == [(9.0, 9, "b7ad6b7169203331")]
    # Unset sum/min/max stay null (ClickHouse would write 0).
    assert (empty["Count"], empty["Sum"], empty["Min"], empty["Max"]) == (0, None, None, None)
    assert (empty["BucketCounts"], empty["ExplicitBounds"], empty["Exemplars"]) == ([], [], [])


def test_exponential_histograms(stored: Path) -> None:
    by_kind = _by_attr(stored, "metrics_exponential_histogram", "kind")
    full, empty = by_kind["full"], by_kind["empty"]
    assert (full["MetricName"], full["AggregationTemporality"]) == ("size", DELTA)
    assert (full["Count"], full["Sum"], full["Scale"], full["ZeroCount"], full["ZeroThreshold"]) == (
        6,
        -2.25,
        3,
        1,
        0.001,
    )
    assert (full["PositiveOffset"], full["PositiveBucketCounts"]) == (-2, [1, 0, 2])
    assert (full["NegativeOffset"], full["NegativeBucketCounts"]) == (5, [2])
    assert (full["Min"], full["Max"]) == (-4.0, 8.5)
    assert [(e["Value"], e["IntValue"], e["TimeUnix"]) for e in full["Exemplars"]] == [(1.75, None, T0 - 2)]
    # Absent bucket sets have null offsets; unset sum/min/max are null.
    assert (empty["Count"], empty["Sum"], empty["Scale"], empty["ZeroThreshold"]) == (0, None, -1, 0.0)
    assert (empty["PositiveOffset"], empty["PositiveBucketCounts"]) == (None, [])
    assert (empty["NegativeOffset"], empty["NegativeBucketCounts"]) == (None, [])
    assert (empty["Min"], empty["Max"]) == (None, None)


def test_duckdb_reads_the_same_values(stored: Path) -> None:
    assert duck(stored, "metrics_sum", "MetricName, Value, IntValue, AggregationTemporality, IsMonotonic") == [
        ("balance", -3.0, -3, CUMULATIVE, False),
        ("bytes.total", 1_048_576.5, None, CUMULATIVE, True),
        ("requests", 10.0, 10, DELTA, True),
    ]
    assert duck(
        stored,
        "metrics_histogram",
        "Attributes['route'], Count, Sum, BucketCounts, ExplicitBounds, Min, Max, epoch_ns(TimeUnix)",
        order="2",
    ) == [("/b", 0, None, [], [], None, None, T0), ("/a", 4, 13.5, [1, 2, 1], [1.0, 5.0], 0.5, 9.0, T0)]
    assert duck(
        stored,
        "metrics_exponential_histogram",
        "Scale, PositiveOffset, PositiveBucketCounts, NegativeOffset, NegativeBucketCounts, ZeroThreshold",
        order="1 DESC",
    ) == [(3, -2, [1, 0, 2], 5, [2], 0.001), (-1, None, [], None, [], 0.0)]
    assert duck(stored, "metrics_gauge", "Exemplars[1].TraceId, Exemplars[1].IntValue", where="len(Exemplars) > 0") == [
        ("0af7651916cd43dd8448eb211c80319c", 3)
    ]
