//! Export-to-disk benchmarks: opentelemetry-parquet side by side with the OTLP file formats a
//! Collector-style file exporter writes.
//!
//! Every iteration takes one batch as the SDK hands it to an exporter (512 spans, or one metrics
//! collection of 512 data points) and makes it durable on disk:
//!
//! - `opentelemetry-parquet`: our exporter (`OtlpSpanExporter::export`, or
//!   `OtlpLibrary::export_metrics_ref`), then `OtlpLibrary::flush`, which writes a zstd Parquet
//!   file per table, fsyncs it, renames it into place and fsyncs the directory.
//! - `otlp-protobuf-file`: `opentelemetry-proto`'s own SDK → OTLP transform, the request
//!   length-delimited protobuf appended to one file through a `BufWriter`, `flush` + `sync_all`.
//! - `otlp-json-lines`: the same transform, the request as one OTLP/JSON line appended to one file,
//!   `flush` + `sync_all` (the Collector's file exporter format).
//!
//! One more variant shows how our per-file cost amortizes: `opentelemetry-parquet-flush-every-64`
//! exports every batch but flushes only after every 64th (data is durable at each flush, not
//! after each batch), so one iteration costs an export plus 1/64 of a 64-batch file.
//!
//! Only that is timed: cloning the input batch (the SDK hands exporters an owned `Vec`) and
//! deleting the written files to keep disk use bounded happen outside the measurement. Before
//! measuring, the bytes a batch takes on disk are printed and written to
//! `<criterion dir>/<group>/sizes.json`, which `cargo xtask bench` reads along with criterion's
//! estimates to print the comparison. Run it with `cargo xtask bench [--quick]` or
//! `cargo bench -p opentelemetry-parquet --bench export`.

use std::cell::Cell;
use std::fs::File;
use std::future::Future;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_parquet::{Config, OtlpLibrary, OtlpSpanExporter};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData, SpanExporter as _};
use opentelemetry_sdk::Resource;

/// Spans per exported batch (the batch span processor's default `max_export_batch_size`).
const SPANS: usize = 512;
/// Spans per trace in the generated batch: one server span and its children.
const SPANS_PER_TRACE: usize = 8;
/// Iterations between two (untimed) deletions of what was written.
const CLEAN_EVERY: u64 = 256;
/// Batches per flush of the amortized variant.
const FLUSH_EVERY: usize = 64;
/// Distinct input batches, cycled through, so that a file of `FLUSH_EVERY` batches holds no
/// repeats that would flatter its compression.
const POOL: usize = FLUSH_EVERY;
/// The benchmark id of our exporter; `cargo xtask bench` reports ratios against it.
const OURS: &str = "opentelemetry-parquet";
const OURS_AMORTIZED: &str = "opentelemetry-parquet-flush-every-64";
const PROTOBUF: &str = "otlp-protobuf-file";
const JSON_LINES: &str = "otlp-json-lines";

/// `POOL` batches of 512 spans captured from a real tracer provider. A batch is 64 traces of a
/// server span and 7 children (client and internal), each span with 10 attributes (4 strings,
/// 3 ints, 2 doubles, 1 bool) and one event with 2 attributes; every 16th span failed.
fn make_spans() -> Vec<Vec<SpanData>> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let scope = InstrumentationScope::builder("checkout-service")
        .with_version("1.4.2")
        .with_schema_url("https://opentelemetry.io/schemas/1.26.0")
        .build();
    let tracer = provider.tracer_with_scope(scope);
    let methods = ["GET", "POST", "PUT", "DELETE"];
    let mut n = 0usize;
    let mut span = |kind: SpanKind, name: &'static str, parent: &Context| {
        let i = n;
        n += 1;
        let is_server = kind == SpanKind::Server;
        let attributes = vec![
            KeyValue::new("http.request.method", methods[i % methods.len()]),
            KeyValue::new("url.path", format!("/api/v1/orders/{}", 10_000 + i * 7)),
            KeyValue::new("http.route", "/api/v1/orders/{id}"),
            KeyValue::new("server.address", format!("orders-{}.internal", i % 3)),
            KeyValue::new("http.response.status_code", if i % 16 == 5 { 500_i64 } else { 200 }),
            KeyValue::new("http.request.body.size", (i as i64 * 37) % 4096),
            KeyValue::new("app.cart.items", (i % 12) as i64),
            KeyValue::new("app.cart.total", 19.99 + i as f64 * 0.73),
            KeyValue::new("app.discount.ratio", (i % 10) as f64 / 20.0),
            KeyValue::new("app.cache.hit", i % 3 == 0),
        ];
        let mut span =
            tracer.span_builder(name).with_kind(kind).with_attributes(attributes).start_with_context(&tracer, parent);
        span.add_event(
            "cache.lookup",
            vec![KeyValue::new("cache.key", format!("cart:{}", i % 97)), KeyValue::new("cache.latency_ms", 0.42)],
        );
        if i % 16 == 5 {
            span.set_status(Status::error("upstream returned 500"));
        } else if is_server {
            span.set_status(Status::Ok);
        }
        span
    };
    for _ in 0..POOL * SPANS / SPANS_PER_TRACE {
        let root = span(SpanKind::Server, "POST /api/v1/orders/{id}", &Context::new());
        let cx = Context::new().with_span(root);
        for child in 1..SPANS_PER_TRACE {
            let (kind, name) =
                if child % 2 == 0 { (SpanKind::Client, "GET inventory") } else { (SpanKind::Internal, "price cart") };
            span(kind, name, &cx).end();
        }
        cx.span().end();
    }
    // Read the spans before shutting down: the in-memory exporter forgets them on shutdown.
    let spans = exporter.get_finished_spans().expect("captured spans");
    provider.shutdown().expect("tracer provider shutdown");
    assert_eq!(spans.len(), POOL * SPANS, "captured spans");
    spans.chunks(SPANS).map(<[SpanData]>::to_vec).collect()
}

