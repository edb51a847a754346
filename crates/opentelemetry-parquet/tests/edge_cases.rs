//! Edge cases of [`OtlpLibrary`]: empty input, exports after shutdown, flush and shutdown
//! timeouts, backpressure at the buffer cap, failed writes and their retry, malformed protobuf,
//! unusable output directories and invalid configuration, flush on drop, the Arrow IPC format,
//! background flushes (interval and row threshold) and readers that must never see partial files.
//! Retention has its own tests (`tests/retention.rs`).
//!
//! Tests run as root, so write failures are provoked with path tricks instead of permissions: a
//! regular file named `traces` inside the output directory makes `<dir>/traces/date=...`
//! impossible to create until it is removed.
//!
// `KeyValue { .., ..Default::default() }`: opentelemetry-proto 0.32's KeyValue has a field
// (`key_strindex`) that 0.31's lacks, so the update is needed with one and not the other.
#![allow(clippy::needless_update)]

mod common;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{any_value, AnyValue, InstrumentationScope as ProtoScope};
use opentelemetry_parquet::proto::common::v1::{ArrayValue, KeyValue as ProtoKeyValue};
use opentelemetry_parquet::proto::metrics::v1::{metric, number_data_point, AggregationTemporality, Gauge, Sum};
use opentelemetry_parquet::proto::metrics::v1::{
    Metric, NumberDataPoint, ResourceMetrics as ProtoResourceMetrics, ScopeMetrics,
};
use opentelemetry_parquet::proto::resource::v1::Resource as ProtoResource;
use opentelemetry_parquet::proto::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status as ProtoStatus};
use opentelemetry_parquet::{
    Compression, Config, ConfigBuilder, OtlpError, OtlpLibrary, StorageFormat, StoreReader, Table,
};
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use prost::Message as _;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const DAY: Duration = Duration::from_secs(86_400);

/// Span ids unique across the whole test binary, so every span can be recognised on read-back.
fn fresh_ids(n: usize) -> Vec<u64> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    (0..n).map(|_| NEXT.fetch_add(1, Ordering::Relaxed)).collect()
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn now_nanos() -> u64 {
    nanos(SystemTime::now())
}

/// A builder writing into `dir` whose interval flush never fires during a test.
fn builder(dir: &Path) -> ConfigBuilder {
    Config::builder().output_dir(dir).flush_interval(Duration::from_secs(3600))
}

fn library(dir: &Path) -> OtlpLibrary {
    OtlpLibrary::new(builder(dir).build().unwrap()).unwrap()
}

fn otlp_span(id: u64, start: u64) -> Span {
    Span {
        trace_id: (id as u128).to_be_bytes().to_vec(),
        span_id: id.to_be_bytes().to_vec(),
        name: format!("otlp-{id}"),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 1_000,
        attributes: vec![
            ProtoKeyValue {
                key: "id".into(),
                value: Some(AnyValue { value: Some(any_value::Value::IntValue(id as i64)) }),
                ..Default::default()
            },
            ProtoKeyValue {
                key: "tags".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::ArrayValue(ArrayValue {
                        values: vec![
                            AnyValue { value: Some(any_value::Value::StringValue("a".into())) },
                            AnyValue { value: Some(any_value::Value::DoubleValue(1.5)) },
                        ],
                    })),
                }),
                ..Default::default()
            },
        ],
        events: vec![span::Event {
            time_unix_nano: start + 500,
            name: "checkpoint".into(),
            attributes: vec![ProtoKeyValue {
                key: "ok".into(),
                value: Some(AnyValue { value: Some(any_value::Value::BoolValue(true)) }),
                ..Default::default()
            }],
            dropped_attributes_count: 0,
        }],
        status: Some(ProtoStatus { message: "fine".into(), code: status::StatusCode::Ok as i32 }),
        ..Default::default()
    }
}

