//! Concurrency tests: many threads exporting spans (through tracer providers, through exporters
//! directly, and through one exporter shared by several threads) and OTLP metrics into one
//! library while flushes run, two libraries writing into one directory, and shutdown racing
//! exports. Every row must be stored exactly once with its attributes intact.
// `KeyValue { .., ..Default::default() }`: opentelemetry-proto 0.32's KeyValue has a field
// (`key_strindex`) that 0.31's lacks, so the update is needed with one and not the other.
#![allow(clippy::needless_update)]

mod common;
use common::block_on;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{
    any_value, AnyValue, InstrumentationScope as ProtoScope, KeyValue as ProtoKeyValue,
};
use opentelemetry_parquet::proto::metrics::v1::{
    metric, number_data_point, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
};
use opentelemetry_parquet::proto::resource::v1::Resource as ProtoResource;
use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans, Span as ProtoSpan};
use opentelemetry_parquet::{Config, OtlpError, OtlpLibrary, OtlpMetricExporter, OtlpSpanExporter, StoreReader, Table};
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanEvents, SpanExporter as _, SpanLinks};
use opentelemetry_sdk::Resource;

// ---------------------------------------------------------------------------------------------
// Helpers

fn library(dir: &Path, flush_rows: usize) -> OtlpLibrary {
    OtlpLibrary::new(Config::builder().output_dir(dir).flush_rows(flush_rows).build().expect("config"))
        .expect("library")
}

fn payload(thread: usize, seq: usize) -> String {
    format!("payload-{thread}-{seq}-{}", "x".repeat((thread * 7 + seq) % 41))
}

fn span_attributes(thread: usize, seq: usize) -> Vec<KeyValue> {
    vec![
        KeyValue::new("thread", thread as i64),
        KeyValue::new("seq", seq as i64),
        KeyValue::new("payload", payload(thread, seq)),
    ]
}

/// A deterministic, unique span ID for (thread, seq) of a given "process".
fn span_id(process: usize, thread: usize, seq: usize) -> [u8; 8] {
    (((process as u64 + 1) << 48) | ((thread as u64 + 1) << 24) | (seq as u64 + 1)).to_be_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn span_data(thread: usize, seq: usize) -> SpanData {
    let now = SystemTime::now();
    let mut trace_id = [0u8; 16];
    trace_id[8..].copy_from_slice(&span_id(0, thread, seq));
    trace_id[0] = 0xab;
    SpanData {
        span_context: SpanContext::new(
            TraceId::from_bytes(trace_id),
            SpanId::from_bytes(span_id(0, thread, seq)),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: format!("direct {thread}/{seq}").into(),
        start_time: now,
        end_time: now + Duration::from_micros(seq as u64),
        attributes: span_attributes(thread, seq),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("direct").with_version("1").build(),
    }
}

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after epoch").as_nanos() as u64
}

fn string_kv(key: &str, value: String) -> ProtoKeyValue {
    ProtoKeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value)) }),
        ..Default::default()
    }
}

fn int_kv(key: &str, value: i64) -> ProtoKeyValue {
    ProtoKeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::IntValue(value)) }),
        ..Default::default()
    }
}

