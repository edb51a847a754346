//! Hostile shapes of input (issue 6, items 1-4 and 8): huge values, many hours, duplicate keys,
//! deep nesting, all-zero IDs, stores damaged under the reader. Each must give a typed error or
//! be stored, never panic, abort or lose what was already accepted.
// `KeyValue { .., ..Default::default() }`: opentelemetry-proto 0.32's KeyValue has a field
// (`key_strindex`) that 0.31's lacks, so the update is needed with one and not the other.
#![allow(clippy::needless_update)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow_array::cast::AsArray;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{any_value, AnyValue, ArrayValue, EntityRef, KeyValue as Kv};
use opentelemetry_parquet::proto::metrics::v1::{
    metric, Histogram, HistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics,
};
use opentelemetry_parquet::proto::resource::v1::Resource;
use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_parquet::{Config, ConfigBuilder, OtlpError, OtlpLibrary, StoreReader, Table, MAX_VALUE_DEPTH};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use prost::Message as _;

const HOUR_NANOS: u64 = 3_600_000_000_000;

fn builder(dir: &Path) -> ConfigBuilder {
    Config::builder().output_dir(dir).flush_interval(Duration::from_secs(3600))
}

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn string(s: impl Into<String>) -> Option<AnyValue> {
    Some(AnyValue { value: Some(any_value::Value::StringValue(s.into())) })
}

fn int(i: i64) -> Option<AnyValue> {
    Some(AnyValue { value: Some(any_value::Value::IntValue(i)) })
}

fn kv(key: &str, value: Option<AnyValue>) -> Kv {
    Kv { key: key.into(), value, ..Default::default() }
}

fn span(id: u64, start: u64, attributes: Vec<Kv>) -> Span {
    Span {
        trace_id: (id as u128 + 1).to_be_bytes().to_vec(),
        span_id: (id + 1).to_be_bytes().to_vec(),
        name: format!("span-{id}"),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 1,
        attributes,
        ..Default::default()
    }
}

fn traces(resource: Resource, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            schema_url: String::new(),
        }],
    }
}

fn service(name: &str) -> Resource {
    Resource { attributes: vec![kv("service.name", string(name))], ..Default::default() }
}

fn sdk_span(id: u64, attributes: Vec<KeyValue>) -> SpanData {
    let start = SystemTime::now();
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(id as u128 + 1),
            SpanId::from(id + 1),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: format!("sdk-{id}").into(),
        start_time: start,
        end_time: start + Duration::from_millis(1),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Ok,
        instrumentation_scope: InstrumentationScope::builder("hostile").build(),
    }
}

fn span_names(dir: &Path) -> Vec<String> {
    let request = StoreReader::new(dir).read_traces().unwrap();
    let mut names: Vec<String> = request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|s| s.name.clone())
        .collect();
    names.sort();
    names
}

/// A string value shared by every attribute holding it (as the SDK shares `Arc<str>` values).
fn shared_string(s: String) -> opentelemetry::StringValue {
    opentelemetry::StringValue::from(Arc::<str>::from(s))
}

fn nested(depth: usize) -> AnyValue {
    let mut v = AnyValue { value: Some(any_value::Value::IntValue(1)) };
    for _ in 0..depth {
        v = AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![v] })) };
    }
    v
}

/// Takes a deeply nested value apart level by level: the generated types' drop recurses.
fn dismantle(mut v: AnyValue) {
    while let Some(any_value::Value::ArrayValue(mut a)) = v.value.take() {
        match a.values.pop() {
            Some(inner) => v = inner,
            None => break,
        }
    }
}

/// Runs `f` on a thread with a large stack (for building and taking apart deep values, not for
/// the library, which must not recurse on them).
fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(256 << 20).spawn(f).unwrap().join().unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. One large export

#[test]
fn an_export_too_large_for_the_cap_is_refused_whole_and_the_library_keeps_working() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).build().unwrap()).unwrap();
    lib.export_traces(vec![sdk_span(0, vec![KeyValue::new("before", 1)])]).unwrap();

    // 22 spans sharing one 100 MB value: 2.2 GB of rows, over the default 128 MiB cap.
    let huge = shared_string("x".repeat(100 << 20));
    let spans: Vec<_> = (1..=22).map(|i| sdk_span(i, vec![KeyValue::new("big", huge.clone())])).collect();
    match lib.export_traces(spans) {
        Err(OtlpError::ExportTooLarge { bytes, limit_bytes, limit }) => {
            assert_eq!(limit, "max_buffer_bytes");
            assert_eq!(limit_bytes, 128 << 20);
            assert!(bytes > 22 * (100 << 20), "{bytes}");
        }
        other => panic!("expected ExportTooLarge, got {other:?}"),
    }
    // Nothing of it was appended; what was accepted before and after is stored.
    lib.export_traces(vec![sdk_span(100, vec![KeyValue::new("after", 1)])]).unwrap();
    lib.flush().unwrap();
    assert_eq!(span_names(tmp.path()), ["sdk-0", "sdk-100"]);
    lib.shutdown().unwrap();
}

