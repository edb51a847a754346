//! Instruction counts with `valgrind --tool=callgrind`: each case in its own process, twice
//! (with and without the work), the difference divided by the elements the work handled.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Whether valgrind is on the PATH.
pub(crate) fn available() -> bool {
    Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// One callgrind run of `program args`: its output file (all threads), kept under `dir`.
pub(crate) fn run(dir: &Path, name: &str, program: &Path, args: &[&str]) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let out = dir.join(format!("callgrind.{name}.out"));
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--compress-strings=no", "--compress-pos=no"])
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
    Ok(out)
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

/// Instructions per element of `program args`: (run − baseline run) / elements.
pub(crate) fn per_element(
    dir: &Path,
    name: &str,
    program: &Path,
    args: &[&str],
    baseline: &[&str],
    elements: usize,
) -> Result<f64> {
    let work = total(&run(dir, name, program, args)?)?;
    let base = total(&run(dir, &format!("{name}.baseline"), program, baseline)?)?;
    Ok(work.saturating_sub(base) as f64 / elements as f64)
}
