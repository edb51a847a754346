//! `opentelemetry-parquet replay`: reads a store back (the [`StoreReader`]) and sends it as OTLP
//! to any endpoint (a Collector, Jaeger, a vendor, another `serve`), in batches, retrying what
//! the endpoint asks to be retried, with a progress line per batch and a summary.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use opentelemetry_parquet::proto::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_parquet::proto::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_parquet::proto::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_parquet::proto::metrics::v1::{metric::Data, Metric, ResourceMetrics, ScopeMetrics};
use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans};
use opentelemetry_parquet::StoreReader;
use prost::Message as _;

/// `replay`'s options.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ReplayArgs {
    /// The store's directory.
    pub(crate) dir: PathBuf,
    /// Where to send: `http://host:4317` for gRPC, `http://host:4318` for HTTP (the signal's
    /// path, `/v1/traces` and so on, is added).
    #[arg(long)]
    pub(crate) endpoint: String,
    /// `grpc` or `http/protobuf`.
    #[arg(long, default_value = "grpc")]
    pub(crate) protocol: String,
    /// The signals to send (default: all three).
    #[arg(long, value_delimiter = ',', default_values_t = ["traces".to_owned(), "metrics".to_owned(), "logs".to_owned()])]
    pub(crate) signal: Vec<String>,
    /// Items (spans, metrics, log records) per request.
    #[arg(long, default_value_t = 512)]
    pub(crate) batch: usize,
    /// Attempts per request when the endpoint asks to retry (unavailable, throttled).
    #[arg(long, default_value_t = 8)]
    pub(crate) attempts: u32,
    /// Send only what happened at or after this time (RFC 3339, `2026-12-07T14:00:00Z`): spans by
    /// start time, log records by time (observed time when they have none), metric data points
    /// by time.
    #[arg(long, value_parser = parse_time)]
    pub(crate) from: Option<u64>,
    /// Send only what happened before this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub(crate) to: Option<u64>,
    /// Trust this CA certificate (PEM) for an `https://` endpoint, besides the system's roots
    /// (a private CA, or `serve --tls-cert`'s self-signed certificate).
    #[arg(long)]
    pub(crate) ca_cert: Option<PathBuf>,
}

/// An RFC 3339 time as nanoseconds since the Unix epoch.
fn parse_time(text: &str) -> Result<u64, String> {
    let time = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time such as 2026-12-07T14:00:00Z ({e})"))?;
    time.timestamp_nanos_opt()
        .and_then(|nanos| u64::try_from(nanos).ok())
        .ok_or_else(|| format!("{text:?} is outside 1970 to 2262, the range of OTLP's nanosecond times"))
}

/// `[from, to)` in nanoseconds; either end may be open.
#[derive(Debug, Clone, Copy)]
struct TimeRange {
    from: Option<u64>,
    to: Option<u64>,
}

impl TimeRange {
    fn contains(self, nanos: u64) -> bool {
        self.from.is_none_or(|from| nanos >= from) && self.to.is_none_or(|to| nanos < to)
    }

    fn is_everything(self) -> bool {
        self.from.is_none() && self.to.is_none()
    }
}

/// Keeps the data points of `metric` inside `range`; false when none is left.
fn keep_points(metric: &mut Metric, range: TimeRange) -> bool {
    fn keep<P>(points: &mut Vec<P>, range: TimeRange, time: impl Fn(&P) -> u64) -> bool {
        points.retain(|p| range.contains(time(p)));
        !points.is_empty()
    }
    match &mut metric.data {
        Some(Data::Gauge(g)) => keep(&mut g.data_points, range, |p| p.time_unix_nano),
        Some(Data::Sum(s)) => keep(&mut s.data_points, range, |p| p.time_unix_nano),
        Some(Data::Histogram(h)) => keep(&mut h.data_points, range, |p| p.time_unix_nano),
        Some(Data::ExponentialHistogram(h)) => keep(&mut h.data_points, range, |p| p.time_unix_nano),
        Some(Data::Summary(s)) => keep(&mut s.data_points, range, |p| p.time_unix_nano),
        // A metric without data has no time: it is sent only when the whole store is.
        None => range.is_everything(),
    }
}