#[test]
fn a_row_larger_than_a_file_can_hold_is_refused_whatever_the_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).max_buffer_bytes(8 << 30).build().unwrap()).unwrap();
    // One span whose four ~300 MB attributes (shared, so cheap to build) make a 1.2 GB row.
    let big = shared_string("y".repeat(300 << 20));
    let attributes = (0..4).map(|i| KeyValue::new(format!("k{i}"), big.clone())).collect();
    match lib.export_traces(vec![sdk_span(1, attributes)]) {
        Err(OtlpError::ExportTooLarge { limit, .. }) => assert_eq!(limit, "the largest row a file can hold"),
        other => panic!("expected ExportTooLarge, got {other:?}"),
    }
    lib.export_traces(vec![sdk_span(2, vec![])]).unwrap();
    lib.flush().unwrap();
    assert_eq!(span_names(tmp.path()), ["sdk-2"]);
}

#[test]
fn large_values_are_split_into_files_before_a_column_overflows() {
    let tmp = tempfile::tempdir().unwrap();
    let config = builder(tmp.path())
        .max_buffer_bytes(2 << 30)
        .compression(opentelemetry_parquet::Compression::None)
        .export_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let lib = OtlpLibrary::new(config).unwrap();
    // 100 MB values: 22 of them in one Utf8 column would overflow its 32-bit offsets (the
    // failure this guards against); the buffer seals a partition's builder at 256 MiB, so four
    // rows already need two files.
    let huge = shared_string("z".repeat(100 << 20));
    let spans: Vec<_> = (0..4).map(|i| sdk_span(i, vec![KeyValue::new("big", huge.clone())])).collect();
    assert_eq!(lib.export_traces(spans).unwrap(), 4);
    lib.flush().unwrap();
    let files = StoreReader::new(tmp.path()).files(Table::Traces).unwrap();
    assert_eq!(files.len(), 2, "sealed into two files: {files:?}");
    let mut rows = 0;
    for path in &files {
        for batch in opentelemetry_parquet::read_file(path).unwrap() {
            let values = batch.column_by_name("SpanAttributes").unwrap().as_map().values().as_string::<i32>().clone();
            assert!(values.iter().all(|v| v.map(str::len) == Some(100 << 20)));
            rows += batch.num_rows();
        }
    }
    assert_eq!(rows, 4);
    lib.shutdown().unwrap();
}

#[test]
fn a_request_with_a_huge_shared_resource_is_refused_before_it_costs_memory() {
    // A valid 1.3 MB request: one resource with a 1 MiB entity-ref schema URL, 2,100 spans. Each
    // row carries the resource: 2.2 GB of rows.
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).build().unwrap()).unwrap();
    let resource = Resource {
        entity_refs: vec![EntityRef { schema_url: "u".repeat(1 << 20), r#type: "host".into(), ..Default::default() }],
        ..service("big-resource")
    };
    let start = now_nanos();
    let request = traces(resource, (0..2_100).map(|i| span(i, start, vec![])).collect());
    let bytes = request.encode_to_vec();
    assert!(bytes.len() < 2 << 20);
    match lib.export_otlp_traces_bytes(&bytes) {
        Err(OtlpError::ExportTooLarge { bytes, .. }) => assert!(bytes > 2_100 << 20, "{bytes}"),
        other => panic!("expected ExportTooLarge, got {other:?}"),
    }
    lib.export_otlp_traces(&traces(service("small"), vec![span(1, start, vec![])])).unwrap();
    lib.flush().unwrap();
    assert_eq!(span_names(tmp.path()), ["span-1"]);
}

// ---------------------------------------------------------------------------------------------
// 2. The memory cap

#[test]
fn spans_in_a_thousand_hours_fit_a_one_mebibyte_cap_with_one_file_per_hour() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).max_buffer_bytes(1 << 20).flush_bytes(256 << 10).build().unwrap())
        .unwrap();
    let base = now_nanos() - 2_000 * HOUR_NANOS;
    for i in 0..1_000 {
        lib.export_otlp_traces(&traces(service("hours"), vec![span(i, base + i * HOUR_NANOS, vec![])])).unwrap();
    }
    lib.flush().unwrap();
    let files = StoreReader::new(tmp.path()).files(Table::Traces).unwrap();
    assert_eq!(files.len(), 1_000, "one file per hour, not more");
    assert_eq!(span_names(tmp.path()).len(), 1_000);
    lib.shutdown().unwrap();
}