/// A gauge request of `points` points, point `j` of batch `batch` from thread `thread`.
fn gauge_request(thread: usize, batch: usize, points: usize) -> ExportMetricsServiceRequest {
    let time = now_nanos();
    let data_points = (0..points)
        .map(|j| {
            let seq = batch * points + j;
            NumberDataPoint {
                attributes: vec![int_kv("thread", thread as i64), int_kv("seq", seq as i64)],
                time_unix_nano: time,
                value: Some(number_data_point::Value::AsDouble(metric_value(thread, seq))),
                ..Default::default()
            }
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(ProtoResource {
                attributes: vec![string_kv("service.name", format!("metrics-{thread}"))],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(ProtoScope { name: "otlp-metrics".into(), ..Default::default() }),
                metrics: vec![Metric {
                    name: "load".into(),
                    data: Some(metric::Data::Gauge(Gauge { data_points })),
                    ..Default::default()
                }],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn metric_value(thread: usize, seq: usize) -> f64 {
    thread as f64 * 1_000_000.0 + seq as f64 + 0.25
}

/// An OTLP traces request of `count` spans from (process, thread), starting at `first`.
fn otlp_traces(process: usize, thread: usize, first: usize, count: usize) -> ExportTraceServiceRequest {
    let start = now_nanos();
    let spans = (first..first + count)
        .map(|seq| {
            let id = span_id(process, thread, seq);
            let mut trace_id = id.to_vec();
            trace_id.extend_from_slice(&id);
            ProtoSpan {
                trace_id,
                span_id: id.to_vec(),
                name: format!("otlp {process}/{thread}/{seq}"),
                kind: 2,
                start_time_unix_nano: start,
                end_time_unix_nano: start + 1_000,
                attributes: vec![
                    int_kv("thread", thread as i64),
                    int_kv("seq", seq as i64),
                    string_kv("payload", payload(thread, seq)),
                ],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(ProtoResource {
                attributes: vec![string_kv("service.name", format!("process-{process}"))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(ProtoScope { name: "otlp".into(), ..Default::default() }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn map_get(map: &ArrayRef, row: usize, key: &str) -> Option<String> {
    let entries = map.as_map().value(row);
    let keys = entries.column(0).as_string::<i32>();
    let values = entries.column(1).as_string::<i32>();
    (0..entries.len()).find(|&i| keys.value(i) == key).map(|i| values.value(i).to_owned())
}

/// A stored span: (SpanId, service name, thread, seq, payload).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct StoredSpan {
    span_id: String,
    service: String,
    thread: String,
    seq: String,
    payload: String,
    thread_type: String,
}

fn stored_spans(dir: &Path) -> Vec<StoredSpan> {
    let mut out = Vec::new();
    for b in StoreReader::new(dir).read_batches(Table::Traces).expect("read traces") {
        let col = |name: &str| b.column_by_name(name).unwrap_or_else(|| panic!("missing {name}"));
        let ids = col("SpanId").as_string::<i32>();
        let services = col("ServiceName").as_string::<i32>();
        let (attrs, types) = (col("SpanAttributes"), col("SpanAttributesTypes"));
        for row in 0..b.num_rows() {
            let typed = common::attrs_at(attrs, types, row);
            out.push(StoredSpan {
                span_id: ids.value(row).to_owned(),
                service: services.value(row).to_owned(),
                thread: map_get(attrs, row, "thread").expect("thread attribute"),
                seq: map_get(attrs, row, "seq").expect("seq attribute"),
                payload: map_get(attrs, row, "payload").expect("payload attribute"),
                thread_type: typed.iter().find(|(k, _, _)| k == "thread").expect("thread type").2.clone(),
            });
        }
    }
    out
}

/// Checks every stored span's attributes against its (thread, seq) and that no span ID repeats;
/// returns the spans by ID.
fn check_spans(spans: &[StoredSpan]) -> BTreeMap<String, StoredSpan> {
    let mut by_id = BTreeMap::new();
    for s in spans {
        let thread: usize = s.thread.parse().expect("thread is an int");
        let seq: usize = s.seq.parse().expect("seq is an int");
        assert_eq!(s.payload, payload(thread, seq), "payload of {s:?}");
        assert_eq!(s.thread_type, "int");
        assert!(by_id.insert(s.span_id.clone(), s.clone()).is_none(), "span {} stored twice", s.span_id);
    }
    by_id
}

fn data_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    walk(dir, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Tests

const THREADS: usize = 8;
const SPANS_PER_THREAD: usize = 500;
const METRIC_THREADS: usize = 2;
const METRIC_BATCHES: usize = 100;
const POINTS_PER_BATCH: usize = 10;

/// 8 threads x 500 spans through three kinds of exporter use, plus OTLP metric exports and a
/// thread that keeps flushing, all into one library with a small `flush_rows`.
#[test]
fn many_threads_and_exporters_into_one_library() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = library(dir.path(), 97);
    let done = Arc::new(AtomicBool::new(false));
    let flushes = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(THREADS + METRIC_THREADS + 1));

    // One exporter shared by threads 6 and 7.
    let mut shared = library.span_exporter();
    shared.set_resource(&Resource::builder_empty().with_service_name("shared").build());
    let shared = Arc::new(shared);

    let flusher = {
        let (library, done, flushes, start) = (library.clone(), done.clone(), flushes.clone(), start.clone());
        std::thread::spawn(move || {
            start.wait();
            loop {
                library.flush().expect("concurrent flush");
                flushes.fetch_add(1, Ordering::Relaxed);
                if done.load(Ordering::Acquire) {
                    break;
                }
            }
        })
    };

    let mut span_threads = Vec::new();
    for t in 0..THREADS {
        let (library, shared, start) = (library.clone(), shared.clone(), start.clone());
        span_threads.push(std::thread::spawn(move || -> Vec<String> {
            let mut ids = Vec::new();
            match t {
                // A tracer provider with a simple exporter per thread.
                0..=2 => {
                    let provider = SdkTracerProvider::builder()
                        .with_simple_exporter(library.span_exporter())
                        .with_resource(Resource::builder_empty().with_service_name(format!("provider-{t}")).build())
                        .build();
                    let tracer = provider.tracer("concurrency");
                    start.wait();
                    for i in 0..SPANS_PER_THREAD {
                        let mut span = tracer
                            .span_builder(format!("provider {t}/{i}"))
                            .with_attributes(span_attributes(t, i))
                            .start(&tracer);
                        ids.push(span.span_context().span_id().to_string());
                        span.end();
                        if i == SPANS_PER_THREAD / 2 {
                            library.flush().expect("mid-way flush");
                        }
                    }
                    // Flushes the library while the other threads still export.
                    provider.shutdown().expect("provider shutdown");
                }
                // Direct `SpanExporter::export` calls on an exporter of its own.
                3..=5 => {
                    let mut exporter = library.span_exporter();
                    exporter.set_resource(&Resource::builder_empty().with_service_name(format!("direct-{t}")).build());
                    start.wait();
                    for chunk in (0..SPANS_PER_THREAD).collect::<Vec<_>>().chunks(25) {
                        let batch: Vec<SpanData> = chunk.iter().map(|&i| span_data(t, i)).collect();
                        ids.extend(batch.iter().map(|s| s.span_context.span_id().to_string()));
                        block_on(exporter.export(batch)).expect("direct export");
                    }
                    exporter.shutdown().expect("exporter shutdown");
                }
                // Two threads sharing one exporter.
                _ => {
                    start.wait();
                    for chunk in (0..SPANS_PER_THREAD).collect::<Vec<_>>().chunks(10) {
                        let batch: Vec<SpanData> = chunk.iter().map(|&i| span_data(t, i)).collect();
                        ids.extend(batch.iter().map(|s| s.span_context.span_id().to_string()));
                        block_on(shared.export(batch)).expect("shared export");
                    }
                }
            }
            ids
        }));
    }

    let mut metric_threads = Vec::new();
    for m in 0..METRIC_THREADS {
        let (library, start) = (library.clone(), start.clone());
        metric_threads.push(std::thread::spawn(move || {
            start.wait();
            let mut accepted = 0;
            for batch in 0..METRIC_BATCHES {
                accepted += library.export_otlp_metrics(&gauge_request(m, batch, POINTS_PER_BATCH)).expect("metrics");
            }
            accepted
        }));
    }

    let mut expected: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (t, handle) in span_threads.into_iter().enumerate() {
        let service = match t {
            0..=2 => format!("provider-{t}"),
            3..=5 => format!("direct-{t}"),
            _ => "shared".to_owned(),
        };
        let ids = handle.join().expect("span thread");
        assert_eq!(ids.len(), SPANS_PER_THREAD);
        for id in ids {
            assert!(expected.insert(id, (t, service.clone())).is_none(), "duplicate span id");
        }
    }
    let accepted: usize = metric_threads.into_iter().map(|h| h.join().expect("metric thread")).sum();
    assert_eq!(accepted, METRIC_THREADS * METRIC_BATCHES * POINTS_PER_BATCH);
    done.store(true, Ordering::Release);
    flusher.join().expect("flusher");
    assert!(flushes.load(Ordering::Relaxed) >= 1);
    library.shutdown().expect("library shutdown");

    // Every span exactly once, with its attributes and resource intact.
    let spans = stored_spans(dir.path());
    assert_eq!(spans.len(), THREADS * SPANS_PER_THREAD);
    let by_id = check_spans(&spans);
    assert_eq!(by_id.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (id, (t, service)) in &expected {
        let s = &by_id[id];
        assert_eq!(&s.thread, &t.to_string(), "span {id}");
        assert_eq!(&s.service, service, "span {id}");
    }
    let direct: BTreeSet<_> =
        spans.iter().filter(|s| s.service.starts_with("direct") || s.service == "shared").collect();
    for s in direct {
        let (t, i): (usize, usize) = (s.thread.parse().expect("int"), s.seq.parse().expect("int"));
        assert_eq!(s.span_id, hex(&span_id(0, t, i)));
    }

    // Every metric point exactly once with its value.
    let mut points = BTreeMap::new();
    for b in StoreReader::new(dir.path()).read_batches(Table::MetricsGauge).expect("gauges") {
        let col = |name: &str| b.column_by_name(name).unwrap_or_else(|| panic!("missing {name}"));
        let values = col("Value").as_primitive::<Float64Type>();
        let ints = col("IntValue").as_primitive::<Int64Type>();
        let services = col("ServiceName").as_string::<i32>();
        for row in 0..b.num_rows() {
            let thread: usize = map_get(col("Attributes"), row, "thread").expect("thread").parse().expect("int");
            let seq: usize = map_get(col("Attributes"), row, "seq").expect("seq").parse().expect("int");
            assert_eq!(values.value(row), metric_value(thread, seq));
            assert!(ints.is_null(row));
            assert_eq!(services.value(row), format!("metrics-{thread}"));
            assert!(points.insert((thread, seq), ()).is_none(), "point {thread}/{seq} stored twice");
        }
    }
    assert_eq!(points.len(), METRIC_THREADS * METRIC_BATCHES * POINTS_PER_BATCH);
    for table in [Table::MetricsSum, Table::MetricsHistogram, Table::MetricsExponentialHistogram, Table::MetricsSummary]
    {
        assert!(StoreReader::new(dir.path()).files(table).expect("files").is_empty(), "{table}");
    }

    // The mid-way flushes put the first half of some threads on disk before their second half
    // was exported, and files are never appended to: there is more than one traces file.
    let files = StoreReader::new(dir.path()).files(Table::Traces).expect("files");
    assert!(files.len() >= 2, "{files:?}");
    assert!(data_files(dir.path()).iter().all(|p| !p.to_string_lossy().ends_with(".tmp")));
}

/// Two libraries (two processes) writing into the same directory at the same time: no file is
/// overwritten and every row of both is there.
#[test]
fn two_libraries_share_one_directory() {
    const PER_THREAD: usize = 400;
    const THREADS_PER_LIBRARY: usize = 3;
    let dir = tempfile::tempdir().expect("tempdir");
    let libraries = [library(dir.path(), 50), library(dir.path(), 50)];
    let start = Arc::new(Barrier::new(2 * THREADS_PER_LIBRARY));

    let mut handles = Vec::new();
    for (process, library) in libraries.iter().enumerate() {
        for thread in 0..THREADS_PER_LIBRARY {
            let (library, start) = (library.clone(), start.clone());
            handles.push(std::thread::spawn(move || {
                start.wait();
                let mut accepted = 0;
                for first in (0..PER_THREAD).step_by(20) {
                    accepted += library.export_otlp_traces(&otlp_traces(process, thread, first, 20)).expect("export");
                    if first == PER_THREAD / 2 {
                        library.flush().expect("flush");
                    }
                }
                accepted
            }));
        }
    }
    let accepted: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    assert_eq!(accepted, 2 * THREADS_PER_LIBRARY * PER_THREAD);

    // Shut both down at the same time.
    let shutdowns: Vec<_> = libraries
        .iter()
        .map(|l| {
            let l = l.clone();
            std::thread::spawn(move || l.shutdown())
        })
        .collect();
    for s in shutdowns {
        s.join().expect("shutdown thread").expect("shutdown");
    }

    let spans = stored_spans(dir.path());
    assert_eq!(spans.len(), 2 * THREADS_PER_LIBRARY * PER_THREAD);
    let by_id = check_spans(&spans);
    for process in 0..2 {
        for thread in 0..THREADS_PER_LIBRARY {
            for seq in 0..PER_THREAD {
                let s = &by_id[&hex(&span_id(process, thread, seq))];
                assert_eq!(s.service, format!("process-{process}"));
                assert_eq!(
                    (s.thread.as_str(), s.seq.as_str()),
                    (thread.to_string().as_str(), seq.to_string().as_str())
                );
            }
        }
    }
    let files = StoreReader::new(dir.path()).files(Table::Traces).expect("files");
    let names: BTreeSet<_> = files.iter().map(|p| p.file_name().expect("name").to_owned()).collect();
    assert_eq!(names.len(), files.len(), "file names are unique across partitions too");
    assert!(files.len() >= 2 * 2, "each library wrote before and after its mid-way flush: {files:?}");
    assert!(data_files(dir.path()).iter().all(|p| !p.to_string_lossy().ends_with(".tmp")));
}

/// Shutdown while other threads keep exporting: every export either is accepted and stored,
/// or fails with `AlreadyShutdown`; nothing accepted is lost.
#[test]
fn shutdown_racing_exports_loses_nothing_accepted() {
    const THREADS: usize = 6;
    let dir = tempfile::tempdir().expect("tempdir");
    let library = library(dir.path(), 64);
    let exported_once = Arc::new(Barrier::new(THREADS + 1));

    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (library, exported_once) = (library.clone(), exported_once.clone());
            std::thread::spawn(move || {
                let exporter = library.span_exporter();
                let mut accepted = 0;
                for seq in 0.. {
                    let result = if t % 2 == 0 {
                        block_on(exporter.export(vec![span_data(t, seq)])).map(|()| 1)
                    } else {
                        library.export_otlp_traces(&otlp_traces(0, t, seq, 1)).map_err(|e| match e {
                            OtlpError::AlreadyShutdown(_) => OTelSdkError::AlreadyShutdown,
                            other => panic!("unexpected error {other}"),
                        })
                    };
                    match result {
                        Ok(n) => accepted += n,
                        Err(OTelSdkError::AlreadyShutdown) => break,
                        Err(e) => panic!("unexpected error {e}"),
                    }
                    if seq == 0 {
                        exported_once.wait();
                    }
                }
                accepted
            })
        })
        .collect();

    exported_once.wait();
    library.shutdown().expect("shutdown");
    let accepted: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    assert!(accepted >= THREADS);

    let spans = stored_spans(dir.path());
    assert_eq!(spans.len(), accepted, "every accepted span is stored, nothing else");
    check_spans(&spans);
}

/// The public types can be shared between threads.
#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<OtlpLibrary>();
    assert_send_sync::<OtlpSpanExporter>();
    assert_send_sync::<OtlpMetricExporter>();
    assert_send_sync::<Config>();
    assert_send_sync::<OtlpError>();
    assert_send_sync::<StoreReader>();
}
