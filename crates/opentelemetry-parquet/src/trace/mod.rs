//! Traces: the OpenTelemetry SDK [`SpanExporter`](opentelemetry_sdk::trace::SpanExporter).

mod exporter;

pub use exporter::OtlpSpanExporter;