/// `POOL` successive collections of a meter provider, each 512 data points: 128 attribute sets
/// (16 routes x 4 methods x 2 status codes) on each of a counter, a histogram, an up-down
/// counter and a gauge.
fn make_metrics() -> Vec<ResourceMetrics> {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder().with_reader(PeriodicReader::builder(exporter.clone()).build()).build();
    let meter = provider.meter("checkout-service");
    let requests = meter.u64_counter("http.server.request.count").with_unit("{request}").build();
    let duration = meter
        .f64_histogram("http.server.request.duration")
        .with_unit("s")
        .with_description("Duration of HTTP server requests")
        .build();
    let active = meter.i64_up_down_counter("http.server.active_requests").with_unit("{request}").build();
    let memory = meter.f64_gauge("app.cart.value").with_unit("USD").build();
    let mut i = 0u32;
    for _ in 0..POOL {
        for route in 0..16 {
            for method in ["GET", "POST", "PUT", "DELETE"] {
                for status in [200_i64, 500] {
                    let attributes = [
                        KeyValue::new("http.route", format!("/api/v1/resource{route}/{{id}}")),
                        KeyValue::new("http.request.method", method),
                        KeyValue::new("http.response.status_code", status),
                    ];
                    for _ in 0..8 {
                        i += 1;
                        requests.add(1, &attributes);
                        duration.record(f64::from(i.wrapping_mul(7919) % 10_000) / 4999.0, &attributes);
                    }
                    active.add(i64::from(i % 7) - 3, &attributes);
                    memory.record(f64::from(i.wrapping_mul(104_729) % 100_000) / 100.0, &attributes);
                }
            }
        }
        provider.force_flush().expect("meter provider flush");
    }
    let collections = exporter.get_finished_metrics().expect("collected metrics");
    provider.shutdown().expect("meter provider shutdown");
    assert_eq!(collections.len(), POOL, "collections");
    collections
}

/// Drives a future to completion on this thread; our exporter's is ready at once.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::yield_now();
    }
}

/// One way of getting batches onto disk.
trait Sink<T> {
    /// Exports one batch. When it returns, the batch is durable on disk, except in the amortized
    /// variant, where that holds only for every `batches_per_sync`-th call.
    fn write(&mut self, batch: T);
    /// Batches that become durable together (and, for ours, share one file per table).
    fn batches_per_sync(&self) -> usize {
        1
    }
    /// Deletes what was written (never timed), so disk use stays bounded.
    fn clear(&mut self);
    /// Bytes written and not yet deleted.
    fn disk_bytes(&self) -> u64;
}

/// Our library with one exporter; only explicit flushes write.
struct Parquet {
    library: OtlpLibrary,
    exporter: OtlpSpanExporter,
    dir: PathBuf,
    flush_every: usize,
    unflushed: usize,
}

