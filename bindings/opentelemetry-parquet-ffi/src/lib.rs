//! UniFFI bindings of [`opentelemetry_parquet`]: a thin adapter. The interface is in
//! `opentelemetry_parquet.udl`; the Python package `opentelemetry_parquet` is generated from it
//! by maturin. The core crate knows nothing of this crate.

mod batch;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_parquet as core;
use opentelemetry_sdk::metrics::Temporality;

uniffi::include_scaffolding!("opentelemetry_parquet");

/// Options of an [`OtlpLibrary`]; see the UDL. `None` takes the `OTEL_PARQUET_*` variable,
/// else the default.
#[derive(Debug, Clone, Default)]
pub struct ParquetConfig {
    /// Root directory of the store.
    pub output_dir: Option<String>,
    /// `parquet` or `arrow`.
    pub format: Option<String>,
    /// `zstd`, `lz4`, `snappy`, `gzip` or `none`.
    pub compression: Option<String>,
    /// Flush interval in milliseconds.
    pub flush_interval_ms: Option<u64>,
    /// Rows that trigger a flush.
    pub flush_rows: Option<u64>,
    /// Bytes that trigger a flush.
    pub flush_bytes: Option<u64>,
    /// Memory cap.
    pub max_buffer_bytes: Option<u64>,
    /// Export timeout in milliseconds.
    pub export_timeout_ms: Option<u64>,
    /// `cumulative`, `delta` or `lowmemory`.
    pub temporality: Option<String>,
    /// Retention by age, in seconds.
    pub retention_max_age_secs: Option<u64>,
    /// Retention by size, in bytes.
    pub retention_max_bytes: Option<u64>,
}

impl ParquetConfig {
    fn build(self) -> Result<core::Config, OtlpError> {
        let size = |field: &str, v: u64| {
            usize::try_from(v)
                .map_err(|_| OtlpError::InvalidConfig(format!("invalid configuration: {field}: {v} is too large")))
        };
        let mut b = core::Config::builder().with_env()?;
        if let Some(v) = self.output_dir {
            b = b.output_dir(v);
        }
        if let Some(v) = self.format {
            b = b.format(v.parse()?);
        }
        if let Some(v) = self.compression {
            b = b.compression(v.parse()?);
        }
        if let Some(v) = self.flush_interval_ms {
            b = b.flush_interval(Duration::from_millis(v));
        }
        if let Some(v) = self.flush_rows {
            b = b.flush_rows(size("flush_rows", v)?);
        }
        if let Some(v) = self.flush_bytes {
            b = b.flush_bytes(size("flush_bytes", v)?);
        }
        if let Some(v) = self.max_buffer_bytes {
            b = b.max_buffer_bytes(size("max_buffer_bytes", v)?);
        }
        if let Some(v) = self.export_timeout_ms {
            b = b.export_timeout(Duration::from_millis(v));
        }
        if let Some(v) = self.temporality {
            b = b.temporality(core::parse_temporality(&v)?);
        }
        if let Some(v) = self.retention_max_age_secs {
            b = b.retention_max_age(Duration::from_secs(v));
        }
        if let Some(v) = self.retention_max_bytes {
            b = b.retention_max_bytes(v);
        }
        Ok(b.build()?)
    }
}

/// The errors Python sees; each message carries the core error's full context.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// A configuration value was rejected.
    #[error("{0}")]
    InvalidConfig(String),
    /// The output directory is not usable.
    #[error("{0}")]
    OutputDir(String),
    /// Malformed input; nothing was stored.
    #[error("{0}")]
    Decode(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The buffer stayed full for longer than the export timeout.
    #[error("{0}")]
    BufferFull(String),
    /// A flush or shutdown did not finish in time.
    #[error("{0}")]
    Timeout(String),
    /// The library or exporter was shut down.
    #[error("{0}")]
    AlreadyShutdown(String),
    /// Writing failed; the data is kept and retried.
    #[error("{0}")]
    FlushFailed(String),
    /// Anything else.
    #[error("{0}")]
    Internal(String),
}

impl From<core::OtlpError> for OtlpError {
    fn from(err: core::OtlpError) -> Self {
        let message = err.full_message();
        match err {
            core::OtlpError::InvalidConfig { .. } => OtlpError::InvalidConfig(message),
            core::OtlpError::OutputDir { .. } => OtlpError::OutputDir(message),
            core::OtlpError::Decode { .. } => OtlpError::Decode(message),
            core::OtlpError::Io { .. } | core::OtlpError::Parquet { .. } | core::OtlpError::InvalidStoreFile { .. } => {
                OtlpError::Io(message)
            }
            core::OtlpError::BufferFull { .. } => OtlpError::BufferFull(message),
            core::OtlpError::Timeout { .. } => OtlpError::Timeout(message),
            core::OtlpError::AlreadyShutdown(_) => OtlpError::AlreadyShutdown(message),
            core::OtlpError::FlushFailed { .. } => OtlpError::FlushFailed(message),
            _ => OtlpError::Internal(message),
        }
    }
}

fn timeout(ms: Option<u64>) -> Option<Duration> {
    ms.map(Duration::from_millis)
}

/// The store; see [`core::OtlpLibrary`].
#[derive(Debug)]
pub struct OtlpLibrary {
    inner: core::OtlpLibrary,
}

impl OtlpLibrary {
    /// Creates the library from the config (falling back to the environment).
    pub fn new(config: ParquetConfig) -> Result<Self, OtlpError> {
        Ok(OtlpLibrary { inner: core::OtlpLibrary::new(config.build()?)? })
    }

