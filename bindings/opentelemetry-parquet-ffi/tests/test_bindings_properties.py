"""Properties over generated batches (hypothesis strategies building the pickle layout):

- the zero-copy ``export_metrics_ref`` and the copying ``export_metrics`` store identical rows
  (or reject the batch with the same error);
- a span, log or metrics batch stores exactly the rows of the OTLP protobuf request it stands for.
"""

from __future__ import annotations

import tempfile
from typing import Any

from bindings_helpers import METRIC_TABLES, T0, dumps_unshared, open_library, rows
from bindings_otlp import logs_request, metrics_request, traces_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentelemetry_parquet import OtlpError, OtlpLibrary

I64 = st.integers(-(2**63), 2**63 - 1)
I32 = st.integers(-(2**31), 2**31 - 1)
U32 = st.integers(0, 2**32 - 1)
# Counts and times stay below 2**63, what Python's SDK produces (the bindings read u64 fields up to
# 2**64 - 1; the OTLP path's store of such times is not what this property compares).
U64 = st.integers(0, 2**63 - 1)
# Within three hours of T0, so an example writes a few partitions, not thousands.
TIME = st.integers(T0, T0 + 3 * 3600 * 10**9)
FLOAT = st.floats(allow_nan=True, allow_infinity=True)
OPT_FLOAT = st.none() | FLOAT
TEXT = st.text(max_size=8)

SCALAR = st.one_of(TEXT, st.booleans(), I64, FLOAT, st.binary(max_size=6))
VALUE = st.one_of(SCALAR, st.lists(st.none() | SCALAR, max_size=3), st.none())
ATTRS = st.dictionaries(st.text(min_size=1, max_size=6), VALUE, max_size=4)
NUMBER = st.one_of(I64, FLOAT)

EXEMPLAR = st.tuples(
    ATTRS,
    TIME,
    NUMBER,
    st.none() | st.binary(min_size=8, max_size=8),  # span_id
    st.none() | st.binary(min_size=16, max_size=16),  # trace_id
)
EXEMPLARS = st.none() | st.lists(EXEMPLAR, max_size=2)
NUMBER_POINT = st.tuples(ATTRS, TIME, TIME, NUMBER, EXEMPLARS, U32)
HISTOGRAM_POINT = st.tuples(
    ATTRS,
    TIME,
    TIME,
    U64,
    OPT_FLOAT,
    st.lists(U64, max_size=4),
    st.lists(FLOAT, max_size=3),
    OPT_FLOAT,
    OPT_FLOAT,
    EXEMPLARS,
    U32,
)
BUCKETS = st.none() | st.tuples(I32, st.lists(U64, max_size=4))
EXP_HISTOGRAM_POINT = st.tuples(
    ATTRS,
    TIME,
    TIME,
    U64,
    OPT_FLOAT,
    st.integers(-10, 20),
    U64,
    FLOAT,
    BUCKETS,
    BUCKETS,
    OPT_FLOAT,
    OPT_FLOAT,
    EXEMPLARS,
    U32,
)
POINTS = {
    "gauge": NUMBER_POINT,
    "sum": NUMBER_POINT,
    "histogram": HISTOGRAM_POINT,
    "exponential_histogram": EXP_HISTOGRAM_POINT,
}


@st.composite
def metrics(draw: st.DrawFn) -> tuple[Any, ...]:
    kind = draw(st.sampled_from(sorted(POINTS)))
    points = draw(st.lists(POINTS[kind], max_size=3))
    return (draw(TEXT), draw(TEXT), draw(TEXT), kind, draw(st.integers(0, 2)), draw(st.booleans()), points)


SCOPE = st.tuples(TEXT, st.none() | TEXT, st.none() | TEXT, st.none() | ATTRS, st.lists(metrics(), max_size=3))
RESOURCE = st.tuples(ATTRS, st.none() | TEXT, U32, st.lists(SCOPE, max_size=2))
BATCH = st.lists(RESOURCE, max_size=2)

EVENT = st.tuples(TEXT, TIME, st.none() | ATTRS, U32)
TRACE_ID = st.binary(min_size=16, max_size=16)
SPAN_ID = st.binary(min_size=8, max_size=8)
LINK = st.tuples(TRACE_ID, SPAN_ID, U32, st.booleans(), TEXT, st.none() | ATTRS, U32)
SPAN = st.tuples(
    TRACE_ID,
    SPAN_ID,
    st.none() | SPAN_ID,
    st.booleans(),
    U32,
    TEXT,
    TEXT,
    st.integers(0, 5),
    TIME,
    TIME,
    st.none() | ATTRS,
    U32,
    st.none() | st.lists(EVENT, max_size=2),
    U32,
    st.none() | st.lists(LINK, max_size=2),
    U32,
    st.integers(0, 2),
    st.none() | TEXT,
)
SPAN_SCOPE = st.tuples(TEXT, st.none() | TEXT, st.none() | TEXT, st.none() | ATTRS, st.lists(SPAN, max_size=3))
SPAN_BATCH = st.lists(st.tuples(ATTRS, st.none() | TEXT, U32, st.lists(SPAN_SCOPE, max_size=2)), max_size=2)