/// A request ready to send, with the items it holds.
enum Batch {
    Traces(ExportTraceServiceRequest, usize),
    Metrics(ExportMetricsServiceRequest, usize),
    Logs(ExportLogsServiceRequest, usize),
}

impl Batch {
    fn items(&self) -> usize {
        match self {
            Batch::Traces(_, n) | Batch::Metrics(_, n) | Batch::Logs(_, n) => *n,
        }
    }
}

fn traces(reader: &StoreReader, batch: usize, range: TimeRange) -> Result<Vec<Batch>> {
    let request = reader.read_traces()?;
    let groups = request.resource_spans.into_iter().map(|mut rs| {
        let mut scopes = std::mem::take(&mut rs.scope_spans);
        for scope in &mut scopes {
            scope.spans.retain(|span| range.contains(span.start_time_unix_nano));
        }
        Group { header: rs, scopes }
    });
    let mut out = Vec::new();
    for (resource_spans, n) in split(
        groups,
        batch,
        |s: &ScopeSpans| s.spans.len(),
        |s, range| ScopeSpans { spans: s.spans[range].to_vec(), ..s.clone() },
        |header: &ResourceSpans, scopes| ResourceSpans { scope_spans: scopes, ..header.clone() },
    ) {
        out.push(Batch::Traces(ExportTraceServiceRequest { resource_spans }, n));
    }
    Ok(out)
}

fn metrics(reader: &StoreReader, batch: usize, range: TimeRange) -> Result<Vec<Batch>> {
    let request = reader.read_metrics()?;
    let groups = request.resource_metrics.into_iter().map(|mut rm| {
        let mut scopes = std::mem::take(&mut rm.scope_metrics);
        for scope in &mut scopes {
            scope.metrics.retain_mut(|metric| keep_points(metric, range));
        }
        Group { header: rm, scopes }
    });
    let mut out = Vec::new();
    for (resource_metrics, n) in split(
        groups,
        batch,
        |s: &ScopeMetrics| s.metrics.len(),
        |s, range| ScopeMetrics { metrics: s.metrics[range].to_vec(), ..s.clone() },
        |header: &ResourceMetrics, scopes| ResourceMetrics { scope_metrics: scopes, ..header.clone() },
    ) {
        out.push(Batch::Metrics(ExportMetricsServiceRequest { resource_metrics }, n));
    }
    Ok(out)
}

fn logs(reader: &StoreReader, batch: usize, range: TimeRange) -> Result<Vec<Batch>> {
    let request = reader.read_logs()?;
    let groups = request.resource_logs.into_iter().map(|mut rl| {
        let mut scopes = std::mem::take(&mut rl.scope_logs);
        for scope in &mut scopes {
            // The store's Timestamp: the record's time, else when it was observed.
            scope.log_records.retain(|r| {
                range.contains(if r.time_unix_nano != 0 { r.time_unix_nano } else { r.observed_time_unix_nano })
            });
        }
        Group { header: rl, scopes }
    });
    let mut out = Vec::new();
    for (resource_logs, n) in split(
        groups,
        batch,
        |s: &ScopeLogs| s.log_records.len(),
        |s, range| ScopeLogs { log_records: s.log_records[range].to_vec(), ..s.clone() },
        |header: &ResourceLogs, scopes| ResourceLogs { scope_logs: scopes, ..header.clone() },
    ) {
        out.push(Batch::Logs(ExportLogsServiceRequest { resource_logs }, n));
    }
    Ok(out)
}

/// A resource group: the resource message without its scopes, and its scopes.
struct Group<R, S> {
    header: R,
    scopes: Vec<S>,
}

