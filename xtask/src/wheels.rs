//! `cargo xtask wheels`: the three Python wheels, into `dist/`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::python::Venv;
use crate::run;

/// The bindings crate (maturin project of the `opentelemetry-parquet` wheel).
pub(crate) const BINDINGS: &str = "bindings/opentelemetry-parquet-ffi";
/// The pure-Python adapters (the `opentelemetry-exporter-parquet` wheel).
pub(crate) const ADAPTERS: &str = "python-adapters";
/// The command-line crate (maturin project, `bindings = "bin"`, of the `opentelemetry-parquet-cli`
/// wheel, which holds the `opentelemetry-parquet` executable).
const CLI: &str = "crates/opentelemetry-parquet-cli";
/// What `.venv` gets to build the bindings: the bindings' `build-system.requires`.
const MATURIN: &str = "maturin>=1.9,<2";
/// Wheel file-name prefixes of our three distributions (normalized names plus the separator, so
/// that `opentelemetry_parquet-` does not match `opentelemetry_parquet_cli-`).
const BINDINGS_WHEEL: &str = "opentelemetry_parquet-";
const ADAPTERS_WHEEL: &str = "opentelemetry_exporter_parquet-";
const CLI_WHEEL: &str = "opentelemetry_parquet_cli-";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Build for this Rust target (`rustup target add` it first), e.g. `x86_64-apple-darwin` on
    /// an arm64 Mac; default: this machine's. On Linux the wheels are tagged for the oldest glibc
    /// their binaries need, so they are built on an old one (CI: a manylinux_2_28 container).
    #[arg(long)]
    target: Option<String>,
}

impl Args {
    pub(crate) fn run(self) -> Result<()> {
        let mut options = Vec::new();
        if let Some(target) = &self.target {
            options.extend(["--target".to_owned(), target.clone()]);
        }
        let wheels = build(&options)?;
        let cli = wheels.cli.as_deref().unwrap_or(Path::new("(not built)"));
        eprintln!("\nwheels:\n  {}\n  {}\n  {}", wheels.bindings.display(), wheels.adapters.display(), cli.display());
        Ok(())
    }
}

/// The wheels built by [`build`], [`build_for_tests`] or [`build_into`].
#[derive(Debug)]
pub(crate) struct Wheels {
    /// `opentelemetry_parquet-*.whl` (the Rust engine).
    pub(crate) bindings: PathBuf,
    /// `opentelemetry_exporter_parquet-*.whl` (the SDK exporters).
    pub(crate) adapters: PathBuf,
    /// `opentelemetry_parquet_cli-*.whl` (the `opentelemetry-parquet` command): built by
    /// [`build`] and [`build_for_tests`], not by [`build_into`] (the benchmarks install only the
    /// two libraries).
    pub(crate) cli: Option<PathBuf>,
}

/// The Cargo profile the CLI wheel's executable is compiled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CliProfile {
    /// `--release`, stripped: the wheel users get (`cargo xtask wheels`).
    Release,
    /// `--profile dev`: the wheel `cargo xtask test-all` tests. maturin runs `cargo rustc
    /// --profile dev --bin opentelemetry-parquet` with no flags of its own (hence no `--strip`
    /// here): the units `cargo run -p opentelemetry-parquet-cli` builds in target/debug (and, but
    /// for the binary itself, `cargo test -p opentelemetry-parquet-cli`). After those cargo finds
    /// every unit fresh (210, measured) and the wheel takes about 3 s, where a release build of
    /// the CLI's dependencies would take minutes on two cores (the bindings' wheel is already one
    /// release build). maturin must see the environment the cargo commands before it saw: cargo
    /// compares environment variables that build scripts read (ring's reads
    /// `CARGO_MANIFEST_DIR`, which xtask's `main` removes for that reason). What the tests check of the command (arguments,
    /// output, the files it writes, OTLP from real clients) does not depend on the profile.
    Dev,
}

/// Builds the three wheels users get into `dist/` (removing our older wheels there first): the
/// bindings with maturin in release mode, the adapters with `pip wheel`, the command with maturin
/// in release mode. maturin comes from `.venv`, created (and maturin installed into it) when
/// missing.
pub(crate) fn build(maturin_options: &[String]) -> Result<Wheels> {
    build_wheels(&crate::root().join("dist"), Some(CliProfile::Release), maturin_options)
}

/// The three wheels `cargo xtask test-all` installs, into target/test-all-wheels: as [`build`],
/// but the command in the dev profile ([`CliProfile::Dev`] says why). Not into `dist/`, where
/// a dev-profile wheel would replace the release one under the same file name.
pub(crate) fn build_for_tests() -> Result<Wheels> {
    build_wheels(&crate::root().join("target").join("test-all-wheels"), Some(CliProfile::Dev), &[])
}

