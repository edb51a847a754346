//! The smallest metrics integration: five lines from library to data points on disk.
use opentelemetry::metrics::MeterProvider;
use opentelemetry_parquet::{Config, OtlpLibrary};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let library = OtlpLibrary::new(Config::from_env()?)?;
    let reader = PeriodicReader::builder(library.metric_exporter()).build();
    let provider = SdkMeterProvider::builder().with_reader(reader).build();
    provider.meter("example").u64_counter("hello.count").build().add(1, &[]);
    provider.shutdown()?; // collects and flushes: ./otel-data/metrics_sum/ now
    Ok(())
}
