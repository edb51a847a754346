use std::sync::Arc;

use crate::error::Result;
use crate::exporter::ExporterLifecycle;
use crate::table::resource::ResourceInfo;
use crate::OtlpLibrary;

/// An OpenTelemetry SDK `SpanExporter` that stores spans in an [`OtlpLibrary`]: it implements
/// `opentelemetry_sdk::trace::SpanExporter` of each SDK version enabled (features `sdk-0-31`,
/// `sdk-0-32`).
///
/// Get one from [`OtlpLibrary::span_exporter`]. It stores the resource the tracer provider
/// passes to `set_resource` with every span. Its `shutdown` (called by the provider's shutdown)
/// flushes the library, so everything the provider exported is on disk once
/// `provider.shutdown()` returns, but it leaves the library running for other exporters; later
/// exports fail with `AlreadyShutdown`.
///
/// # Example
/// ```
/// use opentelemetry::trace::{Tracer, TracerProvider};
/// use opentelemetry_parquet::{Config, OtlpLibrary};
/// use opentelemetry_sdk::trace::SdkTracerProvider;
///
/// # let dir = tempfile::tempdir()?;
/// let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build()?)?;
/// let provider = SdkTracerProvider::builder()
///     .with_simple_exporter(library.span_exporter())
///     .build();
/// provider.tracer("my-app").in_span("checkout", |_cx| {});
/// provider.shutdown()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct OtlpSpanExporter {
    pub(crate) lifecycle: ExporterLifecycle,
    resource: Arc<ResourceInfo>,
}

impl OtlpLibrary {
    /// A span exporter writing into this library. Any number can be created; they share the
    /// library's buffer and files.
    pub fn span_exporter(&self) -> OtlpSpanExporter {
        OtlpSpanExporter {
            lifecycle: ExporterLifecycle::new(self.clone(), "OtlpSpanExporter"),
            resource: Arc::new(crate::sdk::newest_default_resource()),
        }
    }
}

impl OtlpSpanExporter {
    /// The library and the resource to store spans with, unless this exporter was shut down.
    pub(crate) fn accepting(&self) -> Result<(&OtlpLibrary, Arc<ResourceInfo>)> {
        Ok((self.lifecycle.accepting()?, Arc::clone(&self.resource)))
    }

    pub(crate) fn set_resource_info(&mut self, resource: ResourceInfo) {
        self.resource = Arc::new(resource);
    }
}
