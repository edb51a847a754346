//! Instruction counts with `valgrind --tool=callgrind`: each case in its own process, twice
//! (with and without the work), the difference divided by the elements the work handled.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// Whether valgrind is on the PATH.
pub(crate) fn available() -> bool {
    Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// One callgrind run of `program args`: its output file (all threads), kept under `dir`.
pub(crate) fn run(dir: &Path, name: &str, program: &Path, args: &[&str]) -> Result<PathBuf> {
    run_with(dir, name, program, args, Threads::All)
}

/// Which threads a run counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Threads {
    All,
    /// The main thread only (the one that calls the exporter): `--separate-threads=yes`, whose
    /// file for thread 1 is `<out>-01`.
    Main,
}

fn run_with(dir: &Path, name: &str, program: &Path, args: &[&str], threads: Threads) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let out = dir.join(format!("callgrind.{name}.out"));
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--compress-strings=no", "--compress-pos=no"])
        .args((threads == Threads::Main).then_some("--separate-threads=yes"))
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(program)
        .args(args)
        .current_dir(crate::root())
        .stdin(Stdio::null())
        .output()
        .context("running valgrind")?;
    if !output.status.success() {
        bail!(
            "valgrind {} {args:?} failed ({}): {}",
            program.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).lines().rev().take(15).collect::<Vec<_>>().join("\n")
        );
    }
    Ok(match threads {
        Threads::All => out,
        Threads::Main => dir.join(format!("callgrind.{name}.out-01")),
    })
}

/// The instructions a callgrind output file counted (its `totals:` or `summary:` line).
pub(crate) fn total(path: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let line = text
        .lines()
        .find(|l| l.starts_with("totals:") || l.starts_with("summary:"))
        .with_context(|| format!("no totals in {}", path.display()))?;
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).with_context(|| format!("bad totals line {line:?}"))
}

/// The inclusive instructions of every call to the function named `function` (a call site is
/// `cfn=NAME`, `calls=COUNT TARGET`, then `POSITION COST`), in a file written with
/// `--compress-strings=no`.
pub(crate) fn inclusive(path: &Path, function: &str) -> Result<u64> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (mut sum, mut target, mut cost_next) = (0, false, false);
    for line in text.lines() {
        if cost_next {
            sum += line.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
            cost_next = false;
        } else if let Some(name) = line.strip_prefix("cfn=") {
            target = name == function;
        } else if line.starts_with("calls=") {
            cost_next = target;
        }
    }
    Ok(sum)
}

/// One case measured: instructions per element, and both runs' output files.
pub(crate) struct Measured {
    pub(crate) per_element: f64,
    pub(crate) work: PathBuf,
    pub(crate) baseline: PathBuf,
}

/// Instructions per element of `program args`: (run − baseline run) / elements.
pub(crate) fn per_element(
    dir: &Path,
    name: &str,
    program: &Path,
    args: &[&str],
    baseline: &[&str],
    elements: usize,
    threads: Threads,
) -> Result<Measured> {
    let work = run_with(dir, name, program, args, threads)?;
    let base = run_with(dir, &format!("{name}.baseline"), program, baseline, threads)?;
    let per_element = total(&work)?.saturating_sub(total(&base)?) as f64 / elements as f64;
    Ok(Measured { per_element, work, baseline: base })
}

/// Self instructions per function (`callgrind_annotate`, every function), names without their
/// file prefix and object suffix.
fn self_costs(path: &Path) -> Result<HashMap<String, i64>> {
    let output = Command::new("callgrind_annotate")
        .args(["--threshold=100", "--auto=no"])
        .arg(path)
        .output()
        .context("running callgrind_annotate")?;
    if !output.status.success() {
        bail!("callgrind_annotate {} failed", path.display());
    }
    let mut costs = HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some((count, rest)) = line.trim_start().split_once(' ') else { continue };
        let Ok(count) = count.replace(',', "").parse::<i64>() else { continue };
        let Some((_, name)) = rest.split_once(")  ") else { continue };
        if name.contains("PROGRAM TOTALS") {
            continue;
        }
        let name = name.rsplit_once(" [").map_or(name, |(n, _)| n);
        let name = name.split_once(':').map_or(name, |(file, f)| if file.contains('(') { name } else { f });
        *costs.entry(name.to_owned()).or_default() += count;
    }
    Ok(costs)
}

/// The functions where the work (run − baseline) spent most, per element: `[name,
/// instructions per element, share of the difference]`, the `top` largest.
pub(crate) fn profile(measured: &Measured, elements: usize, top: usize) -> Result<Value> {
    let work = self_costs(&measured.work)?;
    let base = self_costs(&measured.baseline)?;
    let mut diff: Vec<(String, i64)> = work
        .into_iter()
        .map(|(name, cost)| (cost - base.get(&name).copied().unwrap_or(0), name))
        .map(|(c, n)| (n, c))
        .collect();
    let total: i64 = diff.iter().map(|(_, c)| c).sum();
    diff.sort_by_key(|(_, c)| -c);
    Ok(Value::Array(
        diff.into_iter()
            .take(top)
            .map(|(name, cost)| json!([name, cost as f64 / elements as f64, cost as f64 / total.max(1) as f64]))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A callgrind file as `--compress-strings=no --compress-pos=no` writes it: `main` calls
    /// `ffi_call` twice (100 and 20 instructions inclusive) and `other` once.
    const SAMPLE: &str = "events: Ir\nfn=main\n1 5\ncfn=ffi_call\ncalls=1 0\n2 100\ncfn=other\ncalls=1 0\n3 7\n\
                          cfn=ffi_call\ncalls=1 0\n4 20\nfn=ffi_call\n1 120\nsummary: 252\ntotals: 252\n";

    #[test]
    fn totals_and_inclusive_costs_of_calls() {
        let path = std::env::temp_dir().join(format!("xtask-callgrind-test-{}.out", std::process::id()));
        std::fs::write(&path, SAMPLE).unwrap();
        assert_eq!(total(&path).unwrap(), 252);
        assert_eq!(inclusive(&path, "ffi_call").unwrap(), 120);
        assert_eq!(inclusive(&path, "other").unwrap(), 7);
        assert_eq!(inclusive(&path, "missing").unwrap(), 0);
        std::fs::remove_file(&path).unwrap();
    }
}
