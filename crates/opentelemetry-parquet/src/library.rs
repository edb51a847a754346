//! [`OtlpLibrary`]: the shared store every exporter writes into.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::trace::SpanData;
use prost::Message as _;

use crate::buffer::Deferred;
use crate::config::Config;
use crate::error::{OtlpError, Result};
use crate::lifecycle::Handle;
use crate::prepare::{PreparedMetrics, PreparedSdkMetrics, PreparedSdkSpans, PreparedTraces};
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

    /// Stores SDK spans with the SDK's default resource (`service.name` from
    /// `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `telemetry.sdk.*`), the one a tracer
    /// provider without `with_resource` uses; returns the rows accepted.
    ///
    /// # Errors
    /// Nothing of the export is stored when it fails:
    /// [`OtlpError::AlreadyShutdown`] after [`shutdown`](Self::shutdown);
    /// [`OtlpError::BufferFull`] when no buffer space was freed within `export_timeout`;
    /// [`OtlpError::ExportTooLarge`] when the export can never fit (`max_buffer_bytes`, or a
    /// row over 1 GiB); [`OtlpError::Decode`] (OTLP inputs) for a value nested deeper than
    /// [`MAX_VALUE_DEPTH`](crate::MAX_VALUE_DEPTH); [`OtlpError::WriterFailed`] when the writer
    /// thread failed; [`OtlpError::ForkedProcess`] in a forked child.
    pub fn export_traces(&self, spans: Vec<SpanData>) -> Result<usize> {
        let resource = self
            .handle
            .shared()?
            .default_resource
            .get_or_init(|| Arc::new(ResourceInfo::from_sdk(&opentelemetry_sdk::Resource::builder().build())))
            .clone();
        self.export_span_data(spans, resource)
    }

    /// Stores SDK spans with the resource they came from; returns the rows accepted.
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_traces_with_resource(
        &self,
        spans: Vec<SpanData>,
        resource: &opentelemetry_sdk::Resource,
    ) -> Result<usize> {
        self.export_span_data(spans, Arc::new(ResourceInfo::from_sdk(resource)))
    }

    /// Measures the spans and hands them to the buffer; the writer appends them to the column
    /// builders (see [`PreparedSdkSpans`]).
    pub(crate) fn export_span_data(&self, spans: Vec<SpanData>, resource: Arc<ResourceInfo>) -> Result<usize> {
        let shared = self.handle.shared()?;
        let export = Deferred::SdkSpans(PreparedSdkSpans::new(resource, spans)?);
        shared.ingest(export.bytes(), |b| b.defer(export))
    }

    /// Stores the SDK's metrics, taking ownership; the rows are identical to
    /// [`export_metrics_ref`](Self::export_metrics_ref).
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_metrics(&self, metrics: ResourceMetrics) -> Result<usize> {
        self.export_metrics_ref(&metrics)
    }

    /// Stores the SDK's metrics by reference: data points are read in place and appended to the
    /// column buffers, never copied into an intermediate structure.
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_metrics_ref(&self, metrics: &ResourceMetrics) -> Result<usize> {
        let shared = self.handle.shared()?;
        let prepared = PreparedSdkMetrics::new(metrics)?;
        shared.ingest(prepared.bytes, |b| b.append_sdk_metrics(&prepared))
    }

    /// Stores a decoded OTLP traces request; returns the spans accepted.
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_otlp_traces(&self, request: &ExportTraceServiceRequest) -> Result<usize> {
        let shared = self.handle.shared()?;
        let prepared = PreparedTraces::new(request)?;
        shared.ingest(prepared.bytes, |b| b.append_otlp_traces(request, &prepared))
    }

    /// As [`export_otlp_traces`](Self::export_otlp_traces), taking the request: it is validated
    /// and measured now, kept as it is, and turned into columns by the writer thread, so the
    /// call returns sooner (the Python exporters and `export_otlp_traces_bytes` use this).
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_otlp_traces_owned(&self, request: ExportTraceServiceRequest) -> Result<usize> {
        let shared = self.handle.shared()?;
        let prepared = PreparedTraces::new(&request)?;
        let export = Deferred::OtlpTraces(Box::new(request), prepared);
        shared.ingest(export.bytes(), |b| b.defer(export))
    }

    /// Stores a decoded OTLP metrics request; returns the data points accepted.
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_otlp_metrics(&self, request: &ExportMetricsServiceRequest) -> Result<usize> {
        let shared = self.handle.shared()?;
        let prepared = PreparedMetrics::new(request)?;
        shared.ingest(prepared.bytes, |b| b.append_otlp_metrics(&prepared))
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
