use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;

use crate::OtlpLibrary;

/// An OpenTelemetry SDK [`PushMetricExporter`] that stores metrics in an [`OtlpLibrary`].
///
/// Get one from [`OtlpLibrary::metric_exporter`] and give it to a `PeriodicReader`. It reads
/// the SDK's `&ResourceMetrics` in place (no copy). Its temporality is the library's
/// configured one (cumulative by default); change it with
/// [`with_temporality`](Self::with_temporality). Its `shutdown` flushes the library without
/// shutting it down.
///
/// # Example
/// ```
/// use opentelemetry::metrics::MeterProvider as _;
/// use opentelemetry_parquet::{Config, OtlpLibrary};
/// use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
///
/// # let dir = tempfile::tempdir()?;
/// let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build()?)?;
/// let exporter = library.metric_exporter().with_temporality(Temporality::Delta);
/// let provider = SdkMeterProvider::builder()
///     .with_reader(PeriodicReader::builder(exporter).build())
///     .build();
/// provider.meter("my-app").u64_counter("requests").build().add(1, &[]);
/// provider.shutdown()?; // collects, exports and flushes
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct OtlpMetricExporter {
    library: OtlpLibrary,
    temporality: Temporality,
    is_shutdown: AtomicBool,
}

impl OtlpLibrary {
    /// A [`PushMetricExporter`] writing into this library, with the configured temporality.
    pub fn metric_exporter(&self) -> OtlpMetricExporter {
        OtlpMetricExporter {
            library: self.clone(),
            temporality: self.config().temporality(),
            is_shutdown: AtomicBool::new(false),
        }
    }
}

impl OtlpMetricExporter {
    /// Asks the SDK for this temporality instead of the configured one.
    pub fn with_temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = temporality;
        self
    }
}

impl PushMetricExporter for OtlpMetricExporter {
    fn export(&self, metrics: &ResourceMetrics) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let result = if self.is_shutdown.load(Ordering::Acquire) {
            Err(OTelSdkError::AlreadyShutdown)
        } else {
            self.library.export_metrics_ref(metrics).map(|_| ()).map_err(OTelSdkError::from)
        };
        std::future::ready(result)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.library.flush().map_err(OTelSdkError::from)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.is_shutdown.store(true, Ordering::Release);
        self.library.flush_with_timeout(timeout).map_err(OTelSdkError::from)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.shutdown_with_timeout(self.library.config().export_timeout())
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}