# Log records: bodies and attribute values of every type, dicts (key-value lists) nested in lists
# and dicts included; severities across the whole i32 range; with and without IDs.
ANY_VALUE = st.recursive(
    st.none() | SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
LOG_ATTRS = st.dictionaries(st.text(min_size=1, max_size=6), ANY_VALUE, max_size=4)
LOG_RECORD = st.tuples(
    st.just(0) | TIME,
    TIME,
    st.none() | TRACE_ID,
    st.none() | SPAN_ID,
    U32,
    st.none() | TEXT,
    I32,
    ANY_VALUE,
    st.none() | LOG_ATTRS,
    U32,
    st.none() | TEXT,
)
LOG_SCOPE = st.tuples(TEXT, st.none() | TEXT, st.none() | TEXT, st.none() | ATTRS, st.lists(LOG_RECORD, max_size=3))
LOG_BATCH = st.lists(st.tuples(ATTRS, st.none() | TEXT, U32, st.lists(LOG_SCOPE, max_size=2)), max_size=2)

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def _sorted_point_attributes(row: dict[str, Any]) -> dict[str, Any]:
    """The metric row with its data point's and exemplars' attributes sorted by key."""
    row = {**row, "Attributes": sorted(row["Attributes"]), "AttributesTypes": sorted(row["AttributesTypes"])}
    row["Exemplars"] = [
        {
            **e,
            "FilteredAttributes": sorted(e["FilteredAttributes"]),
            "FilteredAttributesTypes": sorted(e["FilteredAttributesTypes"]),
        }
        for e in row["Exemplars"]
    ]
    return row


def _store(
    export: str, data: bytes, tables: tuple[str, ...] = METRIC_TABLES, *, sort_point_attributes: bool = False
) -> tuple[int | str, dict[str, list[str]]]:
    """Exports ``data`` into a fresh library with the method named ``export`` and returns the count
    (or the error) and the rows of ``tables``, as sorted reprs (NaN and -0.0 compare exactly)."""
    with tempfile.TemporaryDirectory() as root:
        library: OtlpLibrary = open_library(root)
        try:
            outcome: int | str = getattr(library, export)(data)
        except OtlpError as err:
            outcome = f"{type(err).__name__}: {err}"
        library.shutdown()
        stored = {t: rows(root, t) for t in tables}
    if sort_point_attributes:
        stored = {t: [_sorted_point_attributes(r) for r in table] for t, table in stored.items()}
    return outcome, {t: sorted(repr(r) for r in table) for t, table in stored.items()}


@PROPERTY
@given(BATCH)
def test_export_metrics_ref_stores_what_export_metrics_stores(batch: list[tuple[Any, ...]]) -> None:
    data = dumps_unshared(batch)
    by_ref = _store("export_metrics_ref", data)
    owned = _store("export_metrics", data)
    assert by_ref == owned
    count, tables = by_ref
    assert count == sum(len(m[6]) for r in batch for s in r[3] for m in s[4] if m[6])
    assert sum(len(t) for t in tables.values()) == count


@PROPERTY
@given(BATCH)
def test_a_metrics_batch_stores_the_rows_of_its_otlp_request(batch: list[tuple[Any, ...]]) -> None:
    # Up to the order of data point and exemplar attributes, which the pickle path loses (see
    # test_bindings_errors.py::test_metric_point_attributes_keep_their_order).
    pickled = _store("export_metrics", dumps_unshared(batch), sort_point_attributes=True)
    assert pickled == _store("export_otlp_metrics", metrics_request(batch), sort_point_attributes=True)


@PROPERTY
@given(SPAN_BATCH)
def test_a_span_batch_stores_the_rows_of_its_otlp_request(batch: list[tuple[Any, ...]]) -> None:
    pickled = _store("export_traces", dumps_unshared(batch), ("traces",))
    assert pickled == _store("export_otlp_traces", traces_request(batch), ("traces",))
    assert pickled[0] == sum(len(s[4]) for r in batch for s in r[3])


@PROPERTY
@given(LOG_BATCH)
def test_a_log_batch_stores_the_rows_of_its_otlp_request(batch: list[tuple[Any, ...]]) -> None:
    pickled = _store("export_logs", dumps_unshared(batch), ("logs",))
    assert pickled == _store("export_otlp_logs", logs_request(batch), ("logs",))
    assert pickled[0] == sum(len(s[4]) for r in batch for s in r[3])