/// An OTLP request with one span per id, all starting at `start` (nanoseconds since the epoch).
fn otlp_traces(ids: &[u64], start: u64) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(ProtoResource {
                attributes: vec![ProtoKeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue { value: Some(any_value::Value::StringValue("edge-cases".into())) }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(ProtoScope { name: "edge-scope".into(), version: "1.0".into(), ..Default::default() }),
                spans: ids.iter().map(|&id| otlp_span(id, start)).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn sdk_span(id: u64) -> SpanData {
    let start = SystemTime::now();
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(id as u128),
            SpanId::from(id),
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
        attributes: vec![KeyValue::new("id", id as i64)],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Ok,
        instrumentation_scope: InstrumentationScope::builder("edge-sdk-scope").build(),
    }
}

fn sdk_spans(ids: &[u64]) -> Vec<SpanData> {
    ids.iter().map(|&id| sdk_span(id)).collect()
}

/// An OTLP request with one gauge data point and one sum data point per value.
fn otlp_metrics(values: &[f64], time: u64) -> ExportMetricsServiceRequest {
    let points: Vec<NumberDataPoint> = values
        .iter()
        .map(|&v| NumberDataPoint {
            time_unix_nano: time,
            start_time_unix_nano: time - 1_000,
            value: Some(number_data_point::Value::AsDouble(v)),
            attributes: vec![ProtoKeyValue {
                key: "v".into(),
                value: Some(AnyValue { value: Some(any_value::Value::DoubleValue(v)) }),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ProtoResourceMetrics {
            resource: Some(ProtoResource::default()),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(ProtoScope { name: "edge-meter".into(), ..Default::default() }),
                metrics: vec![
                    Metric {
                        name: "edge.gauge".into(),
                        unit: "1".into(),
                        data: Some(metric::Data::Gauge(Gauge { data_points: points.clone() })),
                        ..Default::default()
                    },
                    Metric {
                        name: "edge.sum".into(),
                        data: Some(metric::Data::Sum(Sum {
                            data_points: points,
                            aggregation_temporality: AggregationTemporality::Cumulative as i32,
                            is_monotonic: true,
                        })),
                        ..Default::default()
                    },
                ],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// Ids of every stored span, sorted (duplicates kept, so they can be detected).
fn stored_span_ids(dir: &Path) -> Vec<u64> {
    let request = StoreReader::new(dir).read_traces().unwrap();
    let mut ids: Vec<u64> = request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|s| u64::from_be_bytes(s.span_id.as_slice().try_into().expect("8-byte span id")))
        .collect();
    ids.sort_unstable();
    ids
}

fn sorted(ids: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut v: Vec<u64> = ids.into_iter().collect();
    v.sort_unstable();
    v
}

/// Stored metric data points over all metric tables.
fn stored_metric_points(dir: &Path) -> usize {
    common::data_points(&StoreReader::new(dir).read_metrics().unwrap())
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let reader = StoreReader::new(dir);
    Table::ALL.iter().flat_map(|&t| reader.files(t).unwrap()).collect()
}

/// Every regular file under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Drives an exporter future. The exporters of this crate return already-completed futures.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("exporter futures are expected to be ready immediately"),
    }
}

/// Polls `condition` for up to 10 s (a liveness check, not a timing assertion).
fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Makes every write of the `traces` table fail: `<dir>/traces` becomes a regular file.
fn block_traces(dir: &Path) -> PathBuf {
    let blocker = dir.join("traces");
    assert!(!blocker.exists(), "block_traces must run before the first traces write");
    std::fs::write(&blocker, b"not a directory").unwrap();
    blocker
}

// ---------------------------------------------------------------------------------------------
// Empty input
// ---------------------------------------------------------------------------------------------

#[test]
fn empty_resource_metrics_are_accepted_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    let empty = ResourceMetrics::default();

    assert_eq!(lib.export_metrics_ref(&empty).unwrap(), 0);
    assert_eq!(lib.export_metrics(ResourceMetrics::default()).unwrap(), 0);
    let exporter = lib.metric_exporter();
    ready(exporter.export(&empty)).unwrap();
    exporter.force_flush().unwrap();
    lib.flush().unwrap();
    lib.shutdown().unwrap();

    assert!(all_files(tmp.path()).is_empty());
    assert!(walk(tmp.path()).is_empty(), "nothing at all is written: {:?}", walk(tmp.path()));
    assert!(StoreReader::new(tmp.path()).read_metrics().unwrap().resource_metrics.is_empty());
}

#[test]
fn empty_trace_requests_are_accepted_with_zero_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());

    assert_eq!(lib.export_otlp_traces(&ExportTraceServiceRequest::default()).unwrap(), 0);
    // A resource and a scope without spans is empty too.
    assert_eq!(lib.export_otlp_traces(&otlp_traces(&[], now_nanos())).unwrap(), 0);
    assert_eq!(lib.export_otlp_traces_bytes(&[]).unwrap(), 0, "zero bytes are a valid empty request");
    assert_eq!(lib.export_traces(Vec::<SpanData>::new()).unwrap(), 0);
    lib.flush().unwrap();

    assert!(walk(tmp.path()).is_empty(), "nothing at all is written: {:?}", walk(tmp.path()));
    assert!(StoreReader::new(tmp.path()).read_traces().unwrap().resource_spans.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------------

fn assert_already_shutdown<T: std::fmt::Debug>(what: &str, result: Result<T, OtlpError>) {
    match result {
        Err(OtlpError::AlreadyShutdown(_)) => {}
        other => panic!("{what}: expected AlreadyShutdown, got {other:?}"),
    }
}

#[test]
fn every_export_fails_after_shutdown_and_accepted_data_is_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    let span_exporter = lib.span_exporter();
    let metric_exporter = lib.metric_exporter();

    let otlp_ids = fresh_ids(3);
    let sdk_ids = fresh_ids(2);
    let exporter_ids = fresh_ids(2);
    assert_eq!(lib.export_otlp_traces(&otlp_traces(&otlp_ids, now_nanos())).unwrap(), 3);
    assert_eq!(lib.export_traces(sdk_spans(&sdk_ids)).unwrap(), 2);
    ready(span_exporter.export(sdk_spans(&exporter_ids))).unwrap();
    assert_eq!(lib.export_otlp_metrics(&otlp_metrics(&[1.0, 2.0], now_nanos())).unwrap(), 4);

    lib.shutdown().unwrap();
    assert!(lib.is_shutdown());

    let ids = fresh_ids(1);
    let resource = opentelemetry_sdk::Resource::builder().with_service_name("late").build();
    let traces = otlp_traces(&ids, now_nanos());
    let metrics = otlp_metrics(&[3.0], now_nanos());
    assert_already_shutdown("export_traces", lib.export_traces(sdk_spans(&ids)));
    assert_already_shutdown("export_traces_with_resource", lib.export_traces_with_resource(sdk_spans(&ids), &resource));
    assert_already_shutdown("export_metrics", lib.export_metrics(ResourceMetrics::default()));
    assert_already_shutdown("export_metrics_ref", lib.export_metrics_ref(&ResourceMetrics::default()));
    assert_already_shutdown("export_otlp_traces", lib.export_otlp_traces(&traces));
    assert_already_shutdown("export_otlp_metrics", lib.export_otlp_metrics(&metrics));
    assert_already_shutdown("export_otlp_traces_bytes", lib.export_otlp_traces_bytes(&traces.encode_to_vec()));
    assert_already_shutdown("export_otlp_metrics_bytes", lib.export_otlp_metrics_bytes(&metrics.encode_to_vec()));
    // The SDK exporters (created before the shutdown, never shut down themselves).
    assert!(matches!(ready(span_exporter.export(sdk_spans(&ids))), Err(OTelSdkError::AlreadyShutdown)));
    assert!(matches!(ready(metric_exporter.export(&ResourceMetrics::default())), Err(OTelSdkError::AlreadyShutdown)));
    assert!(matches!(OTelSdkError::from(OtlpError::AlreadyShutdown("x")), OTelSdkError::AlreadyShutdown));

    // Idempotent.
    lib.shutdown().unwrap();
    lib.shutdown_with_timeout(Duration::ZERO).unwrap();
    assert!(lib.is_shutdown());

    let expected = sorted(otlp_ids.iter().chain(&sdk_ids).chain(&exporter_ids).copied());
    assert_eq!(stored_span_ids(tmp.path()), expected);
    assert_eq!(stored_metric_points(tmp.path()), 4);
}

#[test]
fn exporters_created_after_shutdown_fail_with_already_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    lib.shutdown().unwrap();

    let span_exporter = lib.span_exporter();
    let metric_exporter = lib.metric_exporter();
    assert_eq!(opentelemetry_parquet::Temporality::from(metric_exporter.temporality()), lib.config().temporality());
    assert!(matches!(ready(span_exporter.export(sdk_spans(&fresh_ids(2)))), Err(OTelSdkError::AlreadyShutdown)));
    assert!(matches!(ready(metric_exporter.export(&ResourceMetrics::default())), Err(OTelSdkError::AlreadyShutdown)));
    assert!(all_files(tmp.path()).is_empty());
}

#[test]
fn exporter_shutdown_flushes_but_keeps_the_library_running() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    #[allow(unused_mut)] // SDK 0.31's `SpanExporter::shutdown` takes `&mut self`, 0.32's `&self`
    let mut first = lib.span_exporter();
    let second = lib.span_exporter();
    let metric_exporter = lib.metric_exporter();

    let first_ids = fresh_ids(3);
    ready(first.export(sdk_spans(&first_ids))).unwrap();
    first.shutdown().unwrap();
    // Flushed: on disk without any library flush.
    assert_eq!(stored_span_ids(tmp.path()), sorted(first_ids.clone()));
    assert!(!lib.is_shutdown());

    // The shut-down exporter refuses; everything else still works.
    assert!(matches!(ready(first.export(sdk_spans(&fresh_ids(1)))), Err(OTelSdkError::AlreadyShutdown)));
    let second_ids = fresh_ids(2);
    ready(second.export(sdk_spans(&second_ids))).unwrap();
    let lib_ids = fresh_ids(2);
    assert_eq!(lib.export_otlp_traces(&otlp_traces(&lib_ids, now_nanos())).unwrap(), 2);
    ready(metric_exporter.export(&ResourceMetrics::default())).unwrap();

    // A metric exporter's shutdown flushes the library too, and also leaves it running.
    metric_exporter.shutdown().unwrap();
    assert!(!lib.is_shutdown());
    assert!(matches!(ready(metric_exporter.export(&ResourceMetrics::default())), Err(OTelSdkError::AlreadyShutdown)));
    let expected = sorted(first_ids.iter().chain(&second_ids).chain(&lib_ids).copied());
    assert_eq!(stored_span_ids(tmp.path()), expected);

    let last_ids = fresh_ids(1);
    ready(second.export(sdk_spans(&last_ids))).unwrap();
    lib.shutdown().unwrap();
    assert_eq!(stored_span_ids(tmp.path()), sorted(expected.into_iter().chain(last_ids)));
}

// ---------------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------------

#[test]
fn flush_timeout_keeps_the_data_and_a_later_flush_writes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    let ids = fresh_ids(7);
    lib.export_otlp_traces(&otlp_traces(&ids, now_nanos())).unwrap();

    let err = lib.flush_with_timeout(Duration::ZERO).unwrap_err();
    assert!(
        matches!(&err, OtlpError::Timeout { operation: "flush", timeout } if timeout.is_zero()),
        "expected a flush timeout, got {err:?}"
    );
    assert!(err.to_string().contains("flush timed out"), "{err}");
    assert!(matches!(OTelSdkError::from(err), OTelSdkError::Timeout(d) if d.is_zero()));

    lib.flush().unwrap();
    assert_eq!(stored_span_ids(tmp.path()), ids);
    // Written once: another flush adds nothing.
    lib.flush().unwrap();
    assert_eq!(stored_span_ids(tmp.path()), ids);
}

