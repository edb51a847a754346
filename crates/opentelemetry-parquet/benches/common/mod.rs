//! What every benchmark binary shares: the workloads (spans from a real SDK tracer, collections
//! of a real meter provider, log records of a real logger) and the ways of getting a batch onto
//! disk ("sinks"): ours, and the OTLP file formats a Collector-style file exporter writes.

// Each benchmark binary uses part of this.
#![allow(dead_code)]

mod sinks;

#[allow(unused_imports)] // not every binary uses the sinks
pub use sinks::*;

use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLogRecord, SdkLoggerProvider};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracer, SdkTracerProvider, Span, SpanData, SpanProcessor};

/// Spans per exported batch (the batch span processor's default `max_export_batch_size`).
pub const SPANS: usize = 512;
/// Spans per trace in the generated batch: one server span and its children.
const SPANS_PER_TRACE: usize = 8;
/// Batches per flush of the amortized variant.
pub const FLUSH_EVERY: usize = 64;
/// Metric series per collection: 250 attribute sets on each of 4 instruments.
pub const SERIES: usize = 1000;
/// Log records per exported batch (the batch log processor's default `max_export_batch_size`).
pub const LOGS: usize = 512;

/// Makes spans as an instrumented service does, with a tracer of a real SDK provider.
pub struct SpanMaker {
    tracer: SdkTracer,
    n: usize,
}

impl SpanMaker {
    pub fn new(provider: &SdkTracerProvider) -> SpanMaker {
        let scope = InstrumentationScope::builder("checkout-service")
            .with_version("1.4.2")
            .with_schema_url("https://opentelemetry.io/schemas/1.26.0")
            .build();
        SpanMaker { tracer: provider.tracer_with_scope(scope), n: 0 }
    }

    /// One batch worth of spans, started and ended: 64 traces of a server span and 7 children
    /// (client and internal), each span with 10 attributes (4 strings, 3 ints, 2 doubles, 1 bool)
    /// and one event with 2 attributes; every 16th span failed.
    pub fn batch(&mut self) {
        for _ in 0..SPANS / SPANS_PER_TRACE {
            let root = self.span(SpanKind::Server, "POST /api/v1/orders/{id}", &Context::new());
            let cx = Context::new().with_span(root);
            for child in 1..SPANS_PER_TRACE {
                let (kind, name) = if child % 2 == 0 {
                    (SpanKind::Client, "GET inventory")
                } else {
                    (SpanKind::Internal, "price cart")
                };
                self.span(kind, name, &cx).end();
            }
            cx.span().end();
        }
    }

    fn span(&mut self, kind: SpanKind, name: &'static str, parent: &Context) -> opentelemetry_sdk::trace::Span {
        const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
        let i = self.n;
        self.n += 1;
        let is_server = kind == SpanKind::Server;
        let attributes = vec![
            KeyValue::new("http.request.method", METHODS[i % METHODS.len()]),
            KeyValue::new("url.path", format!("/api/v1/orders/{}", 10_000 + i * 7)),
            KeyValue::new("http.route", "/api/v1/orders/{id}"),
            KeyValue::new("server.address", format!("orders-{}.internal", i % 3)),
            KeyValue::new("http.response.status_code", if i % 16 == 5 { 500_i64 } else { 200 }),
            KeyValue::new("http.request.body.size", (i as i64 * 37) % 4096),
            KeyValue::new("app.cart.items", (i % 12) as i64),
            KeyValue::new("app.cart.total", 19.99 + i as f64 * 0.73),
            KeyValue::new("app.discount.ratio", (i % 10) as f64 / 20.0),
            KeyValue::new("app.cache.hit", i % 3 == 0),
        ];
        let mut span = self
            .tracer
            .span_builder(name)
            .with_kind(kind)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, parent);
        span.add_event(
            "cache.lookup",
            vec![KeyValue::new("cache.key", format!("cart:{}", i % 97)), KeyValue::new("cache.latency_ms", 0.42)],
        );
        if i % 16 == 5 {
            span.set_status(Status::error("upstream returned 500"));
        } else if is_server {
            span.set_status(Status::Ok);
        }
        span
    }
}

/// `pool` batches of 512 spans captured from a real tracer provider (see [`SpanMaker::batch`]).
pub fn make_spans(pool: usize) -> Vec<Vec<SpanData>> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let mut maker = SpanMaker::new(&provider);
    for _ in 0..pool {
        maker.batch();
    }
    // Read the spans before shutting down: the in-memory exporter forgets them on shutdown.
    let spans = exporter.get_finished_spans().expect("captured spans");
    provider.shutdown().expect("tracer provider shutdown");
    assert_eq!(spans.len(), pool * SPANS, "captured spans");
    spans.chunks(SPANS).map(<[SpanData]>::to_vec).collect()
}

/// A span processor that drops every ended span: what is left is the SDK's cost of making it.
#[derive(Debug)]
pub struct DropSpans;

