//! The Rust SDK's own OTLP exporters (`opentelemetry-otlp`, over tonic gRPC and over HTTP with
//! protobuf) pointed at `serve` store the same rows as the in-process exporters
//! (`library.span_exporter()`, `log_exporter()`, `metric_exporter()`) for the same telemetry:
//! each SDK batch goes to both through a tee, so both stores see identical SDK data.

use std::path::Path;
use std::time::Duration;

use opentelemetry_0_32::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry_0_32::metrics::MeterProvider as _;
use opentelemetry_0_32::trace::{
    Link, Span as _, SpanContext, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceState, Tracer as _,
    TracerProvider as _,
};
use opentelemetry_0_32::{Context, Key, KeyValue, SpanId, TraceId};
use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
use opentelemetry_parquet::proto::resource::v1::Resource as ProtoResource;
use opentelemetry_parquet::{Config, OtlpLibrary, StoreReader};
use opentelemetry_sdk_0_32::error::OTelSdkResult;
use opentelemetry_sdk_0_32::logs::{LogBatch, LogExporter, SdkLoggerProvider};
use opentelemetry_sdk_0_32::metrics::data::ResourceMetrics;
use opentelemetry_sdk_0_32::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk_0_32::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk_0_32::trace::{SdkTracerProvider, SpanData, SpanExporter};
use opentelemetry_sdk_0_32::Resource;

use super::Server;
use crate::test_support::{assert_same_rows, rows, serve_args};

/// Hands every batch to both exporters, `a` (the OTLP client) first.
#[derive(Debug)]
struct Tee<A, B>(A, B);

fn both(a: OTelSdkResult, b: OTelSdkResult) -> OTelSdkResult {
    a.and(b)
}

impl<A: SpanExporter, B: SpanExporter> SpanExporter for Tee<A, B> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let a = self.0.export(batch.clone()).await;
        both(a, self.1.export(batch).await)
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        both(self.0.shutdown_with_timeout(timeout), self.1.shutdown_with_timeout(timeout))
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
        self.1.set_resource(resource);
    }
}

impl<A: LogExporter, B: LogExporter> LogExporter for Tee<A, B> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let records: Vec<_> = batch.iter().collect();
        let a = self.0.export(LogBatch::new(&records)).await;
        both(a, self.1.export(LogBatch::new(&records)).await)
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        both(self.0.shutdown_with_timeout(timeout), self.1.shutdown_with_timeout(timeout))
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
        self.1.set_resource(resource);
    }
}

impl<A: PushMetricExporter, B: PushMetricExporter> PushMetricExporter for Tee<A, B> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let a = self.0.export(metrics).await;
        both(a, self.1.export(metrics).await)
    }
    fn force_flush(&self) -> OTelSdkResult {
        both(self.0.force_flush(), self.1.force_flush())
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        both(self.0.shutdown_with_timeout(timeout), self.1.shutdown_with_timeout(timeout))
    }
    fn temporality(&self) -> Temporality {
        self.1.temporality()
    }
}

/// The three OTLP client exporters of one protocol, pointed at `server`.
struct Clients {
    spans: opentelemetry_otlp::SpanExporter,
    logs: opentelemetry_otlp::LogExporter,
    metrics: opentelemetry_otlp::MetricExporter,
}