/// The two libraries' wheels (bindings and adapters, not the command), into `dist` instead of
/// the workspace's `dist/`: `cargo xtask bench` keeps its wheels in its target directory.
pub(crate) fn build_into(dist: &Path) -> Result<Wheels> {
    build_wheels(dist, None, &[])
}

/// Builds the wheels, each maturin build with `maturin_options` (the target).
fn build_wheels(dist: &Path, cli: Option<CliProfile>, maturin_options: &[String]) -> Result<Wheels> {
    let root = crate::root();
    let adapters = root.join(ADAPTERS);
    if !adapters.join("pyproject.toml").is_file() {
        bail!(
            "{} is missing: the pure-Python package opentelemetry-exporter-parquet is not there, so its wheel \
             cannot be built",
            adapters.join("pyproject.toml").display()
        );
    }
    let venv = Venv::reuse_or_create(root.join(".venv"))?;
    let maturin = venv.ensure_tool("maturin", MATURIN)?;

    std::fs::create_dir_all(dist).with_context(|| format!("creating {}", dist.display()))?;
    remove_our_wheels(dist)?;

    // No `--strip`: stripping the symbol table also removes the UniFFI metadata symbols that
    // maturin's uniffi-bindgen step reads from the library ("No UniFFI metadata found"), and the
    // release profile already leaves out debug info. maturin picks the manylinux tag itself (it
    // audits the library, which links only to libc).
    let manifest = root.join(BINDINGS).join("Cargo.toml");
    run(std::process::Command::new(&maturin)
        .args(["build", "--release"])
        .args(maturin_options)
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--out")
        .arg(dist)
        .current_dir(&root))?;
    run(venv
        .python(["-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps", "--wheel-dir"])
        .arg(dist)
        .arg(&adapters))?;

    if let Some(profile) = cli {
        build_cli(&maturin, dist, profile, maturin_options)?;
    }

    Ok(Wheels {
        bindings: only_wheel(dist, BINDINGS_WHEEL)?,
        adapters: only_wheel(dist, ADAPTERS_WHEEL)?,
        cli: cli.map(|_| only_wheel(dist, CLI_WHEEL)).transpose()?,
    })
}

/// The `opentelemetry-parquet-cli` wheel: maturin (`bindings = "bin"` in the crate's
/// pyproject.toml) compiles the binary with `cargo rustc --bin opentelemetry-parquet` and puts
/// it in the wheel's `.data/scripts/`, which pip installs into the environment's scripts
/// directory. The release binary is stripped of its symbol table, as ruff and uv ship theirs
/// (27 MB to 22 MB, the wheel 8.5 to 7.4 MB; panics then print no function names). maturin
/// strips by passing `-C strip=symbols` to the binary's rustc, which changes its fingerprint:
/// the dev wheel is not stripped, so that its binary stays the one target/debug already has.
fn build_cli(maturin: &Path, dist: &Path, profile: CliProfile, maturin_options: &[String]) -> Result<()> {
    let root = crate::root();
    let profile: &[&str] = match profile {
        CliProfile::Release => &["--release", "--strip"],
        CliProfile::Dev => &["--profile", "dev"],
    };
    run(std::process::Command::new(maturin)
        .arg("build")
        .args(profile)
        .args(maturin_options)
        .arg("--manifest-path")
        .arg(root.join(CLI).join("Cargo.toml"))
        .arg("--out")
        .arg(dist)
        .current_dir(&root))
}

fn our_wheels(dist: &Path, prefix: &str) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dist).with_context(|| format!("listing {}", dist.display()))? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(prefix) && name.ends_with(".whl") {
            found.push(path);
        }
    }
    Ok(found)
}

fn remove_our_wheels(dist: &Path) -> Result<()> {
    for prefix in [BINDINGS_WHEEL, ADAPTERS_WHEEL, CLI_WHEEL] {
        for wheel in our_wheels(dist, prefix)? {
            std::fs::remove_file(&wheel).with_context(|| format!("removing {}", wheel.display()))?;
        }
    }
    Ok(())
}

fn only_wheel(dist: &Path, prefix: &str) -> Result<PathBuf> {
    match <[PathBuf; 1]>::try_from(our_wheels(dist, prefix)?) {
        Ok([wheel]) => Ok(wheel),
        Err(found) => bail!("expected one {prefix}*.whl in {} after the build, found {found:?}", dist.display()),
    }
}
