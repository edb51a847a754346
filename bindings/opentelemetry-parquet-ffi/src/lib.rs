//! UniFFI bindings of [`opentelemetry_parquet`]: a thin adapter. The interface is in
//! `opentelemetry_parquet.udl`; the Python package `opentelemetry_parquet` is generated from it
//! by maturin. The core crate knows nothing of this crate.

mod batch;
mod logs;
mod pickle;

use std::time::Duration;

use opentelemetry_parquet as core;
use opentelemetry_parquet::Temporality;

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

/// Whether a [`ParquetConfig`] sets one option explicitly.
type IsSet = fn(&ParquetConfig) -> bool;

/// Each option's `OTEL_PARQUET_*` variable.
const VARIABLES: [(&str, IsSet); 11] = [
    (core::env::OUTPUT_DIR, |c| c.output_dir.is_some()),
    (core::env::FORMAT, |c| c.format.is_some()),
    (core::env::COMPRESSION, |c| c.compression.is_some()),
    (core::env::FLUSH_INTERVAL_MS, |c| c.flush_interval_ms.is_some()),
    (core::env::FLUSH_ROWS, |c| c.flush_rows.is_some()),
    (core::env::FLUSH_BYTES, |c| c.flush_bytes.is_some()),
    (core::env::MAX_BUFFER_BYTES, |c| c.max_buffer_bytes.is_some()),
    (core::env::EXPORT_TIMEOUT_MS, |c| c.export_timeout_ms.is_some()),
    (core::env::TEMPORALITY, |c| c.temporality.is_some()),
    (core::env::RETENTION_MAX_AGE_SECS, |c| c.retention_max_age_secs.is_some()),
    (core::env::RETENTION_MAX_BYTES, |c| c.retention_max_bytes.is_some()),
];

impl ParquetConfig {
    /// The core configuration, and the messages of the variables it ignored.
    ///
    /// Explicit options win: the variable of an option given here is never read. The variable of
    /// an option left `None` applies; one whose value does not parse is ignored (treated as not
    /// set, as the OpenTelemetry specification asks of environment variables) and reported.
    fn build(self, get_env: impl Fn(&str) -> Option<String>) -> Result<(core::Config, Vec<String>), OtlpError> {
        let mut ignored = Vec::new();
        let mut skip = Vec::new();
        for (name, explicit) in VARIABLES {
            if explicit(&self) {
                skip.push(name);
            } else if let Err(err) = core::Config::builder().with_vars(|n| if n == name { get_env(n) } else { None }) {
                ignored.push(format!("ignoring {name}: {}", err.full_message()));
                skip.push(name);
            }
        }
        let size = |field: &str, v: u64| {
            usize::try_from(v)
                .map_err(|_| OtlpError::InvalidConfig(format!("invalid configuration: {field}: {v} is too large")))
        };
        let mut b = core::Config::builder().with_vars(|n| if skip.contains(&n) { None } else { get_env(n) })?;
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
        Ok((b.build()?, ignored))
    }

    /// Every option of `config`, explicit (so a library reopened from it ignores the environment).
    fn resolved(config: &core::Config) -> ParquetConfig {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        ParquetConfig {
            output_dir: Some(config.output_dir().to_string_lossy().into_owned()),
            format: Some(config.format().extension().to_owned()),
            compression: Some(
                match config.compression() {
                    core::Compression::Lz4 => "lz4",
                    core::Compression::Snappy => "snappy",
                    core::Compression::Gzip => "gzip",
                    core::Compression::None => "none",
                    _ => "zstd",
                }
                .to_owned(),
            ),
            flush_interval_ms: Some(millis(config.flush_interval())),
            flush_rows: Some(config.flush_rows() as u64),
            flush_bytes: Some(config.flush_bytes() as u64),
            max_buffer_bytes: Some(config.max_buffer_bytes() as u64),
            export_timeout_ms: Some(millis(config.export_timeout())),
            temporality: Some(
                match config.temporality() {
                    Temporality::Cumulative => "cumulative",
                    Temporality::Delta => "delta",
                    Temporality::LowMemory => "lowmemory",
                }
                .to_owned(),
            ),
            retention_max_age_secs: config.retention_max_age().map(|d| d.as_secs()),
            retention_max_bytes: config.retention_max_bytes(),
        }
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
    /// An export needs more buffer memory than a limit allows; nothing was stored.
    #[error("{0}")]
    ExportTooLarge(String),
    /// The writer thread failed; nothing more can be stored by this library.
    #[error("{0}")]
    WriterFailed(String),
    /// The library belongs to the process that forked this one.
    #[error("{0}")]
    ForkedProcess(String),
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
            core::OtlpError::ExportTooLarge { .. } => OtlpError::ExportTooLarge(message),
            core::OtlpError::WriterFailed { .. } => OtlpError::WriterFailed(message),
            core::OtlpError::ForkedProcess { .. } => OtlpError::ForkedProcess(message),
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
    ignored_environment: Vec<String>,
}

impl OtlpLibrary {
    /// Creates the library from the config (falling back to the environment).
    pub fn new(config: ParquetConfig) -> Result<Self, OtlpError> {
        let (config, ignored_environment) = config.build(|name| std::env::var(name).ok())?;
        Ok(OtlpLibrary { inner: core::OtlpLibrary::new(config)?, ignored_environment })
    }

