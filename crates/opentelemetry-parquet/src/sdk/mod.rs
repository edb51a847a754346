//! The OpenTelemetry SDK versions this crate works with, as Cargo features: `sdk-0-31`
//! (default) and `sdk-0-32`, additive.
//!
//! # One source of truth
//! The code that reads SDK objects (spans, metrics, log records, resources, attribute values)
//! and the SDK exporter traits is written once, in `sdk/ingest/`, against two names: `otel` (the
//! `opentelemetry` crate) and `otel_sdk` (`opentelemetry_sdk`). `v0_31.rs` and `v0_32.rs` each
//! bind those names to their version's crates and compile `ingest/` as a module of their own, so
//! each enabled version gets the same code compiled against its own types. The two versions'
//! APIs differ only in the receivers of `SpanExporter::shutdown` and `force_flush`
//! (`&mut self` in 0.31, `&self` in 0.32), which `impl_span_exporter!` takes as an argument.
//! The tables, buffer, writer and reader know nothing of SDK versions: they see OTLP types
//! ([`crate::proto`]) and rows.
//!
//! # Which types the public API takes
//! [`OtlpLibrary::export_traces`](crate::OtlpLibrary::export_traces) and the other `export_*`
//! methods are generic over the sealed traits below, implemented for each enabled version's
//! types; the exporters implement each enabled version's exporter traits. The OTLP types this
//! crate returns ([`crate::proto`], [`StoreReader`](crate::StoreReader)) are those of the newest
//! version enabled; OTLP requests of the other enabled version are accepted too.

use std::borrow::Cow;

use crate::error::Result;
use crate::proto::collector::logs::v1::ExportLogsServiceRequest;
use crate::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use crate::proto::collector::trace::v1::ExportTraceServiceRequest;
use crate::OtlpLibrary;

pub(crate) mod sealed {
    /// Implemented only by this crate, for the supported SDK versions' types.
    pub trait Sealed {}
}

/// `opentelemetry_sdk::trace::SpanData` of an SDK version this crate was built for (0.31 with
/// the `sdk-0-31` feature, 0.32 with `sdk-0-32`). Sealed.
pub trait SdkSpanData: sealed::Sealed + Sized + Send + 'static {
    /// `opentelemetry_sdk::Resource` of the same SDK version.
    type Resource;

    /// Stores the spans with `resource`, or the SDK's default resource.
    #[doc(hidden)]
    fn export_to(library: &OtlpLibrary, spans: Vec<Self>, resource: Option<&Self::Resource>) -> Result<usize>;
}

/// `opentelemetry_sdk::metrics::data::ResourceMetrics` of an SDK version this crate was built
/// for. Sealed.
pub trait SdkResourceMetrics: sealed::Sealed {
    /// Stores the metrics, reading them in place.
    #[doc(hidden)]
    fn export_to(&self, library: &OtlpLibrary) -> Result<usize>;
}

/// `ExportTraceServiceRequest` of an `opentelemetry-proto` version this crate was built for.
/// Sealed.
pub trait OtlpTracesRequest: sealed::Sealed + Sized {
    /// The request as [`crate::proto`]'s type: borrowed when it is that type, converted
    /// (re-encoded) when it is the older enabled version's.
    #[doc(hidden)]
    fn current(&self) -> Result<Cow<'_, ExportTraceServiceRequest>>;
    /// As [`current`](Self::current), taking the request.
    #[doc(hidden)]
    fn into_current(self) -> Result<ExportTraceServiceRequest>;
}

/// `ExportMetricsServiceRequest` of an `opentelemetry-proto` version this crate was built for.
/// Sealed.
pub trait OtlpMetricsRequest: sealed::Sealed {
    /// The request as [`crate::proto`]'s type (see [`OtlpTracesRequest`]).
    #[doc(hidden)]
    fn current(&self) -> Result<Cow<'_, ExportMetricsServiceRequest>>;
}

/// `ExportLogsServiceRequest` of an `opentelemetry-proto` version this crate was built for.
/// Sealed.
pub trait OtlpLogsRequest: sealed::Sealed + Sized {
    /// The request as [`crate::proto`]'s type (see [`OtlpTracesRequest`]).
    #[doc(hidden)]
    fn current(&self) -> Result<Cow<'_, ExportLogsServiceRequest>>;
    /// As [`current`](Self::current), taking the request.
    #[doc(hidden)]
    fn into_current(self) -> Result<ExportLogsServiceRequest>;
}

impl sealed::Sealed for ExportTraceServiceRequest {}
impl sealed::Sealed for ExportMetricsServiceRequest {}
impl sealed::Sealed for ExportLogsServiceRequest {}

impl OtlpLogsRequest for ExportLogsServiceRequest {
    fn current(&self) -> Result<Cow<'_, ExportLogsServiceRequest>> {
        Ok(Cow::Borrowed(self))
    }
    fn into_current(self) -> Result<ExportLogsServiceRequest> {
        Ok(self)
    }
}

