//! The Python half: both wheels built once into the target directory, a bench virtualenv with
//! them and `bench/requirements.txt`, then `bench/python_bench.py` (wall time, pipelines) and
//! callgrind over the Python process.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::{callgrind, progress};
use crate::python::Venv;

const SCRIPT: &str = "bench/python_bench.py";
const REQUIREMENTS: &str = "bench/requirements.txt";
/// libffi's entry point, through which ctypes (UniFFI's Python side) calls into the Rust
/// library: its inclusive cost is everything done on the Rust side of those calls.
const FFI_CALL: &str = "ffi_call";

/// The bench virtualenv under `target` (reused between runs; our wheels reinstalled each time).
pub(crate) fn venv(target: &Path) -> Result<Venv> {
    progress("building the Python wheels (maturin, release) into the target directory");
    let wheels = crate::wheels::build_into(&target.join("bench-wheels"))?;
    progress("the bench virtualenv: both wheels, bench/requirements.txt");
    let venv = Venv::reuse_or_create(target.join("bench-venv"))?;
    venv.pip_install([OsStr::new("--requirement"), OsStr::new(REQUIREMENTS)])?;
    venv.pip_install([
        OsStr::new("--force-reinstall"),
        OsStr::new("--no-deps"),
        wheels.bindings.as_os_str(),
        wheels.adapters.as_os_str(),
    ])?;
    Ok(venv)
}

/// `python --version` of the virtualenv.
pub(crate) fn version(venv: &Venv) -> String {
    venv.python(["--version"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn script(venv: &Venv, args: &[&str]) -> Result<Value> {
    let output = venv.python([SCRIPT]).args(args).stderr(Stdio::inherit()).output().context("running python")?;
    if !output.status.success() {
        bail!("{SCRIPT} {args:?} failed ({})", output.status);
    }
    let value: Value = serde_json::from_slice(&output.stdout).with_context(|| format!("parsing {SCRIPT}'s output"))?;
    eprintln!("    {value}");
    Ok(value)
}

/// Wall time per span of the exports and encodings, and the pipelines' throughput.
pub(crate) fn wall(venv: &Venv, quick: bool) -> Result<Value> {
    let (batches, rounds) = if quick { ("1", "1") } else { ("16", "5") };
    progress("Python: ParquetSpanExporter.export vs encode_spans().SerializeToString(), µs per span");
    let export = script(venv, &["export", "--batches", batches, "--rounds", rounds])?;
    let (batches, rounds) = if quick { ("1", "1") } else { ("24", "3") };
    progress("Python: BatchSpanProcessor pipelines (tracer + processor + exporter), spans/s");
    let pipeline = script(venv, &["pipeline", "--batches", batches, "--rounds", rounds])?;
    Ok(json!({ "export": export, "pipeline": pipeline }))
}

/// Instructions per span under callgrind: the Python process making the batches and then
/// exporting (`parquet`), encoding (`encode`) or doing nothing with them (`none`); totals and the
/// Rust side (inclusive cost of the calls through libffi), each minus the `none` run's.
pub(crate) fn instructions(venv: &Venv, out: &Path, quick: bool) -> Result<Value> {
    let batches = if quick { 1 } else { 4 };
    let spans = (batches * 512) as f64;
    let n = batches.to_string();
    let python = venv.bin("python");
    let dir = out.join("callgrind");
    let (mut runs, mut files) = (serde_json::Map::new(), Vec::new());
    for what in ["none", "parquet", "encode"] {
        progress(&format!("callgrind: Python {what}, {batches} batches of 512 spans"));
        let file =
            callgrind::run(&dir, &format!("python.{what}"), &python, &[SCRIPT, "callgrind", what, "--batches", &n])?;
        runs.insert(what.into(), json!([callgrind::total(&file)?, callgrind::inclusive(&file, FFI_CALL)?]));
        files.push(file);
    }
    let measured = callgrind::Measured { per_element: 0.0, work: files[1].clone(), baseline: files[0].clone() };
    let profile = callgrind::profile(&measured, spans as usize, super::rust::PROFILE_TOP)?;
    let get = |what: &str, i: usize| runs[what][i].as_u64().unwrap_or(0) as f64;
    let result = json!({
        "spans": spans,
        "parquet_export_total": (get("parquet", 0) - get("none", 0)) / spans,
        "parquet_export_rust_side": (get("parquet", 1) - get("none", 1)) / spans,
        "encode_spans_serialize_total": (get("encode", 0) - get("none", 0)) / spans,
    });
    eprintln!("    {result}");
    let mut result = result;
    result["parquet_export_profile"] = profile;
    Ok(result)
}
