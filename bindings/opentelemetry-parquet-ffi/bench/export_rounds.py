"""``ParquetSpanExporter.export`` of the 512-span batch ROUNDS times, for callgrind:

    valgrind --tool=callgrind \
      --toggle-collect=uniffi_opentelemetry_parquet_ffi_fn_method_otlplibrary_export_traces \
      python export_rounds.py 4

collects the Rust side of the exports only (the FFI call: lifting the arguments, decoding,
buffering); divide by ROUNDS x 512 for the cost per span.
"""

from __future__ import annotations

import sys
import tempfile

from span_batch import spans

from opentelemetry.exporter.parquet import ParquetLibrary, ParquetSpanExporter

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 4
batch = spans()
with tempfile.TemporaryDirectory() as store:
    exporter = ParquetSpanExporter(library=ParquetLibrary(output_dir=store, flush_interval_ms=3_600_000))
    for _ in range(rounds):
        exporter.export(batch)
    exporter.shutdown()
