//! End-to-end tests of the log exporter behind a real `SdkLoggerProvider`: every field, body
//! and attribute type, trace context from an active span, the scope the OTLP exporter names by
//! target, and the rows compared with those of `opentelemetry-proto`'s own SDK-to-OTLP
//! conversion of the same records stored through `export_otlp_logs`; the lifecycle, many
//! threads, and values nested too deep.

mod common;
mod log_records;
use common::block_on;
use log_records::*;

use std::collections::HashMap;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceId, Tracer as _, TracerProvider as _};
use opentelemetry::{InstrumentationScope, Key, KeyValue};
use opentelemetry_parquet::proto::common::v1::{any_value::Value as ProtoValue, AnyValue as ProtoAny};
use opentelemetry_parquet::MAX_VALUE_DEPTH;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::logs::{
    BatchConfigBuilder, BatchLogProcessor, InMemoryLogExporter, LogBatch, LogExporter as _, SdkLoggerProvider,
};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

// ---------------------------------------------------------------------------------------------
// The records

const VERSIONED: &str = "checkout-lib";
const SCOPE_SCHEMA: &str = "https://example.com/checkout-lib/schema";

/// Emits the records of the tests: one per body kind with attributes of every type (duplicate
/// keys included), severities, event names and targets, half of them inside an active span
/// (whose span context they must carry); then one with an explicit trace context without flags.
/// Returns the span context each record emitted inside a span had active, by its `n`.
fn emit(provider: &SdkLoggerProvider) -> HashMap<i64, SpanContext> {
    let versioned = provider.logger_with_scope(
        InstrumentationScope::builder(VERSIONED)
            .with_version("1.2.3")
            .with_schema_url(SCOPE_SCHEMA)
            .with_attributes([KeyValue::new("scope.attr", "x")])
            .build(),
    );
    let plain = provider.logger("plain-lib");
    let tracer_provider = SdkTracerProvider::builder().build();
    let tracer = tracer_provider.tracer("tracer");
    let severities =
        [Severity::Trace, Severity::Debug2, Severity::Info, Severity::Warn4, Severity::Error, Severity::Fatal3];
    let mut spans = HashMap::new();
    for (i, body) in bodies().into_iter().enumerate() {
        let logger = if i % 3 == 2 { &plain } else { &versioned };
        let mut r = record(logger, i as i64);
        if let Some(body) = body {
            r.set_body(body);
        }
        if i % 2 == 1 {
            r.set_timestamp(at(1000 + i as u64));
        }
        if i % 4 != 3 {
            r.set_severity_number(severities[i % severities.len()]);
            r.set_severity_text(severities[i % severities.len()].name());
        }
        if i % 3 == 0 {
            r.set_event_name("checkout.step");
        }
        if i % 4 == 1 {
            r.set_target("checkout::payments");
        }
        r.add_attributes([
            ("s", AnyValue::from("text é")),
            ("i", AnyValue::Int(i64::MIN + i as i64)),
            ("d", AnyValue::Double(1e21)),
            ("b", AnyValue::Boolean(false)),
            ("bytes", AnyValue::Bytes(Box::new(vec![i as u8]))),
            ("list", list(vec![AnyValue::Double(-0.0), AnyValue::from("x")])),
            ("map", map(vec![("k", AnyValue::Int(i as i64))])),
            ("dup", AnyValue::Int(1)),
            ("dup", AnyValue::from("last")),
        ]);
        if i % 2 == 0 {
            tracer.in_span("emitting", |cx| {
                spans.insert(i as i64, cx.span().span_context().clone());
                logger.emit(r);
            });
        } else {
            logger.emit(r);
        }
    }
    let mut r = record(&plain, 100);
    r.set_trace_context(TraceId::from(0xabc_u128), SpanId::from(0xdef_u64), None);
    plain.emit(r);
    spans
}

/// Records emitted by `emit`.
const EMITTED: usize = 9;

// ---------------------------------------------------------------------------------------------
// Tests

