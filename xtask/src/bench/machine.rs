//! What the report says about the machine and the build.

use std::process::Command;

use serde_json::{json, Value};

fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .current_dir(crate::root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

/// CPU model, cores, OS, rustc, valgrind, git commit (and whether the tree had changes), date.
pub(crate) fn facts(python: &str) -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_owned()))
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let dirty = !output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    json!({
        "cpu": cpu,
        "cores": cores,
        "os": output("uname", &["-sr"]),
        "rustc": output("rustc", &["--version"]),
        "python": python,
        "valgrind": output("valgrind", &["--version"]),
        "git_commit": output("git", &["rev-parse", "--short=12", "HEAD"]),
        "git_dirty": dirty,
        "date": output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
    })
}
