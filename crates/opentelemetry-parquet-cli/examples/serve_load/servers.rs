//! The two targets: the real `opentelemetry-parquet serve` as a child process, and an
//! in-process baseline that decodes each request and discards it.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse as _;
use opentelemetry_parquet::proto::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_parquet::proto::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_parquet::{read_file, StoreReader, Table};
use prost::Message as _;
use tokio::net::TcpListener;

/// Spans in a request.
pub(crate) fn span_count(request: &ExportTraceServiceRequest) -> u64 {
    request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len() as u64).sum()
}

/// The baseline's gRPC service: tonic decodes the request; it is counted and dropped.
#[derive(Debug, Clone)]
struct Discard {
    spans: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl TraceService for Discard {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.spans.fetch_add(span_count(request.get_ref()), Ordering::Relaxed);
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

/// The baseline's `/v1/traces`: decodes the protobuf body, counts its spans, answers 200.
async fn discard_http(
    axum::extract::State(spans): axum::extract::State<Arc<AtomicU64>>,
    body: Bytes,
) -> axum::response::Response {
    match ExportTraceServiceRequest::decode(&body[..]) {
        Ok(request) => {
            spans.fetch_add(span_count(&request), Ordering::Relaxed);
            let answer = ExportTraceServiceResponse { partial_success: None }.encode_to_vec();
            ([(header::CONTENT_TYPE, "application/x-protobuf")], answer).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("malformed request: {e}")).into_response(),
    }
}

/// The decode-and-discard baseline, listening on loopback in this process.
#[derive(Debug)]
pub(crate) struct Baseline {
    pub(crate) grpc: SocketAddr,
    pub(crate) http: SocketAddr,
    /// Spans decoded so far.
    pub(crate) spans: Arc<AtomicU64>,
}

impl Baseline {
    /// Binds both listeners on ephemeral loopback ports and serves until the runtime ends, with
    /// the same request size limit as `serve`'s default (64 MiB).
    pub(crate) async fn start() -> Result<Baseline> {
        const LIMIT: usize = 64 << 20;
        let spans = Arc::new(AtomicU64::new(0));
        let grpc_listener = TcpListener::bind("127.0.0.1:0").await?;
        let http_listener = TcpListener::bind("127.0.0.1:0").await?;
        let (grpc, http) = (grpc_listener.local_addr()?, http_listener.local_addr()?);
        let service = TraceServiceServer::new(Discard { spans: spans.clone() }).max_decoding_message_size(LIMIT);
        // TCP_NODELAY, as tonic's own `serve(address)` sets it (`serve_with_incoming` leaves
        // the listener's sockets as they are): without it every answer waits out the client's
        // delayed ACK, some 40 ms.
        let incoming = tonic::transport::server::TcpIncoming::from(grpc_listener).with_nodelay(Some(true));
        tokio::spawn(tonic::transport::Server::builder().add_service(service).serve_with_incoming(incoming));
        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(discard_http))
            .layer(axum::extract::DefaultBodyLimit::max(LIMIT))
            .with_state(spans.clone());
        tokio::spawn(async move { axum::serve(http_listener, app).await });
        Ok(Baseline { grpc, http, spans })
    }
}

/// `opentelemetry-parquet serve`, running as a child process on ephemeral loopback ports.
#[derive(Debug)]
pub(crate) struct Serve {
    child: Child,
    pub(crate) grpc: SocketAddr,
    pub(crate) http: SocketAddr,
}

/// The address after `prefix` on a line like `serve: OTLP/gRPC on 127.0.0.1:4317 (...)`.
fn address_after(line: &str, prefix: &str) -> Result<Option<SocketAddr>> {
    let Some(rest) = line.strip_prefix(prefix) else { return Ok(None) };
    let address = rest.split_whitespace().next().unwrap_or_default();
    address.parse().map(Some).with_context(|| format!("no address in {line:?}"))
}

impl Serve {
    /// Starts `exe serve` into `dir` with the buffer capped at `cap` bytes
    /// (`OTEL_PARQUET_MAX_BUFFER_BYTES`), and waits until it says it is storing. Its stderr is
    /// echoed to ours, indented.
    pub(crate) fn start(exe: &Path, dir: &Path, cap: usize) -> Result<Serve> {
        let mut child = Command::new(exe)
            .args(["serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--output-dir"])
            .arg(dir)
            .env("OTEL_PARQUET_MAX_BUFFER_BYTES", cap.to_string())
            .env_remove("OTEL_PARQUET_SERVE_BEARER_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {} serve", exe.display()))?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("    | {line}");
                let _ = lines.send(line);
            }
        });
        let (mut grpc, mut http) = (None, None);
        let started = Instant::now();
        loop {
            let timeout = Duration::from_secs(60).saturating_sub(started.elapsed());
            let line = match received.recv_timeout(timeout) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    bail!("{} serve exited before it listened ({:?}); its stderr is above", exe.display(), child.wait())
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    bail!("{} serve did not say it was storing within 60 s", exe.display());
                }
            };
            grpc = grpc.or(address_after(&line, "serve: OTLP/gRPC on ")?);
            http = http.or(address_after(&line, "serve: OTLP/HTTP on ")?);
            if line.starts_with("serve: storing into") {
                break;
            }
        }
        match (grpc, http) {
            (Some(grpc), Some(http)) => Ok(Serve { child, grpc, http }),
            _ => {
                let _ = child.kill();
                bail!("serve did not print both listeners' addresses")
            }
        }
    }

    /// The child's peak resident memory since the last [`reset_peak`](Self::reset_peak), in
    /// bytes (`VmHWM`, Linux only).
    pub(crate) fn peak_rss(&self) -> Option<u64> {
        status_field(self.child.id(), "VmHWM:")
    }

    /// The child's resident memory now, in bytes (`VmRSS`, Linux only).
    pub(crate) fn rss(&self) -> Option<u64> {
        status_field(self.child.id(), "VmRSS:")
    }

    /// Resets the peak to the current resident size (Linux >= 4.0: `5` into `clear_refs`), so
    /// that each case's peak is its own. Returns whether it could.
    pub(crate) fn reset_peak(&self) -> bool {
        reset_peak(self.child.id())
    }

    /// Waits (at most `limit`) until the child has stopped using the CPU (under 10 ms in 200 ms,
    /// Linux), so that what it still writes from one case does not run into the next one's
    /// measurement. Returns how long it waited.
    pub(crate) fn settle(&self, limit: Duration) -> Duration {
        let started = Instant::now();
        let mut last = cpu_ticks(self.child.id());
        while last.is_some() && started.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(200));
            let now = cpu_ticks(self.child.id());
            if let (Some(a), Some(b)) = (last, now) {
                if b.saturating_sub(a) <= 1 {
                    break;
                }
            }
            last = now;
        }
        started.elapsed()
    }

    /// Stops the server as an operator would (SIGTERM: it finishes the requests in flight and
    /// flushes everything acknowledged), waits for it, and returns its exit status, how long
    /// stopping took, and its peak RSS seen up to the end.
    pub(crate) fn stop(mut self) -> Result<(ExitStatus, Duration, Option<u64>)> {
        let started = Instant::now();
        terminate(&mut self.child)?;
        let mut peak = None;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok((status, started.elapsed(), peak));
            }
            peak = self.peak_rss().or(peak);
            if started.elapsed() > Duration::from_secs(600) {
                let _ = self.child.kill();
                bail!("serve did not exit within 600 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[cfg(unix)]
fn terminate(child: &mut Child) -> Result<()> {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().context("running kill")?;
    if !status.success() {
        bail!("kill -TERM {} failed ({status})", child.id());
    }
    Ok(())
}

/// Without signals the child is killed: what it had not flushed is lost, so the store is not
/// checked there.
#[cfg(not(unix))]
fn terminate(child: &mut Child) -> Result<()> {
    child.kill().context("killing serve")
}

#[cfg(target_os = "linux")]
fn status_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(not(target_os = "linux"))]
fn status_field(_pid: u32, _field: &str) -> Option<u64> {
    None
}

/// User and system CPU time of a process, in clock ticks (`/proc/<pid>/stat`, fields 14 and 15).
#[cfg(target_os = "linux")]
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[cfg(not(target_os = "linux"))]
fn cpu_ticks(_pid: u32) -> Option<u64> {
    None
}

#[cfg(target_os = "linux")]
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

#[cfg(not(target_os = "linux"))]
fn reset_peak(_pid: u32) -> bool {
    false
}

/// Rows in the store's `traces` files (each file read, one at a time), and how many files.
pub(crate) fn stored_spans(dir: &Path) -> Result<(u64, usize)> {
    let files = StoreReader::new(dir).files(Table::Traces).context("listing the traces files")?;
    let mut rows = 0;
    for file in &files {
        let batches = read_file(file).with_context(|| format!("reading {}", file.display()))?;
        rows += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
    }
    Ok((rows, files.len()))
}
