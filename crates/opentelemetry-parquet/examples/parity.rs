//! Writes a fixed set of spans and log records with the Rust SDK into the store given as the
//! first argument.
//!
//! `tests/parity_python.py` builds the very same spans and log records with the Python SDK (same
//! IDs, times, resource, scope, attributes, events, links, statuses, bodies and severities) and
//! exports them with the Python `ParquetSpanExporter` and `ParquetLogExporter`;
//! `tests/test_parity.py` checks that both stores hold identical schemas and rows. Keep the two
//! in step: every value here has its twin there.
//!
//! `cargo run -p opentelemetry-parquet --example parity -- <output_dir>`

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array, Context, InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_parquet::{Config, OtlpLibrary};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::{IdGenerator, SdkTracerProvider};
use opentelemetry_sdk::Resource;

/// Trace IDs `FIRST_TRACE_ID + n` and span IDs `FIRST_SPAN_ID + n`, in the order asked for.
#[derive(Debug, Default)]
struct SequentialIds {
    traces: AtomicU64,
    spans: AtomicU64,
}

const FIRST_TRACE_ID: u128 = 0x5b8e_fff7_9880_3813_2c1b_0d9d_cb1d_0001;
const FIRST_SPAN_ID: u64 = 0x00f0_67aa_0ba9_0001;

impl IdGenerator for SequentialIds {
    fn new_trace_id(&self) -> TraceId {
        TraceId::from(FIRST_TRACE_ID + u128::from(self.traces.fetch_add(1, Ordering::SeqCst)))
    }

    fn new_span_id(&self) -> SpanId {
        SpanId::from(FIRST_SPAN_ID + self.spans.fetch_add(1, Ordering::SeqCst))
    }
}

/// 2023-11-14T22:13:20Z plus `ms` milliseconds.
fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
}

/// One attribute of every type the API has.
fn every_type() -> Vec<KeyValue> {
    vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("empty", ""),
        KeyValue::new("unicode", "ünïcødé ✓ \"quoted\" <b>&"),
        KeyValue::new("flag", true),
        KeyValue::new("off", false),
        KeyValue::new("count", 42_i64),
        KeyValue::new("int64.min", i64::MIN),
        KeyValue::new("int64.max", i64::MAX),
        KeyValue::new("ratio", 1.5),
        KeyValue::new("whole", 2.0),
        KeyValue::new("negative.zero", -0.0),
        KeyValue::new("huge", 1e21),
        KeyValue::new("tiny", 1.5e-7),
        KeyValue::new("not.a.number", f64::NAN),
        KeyValue::new("infinity", f64::INFINITY),
        KeyValue::new("ints", Value::Array(Array::I64(vec![1, 2]))),
        KeyValue::new("floats", Value::Array(Array::F64(vec![1.5, 2.0]))),
        KeyValue::new("bools", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new("strs", Value::Array(Array::String(vec![StringValue::from("a"), StringValue::from("b")]))),
        KeyValue::new("no.items", Value::Array(Array::I64(vec![]))),
    ]
}

/// A log body of every type, `None` for a record without one (the twin of `BODIES` in
/// test_parity.py). Maps have one entry: the SDK keeps a map in a `HashMap`, in no set order.
fn bodies() -> Vec<Option<AnyValue>> {
    let map = |key: &'static str, value: AnyValue| AnyValue::Map(Box::new([(Key::from(key), value)].into()));
    vec![
        Some(AnyValue::from("card declined")),
        Some(AnyValue::from("")),
        Some(AnyValue::Int(i64::MIN)),
        Some(AnyValue::Double(-0.0)),
        Some(AnyValue::Double(f64::NAN)),
        Some(AnyValue::Boolean(true)),
        Some(AnyValue::Bytes(Box::new(vec![0, 255]))),
        Some(AnyValue::ListAny(Box::new(vec![
            AnyValue::Int(1),
            AnyValue::from("a"),
            AnyValue::ListAny(Box::new(vec![AnyValue::Double(2.5)])),
        ]))),
        Some(map("order", map("items", AnyValue::ListAny(Box::new(vec![AnyValue::Boolean(false)]))))),
        Some(AnyValue::Map(Box::default())),
        Some(AnyValue::ListAny(Box::default())),
        None,
    ]
}

/// The severities of the records, in turn.
const SEVERITIES: [(Severity, &str); 4] =
    [(Severity::Info, "INFO"), (Severity::Warn, "WARN"), (Severity::Error, "ERROR"), (Severity::Debug2, "DEBUG2")];

