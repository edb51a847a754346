use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use otel::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use otel::trace::{SpanId, TraceFlags, TraceId};
use otel::InstrumentationScope;
use otel_sdk::logs::SdkLoggerProvider;

use super::*;
use crate::proto::logs::v1::LogRecord;
use crate::table::logs::read;

fn new_record() -> SdkLogRecord {
    SdkLoggerProvider::builder().build().logger("unit").create_log_record()
}

fn list(values: Vec<LogValue>) -> LogValue {
    LogValue::ListAny(Box::new(values))
}

/// A value nested `depth` lists deep around an int.
fn nested(depth: usize) -> LogValue {
    (0..depth).fold(LogValue::Int(1), |inner, _| list(vec![inner]))
}

/// A prepared batch's scopes and the runs of records under them.
type Scopes = (Vec<ScopeInfo>, Vec<(usize, usize)>);

/// Prepares a batch of `(record, scope)` pairs; `Err` when it is refused.
fn prepare(records: &[(SdkLogRecord, InstrumentationScope)]) -> Result<Scopes> {
    let refs: Vec<_> = records.iter().map(|(r, s)| (r, s)).collect();
    let batch = LogBatch::new(&refs);
    let resource = ResourceInfo { schema_url: "https://resource".into(), ..Default::default() };
    let prepared = PreparedSdkLogs::new(&resource, &batch)?;
    Ok((prepared.scopes, prepared.runs))
}

/// Appends a batch in place and reads its rows back as OTLP records, with their measures.
fn stored(records: &[(SdkLogRecord, InstrumentationScope)]) -> Vec<(LogRecord, usize)> {
    let refs: Vec<_> = records.iter().map(|(r, s)| (r, s)).collect();
    let batch = LogBatch::new(&refs);
    let resource = ResourceInfo::default();
    let prepared = PreparedSdkLogs::new(&resource, &batch).unwrap();
    let mut buffer = Buffer::default();
    assert_eq!(prepared.append_to(&mut buffer), records.len());
    let mut rows = Vec::new();
    for chunk in buffer.take().unwrap() {
        rows.extend(read(&chunk.batch).unwrap().into_iter().map(|(_, r)| r));
    }
    let shared: Vec<usize> =
        prepared.runs.iter().flat_map(|&(s, n)| std::iter::repeat_n(prepared.scopes[s].bytes(), n)).collect();
    rows.into_iter().zip(prepared.rows.iter().zip(shared).map(|(row, s)| row - s - resource.bytes())).collect()
}

#[test]
fn every_field_is_stored_as_the_otlp_conversion_sets_it() {
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut full = new_record();
    full.set_timestamp(time);
    full.set_observed_timestamp(time + Duration::from_millis(3));
    full.set_severity_number(Severity::Error3);
    full.set_severity_text("ERROR");
    full.set_event_name("payment.failed");
    full.set_trace_context(TraceId::from(0xabc_u128), SpanId::from(0xde_u64), Some(TraceFlags::SAMPLED));
    full.set_body(LogValue::from("card declined"));
    full.add_attribute("amount", 12.5);
    // Without a time, a severity or a trace context: Timestamp is the observed time.
    let mut bare = new_record();
    bare.set_observed_timestamp(time);
    bare.set_trace_context(TraceId::from(1_u128), SpanId::from(2_u64), None);
    let scope = InstrumentationScope::builder("unit").build();
    let rows = stored(&[(full, scope.clone()), (bare, scope)]);

    let nanos = 1_700_000_000_000_000_000;
    let want = LogRecord {
        time_unix_nano: nanos,
        observed_time_unix_nano: nanos + 3_000_000,
        severity_number: 19,
        severity_text: "ERROR".into(),
        event_name: "payment.failed".into(),
        flags: 1,
        trace_id: 0xabc_u128.to_be_bytes().to_vec(),
        span_id: 0xde_u64.to_be_bytes().to_vec(),
        body: Some(AnyValue { value: Some(any_value::Value::StringValue("card declined".into())) }),
        attributes: vec![key_value(
            "amount".into(),
            Some(AnyValue { value: Some(any_value::Value::DoubleValue(12.5)) }),
        )],
        ..Default::default()
    };
    assert_eq!(rows[0].0, want);
    let bare = LogRecord {
        observed_time_unix_nano: nanos,
        trace_id: 1_u128.to_be_bytes().to_vec(),
        span_id: 2_u64.to_be_bytes().to_vec(),
        ..Default::default()
    };
    assert_eq!(rows[1].0, bare);
}

#[test]
fn every_value_kind_reads_back_and_is_measured_as_its_otlp_form() {
    let map: HashMap<otel::Key, LogValue> =
        [("k".into(), LogValue::from("v")), ("n".into(), list(vec![LogValue::Boolean(true), nested(3)]))].into();
    let values = [
        LogValue::Int(i64::MIN),
        LogValue::Double(-0.0),
        LogValue::String("héllo \"x\"".into()),
        LogValue::Boolean(false),
        LogValue::Bytes(Box::new(vec![0, 255, 7])),
        list(vec![LogValue::Int(1), LogValue::from("two"), LogValue::Bytes(Box::new(vec![3]))]),
        LogValue::Map(Box::new(map)),
        nested(MAX_VALUE_DEPTH),
    ];
    let scope = InstrumentationScope::builder("unit").build();
    let records: Vec<_> = values
        .iter()
        .map(|v| {
            let mut r = new_record();
            r.set_body(v.clone());
            r.add_attribute("value", v.clone());
            r.add_attribute("after", 1);
            (r, scope.clone())
        })
        .collect();
    for ((record, measured), value) in stored(&records).into_iter().zip(&values) {
        let any = to_any(value, 0).unwrap();
        assert_eq!(record.body.as_ref(), Some(&any), "{value:?}");
        assert_eq!(record.attributes[0].value.as_ref(), Some(&any), "{value:?}");
        assert_eq!(record.attributes[1].key, "after");
        // The in-place measure is the OTLP record's.
        assert_eq!(measured, size::otlp_log(&record).unwrap(), "{value:?}");
    }
}

