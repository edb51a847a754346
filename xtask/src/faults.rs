//! The fault suite's plumbing in `cargo xtask test-all`: where the Rust tests keep the stores
//! they wrote, for `tests/test_stores.py` to read with DuckDB and pyarrow.

use std::path::PathBuf;

use anyhow::{Context, Result};

/// The variable the Rust tests' `keep_store` helper and `tests/test_stores.py` read.
const TEST_STORES_VAR: &str = "OTEL_PARQUET_TEST_STORES";

/// Empties `target/test-stores` and sets [`TEST_STORES_VAR`] to it for this process, so that the
/// `cargo test` run and the later pytest run (children of this process) both see it.
pub(crate) fn keep_test_stores() -> Result<PathBuf> {
    let dir = crate::root().join("target").join("test-stores");
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("emptying {}", dir.display()))
        }
        _ => {}
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!("(the Rust tests keep their stores in {}: {TEST_STORES_VAR})", dir.display());
    std::env::set_var(TEST_STORES_VAR, &dir);
    Ok(dir)
}
