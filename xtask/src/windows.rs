//! `cargo xtask test-windows`: the Rust test suites of the core crate and the command, compiled
//! for Windows (`x86_64-pc-windows-gnu`, mingw-w64) and run under wine, on a Linux machine.
//!
//! This proves here what can be proven without a Windows machine: file replacement and deletion
//! with Windows semantics (a file open elsewhere cannot simply vanish), `LockFileEx` locks,
//! paths with `\`, Winsock sockets, TLS, and the Windows branches of our `cfg` code. wine is not
//! Windows (no NTFS, its own kernel emulation); CI runs the whole suite on a real
//! `windows-latest` (.github/workflows/ci.yml).
//!
//! Needs: the Rust target (`rustup target add x86_64-pc-windows-gnu`), mingw-w64
//! (`x86_64-w64-mingw32-gcc`) and wine (Debian/Ubuntu: `apt-get install gcc-mingw-w64-x86-64
//! wine64`). The wine prefix lives in `target/wine`.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{cargo, run};

const TARGET: &str = "x86_64-pc-windows-gnu";
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";
/// The packages whose tests run (the bindings' are Python's, and Python for Windows cannot be
/// installed here).
const PACKAGES: [&str; 2] = ["opentelemetry-parquet", "opentelemetry-parquet-cli"];

#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

impl Args {
    pub(crate) fn run(self) -> Result<()> {
        check_prerequisites()?;
        let root = crate::root();
        let prefix = root.join("target").join("wine");
        std::fs::create_dir_all(&prefix).with_context(|| format!("creating {}", prefix.display()))?;
        install_process_prng(&prefix)?;
        eprintln!("\ntest-windows: {PACKAGES:?} built for {TARGET}, run under wine (prefix {})", prefix.display());
        let mut test = cargo(["test", "--target", TARGET, "--no-fail-fast"]);
        for package in PACKAGES {
            test.args(["-p", package]);
        }
        run(test
            .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER", "wine")
            .env("WINEPREFIX", &prefix)
            .env("WINEDEBUG", "-all"))?;
        eprintln!("\ntest-windows: every test passed under wine");
        Ok(())
    }
}

fn found(program: &str, arg: &str) -> bool {
    Command::new(program).arg(arg).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn check_prerequisites() -> Result<()> {
    let mut missing = Vec::new();
    let targets = Command::new("rustup").args(["target", "list", "--installed"]).output();
    if !targets.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).lines().any(|t| t.trim() == TARGET)) {
        missing.push(format!("the Rust target (rustup target add {TARGET})"));
    }
    if !found(MINGW_GCC, "--version") {
        missing.push(format!("mingw-w64's {MINGW_GCC} (apt-get install gcc-mingw-w64-x86-64)"));
    }
    if !found("wine", "--version") {
        missing.push("wine (apt-get install wine64)".to_owned());
    }
    if !missing.is_empty() {
        bail!("test-windows needs {}", missing.join(", "));
    }
    Ok(())
}

/// Puts the `ProcessPrng` stand-in (xtask/wine/bcryptprimitives.c) into the prefix's system32,
/// where wine before 9.0 has no such DLL. Harmless with a newer wine: the prefix's file is used
/// instead of wine's own, and does the same.
fn install_process_prng(prefix: &Path) -> Result<()> {
    let system32 = prefix.join("drive_c").join("windows").join("system32");
    if !system32.is_dir() {
        // A new prefix: let wine create it.
        run(Command::new("wine").args(["cmd", "/c", "exit"]).env("WINEPREFIX", prefix).env("WINEDEBUG", "-all"))?;
    }
    let source = crate::root().join("xtask").join("wine").join("bcryptprimitives.c");
    run(Command::new(MINGW_GCC)
        .args(["-shared", "-O2", "-o"])
        .arg(system32.join("bcryptprimitives.dll"))
        .arg(&source)
        .arg("-ladvapi32"))
}