/// The log records of `bodies()`, one inside the server span with attributes and an event name,
/// and one without its own time.
fn write_logs(logs: &SdkLoggerProvider, scope: InstrumentationScope) {
    let logger = logs.logger_with_scope(scope);
    for (i, body) in bodies().into_iter().enumerate() {
        let mut record = logger.create_log_record();
        record.set_timestamp(at(40 + i as u64));
        record.set_observed_timestamp(at(60 + i as u64));
        let (severity, text) = SEVERITIES[i % SEVERITIES.len()];
        record.set_severity_number(severity);
        record.set_severity_text(text);
        if let Some(body) = body {
            record.set_body(body);
        }
        record.add_attribute("body.index", i as i64);
        logger.emit(record);
    }
    let mut in_span = logger.create_log_record();
    in_span.set_timestamp(at(8));
    in_span.set_observed_timestamp(at(9));
    in_span.set_severity_number(Severity::Warn);
    in_span.set_severity_text("WARN");
    in_span.set_body(AnyValue::from("payment failed"));
    in_span.set_event_name("payment.failed");
    in_span.set_trace_context(TraceId::from(FIRST_TRACE_ID), SpanId::from(FIRST_SPAN_ID), Some(TraceFlags::SAMPLED));
    in_span.add_attributes([
        ("str", AnyValue::from("v")),
        ("int", AnyValue::Int(-7)),
        ("float", AnyValue::Double(0.25)),
        ("bool", AnyValue::Boolean(false)),
        ("ints", AnyValue::ListAny(Box::new(vec![AnyValue::Int(1), AnyValue::Int(2)]))),
        ("strs", AnyValue::ListAny(Box::new(vec![AnyValue::from("a"), AnyValue::from("b")]))),
    ]);
    logger.emit(in_span);
    let mut untimed = logger.create_log_record();
    untimed.set_observed_timestamp(at(90));
    untimed.set_body(AnyValue::from("no time, no severity"));
    logger.emit(untimed);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let output_dir = std::env::args().nth(1).ok_or("usage: parity <output_dir>")?;
    let library = OtlpLibrary::new(Config::builder().output_dir(output_dir).build()?)?;
    let resource = Resource::builder_empty()
        .with_schema_url(
            [
                KeyValue::new("service.name", "parity"),
                KeyValue::new("service.version", "1.2.3"),
                KeyValue::new("host.cpus", 8_i64),
                KeyValue::new("load", 0.75),
                KeyValue::new("on.call", false),
                KeyValue::new("regions", Value::Array(Array::String(vec!["eu".into(), "us".into()]))),
            ],
            "https://opentelemetry.io/schemas/1.26.0",
        )
        .build();
    let logs = SdkLoggerProvider::builder()
        .with_simple_exporter(library.log_exporter())
        .with_resource(resource.clone())
        .build();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(library.span_exporter())
        .with_id_generator(SequentialIds::default())
        .with_resource(resource)
        .build();
    let scope = InstrumentationScope::builder("parity.scope")
        .with_version("4.5.6")
        .with_schema_url("https://example.com/schemas/scope/1.0")
        .with_attributes([KeyValue::new("scope.attr", "s"), KeyValue::new("n", 1_i64)])
        .build();
    let tracer = provider.tracer_with_scope(scope.clone());
    write_logs(&logs, scope);

    // 1. A server span with every attribute type and an event.
    let server = tracer
        .span_builder("GET /checkout")
        .with_kind(SpanKind::Server)
        .with_start_time(at(0))
        .with_attributes(every_type())
        .start_with_context(&tracer, &Context::new());
    let server_cx = Context::new().with_span(server);
    server_cx.span().add_event_with_timestamp(
        "request.received",
        at(1),
        vec![
            KeyValue::new("body.size", 512_i64),
            KeyValue::new("ok", true),
            KeyValue::new("ratio", 0.25),
            KeyValue::new("tags", Value::Array(Array::String(vec!["a".into(), "b".into()]))),
        ],
    );

    // 2. A client child with two links and an error status.
    let unsampled_link = SpanContext::new(
        TraceId::from(0x1111_1111_1111_1111_1111_1111_1111_1111_u128),
        SpanId::from(0x2222_2222_2222_2222_u64),
        TraceFlags::default(),
        false,
        TraceState::default(),
    );
    let remote_link = SpanContext::new(
        TraceId::from(0x3333_3333_3333_3333_3333_3333_3333_3333_u128),
        SpanId::from(0x4444_4444_4444_4444_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("k", "v")])?,
    );
    let mut client = tracer
        .span_builder("SELECT orders")
        .with_kind(SpanKind::Client)
        .with_start_time(at(2))
        .with_links(vec![
            Link::new(unsampled_link, vec![KeyValue::new("link.reason", "retry"), KeyValue::new("link.n", 2_i64)], 0),
            Link::with_context(remote_link),
        ])
        .start_with_context(&tracer, &server_cx);
    client.add_event_with_timestamp("retry", at(3), vec![]);
    client.set_status(Status::error("connection reset"));
    client.end_with_timestamp(at(4));

    // 3. A producer child whose attribute is set after the start.
    let mut producer = tracer
        .span_builder("publish")
        .with_kind(SpanKind::Producer)
        .with_start_time(at(5))
        .start_with_context(&tracer, &server_cx);
    producer.set_attribute(KeyValue::new("messaging.batch", 3_i64));
    producer.end_with_timestamp(at(6));

    server_cx.span().set_status(Status::Ok);
    server_cx.span().end_with_timestamp(at(10));

    // 4. A consumer whose parent is remote (with a trace state), with an error without message.
    let remote_parent = SpanContext::new(
        TraceId::from(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c_u128),
        SpanId::from(0xb7ad_6b71_6920_3331_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("vendor", "v1"), ("other", "x")])?,
    );
    let mut consumer = tracer
        .span_builder("consume")
        .with_kind(SpanKind::Consumer)
        .with_start_time(at(20))
        .start_with_context(&tracer, &Context::new().with_remote_span_context(remote_parent));
    consumer.set_status(Status::error(""));
    consumer.end_with_timestamp(at(25));

    // 5. An internal root span of zero duration, without attributes.
    let mut internal = tracer.span_builder("internal work").with_start_time(at(30)).start(&tracer);
    internal.end_with_timestamp(at(30));

    provider.shutdown()?;
    logs.shutdown()?;
    library.shutdown()?;
    Ok(())
}
