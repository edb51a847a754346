//! The Rust half: the bench binaries of `crates/opentelemetry-parquet/benches/` (built once in
//! the bench profile), callgrind over `cases`, criterion over `export`, `allocs`, `outrun`, and
//! the hostile shapes of `examples/peak_rss.rs`.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::callgrind::{self, Threads};
use super::progress;
use crate::cargo;

/// Benchmark ids (`benches/common/mod.rs`, `ids`) of each group, in report order.
pub(crate) const SPAN_CASES: [&str; 7] = [
    "opentelemetry-parquet",
    "opentelemetry-parquet-flush-every-64",
    "opentelemetry-parquet-export-only",
    "otlp-protobuf-file",
    "otlp-protobuf-zstd3-file",
    "otlp-json-lines",
    "sdk-span-creation",
];
const EXPORT_ONLY: &str = "opentelemetry-parquet-export-only";
pub(crate) const METRIC_CASES: [&str; 4] =
    ["opentelemetry-parquet", "otlp-protobuf-file", "otlp-protobuf-zstd3-file", "otlp-json-lines"];
pub(crate) const LOG_CASES: [&str; 4] =
    ["opentelemetry-parquet", "opentelemetry-parquet-flush-every-64", EXPORT_ONLY, "otlp-protobuf-file"];
const SPANS_PER_BATCH: usize = 512;
const LOGS_PER_BATCH: usize = 512;
/// Functions listed per profile in the report.
pub(crate) const PROFILE_TOP: usize = 15;
const POINTS_PER_BATCH: usize = 1000;

/// The bench executables by target name (`cargo bench --no-run`).
pub(crate) fn build() -> Result<BTreeMap<String, PathBuf>> {
    progress("building the benchmarks (release profile)");
    let exes = executables(
        cargo(["bench", "-p", "opentelemetry-parquet", "--benches", "--no-run", "--message-format=json"]),
        "the benchmarks",
    )?;
    for name in ["export", "cases", "allocs", "outrun"] {
        if !exes.contains_key(name) {
            bail!("cargo bench --no-run built no `{name}` executable");
        }
    }
    Ok(exes)
}

/// Runs a cargo build with `--message-format=json` and returns the executables it made, by
/// target name; fails naming `what` when the build fails.
pub(crate) fn executables(mut build: Command, what: &str) -> Result<BTreeMap<String, PathBuf>> {
    let output = build.stderr(Stdio::inherit()).output().with_context(|| format!("building {what}"))?;
    if !output.status.success() {
        bail!("building {what} failed");
    }
    let mut exes = BTreeMap::new();
    for line in output.stdout.split(|b| *b == b'\n') {
        let Ok(message) = serde_json::from_slice::<Value>(line) else { continue };
        if let (Some(name), Some(exe)) = (message["target"]["name"].as_str(), message["executable"].as_str()) {
            exes.insert(name.to_owned(), PathBuf::from(exe));
        }
    }
    Ok(exes)
}

fn exe<'a>(exes: &'a BTreeMap<String, PathBuf>, name: &str) -> &'a Path {
    &exes[name]
}

/// Instructions per element of every case of every group: `{group: {id: instructions}}`.
pub(crate) fn instructions(exes: &BTreeMap<String, PathBuf>, out: &Path, quick: bool) -> Result<Value> {
    let cases = exe(exes, "cases");
    let mut groups = serde_json::Map::new();
    for (group, ids, batches, per_batch) in [
        ("spans", &SPAN_CASES[..], if quick { 2 } else { 64 }, SPANS_PER_BATCH),
        ("metrics", &METRIC_CASES[..], if quick { 2 } else { 16 }, POINTS_PER_BATCH),
        ("logs", &LOG_CASES[..], if quick { 2 } else { 64 }, LOGS_PER_BATCH),
    ] {
        let (mut results, mut profiles) = (serde_json::Map::new(), serde_json::Map::new());
        for id in ids {
            progress(&format!("callgrind: {group} {id}, {batches} batches (and a baseline run without them)"));
            let n = batches.to_string();
            let measured = callgrind::per_element(
                &out.join("callgrind"),
                &format!("{group}.{id}"),
                cases,
                &[group, id, &n],
                &[group, id, &n, "--baseline"],
                batches * per_batch,
                // The export call alone is what the calling thread spends (the library may hand
                // work to its writer thread, which the flush cases count).
                if *id == EXPORT_ONLY { Threads::Main } else { Threads::All },
            )?;
            let per = measured.per_element;
            let element = match group {
                "spans" => "span",
                "logs" => "log record",
                _ => "data point",
            };
            eprintln!("    {per:.0} instructions per {element}");
            results.insert((*id).to_owned(), json!(per));
            if id.starts_with("opentelemetry-parquet") {
                profiles.insert((*id).to_owned(), callgrind::profile(&measured, batches * per_batch, PROFILE_TOP)?);
            }
        }
        groups.insert(
            group.to_owned(),
            json!({ "batches": batches, "per_batch": per_batch, "cases": results, "profiles": profiles }),
        );
    }
    Ok(Value::Object(groups))
}