impl OtlpTracesRequest for ExportTraceServiceRequest {
    fn current(&self) -> Result<Cow<'_, ExportTraceServiceRequest>> {
        Ok(Cow::Borrowed(self))
    }
    fn into_current(self) -> Result<ExportTraceServiceRequest> {
        Ok(self)
    }
}

impl OtlpMetricsRequest for ExportMetricsServiceRequest {
    fn current(&self) -> Result<Cow<'_, ExportMetricsServiceRequest>> {
        Ok(Cow::Borrowed(self))
    }
}

/// Converts a message of the older `opentelemetry-proto` into the newer one's by its wire
/// form: the two are the same protobuf schema (the newer adds fields), so nothing is lost.
/// Fails only for a message nested deeper than prost decodes, which ingestion refuses anyway.
#[cfg(all(feature = "sdk-0-31", feature = "sdk-0-32"))]
fn reencode<A: prost::Message, B: prost::Message + Default>(message: &A, name: &'static str) -> Result<B> {
    B::decode(message.encode_to_vec().as_slice())
        .map_err(|e| crate::OtlpError::Decode { message: name, reason: e.to_string() })
}

#[cfg(all(feature = "sdk-0-31", feature = "sdk-0-32"))]
mod older_requests {
    use super::*;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest as Logs031;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest as Metrics031;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest as Traces031;

    impl sealed::Sealed for Traces031 {}
    impl sealed::Sealed for Metrics031 {}
    impl sealed::Sealed for Logs031 {}

    impl OtlpLogsRequest for Logs031 {
        fn current(&self) -> Result<Cow<'_, ExportLogsServiceRequest>> {
            reencode(self, "ExportLogsServiceRequest").map(Cow::Owned)
        }
        fn into_current(self) -> Result<ExportLogsServiceRequest> {
            reencode(&self, "ExportLogsServiceRequest")
        }
    }

    impl OtlpTracesRequest for Traces031 {
        fn current(&self) -> Result<Cow<'_, ExportTraceServiceRequest>> {
            reencode(self, "ExportTraceServiceRequest").map(Cow::Owned)
        }
        fn into_current(self) -> Result<ExportTraceServiceRequest> {
            reencode(&self, "ExportTraceServiceRequest")
        }
    }

    impl OtlpMetricsRequest for Metrics031 {
        fn current(&self) -> Result<Cow<'_, ExportMetricsServiceRequest>> {
            reencode(self, "ExportMetricsServiceRequest").map(Cow::Owned)
        }
    }
}

/// Implements `SpanExporter` for [`OtlpSpanExporter`](crate::OtlpSpanExporter) in the module
/// that invokes it (with `otel_sdk` in scope); `mut` for the versions whose `shutdown` and
/// `force_flush` take `&mut self`.
macro_rules! impl_span_exporter {
    ($($mutability:ident)?) => {
        impl otel_sdk::trace::SpanExporter for crate::OtlpSpanExporter {
            fn export(
                &self,
                batch: Vec<otel_sdk::trace::SpanData>,
            ) -> impl std::future::Future<Output = otel_sdk::error::OTelSdkResult> + Send {
                // Handing the spans to the buffer is fast and never touches the disk: do it now
                // and hand the SDK a finished future.
                std::future::ready(ingest::export_spans(self, batch).map_err(Into::into))
            }

            fn shutdown_with_timeout(&$($mutability)? self, timeout: std::time::Duration) -> otel_sdk::error::OTelSdkResult {
                Ok(self.lifecycle.shutdown(timeout)?)
            }

            /// The SDK's default timeout is fixed (5 ns in 0.31, 5 s in 0.32); use the
            /// library's `export_timeout` instead.
            fn shutdown(&$($mutability)? self) -> otel_sdk::error::OTelSdkResult {
                Ok(self.lifecycle.shutdown(self.lifecycle.export_timeout())?)
            }

            fn force_flush(&$($mutability)? self) -> otel_sdk::error::OTelSdkResult {
                Ok(self.lifecycle.flush(self.lifecycle.export_timeout())?)
            }

            fn set_resource(&mut self, resource: &otel_sdk::Resource) {
                self.set_resource_info(ingest::resource_info(resource));
            }
        }
    };
}

#[cfg(feature = "sdk-0-31")]
mod v0_31;
#[cfg(feature = "sdk-0-32")]
mod v0_32;

/// The resource of an SDK with no `with_resource`, of the newest enabled version: what a span
/// exporter stores until its provider calls `set_resource` (every provider does when built).
pub(crate) fn newest_default_resource() -> crate::table::resource::ResourceInfo {
    #[cfg(feature = "sdk-0-32")]
    return v0_32::ingest::default_resource();
    #[cfg(not(feature = "sdk-0-32"))]
    return v0_31::ingest::default_resource();
}

#[cfg(not(any(feature = "sdk-0-31", feature = "sdk-0-32")))]
compile_error!("opentelemetry-parquet needs an SDK version: enable the feature `sdk-0-31` or `sdk-0-32` (or both)");
