//! A load benchmark of `opentelemetry-parquet serve` on loopback, bounded in time.
//!
//! Starts the real `opentelemetry-parquet serve` binary as a child process (ephemeral loopback
//! ports, a temporary store, the buffer capped with `OTEL_PARQUET_MAX_BUFFER_BYTES`) and, in
//! this process, a baseline server that decodes each request and discards it. Then, for each
//! client count N and each protocol (OTLP/gRPC with tonic, OTLP/HTTP/1.1 with a protobuf body),
//! N concurrent clients send the same export of 512 realistic spans (encoded once, so that the
//! clients spend little of the shared cores) for a fixed time, first to `serve`, then to the
//! baseline; a refused request (HTTP 503, gRPC `UNAVAILABLE`) is counted and retried after the
//! wait its answer asks for. Per case: spans/s, p50/p99 latency of the acknowledged requests
//! (first attempt to acknowledgment), requests and refusals; per serve case, the child's peak
//! RSS (`VmHWM`, Linux). At the end `serve` is stopped with SIGTERM (it flushes) and its store
//! must hold exactly the spans it acknowledged, or the run fails.
//!
//! ```text
//! cargo build --release -p opentelemetry-parquet-cli --bins --example serve_load
//! target/release/examples/serve_load [--quick] [--serve PATH] [--clients 1,4,16] [--seconds 5]
//! ```
//!
//! Prints one JSON object on stdout (what `cargo xtask bench` reads); progress goes to stderr.
//! The clients, the baseline and `serve` share the machine's cores: the ratio to the baseline
//! is the comparison, not the absolute figures.

mod clients;
mod servers;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use axum::body::Bytes;
use clap::Parser;
use prost::Message as _;
use serde_json::{json, Value};

use clients::{ClientRun, Protocol};
use servers::{Baseline, Serve};

#[derive(Debug, Parser)]
#[command(about = "Load benchmark of `opentelemetry-parquet serve` against a decode-and-discard baseline")]
struct Args {
    /// Small and short (N = 2, 1 s per case): proves the harness works, measures nothing.
    #[arg(long)]
    quick: bool,
    /// The `opentelemetry-parquet` binary (default: the one next to this example's directory,
    /// `target/<profile>/opentelemetry-parquet`).
    #[arg(long)]
    serve: Option<PathBuf>,
    /// Client counts, comma-separated (default 1,4,16; quick: 2).
    #[arg(long, value_delimiter = ',')]
    clients: Vec<usize>,
    /// Seconds each case sends for (default 5; quick: 1).
    #[arg(long)]
    seconds: Option<f64>,
    /// Spans per export request.
    #[arg(long, default_value_t = 512)]
    spans: usize,
    /// `serve`'s buffer cap in bytes (`OTEL_PARQUET_MAX_BUFFER_BYTES`).
    #[arg(long, default_value_t = 64 << 20)]
    cap: usize,
}

/// `target/<profile>/opentelemetry-parquet`, next to `target/<profile>/examples/`.
fn default_serve() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile = exe.parent().and_then(|d| d.parent()).context("this example is not in target/<profile>/examples")?;
    let serve = profile.join(format!("opentelemetry-parquet{}", std::env::consts::EXE_SUFFIX));
    if !serve.exists() {
        bail!(
            "{} does not exist: build it (cargo build -p opentelemetry-parquet-cli) or pass --serve",
            serve.display()
        );
    }
    Ok(serve)
}

/// One case's figures.
#[derive(Debug)]
struct Case {
    target: &'static str,
    protocol: Protocol,
    clients: usize,
    seconds: f64,
    requests: u64,
    refusals: u64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    peak_rss_bytes: Option<u64>,
}

impl Case {
    fn json(&self, spans_per_request: usize) -> Value {
        let spans = self.requests * spans_per_request as u64;
        json!({
            "target": self.target, "protocol": self.protocol.name(), "clients": self.clients,
            "seconds": self.seconds, "requests": self.requests, "spans": spans,
            "spans_per_second": spans as f64 / self.seconds, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms,
            "refusals": self.refusals, "peak_rss_bytes": self.peak_rss_bytes,
        })
    }
}

/// N clients of one protocol against one target for `duration`; the requests in flight at the
/// end are finished (and counted), so the elapsed time is until the last one is acknowledged.
async fn run_case(
    target: (&'static str, std::net::SocketAddr),
    protocol: Protocol,
    clients: usize,
    duration: Duration,
    body: &Bytes,
) -> Result<Case> {
    let started = Instant::now();
    let deadline = started + duration;
    let address = target.1;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        tasks.push(match protocol {
            Protocol::Grpc => tokio::spawn(clients::grpc_client(address, body.clone(), deadline)),
            Protocol::Http => tokio::spawn(clients::http_client(address, body.clone(), deadline)),
        });
    }
    let mut all = ClientRun::default();
    for task in tasks {
        let run = task.await.context("a client panicked")??;
        all.latencies.extend(run.latencies);
        all.refusals += run.refusals;
    }
    let seconds = started.elapsed().as_secs_f64();
    all.latencies.sort_unstable();
    Ok(Case {
        target: target.0,
        protocol,
        clients,
        seconds,
        requests: all.latencies.len() as u64,
        refusals: all.refusals,
        p50_ms: clients::quantile_ms(&all.latencies, 0.50),
        p99_ms: clients::quantile_ms(&all.latencies, 0.99),
        peak_rss_bytes: None,
    })
}

