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
use opentelemetry_parquet::proto::metrics::v1::{ResourceMetrics, ScopeMetrics};
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

fn traces(reader: &StoreReader, batch: usize) -> Result<Vec<Batch>> {
    let request = reader.read_traces()?;
    let groups = request.resource_spans.into_iter().map(|mut rs| {
        let scopes = std::mem::take(&mut rs.scope_spans);
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

fn metrics(reader: &StoreReader, batch: usize) -> Result<Vec<Batch>> {
    let request = reader.read_metrics()?;
    let groups = request.resource_metrics.into_iter().map(|mut rm| {
        let scopes = std::mem::take(&mut rm.scope_metrics);
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

fn logs(reader: &StoreReader, batch: usize) -> Result<Vec<Batch>> {
    let request = reader.read_logs()?;
    let groups = request.resource_logs.into_iter().map(|mut rl| {
        let scopes = std::mem::take(&mut rl.scope_logs);
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
        match args.protocol.as_str() {
            "grpc" => {
                let channel = tonic::transport::Endpoint::from_shared(endpoint.clone())
                    .with_context(|| format!("--endpoint {endpoint:?} is not a URL"))?
                    .connect()
                    .await
                    .with_context(|| format!("connecting to {endpoint}"))?;
                Ok(Sender::Grpc(Box::new(GrpcClients {
                    traces: TraceServiceClient::new(channel.clone()),
                    metrics: MetricsServiceClient::new(channel.clone()),
                    logs: LogsServiceClient::new(channel),
                })))
            }
            "http/protobuf" => Ok(Sender::Http { client: reqwest::Client::new(), endpoint }),
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
    let mut plan = Vec::new();
    for signal in &args.signal {
        let (name, batches) = match signal.as_str() {
            "traces" => ("spans", traces(&reader, args.batch)?),
            "metrics" => ("metrics", metrics(&reader, args.batch)?),
            "logs" => ("log records", logs(&reader, args.batch)?),
            other => bail!("--signal {other:?}: use traces, metrics or logs"),
        };
        plan.push((signal.clone(), name, batches));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let started = std::time::Instant::now();
        let mut sender = Sender::new(&args).await?;
        let mut summary = Vec::new();
        let mut retries = 0;
        for (signal, name, batches) in &plan {
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
