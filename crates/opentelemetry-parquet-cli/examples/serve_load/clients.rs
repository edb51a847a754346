//! The load: one export request of realistic spans, and N clients per protocol sending it as
//! fast as the server acknowledges it, each retrying refusals as the answer says.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _, Result};
use axum::body::Bytes;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_parquet::proto::resource::v1::Resource;
use opentelemetry_parquet::proto::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
use prost::bytes::{Buf as _, BufMut as _};
use prost::Message as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;

/// The transport of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// OTLP/gRPC (a tonic client), one HTTP/2 connection per client.
    Grpc,
    /// OTLP/HTTP with a protobuf body, one keep-alive HTTP/1.1 connection per client.
    Http,
}

impl Protocol {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::Http => "http",
        }
    }
}

/// What one client measured: each acknowledged request's latency (first attempt to
/// acknowledgment, waits for retries included) and the refusals it retried.
#[derive(Debug, Default)]
pub(crate) struct ClientRun {
    pub(crate) latencies: Vec<Duration>,
    pub(crate) refusals: u64,
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn text(key: &str, value: impl Into<String>) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.into()))
}

/// One export of `spans` server spans as an instrumented HTTP service makes them: a resource
/// with the usual attributes, one scope, 10 attributes and one event per span, an error status
/// on one span in 16. The spans start now, so they land in the current hour's partition.
pub(crate) fn request(spans: usize) -> ExportTraceServiceRequest {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let spans = (0..spans as u64)
        .map(|i| {
            let start = now + i * 1_000;
            let failed = i % 16 == 15;
            Span {
                trace_id: [(i / 8 + 1).to_be_bytes(), now.to_be_bytes()].concat(),
                span_id: (i + 1).to_be_bytes().to_vec(),
                parent_span_id: if i % 8 == 0 { Vec::new() } else { (i / 8 * 8 + 1).to_be_bytes().to_vec() },
                name: format!("GET /api/orders/{{id}} {}", i % 8),
                kind: span::SpanKind::Server as i32,
                start_time_unix_nano: start,
                end_time_unix_nano: start + 250_000 + i * 37,
                attributes: vec![
                    text("http.request.method", "GET"),
                    text("http.route", "/api/orders/{id}"),
                    text("url.path", format!("/api/orders/{}", 10_000 + i)),
                    text("url.scheme", "https"),
                    kv("http.response.status_code", any_value::Value::IntValue(if failed { 500 } else { 200 })),
                    text("server.address", "orders.internal.example.com"),
                    kv("server.port", any_value::Value::IntValue(8443)),
                    text("client.address", format!("10.1.{}.{}", i % 250, i % 200)),
                    text("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0"),
                    text("network.protocol.version", "1.1"),
                ],
                events: vec![span::Event {
                    time_unix_nano: start + 100_000,
                    name: "orders.cache.lookup".into(),
                    attributes: vec![text("cache.key", format!("order:{}", 10_000 + i)), text("cache.hit", "false")],
                    ..Default::default()
                }],
                status: Some(Status {
                    code: if failed { status::StatusCode::Error } else { status::StatusCode::Unset } as i32,
                    message: if failed { "upstream timed out".into() } else { String::new() },
                }),
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    text("service.name", "orders"),
                    text("service.version", "2.14.0"),
                    text("service.instance.id", "0b6f2c1e-4a52-4e0b-9f1e-5d2f3c4b5a69"),
                    text("host.name", "orders-7d9c8b5f4-x2kqz"),
                    text("deployment.environment.name", "production"),
                    text("telemetry.sdk.name", "opentelemetry"),
                    text("telemetry.sdk.language", "rust"),
                    text("telemetry.sdk.version", "0.32.0"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "opentelemetry-http".into(),
                    version: "0.32.0".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
struct ProtoDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, prost::Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// `google.rpc.Status`, with its details.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<Any>,
}

/// How long an `UNAVAILABLE` answer asks to wait (its `RetryInfo`), else 1 s.
fn grpc_retry_delay(status: &tonic::Status) -> Duration {
    let delay = RpcStatus::decode(status.details())
        .ok()
        .and_then(|s| s.details.into_iter().find(|d| d.type_url.ends_with("google.rpc.RetryInfo")))
        .and_then(|d| RetryInfo::decode(&d.value[..]).ok())
        .and_then(|r| r.retry_delay);
    match delay {
        Some(d) => Duration::new(d.seconds.max(0) as u64, d.nanos.max(0) as u32),
        None => Duration::from_secs(1),
    }
}

/// A gRPC codec that sends an already encoded `ExportTraceServiceRequest` and ignores the
/// (empty) answer, so that the clients spend their share of the cores on the transport, not on
/// encoding the same request again: both protocols send the same bytes.
#[derive(Debug, Clone, Copy)]
struct Encoded;

impl Codec for Encoded {
    type Encode = Bytes;
    type Decode = ();
    type Encoder = Encoded;
    type Decoder = Encoded;

    fn encoder(&mut self) -> Encoded {
        Encoded
    }

    fn decoder(&mut self) -> Encoded {
        Encoded
    }
}

impl Encoder for Encoded {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Encoded {
    type Item = ();
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, tonic::Status> {
        src.advance(src.remaining());
        Ok(Some(()))
    }
}

const EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Sends `body` (an encoded request) over gRPC until `deadline`; the request in flight then is
/// finished and counted.
pub(crate) async fn grpc_client(address: SocketAddr, body: Bytes, deadline: Instant) -> Result<ClientRun> {
    let channel = tonic::transport::Endpoint::new(format!("http://{address}"))?
        .connect()
        .await
        .with_context(|| format!("connecting to {address} over gRPC"))?;
    let mut client = tonic::client::Grpc::new(channel);
    let mut run = ClientRun::default();
    while Instant::now() < deadline {
        let started = Instant::now();
        loop {
            client.ready().await.with_context(|| format!("the gRPC connection to {address}"))?;
            let request = tonic::Request::new(body.clone());
            match client.unary::<_, (), _>(request, PathAndQuery::from_static(EXPORT), Encoded).await {
                Ok(_) => break,
                Err(status) if status.code() == tonic::Code::Unavailable => {
                    run.refusals += 1;
                    tokio::time::sleep(grpc_retry_delay(&status)).await;
                }
                Err(status) => bail!("gRPC export to {address} failed: {status:?}"),
            }
        }
        run.latencies.push(started.elapsed());
    }
    Ok(run)
}

/// A minimal OTLP/HTTP client: HTTP/1.1 on one keep-alive connection, a protobuf body with
/// its `Content-Length`, the answer's status, `Retry-After` and body read back. (Not reqwest:
/// its TLS backend is compiled in and wants a crypto provider even for `http://`; this client
/// has no such setup and spends less of the shared cores than a general one would.)
struct Http1 {
    address: SocketAddr,
    stream: BufReader<TcpStream>,
}

impl Http1 {
    async fn connect(address: SocketAddr) -> Result<Http1> {
        let stream = TcpStream::connect(address).await.with_context(|| format!("connecting to {address}"))?;
        stream.set_nodelay(true)?;
        Ok(Http1 { address, stream: BufReader::new(stream) })
    }

    /// POSTs `body` to `path`: the answer's status, its `Retry-After` seconds if any, and its body.
    async fn post(&mut self, path: &str, body: &[u8]) -> Result<(u16, Option<u64>, Vec<u8>)> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            self.address,
            body.len()
        );
        let stream = self.stream.get_mut();
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("not an HTTP status line: {line:?}"))?;
        let (mut length, mut retry_after) = (0, None);
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                bail!("the connection closed in the answer's headers");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().with_context(|| format!("bad Content-Length {value:?}"))?;
            } else if name.eq_ignore_ascii_case("retry-after") {
                retry_after = value.parse().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                bail!("a {value} answer: this client reads Content-Length bodies only");
            }
        }
        let mut answer = vec![0; length];
        self.stream.read_exact(&mut answer).await?;
        Ok((status, retry_after, answer))
    }
}

/// Posts `body` (an encoded request) to `/v1/traces` until `deadline`, as [`grpc_client`].
pub(crate) async fn http_client(address: SocketAddr, body: Bytes, deadline: Instant) -> Result<ClientRun> {
    let mut client = Http1::connect(address).await?;
    let mut run = ClientRun::default();
    while Instant::now() < deadline {
        let started = Instant::now();
        loop {
            let (status, retry_after, answer) =
                client.post("/v1/traces", &body).await.with_context(|| format!("POST http://{address}/v1/traces"))?;
            match status {
                200 => break,
                503 => {
                    run.refusals += 1;
                    tokio::time::sleep(Duration::from_secs(retry_after.unwrap_or(1))).await;
                }
                _ => bail!("POST http://{address}/v1/traces answered {status}: {}", String::from_utf8_lossy(&answer)),
            }
        }
        run.latencies.push(started.elapsed());
    }
    Ok(run)
}

/// The `p` quantile (0..=1) of sorted latencies, in milliseconds (nearest rank).
pub(crate) fn quantile_ms(sorted: &[Duration], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1].as_secs_f64() * 1e3)
}
