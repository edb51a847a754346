"""Helpers shared by the test modules: read a store back with pyarrow and DuckDB, and decode the
stored attribute renderings (``X`` + ``XTypes``) back into Python values."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

METRIC_TABLES = (
    "metrics_gauge",
    "metrics_sum",
    "metrics_histogram",
    "metrics_exponential_histogram",
    "metrics_summary",
)

KIND_NAMES = ("Internal", "Server", "Client", "Producer", "Consumer")  # Python SpanKind.value order
STATUS_NAMES = ("Unset", "Ok", "Error")  # Python StatusCode.value order


# ---------------------------------------------------------------------------------------------
# Reading


def read_table(root: str | Path, table: str) -> pa.Table:
    """The whole table as pyarrow reads a Hive-partitioned dataset (with ``date`` and ``hour``)."""
    return ds.dataset(str(Path(root) / table), format="parquet", partitioning="hive").to_table()


def has_table(root: str | Path, table: str) -> bool:
    return any((Path(root) / table).glob("date=*/hour=*/part-*.parquet"))


def _int_times(t: pa.DataType) -> pa.DataType:
    """``t`` with every timestamp replaced by int64 (nanoseconds), nested types included."""
    if pa.types.is_timestamp(t):
        return pa.int64()
    if pa.types.is_map(t):
        return t
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_int_times(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct([t.field(i).with_type(_int_times(t.field(i).type)) for i in range(t.num_fields)])
    return t


_TYPE_CODES = {"s": "string", "i": "int", "d": "double", "b": "bool", "y": "bytes", "e": "empty", "u": "unset"}


def split_types(types: str) -> list[str]:
    """The entries of an ``XTypes`` string: one code per map entry (as its type name), or the
    OTLP/JSON of an array or key-value list."""
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


def _with_type_maps(row: dict[str, Any]) -> dict[str, Any]:
    """Each ``XTypes`` string replaced by a dict from the keys of ``X`` to their types, checking
    that it names exactly one type per entry."""
    for name, value in list(row.items()):
        if name.endswith("Types") and isinstance(value, str) and isinstance(row.get(name[: -len("Types")]), dict):
            keys = list(row[name[: -len("Types")]])
            names = split_types(value)
            assert len(names) == len(keys), (name, keys, value)
            row[name] = dict(zip(keys, names, strict=True))
    return row


def _py(value: Any, t: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_map(t):
        return dict(value)
    if pa.types.is_list(t):
        return [_py(v, t.value_type) for v in value]
    if pa.types.is_struct(t):
        return _with_type_maps(
            {t.field(i).name: _py(value[t.field(i).name], t.field(i).type) for i in range(t.num_fields)}
        )
    return value


def to_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as plain Python: timestamps as int nanoseconds, maps as dicts (in stored order), and
    each ``XTypes`` string as a dict from the keys of ``X`` to their type names (or OTLP/JSON)."""
    schema = pa.schema([f.with_type(_int_times(f.type)) for f in table.schema])
    table = table.cast(schema)
    types = {f.name: f.type for f in schema}
    return [_with_type_maps({k: _py(v, types[k]) for k, v in row.items()}) for row in table.to_pylist()]


def read_rows(root: str | Path, table: str) -> list[dict[str, Any]]:
    if not has_table(root, table):
        return []
    return to_rows(read_table(root, table))


def duck(root: str | Path, table: str, select: str, where: str = "true", order: str = "1") -> list[tuple[Any, ...]]:
    """``SELECT <select> FROM <table> WHERE <where> ORDER BY <order>`` with DuckDB over the files."""
    pattern = str(Path(root) / table / "**" / "*.parquet")
    with duckdb.connect() as con:
        sql = f"SELECT {select} FROM read_parquet('{pattern}', hive_partitioning = true) WHERE {where} ORDER BY {order}"
        return con.sql(sql).fetchall()


# ---------------------------------------------------------------------------------------------
# Attribute renderings


