//! Configuration: a builder, environment variables, validation.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{OtlpError, Result};

/// The aggregation temporality the metric exporter asks the SDK for: the SDK's
/// `opentelemetry_sdk::metrics::Temporality`, of whichever SDK version, converts into it and
/// back (`From`), so either can be passed where this is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Temporality {
    /// Sums and histograms since the start of the process (the SDK's default).
    #[default]
    Cumulative,
    /// Sums and histograms since the previous export.
    Delta,
    /// Delta for synchronous counters and histograms, cumulative for the rest (the SDK's
    /// `LowMemory`).
    LowMemory,
}

/// File format of the stored tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StorageFormat {
    /// Apache Parquet (`.parquet`). The default.
    #[default]
    Parquet,
    /// Arrow IPC file format (`.arrow`, also known as Feather v2).
    ArrowIpc,
}

impl StorageFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            StorageFormat::Parquet => "parquet",
            StorageFormat::ArrowIpc => "arrow",
        }
    }

    fn parse(field: &str, value: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "parquet" => Ok(Self::Parquet),
            "arrow" | "arrow_ipc" | "arrow-ipc" | "ipc" | "feather" => Ok(Self::ArrowIpc),
            other => Err(OtlpError::config(field, format!("unknown format {other:?}, expected parquet or arrow"))),
        }
    }
}

impl std::str::FromStr for StorageFormat {
    type Err = OtlpError;

    /// `parquet` or `arrow` (also `arrow_ipc`, `ipc`, `feather`), case-insensitive.
    fn from_str(s: &str) -> Result<Self> {
        Self::parse("format", s)
    }
}

/// Compression codec of the stored files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Zstandard (the default; Parquet and Arrow IPC).
    #[default]
    Zstd,
    /// LZ4 (Parquet's `LZ4_RAW`, Arrow IPC's `LZ4_FRAME`).
    Lz4,
    /// Snappy (Parquet only).
    Snappy,
    /// Gzip (Parquet only).
    Gzip,
    /// No compression.
    None,
}

