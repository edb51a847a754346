//! Stopping with requests in flight (what Ctrl-C and SIGTERM do): clients keep sending while the
//! server stops; every request it acknowledged is in the store, whole, and nothing else is.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_parquet::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_parquet::{Config, OtlpLibrary, StoreReader};
use prost::Message as _;

use super::Server;
use crate::test_support::serve_args;

const SPANS_PER_REQUEST: u64 = 200;

/// A request whose spans are all named `name`.
fn request(name: &str, first_id: u64) -> ExportTraceServiceRequest {
    let spans = (first_id..first_id + SPANS_PER_REQUEST)
        .map(|id| Span {
            trace_id: [id.to_be_bytes(), id.to_be_bytes()].concat(),
            span_id: id.to_be_bytes().to_vec(),
            name: name.to_owned(),
            start_time_unix_nano: 1_700_000_000_000_000_000 + id,
            end_time_unix_nano: 1_700_000_000_000_000_000 + id + 1_000,
            ..Default::default()
        })
        .collect();
    let scope_spans = vec![ScopeSpans { spans, ..Default::default() }];
    ExportTraceServiceRequest { resource_spans: vec![ResourceSpans { scope_spans, ..Default::default() }] }
}

/// What the clients sent and what was acknowledged, by request name.
#[derive(Default)]
struct Ledger {
    sent: Mutex<BTreeSet<String>>,
    acknowledged: Mutex<BTreeSet<String>>,
}

/// Sends request after request until the server stops answering (or `enough` is set), noting
/// each one sent and each one acknowledged.
async fn client(grpc: bool, address: std::net::SocketAddr, number: u64, ledger: Arc<Ledger>, enough: Arc<AtomicBool>) {
    let http = reqwest::Client::new();
    let mut channel = None;
    for k in 0u64.. {
        if enough.load(Ordering::Relaxed) {
            return;
        }
        let name = format!("{} client {number} request {k}", if grpc { "grpc" } else { "http" });
        let message = request(&name, (number * 1_000_000 + k) * SPANS_PER_REQUEST);
        ledger.sent.lock().unwrap().insert(name.clone());
        let acknowledged = if grpc {
            if channel.is_none() {
                channel = TraceServiceClient::connect(format!("http://{address}")).await.ok();
            }
            match channel.as_mut() {
                Some(c) => c.export(message).await.is_ok(),
                None => false,
            }
        } else {
            let sent = http
                .post(format!("http://{address}/v1/traces"))
                .header("content-type", "application/x-protobuf")
                .body(message.encode_to_vec())
                .send()
                .await;
            sent.is_ok_and(|r| r.status() == 200)
        };
        if !acknowledged {
            return; // stopped: refused, or the connection was closed or refused
        }
        ledger.acknowledged.lock().unwrap().insert(name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_with_requests_in_flight_keeps_every_acknowledged_request_whole() {
    let dir = tempfile::tempdir().unwrap();
    let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build().unwrap()).unwrap();
    let server = Server::start(&serve_args(&[]), library).await.unwrap();
    let (http, grpc) = (server.http.unwrap(), server.grpc.unwrap());
    let (ledger, enough) = (Arc::new(Ledger::default()), Arc::new(AtomicBool::new(false)));
    let mut clients = Vec::new();
    for number in 0..4 {
        clients.push(tokio::spawn(client(true, grpc, number, ledger.clone(), enough.clone())));
        clients.push(tokio::spawn(client(false, http, number, ledger.clone(), enough.clone())));
    }
    // Stop once the clients are well under way, while they go on sending.
    while ledger.acknowledged.lock().unwrap().len() < 40 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.stop().await.unwrap();
    // A client still holding an open connection may get no answer at all: give up on those.
    tokio::time::sleep(Duration::from_secs(1)).await;
    enough.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }

    let (sent, acknowledged) = (ledger.sent.lock().unwrap().clone(), ledger.acknowledged.lock().unwrap().clone());
    let mut stored: std::collections::BTreeMap<String, u64> = Default::default();
    for resource in StoreReader::new(dir.path()).read_traces().unwrap().resource_spans {
        for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
            *stored.entry(span.name).or_default() += 1;
        }
    }
    let missing: Vec<_> = acknowledged.iter().filter(|name| !stored.contains_key(*name)).collect();
    assert!(missing.is_empty(), "acknowledged but not stored: {missing:?}");
    for (name, spans) in &stored {
        assert!(sent.contains(name), "{name} was stored but never sent");
        assert_eq!(*spans, SPANS_PER_REQUEST, "{name} is stored in part");
    }
    let unanswered = sent.len() - acknowledged.len();
    assert!(unanswered > 0, "every client saw the stop: its last request was refused or unanswered");
    eprintln!("{} requests acknowledged and stored, {unanswered} unanswered at the stop", acknowledged.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_export_timeout_does_not_fail_a_stop_that_stored_everything() {
    let dir = tempfile::tempdir().unwrap();
    // 1 ns: the library's own shutdown cannot even see its writer thread stop in that time.
    let config = Config::builder().output_dir(dir.path()).export_timeout(Duration::from_nanos(1)).build().unwrap();
    let server = Server::start(&serve_args(&[]), OtlpLibrary::new(config).unwrap()).await.unwrap();
    let mut client = TraceServiceClient::connect(format!("http://{}", server.grpc.unwrap())).await.unwrap();
    for k in 0..20 {
        client.export(request(&format!("request {k}"), k * SPANS_PER_REQUEST)).await.unwrap();
    }
    server.stop().await.expect("everything acknowledged was stored: the stop succeeds");
    let stored: usize = StoreReader::new(dir.path())
        .read_traces()
        .unwrap()
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    assert_eq!(stored as u64, 20 * SPANS_PER_REQUEST);
}