fn show(case: &Case, spans_per_request: usize) -> String {
    let ms = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.1}"));
    let rss = case.peak_rss_bytes.map_or(String::new(), |b| format!(", peak RSS {:.1} MiB", b as f64 / 1048576.0));
    format!(
        "{:<8} {:<4} N={:<3} {:>10.0} spans/s  p50 {:>7} ms  p99 {:>7} ms  {} requests, {} refusals{rss}",
        case.target,
        case.protocol.name(),
        case.clients,
        (case.requests * spans_per_request as u64) as f64 / case.seconds,
        ms(case.p50_ms),
        ms(case.p99_ms),
        case.requests,
        case.refusals,
    )
}

/// Waits for `serve` to go idle (at most 30 s), saying so when that takes a while.
fn settle(serve: &Serve) {
    let waited = serve.settle(Duration::from_secs(30));
    if waited > Duration::from_secs(1) {
        eprintln!("serve_load: waited {:.1} s for serve to finish writing", waited.as_secs_f64());
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let clients = match (&args.clients[..], args.quick) {
        ([], true) => vec![2],
        ([], false) => vec![1, 4, 16],
        (given, _) => given.to_vec(),
    };
    let duration = Duration::from_secs_f64(args.seconds.unwrap_or(if args.quick { 1.0 } else { 5.0 }));
    let serve_exe = match args.serve.clone() {
        Some(path) => path,
        None => default_serve()?,
    };
    let store = tempfile::tempdir().context("creating the store's temporary directory")?;
    let body = Bytes::from(clients::request(args.spans).encode_to_vec());
    eprintln!(
        "serve_load: {} spans per request ({} bytes), clients {clients:?}, {:.1} s per case, cap {} bytes",
        args.spans,
        body.len(),
        duration.as_secs_f64(),
        args.cap
    );

    let serve = Serve::start(&serve_exe, store.path(), args.cap)?;
    let idle_rss = serve.rss();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (cases, baseline_decoded) = runtime.block_on(async {
        let baseline = Baseline::start().await?;
        let mut cases = Vec::new();
        for &n in &clients {
            for protocol in [Protocol::Grpc, Protocol::Http] {
                let (serve_address, baseline_address) = match protocol {
                    Protocol::Grpc => (serve.grpc, baseline.grpc),
                    Protocol::Http => (serve.http, baseline.http),
                };
                // serve writes what it buffered in the background: not into the next case.
                settle(&serve);
                let reset = serve.reset_peak();
                let mut case = run_case(("serve", serve_address), protocol, n, duration, &body).await?;
                // Without a reset the peak is the process's since it started.
                case.peak_rss_bytes = if reset || cases.is_empty() { serve.peak_rss() } else { None };
                eprintln!("{}", show(&case, args.spans));
                cases.push(case);
                settle(&serve);
                let case = run_case(("baseline", baseline_address), protocol, n, duration, &body).await?;
                eprintln!("{}", show(&case, args.spans));
                cases.push(case);
            }
        }
        anyhow::Ok((cases, baseline.spans.load(std::sync::atomic::Ordering::Relaxed)))
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));

    eprintln!("serve_load: stopping serve (SIGTERM: it flushes what it acknowledged)");
    let (status, stop_time, stop_peak) = serve.stop()?;
    let per = args.spans as u64;
    let acknowledged: u64 = cases.iter().filter(|c| c.target == "serve").map(|c| c.requests * per).sum();
    let baseline_acknowledged: u64 = cases.iter().filter(|c| c.target == "baseline").map(|c| c.requests * per).sum();
    let (stored, files) = servers::stored_spans(store.path())?;
    let peak = cases.iter().filter_map(|c| c.peak_rss_bytes).chain(stop_peak).max();
    let results = json!({
        "quick": args.quick,
        "seconds_per_case": duration.as_secs_f64(),
        "spans_per_request": args.spans,
        "request_bytes": body.len(),
        "cap_bytes": args.cap,
        "idle_rss_bytes": idle_rss,
        "peak_rss_bytes": peak,
        "stop_seconds": stop_time.as_secs_f64(),
        "exit_status": status.code(),
        "spans_acknowledged": acknowledged,
        "spans_stored": stored,
        "files": files,
        "baseline_spans_acknowledged": baseline_acknowledged,
        "baseline_spans_decoded": baseline_decoded,
        "cases": cases.iter().map(|c| c.json(args.spans)).collect::<Vec<_>>(),
    });
    println!("{results}");
    eprintln!(
        "serve_load: serve exited ({status}) {:.1} s after SIGTERM; {stored} spans stored in {files} files, \
         {acknowledged} acknowledged",
        stop_time.as_secs_f64()
    );
    if baseline_decoded != baseline_acknowledged {
        bail!("the baseline decoded {baseline_decoded} spans but acknowledged {baseline_acknowledged}");
    }
    if cfg!(unix) {
        if !status.success() {
            bail!("serve exited with {status} after SIGTERM, not 0");
        }
        if stored != acknowledged {
            bail!("serve acknowledged {acknowledged} spans but its store holds {stored}: the benchmark lost data");
        }
    }
    Ok(())
}
