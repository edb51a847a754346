//! Property tests for the `logs` table: storing an arbitrary OTLP logs request (every `AnyValue`
//! body shape, empty and unicode strings, zero and maximal times, every severity and beyond)
//! and reading the store back gives the same request, up to the rules of [`flatten_logs`], in
//! both storage formats and through both ways in (decoded and encoded).
#![allow(clippy::needless_update)]

mod common;
mod strategies;

use opentelemetry_parquet::proto::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_parquet::proto::common::v1::{any_value, AnyValue, ArrayValue, KeyValue, KeyValueList};
use opentelemetry_parquet::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_parquet::{Config, OtlpError, OtlpLibrary, StorageFormat, StoreReader, Table};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use prost::Message as _;
use strategies::*;

/// How a request enters the library.
#[derive(Debug, Clone, Copy)]
enum Way {
    Decoded,
    Owned,
    Bytes,
}

fn roundtrip(request: &ExportLogsServiceRequest, format: StorageFormat, way: Way) -> ExportLogsServiceRequest {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).format(format).build().expect("config"))
        .expect("library");
    let accepted = match way {
        Way::Decoded => library.export_otlp_logs(request),
        Way::Owned => library.export_otlp_logs_owned(request.clone()),
        Way::Bytes => library.export_otlp_logs_bytes(&request.encode_to_vec()),
    }
    .expect("export");
    assert_eq!(accepted, flatten_logs(request).len(), "export_otlp_logs returns the number of log records");
    library.shutdown().expect("shutdown");
    let name = match format {
        StorageFormat::ArrowIpc => "roundtrip_logs_arrow_ipc",
        _ => "roundtrip_logs_parquet",
    };
    common::keep_store(name, dir.path());
    StoreReader::new(dir.path()).read_logs().expect("read_logs")
}

/// An all-zero trace or span ID means "no ID" (rendered `''`, as the ClickHouse exporter does).
fn zero_id_as_empty(id: &mut Vec<u8>) {
    if id.iter().all(|&b| b == 0) {
        id.clear();
    }
}

