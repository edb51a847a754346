//! [`OtlpLibrary`]: the shared store every exporter writes into.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::trace::SpanData;
use prost::Message as _;

use crate::buffer::{sdk_span_scopes, Buffer, Chunk, PreparedMetrics, PreparedSdkMetrics, PreparedTraces};
use crate::config::Config;
use crate::error::{error_chain, OtlpError, Result};
use crate::table::columns::ResourceInfo;
use crate::writer::Writer;

/// Buffers OpenTelemetry data and writes it as Parquet (or Arrow IPC) files.
///
/// Cheap to clone: clones share one buffer and one background writer thread. Exports only
/// append to memory; all disk I/O happens on the writer thread, so `OtlpLibrary` works without
/// an async runtime and does not block a tokio executor on disk I/O. Data is flushed every
/// `flush_interval`, when the buffer passes `flush_rows` / `flush_bytes`, on
/// [`flush`](Self::flush), on [`shutdown`](Self::shutdown), and when the last clone (including
/// those held by exporters) is dropped.
///
/// # Example
/// ```
/// use opentelemetry_parquet::{Config, OtlpLibrary};
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use opentelemetry::trace::{Tracer, TracerProvider};
///
/// # let dir = tempfile::tempdir()?;
/// let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build()?)?;
/// let provider = SdkTracerProvider::builder()
///     .with_batch_exporter(library.span_exporter())
///     .build();
/// provider.tracer("example").in_span("work", |_cx| {});
/// provider.shutdown()?; // flushes: the span is on disk now
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct OtlpLibrary {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for OtlpLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpLibrary").field("output_dir", &self.handle.shared.config.output_dir()).finish()
    }
}

/// Owned by the `OtlpLibrary` clones; its drop (the last clone's) shuts the library down.
struct Handle {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    config: Config,
    /// The SDK's default resource, rendered on first use by `export_traces`.
    default_resource: OnceLock<ResourceInfo>,
    writer: Writer,
    state: Mutex<State>,
    /// Wakes the writer thread.
    work: Condvar,
    /// Wakes threads waiting for a flush to complete or for buffer space.
    done: Condvar,
}

#[derive(Default)]
struct State {
    buffer: Buffer,
    /// Chunks whose write failed; retried first by the next flush.
    pending: Vec<Chunk>,
    pending_bytes: usize,
    /// Bytes taken by the flush in progress.
    in_flight_bytes: usize,
    flush_requested: u64,
    flush_completed: u64,
    /// Outcome of the most recent flush cycle.
    last_error: Option<String>,
    /// Exports are refused.
    shutdown: bool,
    /// The writer thread may leave once everything is written and no flush is outstanding.
    stop: bool,
    /// The last handle is gone and its final flush failed: the writer thread leaves regardless.
    abandon: bool,
    /// The writer thread has left.
    stopped: bool,
}

impl State {
    fn held_bytes(&self) -> usize {
        self.buffer.bytes() + self.pending_bytes + self.in_flight_bytes
    }

    fn held_rows(&self) -> usize {
        self.buffer.rows() + self.pending.iter().map(|c| c.batch.num_rows()).sum::<usize>()
    }
}

