//! Metrics: the OpenTelemetry SDK's `PushMetricExporter`.

mod exporter;

pub use exporter::OtlpMetricExporter;