def go_double(f: float) -> str:
    """How the store renders a double (the Collector's ``pcommon`` rendering: shortest round-trip
    digits, plain notation for 1e-6 <= |f| < 1e21, else ``1e+21`` / ``1.5e-7``)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    d = Decimal(repr(f)).normalize()
    if 1e-6 <= abs(f) < 1e21:
        return format(d, "f")
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    e = exponent + len(digits) - 1
    return ("-" if sign else "") + mantissa + "e" + ("-" if e < 0 else "+") + str(abs(e))


_NON_FINITE = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}


def _parse_double(text: str) -> float:
    return _NON_FINITE[text] if text in _NON_FINITE else float(text)


def _from_otlp_json(value: Mapping[str, Any]) -> Any:
    """A Python value from an OTLP/JSON ``AnyValue``."""
    if not value:
        return None
    ((key, v),) = value.items()
    if key == "stringValue":
        return str(v)
    if key == "boolValue":
        assert isinstance(v, bool)
        return v
    if key == "intValue":
        assert isinstance(v, str), "OTLP/JSON ints are strings"
        return int(v)
    if key == "doubleValue":
        if isinstance(v, str):
            return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v]
        return float(v)
    if key == "bytesValue":
        return base64.b64decode(v)
    if key == "arrayValue":
        return [_from_otlp_json(e) for e in v.get("values", [])]
    if key == "kvlistValue":
        return {e["key"]: _from_otlp_json(e.get("value", {})) for e in v.get("values", [])}
    raise AssertionError(f"unknown AnyValue field {key!r}")


def decode_value(rendered: str | None, ty: str) -> Any:
    """The Python value of a stored attribute, from its rendering and type."""
    if ty == "string":
        return rendered
    if ty == "int":
        assert rendered is not None
        return int(rendered)
    if ty == "double":
        assert rendered is not None
        return _parse_double(rendered)
    if ty == "bool":
        assert rendered in ("true", "false"), rendered
        return rendered == "true"
    if ty == "bytes":
        assert rendered is not None
        return base64.b64decode(rendered)
    if ty in ("empty", "unset"):
        return None
    assert ty.startswith("{"), f"unknown attribute type {ty!r}"
    return _from_otlp_json(json.loads(ty))


def decode_attrs(values: Mapping[str, str | None], types: Mapping[str, str]) -> dict[str, Any]:
    """Decodes an ``X`` / ``XTypes`` pair; both maps must have the same keys in the same order."""
    assert list(values) == list(types), (values, types)
    return {k: decode_value(values[k], types[k]) for k in values}


def _typed(value: Any) -> Any:
    """A comparable form that keeps the type (``1`` != ``1.0`` != ``True``) and NaN == NaN."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return ("double", "NaN")  # rendered "NaN": the sign and payload of a NaN are not kept
        return ("double", value, math.copysign(1.0, value))  # -0.0 stays -0.0
    if isinstance(value, str):
        return ("string", str(value))
    if isinstance(value, (bytes, bytearray)):
        return ("bytes", bytes(value))
    if isinstance(value, Mapping):
        return ("map", [(k, _typed(v)) for k, v in value.items()])
    if isinstance(value, Sequence):
        return ("array", [_typed(v) for v in value])
    if value is None:
        return ("none",)
    raise AssertionError(f"unexpected value {value!r}")