/// Requests of at most `batch` items (`len` of a scope group), each item keeping its resource and
/// scope: a scope group larger than a batch is cut (`cut` keeps a range of its items), and
/// `resource` puts scope groups back under their resource.
fn split<R, S>(
    groups: impl Iterator<Item = Group<R, S>>,
    batch: usize,
    len: impl Fn(&S) -> usize,
    cut: impl Fn(&S, std::ops::Range<usize>) -> S,
    resource: impl Fn(&R, Vec<S>) -> R,
) -> Vec<(Vec<R>, usize)> {
    let batch = batch.max(1);
    let mut out = Vec::new();
    let (mut current, mut count) = (Vec::new(), 0);
    for group in groups {
        let mut scopes = Vec::new();
        for scope in &group.scopes {
            let mut start = 0;
            while start < len(scope) {
                let take = (len(scope) - start).min(batch - count);
                scopes.push(cut(scope, start..start + take));
                (start, count) = (start + take, count + take);
                if count == batch {
                    current.push(resource(&group.header, std::mem::take(&mut scopes)));
                    out.push((std::mem::take(&mut current), count));
                    count = 0;
                }
            }
        }
        if !scopes.is_empty() {
            current.push(resource(&group.header, scopes));
        }
    }
    if count > 0 {
        out.push((current, count));
    }
    out
}

/// Where and how batches are sent.
enum Sender {
    Grpc(Box<GrpcClients>),
    Http { client: reqwest::Client, endpoint: String },
}

/// The three services' clients over one channel.
struct GrpcClients {
    traces: TraceServiceClient<tonic::transport::Channel>,
    metrics: MetricsServiceClient<tonic::transport::Channel>,
    logs: LogsServiceClient<tonic::transport::Channel>,
}

/// One attempt's outcome: sent, refused for good (with the endpoint's answer), or to retry
/// after a delay.
enum Attempt {
    Sent,
    Refused(String),
    Retry(Duration, String),
}

impl Sender {
    async fn new(args: &ReplayArgs) -> Result<Sender> {
        let endpoint = args.endpoint.trim_end_matches('/').to_owned();
        let https = endpoint.starts_with("https://");
        if args.ca_cert.is_some() && !https {
            bail!("--ca-cert is for an https:// endpoint, and {endpoint} is not one");
        }
        match args.protocol.as_str() {
            "grpc" => {
                let mut channel = tonic::transport::Endpoint::from_shared(endpoint.clone())
                    .with_context(|| format!("--endpoint {endpoint:?} is not a URL"))?;
                if https {
                    let mut tls = tonic::transport::ClientTlsConfig::new().with_native_roots();
                    if let Some(ca) = &args.ca_cert {
                        crate::tls::certificates(ca)?; // a clear error for a file that is no PEM
                        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
                        tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
                    }
                    channel = channel.tls_config(tls).context("the TLS configuration")?;
                }
                let channel = channel.connect().await.with_context(|| format!("connecting to {endpoint}"))?;
                Ok(Sender::Grpc(Box::new(GrpcClients {
                    traces: TraceServiceClient::new(channel.clone()),
                    metrics: MetricsServiceClient::new(channel.clone()),
                    logs: LogsServiceClient::new(channel),
                })))
            }
            "http/protobuf" => {
                let client = reqwest::Client::builder()
                    .tls_backend_preconfigured(crate::tls::client_config(args.ca_cert.as_deref())?)
                    .build()
                    .context("building the HTTP client")?;
                Ok(Sender::Http { client, endpoint })
            }
            other => bail!("--protocol {other:?}: use grpc or http/protobuf"),
        }
    }

