use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::table::resource::ResourceInfo;
use crate::OtlpLibrary;

/// An OpenTelemetry SDK [`SpanExporter`] that stores spans in an [`OtlpLibrary`].
///
/// Get one from [`OtlpLibrary::span_exporter`]. It stores the resource the tracer provider
/// passes to [`set_resource`](SpanExporter::set_resource) with every span. Its `shutdown`
/// (called by the provider's shutdown) flushes the library, so everything the provider exported
/// is on disk once `provider.shutdown()` returns, but it leaves the library running for other
/// exporters.
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
    /// A [`SpanExporter`] writing into this library. Any number can be created; they share the
    /// library's buffer and files.
    pub fn span_exporter(&self) -> OtlpSpanExporter {
        OtlpSpanExporter {
            library: self.clone(),
            resource: Arc::new(ResourceInfo::from_sdk(&Resource::builder().build())),
            is_shutdown: AtomicBool::new(false),
        }
    }
}

impl OtlpSpanExporter {
    fn flush(&self, timeout: Duration) -> OTelSdkResult {
        self.library.flush_with_timeout(timeout).map_err(OTelSdkError::from)
    }
}

impl SpanExporter for OtlpSpanExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        // Handing the spans to the buffer is fast and never touches the disk: do it now and hand
        // the SDK a finished future.
        let result = if self.is_shutdown.load(Ordering::Acquire) {
            Err(OTelSdkError::AlreadyShutdown)
        } else {
            self.library.export_span_data(batch, Arc::clone(&self.resource)).map(|_| ()).map_err(OTelSdkError::from)
        };
        std::future::ready(result)
    }

    fn shutdown_with_timeout(&mut self, timeout: Duration) -> OTelSdkResult {
        self.is_shutdown.store(true, Ordering::Release);
        self.flush(timeout)
    }

    /// The SDK's default passes a 5 ns timeout; use the library's `export_timeout` instead.
    fn shutdown(&mut self) -> OTelSdkResult {
        self.shutdown_with_timeout(self.library.config().export_timeout())
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.flush(self.library.config().export_timeout())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = Arc::new(ResourceInfo::from_sdk(resource));
    }
}
