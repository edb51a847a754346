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

use super::run;
use crate::serve::Server;
use crate::test_support::{assert_same_rows, replay_args, rows, serve_args, tls_files};
use clap::Parser as _;

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

/// Replays the store of [`write_store`] into a second `serve` (over TLS, the replay trusting the
/// test CA, when `tls`) with `extra` options, and returns both stores' rows.
fn replay_into_a_second_serve(protocol: &str, tls: bool, extra: &[&str]) -> [Vec<(String, Vec<String>)>; 2] {
    let (source, target, certs) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_store(source.path());
    let files = tls_files(certs.path());
    let (cert, key, ca) = (files.cert.to_str().unwrap(), files.key.to_str().unwrap(), files.ca.to_str().unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let library = OtlpLibrary::new(Config::builder().output_dir(target.path()).build().unwrap()).unwrap();
    let tls_options = ["--tls-cert", cert, "--tls-key", key];
    let serve = serve_args(if tls { &tls_options } else { &[] });
    let server = runtime.block_on(Server::start(&serve, library)).unwrap();
    let port = if protocol == "grpc" { server.grpc } else { server.http }.unwrap().port();
    let endpoint = if tls { format!("https://localhost:{port}") } else { format!("http://127.0.0.1:{port}") };
    // Batches smaller than a scope group: groups are cut across requests.
    let mut args = vec!["--endpoint", &endpoint, "--protocol", protocol, "--batch", "4"];
    if tls {
        args.extend(["--ca-cert", ca]);
    }
    args.extend(extra);
    run(replay_args(source.path(), &args)).unwrap();
    runtime.block_on(server.stop()).unwrap();
    [rows(source.path()), rows(target.path())]
}

fn counts(rows: &[(String, Vec<String>)]) -> Vec<(&str, usize)> {
    rows.iter().map(|(t, r)| (t.as_str(), r.len())).filter(|(_, n)| *n > 0).collect()
}

fn replay_gives_identical_rows(protocol: &str, tls: bool) {
    let [sent, received] = replay_into_a_second_serve(protocol, tls, &[]);
    assert_eq!(counts(&received), [("traces", 28), ("metrics_sum", 30), ("logs", 18)]);
    assert_same_rows(&sent, &received, &format!("replayed over {protocol} (TLS: {tls}): identical rows"));
}

#[test]
fn replay_over_grpc_gives_identical_rows() {
    replay_gives_identical_rows("grpc", false);
}

#[test]
fn replay_over_http_gives_identical_rows() {
    replay_gives_identical_rows("http/protobuf", false);
}

#[test]
fn replay_over_grpc_with_tls_gives_identical_rows() {
    replay_gives_identical_rows("grpc", true);
}

#[test]
fn replay_over_https_gives_identical_rows() {
    replay_gives_identical_rows("http/protobuf", true);
}

#[test]
fn from_and_to_send_only_what_happened_in_between() {
    // T0 is 2023-11-14T22:13:20Z; [T0 + 2 ns, T0 + 5 ns).
    let range = ["--from", "2023-11-14T22:13:20.000000002Z", "--to", "2023-11-14T23:13:20.000000005+01:00"];
    let [sent, received] = replay_into_a_second_serve("grpc", false, &range);
    // Spans 2, 3 and 4 of each scope; data point 2 of each sum; log records 2 and 4 (0, 3
    // and 6 have no time and were observed at T0 + 100 ns).
    assert_eq!(counts(&received), [("traces", 12), ("metrics_sum", 10), ("logs", 4)]);
    for ((table, sent), (_, received)) in sent.iter().zip(&received) {
        for row in received {
            assert!(sent.contains(row), "{table}: {row} was never in the store");
        }
    }
    let logs = &received.iter().find(|(t, _)| t == "logs").unwrap().1;
    assert!(logs.iter().all(|r| r.contains("line 2") || r.contains("line 4")), "{logs:#?}");
}

#[test]
fn bad_replay_options_are_refused_naming_them() {
    let source = tempfile::tempdir().unwrap();
    let dir = source.path();
    let cli = |args: &[&str]| {
        let line = ["opentelemetry-parquet", "replay", dir.to_str().unwrap(), "--endpoint", "http://127.0.0.1:9"];
        crate::Cli::try_parse_from(line.iter().chain(args)).map(drop).unwrap_err().to_string()
    };
    assert!(cli(&["--from", "yesterday"]).contains("is not an RFC 3339 time"), "{}", cli(&["--from", "yesterday"]));
    assert!(cli(&["--to", "1677-01-01T00:00:00Z"]).contains("outside 1970 to 2262"));
    let err = |args: &[&str]| format!("{:#}", run(replay_args(dir, args)).unwrap_err());
    let endpoint = ["--endpoint", "http://127.0.0.1:9"];
    let backwards = [&endpoint[..], &["--from", "2024-01-02T00:00:00Z", "--to", "2024-01-01T00:00:00Z"]].concat();
    assert!(err(&backwards).contains("--from must be before --to"), "{}", err(&backwards));
    let signal = [&endpoint[..], &["--signal", "profiles"]].concat();
    assert!(err(&signal).contains("--signal \"profiles\""), "{}", err(&signal));
    let ca = [&endpoint[..], &["--ca-cert", "ca.pem"]].concat();
    assert!(err(&ca).contains("--ca-cert is for an https:// endpoint"), "{}", err(&ca));
}

#[test]
fn a_refusing_endpoint_fails_the_replay_naming_the_batch() {
    let source = tempfile::tempdir().unwrap();
    write_store(source.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let library =
        OtlpLibrary::new(Config::builder().output_dir(source.path().join("target")).build().unwrap()).unwrap();
    let serve = serve_args(&["--grpc", "off", "--bearer-token", "token"]);
    let server = runtime.block_on(Server::start(&serve, library)).unwrap();
    let endpoint = format!("http://{}", server.http.unwrap());
    let args = ["--endpoint", &endpoint, "--protocol", "http/protobuf", "--signal", "logs", "--attempts", "2"];
    let err = run(replay_args(source.path(), &args)).unwrap_err();
    assert!(format!("{err:#}").contains("logs batch 1 of 1: the endpoint refused it: HTTP 401"), "{err:#}");
    runtime.block_on(server.stop()).unwrap();
}
