//! The smallest traces integration: five lines from library to spans on disk.
use opentelemetry::trace::{Tracer, TracerProvider};
use opentelemetry_parquet::{Config, OtlpLibrary};
use opentelemetry_sdk::trace::SdkTracerProvider;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let library = OtlpLibrary::new(Config::from_env()?)?;
    let provider = SdkTracerProvider::builder().with_batch_exporter(library.span_exporter()).build();
    provider.tracer("example").in_span("hello", |_cx| println!("hello from a span"));
    provider.shutdown()?; // flushes: the span is in ./otel-data/traces/ now
    Ok(())
}