impl Parquet {
    fn new(dir: &Path, flush_every: usize) -> Parquet {
        let config = Config::builder()
            .output_dir(dir)
            .flush_rows(1 << 30)
            .flush_bytes(1 << 34)
            .max_buffer_bytes(1 << 34)
            .flush_interval(Duration::from_secs(24 * 3600))
            .build()
            .expect("config");
        let library = OtlpLibrary::new(config).expect("library");
        Parquet { exporter: library.span_exporter(), library, dir: dir.to_path_buf(), flush_every, unflushed: 0 }
    }

    fn exported(&mut self) {
        self.unflushed += 1;
        if self.unflushed == self.flush_every {
            self.library.flush().expect("flush");
            self.unflushed = 0;
        }
    }
}

impl Sink<Vec<SpanData>> for Parquet {
    fn write(&mut self, batch: Vec<SpanData>) {
        block_on(self.exporter.export(batch)).expect("export");
        self.exported();
    }
    fn batches_per_sync(&self) -> usize {
        self.flush_every
    }
    fn clear(&mut self) {
        clear_dir(&self.dir);
    }
    fn disk_bytes(&self) -> u64 {
        dir_bytes(&self.dir)
    }
}

impl Sink<&ResourceMetrics> for Parquet {
    fn write(&mut self, metrics: &ResourceMetrics) {
        self.library.export_metrics_ref(metrics).expect("export");
        self.exported();
    }
    fn batches_per_sync(&self) -> usize {
        self.flush_every
    }
    fn clear(&mut self) {
        clear_dir(&self.dir);
    }
    fn disk_bytes(&self) -> u64 {
        dir_bytes(&self.dir)
    }
}

#[derive(Clone, Copy)]
enum Encoding {
    /// Length-delimited protobuf records.
    Protobuf,
    /// One OTLP/JSON request per line.
    JsonLines,
}

/// An append-only OTLP file, as a Collector-style file exporter keeps one.
struct OtlpFile {
    path: PathBuf,
    out: BufWriter<File>,
    encoding: Encoding,
    /// Reused protobuf encoding buffer.
    buf: Vec<u8>,
    /// The resource, converted once as an OTLP exporter does in `set_resource`.
    resource: ResourceAttributesWithSchema,
}

impl OtlpFile {
    fn new(dir: &Path, encoding: Encoding) -> OtlpFile {
        let path = dir.join(match encoding {
            Encoding::Protobuf => "export.binpb",
            Encoding::JsonLines => "export.jsonl",
        });
        OtlpFile {
            out: BufWriter::new(File::create(&path).expect("create file")),
            path,
            encoding,
            buf: Vec::new(),
            resource: ResourceAttributesWithSchema::from(&Resource::builder().build()),
        }
    }

    fn append<M: prost::Message + serde::Serialize>(&mut self, request: &M) {
        match self.encoding {
            Encoding::Protobuf => {
                self.buf.clear();
                request.encode_length_delimited(&mut self.buf).expect("encode");
                self.out.write_all(&self.buf).expect("write");
            }
            Encoding::JsonLines => {
                serde_json::to_writer(&mut self.out, request).expect("serialize");
                self.out.write_all(b"\n").expect("write");
            }
        }
        self.out.flush().expect("flush");
        self.out.get_ref().sync_all().expect("sync");
    }

    fn truncate(&mut self) {
        self.out = BufWriter::new(File::create(&self.path).expect("recreate file"));
    }

    fn len(&self) -> u64 {
        std::fs::metadata(&self.path).expect("file metadata").len()
    }
}

impl Sink<Vec<SpanData>> for OtlpFile {
    fn write(&mut self, batch: Vec<SpanData>) {
        let request =
            ExportTraceServiceRequest { resource_spans: group_spans_by_resource_and_scope(batch, &self.resource) };
        self.append(&request);
    }
    fn clear(&mut self) {
        self.truncate();
    }
    fn disk_bytes(&self) -> u64 {
        self.len()
    }
}

impl Sink<&ResourceMetrics> for OtlpFile {
    fn write(&mut self, metrics: &ResourceMetrics) {
        self.append(&ExportMetricsServiceRequest::from(metrics));
    }
    fn clear(&mut self) {
        self.truncate();
    }
    fn disk_bytes(&self) -> u64 {
        self.len()
    }
}

/// Deletes everything inside `dir`.
fn clear_dir(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).expect("remove dir");
        } else {
            std::fs::remove_file(&path).expect("remove file");
        }
    }
}

/// Total size of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                dir_bytes(&path)
            } else {
                entry.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}

