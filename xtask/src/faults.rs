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

/// The fuzz crate (outside the workspace) and its targets.
const FUZZ_DIR: &str = "crates/opentelemetry-parquet/fuzz";
const FUZZ_TARGETS: [&str; 6] = [
    "otlp_traces_bytes",
    "otlp_metrics_bytes",
    "otlp_logs_bytes",
    "python_batch_traces",
    "python_batch_metrics",
    "python_batch_logs",
];

/// `cargo xtask fuzz`: every cargo-fuzz target for a bounded time, starting from the committed
/// seed corpus (new inputs go to `target/fuzz-corpus/<target>`, crashes to the fuzz crate's
/// `artifacts/`). Installs cargo-fuzz from crates.io when missing; runs on stable Rust through
/// `RUSTC_BOOTSTRAP=1` (libFuzzer's instrumentation flags are unstable). Without a sanitizer:
/// the fuzzed code is safe Rust, so what is looked for is panics, aborts, hangs and runaway memory.
#[derive(Debug, clap::Args)]
pub(crate) struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Only these targets (default: all).
    targets: Vec<String>,
}

impl FuzzArgs {
    pub(crate) fn run(self) -> Result<()> {
        let root = crate::root();
        let has_cargo_fuzz = crate::cargo(["fuzz", "--version"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !has_cargo_fuzz {
            crate::run(&mut crate::cargo(["install", "cargo-fuzz", "--locked"]))?;
        }
        let targets: Vec<String> =
            if self.targets.is_empty() { FUZZ_TARGETS.iter().map(|t| (*t).to_owned()).collect() } else { self.targets };
        for target in &targets {
            anyhow::ensure!(FUZZ_TARGETS.contains(&target.as_str()), "unknown fuzz target {target}: {FUZZ_TARGETS:?}");
            let work = root.join("target").join("fuzz-corpus").join(target);
            std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
            let seeds = root.join(FUZZ_DIR).join("corpus").join(target);
            let mut cmd = crate::cargo(["fuzz", "run", "--sanitizer", "none", "--target-dir"]);
            cmd.arg(root.join("target").join("fuzz"))
                .arg(target)
                .arg(&work)
                .arg(&seeds)
                .arg("--")
                .arg(format!("-max_total_time={}", self.seconds))
                .arg("-rss_limit_mb=4096")
                .arg("-timeout=30")
                .current_dir(root.join(FUZZ_DIR))
                .env("RUSTC_BOOTSTRAP", "1");
            crate::run(&mut cmd)?;
        }
        eprintln!("\nfuzz: {} targets, {} s each, no crash", targets.len(), self.seconds);
        Ok(())
    }
}