#[test]
fn duplicate_keys_keep_their_last_value_and_complex_values_stay_in_step() {
    let mut r = new_record();
    r.add_attribute("k", 1);
    r.add_attribute("m", list(vec![LogValue::Int(1)]));
    r.add_attribute("k", list(vec![LogValue::Int(2)]));
    r.add_attribute("b", LogValue::Bytes(Box::new(vec![9])));
    r.add_attribute("m", "last");
    let mut plain = new_record();
    plain.add_attribute("x", list(vec![LogValue::Int(3)]));
    let scope = InstrumentationScope::builder("unit").build();
    let rows = stored(&[(r, scope.clone()), (plain, scope)]);
    let attrs: Vec<_> = rows[0].0.attributes.iter().map(|kv| (kv.key.as_str(), kv.value.clone().unwrap())).collect();
    let int_list = |i| to_any(&list(vec![LogValue::Int(i)]), 0).unwrap();
    assert_eq!(
        attrs,
        [
            ("k", int_list(2)),
            ("b", to_any(&LogValue::Bytes(Box::new(vec![9])), 0).unwrap()),
            ("m", to_any(&LogValue::from("last"), 0).unwrap()),
        ]
    );
    assert_eq!(rows[1].0.attributes[0].value, Some(int_list(3)), "the next record's value is its own");
}

#[test]
fn values_nested_too_deep_are_refused_naming_them() {
    let deep_body = |depth| {
        let mut r = new_record();
        r.set_body(nested(depth));
        vec![(r, InstrumentationScope::builder("unit").build())]
    };
    assert!(prepare(&deep_body(MAX_VALUE_DEPTH)).is_ok());
    let err = prepare(&deep_body(MAX_VALUE_DEPTH + 1)).unwrap_err().to_string();
    assert_eq!(err, "malformed SdkLogRecord: log body: value nested deeper than 32 levels");

    let mut r = new_record();
    r.add_attribute("ok", 1);
    r.add_attribute("deep", LogValue::Map(Box::new([("m".into(), nested(MAX_VALUE_DEPTH))].into())));
    let err = prepare(&[(r, InstrumentationScope::builder("unit").build())]).unwrap_err().to_string();
    assert!(err.contains("attribute \"deep\": value nested deeper than 32"), "{err}");

    // Far deeper than a stack could recurse: refused after 33 levels on a small stack. The
    // record is made and dropped on a large one (the SDK's drop recurses once per level).
    let deep = std::thread::Builder::new().stack_size(256 << 20).spawn(|| {
        let mut r = new_record();
        r.set_body(nested(100_000));
        let records = [(r, InstrumentationScope::builder("unit").build())];
        std::thread::scope(|s| {
            let small = std::thread::Builder::new().stack_size(256 << 10);
            small
                .spawn_scoped(s, || matches!(prepare(&records), Err(OtlpError::Decode { .. })))
                .unwrap()
                .join()
                .unwrap()
        })
    });
    assert!(deep.unwrap().join().unwrap(), "a 100,000-deep body is refused");
}

#[test]
fn scopes_are_named_by_target_and_rendered_once_per_name() {
    let scope = |name: &'static str, version: &'static str| {
        InstrumentationScope::builder(name)
            .with_version(version)
            .with_schema_url("https://scope")
            .with_attributes([otel::KeyValue::new("lib", name)])
            .build()
    };
    let record = |target: Option<&'static str>| {
        let mut r = new_record();
        if let Some(t) = target {
            r.set_target(t);
        }
        r
    };
    let batch = [
        (record(Some("app::db")), scope("lib-a", "1")),
        (record(Some("app::db")), scope("lib-b", "2")),
        (record(None), scope("lib-b", "2")),
        (record(Some("app::db")), scope("lib-c", "3")),
        (record(None), scope("app::db", "4")),
    ];
    let (scopes, runs) = prepare(&batch).unwrap();
    let names: Vec<_> = scopes.iter().map(|s| (s.name.as_str(), s.version.as_str())).collect();
    // A name's version, attributes and schema URL are those of its first record's logger (the
    // scope's own URL, where `group_logs_by_resource_and_scope` would send the resource's).
    assert_eq!(names, [("app::db", "1"), ("lib-b", "2")]);
    assert_eq!(scopes[0].attributes.get("lib"), Some("lib-a"));
    assert!(scopes.iter().all(|s| s.schema_url == "https://scope"));
    assert_eq!(runs, [(0, 2), (1, 1), (0, 2)]);
}

#[test]
fn an_empty_batch_adds_nothing() {
    let resource = ResourceInfo::default();
    let batch = LogBatch::new(&[]);
    let prepared = PreparedSdkLogs::new(&resource, &batch).unwrap();
    assert_eq!((prepared.rows.len(), prepared.bytes), (0, 0));
    let mut buffer = Buffer::default();
    assert_eq!(prepared.append_to(&mut buffer), 0);
    assert!(buffer.is_empty() && buffer.take().unwrap().is_empty());
}
