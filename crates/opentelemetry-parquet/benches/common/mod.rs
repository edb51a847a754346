//! What every benchmark binary shares: the workloads (spans from a real SDK tracer, collections
//! of a real meter provider) and the ways of getting a batch onto disk ("sinks"): ours, and the
//! OTLP file formats a Collector-style file exporter writes.

// Each benchmark binary uses part of this.
#![allow(dead_code)]

use std::fs::File;
use std::future::Future;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_parquet::{Config, OtlpLibrary, OtlpSpanExporter};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, SdkTracer, SdkTracerProvider, Span, SpanData, SpanExporter as _, SpanProcessor,
};
use opentelemetry_sdk::Resource;

/// Spans per exported batch (the batch span processor's default `max_export_batch_size`).
pub const SPANS: usize = 512;
/// Spans per trace in the generated batch: one server span and its children.
const SPANS_PER_TRACE: usize = 8;
/// Batches per flush of the amortized variant.
pub const FLUSH_EVERY: usize = 64;
/// Metric series per collection: 250 attribute sets on each of 4 instruments.
pub const SERIES: usize = 1000;

/// Makes spans as an instrumented service does, with a tracer of a real SDK provider.
pub struct SpanMaker {
    tracer: SdkTracer,
    n: usize,
}

impl SpanMaker {
    pub fn new(provider: &SdkTracerProvider) -> SpanMaker {
        let scope = InstrumentationScope::builder("checkout-service")
            .with_version("1.4.2")
            .with_schema_url("https://opentelemetry.io/schemas/1.26.0")
            .build();
        SpanMaker { tracer: provider.tracer_with_scope(scope), n: 0 }
    }

    /// One batch worth of spans, started and ended: 64 traces of a server span and 7 children
    /// (client and internal), each span with 10 attributes (4 strings, 3 ints, 2 doubles, 1 bool)
    /// and one event with 2 attributes; every 16th span failed.
    pub fn batch(&mut self) {
        for _ in 0..SPANS / SPANS_PER_TRACE {
            let root = self.span(SpanKind::Server, "POST /api/v1/orders/{id}", &Context::new());
            let cx = Context::new().with_span(root);
            for child in 1..SPANS_PER_TRACE {
                let (kind, name) = if child % 2 == 0 {
                    (SpanKind::Client, "GET inventory")
                } else {
                    (SpanKind::Internal, "price cart")
                };
                self.span(kind, name, &cx).end();
            }
            cx.span().end();
        }
    }

    fn span(&mut self, kind: SpanKind, name: &'static str, parent: &Context) -> opentelemetry_sdk::trace::Span {
        const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
        let i = self.n;
        self.n += 1;
        let is_server = kind == SpanKind::Server;
        let attributes = vec![
            KeyValue::new("http.request.method", METHODS[i % METHODS.len()]),
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
        let mut span = self
            .tracer
            .span_builder(name)
            .with_kind(kind)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, parent);
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
    }
}

/// `pool` batches of 512 spans captured from a real tracer provider (see [`SpanMaker::batch`]).
pub fn make_spans(pool: usize) -> Vec<Vec<SpanData>> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let mut maker = SpanMaker::new(&provider);
    for _ in 0..pool {
        maker.batch();
    }
    // Read the spans before shutting down: the in-memory exporter forgets them on shutdown.
    let spans = exporter.get_finished_spans().expect("captured spans");
    provider.shutdown().expect("tracer provider shutdown");
    assert_eq!(spans.len(), pool * SPANS, "captured spans");
    spans.chunks(SPANS).map(<[SpanData]>::to_vec).collect()
}

/// A span processor that drops every ended span: what is left is the SDK's cost of making it.
#[derive(Debug)]
pub struct DropSpans;

impl SpanProcessor for DropSpans {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}
    fn on_end(&self, span: SpanData) {
        drop(std::hint::black_box(span));
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// A tracer provider whose spans are made and then dropped ([`DropSpans`]).
pub fn dropping_provider() -> SdkTracerProvider {
    SdkTracerProvider::builder().with_span_processor(DropSpans).build()
}

/// `pool` successive collections of a meter provider, each of [`SERIES`] data points: 250
/// attribute sets (25 routes x 5 methods x 2 status codes) on each of a counter, a histogram, an
/// up-down counter and a gauge (cumulative temporality).
pub fn make_metrics(pool: usize) -> Vec<ResourceMetrics> {
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
    let value = meter.f64_gauge("app.cart.value").with_unit("USD").build();
    let mut i = 0u32;
    for _ in 0..pool {
        for route in 0..25 {
            for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
                for status in [200_i64, 500] {
                    let attributes = [
                        KeyValue::new("http.route", format!("/api/v1/resource{route}/{{id}}")),
                        KeyValue::new("http.request.method", method),
                        KeyValue::new("http.response.status_code", status),
                    ];
                    for _ in 0..4 {
                        i += 1;
                        requests.add(1, &attributes);
                        duration.record(f64::from(i.wrapping_mul(7919) % 10_000) / 4999.0, &attributes);
                    }
                    active.add(i64::from(i % 7) - 3, &attributes);
                    value.record(f64::from(i.wrapping_mul(104_729) % 100_000) / 100.0, &attributes);
                }
            }
        }
        provider.force_flush().expect("meter provider flush");
    }
    let collections = exporter.get_finished_metrics().expect("collected metrics");
    provider.shutdown().expect("meter provider shutdown");
    assert_eq!(collections.len(), pool, "collections");
    collections
}

