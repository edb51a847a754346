//! Export-to-disk benchmarks: opentelemetry-parquet side by side with the OTLP file formats a
//! Collector-style file exporter writes, and with what the SDK itself spends making the spans.
//!
//! Every iteration takes one batch as the SDK hands it to an exporter (512 spans, one metrics
//! collection of 1,000 data points, or 512 log records) and makes it durable on disk
//! (`common/mod.rs` has the sinks):
//!
//! - `opentelemetry-parquet`: our exporter (`OtlpSpanExporter::export`,
//!   `OtlpLibrary::export_metrics_ref` or `OtlpLogExporter::export`), then
//!   `OtlpLibrary::flush`, which writes a zstd Parquet file per table, fsyncs it, renames it
//!   into place and fsyncs the directory.
//! - `opentelemetry-parquet-flush-every-64`: every batch exported, a flush after every 64th (data
//!   is durable at each flush), so one iteration costs an export plus 1/64 of a 64-batch file.
//! - `opentelemetry-parquet-export-only`: the export call alone (flushes happen, untimed, every
//!   64 batches so that the buffer stays bounded).
//! - `otlp-protobuf-file`: `opentelemetry-proto`'s own SDK → OTLP transform, the request
//!   length-delimited protobuf appended to one file through a `BufWriter`, `flush` + `sync_all`.
//! - `otlp-protobuf-zstd3-file`: the same, each request compressed as one zstd frame (level 3,
//!   a reused context).
//! - `otlp-json-lines`: the same transform, the request as one OTLP/JSON line (the Collector's
//!   file exporter format).
//! - `sdk-span-creation` (spans only): making the 512 spans with a real SDK tracer whose span
//!   processor drops them: the cost the application pays before any exporter runs.
//!
//! Only that is timed: cloning the input batch (the SDK hands exporters an owned `Vec`) and
//! deleting the written files to keep disk use bounded happen outside the measurement. Before
//! measuring, the bytes a batch takes on disk are printed and written to
//! `<criterion dir>/<group>/sizes.json`, which `cargo xtask bench` reads along with criterion's
//! estimates. Run it with `cargo xtask bench [--quick]` or
//! `cargo bench -p opentelemetry-parquet --bench export`.

mod common;

use std::cell::Cell;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{ids, Sink};
use criterion::{Criterion, SamplingMode, Throughput};
use opentelemetry_sdk::metrics::data::ResourceMetrics;

/// Iterations between two (untimed) deletions of what was written.
const CLEAN_EVERY: u64 = 256;
/// Distinct input batches, cycled through, so that a file of `FLUSH_EVERY` batches holds no
/// repeats that would flatter its compression.
const POOL: usize = common::FLUSH_EVERY;

/// Times `iters` writes of `input()`; input creation and the periodic `clear` are not timed.
fn measure<T>(iters: u64, sink: &mut dyn Sink<T>, input: &impl Fn() -> T) -> Duration {
    let mut total = Duration::ZERO;
    for i in 1..=iters {
        let batch = input();
        let start = Instant::now();
        sink.write(batch);
        total += start.elapsed();
        sink.after_write();
        if i % CLEAN_EVERY == 0 {
            sink.clear();
        }
    }
    sink.clear();
    total
}

/// Bytes on disk per element once `batches_per_sync` batches were written.
fn bytes_per_element<T>(sink: &mut dyn Sink<T>, input: &impl Fn() -> T, elements: usize) -> Option<f64> {
    sink.clear();
    let batches = sink.batches_per_sync();
    for _ in 0..batches {
        sink.write(input());
    }
    let bytes = sink.disk_bytes();
    sink.clear();
    Some(bytes? as f64 / (batches * elements) as f64)
}

/// Where criterion writes its results, found as criterion finds it.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    let metadata = std::env::var_os("CARGO").and_then(|cargo| {
        let output =
            std::process::Command::new(cargo).args(["metadata", "--format-version", "1", "--no-deps"]).output();
        serde_json::from_slice::<serde_json::Value>(&output.ok()?.stdout).ok()
    });
    match metadata.as_ref().and_then(|m| m["target_directory"].as_str()) {
        Some(target) => PathBuf::from(target).join("criterion"),
        None => PathBuf::from("target/criterion"),
    }
}

/// Prints the sizes and saves them as `<criterion dir>/<group>/sizes.json` for `cargo xtask bench`.
fn report_sizes(group: &str, element: &str, elements: usize, sizes: &[(&str, &str, f64)]) {
    println!("\n{group}: bytes on disk per {element} ({elements} per batch)");
    for (id, note, bytes) in sizes {
        println!("  {id:<38} {bytes:>9.1}  {note}");
    }
    let json = serde_json::json!({
        "element": element,
        "elements_per_batch": elements,
        "sizes": sizes
            .iter()
            .map(|(id, note, bytes)| serde_json::json!({ "id": id, "note": note, "bytes_per_element": bytes }))
            .collect::<Vec<_>>(),
    });
    let dir = criterion_dir().join(group);
    let saved = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("sizes.json"), serde_json::to_vec_pretty(&json).expect("json")));
    if let Err(e) = saved {
        eprintln!("could not save {}: {e}", dir.join("sizes.json").display());
    }
}

