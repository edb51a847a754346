//! [`OtlpLibrary`]: the shared store every exporter writes into.

use std::sync::Arc;
use std::time::Duration;

use prost::Message as _;

use crate::buffer::{Deferred, OtlpItemsExport};
use crate::config::Config;
use crate::error::{OtlpError, Result};
use crate::lifecycle::Handle;
use crate::prepare::{PreparedItems, PreparedMetrics};
use crate::proto::collector::logs::v1::ExportLogsServiceRequest;
use crate::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use crate::proto::collector::trace::v1::ExportTraceServiceRequest;
use crate::sdk::{OtlpLogsRequest, OtlpMetricsRequest, OtlpTracesRequest, SdkResourceMetrics, SdkSpanData};
use crate::table::resource::ResourceInfo;

/// Buffers OpenTelemetry data and writes it as Parquet (or Arrow IPC) files.
///
/// Cheap to clone: clones share one buffer and one background writer thread. Exports only
/// append to memory; all disk I/O happens on the writer thread, so `OtlpLibrary` works without
/// an async runtime and does not block a tokio executor on disk I/O. Data is flushed every
/// `flush_interval`, when the buffer passes `flush_rows` / `flush_bytes`, on
/// [`flush`](Self::flush), on [`shutdown`](Self::shutdown), and when the last clone (including
/// those held by exporters) is dropped.
///
/// # Example
/// ```
/// use opentelemetry_parquet::{Config, OtlpLibrary};
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use opentelemetry::trace::{Tracer, TracerProvider};
///
/// # let dir = tempfile::tempdir()?;
/// let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build()?)?;
/// let provider = SdkTracerProvider::builder()
///     .with_batch_exporter(library.span_exporter())
///     .build();
/// provider.tracer("example").in_span("work", |_cx| {});
/// provider.shutdown()?; // flushes: the span is on disk now
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct OtlpLibrary {
    pub(crate) handle: Arc<Handle>,
}

impl std::fmt::Debug for OtlpLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpLibrary").field("output_dir", &self.handle.config().output_dir()).finish()
    }
}

impl OtlpLibrary {
    /// Creates the output directory (checking that it is writable) and removes temporary files
    /// that crashed writers left in it. The writer thread starts on the first export or flush,
    /// so a process may create a library and then `fork()`.
    ///
    /// # Errors
    /// [`OtlpError::OutputDir`] when the directory cannot be created or written (or made
    /// absolute).
    pub fn new(config: Config) -> Result<OtlpLibrary> {
        Ok(OtlpLibrary { handle: Arc::new(Handle::new(config.with_absolute_output_dir()?)?) })
    }

    /// The configuration this library was created with.
    pub fn config(&self) -> &Config {
        self.handle.config()
    }

    /// Stores SDK spans (`opentelemetry_sdk::trace::SpanData` of an enabled SDK version) with
    /// the SDK's default resource (`service.name` from `OTEL_SERVICE_NAME`,
    /// `OTEL_RESOURCE_ATTRIBUTES`, `telemetry.sdk.*`), the one a tracer provider without
    /// `with_resource` uses; returns the rows accepted.
    ///
    /// # Errors
    /// Nothing of the export is stored when it fails:
    /// [`OtlpError::AlreadyShutdown`] after [`shutdown`](Self::shutdown);
    /// [`OtlpError::BufferFull`] when no buffer space was freed within `export_timeout`;
    /// [`OtlpError::ExportTooLarge`] when the export can never fit (`max_buffer_bytes`, or a
    /// row over 1 GiB); [`OtlpError::Decode`] (OTLP inputs) for a value nested deeper than
    /// [`MAX_VALUE_DEPTH`](crate::MAX_VALUE_DEPTH); [`OtlpError::WriterFailed`] when the writer
    /// thread failed; [`OtlpError::ForkedProcess`] in a forked child.
    pub fn export_traces<S: SdkSpanData>(&self, spans: Vec<S>) -> Result<usize> {
        S::export_to(self, spans, None)
    }

    /// Stores SDK spans with the resource they came from (an `opentelemetry_sdk::Resource` of
    /// the spans' SDK version); returns the rows accepted.
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_traces_with_resource<S: SdkSpanData>(&self, spans: Vec<S>, resource: &S::Resource) -> Result<usize> {
        S::export_to(self, spans, Some(resource))
    }

