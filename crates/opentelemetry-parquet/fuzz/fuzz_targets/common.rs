//! Shared by the fuzz targets: inputs go into one store per [`PER_STORE`] inputs, which is then
//! shut down (flushed) and read back whole. An accepted input must be stored and read back; a
//! refused one gets a typed error, never a panic.

use std::path::Path;
use std::sync::Mutex;

use opentelemetry_parquet::{Config, StoreReader, Table};

/// Inputs per store.
const PER_STORE: usize = 256;

/// A library the targets export into.
pub trait Library: Sized {
    /// Opens a library on `dir`.
    fn open(dir: &Path) -> Self;
    /// Flushes and stops it; panics when the flush fails.
    fn close(self);
}

impl Library for opentelemetry_parquet::OtlpLibrary {
    fn open(dir: &Path) -> Self {
        Self::new(Config::builder().output_dir(dir).build().expect("config")).expect("library")
    }

    fn close(self) {
        self.shutdown().unwrap_or_else(|e| panic!("shutdown: {}", e.full_message()));
    }
}

impl Library for opentelemetry_parquet_ffi::OtlpLibrary {
    fn open(dir: &Path) -> Self {
        let config = opentelemetry_parquet_ffi::ParquetConfig {
            output_dir: Some(dir.display().to_string()),
            ..Default::default()
        };
        Self::new(config).expect("library")
    }

    fn close(self) {
        self.shutdown(None).unwrap_or_else(|e| panic!("shutdown: {e}"));
    }
}

/// The store inputs currently go into.
pub struct Store<L> {
    dir: tempfile::TempDir,
    library: L,
    inputs: usize,
}

/// Runs one input against the current store (opening one when needed); every [`PER_STORE`]
/// inputs, closes the store and reads it back.
pub fn run<L: Library>(store: &Mutex<Option<Store<L>>>, input: impl FnOnce(&L)) {
    let mut guard = store.lock().unwrap_or_else(|e| e.into_inner());
    let current = guard.get_or_insert_with(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let library = L::open(dir.path());
        Store { dir, library, inputs: 0 }
    });
    input(&current.library);
    current.inputs += 1;
    if current.inputs == PER_STORE {
        let done = guard.take().expect("store");
        done.library.close();
        check(done.dir.path());
    }
}

/// Every table of the store reads back, and the OTLP readers accept it.
fn check(dir: &Path) {
    let reader = StoreReader::new(dir);
    for table in Table::ALL {
        reader.read_batches(table).unwrap_or_else(|e| panic!("{table}: {}", e.full_message()));
    }
    reader.read_traces().unwrap_or_else(|e| panic!("read_traces: {}", e.full_message()));
    reader.read_metrics().unwrap_or_else(|e| panic!("read_metrics: {}", e.full_message()));
}