#[test]
fn shutdown_timeout_keeps_the_data_and_a_later_shutdown_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    let ids = fresh_ids(7);
    lib.export_otlp_traces(&otlp_traces(&ids, now_nanos())).unwrap();

    let err = lib.shutdown_with_timeout(Duration::ZERO).unwrap_err();
    assert!(
        matches!(&err, OtlpError::Timeout { operation: "shutdown", timeout } if timeout.is_zero()),
        "expected a shutdown timeout, got {err:?}"
    );
    assert!(matches!(OTelSdkError::from(err), OTelSdkError::Timeout(d) if d.is_zero()));
    // Shut down for new data all the same.
    assert!(lib.is_shutdown());
    assert_already_shutdown("export after timed-out shutdown", lib.export_otlp_traces(&otlp_traces(&[], 1)));

    // The writer finishes in the background.
    eventually("the buffered spans to land", || stored_span_ids(tmp.path()) == ids);
    lib.shutdown().unwrap();
    assert_eq!(stored_span_ids(tmp.path()), ids);
}

// ---------------------------------------------------------------------------------------------
// Backpressure and write failures
// ---------------------------------------------------------------------------------------------

#[test]
fn buffer_cap_rejects_exports_without_losing_accepted_spans() {
    const CAP: usize = 4 << 20;
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(
        builder(tmp.path())
            .flush_bytes(16 * 1024)
            .max_buffer_bytes(CAP)
            .export_timeout(Duration::from_millis(200))
            .build()
            .unwrap(),
    )
    .unwrap();
    let blocker = block_traces(tmp.path());
    let blocked_dir = blocker.display().to_string();

    // One failed write up front, so the writer's last error is known whatever its timing; every
    // later write attempt retries this chunk and fails the same way.
    let mut accepted = fresh_ids(5);
    lib.export_otlp_traces(&otlp_traces(&accepted, now_nanos())).unwrap();
    let failed = lib.flush_with_timeout(Duration::from_secs(30));
    assert!(matches!(failed, Err(OtlpError::FlushFailed { rows: 5, .. })), "{failed:?}");

    let mut full = None;
    for _ in 0..2_000 {
        let ids = fresh_ids(5);
        match lib.export_otlp_traces(&otlp_traces(&ids, now_nanos())) {
            Ok(rows) => {
                assert_eq!(rows, 5);
                accepted.extend(ids);
            }
            Err(err) => {
                full = Some((err, ids));
                break;
            }
        }
    }
    let (err, rejected) = full.expect("the buffer never filled up");
    assert!(accepted.len() > 5, "exports fit while failed chunks accumulate below the cap");
    match &err {
        OtlpError::BufferFull { buffered_bytes, cap_bytes, last_error, .. } => {
            assert_eq!(*cap_bytes, CAP);
            // Exports are refused before they would take the buffer past its cap.
            assert!(*buffered_bytes <= CAP, "{err}");
            assert!(*buffered_bytes > CAP / 2, "{err}");
            assert!(last_error.contains(&blocked_dir), "the last write error names the path: {last_error}");
        }
        other => panic!("expected BufferFull, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(&CAP.to_string()), "{message}");
    assert!(message.contains(&blocked_dir), "{message}");

    // The SDK path reports the same condition as an internal failure.
    // (A batch larger than the room that is left: exports stop short of the cap.)
    match ready(lib.span_exporter().export(sdk_spans(&fresh_ids(100)))) {
        Err(OTelSdkError::InternalFailure(m)) => assert!(m.contains("buffer full"), "{m}"),
        other => panic!("expected InternalFailure(buffer full), got {other:?}"),
    }

    std::fs::remove_file(&blocker).unwrap();
    lib.flush_with_timeout(Duration::from_secs(30)).unwrap();
    let stored = stored_span_ids(tmp.path());
    assert_eq!(stored, sorted(accepted.clone()), "every accepted span is stored exactly once");
    assert!(rejected.iter().all(|id| stored.binary_search(id).is_err()), "rejected spans are not stored");

    // Room again.
    let after = fresh_ids(2);
    lib.export_otlp_traces(&otlp_traces(&after, now_nanos())).unwrap();
    lib.flush_with_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(stored_span_ids(tmp.path()), sorted(accepted.into_iter().chain(after)));
}

#[test]
fn failed_flush_keeps_the_rows_and_the_retry_writes_each_once() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    let blocker = block_traces(tmp.path());
    let blocked_dir = blocker.display().to_string();

    let otlp_ids = fresh_ids(6);
    let sdk_ids = fresh_ids(6);
    lib.export_otlp_traces(&otlp_traces(&otlp_ids, now_nanos())).unwrap();
    lib.export_traces(sdk_spans(&sdk_ids)).unwrap();

    for attempt in 0..2 {
        let err = lib.flush().unwrap_err();
        match &err {
            OtlpError::FlushFailed { rows, message } => {
                assert_eq!(*rows, 12, "attempt {attempt}: {err}");
                assert!(message.contains(&blocked_dir), "attempt {attempt}: the message names the path: {message}");
            }
            other => panic!("attempt {attempt}: expected FlushFailed, got {other:?}"),
        }
        match OTelSdkError::from(err) {
            OTelSdkError::InternalFailure(m) => assert!(m.contains(&blocked_dir), "{m}"),
            other => panic!("expected InternalFailure, got {other:?}"),
        }
    }
    // Still accepting while writes fail (the buffer is far from its cap).
    let late_ids = fresh_ids(3);
    lib.export_otlp_traces(&otlp_traces(&late_ids, now_nanos())).unwrap();

    std::fs::remove_file(&blocker).unwrap();
    lib.flush().unwrap();
    let expected = sorted(otlp_ids.iter().chain(&sdk_ids).chain(&late_ids).copied());
    assert_eq!(stored_span_ids(tmp.path()), expected, "every row exactly once");
    lib.flush().unwrap();
    assert_eq!(stored_span_ids(tmp.path()), expected, "the retry is not repeated");
    assert!(
        walk(tmp.path()).iter().all(|p| !file_name(p).ends_with(".tmp")),
        "no temporary files are left behind: {:?}",
        walk(tmp.path())
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed input and bad configuration
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_protobuf_is_rejected_and_nothing_of_it_is_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    let before = fresh_ids(3);
    lib.export_otlp_traces(&otlp_traces(&before, now_nanos())).unwrap();

    let truncated_ids = fresh_ids(2);
    let mut truncated = otlp_traces(&truncated_ids, now_nanos()).encode_to_vec();
    truncated.pop();
    for bytes in [&b"\xff\xff\xff"[..], &truncated[..]] {
        match lib.export_otlp_traces_bytes(bytes) {
            Err(err @ OtlpError::Decode { message: "ExportTraceServiceRequest", .. }) => {
                assert!(err.to_string().contains("ExportTraceServiceRequest"), "{err}");
            }
            other => panic!("expected a Decode error for {bytes:?}, got {other:?}"),
        }
    }
    let mut truncated_metrics = otlp_metrics(&[9.0], now_nanos()).encode_to_vec();
    truncated_metrics.pop();
    for bytes in [&b"\xff\xff\xff"[..], &truncated_metrics[..]] {
        match lib.export_otlp_metrics_bytes(bytes) {
            Err(err @ OtlpError::Decode { message: "ExportMetricsServiceRequest", .. }) => {
                assert!(err.to_string().contains("ExportMetricsServiceRequest"), "{err}");
            }
            other => panic!("expected a Decode error for {bytes:?}, got {other:?}"),
        }
    }

    let valid_ids = fresh_ids(2);
    assert_eq!(lib.export_otlp_traces_bytes(&otlp_traces(&valid_ids, now_nanos()).encode_to_vec()).unwrap(), 2);
    assert_eq!(lib.export_otlp_metrics_bytes(&otlp_metrics(&[1.0, 2.0, 3.0], now_nanos()).encode_to_vec()).unwrap(), 6);
    lib.flush().unwrap();

    let stored = stored_span_ids(tmp.path());
    assert_eq!(stored, sorted(before.into_iter().chain(valid_ids)));
    assert!(truncated_ids.iter().all(|id| stored.binary_search(id).is_err()));
    assert_eq!(stored_metric_points(tmp.path()), 6, "only the valid metrics request is stored");
}

#[test]
fn unusable_output_dir_is_reported_by_new() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("afile");
    std::fs::write(&file, b"in the way").unwrap();

    for target in [file.join("sub"), file.join("sub").join("deeper"), file.clone()] {
        let config = builder(&target).build().unwrap();
        match OtlpLibrary::new(config) {
            Err(err @ OtlpError::OutputDir { .. }) => {
                let OtlpError::OutputDir { path, .. } = &err else { unreachable!() };
                assert_eq!(path, &target);
                assert!(err.to_string().contains(&target.display().to_string()), "{err}");
                match OTelSdkError::from(err) {
                    OTelSdkError::InternalFailure(m) => assert!(m.contains(&target.display().to_string()), "{m}"),
                    other => panic!("expected InternalFailure, got {other:?}"),
                }
            }
            other => panic!("{}: expected OutputDir, got {other:?}", target.display()),
        }
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"in the way", "the file in the way is untouched");
}

#[test]
fn invalid_config_names_the_field() {
    let cases = [
        (Config::builder().flush_rows(0), "flush_rows"),
        (Config::builder().flush_bytes(1_000).max_buffer_bytes(999), "max_buffer_bytes"),
        (Config::builder().format(StorageFormat::ArrowIpc).compression(Compression::Snappy), "compression"),
        (Config::builder().format(StorageFormat::ArrowIpc).compression(Compression::Gzip), "compression"),
    ];
    for (builder, field) in cases {
        match builder.build() {
            Err(err @ OtlpError::InvalidConfig { .. }) => {
                let OtlpError::InvalidConfig { field: f, .. } = &err else { unreachable!() };
                assert_eq!(f, field);
                assert!(err.to_string().contains(field), "{err}");
            }
            other => panic!("{field}: expected InvalidConfig, got {other:?}"),
        }
    }
    // The boundaries are accepted.
    Config::builder().flush_bytes(1_000).max_buffer_bytes(1_000).build().unwrap();
    Config::builder().flush_rows(1).build().unwrap();
    Config::builder().format(StorageFormat::ArrowIpc).compression(Compression::Lz4).build().unwrap();
    Config::builder().format(StorageFormat::ArrowIpc).compression(Compression::None).build().unwrap();
}

// ---------------------------------------------------------------------------------------------
// Drop, formats
// ---------------------------------------------------------------------------------------------

#[test]
fn dropping_every_handle_flushes() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    let clone = lib.clone();
    let span_exporter = lib.span_exporter();
    let metric_exporter = lib.metric_exporter();

    let otlp_ids = fresh_ids(4);
    let exporter_ids = fresh_ids(3);
    lib.export_otlp_traces(&otlp_traces(&otlp_ids, now_nanos())).unwrap();
    ready(span_exporter.export(sdk_spans(&exporter_ids))).unwrap();
    clone.export_otlp_metrics(&otlp_metrics(&[1.0, 2.0], now_nanos())).unwrap();
    ready(metric_exporter.export(&ResourceMetrics::default())).unwrap();

    drop(lib);
    drop(span_exporter);
    drop(metric_exporter);
    // One handle left: nothing flushed yet (thresholds and interval are far away).
    assert!(all_files(tmp.path()).is_empty());
    drop(clone);

    assert!(!all_files(tmp.path()).is_empty());
    assert_eq!(stored_span_ids(tmp.path()), sorted(otlp_ids.into_iter().chain(exporter_ids)));
    assert_eq!(stored_metric_points(tmp.path()), 4);
}

