//! Heap allocations per export, counted by a global allocator (`stats_alloc`): `allocs [--quick]`
//! prints one JSON object, read by `cargo xtask bench`.
//!
//! - `export_metrics_ref`: one collection of 1,000 data points exported by reference;
//! - `deep_copy`: an owned copy of the same `ResourceMetrics`, as the SDK's in-memory exporter
//!   makes it (`ResourceMetrics` is not `Clone`);
//! - `export_metrics`: the owned copy exported by value;
//! - `span_export`: one 512-span batch through `span_exporter().export`.
//!
//! Every figure is the median of several exports into one library, a flush (not counted) after
//! each, after one warm-up export of each kind. Nothing else runs meanwhile except the library's
//! writer thread, which is idle between flushes.

mod common;

use std::alloc::System;

use opentelemetry_parquet::OtlpLibrary;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter as _;
use opentelemetry_sdk::metrics::InMemoryMetricExporter;
use opentelemetry_sdk::trace::SpanExporter as _;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations and bytes allocated (reallocations count as allocations).
#[derive(Clone, Copy, Default)]
struct Count {
    allocations: usize,
    bytes: usize,
}

fn counted<R>(f: impl FnOnce() -> R) -> (R, Count) {
    let region = Region::new(GLOBAL);
    let result = f();
    let stats = region.change();
    (result, Count { allocations: stats.allocations + stats.reallocations, bytes: stats.bytes_allocated })
}

fn median(mut counts: Vec<Count>) -> Count {
    counts.sort_by_key(|c| c.allocations);
    counts[counts.len() / 2]
}

fn json(count: Count, per: usize) -> serde_json::Value {
    serde_json::json!({
        "allocations": count.allocations,
        "bytes": count.bytes,
        "allocations_per_element": count.allocations as f64 / per as f64,
    })
}

fn main() {
    if std::env::args().any(|a| a == "--bench") {
        eprintln!("allocs: run by `cargo xtask bench` (or `cargo bench --bench allocs -- --run`)");
        return;
    }
    let rounds = if std::env::args().any(|a| a == "--quick") { 3 } else { 9 };
    let metrics = common::make_metrics(1).pop().expect("one collection");
    let holder = InMemoryMetricExporter::default();
    common::block_on(holder.export(&metrics)).expect("in-memory export");
    let spans = common::make_spans(1).pop().expect("one batch");

    let dir = tempfile::tempdir().expect("tempdir");
    let library = OtlpLibrary::new(common::explicit_flush_config(dir.path())).expect("library");
    let exporter = library.span_exporter();
    let points = library.export_metrics_ref(&metrics).expect("warm-up");
    library.export_metrics(holder.get_finished_metrics().expect("copy").remove(0)).expect("warm-up");
    common::block_on(exporter.export(spans.clone())).expect("warm-up");
    library.flush().expect("flush");

    let (mut by_ref, mut copy, mut owned, mut span) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (n, count) = counted(|| library.export_metrics_ref(&metrics).expect("export"));
        assert_eq!(n, points);
        by_ref.push(count);
        let (mut copies, count) = counted(|| holder.get_finished_metrics().expect("copy"));
        copy.push(count);
        let one = copies.remove(0);
        let (n, count) = counted(|| library.export_metrics(one).expect("export"));
        assert_eq!(n, points);
        owned.push(count);
        let batch = spans.clone();
        let ((), count) = counted(|| common::block_on(exporter.export(batch)).expect("export"));
        span.push(count);
        library.flush().expect("flush");
    }
    let report = serde_json::json!({
        "data_points": points,
        "spans": spans.len(),
        "rounds": rounds,
        "export_metrics_ref": json(median(by_ref), points),
        "deep_copy": json(median(copy), points),
        "export_metrics": json(median(owned), points),
        "span_export": json(median(span), spans.len()),
    });
    println!("{report}");
    library.shutdown().expect("shutdown");
}
