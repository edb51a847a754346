//! `cargo xtask wheels`: the two Python wheels, into `dist/`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::python::Venv;
use crate::run;

/// The bindings crate (maturin project of the `opentelemetry-parquet` wheel).
pub(crate) const BINDINGS: &str = "bindings/opentelemetry-parquet-ffi";
/// The pure-Python adapters (the `opentelemetry-exporter-parquet` wheel).
pub(crate) const ADAPTERS: &str = "python-adapters";
/// What `.venv` gets to build the bindings: the bindings' `build-system.requires`.
const MATURIN: &str = "maturin>=1.9,<2";
/// Wheel file-name prefixes of our two distributions (normalized names plus the separator).
const BINDINGS_WHEEL: &str = "opentelemetry_parquet-";
const ADAPTERS_WHEEL: &str = "opentelemetry_exporter_parquet-";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

impl Args {
    pub(crate) fn run(self) -> Result<()> {
        let wheels = build()?;
        eprintln!("\nwheels:\n  {}\n  {}", wheels.bindings.display(), wheels.adapters.display());
        Ok(())
    }
}

/// The two wheels built by [`build`].
#[derive(Debug)]
pub(crate) struct Wheels {
    /// `opentelemetry_parquet-*.whl` (the Rust engine).
    pub(crate) bindings: PathBuf,
    /// `opentelemetry_exporter_parquet-*.whl` (the SDK exporters).
    pub(crate) adapters: PathBuf,
}

/// Builds both wheels into `dist/` (removing our older wheels there first): the bindings with
/// maturin in release mode, the adapters with `pip wheel`. maturin comes from `.venv`, created
/// (and maturin installed into it) when missing.
pub(crate) fn build() -> Result<Wheels> {
    build_into(&crate::root().join("dist"))
}

/// [`build`], into `dist` instead of the workspace's `dist/` (`cargo xtask bench` keeps its
/// wheels in its target directory).
pub(crate) fn build_into(dist: &Path) -> Result<Wheels> {
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
        .args(["build", "--release", "--manifest-path"])
        .arg(&manifest)
        .arg("--out")
        .arg(dist)
        .current_dir(&root))?;
    run(venv
        .python(["-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps", "--wheel-dir"])
        .arg(dist)
        .arg(&adapters))?;

    Ok(Wheels { bindings: only_wheel(dist, BINDINGS_WHEEL)?, adapters: only_wheel(dist, ADAPTERS_WHEEL)? })
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
    for prefix in [BINDINGS_WHEEL, ADAPTERS_WHEEL] {
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