#[test]
fn a_single_request_over_many_hours_is_refused_when_its_builders_exceed_the_cap() {
    // 20,000 spans, each in its own hour: each hour needs its own builder and file. Against a
    // 1 MiB cap that cannot be buffered at once: refused, not 4.7 GB of memory.
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).max_buffer_bytes(1 << 20).flush_bytes(256 << 10).build().unwrap())
        .unwrap();
    let base = now_nanos() - 30_000 * HOUR_NANOS;
    let spans = (0..20_000).map(|i| span(i, base + i * HOUR_NANOS, vec![])).collect();
    assert!(matches!(
        lib.export_otlp_traces(&traces(service("hours"), spans)),
        Err(OtlpError::ExportTooLarge { limit: "max_buffer_bytes", .. })
    ));
    lib.flush().unwrap();
    assert!(span_names(tmp.path()).is_empty());
}

#[test]
fn resources_with_large_entity_refs_are_counted_against_the_cap() {
    // 100 resources with 8,000 bytes of entity refs each, 50 spans each: every row carries its
    // resource's refs. With a 1 MiB cap the exports wait for flushes instead of piling up.
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).max_buffer_bytes(1 << 20).flush_bytes(256 << 10).build().unwrap())
        .unwrap();
    let start = now_nanos();
    for r in 0..100u64 {
        let resource = Resource {
            entity_refs: vec![EntityRef {
                schema_url: format!("{r}").repeat(8_000 / format!("{r}").len()),
                r#type: "service".into(),
                id_keys: vec!["service.name".into()],
                ..Default::default()
            }],
            ..service(&format!("svc-{r}"))
        };
        let spans = (0..50).map(|i| span(r * 100 + i, start, vec![])).collect();
        lib.export_otlp_traces(&traces(resource, spans)).unwrap();
    }
    lib.flush().unwrap();
    let files = StoreReader::new(tmp.path()).files(Table::Traces).unwrap();
    assert!(files.len() >= 30, "5000 rows x 8 kB against a 1 MiB cap need many flushes: {}", files.len());
    let request = StoreReader::new(tmp.path()).read_traces().unwrap();
    assert_eq!(request.resource_spans.len(), 100);
    assert!(request
        .resource_spans
        .iter()
        .all(|rs| rs.resource.as_ref().unwrap().entity_refs[0].schema_url.len() >= 7_000));
}

#[test]
fn a_span_with_a_hundred_thousand_attributes_is_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).build().unwrap()).unwrap();
    let attributes: Vec<Kv> = (0..100_000).map(|i| kv(&format!("k{i}"), int(i))).collect();
    lib.export_otlp_traces(&traces(service("wide"), vec![span(1, now_nanos(), attributes)])).unwrap();
    lib.flush().unwrap();
    let request = StoreReader::new(tmp.path()).read_traces().unwrap();
    assert_eq!(request.resource_spans[0].scope_spans[0].spans[0].attributes.len(), 100_000);
}

// ---------------------------------------------------------------------------------------------
// 3. Duplicate keys

fn attr3(key: &str, rendered: &str, ty: &str) -> common::Attr {
    (key.to_owned(), rendered.to_owned(), ty.to_owned())
}

fn map_entries(dir: &Path, table: Table, column: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    for batch in StoreReader::new(dir).read_batches(table).unwrap() {
        let map = batch.column_by_name(column).unwrap().as_map();
        let keys = map.keys().as_string::<i32>();
        let values = map.values().as_string::<i32>();
        for row in 0..batch.num_rows() {
            let (s, e) = (map.value_offsets()[row] as usize, map.value_offsets()[row + 1] as usize);
            out.push((s..e).map(|i| (keys.value(i).to_owned(), values.value(i).to_owned())).collect());
        }
    }
    out
}