impl Compression {
    fn parse(field: &str, value: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "zstd" => Ok(Self::Zstd),
            "lz4" => Ok(Self::Lz4),
            "snappy" => Ok(Self::Snappy),
            "gzip" => Ok(Self::Gzip),
            "none" | "uncompressed" => Ok(Self::None),
            other => Err(OtlpError::config(
                field,
                format!("unknown compression {other:?}, expected zstd, lz4, snappy, gzip or none"),
            )),
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = OtlpError;

    /// `zstd`, `lz4`, `snappy`, `gzip` or `none`, case-insensitive.
    fn from_str(s: &str) -> Result<Self> {
        Self::parse("compression", s)
    }
}

/// Parses `cumulative`, `delta` or `lowmemory` (case-insensitive), as `OTEL_PARQUET_TEMPORALITY`.
///
/// # Errors
/// [`OtlpError::InvalidConfig`] naming the `temporality` option.
pub fn parse_temporality(value: &str) -> Result<Temporality> {
    parse_temporality_field("temporality", value)
}

/// The longest `retention_max_age` accepted: 100 years of 365.25 days.
pub const MAX_RETENTION_AGE: Duration = Duration::from_secs(36_525 * 86_400);

/// Configuration of an [`OtlpLibrary`](crate::OtlpLibrary).
///
/// Build one with [`Config::builder`], or read it from `OTEL_PARQUET_*` environment variables
/// with [`Config::from_env`]. Every option has one environment variable:
///
/// | option | variable | default |
/// |---|---|---|
/// | `output_dir` | `OTEL_PARQUET_OUTPUT_DIR` | `./otel-data` |
/// | `format` | `OTEL_PARQUET_FORMAT` (`parquet`, `arrow`) | `parquet` |
/// | `compression` | `OTEL_PARQUET_COMPRESSION` (`zstd`, `lz4`, `snappy`, `gzip`, `none`) | `zstd` |
/// | `flush_interval` | `OTEL_PARQUET_FLUSH_INTERVAL_MS` | 5000 |
/// | `flush_rows` | `OTEL_PARQUET_FLUSH_ROWS` | 100000 |
/// | `flush_bytes` | `OTEL_PARQUET_FLUSH_BYTES` | 33554432 (32 MiB) |
/// | `max_buffer_bytes` | `OTEL_PARQUET_MAX_BUFFER_BYTES` | 134217728 (128 MiB) |
/// | `export_timeout` | `OTEL_PARQUET_EXPORT_TIMEOUT_MS` | 10000 |
/// | `temporality` | `OTEL_PARQUET_TEMPORALITY` (`cumulative`, `delta`) | `cumulative` |
/// | `retention_max_age` | `OTEL_PARQUET_RETENTION_MAX_AGE_SECS` | none |
/// | `retention_max_bytes` | `OTEL_PARQUET_RETENTION_MAX_BYTES` | none |
///
/// # Example
/// ```
/// use std::time::Duration;
/// use opentelemetry_parquet::Config;
///
/// let config = Config::builder()
///     .output_dir("./otel-data")
///     .flush_interval(Duration::from_secs(1))
///     .build()?;
/// assert_eq!(config.output_dir(), std::path::Path::new("./otel-data"));
/// # Ok::<(), opentelemetry_parquet::OtlpError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    output_dir: PathBuf,
    format: StorageFormat,
    compression: Compression,
    flush_interval: Duration,
    flush_rows: usize,
    flush_bytes: usize,
    max_buffer_bytes: usize,
    export_timeout: Duration,
    temporality: Temporality,
    retention_max_age: Option<Duration>,
    retention_max_bytes: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            output_dir: PathBuf::from("./otel-data"),
            format: StorageFormat::Parquet,
            compression: Compression::Zstd,
            flush_interval: Duration::from_secs(5),
            flush_rows: 100_000,
            flush_bytes: 32 << 20,
            max_buffer_bytes: 128 << 20,
            export_timeout: Duration::from_secs(10),
            temporality: Temporality::Cumulative,
            retention_max_age: None,
            retention_max_bytes: None,
        }
    }
}

/// Names of the environment variables, one per option.
pub mod env {
    /// `output_dir`.
    pub const OUTPUT_DIR: &str = "OTEL_PARQUET_OUTPUT_DIR";
    /// `format`.
    pub const FORMAT: &str = "OTEL_PARQUET_FORMAT";
    /// `compression`.
    pub const COMPRESSION: &str = "OTEL_PARQUET_COMPRESSION";
    /// `flush_interval`, in milliseconds.
    pub const FLUSH_INTERVAL_MS: &str = "OTEL_PARQUET_FLUSH_INTERVAL_MS";
    /// `flush_rows`.
    pub const FLUSH_ROWS: &str = "OTEL_PARQUET_FLUSH_ROWS";
    /// `flush_bytes`.
    pub const FLUSH_BYTES: &str = "OTEL_PARQUET_FLUSH_BYTES";
    /// `max_buffer_bytes`.
    pub const MAX_BUFFER_BYTES: &str = "OTEL_PARQUET_MAX_BUFFER_BYTES";
    /// `export_timeout`, in milliseconds.
    pub const EXPORT_TIMEOUT_MS: &str = "OTEL_PARQUET_EXPORT_TIMEOUT_MS";
    /// `temporality`.
    pub const TEMPORALITY: &str = "OTEL_PARQUET_TEMPORALITY";
    /// `retention_max_age`, in seconds.
    pub const RETENTION_MAX_AGE_SECS: &str = "OTEL_PARQUET_RETENTION_MAX_AGE_SECS";
    /// `retention_max_bytes`.
    pub const RETENTION_MAX_BYTES: &str = "OTEL_PARQUET_RETENTION_MAX_BYTES";
}