    async fn attempt(&mut self, batch: &Batch, backoff: Duration) -> Attempt {
        match self {
            Sender::Grpc(clients) => {
                let sent = match batch {
                    Batch::Traces(r, _) => clients.traces.export(r.clone()).await.map(drop),
                    Batch::Metrics(r, _) => clients.metrics.export(r.clone()).await.map(drop),
                    Batch::Logs(r, _) => clients.logs.export(r.clone()).await.map(drop),
                };
                match sent {
                    Ok(()) => Attempt::Sent,
                    Err(status) => {
                        let answer = format!("{:?}: {}", status.code(), status.message());
                        match status.code() {
                            tonic::Code::Unavailable
                            | tonic::Code::ResourceExhausted
                            | tonic::Code::Aborted
                            | tonic::Code::DeadlineExceeded
                            | tonic::Code::Cancelled => Attempt::Retry(backoff, answer),
                            _ => Attempt::Refused(answer),
                        }
                    }
                }
            }
            Sender::Http { client, endpoint } => {
                let (path, body) = match batch {
                    Batch::Traces(r, _) => ("traces", r.encode_to_vec()),
                    Batch::Metrics(r, _) => ("metrics", r.encode_to_vec()),
                    Batch::Logs(r, _) => ("logs", r.encode_to_vec()),
                };
                let sent = client
                    .post(format!("{endpoint}/v1/{path}"))
                    .header("content-type", "application/x-protobuf")
                    .body(body)
                    .send()
                    .await;
                let response = match sent {
                    Ok(response) => response,
                    Err(e) => return Attempt::Retry(backoff, format!("{e}")),
                };
                let status = response.status();
                if status.is_success() {
                    return Attempt::Sent;
                }
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let answer = format!("HTTP {status}: {}", response.text().await.unwrap_or_default());
                if matches!(status.as_u16(), 429 | 502 | 503 | 504) {
                    Attempt::Retry(retry_after.unwrap_or(backoff), answer)
                } else {
                    Attempt::Refused(answer)
                }
            }
        }
    }
}

/// `opentelemetry-parquet replay`.
pub(crate) fn run(args: ReplayArgs) -> Result<()> {
    let reader = StoreReader::new(&args.dir);
    for signal in &args.signal {
        if !matches!(signal.as_str(), "traces" | "metrics" | "logs") {
            bail!("--signal {signal:?}: use traces, metrics or logs");
        }
    }
    let range = TimeRange { from: args.from, to: args.to };
    if let (Some(from), Some(to)) = (range.from, range.to) {
        anyhow::ensure!(from < to, "--from must be before --to: nothing lies between them");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let started = std::time::Instant::now();
        let mut sender = Sender::new(&args).await?;
        let mut summary = Vec::new();
        let mut retries = 0;
        // One signal at a time: read, cut into requests, send, and let go of it.
        for signal in &args.signal {
            let (name, batches) = match signal.as_str() {
                "traces" => ("spans", traces(&reader, args.batch, range)?),
                "metrics" => ("metrics", metrics(&reader, args.batch, range)?),
                _ => ("log records", logs(&reader, args.batch, range)?),
            };
            let total: usize = batches.iter().map(Batch::items).sum();
            let mut sent = 0;
            for (number, batch) in batches.iter().enumerate() {
                let mut backoff = Duration::from_millis(100);
                for attempt in 1..=args.attempts.max(1) {
                    match sender.attempt(batch, backoff).await {
                        Attempt::Sent => break,
                        Attempt::Refused(answer) => {
                            bail!(
                                "{signal} batch {} of {}: the endpoint refused it: {answer}",
                                number + 1,
                                batches.len()
                            )
                        }
                        Attempt::Retry(wait, answer) => {
                            if attempt == args.attempts.max(1) {
                                bail!(
                                    "{signal} batch {} of {}: still refused after {attempt} attempts: {answer}",
                                    number + 1,
                                    batches.len()
                                );
                            }
                            retries += 1;
                            eprintln!("replay: {signal}: retrying in {wait:?} ({answer})");
                            tokio::time::sleep(wait).await;
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                        }
                    }
                }
                sent += batch.items();
                eprintln!("replay: {signal}: {sent}/{total} {name} sent");
            }
            summary.push(format!("{total} {name}"));
        }
        eprintln!(
            "replay: sent {} from {} to {} ({}) in {:.1?}, {retries} retries",
            summary.join(", "),
            args.dir.display(),
            args.endpoint,
            args.protocol,
            started.elapsed()
        );
        Ok(())
    })
}

#[cfg(test)]
mod tests;
