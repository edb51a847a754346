//! `cargo xtask bench`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::{cargo, run};

/// The benchmark id of our exporter, the baseline of every ratio.
const OURS: &str = "opentelemetry-parquet";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Shorter runs (1 s warm-up, 3 s measurement per benchmark): rougher numbers, sooner.
    #[arg(long)]
    quick: bool,
    /// Only the benchmarks whose id matches this criterion filter (a regex, e.g. `spans_to_disk`).
    filter: Option<String>,
}

impl Args {
    pub(crate) fn run(self) -> Result<()> {
        let criterion_dir = target_dir()?.join("criterion");
        let started = SystemTime::now();
        let mut cmd = cargo(["bench", "-p", "opentelemetry-parquet", "--bench", "export", "--"]);
        if self.quick {
            cmd.args(["--warm-up-time", "1", "--measurement-time", "3"]);
        }
        cmd.args(self.filter.clone()).env("CRITERION_HOME", &criterion_dir);
        run(&mut cmd)?;
        report(&criterion_dir, started)?;
        if self.filter.is_none() {
            peak_rss(self.quick)?;
        }
        Ok(())
    }
}

/// Peak memory of the hostile input shapes against the buffer cap, each in its own process
/// (`examples/peak_rss.rs`, release build like the benchmarks).
pub(crate) fn peak_rss(quick: bool) -> Result<()> {
    let mut cmd = cargo(["run", "--release", "-p", "opentelemetry-parquet", "--example", "peak_rss", "--"]);
    if quick {
        cmd.arg("--quick");
    }
    run(&mut cmd)
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

/// One benchmark's result.
struct Row {
    id: String,
    /// When criterion wrote it.
    written: SystemTime,
    /// Mean nanoseconds per iteration (one batch).
    ns: f64,
    /// Elements (spans, data points) per iteration.
    elements: f64,
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The results of one group written since `since`, ours first, then fastest first.
fn rows(group_dir: &Path, since: SystemTime) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(group_dir)?.flatten() {
        let new = entry.path().join("new");
        let estimates = new.join("estimates.json");
        let Ok(written) = std::fs::metadata(&estimates).and_then(|m| m.modified()) else { continue };
        if written < since {
            continue;
        }
        let ns = read_json(&estimates)?["mean"]["point_estimate"]
            .as_f64()
            .with_context(|| format!("no mean.point_estimate in {}", estimates.display()))?;
        let benchmark = read_json(&new.join("benchmark.json"))?;
        let elements = benchmark["throughput"]["Elements"].as_f64().unwrap_or(1.0);
        let id =
            benchmark["function_id"].as_str().map_or_else(|| entry.file_name().to_string_lossy().into(), Into::into);
        rows.push(Row { id, written, ns, elements });
    }
    rows.sort_by(|a, b| (a.id != OURS).cmp(&(b.id != OURS)).then(a.ns.total_cmp(&b.ns)));
    Ok(rows)
}

/// "3.20x slower than opentelemetry-parquet" (or faster, larger, smaller).
fn ratio(value: f64, ours: Option<f64>, more: &str, less: &str) -> String {
    match ours {
        None => String::new(),
        Some(ours) if (value - ours).abs() <= ours * 1e-9 => "(baseline)".into(),
        Some(ours) if value > ours => format!("{:.2}x {more} than {OURS}", value / ours),
        Some(ours) => format!("{:.2}x {less} than {OURS}", ours / value),
    }
}

/// Prints every group with results from this run, in the order they ran.
fn report(criterion_dir: &Path, since: SystemTime) -> Result<()> {
    let mut groups = Vec::new();
    for entry in std::fs::read_dir(criterion_dir)?.flatten() {
        let rows = rows(&entry.path(), since)?;
        if let Some(first) = rows.iter().map(|r| r.written).min() {
            groups.push((first, entry.path(), rows));
        }
    }
    if groups.is_empty() {
        bail!("no benchmark results from this run under {}", criterion_dir.display());
    }
    groups.sort_by_key(|(first, _, _)| *first);
    for (_, group_dir, rows) in groups {
        let group = group_dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let sizes = read_json(&group_dir.join("sizes.json")).ok();
        let element = sizes.as_ref().and_then(|s| s["element"].as_str()).unwrap_or("element").to_owned();
        let per_batch = rows[0].elements;
        println!("\n{group}: {per_batch} {element}s per batch, each exported and made durable on disk");
        let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(0).max(12);
        println!(
            "  {:<width$} {:>10} {:>11} {:>12}  vs {OURS}",
            "alternative",
            "ms/batch",
            format!("µs/{}", short(&element)),
            format!("{}s/s", short(&element)),
        );
        let ours = rows.iter().find(|r| r.id == OURS).map(|r| r.ns / r.elements);
        for row in &rows {
            let per_element = row.ns / row.elements;
            println!(
                "  {:<width$} {:>10.3} {:>11.3} {:>12} {}",
                row.id,
                row.ns / 1e6,
                per_element / 1e3,
                thousands(1e9 / per_element),
                ratio(per_element, ours, "slower", "faster"),
            );
        }
        let Some(sizes) = sizes else { continue };
        let mut entries: Vec<(&str, f64, &str)> = sizes["sizes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some((e["id"].as_str()?, e["bytes_per_element"].as_f64()?, e["note"].as_str().unwrap_or_default()))
            })
            .collect();
        entries.sort_by(|a, b| (a.0 != OURS).cmp(&(b.0 != OURS)).then(a.1.total_cmp(&b.1)));
        let ours = entries.iter().find(|e| e.0 == OURS).map(|e| e.1);
        println!("\n  {:<width$} {:>10}  vs {OURS}", "on disk", format!("B/{}", short(&element)));
        for (id, bytes, note) in entries {
            println!("  {id:<width$} {bytes:>10.1}  {:<44} {note}", ratio(bytes, ours, "larger", "smaller"));
        }
    }
    Ok(())
}

/// "span" for "span", "point" for "data point": a column-header word.
fn short(element: &str) -> &str {
    element.rsplit(' ').next().unwrap_or(element)
}

/// 1234567.8 → "1,234,568".
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
