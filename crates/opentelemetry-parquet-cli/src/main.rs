//! `opentelemetry-parquet`: look inside a store written by the `opentelemetry-parquet` crate,
//! and serve an OTLP endpoint that writes one.
//!
//! ```text
//! opentelemetry-parquet inspect [DIR] [--rows N]   tables, files, row counts, sample rows
//! opentelemetry-parquet schema TABLE               the columns of a table
//! opentelemetry-parquet serve [--output-dir DIR] [--grpc ADDR|off] [--http ADDR|off]
//!                                                  OTLP/gRPC (4317) and OTLP/HTTP (4318) into a store
//! opentelemetry-parquet replay DIR --endpoint URL [--protocol grpc|http/protobuf]
//!                                                  a store sent as OTLP to any endpoint
//! ```

mod replay;
mod serve;
#[cfg(test)]
mod test_support;
mod tls;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use arrow_array::RecordBatch;
use clap::{Parser, Subcommand};
use opentelemetry_parquet::{read_file, StoreReader, Table};

#[derive(Debug, Parser)]
#[command(
    name = "opentelemetry-parquet",
    version,
    about = "Inspect an opentelemetry-parquet store, or serve an OTLP endpoint that writes one"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show each table's partitions, files, rows and bytes, and a few sample rows.
    Inspect {
        /// The store's directory (the library's output_dir).
        #[arg(default_value = "./otel-data", env = "OTEL_PARQUET_OUTPUT_DIR")]
        dir: PathBuf,
        /// Sample rows to print per table.
        #[arg(long, default_value_t = 3)]
        rows: usize,
    },
    /// Print the columns of a table (traces, metrics_gauge, metrics_sum, metrics_histogram,
    /// metrics_exponential_histogram, metrics_summary, logs).
    Schema {
        /// The table.
        table: String,
    },
    /// Receive OTLP (gRPC and HTTP, traces, metrics and logs) from any OpenTelemetry program and
    /// store it; Ctrl-C or SIGTERM flushes and exits.
    Serve(serve::ServeArgs),
    /// Send a store as OTLP to an endpoint (a Collector, Jaeger, a vendor, another `serve`), in
    /// batches, retrying what the endpoint asks to be retried.
    Replay(replay::ReplayArgs),
}

fn main() -> ExitCode {
    tls::install_default_provider();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Inspect { dir, rows } => print!("{}", inspect(&dir, rows)?),
        Command::Serve(args) => serve::run(args)?,
        Command::Replay(args) => replay::run(args)?,
        Command::Schema { table } => {
            let table = Table::ALL
                .into_iter()
                .find(|t| t.name() == table)
                .with_context(|| format!("unknown table {table:?}"))?;
            for field in table.schema().fields() {
                println!(
                    "{:<34} {}{}",
                    field.name(),
                    field.data_type(),
                    if field.is_nullable() { " (nullable)" } else { "" }
                );
            }
        }
    }
    Ok(())
}

/// Columns shown in the sample rows of each table.
fn sample_columns(table: Table) -> &'static [&'static str] {
    match table {
        Table::Traces => {
            &["Timestamp", "ServiceName", "SpanName", "SpanKind", "Duration", "StatusCode", "SpanAttributes"]
        }
        Table::MetricsGauge => &["TimeUnix", "ServiceName", "MetricName", "Attributes", "Value"],
        Table::MetricsSum => &["TimeUnix", "ServiceName", "MetricName", "Attributes", "Value", "IsMonotonic"],
        Table::MetricsHistogram => &["TimeUnix", "MetricName", "Attributes", "Count", "Sum", "Min", "Max"],
        Table::MetricsExponentialHistogram => &["TimeUnix", "MetricName", "Attributes", "Count", "Sum", "Scale"],
        Table::MetricsSummary => &["TimeUnix", "MetricName", "Attributes", "Count", "Sum"],
        Table::Logs => &["Timestamp", "ServiceName", "SeverityText", "Body", "TraceId", "SpanId", "LogAttributes"],
        _ => &[],
    }
}

