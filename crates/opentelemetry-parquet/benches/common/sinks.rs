//! The ways of getting a batch onto disk: ours (three flush policies) and the OTLP files.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry_parquet::{Config, OtlpLibrary, OtlpLogExporter, OtlpSpanExporter};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::logs::{LogBatch, LogExporter as _, SdkLogRecord};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};
use opentelemetry_sdk::Resource;

use super::{block_on, FLUSH_EVERY};

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

/// Our library with one exporter per signal; only explicit flushes write.
pub struct Parquet {
    pub library: OtlpLibrary,
    exporter: OtlpSpanExporter,
    log_exporter: OtlpLogExporter,
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
        let (exporter, log_exporter) = (library.span_exporter(), library.log_exporter());
        Parquet { exporter, log_exporter, library, dir: dir.to_path_buf(), flush, unflushed: 0 }
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

/// A log batch as the SDK lends it (`common::log_refs`).
pub type LogRefs<'a> = &'a [(&'a SdkLogRecord, &'a InstrumentationScope)];

impl ParquetInput for LogRefs<'_> {
    fn export(self, to: &Parquet) {
        block_on(to.log_exporter.export(LogBatch::new(self))).expect("export");
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

impl Sink<LogRefs<'_>> for OtlpFile {
    fn write(&mut self, batch: LogRefs<'_>) {
        let resource_logs = group_logs_by_resource_and_scope(LogBatch::new(batch), &self.resource);
        self.append(&ExportLogsServiceRequest { resource_logs });
    }
    fn clear(&mut self) {
        self.out = BufWriter::new(File::create(&self.path).expect("recreate file"));
    }
    fn disk_bytes(&self) -> Option<u64> {
        Some(std::fs::metadata(&self.path).expect("file metadata").len())
    }
}

/// Deletes what was written inside `dir`: the data, not a library's hidden files (`.writers/`),
/// which its writer thread may still be updating after a flush returned (the retention pass
/// after a cycle publishes the cycle's files there).
pub fn clear_dir(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
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
