"""Property: arbitrary log records, made by the SDK's own loggers (bodies and attributes of every
type, nested lists and maps, with and without span context and their own time, severities,
event names, dropped attributes, several resources and scopes), are stored losslessly: each row
read back with pyarrow equals the record the SDK handed the exporter, field by field and type by
type (``log_records.assert_log_row``)."""

from __future__ import annotations

import tempfile
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from log_records import InMemoryLogExporter, assert_log_row, emit, record_of
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import SpanContext, TraceFlags
from parquet_store import read_rows

from opentelemetry.exporter.parquet import ParquetLibrary

T0 = 1_700_000_000 * 10**9
# Within three hours: an example writes a few partitions, not thousands.
times = st.integers(T0, T0 + 3 * 3600 * 10**9)
# Text without lone surrogates (those are stored as U+FFFD: test_log_failures.py).
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
keys = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=8)
scalars = st.one_of(
    texts,
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=8),
)
values = st.recursive(
    st.none() | scalars,
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)
attribute_sets = st.none() | st.dictionaries(keys, values, max_size=6)
span_contexts = st.none() | st.builds(
    SpanContext,
    trace_id=st.integers(1, 2**128 - 1),
    span_id=st.integers(1, 2**64 - 1),
    is_remote=st.booleans(),
    trace_flags=st.integers(0, 255).map(TraceFlags),
)
resources = st.builds(
    Resource,
    attributes=st.dictionaries(keys, st.one_of(texts, st.integers(-5, 5), st.lists(texts, max_size=2)), max_size=4),
    schema_url=st.one_of(st.none(), st.just(""), texts),
)
scopes = st.tuples(
    texts, st.none() | texts, st.none() | texts, st.none() | st.dictionaries(keys, texts | st.booleans(), max_size=3)
)
records = st.fixed_dictionaries(
    {
        "timestamp": st.none() | times,
        "severity_number": st.none() | st.sampled_from(SeverityNumber),
        "severity_text": st.none() | texts,
        "body": values,
        "attributes": attribute_sets,
        "span_context": span_contexts,
        "max_attributes": st.none() | st.integers(0, 4),
        "event_name": st.none() | texts,
    }
)


@st.composite
def workloads(draw: st.DrawFn) -> tuple[list[Resource], list[tuple[Any, ...]], list[tuple[int, int, dict[str, Any]]]]:
    pool_resources = draw(st.lists(resources, min_size=1, max_size=3))
    pool_scopes = draw(st.lists(scopes, min_size=1, max_size=3))
    placed = draw(
        st.lists(
            st.tuples(st.integers(0, len(pool_resources) - 1), st.integers(0, len(pool_scopes) - 1), records),
            min_size=1,
            max_size=10,
        )
    )
    return pool_resources, pool_scopes, placed


def _made_by_the_sdk(workload: tuple[list[Resource], list[tuple[Any, ...]], list[Any]]) -> list[Any]:
    """The records as the SDK hands them to an exporter: emitted by loggers of providers of the
    drawn resources, captured by the SDK's in-memory exporter. Each has its own observed time."""
    pool_resources, pool_scopes, placed = workload
    memory = InMemoryLogExporter()
    providers = [LoggerProvider(resource=resource, shutdown_on_exit=False) for resource in pool_resources]
    loggers: dict[tuple[int, int], Any] = {}
    for provider in providers:
        provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    for i, (r, s, fields) in enumerate(placed):
        if (r, s) not in loggers:
            name, version, schema_url, attributes = pool_scopes[s]
            loggers[(r, s)] = providers[r].get_logger(name, version, schema_url=schema_url, attributes=attributes)
        emit(loggers[(r, s)], observed_timestamp=T0 + i, **fields)
    items = list(memory.get_finished_logs())
    assert len(items) == len(placed)
    return items


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(workloads())
def test_log_records_round_trip(workload: tuple[list[Resource], list[tuple[Any, ...]], list[Any]]) -> None:
    items = _made_by_the_sdk(workload)
    with tempfile.TemporaryDirectory() as store:
        library = ParquetLibrary(output_dir=store)
        try:
            assert library.log_exporter().export(items).name == "SUCCESS"
            library.flush()
            rows = read_rows(store, "logs")
        finally:
            library.shutdown()
    assert len(rows) == len(items)
    by_observed = {r["ObservedTimestamp"]: r for r in rows}
    for item in items:
        assert_log_row(by_observed[record_of(item).observed_timestamp], item)
