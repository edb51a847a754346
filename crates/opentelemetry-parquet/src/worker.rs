//! The writer thread: takes the buffer's finished chunks and writes them as files, on the flush
//! interval, when a threshold is passed, and when a flush is requested.
//!
//! It survives every error: a failed write keeps its chunk for the next cycle, a panic inside a
//! write is turned into that chunk's error, and any other panic marks the library broken (every
//! export and flush then fails at once with [`OtlpError::WriterFailed`](crate::OtlpError)) rather
//! than leaving callers waiting on a thread that is gone.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use crate::buffer::{Buffer, Chunk};
use crate::error::error_chain;
use crate::lifecycle::{panic_message, Shared, State};
use crate::retention::RetentionStats;

/// The stats of a retention pass that panicked.
fn failed_pass(panic: &(dyn std::any::Any + Send)) -> RetentionStats {
    RetentionStats { last_error: Some(format!("retention panicked: {}", panic_message(panic))), ..Default::default() }
}

/// Marks the library broken if the writer thread leaves by unwinding.
struct ExitGuard<'a>(&'a Shared);

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.lock();
            state.broken.get_or_insert_with(|| "the writer thread panicked".to_owned());
            state.stopped = true;
            self.0.done.notify_all();
        }
    }
}

impl Shared {
    /// The writer thread's loop.
    pub(crate) fn run(&self) {
        let _guard = ExitGuard(self);
        // Temporary files of crashed writers, once per library.
        let orphans = catch_unwind(AssertUnwindSafe(|| crate::retention::remove_orphans(&self.writer)))
            .unwrap_or_else(|panic| failed_pass(&*panic));
        self.lock().retention.add(&orphans);
        let interval = self.config.flush_interval();
        let mut next_flush = Instant::now() + interval;
        let mut state = self.lock();
        loop {
            let idle = state.idle();
            let requested = state.flush_requested > state.flush_completed;
            // Leave once stopped with nothing left to write and no flush outstanding, or when the
            // last handle gave up on unwritable data, or when broken.
            if state.abandon || state.broken.is_some() || (state.stop && idle && !requested) {
                state.stopped = true;
                self.done.notify_all();
                return;
            }
            let now = Instant::now();
            let due = now >= next_flush && !idle;
            if !(requested || due || self.over_threshold(&state)) {
                let wait = next_flush.saturating_duration_since(now).max(Duration::from_millis(1));
                state = self.work.wait_timeout(state, wait).unwrap_or_else(|e| e.into_inner()).0;
                if Instant::now() >= next_flush && state.idle() {
                    next_flush = Instant::now() + interval;
                }
                continue;
            }
            let (next, written) = match catch_unwind(AssertUnwindSafe(|| self.cycle(state))) {
                Ok(result) => result,
                Err(panic) => {
                    let mut state = self.lock();
                    state.broken = Some(format!("the writer thread panicked: {}", panic_message(&*panic)));
                    state.stopped = true;
                    self.done.notify_all();
                    return;
                }
            };
            state = next;
            next_flush = Instant::now() + interval;
            if !written.is_empty() {
                drop(state);
                // Retention, off the write path: the flush waiters were answered already.
                let stats = self.retention(&written);
                state = self.lock();
                state.retention.add(&stats);
            }
        }
    }

    /// A retention pass after a cycle that wrote `written`. A panic in it is reported in the
    /// stats; it never stops the writer.
    fn retention(&self, written: &[PathBuf]) -> RetentionStats {
        catch_unwind(AssertUnwindSafe(|| crate::retention::after_cycle(&self.config, &self.writer, written)))
            .unwrap_or_else(|panic| failed_pass(&*panic))
    }

    /// One flush cycle: takes everything buffered, writes it outside the lock, and records the
    /// outcome. Returns the lock again and the files written.
    fn cycle<'a>(&'a self, mut state: MutexGuard<'a, State>) -> (MutexGuard<'a, State>, Vec<PathBuf>) {
        #[cfg(test)]
        self.injected("cycle");
        let generation = state.flush_requested;
        let (deferred, deferred_bytes) = state.buffer.take_deferred();
        let taken = state.buffer.take();
        let mut chunks = std::mem::take(&mut state.pending);
        state.pending_bytes = 0;
        let mut last_error = None;
        match taken {
            Ok(new) => chunks.extend(new),
            Err(e) => last_error = Some(error_chain(&e)),
        }
        // A chunk being written is held twice: as its finished Arrow arrays and as the Parquet
        // encoder's pages of them (a file's column chunks stay in memory until it is closed).
        // The deferred exports, while they become chunks, are held as they came and as columns.
        state.in_flight_bytes = 2 * (chunks.iter().map(|c| c.bytes).sum::<usize>() + deferred_bytes);
        drop(state);

        // The exports that handed their data over become columns here, off the exporting threads
        // and outside the lock (in chunks of their own).
        if !deferred.is_empty() {
            let mut columns = Buffer::default();
            for export in &deferred {
                columns.append_deferred(export);
            }
            drop(deferred);
            match columns.take() {
                Ok(new) => chunks.extend(new),
                Err(e) => last_error = Some(error_chain(&e)),
            }
        }

        let mut failed: Vec<Chunk> = Vec::new();
        let mut written = Vec::new();
        for chunk in chunks {
            let write = || {
                #[cfg(test)]
                self.injected("write");
                self.writer.write(&chunk)
            };
            match catch_unwind(AssertUnwindSafe(write)) {
                Ok(Ok(path)) => written.push(path),
                Ok(Err(e)) => {
                    last_error = Some(error_chain(&e));
                    failed.push(chunk);
                }
                Err(panic) => {
                    last_error = Some(format!("writing a {} file panicked: {}", chunk.table, panic_message(&*panic)));
                    failed.push(chunk);
                }
            }
        }

        let mut state = self.lock();
        state.in_flight_bytes = 0;
        state.pending_bytes = failed.iter().map(|c| c.bytes).sum();
        state.pending = failed;
        state.last_error = last_error;
        state.flush_completed = state.flush_completed.max(generation);
        self.done.notify_all();
        (state, written)
    }
}

#[cfg(test)]
impl Shared {
    /// Panics (once) when a test asked for a panic at `point`.
    fn injected(&self, point: &str) {
        let mut inject = self.inject_panic.lock().unwrap_or_else(|e| e.into_inner());
        if *inject == Some(point) {
            *inject = None;
            drop(inject);
            panic!("injected panic at {point}");
        }
    }
}
