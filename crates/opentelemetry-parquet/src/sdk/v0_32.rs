//! OpenTelemetry SDK 0.32 (feature `sdk-0-32`): the shared ingestion code compiled against
//! `opentelemetry` / `opentelemetry_sdk` 0.32.

pub(crate) use ::opentelemetry_0_32 as otel;
pub(crate) use ::opentelemetry_sdk_0_32 as otel_sdk;

/// This version's slot in per-version caches.
const VERSION: usize = 1;

// The same source as the other version's `ingest`, on purpose (see `crate::sdk`).
#[allow(clippy::duplicate_mod)]
#[path = "ingest/mod.rs"]
pub(crate) mod ingest;

impl_span_exporter!();
