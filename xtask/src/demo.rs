//! `cargo xtask demo`.

use std::path::PathBuf;

use anyhow::Result;

use crate::{cargo, run};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where the demo writes (default: $OTEL_PARQUET_OUTPUT_DIR, else ./otel-data).
    #[arg(long)]
    dir: Option<PathBuf>,
}

impl Args {
    pub(crate) fn run(self) -> Result<()> {
        let dir = self
            .dir
            .or_else(|| std::env::var_os("OTEL_PARQUET_OUTPUT_DIR").map(PathBuf::from))
            .unwrap_or_else(|| crate::root().join("otel-data"));
        run(cargo(["run", "--quiet", "-p", "opentelemetry-parquet", "--example", "demo"])
            .env("OTEL_PARQUET_OUTPUT_DIR", &dir))?;
        run(cargo(["run", "--quiet", "-p", "opentelemetry-parquet-cli", "--", "inspect"]).arg(&dir))?;
        let d = dir.display();
        eprintln!(
            "\nQuery it yourself, e.g. with DuckDB:\n  SELECT SpanName, count(*), avg(Duration) FROM read_parquet('{d}/traces/**/*.parquet', hive_partitioning=true) GROUP BY 1;\n  \
             -- the log lines of the failed requests:\n  SELECT s.SpanName, l.SeverityText, l.Body FROM read_parquet('{d}/traces/**/*.parquet') s \
             JOIN read_parquet('{d}/logs/**/*.parquet') l USING (TraceId, SpanId) WHERE s.StatusCode = 'Error';"
        );
        Ok(())
    }
}