impl SpanProcessor for DropSpans {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}
    fn on_end(&self, span: SpanData) {
        drop(std::hint::black_box(span));
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// A tracer provider whose spans are made and then dropped ([`DropSpans`]).
pub fn dropping_provider() -> SdkTracerProvider {
    SdkTracerProvider::builder().with_span_processor(DropSpans).build()
}

/// `pool` successive collections of a meter provider, each of [`SERIES`] data points: 250
/// attribute sets (25 routes x 5 methods x 2 status codes) on each of a counter, a histogram, an
/// up-down counter and a gauge (cumulative temporality).
pub fn make_metrics(pool: usize) -> Vec<ResourceMetrics> {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder().with_reader(PeriodicReader::builder(exporter.clone()).build()).build();
    let meter = provider.meter("checkout-service");
    let requests = meter.u64_counter("http.server.request.count").with_unit("{request}").build();
    let duration = meter
        .f64_histogram("http.server.request.duration")
        .with_unit("s")
        .with_description("Duration of HTTP server requests")
        .build();
    let active = meter.i64_up_down_counter("http.server.active_requests").with_unit("{request}").build();
    let value = meter.f64_gauge("app.cart.value").with_unit("USD").build();
    let mut i = 0u32;
    for _ in 0..pool {
        for route in 0..25 {
            for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
                for status in [200_i64, 500] {
                    let attributes = [
                        KeyValue::new("http.route", format!("/api/v1/resource{route}/{{id}}")),
                        KeyValue::new("http.request.method", method),
                        KeyValue::new("http.response.status_code", status),
                    ];
                    for _ in 0..4 {
                        i += 1;
                        requests.add(1, &attributes);
                        duration.record(f64::from(i.wrapping_mul(7919) % 10_000) / 4999.0, &attributes);
                    }
                    active.add(i64::from(i % 7) - 3, &attributes);
                    value.record(f64::from(i.wrapping_mul(104_729) % 100_000) / 100.0, &attributes);
                }
            }
        }
        provider.force_flush().expect("meter provider flush");
    }
    let collections = exporter.get_finished_metrics().expect("collected metrics");
    provider.shutdown().expect("meter provider shutdown");
    assert_eq!(collections.len(), pool, "collections");
    collections
}

/// A batch of log records as a batch log processor holds them, with their loggers' scopes.
pub type LogRecords = Vec<(SdkLogRecord, InstrumentationScope)>;

/// `pool` batches of 512 log records emitted through a real logger provider, as an instrumented
/// service's `tracing` events arrive through the appender: a message body, a severity, the
/// module as target, 6 attributes (2 strings, 2 ints, a double, a bool); half inside a span (a
/// trace context), every 16th an error with an event name.
pub fn make_logs(pool: usize) -> Vec<LogRecords> {
    const TARGETS: [&str; 4] = ["checkout::orders", "checkout::payments", "checkout::cart", "checkout::http"];
    let exporter = InMemoryLogExporter::default();
    let provider = SdkLoggerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let logger = provider.logger_with_scope(InstrumentationScope::builder("opentelemetry-appender-tracing").build());
    for i in 0..pool * LOGS {
        let mut record = logger.create_log_record();
        let (severity, text) = if i % 16 == 5 { (Severity::Error, "ERROR") } else { (Severity::Info, "INFO") };
        record.set_severity_number(severity);
        record.set_severity_text(text);
        record.set_target(TARGETS[i % TARGETS.len()]);
        record.set_body(AnyValue::from(format!("order {} processed in {} ms", 10_000 + i * 7, i % 250)));
        record.add_attributes([
            ("http.route", AnyValue::from("/api/v1/orders/{id}")),
            ("user.id", AnyValue::from(format!("user-{}", i % 997))),
            ("http.response.status_code", AnyValue::Int(if i % 16 == 5 { 500 } else { 200 })),
            ("app.cart.items", AnyValue::Int((i % 12) as i64)),
            ("app.cart.total", AnyValue::Double(19.99 + i as f64 * 0.73)),
            ("app.cache.hit", AnyValue::Boolean(i % 3 == 0)),
        ]);
        if i % 16 == 5 {
            record.set_event_name("order.failed");
        }
        if i % 2 == 0 {
            let trace = opentelemetry::trace::TraceId::from(0x5eed_0000_u128 + (i / 8) as u128);
            let span = opentelemetry::trace::SpanId::from(0x100 + i as u64);
            record.set_trace_context(trace, span, Some(opentelemetry::trace::TraceFlags::SAMPLED));
        }
        logger.emit(record);
    }
    let logs = exporter.get_emitted_logs().expect("captured logs");
    provider.shutdown().expect("logger provider shutdown");
    assert_eq!(logs.len(), pool * LOGS, "captured logs");
    let mut logs = logs.into_iter().map(|l| (l.record, l.instrumentation));
    (0..pool).map(|_| logs.by_ref().take(LOGS).collect()).collect()
}

/// A batch's records as the SDK lends them to an exporter (`LogBatch::new` takes this).
pub fn log_refs(batch: &LogRecords) -> Vec<(&SdkLogRecord, &InstrumentationScope)> {
    batch.iter().map(|(r, s)| (r, s)).collect()
}

/// Drives a future to completion on this thread; our exporter's is ready at once.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::yield_now();
    }
}
