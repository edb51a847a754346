//! What the SDK log tests share: the library, records and values they make, the stored rows
//! read back in a canonical order, and the rows of the OTLP path (`opentelemetry-proto`'s
//! conversion of the same records stored with `export_otlp_logs`).

// Each test binary uses only some of them.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger};
use opentelemetry::{InstrumentationScope, Key, KeyValue};
use opentelemetry_parquet::proto::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_parquet::proto::common::v1::{any_value::Value as ProtoValue, InstrumentationScope as ProtoScope};
use opentelemetry_parquet::proto::logs::v1::LogRecord as ProtoRecord;
use opentelemetry_parquet::proto::resource::v1::Resource as ProtoResource;
use opentelemetry_parquet::{Config, OtlpLibrary, StoreReader};
use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_sdk::logs::{LogBatch, SdkLogRecord};
use opentelemetry_sdk::Resource;
use prost::Message as _;

pub fn new_library(dir: &std::path::Path) -> OtlpLibrary {
    OtlpLibrary::new(Config::builder().output_dir(dir).build().expect("config")).expect("library")
}

/// 2023-11-14T22:13:20Z plus `ms` milliseconds.
pub fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
}

pub const RESOURCE_SCHEMA: &str = "https://opentelemetry.io/schemas/1.26.0";

pub fn test_resource(service: &'static str) -> Resource {
    Resource::builder()
        .with_schema_url(
            [KeyValue::new("deployment.environment", "test"), KeyValue::new("host.cores", 8i64)],
            RESOURCE_SCHEMA,
        )
        .with_service_name(service)
        .build()
}

/// `group_logs_by_resource_and_scope`, which takes the batch by value in opentelemetry-proto 0.31
/// and by reference in 0.32: implemented for either signature (the marker picks the one the
/// function has), so that this file builds against both.
pub trait GroupLogs<Marker> {
    fn group(
        &self,
        batch: &[(&SdkLogRecord, &InstrumentationScope)],
        r: &ResourceAttributesWithSchema,
    ) -> Vec<ResourceLogs>;
}

pub struct ByValue;
pub struct ByReference;

impl<F: Fn(LogBatch<'_>, &ResourceAttributesWithSchema) -> Vec<ResourceLogs>> GroupLogs<ByValue> for F {
    fn group(
        &self,
        batch: &[(&SdkLogRecord, &InstrumentationScope)],
        r: &ResourceAttributesWithSchema,
    ) -> Vec<ResourceLogs> {
        self(LogBatch::new(batch), r)
    }
}

impl<F: for<'a> Fn(&'a LogBatch<'a>, &ResourceAttributesWithSchema) -> Vec<ResourceLogs>> GroupLogs<ByReference> for F {
    fn group(
        &self,
        batch: &[(&SdkLogRecord, &InstrumentationScope)],
        r: &ResourceAttributesWithSchema,
    ) -> Vec<ResourceLogs> {
        self(&LogBatch::new(batch), r)
    }
}

/// One stored record with its resource (attributes sorted by key: the SDK keeps them in a hash
/// map) and scope, and their schema URLs.
pub type FlatLog = (ProtoResource, String, ProtoScope, String, ProtoRecord);

/// Every record of a request, in a canonical order (by their encoding).
pub fn flatten(request: &ExportLogsServiceRequest) -> Vec<FlatLog> {
    let mut out = Vec::new();
    for rl in &request.resource_logs {
        let mut resource = rl.resource.clone().unwrap_or_default();
        resource.attributes.sort_by(|a, b| a.key.cmp(&b.key));
        for sl in &rl.scope_logs {
            for record in &sl.log_records {
                let scope = sl.scope.clone().unwrap_or_default();
                out.push((resource.clone(), rl.schema_url.clone(), scope, sl.schema_url.clone(), record.clone()));
            }
        }
    }
    out.sort_by_key(|f| f.4.encode_to_vec());
    out
}

pub fn stored(dir: &std::path::Path) -> Vec<FlatLog> {
    flatten(&StoreReader::new(dir).read_logs().expect("read_logs"))
}

/// The rows of the OTLP path: `opentelemetry-proto`'s conversion of the records, as the OTLP
/// exporter sends them, stored with `export_otlp_logs` in a store of its own.
pub fn otlp_path_rows(records: &[(&SdkLogRecord, &InstrumentationScope)], resource: &Resource) -> Vec<FlatLog> {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());
    let request = opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest {
        resource_logs: group_logs_by_resource_and_scope.group(records, &ResourceAttributesWithSchema::from(resource)),
    };
    assert_eq!(library.export_otlp_logs(&request).expect("export_otlp_logs"), records.len());
    library.shutdown().expect("shutdown");
    stored(dir.path())
}

/// The record with attribute `n` = `n`.
pub fn by_n(rows: &[FlatLog], n: i64) -> &FlatLog {
    let found: Vec<_> = rows.iter().filter(|f| attr(&f.4, "n") == Some(&ProtoValue::IntValue(n))).collect();
    assert_eq!(found.len(), 1, "one record with n = {n}");
    found[0]
}

pub fn attr<'a>(record: &'a ProtoRecord, key: &str) -> Option<&'a ProtoValue> {
    record.attributes.iter().rev().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

pub fn body(record: &ProtoRecord) -> Option<&ProtoValue> {
    record.body.as_ref().and_then(|b| b.value.as_ref())
}

pub fn list(values: Vec<AnyValue>) -> AnyValue {
    AnyValue::ListAny(Box::new(values))
}

pub fn map(entries: Vec<(&'static str, AnyValue)>) -> AnyValue {
    AnyValue::Map(Box::new(entries.into_iter().map(|(k, v)| (Key::from(k), v)).collect::<HashMap<_, _>>()))
}

/// A value nested `depth` lists deep around an int.
pub fn nested(depth: usize) -> AnyValue {
    (0..depth).fold(AnyValue::Int(1), |inner, _| list(vec![inner]))
}

/// A record made by a logger but not emitted (so its observed time is set here).
pub fn record(logger: &impl Logger<LogRecord = SdkLogRecord>, n: i64) -> SdkLogRecord {
    let mut r = logger.create_log_record();
    r.set_observed_timestamp(at(n as u64));
    r.add_attribute("n", n);
    r
}

/// The bodies of the records `emit` makes, one per kind of value (and none).
pub fn bodies() -> Vec<Option<AnyValue>> {
    vec![
        None,
        Some(AnyValue::from("plain text body")),
        Some(AnyValue::Int(-42)),
        Some(AnyValue::Double(0.25)),
        Some(AnyValue::Boolean(true)),
        Some(AnyValue::Bytes(Box::new(vec![0, 1, 254, 255]))),
        Some(list(vec![AnyValue::Int(1), AnyValue::from("two"), list(vec![AnyValue::Boolean(false)])])),
        Some(map(vec![("user", map(vec![("id", AnyValue::Int(7))])), ("tags", list(vec![AnyValue::from("a")]))])),
    ]
}
