//! `cargo xtask test-all`.

use std::ffi::OsStr;

use anyhow::{bail, Context, Result};

use crate::python::Venv;
use crate::pythons;
use crate::wheels::{self, Wheels, ADAPTERS};
use crate::{cargo, run};

/// The Python test and tool dependencies installed next to the wheels (one list, one place).
const REQUIREMENTS: &str = "xtask/requirements-test.txt";
/// Our hand-written Python: linted and format-checked (the generated `_uniffi` module is excluded
/// by the ruff configuration in pyproject.toml).
const PYTHON_SOURCES: [&str; 4] =
    ["bindings/opentelemetry-parquet-ffi/python", "bindings/opentelemetry-parquet-ffi/tests", ADAPTERS, "tests"];
/// What mypy checks.
const TYPE_CHECKED: [&str; 3] = [
    "bindings/opentelemetry-parquet-ffi/python/opentelemetry_parquet/__init__.pyi",
    "python-adapters/src",
    "bindings/opentelemetry-parquet-ffi/tests",
];
/// The oldest OpenTelemetry SDK the adapters support: the lower bound of their pyproject.toml
/// (`opentelemetry-sdk >= 1.30, < 1.46`), with the packages pinned to it.
const OLDEST_SDK: [&str; 4] = [
    "opentelemetry-api==1.30.0",
    "opentelemetry-sdk==1.30.0",
    "opentelemetry-proto==1.30.0",
    "opentelemetry-exporter-otlp-proto-common==1.30.0",
];
/// What runs against [`OLDEST_SDK`]: the adapters' suite and the cross-language tests that use
/// the SDK without the (newer) instrumentation packages.
const OLDEST_SDK_TESTS: [&str; 3] = ["python-adapters/tests", "tests/test_parity.py", "tests/test_gunicorn.py"];
/// The pytest directories: the bindings', the adapters', and the cross-language tests.
const PYTHON_TESTS: [&str; 3] = ["bindings/opentelemetry-parquet-ffi/tests", "python-adapters/tests", "tests"];

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only the Python half: build the wheels, then ruff, mypy and pytest (skips the Rust checks).
    #[arg(long)]
    python_only: bool,
}

impl Args {
    pub(crate) fn run(self) -> Result<()> {
        if !self.python_only {
            rust()?;
        }
        // The CLI's wheel in the dev profile: its binary is the one `cargo run -p
        // opentelemetry-parquet-cli` compiled above (or, with --python-only, whatever target/debug
        // has), reused rather than compiled again in release (see `wheels::CliProfile::Dev`);
        // `just wheels` builds the release one users get.
        python(&wheels::build_for_tests()?)?;
        eprintln!("\ntest-all: everything passed");
        Ok(())
    }
}

/// The package that runs the core crate's SDK tests and examples against SDK 0.32 alone.
const SDK_0_32: &str = "opentelemetry-parquet-sdk-0-32-tests";
const CLI: &str = "opentelemetry-parquet-cli";

