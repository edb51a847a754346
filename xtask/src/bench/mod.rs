//! `cargo xtask bench [--quick]`: every comparison of issue 7 in one invocation, Rust and
//! Python, written to `bench/REPORT.md` with PNG charts (`--quick`: tiny sizes, same code paths,
//! into `<target>/bench-quick/`, to prove the harness works; it asserts nothing about speed).
//!
//! The steps (each announced as it starts): build the bench binaries; callgrind instruction
//! counts per span and per data point (each case in its own process, minus a baseline run);
//! criterion wall time and bytes on disk; allocations per export; peak RSS while producers outrun
//! the disk at a 64 MiB cap, and the hostile shapes; `opentelemetry-parquet serve` under load
//! (gRPC and HTTP clients, side by side with a decode-and-discard baseline); then the Python
//! wheels, a bench virtualenv, Python wall times, pipelines and callgrind counts. `results.json`
//! (next to the report) holds every figure; `bench/report.py` turns it into REPORT.md and the
//! charts.

mod callgrind;
mod machine;
mod py;
mod rust;
mod serve;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::{cargo, run};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Tiny sizes, same code paths (a minute or two after the builds); the report goes to
    /// `<target>/bench-quick/`, never over `bench/REPORT.md`.
    #[arg(long)]
    quick: bool,
}

impl Args {
    pub(crate) fn run(self) -> Result<()> {
        bench(self.quick)
    }
}

/// What `cargo xtask test-all` runs: the quick mode.
pub(crate) fn quick() -> Result<()> {
    bench(true)
}

thread_local! {
    static STARTED: Instant = Instant::now();
}

/// "\[ 42s\] what": one line per step, so that a long run is never silent.
pub(crate) fn progress(what: &str) {
    let elapsed = STARTED.with(Instant::elapsed);
    eprintln!("\n[bench {:>4}s] {what}", elapsed.as_secs());
}

fn bench(quick: bool) -> Result<()> {
    progress(if quick { "quick mode: tiny sizes, proves the harness works" } else { "full run" });
    let target = target_dir()?;
    let root = crate::root();
    let out = if quick { target.join("bench-quick") } else { target.join("bench-full") };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let report_dir = if quick { out.clone() } else { root.join("bench") };

    let exes = rust::build()?;
    let instructions = if callgrind::available() {
        Some(rust::instructions(&exes, &out, quick)?)
    } else {
        eprintln!("valgrind is not installed: no instruction counts (apt-get install valgrind)");
        None
    };
    let criterion = rust::criterion(&exes, &out, quick)?;
    let allocs = rust::json_of(&exes, "allocs", quick, "allocations per export (counting global allocator)")?;
    let outrun = rust::json_of(&exes, "outrun", quick, "peak RSS: producers outrunning the disk at a 64 MiB cap")?;
    let hostile = rust::hostile_shapes(quick)?;
    let serve = serve::load(quick)?;

    let venv = py::venv(&target)?;
    let python = py::wall(&venv, quick)?;
    let python_instructions = if callgrind::available() { Some(py::instructions(&venv, &out, quick)?) } else { None };

    let results = json!({
        "quick": quick,
        "seconds": STARTED.with(Instant::elapsed).as_secs_f64(),
        "machine": machine::facts(&py::version(&venv)),
        "rust": { "instructions": instructions, "criterion": criterion, "allocs": allocs, "outrun": outrun,
                  "hostile_shapes": hostile },
        "serve": serve,
        "python": { "wall": python, "instructions": python_instructions },
    });
    std::fs::create_dir_all(&report_dir)?;
    let results_path = report_dir.join("results.json");
    std::fs::write(&results_path, serde_json::to_vec_pretty(&results)?)?;
    progress("writing the report and charts (bench/report.py)");
    run(venv.python(["bench/report.py"]).arg(&results_path).arg(&report_dir))?;
    progress(&format!("done: {}", report_dir.join("REPORT.md").display()));
    print_summary(&report_dir)?;
    Ok(())
}

/// Prints the report's first tables, so that the terminal shows the outcome.
fn print_summary(dir: &Path) -> Result<()> {
    let text = std::fs::read_to_string(dir.join("REPORT.md"))?;
    let end = text.find("\n## Rust metrics").unwrap_or(text.len());
    println!("{}", &text[..end]);
    Ok(())
}

/// The cargo target directory (honours `CARGO_TARGET_DIR` and `build.target-dir`).
fn target_dir() -> Result<PathBuf> {
    let output =
        cargo(["metadata", "--format-version", "1", "--no-deps"]).output().context("running cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout).context("parsing cargo metadata")?;
    let dir = metadata["target_directory"].as_str().context("cargo metadata has no target_directory")?;
    Ok(PathBuf::from(dir))
}