/// The README's setup stores every field; `provider.shutdown()` alone puts everything on disk;
/// the rows are the OTLP path's for the same records.
#[test]
fn batch_exporter_stores_every_field_and_matches_the_otlp_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());
    let memory = InMemoryLogExporter::default();
    let resource = test_resource("checkout");
    let provider = SdkLoggerProvider::builder()
        .with_resource(resource.clone())
        .with_batch_exporter(library.log_exporter())
        .with_simple_exporter(memory.clone())
        .build();
    let spans = emit(&provider);
    // Taken before the provider's shutdown resets the in-memory exporter.
    let logs = memory.get_emitted_logs().expect("in-memory logs");
    assert_eq!(logs.len(), EMITTED);
    provider.shutdown().expect("provider shutdown");
    assert!(!library.is_shutdown(), "the exporter's shutdown leaves the library running");

    let rows = stored(dir.path());
    assert_eq!(rows.len(), EMITTED);
    let records: Vec<_> = logs.iter().map(|l| (&l.record, &l.instrumentation)).collect();
    let mut expected = otlp_path_rows(&records, &logs[0].resource);
    // opentelemetry-proto 0.31's conversion sends every scope without its version and attributes
    // (0.32's sends them, and the store keeps them): against 0.31 they are left out here, and
    // `scope_version_and_attributes_are_kept` checks them.
    let mut compared = rows.clone();
    // The OTLP path's grouping sends the resource's schema URL as every scope's; the store keeps
    // the scope's own (checked below).
    for f in compared.iter_mut().chain(expected.iter_mut()) {
        f.3.clear();
    }
    if expected.iter().all(|f| f.2.version.is_empty()) {
        for f in compared.iter_mut().chain(expected.iter_mut()) {
            f.2.version.clear();
            f.2.attributes.clear();
        }
    }
    assert_eq!(compared.len(), expected.len());
    for (got, want) in compared.iter().zip(&expected) {
        assert_eq!(got, want);
    }

    // Spot checks against the SDK's own values.
    for (i, body_value) in bodies().into_iter().enumerate() {
        let (resource, resource_schema, scope, scope_schema, r) = by_n(&rows, i as i64);
        assert!(resource.attributes.iter().any(|kv| kv.key == "service.name"));
        // Version, attributes and schema URL come from the logger of the first record of a scope name.
        let own_schema = if scope.version == "1.2.3" { SCOPE_SCHEMA } else { "" };
        assert_eq!((resource_schema.as_str(), scope_schema.as_str()), (RESOURCE_SCHEMA, own_schema));
        let logger = if i % 3 == 2 { "plain-lib" } else { VERSIONED };
        assert_eq!(scope.name, if i % 4 == 1 { "checkout::payments" } else { logger }, "record {i}");
        assert_eq!(r.observed_time_unix_nano, 1_700_000_000_000_000_000 + i as u64 * 1_000_000);
        assert_eq!(r.time_unix_nano, if i % 2 == 1 { 1_700_000_001_000_000_000 + i as u64 * 1_000_000 } else { 0 });
        assert_eq!(r.severity_number != 0, i % 4 != 3);
        assert_eq!(r.event_name, if i % 3 == 0 { "checkout.step" } else { "" });
        assert_eq!(body_value.is_none(), r.body.is_none(), "record {i}: None and Some bodies stay apart");
        assert_eq!(attr(r, "dup"), Some(&ProtoValue::StringValue("last".into())));
        assert_eq!(r.attributes.iter().filter(|kv| kv.key == "dup").count(), 1);
        if let Some(span) = spans.get(&(i as i64)) {
            assert_eq!(r.trace_id, span.trace_id().to_bytes(), "record {i} was emitted inside a span");
            assert_eq!(r.span_id, span.span_id().to_bytes());
            assert_eq!(r.flags, u32::from(span.trace_flags().to_u8()));
            assert!(span.is_valid() && span.is_sampled());
        } else {
            assert!(r.trace_id.is_empty() && r.span_id.is_empty() && r.flags == 0, "record {i}: no span");
        }
    }
    assert_eq!(spans.len(), 4, "records 0, 2, 4 and 6");
    assert_eq!(by_n(&rows, 3).4.severity_number, 0);
    assert_eq!(by_n(&rows, 1).4.severity_number, Severity::Debug2 as i32);
    assert_eq!(by_n(&rows, 1).4.severity_text, "DEBUG2");
    assert_eq!(body(&by_n(&rows, 2).4), Some(&ProtoValue::IntValue(-42)));
    assert_eq!(body(&by_n(&rows, 5).4), Some(&ProtoValue::BytesValue(vec![0, 1, 254, 255])));
    let explicit = &by_n(&rows, 100).4;
    assert_eq!(explicit.trace_id, 0xabc_u128.to_be_bytes());
    assert_eq!(explicit.span_id, 0xdef_u64.to_be_bytes());
    assert_eq!(explicit.flags, 0, "a trace context without flags");

    library.shutdown().expect("library shutdown");
    common::keep_store("sdk_logs", dir.path());
}

