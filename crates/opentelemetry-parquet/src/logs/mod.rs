//! Logs: the OpenTelemetry SDK's `LogExporter`.

mod exporter;

pub use exporter::OtlpLogExporter;
