use crate::error::Result;
use crate::exporter::ExporterLifecycle;
use crate::table::resource::ResourceInfo;
use crate::OtlpLibrary;

/// An OpenTelemetry SDK `LogExporter` that stores log records in an [`OtlpLibrary`], one row of
/// the `logs` table each: it implements `opentelemetry_sdk::logs::LogExporter` of each SDK
/// version enabled (features `sdk-0-31`, `sdk-0-32`).
///
/// Get one from [`OtlpLibrary::log_exporter`]. It reads the SDK's borrowed `LogBatch` in place
/// and stores the rows the OTLP exporter's conversion would send for the same records (the
/// scope name is the record's `target` when it has one, as `opentelemetry-otlp` sends it), with
/// the resource the logger provider passes to `set_resource`. Its `shutdown` (called by the
/// provider's shutdown) flushes the library, so everything the provider exported is on disk once
/// `provider.shutdown()` returns, but it leaves the library running for other exporters; later
/// exports fail with `AlreadyShutdown`.
///
/// # Example
/// ```
/// use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
/// use opentelemetry_parquet::{Config, OtlpLibrary, StoreReader};
/// use opentelemetry_sdk::logs::SdkLoggerProvider;
///
/// # let dir = tempfile::tempdir()?;
/// let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build()?)?;
/// let provider = SdkLoggerProvider::builder().with_batch_exporter(library.log_exporter()).build();
///
/// let logger = provider.logger("my-app");
/// let mut record = logger.create_log_record();
/// record.set_severity_number(Severity::Warn);
/// record.set_body(AnyValue::from("disk almost full"));
/// logger.emit(record);
///
/// provider.shutdown()?; // exports and flushes: the record is in <dir>/logs/ now
/// let stored = StoreReader::new(dir.path()).read_logs()?;
/// assert_eq!(stored.resource_logs[0].scope_logs[0].log_records.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct OtlpLogExporter {
    pub(crate) lifecycle: ExporterLifecycle,
    /// The provider's resource; until it sets one, the default resource of the SDK version
    /// whose trait is called.
    resource: Option<ResourceInfo>,
}

impl OtlpLibrary {
    /// A log exporter writing into this library. Any number can be created; they share the
    /// library's buffer and files.
    pub fn log_exporter(&self) -> OtlpLogExporter {
        OtlpLogExporter { lifecycle: ExporterLifecycle::new(self.clone(), "OtlpLogExporter"), resource: None }
    }
}

impl OtlpLogExporter {
    /// The library and the resource its provider set (`None`: not set), unless this exporter
    /// was shut down.
    pub(crate) fn accepting(&self) -> Result<(&OtlpLibrary, Option<&ResourceInfo>)> {
        Ok((self.lifecycle.accepting()?, self.resource.as_ref()))
    }

    pub(crate) fn set_resource_info(&mut self, resource: ResourceInfo) {
        self.resource = Some(resource);
    }
}
