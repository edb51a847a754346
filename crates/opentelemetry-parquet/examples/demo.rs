//! A small instrumented "checkout service" that produces real telemetry through the
//! OpenTelemetry SDK and stores it with `opentelemetry-parquet`: spans, metrics, and `tracing`
//! log events (through `opentelemetry-appender-tracing`) that carry the TraceId and SpanId of the
//! request they were logged in.
//!
//! Run with `just demo` (or `cargo run --example demo`), then look at `./otel-data` (or
//! `$OTEL_PARQUET_OUTPUT_DIR`) with `opentelemetry-parquet inspect`, DuckDB or Polars.

use std::time::Duration;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_parquet::{Config, OtlpLibrary};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{Aggregation, Instrument, PeriodicReader, SdkMeterProvider, Stream};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::prelude::*;

/// A tiny deterministic pseudo-random generator, so every run tells the same story.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, max: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % max
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let dir = config.output_dir().to_path_buf();
    let library = OtlpLibrary::new(config)?;

    let resource = Resource::builder()
        .with_service_name("checkout")
        .with_attributes([KeyValue::new("service.version", "1.4.2"), KeyValue::new("deployment.environment", "demo")])
        .build();
    let tracer_provider = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_batch_exporter(library.span_exporter())
        .build();
    // `tracing` events become log records; inside a request they carry its span's IDs.
    let logger_provider = SdkLoggerProvider::builder()
        .with_resource(resource.clone())
        .with_batch_exporter(library.log_exporter())
        .build();
    tracing_subscriber::registry().with(OpenTelemetryTracingBridge::new(&logger_provider)).init();
    // Payment latency as an exponential histogram, through a view.
    let exponential = |i: &Instrument| {
        (i.name() == "payment.duration")
            .then(|| {
                Stream::builder()
                    .with_aggregation(Aggregation::Base2ExponentialHistogram {
                        max_size: 160,
                        max_scale: 20,
                        record_min_max: true,
                    })
                    .build()
                    .ok()
            })
            .flatten()
    };
    let meter_provider = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(
            PeriodicReader::builder(library.metric_exporter()).with_interval(Duration::from_millis(200)).build(),
        )
        .with_view(exponential)
        .build();

    let tracer = tracer_provider.tracer("checkout-handler");
    let meter = meter_provider.meter("checkout-handler");
    let requests = meter.u64_counter("http.server.requests").with_description("Requests handled").build();
    let duration = meter
        .f64_histogram("http.server.request.duration")
        .with_unit("s")
        .with_boundaries(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0])
        .build();
    let payment = meter.f64_histogram("payment.duration").with_unit("ms").build();
    let in_flight = meter.i64_up_down_counter("http.server.active_requests").build();
    let cart_size = meter.u64_gauge("cart.items").build();
    let _queue = meter
        .i64_observable_gauge("worker.queue.depth")
        .with_callback(|observer| observer.observe(7, &[KeyValue::new("queue", "emails")]))
        .build();

    let mut rng = Lcg(42);
    let routes = ["/cart", "/checkout", "/orders/{id}"];
    let requests_total = 60;
    tracing::info!(requests = requests_total, "checkout demo starting");
    for i in 0..requests_total {
        let route = routes[rng.next(routes.len() as u64) as usize];
        let status: i64 = if rng.next(10) == 0 { 500 } else { 200 };
        let attrs = [KeyValue::new("http.request.method", "POST"), KeyValue::new("http.route", route)];
        in_flight.add(1, &attrs);
        let mut server = tracer
            .span_builder(format!("POST {route}"))
            .with_kind(SpanKind::Server)
            .with_attributes(attrs.clone())
            .start(&tracer);
        server.set_attribute(KeyValue::new("http.response.status_code", status));
        server.set_attribute(KeyValue::new("request.sequence", i as i64));
        let cx = Context::current_with_span(server);
        // The request's span is the active one while it is handled: its log events carry its IDs.
        let active = cx.clone().attach();
        tracing::info!(http.route = route, request.sequence = i, "handling request");
        {
            let mut db =
                tracer.span_builder("SELECT carts").with_kind(SpanKind::Client).start_with_context(&tracer, &cx);
            db.set_attribute(KeyValue::new("db.system.name", "postgresql"));
            db.set_attribute(KeyValue::new("db.query.text", "SELECT * FROM carts WHERE id = $1"));
            std::thread::sleep(Duration::from_micros(500 + rng.next(3000)));
            db.end();
        }
        if route == "/checkout" {
            let ms = 20.0 + rng.next(400) as f64;
            payment.record(ms, &[KeyValue::new("payment.provider", "acme")]);
            let mut pay =
                tracer.span_builder("charge card").with_kind(SpanKind::Client).start_with_context(&tracer, &cx);
            let cents = 1999 + rng.next(5000) as i64;
            pay.add_event("card.authorized", vec![KeyValue::new("amount.cents", cents)]);
            tracing::info!(amount.cents = cents, payment.provider = "acme", "card authorized");
            pay.end();
        }
        let span = cx.span();
        if status == 500 {
            span.add_event(
                "exception",
                vec![
                    KeyValue::new("exception.type", "TimeoutError"),
                    KeyValue::new("exception.message", "inventory service timed out"),
                ],
            );
            span.set_status(Status::error("inventory service timed out"));
            tracing::error!(error.type = "TimeoutError", http.route = route, "inventory service timed out");
        } else {
            span.set_status(Status::Ok);
        }
        cart_size.record(1 + rng.next(9), &[KeyValue::new("http.route", route)]);
        let attrs = [attrs[0].clone(), attrs[1].clone(), KeyValue::new("http.response.status_code", status)];
        requests.add(1, &attrs);
        let started = std::time::SystemTime::now();
        std::thread::sleep(Duration::from_micros(200 + rng.next(2000)));
        duration.record(started.elapsed().map_or(0.0, |d| d.as_secs_f64()) + 0.004, &attrs);
        drop(active);
        span.end();
        in_flight.add(-1, &attrs[..2]);
    }

    // Shutting the providers down exports what is left and flushes it to disk.
    tracing::info!("checkout demo done");
    tracer_provider.shutdown()?;
    meter_provider.shutdown()?;
    logger_provider.shutdown()?;
    library.shutdown()?;
    println!("checkout demo: handled {requests_total} requests; telemetry stored under {}", dir.display());
    Ok(())
}