    /// Stores the SDK's metrics (`opentelemetry_sdk::metrics::data::ResourceMetrics` of an
    /// enabled SDK version), taking ownership; the rows are identical to
    /// [`export_metrics_ref`](Self::export_metrics_ref).
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_metrics<M: SdkResourceMetrics>(&self, metrics: M) -> Result<usize> {
        self.export_metrics_ref(&metrics)
    }

    /// Stores the SDK's metrics by reference: data points are read in place and appended to the
    /// column buffers, never copied into an intermediate structure.
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_metrics_ref<M: SdkResourceMetrics + ?Sized>(&self, metrics: &M) -> Result<usize> {
        metrics.export_to(self)
    }

    /// The SDK's default resource of SDK version `version` (see `crate::sdk`), rendered once.
    pub(crate) fn default_resource(&self, version: usize, render: fn() -> ResourceInfo) -> Result<Arc<ResourceInfo>> {
        Ok(self.handle.shared()?.default_resources[version].get_or_init(|| Arc::new(render())).clone())
    }

    /// Accepts an export that the buffer holds as it came (see `buffer::DeferredExport`), prepared
    /// by `prepare` once the library is known to accept exports.
    pub(crate) fn export_deferred(&self, prepare: impl FnOnce() -> Result<Deferred>) -> Result<usize> {
        let shared = self.handle.shared()?;
        let export = prepare()?;
        shared.ingest(export.bytes(), |b| b.defer(export))
    }

    /// Accepts an export appended to the builders at once: `prepare` validates and measures it
    /// (outside the lock), `append` appends it (under the lock).
    pub(crate) fn export_prepared<P>(
        &self,
        prepare: impl FnOnce() -> Result<P>,
        bytes: impl FnOnce(&P) -> usize,
        append: impl FnOnce(&mut crate::buffer::Buffer, &P) -> usize,
    ) -> Result<usize> {
        let shared = self.handle.shared()?;
        let prepared = prepare()?;
        shared.ingest(bytes(&prepared), |b| append(b, &prepared))
    }

    /// Stores a decoded OTLP traces request (`ExportTraceServiceRequest` of [`crate::proto`],
    /// or of the older `opentelemetry-proto` when both SDK features are enabled); returns the
    /// spans accepted.
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_otlp_traces(&self, request: &impl OtlpTracesRequest) -> Result<usize> {
        let request = request.current()?;
        self.export_prepared(|| PreparedItems::new(&*request), |p| p.bytes, |b, p| b.append_otlp_items(&*request, p))
    }

    /// As [`export_otlp_traces`](Self::export_otlp_traces), taking the request: it is validated
    /// and measured now, kept as it is, and turned into columns by the writer thread, so the
    /// call returns sooner (the Python exporters and `export_otlp_traces_bytes` use this).
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_otlp_traces_owned(&self, request: impl OtlpTracesRequest) -> Result<usize> {
        let request = request.into_current()?;
        self.export_deferred(|| {
            let prepared = PreparedItems::new(&request)?;
            Ok(Box::new(OtlpItemsExport { request, prepared }))
        })
    }

    /// Stores a decoded OTLP metrics request (of either enabled `opentelemetry-proto`, as
    /// [`export_otlp_traces`](Self::export_otlp_traces)); returns the data points accepted.
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_otlp_metrics(&self, request: &impl OtlpMetricsRequest) -> Result<usize> {
        let request = request.current()?;
        self.export_prepared(|| PreparedMetrics::new(&request), |p| p.bytes, |b, p| b.append_otlp_metrics(p))
    }

    /// Decodes and stores a protobuf-encoded `ExportTraceServiceRequest`.
    ///
    /// # Errors
    /// [`OtlpError::Decode`] (and nothing stored) when the bytes are not a valid request; otherwise
    /// as [`export_traces`](Self::export_traces).
    pub fn export_otlp_traces_bytes(&self, bytes: &[u8]) -> Result<usize> {
        let request = ExportTraceServiceRequest::decode(bytes)
            .map_err(|e| OtlpError::Decode { message: "ExportTraceServiceRequest", reason: e.to_string() })?;
        self.export_otlp_traces_owned(request)
    }