/// What one benchmark group stores.
struct Group<'a> {
    name: &'a str,
    /// What a row is: "span", "data point".
    element: &'a str,
    /// Elements per batch.
    elements: usize,
    /// The OTLP request the alternatives write.
    request: &'a str,
    /// How our files are laid out.
    ours_note: &'a str,
}

/// Runs one group: prints and saves the sizes, then benchmarks every alternative (`ids`), and
/// `extra` after them.
fn bench_group<T>(
    c: &mut Criterion,
    group: &Group<'_>,
    ids: &[&str],
    input: &impl Fn() -> T,
    extra: impl FnOnce(&mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>),
) where
    common::Parquet: Sink<T>,
    common::OtlpFile: Sink<T>,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let Group { name, element, elements, request, ours_note } = *group;
    let note = |id: &str| match id {
        ids::OURS => ours_note.to_owned(),
        ids::OURS_AMORTIZED => format!(
            "{} {element}s per file, durable only at each flush (default flush_rows is 100000)",
            common::FLUSH_EVERY * elements
        ),
        ids::PROTOBUF => format!("length-delimited {request}"),
        ids::PROTOBUF_ZSTD => format!("{request}, one zstd-3 frame each"),
        ids::JSON_LINES => format!("{request} as OTLP/JSON, one per line"),
        _ => String::new(),
    };
    let mut sinks: Vec<(&str, String, Box<dyn Sink<T>>)> = ids
        .iter()
        .map(|id| {
            let path = dir.path().join(id);
            std::fs::create_dir_all(&path).expect("create dir");
            (*id, note(id), common::sink(id, &path))
        })
        .collect();

    let sizes: Vec<_> = sinks
        .iter_mut()
        .filter_map(|(id, note, sink)| Some((*id, note.as_str(), bytes_per_element(sink.as_mut(), input, elements)?)))
        .collect();
    report_sizes(name, element, elements, &sizes);

    let mut bench = c.benchmark_group(name);
    // Each iteration is milliseconds of encoding plus an fsync: a few samples of many
    // iterations each, not criterion's default 100 growing ones.
    bench.throughput(Throughput::Elements(elements as u64)).sampling_mode(SamplingMode::Flat).sample_size(20);
    for (id, _, sink) in &mut sinks {
        bench.bench_function(*id, |b| b.iter_custom(|iters| measure(iters, sink.as_mut(), input)));
    }
    extra(&mut bench);
    bench.finish();
}

fn spans_to_disk(c: &mut Criterion) {
    let batches = common::make_spans(POOL);
    let next = Cell::new(0);
    let input = || {
        next.set(next.get() + 1);
        batches[next.get() % POOL].clone()
    };
    let group = Group {
        name: "spans_to_disk",
        element: "span",
        elements: common::SPANS,
        request: "ExportTraceServiceRequest",
        ours_note: "one Parquet file per batch",
    };
    let sinks =
        [ids::OURS, ids::OURS_AMORTIZED, ids::OURS_EXPORT_ONLY, ids::PROTOBUF, ids::PROTOBUF_ZSTD, ids::JSON_LINES];
    bench_group(c, &group, &sinks, &input, |bench| {
        let provider = common::dropping_provider();
        let mut maker = common::SpanMaker::new(&provider);
        bench.bench_function(ids::SDK_SPANS, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    maker.batch();
                }
                start.elapsed()
            })
        });
    });
}

fn metrics_to_disk(c: &mut Criterion) {
    let collections = common::make_metrics(POOL);
    let next = Cell::new(0);
    let input = || {
        next.set(next.get() + 1);
        &collections[next.get() % POOL]
    };
    let group = Group {
        name: "metrics_to_disk",
        element: "data point",
        elements: data_points(&collections[0]),
        request: "ExportMetricsServiceRequest",
        ours_note: "one Parquet file per table (sum, histogram, gauge here) per batch",
    };
    let sinks = [ids::OURS, ids::PROTOBUF, ids::PROTOBUF_ZSTD, ids::JSON_LINES];
    bench_group(c, &group, &sinks, &input, |_| {});
}

fn logs_to_disk(c: &mut Criterion) {
    let batches = common::make_logs(POOL);
    let refs: Vec<_> = batches.iter().map(common::log_refs).collect();
    let next = Cell::new(0);
    let input = || {
        next.set(next.get() + 1);
        refs[next.get() % POOL].as_slice()
    };
    let group = Group {
        name: "logs_to_disk",
        element: "log record",
        elements: common::LOGS,
        request: "ExportLogsServiceRequest",
        ours_note: "one Parquet file per batch",
    };
    let sinks = [ids::OURS, ids::OURS_AMORTIZED, ids::OURS_EXPORT_ONLY, ids::PROTOBUF];
    bench_group(c, &group, &sinks, &input, |_| {});
}

/// Our export counts the data points; every alternative stores the same ones.
fn data_points(metrics: &ResourceMetrics) -> usize {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = opentelemetry_parquet::OtlpLibrary::new(common::explicit_flush_config(dir.path())).expect("library");
    let points = library.export_metrics_ref(metrics).expect("export");
    library.shutdown().expect("shutdown");
    points
}

fn main() {
    // What `criterion_group!` + `criterion_main!` expand to, minus their undocumented `pub fn`.
    let mut c = Criterion::default().configure_from_args();
    spans_to_disk(&mut c);
    metrics_to_disk(&mut c);
    logs_to_disk(&mut c);
    c.final_summary();
}