/// Times `iters` writes of `input()`; input creation and the periodic `clear` are not timed.
fn measure<T>(iters: u64, sink: &mut dyn Sink<T>, input: &impl Fn() -> T) -> Duration {
    let mut total = Duration::ZERO;
    for i in 1..=iters {
        let batch = input();
        let start = Instant::now();
        sink.write(batch);
        total += start.elapsed();
        if i % CLEAN_EVERY == 0 {
            sink.clear();
        }
    }
    sink.clear();
    total
}

/// Bytes on disk per element once `batches_per_sync` batches were written.
fn bytes_per_element<T>(sink: &mut dyn Sink<T>, input: &impl Fn() -> T, elements: usize) -> f64 {
    sink.clear();
    let batches = sink.batches_per_sync();
    for _ in 0..batches {
        sink.write(input());
    }
    let bytes = sink.disk_bytes();
    sink.clear();
    bytes as f64 / (batches * elements) as f64
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

/// Runs one group: prints and saves the sizes, then benchmarks every alternative.
fn bench_group<T>(c: &mut Criterion, group: &Group<'_>, input: &impl Fn() -> T)
where
    Parquet: Sink<T>,
    OtlpFile: Sink<T>,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = |name: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(&path).expect("create dir");
        path
    };
    let Group { name, element, elements, request, ours_note } = *group;
    let amortized_note = format!(
        "{} {element}s per file, durable only at each flush (default flush_rows is 100000)",
        FLUSH_EVERY * elements
    );
    let mut sinks: Vec<(&str, String, Box<dyn Sink<T>>)> = vec![
        (OURS, ours_note.into(), Box::new(Parquet::new(&sub("parquet"), 1))),
        (OURS_AMORTIZED, amortized_note, Box::new(Parquet::new(&sub("parquet-amortized"), FLUSH_EVERY))),
        (
            PROTOBUF,
            format!("length-delimited {request}"),
            Box::new(OtlpFile::new(&sub("protobuf"), Encoding::Protobuf)),
        ),
        (
            JSON_LINES,
            format!("{request} as OTLP/JSON, one per line"),
            Box::new(OtlpFile::new(&sub("json"), Encoding::JsonLines)),
        ),
    ];

    let sizes: Vec<_> = sinks
        .iter_mut()
        .map(|(id, note, sink)| (*id, note.as_str(), bytes_per_element(sink.as_mut(), input, elements)))
        .collect();
    report_sizes(name, element, elements, &sizes);

    let mut bench = c.benchmark_group(name);
    // Each iteration is milliseconds of encoding plus an fsync: a few samples of many
    // iterations each, not criterion's default 100 growing ones.
    bench.throughput(Throughput::Elements(elements as u64)).sampling_mode(SamplingMode::Flat).sample_size(20);
    for (id, _, sink) in &mut sinks {
        bench.bench_function(*id, |b| b.iter_custom(|iters| measure(iters, sink.as_mut(), input)));
    }
    bench.finish();
}

fn spans_to_disk(c: &mut Criterion) {
    let batches = make_spans();
    let next = Cell::new(0);
    let input = || {
        next.set(next.get() + 1);
        batches[next.get() % POOL].clone()
    };
    let group = Group {
        name: "spans_to_disk",
        element: "span",
        elements: SPANS,
        request: "ExportTraceServiceRequest",
        ours_note: "one Parquet file per batch",
    };
    bench_group(c, &group, &input);
}

fn metrics_to_disk(c: &mut Criterion) {
    let collections = make_metrics();
    let next = Cell::new(0);
    let input = || {
        next.set(next.get() + 1);
        &collections[next.get() % POOL]
    };
    // Our export counts the data points; every alternative stores the same ones.
    let dir = tempfile::tempdir().expect("tempdir");
    let counter = Parquet::new(dir.path(), 1);
    let points = counter.library.export_metrics_ref(&collections[0]).expect("export");
    counter.library.shutdown().expect("shutdown");
    let group = Group {
        name: "metrics_to_disk",
        element: "data point",
        elements: points,
        request: "ExportMetricsServiceRequest",
        ours_note: "one Parquet file per table (sum, histogram, gauge here) per batch",
    };
    bench_group(c, &group, &input);
}

fn main() {
    // What `criterion_group!` + `criterion_main!` expand to, minus their undocumented `pub fn`.
    let mut c = Criterion::default().configure_from_args();
    spans_to_disk(&mut c);
    metrics_to_disk(&mut c);
    c.final_summary();
}
