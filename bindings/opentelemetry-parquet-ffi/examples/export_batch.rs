//! Exports one Python batch file `ROUNDS` times through [`OtlpLibrary::export_traces`] (decoding
//! and buffering, no flush): the Rust side of `ParquetSpanExporter.export`, for callgrind.
//!
//! ```text
//! python bench/span_batch.py write spans.pickle
//! cargo build --release --example export_batch -p opentelemetry-parquet-ffi
//! valgrind --tool=callgrind target/release/examples/export_batch spans.pickle 0   # setup only
//! valgrind --tool=callgrind target/release/examples/export_batch spans.pickle 8
//! ```
//!
//! (instructions of the second run - the first) / (8 x spans per batch) is the cost per span.

use opentelemetry_parquet_ffi::{OtlpLibrary, ParquetConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: export_batch BATCH_FILE [ROUNDS]");
    let rounds: usize = args.next().map_or(1, |r| r.parse().expect("ROUNDS is a number"));
    let batch = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let dir = tempfile::tempdir().expect("temporary directory");
    let library = OtlpLibrary::new(ParquetConfig {
        output_dir: Some(dir.path().display().to_string()),
        flush_interval_ms: Some(3_600_000),
        flush_rows: Some(1 << 30),
        flush_bytes: Some(1 << 40),
        max_buffer_bytes: Some(1 << 40),
        ..Default::default()
    })
    .expect("library");
    let mut spans = 0;
    for _ in 0..rounds {
        spans += library.export_traces(&batch).expect("a valid batch");
    }
    println!("{spans} spans exported");
    std::mem::forget(library); // no flush, no shutdown: only the exports are measured
}