impl Config {
    /// A builder starting from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder { config: Config::default() }
    }

    /// The defaults overridden by every `OTEL_PARQUET_*` variable that is set and not empty.
    ///
    /// # Errors
    /// [`OtlpError::InvalidConfig`] naming the variable when a value does not parse or is out
    /// of range.
    pub fn from_env() -> Result<Config> {
        Self::builder().with_env()?.build()
    }

    /// The same configuration with `output_dir` made absolute (against the current directory),
    /// so that a later `chdir` cannot split the store.
    pub(crate) fn with_absolute_output_dir(mut self) -> Result<Config> {
        self.output_dir = std::path::absolute(&self.output_dir)
            .map_err(|source| OtlpError::OutputDir { path: self.output_dir.clone(), source })?;
        Ok(self)
    }

    /// Directory under which the tables are written.
    pub fn output_dir(&self) -> &Path {
        &self.output_dir
    }
    /// File format.
    pub fn format(&self) -> StorageFormat {
        self.format
    }
    /// Compression codec.
    pub fn compression(&self) -> Compression {
        self.compression
    }
    /// Longest time data stays buffered before a background flush.
    pub fn flush_interval(&self) -> Duration {
        self.flush_interval
    }
    /// Buffered rows (over all tables) that trigger a flush.
    pub fn flush_rows(&self) -> usize {
        self.flush_rows
    }
    /// Buffered bytes that trigger a flush.
    pub fn flush_bytes(&self) -> usize {
        self.flush_bytes
    }
    /// Cap on memory held by buffered data; exports wait (backpressure) when it is reached.
    pub fn max_buffer_bytes(&self) -> usize {
        self.max_buffer_bytes
    }
    /// Longest time an export waits for buffer space before returning an error.
    pub fn export_timeout(&self) -> Duration {
        self.export_timeout
    }
    /// Temporality the metric exporter asks the SDK for.
    pub fn temporality(&self) -> Temporality {
        self.temporality
    }
    /// Files written longer ago than this are deleted, if set (see [`ConfigBuilder::retention_max_age`]).
    pub fn retention_max_age(&self) -> Option<Duration> {
        self.retention_max_age
    }
    /// The oldest-written files are deleted while the store's data files are larger than this,
    /// if set (see [`ConfigBuilder::retention_max_bytes`]).
    pub fn retention_max_bytes(&self) -> Option<u64> {
        self.retention_max_bytes
    }
}

