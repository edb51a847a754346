//! `cargo xtask test-all`.

use anyhow::Result;

use crate::{cargo, run};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

impl Args {
    pub(crate) fn run(self) -> Result<()> {
        run(&mut cargo(["fmt", "--all", "--check"]))?;
        run(&mut cargo(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
        run(cargo(["doc", "--workspace", "--no-deps", "--quiet"]).env("RUSTDOCFLAGS", "-D warnings"))?;
        run(&mut cargo(["test", "--workspace"]))?;
        // The README's integration examples, against a throwaway directory.
        let dir = tempfile_dir()?;
        for example in ["traces", "metrics"] {
            run(cargo(["run", "--quiet", "-p", "opentelemetry-parquet", "--example", example])
                .env("OTEL_PARQUET_OUTPUT_DIR", &dir))?;
        }
        run(cargo(["run", "--quiet", "-p", "opentelemetry-parquet-cli", "--", "inspect", "--rows", "1"]).arg(&dir))?;
        std::fs::remove_dir_all(&dir)?;
        eprintln!("\ntest-all: everything passed");
        Ok(())
    }
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = crate::root().join("target").join("xtask-examples");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