/// A logger's scope version and attributes are stored (0.32's OTLP conversion sends them; 0.31's
/// leaves them out), under the record's target when it has one, with its own schema URL (the
/// OTLP exporter's grouping sends the resource's instead).
#[test]
fn scope_version_and_attributes_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());
    let provider = SdkLoggerProvider::builder()
        .with_resource(test_resource("scopes"))
        .with_batch_exporter(library.log_exporter())
        .build();
    let logger = provider.logger_with_scope(
        InstrumentationScope::builder("lib")
            .with_version("4.5.6")
            .with_schema_url("https://example.com/scope-schema")
            .with_attributes([KeyValue::new("lib.flag", true)])
            .build(),
    );
    let mut with_target = record(&logger, 1);
    with_target.set_target("app::module");
    logger.emit(record(&logger, 0));
    logger.emit(with_target);
    provider.shutdown().expect("provider shutdown");

    let rows = stored(dir.path());
    for (n, name) in [(0, "lib"), (1, "app::module")] {
        let (_, _, scope, scope_schema, _) = by_n(&rows, n);
        assert_eq!((scope.name.as_str(), scope.version.as_str()), (name, "4.5.6"));
        assert_eq!(scope.attributes.len(), 1);
        assert_eq!(scope.attributes[0].key, "lib.flag");
        assert_eq!(scope_schema, "https://example.com/scope-schema");
    }
    library.shutdown().expect("library shutdown");
}

/// Until its provider sets a resource, an exporter stores the SDK's default one; afterwards the
/// provider's. Its own shutdown refuses its later exports and leaves the library running for
/// other exporters; after the library's shutdown every export is refused with the SDK's
/// `AlreadyShutdown`.
#[test]
fn resource_and_lifecycle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());
    let logger_provider = SdkLoggerProvider::builder().build();
    let logger = logger_provider.logger("direct");
    let scope = InstrumentationScope::builder("direct").build();
    let records = [record(&logger, 0), record(&logger, 1)];
    let batch = [(&records[0], &scope)];
    let second = [(&records[1], &scope)];

    let mut exporter = library.log_exporter();
    block_on(exporter.export(LogBatch::new(&batch))).expect("export with the default resource");
    exporter.set_resource(&test_resource("set"));
    block_on(exporter.export(LogBatch::new(&second))).expect("export with the provider's resource");
    exporter.shutdown().expect("exporter shutdown");
    assert!(!library.is_shutdown());
    assert!(matches!(block_on(exporter.export(LogBatch::new(&batch))), Err(OTelSdkError::AlreadyShutdown)));

    let other = library.log_exporter();
    block_on(other.export(LogBatch::new(&second))).expect("another exporter still works");
    library.flush().expect("flush");
    let rows = stored(dir.path());
    assert_eq!(rows.len(), 3);
    let service = |f: &FlatLog| {
        let kv = f.0.attributes.iter().find(|kv| kv.key == "service.name").expect("service.name");
        kv.value.clone().and_then(|v| v.value)
    };
    let default = Resource::builder().build();
    let default_service = default.get(&Key::from("service.name")).map(|v| v.to_string());
    assert_eq!(service(by_n(&rows, 0)), default_service.map(ProtoValue::StringValue), "the SDK's default resource");
    let set: Vec<_> = rows.iter().filter(|f| attr(&f.4, "n") == Some(&ProtoValue::IntValue(1))).collect();
    assert_eq!(set.len(), 2);
    assert!(set.iter().any(|f| service(f) == Some(ProtoValue::StringValue("set".into()))));

    library.shutdown().expect("library shutdown");
    assert!(matches!(block_on(other.export(LogBatch::new(&batch))), Err(OTelSdkError::AlreadyShutdown)));
    assert!(matches!(
        block_on(library.log_exporter().export(LogBatch::new(&batch))),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    assert_eq!(stored(dir.path()).len(), 3, "nothing stored after the shutdowns");
}

/// Many threads emitting at once, through a shared batch processor and through providers of
/// their own on one library: every record is stored exactly once.
#[test]
fn many_threads_emit_without_loss() {
    const THREADS: i64 = 8;
    const SHARED: i64 = 500;
    const OWN: i64 = 100;
    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());
    // A queue that holds every record: the SDK drops records when its queue is full.
    let processor = BatchLogProcessor::builder(library.log_exporter())
        .with_batch_config(BatchConfigBuilder::default().with_max_queue_size((THREADS * SHARED) as usize).build())
        .build();
    let shared = SdkLoggerProvider::builder().with_log_processor(processor).build();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (shared, library) = (&shared, &library);
            s.spawn(move || {
                let own = SdkLoggerProvider::builder().with_batch_exporter(library.log_exporter()).build();
                let (shared_logger, own_logger) = (shared.logger("shared"), own.logger("own"));
                for i in 0..SHARED + OWN {
                    let logger = if i < SHARED { &shared_logger } else { &own_logger };
                    let mut r = logger.create_log_record();
                    r.add_attribute("n", t * 10_000 + i);
                    r.set_body(AnyValue::from(format!("thread {t} record {i}")));
                    logger.emit(r);
                }
                own.shutdown().expect("own provider shutdown");
            });
        }
    });
    shared.shutdown().expect("shared provider shutdown");

    let mut ns: Vec<i64> = stored(dir.path())
        .iter()
        .map(|f| match attr(&f.4, "n") {
            Some(ProtoValue::IntValue(n)) => *n,
            other => panic!("attribute n: {other:?}"),
        })
        .collect();
    ns.sort_unstable();
    let want: Vec<i64> = (0..THREADS).flat_map(|t| (0..SHARED + OWN).map(move |i| t * 10_000 + i)).collect();
    assert_eq!(ns, want);
    library.shutdown().expect("library shutdown");
}