/// Builder of [`Config`]; see [`Config::builder`].
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// Directory under which the tables are written (created if missing).
    pub fn output_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.output_dir = dir.into();
        self
    }
    /// File format.
    pub fn format(mut self, format: StorageFormat) -> Self {
        self.config.format = format;
        self
    }
    /// Compression codec.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.config.compression = compression;
        self
    }
    /// Longest time data stays buffered before a background flush.
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.config.flush_interval = interval;
        self
    }
    /// Buffered rows that trigger a flush.
    pub fn flush_rows(mut self, rows: usize) -> Self {
        self.config.flush_rows = rows;
        self
    }
    /// Buffered bytes that trigger a flush.
    pub fn flush_bytes(mut self, bytes: usize) -> Self {
        self.config.flush_bytes = bytes;
        self
    }
    /// Cap on buffered memory; must be at least `flush_bytes`.
    pub fn max_buffer_bytes(mut self, bytes: usize) -> Self {
        self.config.max_buffer_bytes = bytes;
        self
    }
    /// Longest time an export waits for buffer space.
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.config.export_timeout = timeout;
        self
    }
    /// Temporality the metric exporter asks the SDK for (ours or the SDK's `Temporality`).
    pub fn temporality(mut self, temporality: impl Into<Temporality>) -> Self {
        self.config.temporality = temporality.into();
        self
    }
    /// Delete data files **written** longer ago than this: the write time is the UUIDv7 in the
    /// file name (`part-<uuidv7>.<ext>`), or the modification time when a name does not parse;
    /// the time of the data in the file plays no part.
    ///
    /// Retention runs on the writer thread after each flush cycle that wrote files, once that
    /// flush was acknowledged, and deletes oldest-written first: every file older than this, then
    /// more while the store is larger than [`retention_max_bytes`](Self::retention_max_bytes).
    /// Only this crate's `part-*.parquet` / `part-*.arrow` files in `<table>/date=*/hour=*/` are
    /// ever deleted. Never deleted: the files of the cycle that just ran. Not deleted to meet
    /// `retention_max_bytes` (but by this age): those of the latest cycle (and the one in
    /// progress) of every live library on the store, in any process.
    /// Passes of several libraries or processes on one store take turns (`.retention.lock` in
    /// the store root); a file someone else already deleted is not counted. A deletion that fails
    /// (on Windows, a file a reader holds open) is retried by the next pass and never fails a
    /// flush. Empty partition directories are removed once unchanged for a minute. What was
    /// deleted is reported by [`OtlpLibrary::retention_stats`](crate::OtlpLibrary::retention_stats).
    ///
    /// [`build`](Self::build) rejects ages below one second or above [`MAX_RETENTION_AGE`]
    /// (100 years).
    pub fn retention_max_age(mut self, age: Duration) -> Self {
        self.config.retention_max_age = Some(age);
        self
    }
    /// Delete the oldest-written data files while this crate's data files in the store total
    /// more than this many bytes (other files are not counted). The files of the latest cycle
    /// of every live library on the store (see [`retention_max_age`](Self::retention_max_age))
    /// stay even when they alone exceed the cap: a cap below one file's size keeps each live
    /// writer's latest files. Must be greater than zero.
    pub fn retention_max_bytes(mut self, bytes: u64) -> Self {
        self.config.retention_max_bytes = Some(bytes);
        self
    }

    /// Overrides options with every `OTEL_PARQUET_*` variable that is set and not empty.
    ///
    /// # Errors
    /// [`OtlpError::InvalidConfig`] naming the variable whose value does not parse.
    pub fn with_env(self) -> Result<Self> {
        self.with_vars(|name| std::env::var(name).ok())
    }

    /// Like [`with_env`](Self::with_env), with the variables read through `get` (a name of
    /// [`env`](mod@env) in, its value out; `None` or a blank value leaves the option as it is). The
    /// bindings use it so that an explicitly passed option is not overridden by its variable.
    ///
    /// # Errors
    /// [`OtlpError::InvalidConfig`] naming the variable whose value does not parse.
    pub fn with_vars(mut self, get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = var(env::OUTPUT_DIR) {
            self.config.output_dir = PathBuf::from(v);
        }
        if let Some(v) = var(env::FORMAT) {
            self.config.format = StorageFormat::parse(env::FORMAT, &v)?;
        }
        if let Some(v) = var(env::COMPRESSION) {
            self.config.compression = Compression::parse(env::COMPRESSION, &v)?;
        }
        if let Some(v) = var(env::FLUSH_INTERVAL_MS) {
            self.config.flush_interval = Duration::from_millis(parse_num(env::FLUSH_INTERVAL_MS, &v)?);
        }
        if let Some(v) = var(env::FLUSH_ROWS) {
            self.config.flush_rows = parse_num(env::FLUSH_ROWS, &v)?;
        }
        if let Some(v) = var(env::FLUSH_BYTES) {
            self.config.flush_bytes = parse_num(env::FLUSH_BYTES, &v)?;
        }
        if let Some(v) = var(env::MAX_BUFFER_BYTES) {
            self.config.max_buffer_bytes = parse_num(env::MAX_BUFFER_BYTES, &v)?;
        }
        if let Some(v) = var(env::EXPORT_TIMEOUT_MS) {
            self.config.export_timeout = Duration::from_millis(parse_num(env::EXPORT_TIMEOUT_MS, &v)?);
        }
        if let Some(v) = var(env::TEMPORALITY) {
            self.config.temporality = parse_temporality_field(env::TEMPORALITY, &v)?;
        }
        if let Some(v) = var(env::RETENTION_MAX_AGE_SECS) {
            self.config.retention_max_age = Some(Duration::from_secs(parse_num(env::RETENTION_MAX_AGE_SECS, &v)?));
        }
        if let Some(v) = var(env::RETENTION_MAX_BYTES) {
            self.config.retention_max_bytes = Some(parse_num(env::RETENTION_MAX_BYTES, &v)?);
        }
        Ok(self)
    }

    /// Validates and returns the configuration.
    ///
    /// # Errors
    /// [`OtlpError::InvalidConfig`] naming the first option that is out of range.
    pub fn build(self) -> Result<Config> {
        let c = self.config;
        if c.output_dir.as_os_str().is_empty() {
            return Err(OtlpError::config("output_dir", "must not be empty"));
        }
        if c.flush_interval.is_zero() {
            return Err(OtlpError::config("flush_interval", "must be greater than zero"));
        }
        if c.flush_rows == 0 {
            return Err(OtlpError::config("flush_rows", "must be greater than zero"));
        }
        if c.flush_bytes == 0 {
            return Err(OtlpError::config("flush_bytes", "must be greater than zero"));
        }
        if c.max_buffer_bytes < c.flush_bytes {
            return Err(OtlpError::config(
                "max_buffer_bytes",
                format!(
                    "{} is smaller than flush_bytes ({}); the cap must leave room to reach the flush threshold",
                    c.max_buffer_bytes, c.flush_bytes
                ),
            ));
        }
        if c.export_timeout.is_zero() {
            return Err(OtlpError::config("export_timeout", "must be greater than zero"));
        }
        if c.format == StorageFormat::ArrowIpc && matches!(c.compression, Compression::Snappy | Compression::Gzip) {
            return Err(OtlpError::config(
                "compression",
                format!("{:?} is not supported by the Arrow IPC format (use zstd, lz4 or none)", c.compression),
            ));
        }
        if let Some(age) = c.retention_max_age {
            if age < Duration::from_secs(1) || age > MAX_RETENTION_AGE {
                return Err(OtlpError::config(
                    "retention_max_age",
                    format!(
                        "{age:?} is out of range: between one second and 100 years ({} seconds)",
                        MAX_RETENTION_AGE.as_secs()
                    ),
                ));
            }
        }
        if c.retention_max_bytes == Some(0) {
            return Err(OtlpError::config("retention_max_bytes", "must be greater than zero"));
        }
        Ok(c)
    }
}

