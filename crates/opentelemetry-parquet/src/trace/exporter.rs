use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{OtlpError, Result};
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
    library: OtlpLibrary,
    resource: Arc<ResourceInfo>,
    is_shutdown: AtomicBool,
}

impl OtlpLibrary {
    /// A span exporter writing into this library. Any number can be created; they share the
    /// library's buffer and files.
    pub fn span_exporter(&self) -> OtlpSpanExporter {
        OtlpSpanExporter {
            library: self.clone(),
            resource: Arc::new(crate::sdk::newest_default_resource()),
            is_shutdown: AtomicBool::new(false),
        }
    }
}

impl OtlpSpanExporter {
    /// The library and the resource to store spans with, unless this exporter was shut down.
    pub(crate) fn accepting(&self) -> Result<(&OtlpLibrary, Arc<ResourceInfo>)> {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OtlpError::AlreadyShutdown("OtlpSpanExporter"));
        }
        Ok((&self.library, Arc::clone(&self.resource)))
    }

    pub(crate) fn set_resource_info(&mut self, resource: ResourceInfo) {
        self.resource = Arc::new(resource);
    }

    /// The library's `export_timeout`, used where the SDK would pass its own fixed default.
    pub(crate) fn export_timeout(&self) -> Duration {
        self.library.config().export_timeout()
    }

    pub(crate) fn flush_for(&self, timeout: Duration) -> Result<()> {
        self.library.flush_with_timeout(timeout)
    }

    /// Refuses later exports and flushes; the library keeps running.
    pub(crate) fn shutdown_for(&self, timeout: Duration) -> Result<()> {
        self.is_shutdown.store(true, Ordering::Release);
        self.flush_for(timeout)
    }
}
