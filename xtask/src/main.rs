//! `cargo xtask`: the project's tasks. The justfile's recipes are one-line calls into this.

mod bench;
mod demo;
mod faults;
mod python;
mod pythons;
mod test_all;
mod wheels;
mod windows;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "xtask", about = "opentelemetry-parquet project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Run every check and test: rustfmt, clippy, Rust tests and doctests, the examples, then the
    /// Python side (the three wheels in a fresh virtualenv per Python found from 3.11 to 3.13,
    /// ruff, mypy, pytest).
    TestAll(test_all::Args),
    /// Build the Python wheels into dist/: the bindings and the command (maturin, release) and
    /// the adapters.
    Wheels(wheels::Args),
    /// Build and run the instrumented demo application, then show what landed.
    Demo(demo::Args),
    /// Run every benchmark (Rust and Python: instructions, wall time, bytes on disk, allocations,
    /// peak RSS, pipelines) and write bench/REPORT.md with charts (`--quick`: tiny sizes, report
    /// under the target directory).
    Bench(bench::Args),
    /// Fuzz the OTLP bytes decoders and the Python batch decoder (cargo-fuzz), bounded in time.
    Fuzz(faults::FuzzArgs),
    /// Run the Rust test suites built for Windows under wine (mingw-w64 and wine needed).
    TestWindows(windows::Args),
}

fn main() -> Result<()> {
    // `cargo run` gives xtask its own manifest's directory; every cargo and maturin it starts
    // would inherit it, and build scripts that watch it (ring's) would then rebuild their crate
    // and everything above it, in turn with builds started from a shell. Single-threaded here.
    for cargo_run_only in ["CARGO_MANIFEST_DIR", "CARGO_MANIFEST_PATH"] {
        std::env::remove_var(cargo_run_only);
    }
    match Cli::parse().task {
        Task::TestAll(args) => args.run(),
        Task::Wheels(args) => args.run(),
        Task::Demo(args) => args.run(),
        Task::Bench(args) => args.run(),
        Task::Fuzz(args) => args.run(),
        Task::TestWindows(args) => args.run(),
    }
}

/// The workspace root (xtask lives one level below it).
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").to_path_buf()
}

/// A `cargo` command run from the workspace root.
pub(crate) fn cargo<const N: usize>(args: [&str; N]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args).current_dir(root());
    cmd
}

/// Runs a command, echoing it first; fails with the command line when it fails.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let line = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
    );
    eprintln!("\n$ {line}");
    let status = cmd.status().with_context(|| format!("could not start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}