#[test]
fn duplicate_attribute_keys_are_stored_once_with_the_last_value() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).build().unwrap()).unwrap();
    // SDK 0.31 keeps both `set_attribute` calls of the same key.
    lib.export_traces(vec![sdk_span(
        1,
        vec![KeyValue::new("code", 200), KeyValue::new("other", "x"), KeyValue::new("code", 500)],
    )])
    .unwrap();
    lib.flush().unwrap();
    assert_eq!(
        map_entries(tmp.path(), Table::Traces, "SpanAttributes"),
        [vec![("other".to_owned(), "x".to_owned()), ("code".to_owned(), "500".to_owned())]]
    );
    let batches = StoreReader::new(tmp.path()).read_batches(Table::Traces).unwrap();
    let col = |name: &str| batches[0].column_by_name(name).unwrap();
    assert_eq!(
        common::attrs_at(col("SpanAttributes"), col("SpanAttributesTypes"), 0),
        [attr3("other", "x", "string"), attr3("code", "500", "int")],
        "the types agree with the value map"
    );
}

#[test]
fn duplicate_keys_in_otlp_resources_scopes_and_histograms_are_made_unique() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).build().unwrap()).unwrap();
    let dup = |n: usize| -> Vec<Kv> { (0..n).map(|i| kv("k", int(i as i64))).chain([kv("j", string("s"))]).collect() };
    let resource = Resource { attributes: dup(3), ..Default::default() };
    let mut request = traces(resource.clone(), vec![span(1, now_nanos(), dup(40))]);
    request.resource_spans[0].scope_spans[0].scope =
        Some(opentelemetry_parquet::proto::common::v1::InstrumentationScope {
            attributes: dup(2),
            ..Default::default()
        });
    lib.export_otlp_traces(&request).unwrap();
    let point = HistogramDataPoint {
        attributes: dup(5),
        time_unix_nano: now_nanos(),
        count: 1,
        bucket_counts: vec![1],
        ..Default::default()
    };
    lib.export_otlp_metrics(&ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "h".into(),
                    data: Some(metric::Data::Histogram(Histogram {
                        data_points: vec![point],
                        aggregation_temporality: 1,
                    })),
                    metadata: dup(2),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    })
    .unwrap();
    lib.flush().unwrap();
    let unique = |rows: Vec<Vec<(String, String)>>, last: &str| {
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0], [("k".to_owned(), last.to_owned()), ("j".to_owned(), "s".to_owned())]);
    };
    unique(map_entries(tmp.path(), Table::Traces, "SpanAttributes"), "39");
    unique(map_entries(tmp.path(), Table::Traces, "ResourceAttributes"), "2");
    unique(map_entries(tmp.path(), Table::Traces, "ScopeAttributes"), "1");
    unique(map_entries(tmp.path(), Table::MetricsHistogram, "Attributes"), "4");
    unique(map_entries(tmp.path(), Table::MetricsHistogram, "MetricMetadata"), "1");
}

// ---------------------------------------------------------------------------------------------
// 4. Nesting

#[test]
fn values_nested_deeper_than_the_limit_are_refused_by_every_otlp_entry_point() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    on_big_stack(move || {
        let lib = OtlpLibrary::new(builder(&dir).build().unwrap()).unwrap();
        let start = now_nanos();
        // At the limit: stored and read back.
        let ok = traces(service("deep"), vec![span(1, start, vec![kv("v", Some(nested(MAX_VALUE_DEPTH)))])]);
        lib.export_otlp_traces(&ok).unwrap();
        lib.export_otlp_traces_bytes(&ok.encode_to_vec()).unwrap();
        for depth in [MAX_VALUE_DEPTH + 1, 10_000, 100_000] {
            let request = traces(service("deep"), vec![span(2, start, vec![kv("v", Some(nested(depth)))])]);
            match lib.export_otlp_traces(&request) {
                Err(OtlpError::Decode { message, reason }) => {
                    assert_eq!(message, "ExportTraceServiceRequest");
                    assert!(reason.contains("deeper than 32"), "{reason}");
                }
                other => panic!("depth {depth}: expected Decode, got {other:?}"),
            }
            if depth < 1_000 {
                // Encodable: the bytes path gives the same typed error.
                assert!(matches!(
                    lib.export_otlp_traces_bytes(&request.encode_to_vec()),
                    Err(OtlpError::Decode { .. })
                ));
            }
            // In a resource too.
            let in_resource = traces(
                Resource { attributes: vec![kv("v", Some(nested(depth)))], ..Default::default() },
                vec![span(3, start, vec![])],
            );
            assert!(matches!(lib.export_otlp_traces(&in_resource), Err(OtlpError::Decode { .. })));
            for r in [request, in_resource] {
                for rs in r.resource_spans {
                    for kv in rs.resource.into_iter().flat_map(|r| r.attributes) {
                        if let Some(v) = kv.value {
                            dismantle(v);
                        }
                    }
                    for ss in rs.scope_spans {
                        for s in ss.spans {
                            for kv in s.attributes {
                                if let Some(v) = kv.value {
                                    dismantle(v);
                                }
                            }
                        }
                    }
                }
            }
        }
        lib.flush().unwrap();
        let names = span_names(&dir);
        assert_eq!(names, ["span-1", "span-1"]);
    });
}