fn parse_num<T: std::str::FromStr>(field: &str, value: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse::<T>()
        .map_err(|e| OtlpError::config(field, format!("{value:?} is not a non-negative integer ({e})")))
}

fn parse_temporality_field(field: &str, value: &str) -> Result<Temporality> {
    match value.trim().to_ascii_lowercase().as_str() {
        "cumulative" => Ok(Temporality::Cumulative),
        "delta" => Ok(Temporality::Delta),
        "lowmemory" | "low_memory" => Ok(Temporality::LowMemory),
        other => Err(OtlpError::config(
            field,
            format!("unknown temporality {other:?}, expected cumulative, delta or lowmemory"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from_vars(vars: &[(&str, &str)]) -> Result<Config> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::builder().with_vars(|k| map.get(k).cloned())?.build()
    }

    #[test]
    fn defaults() {
        let c = Config::default();
        assert_eq!(c.output_dir(), Path::new("./otel-data"));
        assert_eq!(c.format(), StorageFormat::Parquet);
        assert_eq!(c.compression(), Compression::Zstd);
        assert_eq!(c.temporality(), Temporality::Cumulative);
        assert_eq!(Config::builder().build().unwrap(), c);
    }

    #[test]
    fn every_variable_is_read() {
        let c = from_vars(&[
            (env::OUTPUT_DIR, "/tmp/x"),
            (env::FORMAT, "arrow"),
            (env::COMPRESSION, "lz4"),
            (env::FLUSH_INTERVAL_MS, "250"),
            (env::FLUSH_ROWS, "10"),
            (env::FLUSH_BYTES, "1000"),
            (env::MAX_BUFFER_BYTES, "5000"),
            (env::EXPORT_TIMEOUT_MS, "300"),
            (env::TEMPORALITY, "Delta"),
            (env::RETENTION_MAX_AGE_SECS, "3600"),
            (env::RETENTION_MAX_BYTES, "1000000"),
        ])
        .unwrap();
        assert_eq!(c.output_dir(), Path::new("/tmp/x"));
        assert_eq!(c.format(), StorageFormat::ArrowIpc);
        assert_eq!(c.compression(), Compression::Lz4);
        assert_eq!(c.flush_interval(), Duration::from_millis(250));
        assert_eq!(c.flush_rows(), 10);
        assert_eq!(c.flush_bytes(), 1000);
        assert_eq!(c.max_buffer_bytes(), 5000);
        assert_eq!(c.export_timeout(), Duration::from_millis(300));
        assert_eq!(c.temporality(), Temporality::Delta);
        assert_eq!(c.retention_max_age(), Some(Duration::from_secs(3600)));
        assert_eq!(c.retention_max_bytes(), Some(1_000_000));
    }

    #[test]
    fn retention_age_limits() {
        assert!(Config::builder().retention_max_age(MAX_RETENTION_AGE).build().is_ok());
        assert!(Config::builder().retention_max_age(Duration::from_secs(1)).build().is_ok());
        for secs in ["18446744073709551615", "10000000000000000000", "9223372036854775808"] {
            let err = from_vars(&[(env::RETENTION_MAX_AGE_SECS, secs)]).unwrap_err();
            assert!(matches!(&err, OtlpError::InvalidConfig { field, .. } if field == "retention_max_age"), "{err}");
        }
    }

    #[test]
    fn empty_variables_are_ignored() {
        assert_eq!(from_vars(&[(env::OUTPUT_DIR, ""), (env::FLUSH_ROWS, " ")]).unwrap(), Config::default());
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (var, value) in [
            (env::FLUSH_ROWS, "many"),
            (env::FORMAT, "csv"),
            (env::COMPRESSION, "brotli"),
            (env::TEMPORALITY, "sideways"),
            (env::FLUSH_INTERVAL_MS, "-5"),
        ] {
            let err = from_vars(&[(var, value)]).unwrap_err().to_string();
            assert!(err.contains(var), "{err}");
            assert!(err.contains(&value.to_ascii_lowercase()) || err.contains(value), "{err}");
        }
    }

    #[test]
    fn invalid_combinations_name_the_field() {
        let cases = [
            (Config::builder().output_dir(""), "output_dir"),
            (Config::builder().flush_interval(Duration::ZERO), "flush_interval"),
            (Config::builder().flush_rows(0), "flush_rows"),
            (Config::builder().flush_bytes(0), "flush_bytes"),
            (Config::builder().flush_bytes(100).max_buffer_bytes(99), "max_buffer_bytes"),
            (Config::builder().export_timeout(Duration::ZERO), "export_timeout"),
            (Config::builder().format(StorageFormat::ArrowIpc).compression(Compression::Snappy), "compression"),
            (Config::builder().retention_max_bytes(0), "retention_max_bytes"),
            (Config::builder().retention_max_age(Duration::ZERO), "retention_max_age"),
            (Config::builder().retention_max_age(Duration::from_millis(999)), "retention_max_age"),
            (Config::builder().retention_max_age(MAX_RETENTION_AGE + Duration::from_secs(1)), "retention_max_age"),
            (Config::builder().retention_max_age(Duration::from_secs(u64::MAX)), "retention_max_age"),
            (Config::builder().retention_max_age(Duration::from_secs(1 << 63)), "retention_max_age"),
        ];
        for (builder, field) in cases {
            match builder.build() {
                Err(OtlpError::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected InvalidConfig, got {other:?}"),
            }
        }
    }
}