def typed_attrs(attributes: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    return [(k, _typed(v)) for k, v in (attributes or {}).items()]


def assert_attrs(
    values: Mapping[str, str | None], types: Mapping[str, str], expected: Mapping[str, Any] | None
) -> None:
    """The stored pair holds exactly ``expected``: same keys in the same order, same values and types."""
    assert typed_attrs(decode_attrs(values, types)) == typed_attrs(expected)


def expected_rendering(value: Any) -> str:
    """The ClickHouse rendering of a scalar (str, bool, int, float) attribute value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_double(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    assert isinstance(value, str)
    return value


def check_renderings(values: Mapping[str, str | None], types: Mapping[str, str]) -> None:
    """Every rendering is what the Collector writes for its value: scalars exactly, arrays as JSON
    (``[1,2]``) whose elements equal the typed values."""
    for key, ty in types.items():
        rendered = values[key]
        value = decode_value(rendered, ty)
        if ty.startswith("{"):
            assert rendered is not None
            parsed = json.loads(rendered)
            assert isinstance(parsed, list), rendered
            assert len(parsed) == len(value)
            for got, want in zip(parsed, value, strict=True):
                if isinstance(want, float) and not math.isfinite(want):
                    assert got == go_double(want)
                elif isinstance(want, float):
                    assert float(got) == want
                else:
                    assert got == want
        elif ty == "double" and isinstance(value, float) and math.isfinite(value):
            # The shortest rendering that reads back as the value; when two such renderings are
            # equally close (-704681636744753.2 and .3 for ...753.25), either is right.
            assert rendered is not None
            expected = expected_rendering(value)
            assert float(rendered) == value and len(rendered) == len(expected), (key, rendered, expected)
        elif ty in ("string", "int", "double", "bool", "bytes"):
            assert rendered == expected_rendering(value), (key, rendered, value)


def hex_id(value: int, size: int) -> str:
    """An ID as the store renders it: lowercase hex, and an all-zero ID as '' (as the ClickHouse
    exporter does)."""
    return format(value, f"0{2 * size}x") if value else ""


def sorted_by(rows: Iterable[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: tuple(r[k] for k in keys))


# ---------------------------------------------------------------------------------------------
# Spans


def span_flags(trace_flags: int, is_remote: bool) -> int:
    """``Flags`` as stored: the W3C trace flags plus OTLP's has-is-remote / is-remote bits."""
    return (int(trace_flags) & 0xFF) | 0x100 | (0x200 if is_remote else 0)


def _attributes_of(obj: Any) -> Mapping[str, Any]:
    return dict(obj or {})


def _dropped(attributes: Any) -> int:
    return int(getattr(attributes, "dropped", 0) or 0)


def assert_span_row(row: Mapping[str, Any], span: Any, *, check_rendering: bool = True) -> None:
    """Compares one stored ``traces`` row with the SDK's ``ReadableSpan`` it came from, field by field."""
    ctx = span.context
    parent = span.parent
    assert row["TraceId"] == hex_id(ctx.trace_id, 16)
    assert row["SpanId"] == hex_id(ctx.span_id, 8)
    assert row["ParentSpanId"] == (hex_id(parent.span_id, 8) if parent is not None else "")
    assert row["TraceState"] == (ctx.trace_state.to_header() if ctx.trace_state else "")
    assert row["SpanName"] == span.name
    assert row["SpanKind"] == KIND_NAMES[span.kind.value]
    assert row["Timestamp"] == span.start_time
    assert row["Duration"] == (span.end_time - span.start_time) % 2**64
    assert row["StatusCode"] == STATUS_NAMES[span.status.status_code.value]
    expected_message = (span.status.description or "") if span.status.status_code.value == 2 else ""
    assert row["StatusMessage"] == expected_message
    assert row["Flags"] == span_flags(ctx.trace_flags, parent is not None and parent.is_remote)
    assert_attrs(row["SpanAttributes"], row["SpanAttributesTypes"], _attributes_of(span.attributes))
    if check_rendering:
        check_renderings(row["SpanAttributes"], row["SpanAttributesTypes"])
    assert row["DroppedAttributesCount"] == span.dropped_attributes
    assert row["DroppedEventsCount"] == span.dropped_events
    assert row["DroppedLinksCount"] == span.dropped_links

    assert len(row["Events"]) == len(span.events)
    for stored, event in zip(row["Events"], span.events, strict=True):
        assert stored["Name"] == event.name
        assert stored["Timestamp"] == event.timestamp
        assert_attrs(stored["Attributes"], stored["AttributesTypes"], _attributes_of(event.attributes))
        assert stored["DroppedAttributesCount"] == _dropped(event.attributes)

    assert len(row["Links"]) == len(span.links)
    for stored, link in zip(row["Links"], span.links, strict=True):
        lc = link.context
        assert stored["TraceId"] == hex_id(lc.trace_id, 16)
        assert stored["SpanId"] == hex_id(lc.span_id, 8)
        assert stored["TraceState"] == (lc.trace_state.to_header() if lc.trace_state else "")
        assert stored["Flags"] == span_flags(lc.trace_flags, lc.is_remote)
        assert_attrs(stored["Attributes"], stored["AttributesTypes"], _attributes_of(link.attributes))
        assert stored["DroppedAttributesCount"] == _dropped(link.attributes)

    assert_resource_and_scope(row, span.resource, span.instrumentation_scope)


def assert_resource_and_scope(row: Mapping[str, Any], resource: Any, scope: Any) -> None:
    """The resource and scope columns of a stored row hold the SDK's ``resource`` (its attributes
    sorted by key) and ``scope`` (``None``: the empty scope)."""
    resource_attributes = dict(resource.attributes)
    assert list(row["ResourceAttributes"]) == sorted(resource_attributes), "resource attributes are sorted by key"
    assert_attrs(
        row["ResourceAttributes"],
        row["ResourceAttributesTypes"],
        {k: resource_attributes[k] for k in sorted(resource_attributes)},
    )
    service_name = resource_attributes.get("service.name")
    assert row["ServiceName"] == (expected_rendering(service_name) if service_name is not None else "")
    assert row["ResourceSchemaUrl"] == (resource.schema_url or "")
    assert row["ResourceDroppedAttributesCount"] == _dropped(resource._attributes)
    assert row["ResourceEntityRefs"] == []

    assert row["ScopeName"] == (scope.name if scope else "")
    assert row["ScopeVersion"] == ((scope.version or "") if scope else "")
    assert row["ScopeSchemaUrl"] == ((scope.schema_url or "") if scope else "")
    assert_attrs(
        row["ScopeAttributes"], row["ScopeAttributesTypes"], _attributes_of(scope.attributes if scope else None)
    )
    assert row["ScopeDroppedAttrCount"] == 0
