"""Rust and Python parity: the same telemetry exported through the Rust SDK
(``crates/opentelemetry-parquet/examples/parity.rs``) and through the Python SDK with
``ParquetSpanExporter`` and ``ParquetLogExporter`` gives identical ``traces`` and ``logs``
tables: same schema, same rows, every column.

The Python side (``parity_python.py``) mirrors the example value for value. No span column is
excluded: nothing the two SDKs record for these spans differs. One log column differs, checked to
the value: ``EventName`` on SDKs before 1.35, which have no event names. (Both paths store the
scope's own schema URL, which opentelemetry-proto's ``group_logs_by_resource_and_scope``, the Rust
OTLP exporter's grouping, would replace by the resource's.)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from arrow_rows import int_times
from opentelemetry.sdk.resources import Resource
from parity_python import BODIES, EVENT_NAMES, FIRST_SPAN_ID, FIRST_TRACE_ID, at, write_python

from opentelemetry.exporter.parquet import ParquetLibrary

REPO = Path(__file__).resolve().parent.parent


def write_rust(output_dir: Path) -> None:
    """The spans and log records of parity.rs, through the Rust SDK."""
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.skip("cargo is not installed")
    done = subprocess.run(
        [cargo, "run", "-q", "-p", "opentelemetry-parquet", "--example", "parity", "--", str(output_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def traces(output_dir: Path) -> pa.Table:
    table = ds.dataset(str(output_dir / "traces"), format="parquet", partitioning="hive").to_table()
    return table.sort_by("SpanId")


def test_rust_and_python_store_identical_traces(tmp_path: Path) -> None:
    rust_dir, python_dir = tmp_path / "rust", tmp_path / "python"
    write_rust(rust_dir)
    write_python(python_dir)

    rust_files = sorted(rust_dir.glob("traces/date=*/hour=*/part-*.parquet"))
    python_files = sorted(python_dir.glob("traces/date=*/hour=*/part-*.parquet"))
    assert [f.parent.relative_to(rust_dir) for f in rust_files] == [
        f.parent.relative_to(python_dir) for f in python_files
    ], "same partitions"
    for rust_file, python_file in zip(rust_files, python_files, strict=True):
        assert pq.read_schema(rust_file).equals(pq.read_schema(python_file), check_metadata=True)

    rust, python = traces(rust_dir), traces(python_dir)
    assert rust.schema.equals(python.schema)
    assert rust.num_rows == python.num_rows == 5
    assert rust.column("SpanName").to_pylist() == [
        "GET /checkout",
        "SELECT orders",
        "publish",
        "consume",
        "internal work",
    ]
    schema = pa.schema([f.with_type(int_times(f.type)) for f in rust.schema])
    rust_rows, python_rows = rust.cast(schema), python.cast(schema)
    for name in rust.column_names:
        assert rust_rows.column(name).to_pylist() == python_rows.column(name).to_pylist(), name
    assert rust.equals(python), "identical tables"

    # And the values are the expected ones, not just equal to each other.
    server = rust_rows.slice(0, 1).to_pylist()[0]
    attributes = dict(server["SpanAttributes"])
    assert attributes["negative.zero"] == "-0"
    assert attributes["not.a.number"] == "NaN"
    assert attributes["infinity"] == "+Inf"
    assert attributes["floats"] == "[1.5,2]"
    assert (server["Timestamp"], server["Duration"]) == (at(0), at(10) - at(0))
    consumer = rust_rows.slice(3, 1).to_pylist()[0]
    assert (consumer["Flags"], consumer["TraceState"]) == (0x301, "vendor=v1,other=x")


def test_rust_and_python_store_identical_logs(tmp_path: Path) -> None:
    rust_dir, python_dir = tmp_path / "rust", tmp_path / "python"
    write_rust(rust_dir)
    write_python(python_dir)

    def logs(output_dir: Path) -> pa.Table:
        table = ds.dataset(str(output_dir / "logs"), format="parquet", partitioning="hive").to_table()
        return table.sort_by("ObservedTimestamp")

    rust, python = logs(rust_dir), logs(python_dir)
    assert rust.schema.equals(python.schema)
    assert rust.num_rows == python.num_rows == len(BODIES) + 2
    schema = pa.schema([f.with_type(int_times(f.type)) for f in rust.schema])
    rust_rows, python_rows = rust.cast(schema), python.cast(schema)
    differing = set() if EVENT_NAMES else {"EventName"}
    for name in rust.column_names:
        if name not in differing:
            assert rust_rows.column(name).to_pylist() == python_rows.column(name).to_pylist(), name
    assert set(rust_rows.column("ScopeSchemaUrl").to_pylist()) == {"https://example.com/schemas/scope/1.0"}
    events = [r for r in rust_rows.column("EventName").to_pylist() if r]
    assert events == ["payment.failed"]
    if not EVENT_NAMES:
        assert set(python_rows.column("EventName").to_pylist()) == {""}

    # And the values are the expected ones, not just equal to each other.
    by_body = {r["Body"]: r for r in python_rows.to_pylist()}
    in_span = by_body["payment failed"]
    assert (in_span["TraceId"], in_span["SpanId"], in_span["Flags"]) == (
        format(FIRST_TRACE_ID, "032x"),
        format(FIRST_SPAN_ID, "016x"),
        1,
    )
    assert [(r["Body"], r["BodyType"]) for r in python_rows.to_pylist()[1:5]] == [
        ("card declined", "s"),
        ("", "s"),
        ("-9223372036854775808", "i"),
        ("-0", "d"),
    ]
    untimed = by_body["no time, no severity"]
    assert (untimed["TimestampFromObserved"], untimed["Timestamp"], untimed["SeverityNumber"]) == (True, at(90), 0)


def _exemplar_metrics() -> Any:
    from opentelemetry.sdk.metrics import Exemplar
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        Metric,
        MetricsData,
        NumberDataPoint,
        ResourceMetrics,
        ScopeMetrics,
        Sum,
    )
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    exemplars = [
        Exemplar({"case": "no span"}, 1.5, at(1), None, None),
        Exemplar({"case": "all-zero ids"}, 2.5, at(2), 0, 0),
        Exemplar({"case": "sampled span"}, 3.5, at(3), FIRST_SPAN_ID, FIRST_TRACE_ID),
    ]
    point = NumberDataPoint({"k": "v"}, at(0), at(5), 7, exemplars=exemplars)
    data = Sum([point], AggregationTemporality.CUMULATIVE, True)
    metric = Metric("requests", "", "1", data)
    scope = ScopeMetrics(InstrumentationScope("parity.scope", "4.5.6"), [metric], "")
    return MetricsData([ResourceMetrics(Resource({"service.name": "parity"}), [scope], "")])


def test_exemplars_without_a_span_store_the_same_ids_from_python_and_rust(tmp_path: Path) -> None:
    """Exemplars without a span (the SDK's None IDs) and with all-zero IDs are stored as the
    ClickHouse exporter stores them, '' in both ID columns, by the Python SDK path and by the Rust
    decoding of the same metrics as OTLP (the SDK's own encoder, the form the Rust SDK sends)."""
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

    data = _exemplar_metrics()
    stored = {}
    for path in ("python", "rust"):
        library = ParquetLibrary(output_dir=str(tmp_path / path))
        if path == "python":
            library.metric_exporter().export(data)
        else:
            library.library.export_otlp_metrics(encode_metrics(data).SerializeToString())
        library.shutdown()
        table = ds.dataset(str(tmp_path / path / "metrics_sum"), format="parquet", partitioning="hive").to_table()
        (row,) = table.select(["Exemplars"]).to_pylist()
        stored[path] = [(dict(e["FilteredAttributes"])["case"], e["SpanId"], e["TraceId"]) for e in row["Exemplars"]]
    assert stored["python"] == stored["rust"]
    assert stored["python"] == [
        ("no span", "", ""),
        ("all-zero ids", "", ""),
        ("sampled span", format(FIRST_SPAN_ID, "016x"), format(FIRST_TRACE_ID, "032x")),
    ]