#[test]
fn arrow_ipc_reads_back_like_parquet() {
    let start = now_nanos();
    let ids = fresh_ids(5);
    let traces = otlp_traces(&ids, start);
    let old_traces = otlp_traces(&fresh_ids(2), start - 2 * DAY.as_nanos() as u64);
    let metrics = otlp_metrics(&[0.5, -1.0, 1e300], start);
    let sdk = sdk_spans(&fresh_ids(3));
    // One resource instance for both formats: the SDK keeps attributes in a hash map, so two
    // instances can iterate them in different orders (see `sdk_resource_attributes_are_stored_in_a_stable_order`).
    let resource = opentelemetry_sdk::Resource::builder().with_service_name("edge-sdk").build();

    let write = |format: StorageFormat, compression: Compression| {
        let tmp = tempfile::tempdir().unwrap();
        let lib =
            OtlpLibrary::new(builder(tmp.path()).format(format).compression(compression).build().unwrap()).unwrap();
        lib.export_otlp_traces(&traces).unwrap();
        lib.export_otlp_traces(&old_traces).unwrap();
        lib.export_traces_with_resource(sdk.clone(), &resource).unwrap();
        lib.export_otlp_metrics(&metrics).unwrap();
        lib.shutdown().unwrap();
        tmp
    };
    let parquet = write(StorageFormat::Parquet, Compression::Zstd);
    let reference_traces = StoreReader::new(parquet.path()).read_traces().unwrap();
    let reference_metrics = StoreReader::new(parquet.path()).read_metrics().unwrap();
    assert_eq!(stored_span_ids(parquet.path()).len(), 10);
    assert!(all_files(parquet.path()).iter().all(|p| p.extension().is_some_and(|e| e == "parquet")));

    for compression in [Compression::Zstd, Compression::Lz4, Compression::None] {
        let arrow = write(StorageFormat::ArrowIpc, compression);
        let files = all_files(arrow.path());
        assert_eq!(files.len(), all_files(parquet.path()).len(), "{compression:?}");
        assert!(
            files.iter().all(|p| p.extension().is_some_and(|e| e == "arrow")),
            "{compression:?}: every file ends in .arrow: {files:?}"
        );
        let reader = StoreReader::new(arrow.path());
        assert_eq!(reader.read_traces().unwrap(), reference_traces, "{compression:?}");
        assert_eq!(reader.read_metrics().unwrap(), reference_metrics, "{compression:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Background flushes
// ---------------------------------------------------------------------------------------------

#[test]
fn interval_flush_writes_without_an_explicit_flush() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(
        Config::builder().output_dir(tmp.path()).flush_interval(Duration::from_millis(50)).build().unwrap(),
    )
    .unwrap();
    let ids = fresh_ids(5);
    lib.export_otlp_traces(&otlp_traces(&ids, now_nanos())).unwrap();
    eventually("the interval flush", || stored_span_ids(tmp.path()) == ids);
    // And again for data arriving after the first interval flush.
    let more = fresh_ids(2);
    lib.export_traces(sdk_spans(&more)).unwrap();
    let all = sorted(ids.into_iter().chain(more));
    eventually("the second interval flush", || stored_span_ids(tmp.path()) == all);
}

#[test]
fn row_threshold_flush_writes_without_an_explicit_flush() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).flush_rows(10).build().unwrap()).unwrap();
    let mut ids = Vec::new();
    for _ in 0..25 {
        let id = fresh_ids(1);
        lib.export_otlp_traces(&otlp_traces(&id, now_nanos())).unwrap();
        ids.extend(id);
    }
    // Whatever the writer's timing, fewer than 10 rows can stay buffered.
    eventually("the row-threshold flushes", || stored_span_ids(tmp.path()).len() > 15);
    assert!(!all_files(tmp.path()).is_empty());
    lib.flush().unwrap();
    assert_eq!(stored_span_ids(tmp.path()), ids, "every span exactly once");
}

