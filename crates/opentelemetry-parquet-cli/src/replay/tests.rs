//! `replay` into a second `serve` gives a store with identical rows, over gRPC and over HTTP,
//! in batches smaller than the scope groups (so groups are cut and put back together).
#![allow(clippy::needless_update)]

use std::path::Path;

use opentelemetry_parquet::proto::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{any_value::Value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_parquet::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_parquet::proto::metrics::v1::{
    metric, number_data_point, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_parquet::proto::resource::v1::Resource;
use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_parquet::{Config, OtlpLibrary};

use super::{run, ReplayArgs};
use crate::serve::{ServeArgs, Server};
use crate::test_support::{assert_same_rows, rows};

const T0: u64 = 1_700_000_000_000_000_000;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource { attributes: vec![kv("service.name", service)], dropped_attributes_count: 1, ..Default::default() })
}

fn scope(name: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.into(),
        version: "1".into(),
        attributes: vec![kv("s", name)],
        ..Default::default()
    })
}

/// A store of two services, two scopes each, spans, sums and log records in them.
fn write_store(dir: &Path) {
    let library = OtlpLibrary::new(Config::builder().output_dir(dir).build().unwrap()).unwrap();
    for service in ["checkout", "cart"] {
        let resource_spans = ResourceSpans {
            resource: resource(service),
            scope_spans: ["http", "db"]
                .map(|s| ScopeSpans {
                    scope: scope(s),
                    spans: (0..7u8)
                        .map(|i| Span {
                            trace_id: vec![i + 1; 16],
                            span_id: vec![i + 1; 8],
                            name: format!("{service} {s} {i}"),
                            start_time_unix_nano: T0 + u64::from(i),
                            end_time_unix_nano: T0 + 1_000 * u64::from(i),
                            attributes: vec![kv("i", &i.to_string())],
                            ..Default::default()
                        })
                        .collect(),
                    schema_url: "https://scope".into(),
                })
                .to_vec(),
            schema_url: "https://resource".into(),
        };
        library.export_otlp_traces(&ExportTraceServiceRequest { resource_spans: vec![resource_spans] }).unwrap();
        let metrics = (0..5)
            .map(|m| Metric {
                name: format!("{service}.m{m}"),
                data: Some(metric::Data::Sum(Sum {
                    data_points: (0..3)
                        .map(|p| NumberDataPoint {
                            time_unix_nano: T0 + p,
                            value: Some(number_data_point::Value::AsInt(m * 10 + p as i64)),
                            attributes: vec![kv("p", &p.to_string())],
                            ..Default::default()
                        })
                        .collect(),
                    aggregation_temporality: 2,
                    is_monotonic: true,
                })),
                ..Default::default()
            })
            .collect();
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: resource(service),
                scope_metrics: vec![ScopeMetrics { scope: scope("meter"), metrics, schema_url: String::new() }],
                schema_url: String::new(),
            }],
        };
        library.export_otlp_metrics(&request).unwrap();
        let log_records = (0..9u8)
            .map(|i| LogRecord {
                time_unix_nano: if i % 3 == 0 { 0 } else { T0 + u64::from(i) },
                observed_time_unix_nano: T0 + 100,
                severity_number: 9 + i32::from(i),
                body: Some(AnyValue { value: Some(Value::StringValue(format!("{service} line {i}"))) }),
                trace_id: vec![i; 16],
                span_id: vec![i; 8],
                ..Default::default()
            })
            .collect();
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: resource(service),
                scope_logs: vec![ScopeLogs { scope: scope("logger"), log_records, schema_url: "https://logs".into() }],
                schema_url: String::new(),
            }],
        };
        library.export_otlp_logs(&request).unwrap();
    }
    library.shutdown().unwrap();
}

fn replay_into_a_second_serve(protocol: &str) {
    let (source, target) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_store(source.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let library = OtlpLibrary::new(Config::builder().output_dir(target.path()).build().unwrap()).unwrap();
    let serve = ServeArgs {
        output_dir: None,
        grpc: "127.0.0.1:0".into(),
        http: "127.0.0.1:0".into(),
        max_request_bytes: 1 << 20,
        bearer_token: None,
    };
    let server = runtime.block_on(Server::start(&serve, library)).unwrap();
    let address = if protocol == "grpc" { server.grpc } else { server.http }.unwrap();
    run(ReplayArgs {
        dir: source.path().to_path_buf(),
        endpoint: format!("http://{address}"),
        protocol: protocol.into(),
        signal: vec!["traces".into(), "metrics".into(), "logs".into()],
        // Smaller than a scope group: groups are cut across requests.
        batch: 4,
        attempts: 3,
    })
    .unwrap();
    runtime.block_on(server.stop()).unwrap();
    let (sent, received) = (rows(source.path()), rows(target.path()));
    let counts: Vec<_> = received.iter().map(|(t, r)| (t.as_str(), r.len())).collect();
    assert!(
        counts.contains(&("traces", 28)) && counts.contains(&("metrics_sum", 30)) && counts.contains(&("logs", 18)),
        "{counts:?}"
    );
    assert_same_rows(&sent, &received, &format!("replayed over {protocol}: identical rows"));
}

#[test]
fn replay_over_grpc_gives_identical_rows() {
    replay_into_a_second_serve("grpc");
}

#[test]
fn replay_over_http_gives_identical_rows() {
    replay_into_a_second_serve("http/protobuf");
}

#[test]
fn a_refusing_endpoint_fails_the_replay_naming_the_batch() {
    let source = tempfile::tempdir().unwrap();
    write_store(source.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let library =
        OtlpLibrary::new(Config::builder().output_dir(source.path().join("target")).build().unwrap()).unwrap();
    let serve = ServeArgs {
        output_dir: None,
        grpc: "off".into(),
        http: "127.0.0.1:0".into(),
        max_request_bytes: 1 << 20,
        bearer_token: Some("token".into()),
    };
    let server = runtime.block_on(Server::start(&serve, library)).unwrap();
    let err = run(ReplayArgs {
        dir: source.path().to_path_buf(),
        endpoint: format!("http://{}", server.http.unwrap()),
        protocol: "http/protobuf".into(),
        signal: vec!["logs".into()],
        batch: 100,
        attempts: 2,
    })
    .unwrap_err();
    assert!(format!("{err:#}").contains("logs batch 1 of 1: the endpoint refused it: HTTP 401"), "{err:#}");
    runtime.block_on(server.stop()).unwrap();
}