    /// Decodes and stores a protobuf-encoded `ExportMetricsServiceRequest`.
    ///
    /// # Errors
    /// As [`export_otlp_traces_bytes`](Self::export_otlp_traces_bytes).
    pub fn export_otlp_metrics_bytes(&self, bytes: &[u8]) -> Result<usize> {
        let request = ExportMetricsServiceRequest::decode(bytes)
            .map_err(|e| OtlpError::Decode { message: "ExportMetricsServiceRequest", reason: e.to_string() })?;
        self.export_otlp_metrics(&request)
    }

    /// Stores a decoded OTLP logs request (of either enabled `opentelemetry-proto`, as
    /// [`export_otlp_traces`](Self::export_otlp_traces)); returns the log records accepted.
    /// Each is a row of the `logs` table, partitioned by its time (its observed time when it
    /// has none).
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_otlp_logs(&self, request: &impl OtlpLogsRequest) -> Result<usize> {
        let request = request.current()?;
        self.export_prepared(|| PreparedItems::new(&*request), |p| p.bytes, |b, p| b.append_otlp_items(&*request, p))
    }

    /// As [`export_otlp_logs`](Self::export_otlp_logs), taking the request (see
    /// [`export_otlp_traces_owned`](Self::export_otlp_traces_owned)).
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_otlp_logs_owned(&self, request: impl OtlpLogsRequest) -> Result<usize> {
        let request = request.into_current()?;
        self.export_deferred(|| {
            let prepared = PreparedItems::new(&request)?;
            Ok(Box::new(OtlpItemsExport { request, prepared }))
        })
    }

    /// Decodes and stores a protobuf-encoded `ExportLogsServiceRequest`.
    ///
    /// # Errors
    /// As [`export_otlp_traces_bytes`](Self::export_otlp_traces_bytes).
    pub fn export_otlp_logs_bytes(&self, bytes: &[u8]) -> Result<usize> {
        let request = ExportLogsServiceRequest::decode(bytes)
            .map_err(|e| OtlpError::Decode { message: "ExportLogsServiceRequest", reason: e.to_string() })?;
        self.export_otlp_logs_owned(request)
    }

    /// Writes everything accepted so far; when it returns `Ok`, that data is durably on disk.
    /// Waits at most `export_timeout`.
    ///
    /// # Errors
    /// [`OtlpError::FlushFailed`] when a write failed (the data stays buffered and is retried);
    /// [`OtlpError::Timeout`] when the write did not finish in time (it continues in the background).
    pub fn flush(&self) -> Result<()> {
        self.flush_with_timeout(self.config().export_timeout())
    }

    /// [`flush`](Self::flush) with an explicit time limit.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    pub fn flush_with_timeout(&self, timeout: Duration) -> Result<()> {
        self.handle.shared()?.flush(timeout)
    }

    /// Flushes, then stops the writer thread. Idempotent: later calls return `Ok`. Afterwards
    /// every export returns [`OtlpError::AlreadyShutdown`].
    ///
    /// # Errors
    /// As [`flush`](Self::flush); on a timeout the writer thread keeps running until done.
    pub fn shutdown(&self) -> Result<()> {
        self.shutdown_with_timeout(self.config().export_timeout())
    }

    /// [`shutdown`](Self::shutdown) with an explicit time limit.
    ///
    /// # Errors
    /// As [`shutdown`](Self::shutdown).
    pub fn shutdown_with_timeout(&self, timeout: Duration) -> Result<()> {
        self.handle.shutdown(timeout)
    }

    /// What retention did since this library started: passes run, files and bytes deleted,
    /// orphaned temporary files of crashed writers removed, deletions deferred, the last error.
    /// All zero when no retention limit is set (orphans are still removed).
    ///
    /// # Errors
    /// [`OtlpError::ForkedProcess`] in a forked child.
    pub fn retention_stats(&self) -> Result<crate::RetentionStats> {
        self.handle.retention_stats()
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.handle.shared().map_or(true, |s| s.lock().shutdown)
    }
}