fn clients(protocol: &str, server: &Server) -> Clients {
    if protocol == "grpc" {
        let endpoint = format!("http://{}", server.grpc.unwrap());
        let gzip = opentelemetry_otlp::Compression::Gzip;
        Clients {
            spans: opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(&endpoint)
                .with_compression(gzip)
                .build()
                .unwrap(),
            logs: opentelemetry_otlp::LogExporter::builder().with_tonic().with_endpoint(&endpoint).build().unwrap(),
            metrics: opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(&endpoint)
                .build()
                .unwrap(),
        }
    } else {
        let base = format!("http://{}", server.http.unwrap());
        let protocol = opentelemetry_otlp::Protocol::HttpBinary;
        Clients {
            spans: opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(protocol)
                .with_endpoint(format!("{base}/v1/traces"))
                .build()
                .unwrap(),
            logs: opentelemetry_otlp::LogExporter::builder()
                .with_http()
                .with_protocol(protocol)
                .with_endpoint(format!("{base}/v1/logs"))
                .build()
                .unwrap(),
            metrics: opentelemetry_otlp::MetricExporter::builder()
                .with_http()
                .with_protocol(protocol)
                .with_endpoint(format!("{base}/v1/metrics"))
                .build()
                .unwrap(),
        }
    }
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("otlp-client-test")
        .with_attributes([KeyValue::new("host.name", "box"), KeyValue::new("pid", 4242_i64)])
        .build()
}

/// Spans of every shape, logs inside and outside them, and instruments of every kind.
fn emit(traces: &SdkTracerProvider, logs: &SdkLoggerProvider, meters: &SdkMeterProvider) {
    let tracer = traces.tracer_with_scope(
        opentelemetry_0_32::InstrumentationScope::builder("checkout")
            .with_version("1.2.3")
            .with_attributes([KeyValue::new("scope.attr", true)])
            .build(),
    );
    let logger = logs.logger("checkout.log");
    let linked = SpanContext::new(
        TraceId::from(0x0102_0304_0506_0708_0910_1112_1314_1516),
        SpanId::from(0x1718_1920_2122_2324),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("vendor", "x")]).unwrap(),
    );
    for request in 0..20_i64 {
        let root = tracer
            .span_builder(format!("GET /item/{request}"))
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.status_code", 200 + request),
                KeyValue::new("ratio", request as f64 / 3.0),
                KeyValue::new("cached", request % 2 == 0),
                KeyValue::new(
                    "tags",
                    opentelemetry_0_32::Value::Array(
                        vec![opentelemetry_0_32::StringValue::from("a"), "ü".into()].into(),
                    ),
                ),
                KeyValue::new("empty", ""),
            ])
            .with_links(vec![Link::with_context(linked.clone())])
            .start(&tracer);
        let cx = Context::current_with_span(root);
        {
            let _guard = cx.clone().attach();
            let mut child = tracer.start_with_context("db query", &cx);
            child.add_event("rows", vec![KeyValue::new("count", request)]);
            if request % 5 == 0 {
                child.set_status(Status::error("timeout"));
            }
            let mut record = logger.create_log_record();
            record.set_severity_number(if request % 5 == 0 { Severity::Error } else { Severity::Info });
            record.set_severity_text("INFO");
            record.set_body(AnyValue::from(format!("request {request} handled")));
            record.add_attribute(Key::new("request"), AnyValue::Int(request));
            let span_context = cx.span().span_context().clone();
            record.set_trace_context(span_context.trace_id(), span_context.span_id(), Some(TraceFlags::SAMPLED));
            logger.emit(record);
            child.end();
        }
        cx.span().end();
    }
    let mut structured = logger.create_log_record();
    structured.set_event_name("order.placed");
    structured.set_body(AnyValue::Map(Box::new(
        [(Key::new("items"), AnyValue::ListAny(Box::new(vec![AnyValue::Int(1), AnyValue::Double(2.5)])))]
            .into_iter()
            .collect(),
    )));
    structured.add_attribute(Key::new("bytes"), AnyValue::Bytes(Box::new(vec![0, 1, 255])));
    logger.emit(structured);

    let meter = meters.meter("checkout.metrics");
    let requests = meter.u64_counter("requests").with_unit("1").with_description("handled").build();
    let in_flight = meter.i64_up_down_counter("in_flight").build();
    let latency = meter.f64_histogram("latency").with_unit("ms").build();
    let temperature = meter.f64_gauge("temperature").build();
    for request in 0..20_u64 {
        let attributes = [KeyValue::new("route", if request % 2 == 0 { "/a" } else { "/b" })];
        requests.add(1, &attributes);
        in_flight.add(if request % 3 == 0 { -1 } else { 1 }, &attributes);
        latency.record(request as f64 * 1.5, &attributes);
        temperature.record(20.0 + request as f64, &[]);
    }
}