/// The Rust half: rustfmt, clippy, docs, tests and doctests, the README's examples, for each SDK
/// version alone and both together.
fn rust() -> Result<()> {
    run(&mut cargo(["fmt", "--all", "--check"]))?;
    // Clippy and rustdoc in each feature set: the workspace (both SDK features, as the 0.32
    // package is a member), the core with 0.31 alone (its tests, examples and benchmarks are
    // written against 0.31), and the core with 0.32 alone (cargo skips the 0.31 targets there).
    run(&mut cargo(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    run(&mut cargo(["clippy", "-p", "opentelemetry-parquet", "--all-targets", "--", "-D", "warnings"]))?;
    run(&mut cargo(["clippy", "-p", SDK_0_32, "--all-targets", "--", "-D", "warnings"]))?;
    let only_0_32 = ["-p", "opentelemetry-parquet", "--no-default-features", "--features", "sdk-0-32"];
    run(cargo(["clippy", "--all-targets"]).args(only_0_32).args(["--", "-D", "warnings"]))?;
    run(cargo(["doc", "--workspace", "--no-deps", "--quiet"]).env("RUSTDOCFLAGS", "-D warnings"))?;
    run(cargo(["doc", "--no-deps", "--quiet"]).args(only_0_32).env("RUSTDOCFLAGS", "-D warnings"))?;
    crate::faults::keep_test_stores()?; // read back by tests/test_stores.py

    // SDK 0.31 alone (the default): every crate's tests and doctests but those of the two
    // packages that enable 0.32 (the 0.32 test package, and the CLI, whose OTLP endpoint serves
    // the newest opentelemetry-proto): built with them, the core would have both features.
    eprintln!("\ntest-all: Rust tests against OpenTelemetry SDK 0.31 (the default feature)");
    run(&mut cargo(["test", "--workspace", "--exclude", SDK_0_32, "--exclude", CLI]))?;
    eprintln!("\ntest-all: the command-line tool ({CLI}: inspect, schema, serve over loopback)");
    run(&mut cargo(["test", "-p", CLI]))?;
    // SDK 0.32 alone: the same SDK test sources (crates/sdk-0-32-tests points at them), and the
    // core's unit tests and SDK-free tests (its doctests are 0.31 programs).
    eprintln!("\ntest-all: the SDK tests against OpenTelemetry SDK 0.32 alone ({SDK_0_32})");
    run(&mut cargo(["test", "-p", SDK_0_32]))?;
    run(cargo(["test", "--lib", "--tests"]).args(only_0_32))?;
    // Both: the two versions store identical rows.
    eprintln!("\ntest-all: SDK 0.31 and 0.32 together (tests/sdk_versions.rs)");
    run(&mut cargo(["test", "-p", "opentelemetry-parquet", "--features", "sdk-0-32", "--test", "sdk_versions"]))?;
    // The README's integration examples (logs_tracing checks its own log row carries its span's
    // IDs), as a 0.31 and as a 0.32 program, each against a
    // throwaway directory, then read back by the CLI.
    for (package, version) in [("opentelemetry-parquet", "0.31"), (SDK_0_32, "0.32")] {
        let dir = tempfile_dir(version)?;
        for example in ["traces", "metrics", "logs_tracing"] {
            eprintln!("\ntest-all: the {example} example with SDK {version}");
            run(cargo(["run", "--quiet", "-p", package, "--example", example]).env("OTEL_PARQUET_OUTPUT_DIR", &dir))?;
        }
        run(cargo(["run", "--quiet", "-p", "opentelemetry-parquet-cli", "--", "inspect", "--rows", "1"]).arg(&dir))?;
        std::fs::remove_dir_all(&dir)?;
    }
    // The benchmark harness in its quick mode (which includes the hostile shapes' peak memory):
    // proves it works, asserts nothing about speed (`just bench` runs it at full size).
    crate::bench::quick()
}

/// The Python half, on every supported Python this machine has (see [`pythons`]): for each, a
/// fresh virtualenv made by that interpreter with the same three wheels and the test tools, then
/// pytest over the bindings', the adapters' and the cross-language tests, run from the workspace
/// root (settings in pyproject.toml). ruff and mypy check the sources once, with the first
/// interpreter, which also reruns the SDK-dependent tests against the oldest supported SDK. The
/// CLI's wheel puts `opentelemetry-parquet` into each virtualenv's scripts directory, where
/// tests/test_cli_wheel.py and the serve tests (tests/serve_process.py) run it.
fn python(wheels: &Wheels) -> Result<()> {
    let root = crate::root();
    let cli = wheels.cli.as_deref().context("test-all needs the CLI's wheel, and it was not built")?;
    let (found, missing) = pythons::find()?;
    let listed: Vec<String> = found.iter().map(|p| format!("{} ({})", p.version, p.executable.display())).collect();
    eprintln!("\ntest-all: the Python suite runs on Python {}", listed.join(", "));
    if !missing.is_empty() {
        eprintln!(
            "test-all: not found, so not tested: Python {} (looked for `$PYTHON`/python3, pyenv's versions, \
             python3.X on PATH, the py launcher)",
            missing.join(", ")
        );
    }
    let Some(first) = found.first() else {
        bail!("no supported Python ({:?}) was found to test with", pythons::SUPPORTED);
    };
    let tests = existing(&PYTHON_TESTS);
    if tests.is_empty() {
        bail!("none of the Python test directories exists: {PYTHON_TESTS:?}");
    }
    let mut passed = Vec::new();
    for python in &found {
        eprintln!("\ntest-all: Python {} ({})", python.version, python.executable.display());
        // The first keeps the plain name (what the README and habits use).
        let dir = if python.version == first.version {
            ".venv-test".to_owned()
        } else {
            format!(".venv-test-{}", python.version)
        };
        let venv = Venv::fresh_with(root.join(dir), &python.executable)?;
        venv.pip_install([
            OsStr::new("--requirement"),
            OsStr::new(REQUIREMENTS),
            wheels.bindings.as_os_str(),
            wheels.adapters.as_os_str(),
            cli.as_os_str(),
        ])?;
        if python.version == first.version {
            let sources = existing(&PYTHON_SOURCES);
            run(venv.python(["-m", "ruff", "check", "--no-cache"]).args(&sources))?;
            run(venv.python(["-m", "ruff", "format", "--check", "--no-cache"]).args(&sources))?;
            // The bindings' package (its typed stub), the adapters' sources, and the bindings'
            // tests, which use the stub as users do. Imports of either package resolve to these
            // sources (mypy_path), not to the installed wheels.
            run(venv.python(["-m", "mypy", "--strict"]).args(existing(&TYPE_CHECKED)))?;
        }
        // Exit code 5 (no tests collected) fails like any other.
        run(venv.python(["-m", "pytest", "-p", "no:cacheprovider"]).args(&tests))?;
        if python.version == first.version {
            // The adapters read private fields of the SDK: their suite runs again against the
            // oldest SDK they support (the newest is what the requirements resolved to above),
            // in the same virtualenv and with the same wheels.
            eprintln!("\ntest-all: the adapters' suite against the oldest supported SDK: {OLDEST_SDK:?}");
            venv.pip_install(OLDEST_SDK)?;
            run(venv.python(["-m", "pytest", "-p", "no:cacheprovider"]).args(existing(&OLDEST_SDK_TESTS)))?;
        }
        passed.push(python.version.clone());
    }
    eprintln!(
        "\ntest-all: the Python suite passed on Python {}{}",
        passed.join(", "),
        if missing.is_empty() { String::new() } else { format!("; not found here: {}", missing.join(", ")) }
    );
    Ok(())
}

/// The paths that exist, saying which are skipped (only ones that truly do not exist).
fn existing<'a>(paths: &[&'a str]) -> Vec<&'a str> {
    let root = crate::root();
    paths
        .iter()
        .copied()
        .filter(|path| {
            let exists = root.join(path).exists();
            if !exists {
                eprintln!("(skipping {path}: it does not exist)");
            }
            exists
        })
        .collect()
}

fn tempfile_dir(version: &str) -> Result<std::path::PathBuf> {
    let dir = crate::root().join("target").join(format!("xtask-examples-sdk-{version}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