impl OtlpLibrary {
    /// Creates the output directory (checking that it is writable) and starts the writer thread.
    ///
    /// # Errors
    /// [`OtlpError::OutputDir`] when the directory cannot be created or written.
    pub fn new(config: Config) -> Result<OtlpLibrary> {
        let writer = Writer::new(&config);
        writer.check_dir()?;
        let shared = Arc::new(Shared {
            config,
            default_resource: OnceLock::new(),
            writer,
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            done: Condvar::new(),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("opentelemetry-parquet-writer".into())
            .spawn(move || thread_shared.run())
            .map_err(|e| OtlpError::io(shared.config.output_dir(), e))?;
        Ok(OtlpLibrary { handle: Arc::new(Handle { shared, thread: Mutex::new(Some(thread)) }) })
    }

    /// The configuration this library was created with.
    pub fn config(&self) -> &Config {
        &self.handle.shared.config
    }

    /// Stores SDK spans with the SDK's default resource (`service.name` from
    /// `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `telemetry.sdk.*`), the one a tracer
    /// provider without `with_resource` uses; returns the rows accepted.
    ///
    /// # Errors
    /// [`OtlpError::AlreadyShutdown`] after [`shutdown`](Self::shutdown);
    /// [`OtlpError::BufferFull`] when no buffer space was freed within `export_timeout`.
    pub fn export_traces(&self, spans: Vec<SpanData>) -> Result<usize> {
        let resource = self
            .handle
            .shared
            .default_resource
            .get_or_init(|| ResourceInfo::from_sdk(&opentelemetry_sdk::Resource::builder().build()));
        self.export_span_data(&spans, resource)
    }

    /// Stores SDK spans with the resource they came from; returns the rows accepted.
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_traces_with_resource(
        &self,
        spans: Vec<SpanData>,
        resource: &opentelemetry_sdk::Resource,
    ) -> Result<usize> {
        self.export_span_data(&spans, &ResourceInfo::from_sdk(resource))
    }

    pub(crate) fn export_span_data(&self, spans: &[SpanData], resource: &ResourceInfo) -> Result<usize> {
        let scopes = sdk_span_scopes(spans);
        self.handle.shared.ingest(|b| b.append_sdk_spans(resource, spans, &scopes))
    }

    /// Stores the SDK's metrics, taking ownership; the rows are identical to
    /// [`export_metrics_ref`](Self::export_metrics_ref).
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_metrics(&self, metrics: ResourceMetrics) -> Result<usize> {
        self.export_metrics_ref(&metrics)
    }

    /// Stores the SDK's metrics by reference: data points are read in place and appended to the
    /// column buffers, never copied into an intermediate structure.
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_metrics_ref(&self, metrics: &ResourceMetrics) -> Result<usize> {
        let prepared = PreparedSdkMetrics::new(metrics);
        self.handle.shared.ingest(|b| b.append_sdk_metrics(&prepared))
    }

    /// Stores a decoded OTLP traces request; returns the spans accepted.
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_otlp_traces(&self, request: &ExportTraceServiceRequest) -> Result<usize> {
        let prepared = PreparedTraces::new(request);
        self.handle.shared.ingest(|b| b.append_otlp_traces(&prepared))
    }

    /// Stores a decoded OTLP metrics request; returns the data points accepted.
    ///
    /// # Errors
    /// As [`export_traces`](Self::export_traces).
    pub fn export_otlp_metrics(&self, request: &ExportMetricsServiceRequest) -> Result<usize> {
        let prepared = PreparedMetrics::new(request);
        self.handle.shared.ingest(|b| b.append_otlp_metrics(&prepared))
    }

    /// Decodes and stores a protobuf-encoded `ExportTraceServiceRequest`.
    ///
    /// # Errors
    /// [`OtlpError::Decode`] (and nothing stored) when the bytes are not a valid request; otherwise
    /// as [`export_traces`](Self::export_traces).
    pub fn export_otlp_traces_bytes(&self, bytes: &[u8]) -> Result<usize> {
        let request = ExportTraceServiceRequest::decode(bytes)
            .map_err(|source| OtlpError::Decode { message: "ExportTraceServiceRequest", source })?;
        self.export_otlp_traces(&request)
    }

    /// Decodes and stores a protobuf-encoded `ExportMetricsServiceRequest`.
    ///
    /// # Errors
    /// As [`export_otlp_traces_bytes`](Self::export_otlp_traces_bytes).
    pub fn export_otlp_metrics_bytes(&self, bytes: &[u8]) -> Result<usize> {
        let request = ExportMetricsServiceRequest::decode(bytes)
            .map_err(|source| OtlpError::Decode { message: "ExportMetricsServiceRequest", source })?;
        self.export_otlp_metrics(&request)
    }

    /// Writes everything accepted so far; when it returns `Ok`, that data is durably on disk.
    /// Waits at most `export_timeout`.
    ///
    /// # Errors
    /// [`OtlpError::FlushFailed`] when a write failed (the data stays buffered and is retried);
    /// [`OtlpError::Timeout`] when the write did not finish in time (it continues in the background).
    pub fn flush(&self) -> Result<()> {
        self.flush_with_timeout(self.config().export_timeout())
    }

    /// [`flush`](Self::flush) with an explicit time limit.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    pub fn flush_with_timeout(&self, timeout: Duration) -> Result<()> {
        self.handle.shared.flush(timeout)
    }

    /// Flushes, then stops the writer thread. Idempotent: later calls return `Ok`. Afterwards
    /// every export returns [`OtlpError::AlreadyShutdown`].
    ///
    /// # Errors
    /// As [`flush`](Self::flush); on a timeout the writer thread keeps running until done.
    pub fn shutdown(&self) -> Result<()> {
        self.shutdown_with_timeout(self.config().export_timeout())
    }

    /// [`shutdown`](Self::shutdown) with an explicit time limit.
    ///
    /// # Errors
    /// As [`shutdown`](Self::shutdown).
    pub fn shutdown_with_timeout(&self, timeout: Duration) -> Result<()> {
        self.handle.shutdown(timeout)
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.handle.shared.lock().shutdown
    }
}

impl Handle {
    /// Refuses further exports, flushes, then stops the writer thread. When the flush fails or
    /// times out the thread keeps running (and retrying), so a later call can still succeed.
    fn shutdown(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let shared = &self.shared;
        shared.lock().shutdown = true;
        shared.flush(timeout).map_err(|e| match e {
            OtlpError::Timeout { .. } => OtlpError::Timeout { operation: "shutdown", timeout },
            other => other,
        })?;
        {
            let mut state = shared.lock();
            state.stop = true;
            shared.work.notify_all();
            while !state.stopped {
                let now = Instant::now();
                if now >= deadline {
                    return Err(OtlpError::Timeout { operation: "shutdown", timeout });
                }
                state = shared.done.wait_timeout(state, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
            }
        }
        if let Some(thread) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = thread.join();
        }
        Ok(())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let timeout = self.shared.config.export_timeout();
        if let Err(e) = self.shutdown(timeout) {
            let rows = {
                let mut state = self.shared.lock();
                state.abandon = true;
                self.shared.work.notify_all();
                state.held_rows()
            };
            if let Some(thread) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
                let _ = thread.join();
            }
            let rows = rows.max(self.shared.lock().held_rows());
            if rows > 0 {
                // Nobody is left to return this to; say it rather than lose data silently.
                eprintln!(
                    "opentelemetry-parquet: the last handle was dropped but {rows} rows could not be written to {}: {}",
                    self.shared.config.output_dir().display(),
                    error_chain(&e)
                );
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent state (appends cannot fail half-way).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn over_threshold(&self, state: &State) -> bool {
        state.buffer.rows() >= self.config.flush_rows() || state.buffer.bytes() >= self.config.flush_bytes()
    }

    /// Appends under the lock, after waiting for room while the buffer is at its cap.
    fn ingest(&self, append: impl FnOnce(&mut Buffer) -> usize) -> Result<usize> {
        let timeout = self.config.export_timeout();
        let cap = self.config.max_buffer_bytes();
        let start = Instant::now();
        let mut state = self.lock();
        loop {
            if state.shutdown {
                return Err(OtlpError::AlreadyShutdown("OtlpLibrary"));
            }
            // Let one export through when nothing is held, however large, so it can be written.
            if state.held_bytes() < cap || state.held_bytes() == 0 {
                break;
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(OtlpError::BufferFull {
                    buffered_bytes: state.held_bytes(),
                    cap_bytes: cap,
                    waited,
                    last_error: state.last_error.clone().unwrap_or_else(|| "none".into()),
                });
            }
            self.work.notify_all();
            state = self.done.wait_timeout(state, timeout - waited).unwrap_or_else(|e| e.into_inner()).0;
        }
        let rows = append(&mut state.buffer);
        if self.over_threshold(&state) {
            self.work.notify_all();
        }
        Ok(rows)
    }

    fn flush(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        state.flush_requested += 1;
        let generation = state.flush_requested;
        self.work.notify_all();
        // The writer only leaves once everything is written and no flush is outstanding.
        while state.flush_completed < generation && !state.stopped {
            let now = Instant::now();
            if now >= deadline {
                return Err(OtlpError::Timeout { operation: "flush", timeout });
            }
            state = self.done.wait_timeout(state, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
        match &state.last_error {
            Some(message) if state.held_rows() > 0 => {
                Err(OtlpError::FlushFailed { rows: state.held_rows(), message: message.clone() })
            }
            _ => Ok(()),
        }
    }

    /// The writer thread.
    fn run(&self) {
        let interval = self.config.flush_interval();
        let mut next_flush = Instant::now() + interval;
        let mut state = self.lock();
        loop {
            let idle = state.buffer.is_empty() && state.pending.is_empty();
            let requested = state.flush_requested > state.flush_completed;
            // Leave once stopped with nothing left to write and no flush outstanding, or when the
            // last handle gave up on unwritable data.
            if state.abandon || (state.stop && idle && !requested) {
                state.stopped = true;
                self.done.notify_all();
                return;
            }
            let now = Instant::now();
            let due = now >= next_flush && !idle;
            if !(requested || due || self.over_threshold(&state)) {
                let wait = next_flush.saturating_duration_since(now).max(Duration::from_millis(1));
                state = self.work.wait_timeout(state, wait).unwrap_or_else(|e| e.into_inner()).0;
                if Instant::now() >= next_flush && state.buffer.is_empty() && state.pending.is_empty() {
                    next_flush = Instant::now() + interval;
                }
                continue;
            }
            let generation = state.flush_requested;
            let taken = state.buffer.take();
            let mut chunks = std::mem::take(&mut state.pending);
            state.pending_bytes = 0;
            let mut last_error = None;
            match taken {
                Ok(new) => chunks.extend(new),
                Err(e) => last_error = Some(error_chain(&e)),
            }
            state.in_flight_bytes = chunks.iter().map(|c| c.bytes).sum();
            drop(state);

            let mut failed = Vec::new();
            let written = chunks.len();
            for chunk in chunks {
                if let Err(e) = self.writer.write(&chunk) {
                    last_error = Some(error_chain(&e));
                    failed.push(chunk);
                }
            }
            let wrote = failed.len() < written;
            if wrote && (self.config.retention_max_age().is_some() || self.config.retention_max_bytes().is_some()) {
                crate::retention::enforce(
                    self.config.output_dir(),
                    self.config.retention_max_age(),
                    self.config.retention_max_bytes(),
                    SystemTime::now(),
                );
            }

            state = self.lock();
            state.in_flight_bytes = 0;
            state.pending_bytes = failed.iter().map(|c| c.bytes).sum();
            state.pending = failed;
            state.last_error = last_error;
            state.flush_completed = state.flush_completed.max(generation);
            next_flush = Instant::now() + interval;
            self.done.notify_all();
        }
    }
}