/// A body or attribute nested deeper than `MAX_VALUE_DEPTH` is refused with the typed error
/// (the SDK's `InternalFailure` naming it) and nothing of its batch is stored; at the limit it
/// is stored. Run on a large stack: the SDK's own drop of a 100,000-deep value recurses.
#[test]
fn values_nested_too_deep_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_path_buf();
    let big = std::thread::Builder::new().stack_size(256 << 20);
    big.spawn(move || {
        let library = new_library(&path);
        let exporter = library.log_exporter();
        let provider = SdkLoggerProvider::builder().build();
        let logger = provider.logger("deep");
        let scope = InstrumentationScope::builder("deep").build();
        let mut ok = record(&logger, 0);
        ok.set_body(nested(MAX_VALUE_DEPTH));
        block_on(exporter.export(LogBatch::new(&[(&ok, &scope)]))).expect("at the limit");
        for depth in [MAX_VALUE_DEPTH + 1, 100_000] {
            let mut deep = record(&logger, 1);
            deep.set_body(nested(depth));
            let mut deep_attribute = record(&logger, 2);
            deep_attribute.add_attribute("nested", map(vec![("m", nested(depth))]));
            for (bad, what) in
                [(&deep, "log body: value nested deeper than 32"), (&deep_attribute, "attribute \"nested\"")]
            {
                match block_on(exporter.export(LogBatch::new(&[(&ok, &scope), (bad, &scope)]))) {
                    Err(OTelSdkError::InternalFailure(message)) => {
                        assert!(message.contains("malformed SdkLogRecord") && message.contains(what), "{message}")
                    }
                    other => panic!("depth {depth}: expected InternalFailure, got {other:?}"),
                }
            }
        }
        library.flush().expect("flush");
        let rows = stored(&path);
        assert_eq!(rows.len(), 1, "only the record at the limit, nothing of the refused batches");
        let mut depth = 0;
        let mut value = rows[0].4.body.clone();
        while let Some(ProtoAny { value: Some(ProtoValue::ArrayValue(mut a)) }) = value {
            depth += 1;
            value = a.values.pop();
        }
        assert_eq!(depth, MAX_VALUE_DEPTH);
        library.shutdown().expect("library shutdown");
    })
    .expect("spawn")
    .join()
    .expect("the deep values were refused without a panic");
}