    fn traces(&self, batch: &[u8]) -> Result<u64, OtlpError> {
        let request = batch::traces(batch).map_err(OtlpError::Decode)?;
        Ok(self.inner.export_otlp_traces_owned(request)? as u64)
    }

    fn metrics(&self, batch: &[u8]) -> Result<u64, OtlpError> {
        let request = batch::metrics(batch).map_err(OtlpError::Decode)?;
        Ok(self.inner.export_otlp_metrics(&request)? as u64)
    }

    /// Stores a log batch read in place.
    pub fn export_logs(&self, batch: &[u8]) -> Result<u64, OtlpError> {
        let request = logs::logs(batch).map_err(OtlpError::Decode)?;
        Ok(self.inner.export_otlp_logs_owned(request)? as u64)
    }

    /// Stores a span batch read in place.
    pub fn export_traces(&self, batch: &[u8]) -> Result<u64, OtlpError> {
        self.traces(batch)
    }

    /// Stores a metrics batch (owned copy).
    pub fn export_metrics(&self, batch: Vec<u8>) -> Result<u64, OtlpError> {
        self.metrics(&batch)
    }

    /// Stores a metrics batch read in place (UniFFI passes a pointer to the caller's buffer).
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

    /// Stores a protobuf-encoded OTLP logs request.
    pub fn export_otlp_logs(&self, request: &[u8]) -> Result<u64, OtlpError> {
        Ok(self.inner.export_otlp_logs_bytes(request)? as u64)
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

    /// Every option the library runs with (explicit values, environment and defaults resolved).
    pub fn config(&self) -> ParquetConfig {
        ParquetConfig::resolved(self.inner.config())
    }

    /// The `OTEL_PARQUET_*` variables ignored because their value did not parse, one message each.
    pub fn ignored_environment(&self) -> Vec<String> {
        self.ignored_environment.clone()
    }

    /// The store's root directory.
    pub fn output_dir(&self) -> String {
        self.inner.config().output_dir().to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn explicit_options_win_over_their_variables() {
        let vars = [("OTEL_PARQUET_FLUSH_ROWS", "many"), ("OTEL_PARQUET_FORMAT", "arrow")];
        let explicit = ParquetConfig { output_dir: Some("d".into()), flush_rows: Some(7), ..Default::default() };
        let (config, ignored) = explicit.build(env(&vars)).expect("valid explicit config");
        assert_eq!(config.flush_rows(), 7, "the explicit value, its bad variable never read");
        assert_eq!(config.format(), core::StorageFormat::ArrowIpc, "a variable of an option not passed applies");
        assert!(ignored.is_empty(), "{ignored:?}");
    }

    #[test]
    fn an_invalid_unrelated_variable_is_ignored_and_reported() {
        let vars = [("OTEL_PARQUET_RETENTION_MAX_BYTES", "lots"), ("OTEL_PARQUET_FLUSH_ROWS", "9")];
        let (config, ignored) =
            ParquetConfig { output_dir: Some("d".into()), ..Default::default() }.build(env(&vars)).expect("valid");
        assert_eq!(config.retention_max_bytes(), None);
        assert_eq!(config.flush_rows(), 9);
        assert_eq!(ignored.len(), 1);
        assert!(ignored[0].contains("OTEL_PARQUET_RETENTION_MAX_BYTES"), "{ignored:?}");
    }

    #[test]
    fn the_resolved_config_rebuilds_the_same_config() {
        let vars = [("OTEL_PARQUET_TEMPORALITY", "delta"), ("OTEL_PARQUET_COMPRESSION", "lz4")];
        let given = ParquetConfig {
            output_dir: Some("d".into()),
            format: Some("arrow".into()),
            flush_rows: Some(3),
            retention_max_age_secs: Some(60),
            ..Default::default()
        };
        let (config, _) = given.build(env(&vars)).expect("valid");
        let resolved = ParquetConfig::resolved(&config);
        let (again, _) = resolved.clone().build(env(&[("OTEL_PARQUET_FLUSH_ROWS", "99")])).expect("valid");
        assert_eq!(format!("{config:?}"), format!("{again:?}"));
        assert_eq!(resolved.temporality.as_deref(), Some("delta"));
        assert_eq!(resolved.compression.as_deref(), Some("lz4"));
    }
}
