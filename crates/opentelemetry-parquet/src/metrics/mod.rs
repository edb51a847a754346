//! Metrics: the OpenTelemetry SDK
//! [`PushMetricExporter`](opentelemetry_sdk::metrics::exporter::PushMetricExporter).

mod exporter;

pub use exporter::OtlpMetricExporter;