/// Criterion's wall time per element and the sizes the bench saved, per group and id.
pub(crate) fn criterion(exes: &BTreeMap<String, PathBuf>, out: &Path, quick: bool) -> Result<Value> {
    let home = out.join("criterion");
    let _ = std::fs::remove_dir_all(&home);
    progress("criterion: wall time of every case (spans, metrics, then logs)");
    let mut cmd = Command::new(exe(exes, "export"));
    cmd.arg("--bench").env("CRITERION_HOME", &home).current_dir(crate::root());
    if quick {
        cmd.args(["--warm-up-time", "0.1", "--measurement-time", "0.3"]);
    } else {
        cmd.args(["--warm-up-time", "2", "--measurement-time", "5"]);
    }
    crate::run(&mut cmd)?;
    let mut groups = serde_json::Map::new();
    for (group, dir, ids) in [
        ("spans", "spans_to_disk", &SPAN_CASES[..]),
        ("metrics", "metrics_to_disk", &METRIC_CASES[..]),
        ("logs", "logs_to_disk", &LOG_CASES[..]),
    ] {
        let mut wall = serde_json::Map::new();
        for id in ids {
            let new = home.join(dir).join(id).join("new");
            let ns = read_json(&new.join("estimates.json"))?["mean"]["point_estimate"]
                .as_f64()
                .context("no mean estimate")?;
            let elements = read_json(&new.join("benchmark.json"))?["throughput"]["Elements"].as_f64().unwrap_or(1.0);
            wall.insert((*id).to_owned(), json!(ns / elements / 1e3));
        }
        let sizes = read_json(&home.join(dir).join("sizes.json"))?;
        let bytes: serde_json::Map<_, _> = sizes["sizes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                Some((s["id"].as_str()?.to_owned(), json!({ "bytes": s["bytes_per_element"], "note": s["note"] })))
            })
            .collect();
        groups.insert(group.to_owned(), json!({ "wall_us": wall, "bytes": bytes }));
    }
    Ok(Value::Object(groups))
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Runs a bench binary that prints one JSON object.
pub(crate) fn json_of(exes: &BTreeMap<String, PathBuf>, name: &str, quick: bool, what: &str) -> Result<Value> {
    progress(what);
    let mut cmd = Command::new(exe(exes, name));
    cmd.args(quick.then_some("--quick")).current_dir(crate::root()).stderr(Stdio::inherit());
    let output = cmd.output().with_context(|| format!("running {name}"))?;
    if !output.status.success() {
        bail!("{name} failed ({})", output.status);
    }
    let value: Value = serde_json::from_slice(&output.stdout).with_context(|| format!("parsing {name}'s output"))?;
    eprintln!("    {value}");
    Ok(value)
}

/// The hostile shapes (`examples/peak_rss.rs`, release build): their table, as printed (each
/// line echoed as it comes: the full shapes take minutes).
pub(crate) fn hostile_shapes(quick: bool) -> Result<String> {
    progress("peak RSS of the hostile input shapes (examples/peak_rss.rs, one process per shape)");
    let mut cmd = cargo(["run", "--quiet", "--release", "-p", "opentelemetry-parquet", "--example", "peak_rss", "--"]);
    cmd.args(quick.then_some("--quick")).stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = cmd.spawn().context("running the peak_rss example")?;
    let mut table = String::new();
    for line in BufReader::new(child.stdout.take().context("no stdout")?).lines() {
        let line = line?;
        eprintln!("    {line}");
        table.push_str(&line);
        table.push('\n');
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("the peak_rss example failed ({status})");
    }
    Ok(table)
}