fn inspect(dir: &Path, sample_rows: usize) -> Result<String> {
    use std::fmt::Write as _;
    let reader = StoreReader::new(dir);
    let mut out = String::new();
    writeln!(out, "store: {}", dir.display())?;
    let mut any = false;
    for table in Table::ALL {
        let files = reader.files(table)?;
        if files.is_empty() {
            continue;
        }
        any = true;
        let mut rows = 0;
        let mut bytes = 0;
        let mut partitions = std::collections::BTreeSet::new();
        let mut sample: Vec<RecordBatch> = Vec::new();
        let mut sampled = 0;
        for path in &files {
            bytes += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            if let Some(partition) = path.parent().and_then(|p| p.strip_prefix(dir.join(table.name())).ok()) {
                partitions.insert(partition.to_path_buf());
            }
            for batch in read_file(path)? {
                rows += batch.num_rows();
                if sampled < sample_rows {
                    let take = (sample_rows - sampled).min(batch.num_rows());
                    sample.push(project(&batch.slice(0, take), sample_columns(table))?);
                    sampled += take;
                }
            }
        }
        writeln!(
            out,
            "\n{table}: {rows} rows in {} files, {} partitions, {bytes} bytes",
            files.len(),
            partitions.len()
        )?;
        if !sample.is_empty() {
            writeln!(out, "{}", arrow_cast::pretty::pretty_format_batches(&sample)?)?;
        }
    }
    if !any {
        writeln!(out, "no data files yet (is this the library's output_dir?)")?;
    }
    Ok(out)
}

fn project(batch: &RecordBatch, columns: &[&str]) -> Result<RecordBatch> {
    let schema = batch.schema();
    let indices: Vec<usize> = columns.iter().filter_map(|c| schema.index_of(c).ok()).collect();
    Ok(batch.project(&indices)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use opentelemetry_parquet::{Config, OtlpLibrary};

    #[test]
    fn inspect_shows_tables_rows_and_samples() {
        let dir = tempfile::tempdir().unwrap();
        let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build().unwrap()).unwrap();
        let spans = (0..5u8)
            .map(|i| Span {
                trace_id: vec![i; 16],
                span_id: vec![i; 8],
                name: format!("span-{i}"),
                start_time_unix_nano: 1_700_000_000_000_000_000,
                end_time_unix_nano: 1_700_000_000_000_000_500,
                ..Default::default()
            })
            .collect();
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            }],
        };
        library.export_otlp_traces(&request).unwrap();
        library.shutdown().unwrap();
        let text = inspect(dir.path(), 2).unwrap();
        assert!(text.contains("traces: 5 rows in 1 files, 1 partitions"), "{text}");
        assert!(text.contains("span-0") && text.contains("span-1") && !text.contains("span-2"), "{text}");
        assert!(text.contains("SpanKind"), "{text}");
    }

    #[test]
    fn inspect_shows_the_logs_table() {
        use opentelemetry_parquet::proto::collector::logs::v1::ExportLogsServiceRequest;
        use opentelemetry_parquet::proto::common::v1::{any_value::Value, AnyValue};
        use opentelemetry_parquet::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
        let dir = tempfile::tempdir().unwrap();
        let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build().unwrap()).unwrap();
        let log_records = ["card declined", "retrying"]
            .into_iter()
            .map(|body| LogRecord {
                time_unix_nano: 1_700_000_000_000_000_000,
                severity_text: "ERROR".into(),
                severity_number: 17,
                body: Some(AnyValue { value: Some(Value::StringValue(body.into())) }),
                trace_id: vec![0xab; 16],
                span_id: vec![0xcd; 8],
                ..Default::default()
            })
            .collect();
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs { log_records, ..Default::default() }],
                ..Default::default()
            }],
        };
        library.export_otlp_logs(&request).unwrap();
        library.shutdown().unwrap();
        let text = inspect(dir.path(), 5).unwrap();
        assert!(text.contains("logs: 2 rows in 1 files, 1 partitions"), "{text}");
        for shown in ["SeverityText", "Body", "card declined", "retrying", &"ab".repeat(16), &"cd".repeat(8)] {
            assert!(text.contains(shown), "{shown} not in {text}");
        }
        let schema = Table::ALL.into_iter().find(|t| t.name() == "logs").unwrap().schema();
        assert!(schema.field_with_name("SeverityNumber").is_ok());
    }

    #[test]
    fn inspect_of_an_empty_directory_says_so() {
        let dir = tempfile::tempdir().unwrap();
        assert!(inspect(dir.path(), 3).unwrap().contains("no data files yet"));
    }
}
