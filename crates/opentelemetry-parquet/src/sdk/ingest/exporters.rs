//! The SDK's error type and its metric and log exporter traits for this crate's types (the span
//! exporter's trait is `impl_span_exporter!`, its receivers differing between versions).

use std::time::Duration;

use super::otel_sdk;
use crate::error::OtlpError;
use crate::{OtlpLogExporter, OtlpMetricExporter, Temporality};

use otel_sdk::error::{OTelSdkError, OTelSdkResult};
use otel_sdk::logs::{LogBatch, LogExporter};
use otel_sdk::metrics::data::ResourceMetrics;
use otel_sdk::metrics::exporter::PushMetricExporter;

impl From<OtlpError> for OTelSdkError {
    fn from(err: OtlpError) -> Self {
        match err {
            OtlpError::AlreadyShutdown(_) => OTelSdkError::AlreadyShutdown,
            OtlpError::Timeout { timeout, .. } => OTelSdkError::Timeout(timeout),
            other => OTelSdkError::InternalFailure(crate::error::error_chain(&other)),
        }
    }
}

impl From<otel_sdk::metrics::Temporality> for Temporality {
    fn from(t: otel_sdk::metrics::Temporality) -> Self {
        match t {
            otel_sdk::metrics::Temporality::Delta => Temporality::Delta,
            otel_sdk::metrics::Temporality::LowMemory => Temporality::LowMemory,
            // Cumulative, and any a later SDK adds (the SDK's own default).
            _ => Temporality::Cumulative,
        }
    }
}

impl From<Temporality> for otel_sdk::metrics::Temporality {
    fn from(t: Temporality) -> Self {
        match t {
            Temporality::Cumulative => otel_sdk::metrics::Temporality::Cumulative,
            Temporality::Delta => otel_sdk::metrics::Temporality::Delta,
            Temporality::LowMemory => otel_sdk::metrics::Temporality::LowMemory,
        }
    }
}

impl PushMetricExporter for OtlpMetricExporter {
    fn export(&self, metrics: &ResourceMetrics) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.export_metrics(metrics).map(|_| ()).map_err(OTelSdkError::from))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(self.lifecycle.flush(self.lifecycle.export_timeout())?)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        Ok(self.lifecycle.shutdown(timeout)?)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.shutdown_with_timeout(self.lifecycle.export_timeout())
    }

    fn temporality(&self) -> otel_sdk::metrics::Temporality {
        self.requested_temporality().into()
    }
}

impl LogExporter for OtlpLogExporter {
    fn export(&self, batch: LogBatch<'_>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        // The records are borrowed for this call only: they become columns now, and the SDK gets
        // a finished future.
        std::future::ready(super::logs::export_logs(self, &batch).map(|_| ()).map_err(OTelSdkError::from))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        Ok(self.lifecycle.shutdown(timeout)?)
    }

    /// The SDK's default timeout is fixed (5 s); use the library's `export_timeout` instead.
    fn shutdown(&self) -> OTelSdkResult {
        self.shutdown_with_timeout(self.lifecycle.export_timeout())
    }

    fn set_resource(&mut self, resource: &otel_sdk::Resource) {
        self.set_resource_info(super::resource_info(resource));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_error_keeps_the_source_chain() {
        let err = OtlpError::io("/x/y", std::io::Error::other("disk on fire"));
        match OTelSdkError::from(err) {
            OTelSdkError::InternalFailure(msg) => {
                assert!(msg.contains("/x/y"), "{msg}");
                assert!(msg.contains("disk on fire"), "{msg}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn shutdown_and_timeout_map_to_their_variants() {
        assert!(matches!(OTelSdkError::from(OtlpError::AlreadyShutdown("OtlpLibrary")), OTelSdkError::AlreadyShutdown));
        let t = Duration::from_millis(7);
        assert!(matches!(
            OTelSdkError::from(OtlpError::Timeout { operation: "flush", timeout: t }),
            OTelSdkError::Timeout(d) if d == t
        ));
    }

    #[test]
    fn temporality_converts_both_ways() {
        for t in [Temporality::Cumulative, Temporality::Delta, Temporality::LowMemory] {
            assert_eq!(Temporality::from(otel_sdk::metrics::Temporality::from(t)), t);
        }
    }
}
