"""Every table of every store the Rust tests wrote reads with DuckDB and pyarrow.

The Rust tests that write real stores (the fault suite's mutation, kill -9 and disk tests, the
OTLP round-trip property tests, the real-SDK tests) copy them into `$OTEL_PARQUET_TEST_STORES/<test>/`
with a `manifest.json` of the rows per table (`tests/common/mod.rs`, `keep_store`). `cargo xtask
test-all` sets the variable for `cargo test` and for this pytest run. Here every table is read
whole, `SELECT *` with DuckDB over the `**/*.parquet` glob (every value fetched, which validates
the maps) and as a pyarrow dataset, and its row count compared with the manifest. Outside
test-all (variable unset) the module is skipped, saying why; with the variable set, an empty or
missing directory fails.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds
import pytest

VARIABLE = "OTEL_PARQUET_TEST_STORES"
TABLES = (
    "traces",
    "metrics_gauge",
    "metrics_sum",
    "metrics_histogram",
    "metrics_exponential_histogram",
    "metrics_summary",
    "logs",
)

if not os.environ.get(VARIABLE):
    pytest.skip(
        f"{VARIABLE} is unset: this checks the stores kept by the Rust tests, run it through `cargo xtask test-all`",
        allow_module_level=True,
    )

ROOT = Path(os.environ[VARIABLE])


def _stores() -> list[Path]:
    if not ROOT.is_dir():
        return []
    return sorted(p for p in ROOT.iterdir() if (p / "manifest.json").is_file())


def _manifest(store: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((store / "manifest.json").read_text())
    return manifest


CASES = [pytest.param(store, table, id=f"{store.name}-{table}") for store in _stores() for table in TABLES]


def test_the_rust_tests_kept_their_stores() -> None:
    stores = _stores()
    assert stores, f"{VARIABLE}={ROOT} is set but holds no kept store: the Rust tests kept nothing"
    kept = {s.name for s in stores}
    # The fault suite always writes these (the disk test only where it can mount a tmpfs).
    for name in ("faults_mutation", "faults_kill"):
        assert name in kept, f"{name} kept no store under {ROOT} (kept: {sorted(kept)})"
    assert sum(sum(_manifest(s)["tables"].values()) for s in stores) > 0, "every kept store is empty"


@pytest.mark.parametrize(("store", "table"), CASES)
def test_every_table_reads_with_duckdb_and_pyarrow(store: Path, table: str) -> None:
    manifest = _manifest(store)
    expected = manifest["tables"].get(table, 0)
    extension = "parquet" if manifest.get("format", "parquet") == "parquet" else "arrow"
    files = sorted((store / table).glob(f"**/*.{extension}"))
    if expected == 0:
        assert not files, f"{store.name}/{table}: the manifest counts no rows but there are files: {files[:3]}"
        return
    assert all(f.name.startswith("part-") for f in files), f"a glob matches a file that is not data: {files}"

    dataset = ds.dataset(store / table, format="parquet" if extension == "parquet" else "ipc", partitioning="hive")
    assert dataset.to_table().num_rows == expected, f"{store.name}/{table}: pyarrow rows"

    if extension == "parquet":
        glob = str(store / table / "**" / "*.parquet")
        connection = duckdb.connect()
        # Every value converted to Python: this decodes every column and validates every map
        # (DuckDB's Arrow export and counts do not check that map keys are unique).
        rows = connection.sql(f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true)").fetchall()
        assert len(rows) == expected, f"{store.name}/{table}: DuckDB rows"