/// One single-record `ResourceLogs` per log record, paired with its encoding and sorted by it.
/// Forgiven, as for traces: (a) order (records are partitioned by time and regrouped by resource
/// and scope); (b) `resource: None` / `scope: None` are their defaults; (c) resources and scopes
/// without records disappear; (d) all-zero IDs compare as empty.
fn flatten_logs(request: &ExportLogsServiceRequest) -> Vec<(Vec<u8>, ResourceLogs)> {
    let mut out = Vec::new();
    for rl in &request.resource_logs {
        for sl in &rl.scope_logs {
            for r in &sl.log_records {
                let mut r = r.clone();
                zero_id_as_empty(&mut r.trace_id);
                zero_id_as_empty(&mut r.span_id);
                let item = ResourceLogs {
                    resource: Some(rl.resource.clone().unwrap_or_default()),
                    scope_logs: vec![ScopeLogs {
                        scope: Some(sl.scope.clone().unwrap_or_default()),
                        log_records: vec![r],
                        schema_url: sl.schema_url.clone(),
                    }],
                    schema_url: rl.schema_url.clone(),
                };
                out.push((item.encode_to_vec(), item));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn check(request: &ExportLogsServiceRequest, format: StorageFormat, way: Way) -> Result<(), TestCaseError> {
    same_items(&flatten_logs(request), &flatten_logs(&roundtrip(request, format, way)))
}

/// Severity numbers: every one of the enum (0 to 24), and values outside it.
fn severity() -> impl Strategy<Value = i32> {
    prop_oneof![8 => 0..25, 1 => prop::sample::select(vec![-1, 25, 255, 256, i32::MIN, i32::MAX])]
}

/// A body: absent, or any `AnyValue` shape.
fn body() -> impl Strategy<Value = Option<AnyValue>> {
    prop::option::weighted(0.9, any_value())
}

prop_compose! {
    fn a_record()(
        (time_unix_nano, observed_time_unix_nano) in (prop_oneof![1 => Just(0u64), 4 => time()], time()),
        (severity_number, severity_text) in (severity(), text()),
        body in body(),
        attributes in attributes(),
        (dropped_attributes_count, flags) in (count(), flags()),
        // With and without span context.
        (trace_id, span_id) in prop_oneof![1 => Just((Vec::new(), Vec::new())), 3 => (id(16), id(8))],
        event_name in text(),
    ) -> LogRecord {
        LogRecord {
            time_unix_nano,
            observed_time_unix_nano,
            severity_number,
            severity_text,
            body,
            attributes,
            dropped_attributes_count,
            flags,
            trace_id,
            span_id,
            event_name,
        }
    }
}

fn logs_request() -> impl Strategy<Value = ExportLogsServiceRequest> {
    let scope_logs = (scope(), list(a_record(), 5), text()).prop_map(|(scope, log_records, schema_url)| ScopeLogs {
        scope,
        log_records,
        schema_url,
    });
    let resource_logs = (resource(), list(scope_logs, 4), text())
        .prop_map(|(resource, scope_logs, schema_url)| ResourceLogs { resource, scope_logs, schema_url });
    list(resource_logs, 4).prop_map(|resource_logs| ExportLogsServiceRequest { resource_logs })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn logs_roundtrip_parquet(request in logs_request()) {
        check(&request, StorageFormat::Parquet, Way::Decoded)?;
    }

    #[test]
    fn logs_roundtrip_arrow_ipc_owned(request in logs_request()) {
        check(&request, StorageFormat::ArrowIpc, Way::Owned)?;
    }

    #[test]
    fn logs_roundtrip_parquet_bytes(request in logs_request()) {
        check(&request, StorageFormat::Parquet, Way::Bytes)?;
    }
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn record(body: Option<AnyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: 1_700_000_000_000_000_000,
        observed_time_unix_nano: 1_700_000_000_000_000_001,
        severity_number: 9,
        severity_text: "INFO".into(),
        body,
        trace_id: vec![0xab; 16],
        span_id: vec![0xcd; 8],
        flags: 1,
        ..Default::default()
    }
}

fn request_of(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(opentelemetry_parquet::proto::resource::v1::Resource {
                attributes: vec![kv("service.name", any_value::Value::StringValue("checkout".into()))],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
            schema_url: String::new(),
        }],
    }
}

/// The ClickHouse columns hold what the exporter writes: `Timestamp` falls back to the observed
/// time, the body is rendered as `AsString` renders it, IDs are hex, `TraceFlags` the low byte.
#[test]
fn the_clickhouse_columns_render_as_the_exporter_does() {
    use arrow_array::cast::AsArray;
    let map = any_value::Value::KvlistValue(KeyValueList {
        values: vec![kv("user", any_value::Value::StringValue("ada".into())), kv("n", any_value::Value::IntValue(3))],
    });
    let list = any_value::Value::ArrayValue(ArrayValue {
        values: vec![AnyValue { value: Some(any_value::Value::BoolValue(true)) }],
    });
    let mut untimed = record(Some(AnyValue { value: Some(any_value::Value::DoubleValue(0.5)) }));
    untimed.time_unix_nano = 0;
    untimed.flags = 0x0000_0201;
    let records = vec![
        record(Some(AnyValue { value: Some(any_value::Value::StringValue("payment failed".into())) })),
        record(Some(AnyValue { value: Some(map) })),
        record(Some(AnyValue { value: Some(list) })),
        untimed,
        record(None),
    ];
    let dir = tempfile::tempdir().unwrap();
    let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build().unwrap()).unwrap();
    assert_eq!(library.export_otlp_logs(&request_of(records)).unwrap(), 5);
    library.shutdown().unwrap();
    let batches = StoreReader::new(dir.path()).read_batches(Table::Logs).unwrap();
    let strings = |name: &str| -> Vec<String> {
        let mut out = Vec::new();
        for b in &batches {
            out.extend(b.column_by_name(name).unwrap().as_string::<i32>().iter().map(|s| s.unwrap().to_owned()));
        }
        out
    };
    let mut bodies = strings("Body");
    bodies.sort();
    assert_eq!(bodies, ["", "0.5", r#"[true]"#, "payment failed", r#"{"n":3,"user":"ada"}"#]);
    assert!(strings("TraceId").iter().all(|t| t == &"ab".repeat(16)));
    assert!(strings("SpanId").iter().all(|t| t == &"cd".repeat(8)));
    assert!(strings("ServiceName").iter().all(|s| s == "checkout"));
    for batch in &batches {
        let times = batch.column_by_name("Timestamp").unwrap();
        let times = times.as_primitive::<arrow_array::types::TimestampNanosecondType>();
        let observed = batch.column_by_name("TimestampFromObserved").unwrap().as_boolean().clone();
        for row in 0..batch.num_rows() {
            let expected = if observed.value(row) { 1_700_000_000_000_000_001 } else { 1_700_000_000_000_000_000 };
            assert_eq!(times.value(row), expected);
        }
        let flags = batch.column_by_name("TraceFlags").unwrap();
        assert!(flags.as_primitive::<arrow_array::types::UInt8Type>().iter().all(|f| f == Some(1)));
    }
}

/// A body nested deeper than the limit is refused with a typed error naming it, and nothing of
/// that export is stored; what was accepted before stays.
#[test]
fn a_body_nested_too_deep_is_refused_whole() {
    let mut deep = AnyValue { value: Some(any_value::Value::IntValue(1)) };
    for _ in 0..=opentelemetry_parquet::MAX_VALUE_DEPTH {
        deep = AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![deep] })) };
    }
    let dir = tempfile::tempdir().unwrap();
    let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build().unwrap()).unwrap();
    assert_eq!(library.export_otlp_logs(&request_of(vec![record(None)])).unwrap(), 1);
    let err = library.export_otlp_logs(&request_of(vec![record(None), record(Some(deep))])).unwrap_err();
    assert!(matches!(err, OtlpError::Decode { message: "ExportLogsServiceRequest", .. }), "{err:?}");
    assert!(err.to_string().contains("log body"), "{err}");
    let err = library.export_otlp_logs_bytes(b"\xff\xff\xff").unwrap_err();
    assert!(matches!(err, OtlpError::Decode { message: "ExportLogsServiceRequest", .. }), "{err:?}");
    library.shutdown().unwrap();
    let err = library.export_otlp_logs(&request_of(vec![record(None)])).unwrap_err();
    assert!(matches!(err, OtlpError::AlreadyShutdown(_)), "{err:?}");
    assert_eq!(common::table_rows(dir.path())["logs"], 1);
}

