//! The library's lifecycle: the state shared by every handle and the writer thread, and the
//! rules for exports (backpressure at the memory cap), flushes (generations) and shutdown.
//!
//! ```text
//!   new ──first export/flush──> running ──shutdown()──> shutting down ──writer idle──> stopped
//!                                  │                          ▲
//!                                  └── writer panicked ──> broken (every call fails at once)
//! ```
//!
//! The writer thread starts on first use, not at construction, so a process that creates a
//! library and then forks (gunicorn `--preload`) has no thread to lose. A [`Handle`] remembers the
//! process that created it: in a forked child it never touches the parent's writer thread or
//! state lock (which the parent's thread may have held at the fork), and its drop does nothing.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::buffer::{Buffer, Chunk};
use crate::config::Config;
use crate::error::{error_chain, OtlpError, Result};
use crate::retention::RetentionStats;
use crate::table::resource::ResourceInfo;
use crate::writer::Writer;

/// Owned by the `OtlpLibrary` clones; its drop (the last clone's) shuts the library down.
pub(crate) struct Handle {
    /// In a forked child this is never released: the parent's writer thread owns a clone there
    /// that does not exist, and the state may be locked by that thread forever.
    shared: Arc<Shared>,
    /// The process this handle was created in.
    pid: u32,
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    /// The SDK's default resource of each SDK version (`crate::sdk`), rendered on first use by
    /// `export_traces`.
    pub(crate) default_resources: [OnceLock<Arc<ResourceInfo>>; 2],
    pub(crate) writer: Writer,
    state: Mutex<State>,
    /// Wakes the writer thread.
    pub(crate) work: Condvar,
    /// Wakes threads waiting for a flush to complete or for buffer space.
    pub(crate) done: Condvar,
    /// The writer thread, once started.
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Test-only fault injection: the writer panics at this point of its next cycle.
    #[cfg(test)]
    pub(crate) inject_panic: Mutex<Option<&'static str>>,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) buffer: Buffer,
    /// Chunks whose write failed; retried first by the next flush.
    pub(crate) pending: Vec<Chunk>,
    pub(crate) pending_bytes: usize,
    /// Bytes taken by the flush in progress.
    pub(crate) in_flight_bytes: usize,
    pub(crate) flush_requested: u64,
    pub(crate) flush_completed: u64,
    /// Outcome of the most recent flush cycle.
    pub(crate) last_error: Option<String>,
    /// The writer thread has been started.
    pub(crate) started: bool,
    /// The writer thread panicked or died: what happened. Every export and flush fails at once.
    pub(crate) broken: Option<String>,
    /// Exports are refused.
    pub(crate) shutdown: bool,
    /// The writer thread may leave once everything is written and no flush is outstanding.
    pub(crate) stop: bool,
    /// The last handle is gone and its final flush failed: the writer thread leaves regardless.
    pub(crate) abandon: bool,
    /// The writer thread has left.
    pub(crate) stopped: bool,
    /// What retention did since the library started.
    pub(crate) retention: RetentionStats,
}

impl State {
    pub(crate) fn held_bytes(&self) -> usize {
        self.buffer.bytes() + self.pending_bytes + self.in_flight_bytes
    }

    pub(crate) fn held_rows(&self) -> usize {
        self.buffer.rows() + self.pending.iter().map(|c| c.batch.num_rows()).sum::<usize>()
    }

    pub(crate) fn idle(&self) -> bool {
        self.buffer.is_empty() && self.pending.is_empty()
    }
}

impl Handle {
    pub(crate) fn new(config: Config) -> Result<Handle> {
        let writer = Writer::new(&config);
        writer.check_dir()?;
        let shared = Arc::new(Shared {
            config,
            default_resources: Default::default(),
            writer,
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            done: Condvar::new(),
            thread: Mutex::new(None),
            #[cfg(test)]
            inject_panic: Mutex::new(None),
        });
        Ok(Handle { shared, pid: std::process::id() })
    }

    pub(crate) fn config(&self) -> &Config {
        &self.shared.config
    }

