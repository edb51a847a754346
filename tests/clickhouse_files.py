"""What the ClickHouse tests share: chdb (embedded ClickHouse), running a query over a store's
files, parsing ClickHouse's text form of maps and arrays, the exporter's rendering of attribute
values, and the check that ClickHouse infers the exporter's column types from our files.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from arrow_rows import int_times

chdb = pytest.importorskip(
    "chdb",
    reason=f"chdb (embedded ClickHouse) is not importable on {platform.platform()}: xtask/requirements-test.txt "
    "installs it only where PyPI has its engine (chdb-core) as a wheel, Linux x86_64 and macOS",
)

NOT_NULLABLE = "schema_inference_make_columns_nullable = 0"


def query(sql: str) -> list[dict[str, Any]]:
    """Rows of a ClickHouse query, times (also in arrays) as integer nanoseconds."""
    result = chdb.query(sql, "ArrowTable")
    assert isinstance(result, pa.Table), result
    schema = pa.schema([field.with_type(int_times(field.type)) for field in result.schema])
    rows: list[dict[str, Any]] = result.cast(schema).to_pylist()
    return rows


# ClickHouse's text form of String values, Arrays and Maps (what toString gives).
_QUOTED = r"'(?:[^'\\]|\\.)*'"
_ARRAY = re.compile(rf"\[(?:{_QUOTED}(?:,{_QUOTED})*)?\]")
_MAP = re.compile(rf"\{{(?:{_QUOTED}:{_QUOTED}(?:,{_QUOTED}:{_QUOTED})*)?\}}")


def _strings(text: str) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", token[1:-1]) for token in re.findall(_QUOTED, text)]


def ch_array(text: str) -> list[str]:
    assert _ARRAY.fullmatch(text), f"not a ClickHouse Array(String): {text!r}"
    return _strings(text)


def ch_map(text: str) -> dict[str, str]:
    assert _MAP.fullmatch(text), f"not a ClickHouse Map(String, String): {text!r}"
    strings = _strings(text)
    keys, values = strings[::2], strings[1::2]
    assert len(set(keys)) == len(keys), f"duplicate keys: {text!r}"
    return dict(zip(keys, values, strict=True))


def rendered(value: object) -> str:
    """An attribute value as the exporter renders it (pcommon.Value.AsString), for the scalar and
    homogeneous array values used here."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Sequence):
        return json.dumps(list(value), separators=(",", ":"))
    raise AssertionError(f"no rendering for {value!r}")


def attrs(attributes: Any) -> dict[str, str]:
    return {key: rendered(value) for key, value in dict(attributes or {}).items()}


def normalized(clickhouse_type: str) -> str:
    """LowCardinality is storage only and the files' times say UTC: `LowCardinality(String)` is
    `String`, `DateTime64(9, 'UTC')` is `DateTime64(9)`, whitespace dropped."""
    out = re.sub(r"\s+", "", clickhouse_type.replace(", 'UTC'", ""))
    while "LowCardinality(" in out:
        out = re.sub(r"LowCardinality\(([^()]*)\)", r"\1", out)
    return out


def table(root: Path, name: str) -> str:
    """The files of table `name` of the store at `root`, as ClickHouse's `file()` reads them."""
    return f"file('{root}/{name}/**/*.parquet', Parquet)"


def inferred_types(root: Path, name: str, settings: str = "") -> dict[str, str]:
    rows = query(
        f"DESCRIBE {table(root, name)} SETTINGS describe_include_subcolumns = 1, "
        f"schema_inference_use_cache_for_file = 0{settings}"
    )
    return {row["name"]: normalized(row["type"]) for row in rows}


def types_match(root: Path, name: str, columns: dict[str, str], nullable: set[str], settings: str = "") -> None:
    """ClickHouse infers the exporter's type (`columns`, from its DDL) for every column of table
    `name`; those in `nullable` are Nullable by default (schema inference makes optional columns
    Nullable unless `settings` turn it off)."""
    types = inferred_types(root, name, settings)
    expected = {}
    for column, ddl_type in columns.items():
        ddl = normalized(ddl_type)
        if column in nullable and not settings:
            ddl = re.sub(r"^(Array\()?(\w+)", lambda m: f"{m.group(1) or ''}Nullable({m.group(2)})", ddl)
        expected[column] = ddl
    assert {column: types.get(column) for column in expected} == expected
