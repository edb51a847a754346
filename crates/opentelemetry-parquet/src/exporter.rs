//! What the span and metric exporters share: the library and the exporter's own shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::{OtlpError, Result};
use crate::OtlpLibrary;

/// An exporter's library and shutdown flag. The SDK shuts an exporter down with its provider:
/// that flushes the library and refuses the exporter's later exports (`AlreadyShutdown`), but
/// leaves the library running for its other exporters.
#[derive(Debug)]
pub(crate) struct ExporterLifecycle {
    library: OtlpLibrary,
    is_shutdown: AtomicBool,
    /// The exporter's type, named by `AlreadyShutdown`.
    name: &'static str,
}

impl ExporterLifecycle {
    pub(crate) fn new(library: OtlpLibrary, name: &'static str) -> Self {
        ExporterLifecycle { library, is_shutdown: AtomicBool::new(false), name }
    }

    /// The library, unless this exporter was shut down.
    pub(crate) fn accepting(&self) -> Result<&OtlpLibrary> {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OtlpError::AlreadyShutdown(self.name));
        }
        Ok(&self.library)
    }

    /// The library's `export_timeout`, used where the SDK would pass its own fixed default.
    pub(crate) fn export_timeout(&self) -> Duration {
        self.library.config().export_timeout()
    }

    pub(crate) fn flush(&self, timeout: Duration) -> Result<()> {
        self.library.flush_with_timeout(timeout)
    }

    /// Refuses later exports and flushes; the library keeps running.
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<()> {
        self.is_shutdown.store(true, Ordering::Release);
        self.flush(timeout)
    }
}