/// Drives a future to completion on this thread; our exporter's is ready at once.
pub fn block_on<F: Future>(future: F) -> F::Output {
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
pub trait Sink<T> {
    /// Exports one batch. When it returns, the batch is durable on disk, except in the amortized
    /// variant (durable only at every `batches_per_sync`-th call) and the export-only one.
    fn write(&mut self, batch: T);
    /// Batches that become durable together (and, for ours, share one file per table).
    fn batches_per_sync(&self) -> usize {
        1
    }
    /// What happens after a write and is not part of it (never timed): the export-only variant
    /// flushes here now and then so that its buffer stays bounded.
    fn after_write(&mut self) {}
    /// Makes what the last writes left pending durable (ours flushes when it has unflushed
    /// batches and flushes as part of its writes; the export-only variant never does).
    fn finish(&mut self) {}
    /// Deletes what was written (never timed), so disk use stays bounded.
    fn clear(&mut self);
    /// Bytes written and not yet deleted (`None`: this sink does not write files by itself).
    fn disk_bytes(&self) -> Option<u64>;
}

/// How our sink flushes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Flush {
    /// After every `n`-th batch, as part of the write.
    Every(usize),
    /// Never as part of the write (only untimed, in [`Sink::after_write`], every 64 batches).
    Untimed,
}

/// Our library with one exporter; only explicit flushes write.
pub struct Parquet {
    pub library: OtlpLibrary,
    exporter: OtlpSpanExporter,
    dir: PathBuf,
    flush: Flush,
    unflushed: usize,
}

/// A configuration under which nothing but an explicit flush writes.
pub fn explicit_flush_config(dir: &Path) -> Config {
    Config::builder()
        .output_dir(dir)
        .flush_rows(1 << 30)
        .flush_bytes(1 << 34)
        .max_buffer_bytes(1 << 34)
        .flush_interval(Duration::from_secs(24 * 3600))
        .build()
        .expect("config")
}

impl Parquet {
    pub fn new(dir: &Path, flush: Flush) -> Parquet {
        let library = OtlpLibrary::new(explicit_flush_config(dir)).expect("library");
        Parquet { exporter: library.span_exporter(), library, dir: dir.to_path_buf(), flush, unflushed: 0 }
    }

    fn exported(&mut self) {
        self.unflushed += 1;
        if self.flush == Flush::Every(self.unflushed) {
            self.library.flush().expect("flush");
            self.unflushed = 0;
        }
    }
}

impl<T: ParquetInput> Sink<T> for Parquet {
    fn write(&mut self, batch: T) {
        batch.export(self);
        self.exported();
    }
    fn batches_per_sync(&self) -> usize {
        match self.flush {
            Flush::Every(n) => n,
            Flush::Untimed => FLUSH_EVERY,
        }
    }
    fn after_write(&mut self) {
        if self.flush == Flush::Untimed && self.unflushed >= FLUSH_EVERY {
            self.library.flush().expect("flush");
            self.unflushed = 0;
        }
    }
    fn finish(&mut self) {
        if self.flush != Flush::Untimed && self.unflushed > 0 {
            self.library.flush().expect("flush");
            self.unflushed = 0;
        }
    }
    fn clear(&mut self) {
        clear_dir(&self.dir);
    }
    fn disk_bytes(&self) -> Option<u64> {
        (self.flush != Flush::Untimed).then(|| dir_bytes(&self.dir))
    }
}

/// A batch our library takes.
pub trait ParquetInput {
    fn export(self, to: &Parquet);
}

impl ParquetInput for Vec<SpanData> {
    fn export(self, to: &Parquet) {
        block_on(to.exporter.export(self)).expect("export");
    }
}

impl ParquetInput for &ResourceMetrics {
    fn export(self, to: &Parquet) {
        to.library.export_metrics_ref(self).expect("export");
    }
}

/// How an OTLP file stores its requests.
#[derive(Clone, Copy, Debug)]
pub enum Encoding {
    /// Length-delimited protobuf records.
    Protobuf,
    /// Each request's protobuf compressed as one zstd frame (level 3), length-prefixed.
    ProtobufZstd,
    /// One OTLP/JSON request per line.
    JsonLines,
}

