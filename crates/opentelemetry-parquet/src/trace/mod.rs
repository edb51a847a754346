//! Traces: the OpenTelemetry SDK's `SpanExporter`.

mod exporter;

pub use exporter::OtlpSpanExporter;