/// The memory cap counts log records as it counts spans: an export that can never fit is
/// refused whole with `ExportTooLarge` naming the limit (before it costs memory, also when it
/// is handed over as it is), and the library keeps storing what fits.
#[test]
fn a_logs_export_over_the_memory_cap_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        Config::builder().output_dir(dir.path()).max_buffer_bytes(1 << 20).flush_bytes(1 << 19).build().unwrap();
    let library = OtlpLibrary::new(config).unwrap();
    let big = |n: usize| {
        let body = AnyValue { value: Some(any_value::Value::StringValue("x".repeat(n))) };
        request_of((0..4).map(|_| record(Some(body.clone()))).collect())
    };
    assert_eq!(library.export_otlp_logs(&big(1000)).unwrap(), 4);
    for attempt in [
        library.export_otlp_logs(&big(1 << 20)),
        library.export_otlp_logs_owned(big(1 << 20)),
        library.export_otlp_logs_bytes(&big(1 << 20).encode_to_vec()),
    ] {
        match attempt {
            Err(OtlpError::ExportTooLarge { limit, limit_bytes, bytes }) => {
                assert_eq!((limit, limit_bytes), ("max_buffer_bytes", 1 << 20));
                assert!(bytes > 4 << 20, "{bytes}");
            }
            other => panic!("expected ExportTooLarge, got {other:?}"),
        }
    }
    assert_eq!(library.export_otlp_logs_owned(big(10)).unwrap(), 4);
    library.shutdown().unwrap();
    let back = StoreReader::new(dir.path()).read_logs().unwrap();
    let mut sizes: Vec<usize> = back.resource_logs[0].scope_logs[0]
        .log_records
        .iter()
        .map(|r| match r.body.as_ref().and_then(|b| b.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => s.len(),
            other => panic!("unexpected body {other:?}"),
        })
        .collect();
    sizes.sort();
    assert_eq!(sizes, [10, 10, 10, 10, 1000, 1000, 1000, 1000]);
}
