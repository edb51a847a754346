//! Overload: many clients at once against a small buffer. The server refuses what does not fit
//! with the retryable answer (HTTP 503 + `Retry-After`, gRPC `UNAVAILABLE` + `RetryInfo`);
//! clients that do what those answers say lose nothing: every span sent is stored exactly once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_parquet::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_parquet::{Config, OtlpLibrary, StoreReader};
use prost::Message as _;

use super::grpc::{RetryInfo, RpcStatusWithDetails};
use super::Server;
use crate::test_support::serve_args;

const CLIENTS_PER_PROTOCOL: usize = 4;
const REQUESTS_PER_CLIENT: usize = 5;
const SPANS_PER_REQUEST: usize = 500;

/// Request `request` of client `client`: spans with IDs unique across the whole run.
fn request(client: usize, request: usize) -> ExportTraceServiceRequest {
    let spans = (0..SPANS_PER_REQUEST)
        .map(|i| {
            let id = ((client * REQUESTS_PER_CLIENT + request) * SPANS_PER_REQUEST + i + 1) as u64;
            Span {
                trace_id: [id.to_be_bytes(), id.to_be_bytes()].concat(),
                span_id: id.to_be_bytes().to_vec(),
                name: format!("client {client} request {request}"),
                start_time_unix_nano: 1_700_000_000_000_000_000 + id,
                end_time_unix_nano: 1_700_000_000_000_000_000 + id + 1_000,
                attributes: vec![KeyValue {
                    key: "payload".into(),
                    value: Some(AnyValue { value: Some(Value::StringValue("x".repeat(200))) }),
                    ..Default::default()
                }],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// Sends over OTLP/HTTP until acknowledged, waiting what each 503's `Retry-After` says.
async fn send_http(address: std::net::SocketAddr, body: Vec<u8>, refusals: &AtomicUsize) {
    let client = reqwest::Client::new();
    loop {
        let response = client
            .post(format!("http://{address}/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            return;
        }
        assert_eq!(response.status(), 503, "only the retryable refusal: {:?}", response.text().await);
        refusals.fetch_add(1, Ordering::Relaxed);
        let seconds: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
    }
}

/// Sends over OTLP/gRPC until acknowledged, waiting what each `UNAVAILABLE`'s `RetryInfo` says.
async fn send_grpc(address: std::net::SocketAddr, message: ExportTraceServiceRequest, refusals: &AtomicUsize) {
    let mut client = TraceServiceClient::connect(format!("http://{address}")).await.unwrap();
    loop {
        let refused = match client.export(message.clone()).await {
            Ok(_) => return,
            Err(status) => status,
        };
        assert_eq!(refused.code(), tonic::Code::Unavailable, "only the retryable refusal: {refused:?}");
        refusals.fetch_add(1, Ordering::Relaxed);
        let details = RpcStatusWithDetails::decode(refused.details()).unwrap();
        let delay = RetryInfo::decode(&details.details[0].value[..]).unwrap().retry_delay.unwrap();
        tokio::time::sleep(Duration::new(delay.seconds as u64, delay.nanos as u32)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_retry_as_told_lose_nothing_when_the_buffer_is_full() {
    let dir = tempfile::tempdir().unwrap();
    // Room for about two requests (a request takes some 0.9 MiB of buffer) of the eight in flight; a full buffer refuses at once instead of waiting.
    let config = Config::builder()
        .output_dir(dir.path())
        .max_buffer_bytes(2 << 20)
        .flush_bytes(512 << 10)
        .export_timeout(Duration::from_millis(1))
        .build()
        .unwrap();
    let args = serve_args(&[]);
    let server = Server::start(&args, OtlpLibrary::new(config).unwrap()).await.unwrap();
    let (http, grpc) = (server.http.unwrap(), server.grpc.unwrap());
    let refusals = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for client in 0..2 * CLIENTS_PER_PROTOCOL {
        let refusals = refusals.clone();
        clients.push(tokio::spawn(async move {
            for r in 0..REQUESTS_PER_CLIENT {
                let message = request(client, r);
                if client < CLIENTS_PER_PROTOCOL {
                    send_http(http, message.encode_to_vec(), &refusals).await;
                } else {
                    send_grpc(grpc, message, &refusals).await;
                }
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    server.stop().await.unwrap();

    let refusals = refusals.load(Ordering::Relaxed);
    eprintln!("overload: {refusals} refusals, each retried as told");
    assert!(refusals > 0, "the buffer never filled: the test proved nothing");
    let stored = StoreReader::new(dir.path()).read_traces().unwrap();
    let mut ids: Vec<_> = stored
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| u64::from_be_bytes(s.span_id[..].try_into().unwrap()))
        .collect();
    ids.sort_unstable();
    let sent = 2 * CLIENTS_PER_PROTOCOL * REQUESTS_PER_CLIENT * SPANS_PER_REQUEST;
    assert_eq!(ids, (1..=sent as u64).collect::<Vec<_>>(), "every span stored exactly once");
}
