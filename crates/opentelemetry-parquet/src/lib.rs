//! # opentelemetry-parquet
//!
//! OpenTelemetry SDK exporters that store spans, metrics and logs on local disk as lossless,
//! queryable Parquet files: no collector, no backend. DuckDB, Polars, pyarrow, Spark and
//! ClickHouse read the files as they are.
//!
//! ```
//! use opentelemetry::trace::{Tracer, TracerProvider};
//! use opentelemetry::metrics::MeterProvider;
//! use opentelemetry_parquet::{Config, OtlpLibrary};
//! use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//!
//! # let dir = tempfile::tempdir()?;
//! let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build()?)?;
//! let tracer_provider = SdkTracerProvider::builder().with_batch_exporter(library.span_exporter()).build();
//! let meter_provider = SdkMeterProvider::builder()
//!     .with_reader(PeriodicReader::builder(library.metric_exporter()).build())
//!     .build();
//!
//! tracer_provider.tracer("app").in_span("work", |_cx| {});
//! meter_provider.meter("app").u64_counter("jobs").build().add(1, &[]);
//!
//! tracer_provider.shutdown()?;
//! meter_provider.shutdown()?;
//! // <dir>/traces/date=YYYY-MM-DD/hour=HH/part-<uuid>.parquet and <dir>/metrics_sum/... exist now.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Logs go the same way, through
//! `SdkLoggerProvider::builder().with_batch_exporter(library.log_exporter())` (see
//! [`OtlpLogExporter`]).
//!
//! See [`Config`] for the options and their `OTEL_PARQUET_*` variables, [`Table`] for the
//! tables, and [`StoreReader`] to read a store back into OTLP requests.

mod attributes;
mod buffer;
mod config;
mod encoding;
mod error;
mod exporter;
mod library;
mod lifecycle;
pub mod logs;
pub mod metrics;
mod otlp_items;
mod prepare;
mod reader;
mod retention;
pub mod sdk;
mod size;
mod store_lock;
mod table;
mod time;
pub mod trace;
mod worker;
mod writer;

pub use config::{
    env, parse_temporality, Compression, Config, ConfigBuilder, StorageFormat, Temporality, MAX_RETENTION_AGE,
};
pub use encoding::{SCHEMA_VERSION, SCHEMA_VERSION_KEY};
pub use error::{OtlpError, Result};
pub use library::OtlpLibrary;
pub use logs::OtlpLogExporter;
pub use metrics::OtlpMetricExporter;
pub use reader::{read_file, StoreReader};
pub use retention::RetentionStats;
pub use size::MAX_VALUE_DEPTH;
pub use table::Table;
pub use trace::OtlpSpanExporter;

/// The README's Rust snippets, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

/// The OTLP protobuf types this crate ingests and reads back: `opentelemetry-proto`'s `tonic`
/// module of the newest SDK version enabled (0.32 with the `sdk-0-32` feature, else 0.31).
#[cfg(all(feature = "sdk-0-31", not(feature = "sdk-0-32")))]
pub use opentelemetry_proto::tonic as proto;
/// The OTLP protobuf types this crate ingests and reads back: `opentelemetry-proto`'s `tonic`
/// module of the newest SDK version enabled (0.32 with the `sdk-0-32` feature, else 0.31).
#[cfg(feature = "sdk-0-32")]
pub use opentelemetry_proto_0_32::tonic as proto;