// ---------------------------------------------------------------------------------------------
// 8. IDs, directories, damaged stores

#[test]
fn all_zero_ids_are_stored_as_empty_strings_like_the_clickhouse_exporter() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).build().unwrap()).unwrap();
    let mut s = span(1, now_nanos(), vec![]);
    s.parent_span_id = vec![0; 8];
    s.trace_id = vec![0; 16];
    lib.export_otlp_traces(&traces(service("zeros"), vec![s])).unwrap();
    lib.flush().unwrap();
    let batch = &StoreReader::new(tmp.path()).read_batches(Table::Traces).unwrap()[0];
    for column in ["TraceId", "ParentSpanId"] {
        assert_eq!(batch.column_by_name(column).unwrap().as_string::<i32>().value(0), "", "{column}");
    }
    let back = StoreReader::new(tmp.path()).read_traces().unwrap();
    assert!(back.resource_spans[0].scope_spans[0].spans[0].trace_id.is_empty());
}

#[test]
fn a_relative_output_dir_is_made_absolute_at_construction() {
    let lib = OtlpLibrary::new(Config::builder().output_dir("target/hostile-relative").build().unwrap()).unwrap();
    assert!(lib.config().output_dir().is_absolute(), "{}", lib.config().output_dir().display());
    assert!(lib.config().output_dir().ends_with("target/hostile-relative"));
}

#[cfg(unix)]
#[test]
fn a_file_removed_between_listing_and_opening_does_not_fail_the_read() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).build().unwrap()).unwrap();
    lib.export_otlp_traces(&traces(service("gone"), vec![span(1, now_nanos(), vec![])])).unwrap();
    lib.flush().unwrap();
    // A dangling entry is exactly what a listing sees when retention removes a file under it.
    let dir = StoreReader::new(tmp.path()).files(Table::Traces).unwrap()[0].parent().unwrap().to_path_buf();
    std::os::unix::fs::symlink(dir.join("missing"), dir.join("part-00000000-0000-7000-8000-000000000000.parquet"))
        .unwrap();
    assert_eq!(span_names(tmp.path()), ["span-1"]);
    assert_eq!(StoreReader::new(tmp.path()).read_batches(Table::Traces).unwrap().len(), 1);
}

#[test]
fn unexpected_nested_column_types_are_an_error_not_a_panic() {
    use arrow_array::{new_null_array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("traces/date=2026-01-01/hour=00");
    std::fs::create_dir_all(&dir).unwrap();
    let real = Table::Traces.schema();
    // Every column as written, but Events is a list of ints and Links a plain string.
    for broken in ["Events", "Links", "SpanAttributes", "ResourceEntityRefs"] {
        let fields: Vec<Field> = real
            .fields()
            .iter()
            .map(|f| {
                let f = f.as_ref().clone().with_nullable(true);
                if f.name() == broken {
                    f.with_data_type(if broken == "Events" {
                        DataType::List(Arc::new(Field::new("item", DataType::Int32, true)))
                    } else {
                        DataType::Utf8
                    })
                } else {
                    f
                }
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let columns = schema.fields().iter().map(|f| new_null_array(f.data_type(), 1)).collect();
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let path = dir.join("part-00000000-0000-7000-8000-000000000001.parquet");
        let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        match StoreReader::new(tmp.path()).read_traces() {
            Err(OtlpError::InvalidStoreFile { reason, .. }) => assert!(reason.contains(broken) || !reason.is_empty()),
            other => panic!("{broken}: expected InvalidStoreFile, got {other:?}"),
        }
    }
}
