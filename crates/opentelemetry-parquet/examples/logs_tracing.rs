//! Logs from `tracing`, correlated with traces: a `tracing::info!` inside a real `tracing` span
//! (`tracing::info_span!`) is stored as a row of the `logs` table carrying that span's TraceId
//! and SpanId, and the span itself as a row of `traces`.
//!
//! `opentelemetry-appender-tracing` turns the `tracing` events into log records; the span
//! context comes from `tracing-opentelemetry`, which makes each `tracing` span an OpenTelemetry
//! span and activates its context while the span is entered (its default), so the SDK's logger
//! gives each record the active span's IDs. No experimental feature of the appender is needed
//! (0.31's `experimental_use_tracing_span_context` is gone in 0.32). The program reads its store
//! back (`OTEL_PARQUET_OUTPUT_DIR`, default `./otel-data`) and checks the correlated row.
//!
//! Adopting it is three lines: the library, the logger provider, and the bridge layer:
//! `tracing_subscriber::registry().with(OpenTelemetryTracingBridge::new(&provider)).init()`.
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_parquet::proto::common::v1::any_value::Value;
use opentelemetry_parquet::{Config, OtlpLibrary, StoreReader};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let library = OtlpLibrary::new(Config::from_env()?)?;
    let logger_provider = SdkLoggerProvider::builder().with_batch_exporter(library.log_exporter()).build();
    let tracer_provider = SdkTracerProvider::builder().with_batch_exporter(library.span_exporter()).build();
    tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(tracer_provider.tracer("logs_tracing")))
        .with(OpenTelemetryTracingBridge::new(&logger_provider))
        .init();

    let span = tracing::info_span!("checkout", order.id = 42);
    let ids = span.in_scope(|| {
        tracing::info!(order.id = 42, amount = 19.99, "payment accepted");
        let context = tracing::Span::current().context();
        let span = context.span();
        (span.span_context().trace_id(), span.span_context().span_id())
    });
    drop(span); // ends the span: it is exported with the tracer provider's shutdown

    logger_provider.shutdown()?; // exports and flushes: the record is in ./otel-data/logs/ now
    tracer_provider.shutdown()?;

    // Read the store back: the log row of this run carries the span's IDs.
    let (trace_id, span_id) = ids;
    let store = StoreReader::new(library.config().output_dir());
    let logs = store.read_logs()?;
    let (scope, record) = logs
        .resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .flat_map(|sl| sl.log_records.iter().map(move |r| (sl.scope.as_ref(), r)))
        .find(|(_, r)| r.trace_id == trace_id.to_bytes() && r.span_id == span_id.to_bytes())
        .ok_or("no log row carries the span's TraceId and SpanId")?;
    let body = match record.body.as_ref().and_then(|b| b.value.as_ref()) {
        Some(Value::StringValue(s)) => s.as_str(),
        other => return Err(format!("unexpected body {other:?}").into()),
    };
    assert_eq!(body, "payment accepted");
    assert_eq!(record.severity_text, "INFO");
    let traces = store.read_traces()?;
    let stored_span = traces
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .find(|s| s.span_id == span_id.to_bytes())
        .ok_or("the span is not in the traces table")?;
    assert_eq!((stored_span.name.as_str(), stored_span.trace_id.as_slice()), ("checkout", &trace_id.to_bytes()[..]));
    println!(
        "log row: {body:?} severity {} scope {:?} TraceId {trace_id} SpanId {span_id}, in span {:?}",
        record.severity_text,
        scope.map(|s| s.name.as_str()).unwrap_or_default(),
        stored_span.name,
    );
    Ok(())
}