// ---------------------------------------------------------------------------------------------
// Readers and partial files
// ---------------------------------------------------------------------------------------------

#[test]
fn reader_skips_temporary_files() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    let ids = fresh_ids(4);
    lib.export_otlp_traces(&otlp_traces(&ids, now_nanos())).unwrap();
    lib.flush().unwrap();

    let reader = StoreReader::new(tmp.path());
    let real = reader.files(Table::Traces).unwrap();
    assert_eq!(real.len(), 1);
    let partition = real[0].parent().unwrap();
    // Writes in progress look like this: garbage under a temporary name.
    let real_name = file_name(&real[0]);
    for name in [format!(".{real_name}.x.tmp"), ".part-0000.parquet.tmp".into(), "part-0001.arrow.tmp".into()] {
        std::fs::write(partition.join(name), b"PAR1 half written").unwrap();
    }
    let other = tmp.path().join("traces/date=2001-01-01/hour=00");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join(".part-0002.parquet.tmp"), b"garbage").unwrap();

    assert_eq!(reader.files(Table::Traces).unwrap(), real);
    assert_eq!(stored_span_ids(tmp.path()), ids);
    let rows: usize = reader.read_batches(Table::Traces).unwrap().iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 4);
    lib.shutdown().unwrap();
}

#[test]
fn readers_racing_the_writer_never_see_partial_files() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).flush_rows(5).build().unwrap()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let dir = tmp.path().to_path_buf();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let reader = StoreReader::new(&dir);
            let mut reads = 0usize;
            let mut seen = 0usize;
            while !stop.load(Ordering::Acquire) {
                let request = reader.read_traces().expect("a read racing the writer failed");
                let count: usize =
                    request.resource_spans.iter().flat_map(|rs| &rs.scope_spans).map(|ss| ss.spans.len()).sum();
                assert!(count >= seen, "rows disappeared: {count} < {seen}");
                seen = count;
                reads += 1;
            }
            reads
        })
    };
    let mut ids = Vec::new();
    for _ in 0..40 {
        let batch = fresh_ids(3);
        lib.export_otlp_traces(&otlp_traces(&batch, now_nanos())).unwrap();
        ids.extend(batch);
    }
    lib.flush().unwrap();
    stop.store(true, Ordering::Release);
    let reads = reader.join().expect("the reader thread panicked");
    assert!(reads > 0);
    assert_eq!(stored_span_ids(tmp.path()), ids);
    assert!(walk(tmp.path()).iter().all(|p| !file_name(p).ends_with(".tmp")));
}