    fn traces(&self, batch: &[u8]) -> Result<u64, OtlpError> {
        let request = batch::traces(batch).map_err(OtlpError::Decode)?;
        Ok(self.inner.export_otlp_traces(&request)? as u64)
    }

    fn metrics(&self, batch: &[u8]) -> Result<u64, OtlpError> {
        let request = batch::metrics(batch).map_err(OtlpError::Decode)?;
        Ok(self.inner.export_otlp_metrics(&request)? as u64)
    }

    /// Stores a span batch.
    pub fn export_traces(&self, batch: Vec<u8>) -> Result<u64, OtlpError> {
        self.traces(&batch)
    }

    /// Stores a metrics batch (owned copy).
    pub fn export_metrics(&self, batch: Vec<u8>) -> Result<u64, OtlpError> {
        self.metrics(&batch)
    }

    /// Stores a metrics batch read in place.
    pub fn export_metrics_ref(&self, batch: &[u8]) -> Result<u64, OtlpError> {
        self.metrics(batch)
    }

    /// Stores a protobuf-encoded OTLP traces request.
    pub fn export_otlp_traces(&self, request: &[u8]) -> Result<u64, OtlpError> {
        Ok(self.inner.export_otlp_traces_bytes(request)? as u64)
    }

    /// Stores a protobuf-encoded OTLP metrics request.
    pub fn export_otlp_metrics(&self, request: &[u8]) -> Result<u64, OtlpError> {
        Ok(self.inner.export_otlp_metrics_bytes(request)? as u64)
    }

    /// Flushes.
    pub fn flush(&self, timeout_ms: Option<u64>) -> Result<(), OtlpError> {
        match timeout(timeout_ms) {
            Some(t) => Ok(self.inner.flush_with_timeout(t)?),
            None => Ok(self.inner.flush()?),
        }
    }

    /// Shuts down.
    pub fn shutdown(&self, timeout_ms: Option<u64>) -> Result<(), OtlpError> {
        match timeout(timeout_ms) {
            Some(t) => Ok(self.inner.shutdown_with_timeout(t)?),
            None => Ok(self.inner.shutdown()?),
        }
    }

    /// Whether shutdown was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.is_shutdown()
    }

    /// A span exporter.
    pub fn span_exporter(self: Arc<Self>) -> Arc<SpanExporter> {
        Arc::new(SpanExporter { exporter: Exporter::new(self) })
    }

    /// A metric exporter.
    pub fn metric_exporter(self: Arc<Self>) -> Arc<MetricExporter> {
        Arc::new(MetricExporter { exporter: Exporter::new(self) })
    }

    /// The store's root directory.
    pub fn output_dir(&self) -> String {
        self.inner.config().output_dir().to_string_lossy().into_owned()
    }
}

/// What both exporters share: the library and their own shutdown flag.
#[derive(Debug)]
struct Exporter {
    library: Arc<OtlpLibrary>,
    is_shutdown: AtomicBool,
}

impl Exporter {
    fn new(library: Arc<OtlpLibrary>) -> Self {
        Exporter { library, is_shutdown: AtomicBool::new(false) }
    }

    fn check(&self, what: &str) -> Result<(), OtlpError> {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OtlpError::AlreadyShutdown(format!("{what} was already shut down")));
        }
        Ok(())
    }

    fn shutdown(&self, timeout_ms: Option<u64>) -> Result<(), OtlpError> {
        self.is_shutdown.store(true, Ordering::Release);
        self.library.flush(timeout_ms)
    }
}

/// Exports span batches; see the UDL.
#[derive(Debug)]
pub struct SpanExporter {
    exporter: Exporter,
}

impl SpanExporter {
    /// Stores a span batch.
    pub fn export(&self, batch: &[u8]) -> Result<u64, OtlpError> {
        self.exporter.check("SpanExporter")?;
        self.exporter.library.traces(batch)
    }

    /// Flushes the library.
    pub fn force_flush(&self, timeout_ms: Option<u64>) -> Result<(), OtlpError> {
        self.exporter.library.flush(timeout_ms)
    }

    /// Shuts this exporter down (flushing the library).
    pub fn shutdown(&self, timeout_ms: Option<u64>) -> Result<(), OtlpError> {
        self.exporter.shutdown(timeout_ms)
    }
}

/// Exports metrics batches; see the UDL.
#[derive(Debug)]
pub struct MetricExporter {
    exporter: Exporter,
}

impl MetricExporter {
    /// Stores a metrics batch.
    pub fn export(&self, batch: &[u8]) -> Result<u64, OtlpError> {
        self.exporter.check("MetricExporter")?;
        self.exporter.library.metrics(batch)
    }

    /// Flushes the library.
    pub fn force_flush(&self, timeout_ms: Option<u64>) -> Result<(), OtlpError> {
        self.exporter.library.flush(timeout_ms)
    }

    /// Shuts this exporter down (flushing the library).
    pub fn shutdown(&self, timeout_ms: Option<u64>) -> Result<(), OtlpError> {
        self.exporter.shutdown(timeout_ms)
    }

    /// The library's temporality.
    pub fn temporality(&self) -> String {
        match self.exporter.library.inner.config().temporality() {
            Temporality::Delta => "delta",
            Temporality::LowMemory => "lowmemory",
            _ => "cumulative",
        }
        .to_owned()
    }
}
