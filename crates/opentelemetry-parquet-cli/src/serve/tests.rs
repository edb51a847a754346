//! `serve` end to end on loopback: real HTTP and gRPC clients, every signal, every way a
//! request can be refused, and the stop that flushes.
#![allow(clippy::needless_update)]

use std::io::Write as _;

use opentelemetry_parquet::proto::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_parquet::proto::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_parquet::proto::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{any_value::Value, AnyValue, ArrayValue, KeyValue};
use opentelemetry_parquet::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_parquet::proto::metrics::v1::{metric, number_data_point, Gauge, Metric, NumberDataPoint};
use opentelemetry_parquet::proto::metrics::v1::{ResourceMetrics, ScopeMetrics};
use opentelemetry_parquet::proto::resource::v1::Resource;
use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_parquet::{Config, OtlpLibrary, StoreReader};
use prost::Message as _;

use super::http::RpcStatus;
use super::Server;
use crate::test_support::{log_bodies, serve_args, text};

const T0: u64 = 1_700_000_000_000_000_000;

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue { value: Some(Value::StringValue("served".into())) }),
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn traces(name: &str) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    name: name.into(),
                    start_time_unix_nano: T0,
                    end_time_unix_nano: T0 + 5,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics() -> ExportMetricsServiceRequest {
    let point =
        NumberDataPoint { time_unix_nano: T0, value: Some(number_data_point::Value::AsInt(7)), ..Default::default() };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "queue.depth".into(),
                    data: Some(metric::Data::Gauge(Gauge { data_points: vec![point] })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn logs(body: AnyValue) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: T0,
                    observed_time_unix_nano: T0 + 1,
                    severity_number: 17,
                    severity_text: "ERROR".into(),
                    body: Some(body),
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn nested(depth: usize) -> AnyValue {
    let mut v = AnyValue { value: Some(Value::IntValue(1)) };
    for _ in 0..depth {
        v = AnyValue { value: Some(Value::ArrayValue(ArrayValue { values: vec![v] })) };
    }
    v
}

/// A server on ephemeral loopback ports over a fresh store.
async fn start(dir: &std::path::Path, max_request_bytes: usize) -> (Server, OtlpLibrary) {
    let library = OtlpLibrary::new(Config::builder().output_dir(dir).build().unwrap()).unwrap();
    let args = serve_args(&["--max-request-bytes", &max_request_bytes.to_string()]);
    (Server::start(&args, library.clone()).await.unwrap(), library)
}

async fn post(server: &Server, path: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    let url = format!("http://{}{path}", server.http.unwrap());
    reqwest::Client::new().post(url).header("content-type", content_type).body(body).send().await.unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_signal_over_http_protobuf_json_and_gzip_and_over_grpc_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start(dir.path(), 1 << 20).await;

    // OTLP/HTTP, binary protobuf: the answer is an empty Export*ServiceResponse, in protobuf.
    let response = post(&server, "/v1/traces", "application/x-protobuf", traces("http").encode_to_vec()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    let response = post(&server, "/v1/metrics", "application/x-protobuf", metrics().encode_to_vec()).await;
    assert_eq!(response.status(), 200);
    let response = post(&server, "/v1/logs", "application/x-protobuf", logs(text("protobuf")).encode_to_vec()).await;
    assert_eq!(response.status(), 200);
    let answer = ExportLogsServiceResponse::decode(response.bytes().await.unwrap()).unwrap();
    assert_eq!(answer.partial_success, None, "everything was stored");

    // OTLP/JSON as the specification maps it: hex IDs, camelCase, enums as numbers.
    let json = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"served"}}]},
        "scopeLogs":[{"scope":{"name":"json-client"},"logRecords":[{"timeUnixNano":"1700000000000000000",
        "severityNumber":9,"severityText":"INFO","body":{"stringValue":"json"},
        "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]}"#;
    let response = post(&server, "/v1/logs", "application/json", json.as_bytes().to_vec()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);

    // gzip-compressed bodies.
    let url = format!("http://{}/v1/logs", server.http.unwrap());
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gzip(&logs(text("gzip")).encode_to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // OTLP/gRPC, all three services.
    let endpoint = format!("http://{}", server.grpc.unwrap());
    TraceServiceClient::connect(endpoint.clone()).await.unwrap().export(traces("grpc")).await.unwrap();
    MetricsServiceClient::connect(endpoint.clone()).await.unwrap().export(metrics()).await.unwrap();
    let mut client = LogsServiceClient::connect(endpoint).await.unwrap();
    client.export(logs(text("grpc"))).await.unwrap();

    server.stop().await.unwrap();
    let reader = StoreReader::new(dir.path());
    let spans: Vec<String> = reader
        .read_traces()
        .unwrap()
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| ss.spans.iter().map(|s| s.name.clone()))
        .collect();
    assert_eq!(spans.len(), 2);
    assert!(spans.contains(&"http".to_owned()) && spans.contains(&"grpc".to_owned()));
    let points: usize = reader.read_metrics().unwrap().resource_metrics.iter().flat_map(|r| &r.scope_metrics).count();
    assert_eq!(points, 1, "both metric exports are one series of one scope");
    assert_eq!(log_bodies(dir.path()), ["grpc", "gzip", "json", "protobuf"].map(text));
    // The JSON record's IDs were hex in the body: they are bytes in the store.
    let json_record = StoreReader::new(dir.path())
        .read_logs()
        .unwrap()
        .resource_logs
        .into_iter()
        .flat_map(|rl| rl.scope_logs)
        .find(|sl| sl.scope.as_ref().is_some_and(|s| s.name == "json-client"))
        .unwrap()
        .log_records
        .remove(0);
    assert_eq!(json_record.trace_id[..2], [0x5b, 0x8e]);
    assert_eq!(json_record.span_id.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_with_the_otlp_status_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (server, library) = start(dir.path(), 4096).await;
    let status_of = |bytes: &[u8]| RpcStatus::decode(bytes).unwrap();

    let response = post(&server, "/v1/logs", "application/x-protobuf", b"\xff\xff\xff".to_vec()).await;
    assert_eq!(response.status(), 400);
    let status = status_of(&response.bytes().await.unwrap());
    assert!(status.message.contains("ExportLogsServiceRequest"), "{}", status.message);

    let response = post(&server, "/v1/logs", "application/json", b"{\"resourceLogs\": 7}".to_vec()).await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/json");
    let status: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert!(status["message"].as_str().unwrap().contains("OTLP/JSON"), "{status}");

    let deep = logs(nested(opentelemetry_parquet::MAX_VALUE_DEPTH + 1));
    let response = post(&server, "/v1/logs", "application/x-protobuf", deep.encode_to_vec()).await;
    assert_eq!(response.status(), 400);
    assert!(status_of(&response.bytes().await.unwrap()).message.contains("deeper than"));

    let response = post(&server, "/v1/logs", "text/plain", b"hello".to_vec()).await;
    assert_eq!(response.status(), 415);
    let response = post(&server, "/v1/profiles", "application/x-protobuf", Vec::new()).await;
    assert_eq!(response.status(), 404);
    let big = logs(text(&"x".repeat(10_000))).encode_to_vec();
    let response = post(&server, "/v1/logs", "application/x-protobuf", big.clone()).await;
    assert_eq!(response.status(), 413);
    // A gzip bomb: small on the wire, over the limit once decompressed.
    let url = format!("http://{}/v1/logs", server.http.unwrap());
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gzip(&big))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    // gRPC: a value nested deeper than the store takes is INVALID_ARGUMENT.
    let endpoint = format!("http://{}", server.grpc.unwrap());
    let mut client = LogsServiceClient::connect(endpoint).await.unwrap();
    let refused = client.export(logs(nested(opentelemetry_parquet::MAX_VALUE_DEPTH + 8))).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");

    // gRPC: a message nested past what protobuf decoding takes is INVALID_ARGUMENT too.
    let refused = client.export(logs(nested(200))).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");

    // gRPC: a message over the limit.
    let refused = client.export(logs(text(&"x".repeat(10_000)))).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::OutOfRange, "{refused:?}");

    // After the library's shutdown: retryable, with Retry-After.
    tokio::task::spawn_blocking(move || library.shutdown()).await.unwrap().unwrap();
    let response = post(&server, "/v1/logs", "application/x-protobuf", logs(text("late")).encode_to_vec()).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let refused = client.export(logs(text("late"))).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable);
    // With the google.rpc.RetryInfo the OTLP exporters read their backoff from.
    let details = crate::serve::grpc::RpcStatusWithDetails::decode(refused.details()).unwrap();
    assert_eq!(details.code, tonic::Code::Unavailable as i32);
    assert_eq!(details.details[0].type_url, "type.googleapis.com/google.rpc.RetryInfo");
    let retry = crate::serve::grpc::RetryInfo::decode(&details.details[0].value[..]).unwrap();
    assert_eq!(retry.retry_delay.map(|d| (d.seconds, d.nanos)), Some((1, 0)));

    server.stop().await.unwrap();
    assert!(log_bodies(dir.path()).is_empty(), "nothing refused was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_bearer_token_only_requests_carrying_it_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build().unwrap()).unwrap();
    let args = serve_args(&["--bearer-token", "s3cret"]);
    let server = Server::start(&args, library).await.unwrap();
    let url = format!("http://{}/v1/logs", server.http.unwrap());
    let send = |authorization: Option<&'static str>, body: &str| {
        let mut request = reqwest::Client::new()
            .post(url.clone())
            .header("content-type", "application/x-protobuf")
            .body(logs(text(body)).encode_to_vec());
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send()
    };
    assert_eq!(send(None, "anonymous").await.unwrap().status(), 401);
    assert_eq!(send(Some("Bearer wrong"), "wrong").await.unwrap().status(), 401);
    assert_eq!(send(Some("Basic s3cret"), "basic").await.unwrap().status(), 401);
    assert_eq!(send(Some("Bearer s3cret"), "allowed").await.unwrap().status(), 200);
    let health = reqwest::get(format!("http://{}/health", server.http.unwrap())).await.unwrap();
    assert_eq!(health.status(), 200, "the health endpoint needs no token");

    let endpoint = format!("http://{}", server.grpc.unwrap());
    let mut client = LogsServiceClient::connect(endpoint).await.unwrap();
    let refused = client.export(logs(text("anonymous grpc"))).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let mut request = tonic::Request::new(logs(text("allowed grpc")));
    request.metadata_mut().insert("authorization", "Bearer s3cret".parse().unwrap());
    client.export(request).await.unwrap();

    server.stop().await.unwrap();
    assert_eq!(log_bodies(dir.path()), ["allowed grpc", "allowed"].map(text));
}