    /// What retention did since the library started.
    pub(crate) fn retention_stats(&self) -> Result<RetentionStats> {
        Ok(self.shared()?.lock().retention.clone())
    }

    /// The shared state, or an error when this handle was inherited by a forked child.
    pub(crate) fn shared(&self) -> Result<&Arc<Shared>> {
        let current = std::process::id();
        if current != self.pid {
            return Err(OtlpError::ForkedProcess { created_in: self.pid, current });
        }
        Ok(&self.shared)
    }

    /// Refuses further exports, flushes, then stops the writer thread. When the flush fails or
    /// times out the thread keeps running (and retrying), so a later call can still succeed.
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let shared = self.shared()?;
        {
            let mut state = shared.lock();
            state.shutdown = true;
            if !state.started {
                // Nothing was ever exported or flushed: there is no thread to stop.
                state.stopped = true;
                return Ok(());
            }
        }
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
        shared.join();
        Ok(())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            // A forked child: the writer thread and its data belong to the parent. Keep the
            // shared state alive forever (one more reference) instead of touching it.
            std::mem::forget(Arc::clone(&self.shared));
            return;
        }
        let timeout = self.shared.config.export_timeout();
        if let Err(e) = self.shutdown(timeout) {
            let rows = {
                let mut state = self.shared.lock();
                state.abandon = true;
                self.shared.work.notify_all();
                state.held_rows()
            };
            self.shared.join();
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
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Appends are validated before they start and cannot fail half-way, so a panic while
        // holding the lock (which would mark the writer broken) leaves consistent state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn over_threshold(&self, state: &State) -> bool {
        state.buffer.rows() >= self.config.flush_rows() || state.buffer.bytes() >= self.config.flush_bytes()
    }

    /// Starts the writer thread on first use.
    fn ensure_started(self: &Arc<Self>, state: &mut State) -> Result<()> {
        if state.started {
            return Ok(());
        }
        let thread_shared = Arc::clone(self);
        let thread = std::thread::Builder::new()
            .name("opentelemetry-parquet-writer".into())
            .spawn(move || thread_shared.run())
            .map_err(|e| OtlpError::io(self.config.output_dir(), e))?;
        *self.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread);
        state.started = true;
        Ok(())
    }

    fn join(&self) {
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    /// Fails at once when the library cannot accept work.
    fn check_usable(state: &State) -> Result<()> {
        if let Some(reason) = &state.broken {
            return Err(OtlpError::WriterFailed { reason: reason.clone() });
        }
        if state.shutdown {
            return Err(OtlpError::AlreadyShutdown("OtlpLibrary"));
        }
        Ok(())
    }

    /// Appends `bytes` (the export's size, measured before the lock is taken) under the lock,
    /// after waiting for room while the buffer is at its cap. An export larger than the cap is
    /// refused whole, before anything is appended.
    pub(crate) fn ingest(self: &Arc<Self>, bytes: usize, append: impl FnOnce(&mut Buffer) -> usize) -> Result<usize> {
        let timeout = self.config.export_timeout();
        let cap = self.config.max_buffer_bytes();
        if bytes > cap {
            return Err(OtlpError::ExportTooLarge { bytes, limit_bytes: cap, limit: "max_buffer_bytes" });
        }
        let start = Instant::now();
        let mut state = self.lock();
        Self::check_usable(&state)?;
        if bytes == 0 {
            // Nothing to store (an empty request): no thread, no files.
            return Ok(0);
        }
        self.ensure_started(&mut state)?;
        loop {
            Self::check_usable(&state)?;
            if state.held_bytes() + bytes <= cap {
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
        let appended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| append(&mut state.buffer)));
        let rows = match appended {
            Ok(rows) => rows,
            Err(panic) => {
                // Cannot happen for validated input; if it does, the buffer cannot be trusted.
                let reason = format!("an export panicked while appending: {}", panic_message(&*panic));
                state.broken = Some(reason.clone());
                self.done.notify_all();
                return Err(OtlpError::WriterFailed { reason });
            }
        };
        if self.over_threshold(&state) {
            self.work.notify_all();
        }
        Ok(rows)
    }

    pub(crate) fn flush(self: &Arc<Self>, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        if let Some(reason) = &state.broken {
            return Err(OtlpError::WriterFailed { reason: reason.clone() });
        }
        if !state.started {
            if state.idle() {
                return Ok(());
            }
            self.ensure_started(&mut state)?;
        }
        state.flush_requested += 1;
        let generation = state.flush_requested;
        self.work.notify_all();
        // The writer only leaves once everything is written and no flush is outstanding.
        while state.flush_completed < generation && !state.stopped && state.broken.is_none() {
            let now = Instant::now();
            if now >= deadline {
                return Err(OtlpError::Timeout { operation: "flush", timeout });
            }
            state = self.done.wait_timeout(state, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
        if let Some(reason) = &state.broken {
            return Err(OtlpError::WriterFailed { reason: reason.clone() });
        }
        match &state.last_error {
            Some(message) if state.held_rows() > 0 => {
                Err(OtlpError::FlushFailed { rows: state.held_rows(), message: message.clone() })
            }
            _ => Ok(()),
        }
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::collector::trace::v1::ExportTraceServiceRequest;
    use crate::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn request(n: u8) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: (1..=n)
                        .map(|i| Span { span_id: vec![i; 8], name: format!("s{i}"), ..Default::default() })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn library(dir: &std::path::Path) -> crate::OtlpLibrary {
        crate::OtlpLibrary::new(
            Config::builder().output_dir(dir).flush_interval(Duration::from_secs(3600)).build().unwrap(),
        )
        .unwrap()
    }

    fn inject(lib: &crate::OtlpLibrary, at: Option<&'static str>) {
        *lib.handle.shared().unwrap().inject_panic.lock().unwrap() = at;
    }

    fn stored(dir: &std::path::Path) -> usize {
        let request = crate::StoreReader::new(dir).read_traces().unwrap();
        request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum()
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::OtlpLibrary>();
        send_sync::<crate::OtlpSpanExporter>();
        send_sync::<crate::OtlpMetricExporter>();
        send_sync::<crate::StoreReader>();
        send_sync::<crate::Config>();
        send_sync::<crate::OtlpError>();
        send_sync::<crate::RetentionStats>();
    }

    #[test]
    fn a_panic_while_writing_a_file_fails_the_flush_and_keeps_the_rows() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = library(tmp.path());
        lib.export_otlp_traces(&request(3)).unwrap();
        inject(&lib, Some("write"));
        match lib.flush() {
            Err(OtlpError::FlushFailed { rows: 3, message }) => assert!(message.contains("panicked"), "{message}"),
            other => panic!("expected FlushFailed, got {other:?}"),
        }
        // The writer survived: the retry writes every row once.
        lib.export_otlp_traces(&request(2)).unwrap();
        lib.flush().unwrap();
        assert_eq!(stored(tmp.path()), 5);
        lib.shutdown().unwrap();
    }

    #[test]
    fn a_broken_writer_fails_every_export_and_flush_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = library_with_long_timeout(tmp.path());
        lib.export_otlp_traces(&request(1)).unwrap();
        inject(&lib, Some("cycle"));
        let started = Instant::now();
        match lib.flush() {
            Err(OtlpError::WriterFailed { reason }) => assert!(reason.contains("panicked"), "{reason}"),
            other => panic!("expected WriterFailed, got {other:?}"),
        }
        for result in [lib.export_otlp_traces(&request(1)).map(|_| ()), lib.flush(), lib.shutdown()] {
            assert!(matches!(result, Err(OtlpError::WriterFailed { .. })), "{result:?}");
        }
        // "At once": nothing waited for the (one minute) export timeout.
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    fn library_with_long_timeout(dir: &std::path::Path) -> crate::OtlpLibrary {
        crate::OtlpLibrary::new(
            Config::builder()
                .output_dir(dir)
                .flush_interval(Duration::from_secs(3600))
                .export_timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        )
        .unwrap()
    }
}
