use crate::error::Result;
use crate::exporter::ExporterLifecycle;
use crate::sdk::SdkResourceMetrics;
use crate::{OtlpLibrary, Temporality};

/// An OpenTelemetry SDK `PushMetricExporter` that stores metrics in an [`OtlpLibrary`]: it
/// implements `opentelemetry_sdk::metrics::exporter::PushMetricExporter` of each SDK version
/// enabled (features `sdk-0-31`, `sdk-0-32`).
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
    pub(crate) lifecycle: ExporterLifecycle,
    temporality: Temporality,
}

impl OtlpLibrary {
    /// A metric exporter writing into this library, with the configured temporality.
    pub fn metric_exporter(&self) -> OtlpMetricExporter {
        OtlpMetricExporter {
            lifecycle: ExporterLifecycle::new(self.clone(), "OtlpMetricExporter"),
            temporality: self.config().temporality(),
        }
    }
}

impl OtlpMetricExporter {
    /// Asks the SDK for this temporality instead of the configured one (ours or the SDK's
    /// `Temporality`).
    pub fn with_temporality(mut self, temporality: impl Into<Temporality>) -> Self {
        self.temporality = temporality.into();
        self
    }

    /// The temporality this exporter asks the SDK for (the SDK traits' `temporality()`).
    pub(crate) fn requested_temporality(&self) -> Temporality {
        self.temporality
    }

    /// The exporter's `export`: stores the metrics unless it was shut down.
    pub(crate) fn export_metrics(&self, metrics: &impl SdkResourceMetrics) -> Result<usize> {
        self.lifecycle.accepting()?.export_metrics_ref(metrics)
    }
}
