"""Builders of the pickle batches defined in BATCH_FORMAT.md, and readers of a store.

Every builder returns plain tuples/lists/dicts in the documented layout; the keyword arguments
are named after the layout's fields.
"""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.dataset as ds  # type: ignore[import-untyped]

from opentelemetry_parquet import OtlpLibrary, ParquetConfig

# 2023-11-14T22:13:20Z, in nanoseconds.
T0 = 1_700_000_000_000_000_000

METRIC_TABLES = ("metrics_gauge", "metrics_sum", "metrics_histogram", "metrics_exponential_histogram")
TABLES = ("traces", "logs", *METRIC_TABLES)

Attrs = dict[str, Any] | None

# Data reaches disk only when a test flushes (or shuts down).
NO_TIMED_FLUSH_MS = 3_600_000


def open_library(path: str | Path, **options: Any) -> OtlpLibrary:
    """A library writing into ``path`` that flushes only when asked; ``options`` are ParquetConfig
    fields."""
    return OtlpLibrary(ParquetConfig(output_dir=str(path), **{"flush_interval_ms": NO_TIMED_FLUSH_MS, **options}))


# The version of BATCH_FORMAT.md these builders write.
BATCH_FORMAT_VERSION = 1


def dumps(groups: Any) -> bytes:
    """The batch of these resource groups, pickled as the Python exporters send it: ``(version,
    groups)``."""
    return pickle.dumps((BATCH_FORMAT_VERSION, groups), protocol=5)


