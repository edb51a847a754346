//! The load benchmark of `opentelemetry-parquet serve` on loopback
//! (`crates/opentelemetry-parquet-cli/examples/serve_load/`): spans/s and p50/p99 latency with N
//! concurrent gRPC and HTTP clients, against `serve` and against a decode-and-discard baseline,
//! and the peak RSS of `serve` under its buffer cap. The full run builds the CLI and the example
//! in release; the quick one uses the dev profile, which `test-all` has already built (no
//! release build of the CLI just to prove the harness works).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::progress;
use crate::cargo;

const PACKAGE: &str = "opentelemetry-parquet-cli";
const EXAMPLE: &str = "serve_load";

/// The `opentelemetry-parquet` binary and the `serve_load` example, built in release (full) or
/// in the dev profile (quick).
fn build(quick: bool) -> Result<(PathBuf, PathBuf)> {
    let profile = if quick { "dev" } else { "release" };
    progress(&format!("building `opentelemetry-parquet serve` and examples/{EXAMPLE} ({profile} profile)"));
    let mut cmd = cargo(["build", "-p", PACKAGE, "--bins", "--example", EXAMPLE, "--message-format=json"]);
    if !quick {
        cmd.arg("--release");
    }
    let mut exes = super::rust::executables(cmd, &format!("{PACKAGE} and its {EXAMPLE} example"))?;
    Ok((
        exes.remove("opentelemetry-parquet").context("cargo build made no `opentelemetry-parquet` binary")?,
        exes.remove(EXAMPLE).with_context(|| format!("cargo build made no `{EXAMPLE}` example"))?,
    ))
}

/// Runs the load benchmark; its JSON (see the example's docs) goes into `results.json` as `serve`.
pub(crate) fn load(quick: bool) -> Result<Value> {
    let (serve, load) = build(quick)?;
    progress(if quick {
        "serve under load: 2 gRPC and 2 HTTP clients, 1 s each, against serve and a decode-and-discard baseline"
    } else {
        "serve under load: 1, 4 and 16 gRPC and HTTP clients, 5 s each, against serve and a decode-and-discard baseline"
    });
    let mut cmd = Command::new(&load);
    cmd.arg("--serve").arg(&serve).args(quick.then_some("--quick")).current_dir(crate::root());
    // The library's defaults but for the cap the example sets, whatever this shell exports.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_PARQUET_") {
            cmd.env_remove(name);
        }
    }
    let output = cmd.stderr(Stdio::inherit()).output().with_context(|| format!("running {}", load.display()))?;
    if !output.status.success() {
        bail!("the {EXAMPLE} load benchmark failed ({})", output.status);
    }
    serde_json::from_slice(&output.stdout).with_context(|| format!("parsing {EXAMPLE}'s output"))
}