// ---------------------------------------------------------------------------------------------
// Lifecycle corner cases
// ---------------------------------------------------------------------------------------------

/// A shutdown that timed out leaves the writer running; a second `shutdown()` issued while the
/// final write may still be in progress waits for it and returns `Ok` with every row on disk.
#[test]
fn shutdown_after_a_timed_out_shutdown_waits_for_the_final_write() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).build().unwrap()).unwrap();
    let ids = fresh_ids(30_000);
    for chunk in ids.chunks(1_000) {
        lib.export_otlp_traces(&otlp_traces(chunk, now_nanos())).unwrap();
    }
    assert!(matches!(lib.shutdown_with_timeout(Duration::ZERO), Err(OtlpError::Timeout { .. })));
    let result = lib.shutdown();
    assert!(result.is_ok(), "second shutdown: {result:?}");
    assert_eq!(stored_span_ids(tmp.path()).len(), ids.len());
    // And a flush after the shutdown has nothing to do.
    lib.flush().unwrap();
}

/// When the final flush of a shutdown fails, the writer keeps the rows and keeps running: once
/// the directory is usable again, `flush()` and `shutdown()` write them and only then succeed.
#[test]
fn failed_shutdown_keeps_the_rows_for_a_later_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    let blocker = block_traces(tmp.path());
    let ids = fresh_ids(5);
    lib.export_otlp_traces(&otlp_traces(&ids, now_nanos())).unwrap();

    assert!(matches!(lib.shutdown(), Err(OtlpError::FlushFailed { rows: 5, .. })));
    std::fs::remove_file(&blocker).unwrap();

    // The blocker is gone: the retry writes the rows.
    lib.flush().unwrap();
    lib.shutdown().unwrap();
    assert_eq!(stored_span_ids(tmp.path()), ids);
}

/// SDK resource attributes are stored sorted by key: the SDK's hash map iterates them in a
/// different order per `Resource` instance, and `export_traces` must still store one resource.
#[test]
fn sdk_resource_attributes_are_stored_in_a_stable_order() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    for _ in 0..8 {
        lib.export_traces(sdk_spans(&fresh_ids(1))).unwrap();
    }
    lib.flush().unwrap();
    let request = StoreReader::new(tmp.path()).read_traces().unwrap();
    let orders: Vec<Vec<&str>> = request
        .resource_spans
        .iter()
        .map(|rs| rs.resource.as_ref().unwrap().attributes.iter().map(|kv| kv.key.as_str()).collect())
        .collect();
    assert_eq!(orders.len(), 1, "one default resource read back as {} resources: {orders:?}", orders.len());
}