def dumps_unshared(batch: Any) -> bytes:
    """The batch pickled without pickle's memo, as the Python exporters write it: an object used
    twice is written twice (``dumps`` shares it through a memo reference instead)."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=5)
    pickler.fast = True
    pickler.dump((BATCH_FORMAT_VERSION, batch))
    return buf.getvalue()


# --- spans -------------------------------------------------------------------------------------


def event(name: str, time: int, attributes: Attrs = None, dropped_attributes: int = 0) -> tuple[Any, ...]:
    return (name, time, attributes, dropped_attributes)


def link(
    trace_id: bytes,
    span_id: bytes,
    *,
    trace_flags: int = 1,
    is_remote: bool = False,
    trace_state: str = "",
    attributes: Attrs = None,
    dropped_attributes: int = 0,
) -> tuple[Any, ...]:
    return (trace_id, span_id, trace_flags, is_remote, trace_state, attributes, dropped_attributes)


def span(
    *,
    trace_id: bytes = bytes(range(1, 17)),
    span_id: bytes = bytes(range(1, 9)),
    parent_span_id: bytes | None = None,
    parent_is_remote: bool = False,
    trace_flags: int = 1,
    trace_state: str = "",
    name: str = "span",
    kind: int = 1,
    start: int = T0,
    end: int = T0 + 1_000,
    attributes: Attrs = None,
    dropped_attributes: int = 0,
    events: list[tuple[Any, ...]] | None = None,
    dropped_events: int = 0,
    links: list[tuple[Any, ...]] | None = None,
    dropped_links: int = 0,
    status_code: int = 0,
    status_description: str | None = None,
) -> tuple[Any, ...]:
    return (
        trace_id,
        span_id,
        parent_span_id,
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
        status_description,
    )


def scope_group(
    items: Sequence[Any],
    *,
    name: str = "test.scope",
    version: str | None = "1.0",
    schema_url: str | None = None,
    attributes: Attrs = None,
) -> tuple[Any, ...]:
    return (name, version, schema_url, attributes, list(items))


def resource_group(
    scopes: Sequence[tuple[Any, ...]],
    *,
    attributes: dict[str, Any] | None = None,
    schema_url: str | None = None,
    dropped_attributes: int = 0,
) -> tuple[Any, ...]:
    attrs = {"service.name": "bindings-test"} if attributes is None else attributes
    return (attrs, schema_url, dropped_attributes, list(scopes))


def batch(items: Sequence[Any], **scope: Any) -> list[tuple[Any, ...]]:
    """One resource with one scope holding ``items`` (spans, log records or metrics)."""
    return [resource_group([scope_group(items, **scope)])]


# --- log records -------------------------------------------------------------------------------


def log_record(
    *,
    time: int = T0,
    observed: int = T0 + 5,
    trace_id: bytes | None = None,
    span_id: bytes | None = None,
    flags: int = 0,
    severity_text: str | None = "INFO",
    severity_number: int = 9,
    body: Any = "message",
    attributes: Attrs = None,
    dropped_attributes: int = 0,
    event_name: str | None = None,
) -> tuple[Any, ...]:
    return (
        time,
        observed,
        trace_id,
        span_id,
        flags,
        severity_text,
        severity_number,
        body,
        attributes,
        dropped_attributes,
        event_name,
    )


# --- metrics -----------------------------------------------------------------------------------


def exemplar(
    value: float,
    *,
    time: int = T0,
    filtered_attributes: Attrs = None,
    span_id: bytes | None = None,
    trace_id: bytes | None = None,
) -> tuple[Any, ...]:
    return ({} if filtered_attributes is None else filtered_attributes, time, value, span_id, trace_id)


def number_point(
    value: float,
    *,
    attributes: Attrs = None,
    start: int = T0 - 1_000_000_000,
    time: int = T0,
    exemplars: list[tuple[Any, ...]] | None = None,
    flags: int = 0,
) -> tuple[Any, ...]:
    return ({} if attributes is None else attributes, start, time, value, exemplars, flags)


def histogram_point(
    *,
    count: int,
    sum: float | None,
    bucket_counts: list[int],
    explicit_bounds: list[float],
    min: float | None = None,
    max: float | None = None,
    attributes: Attrs = None,
    start: int = T0 - 1_000_000_000,
    time: int = T0,
    exemplars: list[tuple[Any, ...]] | None = None,
    flags: int = 0,
) -> tuple[Any, ...]:
    attrs = {} if attributes is None else attributes
    return (attrs, start, time, count, sum, bucket_counts, explicit_bounds, min, max, exemplars, flags)


def exp_histogram_point(
    *,
    count: int,
    sum: float | None,
    scale: int,
    zero_count: int,
    zero_threshold: float,
    positive: tuple[int, list[int]] | None,
    negative: tuple[int, list[int]] | None,
    min: float | None = None,
    max: float | None = None,
    attributes: Attrs = None,
    start: int = T0 - 1_000_000_000,
    time: int = T0,
    exemplars: list[tuple[Any, ...]] | None = None,
    flags: int = 0,
) -> tuple[Any, ...]:
    attrs = {} if attributes is None else attributes
    return (
        attrs,
        start,
        time,
        count,
        sum,
        scale,
        zero_count,
        zero_threshold,
        positive,
        negative,
        min,
        max,
        exemplars,
        flags,
    )


def metric(
    name: str,
    kind: str,
    points: Iterable[tuple[Any, ...]],
    *,
    description: str = "",
    unit: str = "",
    temporality: int = 0,
    is_monotonic: bool = False,
) -> tuple[Any, ...]:
    return (name, description, unit, kind, temporality, is_monotonic, list(points))


# --- reading a store ---------------------------------------------------------------------------


def _int_times(t: pa.DataType) -> pa.DataType:
    """``t`` with every timestamp (at any depth) replaced by int64 nanoseconds."""
    if pa.types.is_timestamp(t):
        return pa.int64()
    if pa.types.is_map(t):
        return pa.map_(_int_times(t.key_type), _int_times(t.item_type))
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_int_times(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct([t.field(i).with_type(_int_times(t.field(i).type)) for i in range(t.num_fields)])
    return t


def table(root: str | Path, name: str) -> pa.Table:
    """Every row of one table, read with pyarrow's Hive partitioning; times as int64 nanoseconds.
    An empty table when nothing was written."""
    path = Path(root) / name
    if not path.exists():
        return pa.table({})
    data = ds.dataset(str(path), format="parquet", partitioning="hive").to_table()
    schema = pa.schema([f.with_type(_int_times(f.type)) for f in data.schema])
    return data.cast(schema)


_TYPE_CODES = {"s": "string", "i": "int", "d": "double", "b": "bool", "y": "bytes", "e": "empty", "u": "unset"}


def split_types(types: str) -> list[str]:
    """The entries of an ``XTypes`` string: each code as its type name, or the OTLP/JSON of an
    array or key-value list."""
    out: list[str] = []
    decoder = json.JSONDecoder()
    i = 0
    while i < len(types):
        if types[i] == "{":
            _, end = decoder.raw_decode(types, i)
            out.append(types[i:end])
            i = end
        else:
            out.append(_TYPE_CODES[types[i]])
            i += 1
    return out


def _with_type_pairs(value: Any) -> Any:
    """Each ``XTypes`` string of a row or struct as a list of (key, type) pairs, the keys those of
    ``X`` (checking one type per entry)."""
    if isinstance(value, list):
        return [_with_type_pairs(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _with_type_pairs(v) for k, v in value.items()}
    for name, types in list(out.items()):
        pairs = out.get(name[: -len("Types")]) if name.endswith("Types") else None
        if isinstance(types, str) and isinstance(pairs, list):
            names = split_types(types)
            assert len(names) == len(pairs), (name, pairs, types)
            out[name] = [(key, ty) for (key, _), ty in zip(pairs, names, strict=True)]
    return out


def rows(root: str | Path, name: str) -> list[dict[str, Any]]:
    """The rows of one table as dicts (map columns as lists of (key, value) pairs, in order; each
    ``XTypes`` string as (key, type name or OTLP/JSON) pairs for the keys of ``X``)."""
    found: list[dict[str, Any]] = [_with_type_pairs(row) for row in table(root, name).to_pylist()]
    return found


def duck(root: str | Path, name: str, select: str, where: str = "true", order: str = "1") -> list[tuple[Any, ...]]:
    """``SELECT <select> FROM <name> WHERE <where> ORDER BY <order>``, read by DuckDB."""
    pattern = str(Path(root) / name / "**" / "*.parquet")
    query = f"SELECT {select} FROM read_parquet('{pattern}', hive_partitioning = true) WHERE {where} ORDER BY {order}"
    with duckdb.connect() as con:
        return con.execute(query).fetchall()