/// An append-only OTLP file, as a Collector-style file exporter keeps one; every write ends
/// with `flush` + `sync_all`.
pub struct OtlpFile {
    path: PathBuf,
    out: BufWriter<File>,
    encoding: Encoding,
    /// Reused protobuf encoding buffer.
    buf: Vec<u8>,
    /// Reused zstd context and output buffer.
    zstd: zstd::bulk::Compressor<'static>,
    compressed: Vec<u8>,
    /// The resource, converted once as an OTLP exporter does in `set_resource`.
    resource: ResourceAttributesWithSchema,
}

impl OtlpFile {
    pub fn new(dir: &Path, encoding: Encoding) -> OtlpFile {
        let path = dir.join(match encoding {
            Encoding::Protobuf => "export.binpb",
            Encoding::ProtobufZstd => "export.binpb.zst",
            Encoding::JsonLines => "export.jsonl",
        });
        OtlpFile {
            out: BufWriter::new(File::create(&path).expect("create file")),
            path,
            encoding,
            buf: Vec::new(),
            zstd: zstd::bulk::Compressor::new(3).expect("zstd context"),
            compressed: Vec::new(),
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
            Encoding::ProtobufZstd => {
                self.buf.clear();
                request.encode(&mut self.buf).expect("encode");
                self.compressed.clear();
                self.compressed.reserve(zstd::zstd_safe::compress_bound(self.buf.len()));
                self.zstd.compress_to_buffer(&self.buf, &mut self.compressed).expect("compress");
                self.out.write_all(&(self.compressed.len() as u32).to_le_bytes()).expect("write");
                self.out.write_all(&self.compressed).expect("write");
            }
            Encoding::JsonLines => {
                serde_json::to_writer(&mut self.out, request).expect("serialize");
                self.out.write_all(b"\n").expect("write");
            }
        }
        self.out.flush().expect("flush");
        self.out.get_ref().sync_all().expect("sync");
    }
}

impl Sink<Vec<SpanData>> for OtlpFile {
    fn write(&mut self, batch: Vec<SpanData>) {
        let request =
            ExportTraceServiceRequest { resource_spans: group_spans_by_resource_and_scope(batch, &self.resource) };
        self.append(&request);
    }
    fn clear(&mut self) {
        self.out = BufWriter::new(File::create(&self.path).expect("recreate file"));
    }
    fn disk_bytes(&self) -> Option<u64> {
        Some(std::fs::metadata(&self.path).expect("file metadata").len())
    }
}

impl Sink<&ResourceMetrics> for OtlpFile {
    fn write(&mut self, metrics: &ResourceMetrics) {
        self.append(&ExportMetricsServiceRequest::from(metrics));
    }
    fn clear(&mut self) {
        self.out = BufWriter::new(File::create(&self.path).expect("recreate file"));
    }
    fn disk_bytes(&self) -> Option<u64> {
        Some(std::fs::metadata(&self.path).expect("file metadata").len())
    }
}

/// Deletes everything inside `dir`.
pub fn clear_dir(dir: &Path) {
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
pub fn dir_bytes(dir: &Path) -> u64 {
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

/// The benchmark ids, shared by the criterion bench, the callgrind runner and `cargo xtask bench`.
pub mod ids {
    pub const OURS: &str = "opentelemetry-parquet";
    pub const OURS_AMORTIZED: &str = "opentelemetry-parquet-flush-every-64";
    pub const OURS_EXPORT_ONLY: &str = "opentelemetry-parquet-export-only";
    pub const PROTOBUF: &str = "otlp-protobuf-file";
    pub const PROTOBUF_ZSTD: &str = "otlp-protobuf-zstd3-file";
    pub const JSON_LINES: &str = "otlp-json-lines";
    pub const SDK_SPANS: &str = "sdk-span-creation";
}

/// The sink of a benchmark id (not [`ids::SDK_SPANS`], which has none), writing under `dir`.
pub fn sink<T>(id: &str, dir: &Path) -> Box<dyn Sink<T>>
where
    Parquet: Sink<T>,
    OtlpFile: Sink<T>,
{
    match id {
        ids::OURS => Box::new(Parquet::new(dir, Flush::Every(1))),
        ids::OURS_AMORTIZED => Box::new(Parquet::new(dir, Flush::Every(FLUSH_EVERY))),
        ids::OURS_EXPORT_ONLY => Box::new(Parquet::new(dir, Flush::Untimed)),
        ids::PROTOBUF => Box::new(OtlpFile::new(dir, Encoding::Protobuf)),
        ids::PROTOBUF_ZSTD => Box::new(OtlpFile::new(dir, Encoding::ProtobufZstd)),
        ids::JSON_LINES => Box::new(OtlpFile::new(dir, Encoding::JsonLines)),
        other => panic!("no sink {other}"),
    }
}