/// A copy of the store at `from` in `to`, with each resource's attributes in key order. The
/// SDK's resource is an unordered map: the OTLP exporters send it in hash order, which `serve`
/// keeps as it came; the in-process exporters store it sorted by key.
fn resources_in_key_order(from: &Path, to: &Path) {
    let reader = StoreReader::new(from);
    let library = OtlpLibrary::new(Config::builder().output_dir(to).build().unwrap()).unwrap();
    let sort = |resource: &mut Option<ProtoResource>| {
        if let Some(resource) = resource {
            resource.attributes.sort_by(|a, b| a.key.cmp(&b.key));
        }
    };
    let mut traces = reader.read_traces().unwrap();
    traces.resource_spans.iter_mut().for_each(|r| sort(&mut r.resource));
    library.export_otlp_traces(&traces).unwrap();
    let mut metrics = reader.read_metrics().unwrap();
    metrics.resource_metrics.iter_mut().for_each(|r| sort(&mut r.resource));
    library.export_otlp_metrics(&metrics).unwrap();
    let mut logs = reader.read_logs().unwrap();
    logs.resource_logs.iter_mut().for_each(|r| sort(&mut r.resource));
    library.export_otlp_logs(&logs).unwrap();
    library.shutdown().unwrap();
}

/// The same telemetry through the OTLP client exporters into `serve`, and in process into a
/// second store: identical rows in every table.
fn otlp_clients_store_what_the_in_process_exporters_store(protocol: &str) {
    let (served, direct) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The tonic client spawns its connection on the runtime it is built in.
    let _entered = runtime.enter();
    let serve_library = OtlpLibrary::new(Config::builder().output_dir(served.path()).build().unwrap()).unwrap();
    let args = serve_args(&[]);
    let server = runtime.block_on(Server::start(&args, serve_library)).unwrap();
    let library = OtlpLibrary::new(Config::builder().output_dir(direct.path()).build().unwrap()).unwrap();
    let clients = clients(protocol, &server);

    let traces = SdkTracerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(Tee(clients.spans, library.span_exporter()))
        .build();
    let logs = SdkLoggerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(Tee(clients.logs, library.log_exporter()))
        .build();
    let meters = SdkMeterProvider::builder()
        .with_resource(resource())
        .with_reader(PeriodicReader::builder(Tee(clients.metrics, library.metric_exporter())).build())
        .build();
    emit(&traces, &logs, &meters);
    // Shutdown exports what is left, through both exporters, and fails if either failed.
    traces.shutdown().unwrap();
    logs.shutdown().unwrap();
    meters.shutdown().unwrap();

    runtime.block_on(server.stop()).unwrap();
    library.shutdown().unwrap();
    let sorted = tempfile::tempdir().unwrap();
    resources_in_key_order(served.path(), sorted.path());
    let (served, direct) = (rows(sorted.path()), rows(direct.path()));
    let counts: Vec<_> = served.iter().map(|(t, r)| (t.as_str(), r.len())).collect();
    for expected in [("traces", 40), ("logs", 21), ("metrics_sum", 4), ("metrics_histogram", 2), ("metrics_gauge", 1)] {
        assert!(counts.contains(&expected), "{protocol}: expected {expected:?} in {counts:?}");
    }
    assert_same_rows(
        &served,
        &direct,
        &format!("over {protocol}: the served store has the in-process exporters' rows"),
    );
}

#[test]
fn the_rust_otlp_grpc_exporters_store_what_the_in_process_exporters_store() {
    otlp_clients_store_what_the_in_process_exporters_store("grpc");
}

#[test]
fn the_rust_otlp_http_exporters_store_what_the_in_process_exporters_store() {
    otlp_clients_store_what_the_in_process_exporters_store("http/protobuf");
}
