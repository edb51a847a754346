//! OpenTelemetry SDK 0.31 (feature `sdk-0-31`): the shared ingestion code compiled against
//! `opentelemetry` / `opentelemetry_sdk` 0.31.

pub(crate) use ::opentelemetry as otel;
pub(crate) use ::opentelemetry_sdk as otel_sdk;

/// This version's slot in per-version caches.
const VERSION: usize = 0;

// The same source as the other version's `ingest`, on purpose (see `crate::sdk`).
#[allow(clippy::duplicate_mod)]
#[path = "ingest/mod.rs"]
pub(crate) mod ingest;

impl_span_exporter!(mut);
