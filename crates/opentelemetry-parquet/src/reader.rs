//! Reading a store back: files, Arrow record batches, or OTLP requests.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::proto::collector::logs::v1::ExportLogsServiceRequest;
use crate::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use crate::proto::collector::trace::v1::ExportTraceServiceRequest;
use crate::proto::logs::v1::{ResourceLogs, ScopeLogs};
use crate::proto::metrics::v1::{metric::Data, Metric, ResourceMetrics, ScopeMetrics};
use crate::proto::trace::v1::{ResourceSpans, ScopeSpans};
use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use prost::Message as _;

use crate::encoding::{SCHEMA_VERSION, SCHEMA_VERSION_KEY};
use crate::error::{OtlpError, Result};
use crate::table::{logs, metrics, traces, ResourceKey, Table};
use crate::writer::is_data_file;

/// Reads a store directory written by [`OtlpLibrary`](crate::OtlpLibrary), in either format.
///
/// # Example
/// ```
/// use opentelemetry_parquet::{Config, OtlpLibrary, StoreReader};
/// use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
///
/// # let dir = tempfile::tempdir()?;
/// let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build()?)?;
/// library.export_otlp_traces(&ExportTraceServiceRequest::default())?;
/// library.shutdown()?;
/// let request = StoreReader::new(dir.path()).read_traces()?;
/// assert!(request.resource_spans.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct StoreReader {
    dir: PathBuf,
}

impl StoreReader {
    /// A reader of the store under `dir` (the library's `output_dir`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StoreReader { dir: dir.into() }
    }

    /// Complete data files of a table, sorted by path (so by partition, then write time).
    /// Temporary files of writes in progress and files not written by this crate are skipped.
    ///
    /// # Errors
    /// [`OtlpError::Io`] when a directory cannot be listed.
    pub fn files(&self, table: Table) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        collect_files(&self.dir.join(table.name()), &mut out)?;
        out.sort();
        Ok(out)
    }

    /// Every record batch of a table.
    ///
    /// # Errors
    /// [`OtlpError::Parquet`], [`OtlpError::Arrow`] or [`OtlpError::Io`] naming the file that
    /// could not be read.
    pub fn read_batches(&self, table: Table) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        for path in self.files(table)? {
            out.extend(read_listed(&path)?);
        }
        Ok(out)
    }

    /// The `traces` table as one OTLP request, spans grouped by resource and scope.
    ///
    /// # Errors
    /// As [`read_batches`](Self::read_batches), and [`OtlpError::InvalidStoreFile`] when a file
    /// does not have this crate's schema.
    pub fn read_traces(&self) -> Result<ExportTraceServiceRequest> {
        let resource_spans = self.read_grouped(
            Table::Traces,
            traces::read,
            |k| ResourceSpans {
                resource: Some(k.resource.clone()),
                scope_spans: Vec::new(),
                schema_url: k.resource_schema_url.clone(),
            },
            |r| &mut r.scope_spans,
            |k| ScopeSpans { scope: Some(k.scope.clone()), spans: Vec::new(), schema_url: k.scope_schema_url.clone() },
            |s| &mut s.spans,
        )?;
        Ok(ExportTraceServiceRequest { resource_spans })
    }

    /// The `logs` table as one OTLP request, log records grouped by resource and scope.
    ///
    /// # Errors
    /// As [`read_traces`](Self::read_traces).
    pub fn read_logs(&self) -> Result<ExportLogsServiceRequest> {
        let resource_logs = self.read_grouped(
            Table::Logs,
            logs::read,
            |k| ResourceLogs {
                resource: Some(k.resource.clone()),
                scope_logs: Vec::new(),
                schema_url: k.resource_schema_url.clone(),
            },
            |r| &mut r.scope_logs,
            |k| ScopeLogs {
                scope: Some(k.scope.clone()),
                log_records: Vec::new(),
                schema_url: k.scope_schema_url.clone(),
            },
            |s| &mut s.log_records,
        )?;
        Ok(ExportLogsServiceRequest { resource_logs })
    }

    /// Every row of a one-row-per-item table (`read`), grouped by resource (`R`, made by
    /// `resource`) and scope (`S` in `scopes(R)`, made by `scope`), in the order first seen.
    fn read_grouped<R, S, T>(
        &self,
        table: Table,
        read: RowsReader<T>,
        resource: impl Fn(&ResourceKey) -> R,
        scopes: impl Fn(&mut R) -> &mut Vec<S>,
        scope: impl Fn(&ResourceKey) -> S,
        items: impl Fn(&mut S) -> &mut Vec<T>,
    ) -> Result<Vec<R>> {
        let mut groups = Grouper::default();
        let mut out: Vec<R> = Vec::new();
        for path in self.files(table)? {
            for batch in read_listed(&path)? {
                for (key, item) in read(&batch).map_err(|e| OtlpError::invalid_file(&path, e))? {
                    let (r, s) = groups.indices(&key, &mut out, &resource);
                    let list = scopes(&mut out[r]);
                    if s == list.len() {
                        list.push(scope(&key));
                    }
                    items(&mut list[s]).push(item);
                }
            }
        }
        Ok(out)
    }

    /// The five metric tables as one OTLP request: data points grouped by resource, scope and
    /// metric (name, description, unit, metadata, type, temporality, monotonicity).
    ///
    /// # Errors
    /// As [`read_traces`](Self::read_traces).
    pub fn read_metrics(&self) -> Result<ExportMetricsServiceRequest> {
        let mut groups = Grouper::default();
        let mut resource_metrics: Vec<ResourceMetrics> = Vec::new();
        let mut metric_index: HashMap<(usize, usize, Vec<u8>), usize> = HashMap::new();
        for table in Table::ALL {
            let Some(kind) = table.metric_kind() else { continue };
            for path in self.files(table)? {
                for batch in read_listed(&path)? {
                    let rows = metrics::read(kind, &batch).map_err(|e| OtlpError::invalid_file(&path, e))?;
                    for (key, metric) in rows {
                        let (r, s) = groups.indices(&key, &mut resource_metrics, |k| ResourceMetrics {
                            resource: Some(k.resource.clone()),
                            scope_metrics: Vec::new(),
                            schema_url: k.resource_schema_url.clone(),
                        });
                        let scopes = &mut resource_metrics[r].scope_metrics;
                        if s == scopes.len() {
                            scopes.push(ScopeMetrics {
                                scope: Some(key.scope.clone()),
                                metrics: Vec::new(),
                                schema_url: key.scope_schema_url.clone(),
                            });
                        }
                        let metrics = &mut scopes[s].metrics;
                        let id = metric_identity(&metric);
                        match metric_index.get(&(r, s, id.clone())) {
                            Some(&m) => merge_points(&mut metrics[m], metric),
                            None => {
                                metric_index.insert((r, s, id), metrics.len());
                                metrics.push(metric);
                            }
                        }
                    }
                }
            }
        }
        Ok(ExportMetricsServiceRequest { resource_metrics })
    }
}

/// Assigns rows to (resource, scope) groups in order of first appearance. Keys are compared
/// by their protobuf encoding, which (unlike `PartialEq` on doubles) tells `-0.0` from `0.0`.
#[derive(Default)]
struct Grouper {
    resources: HashMap<Vec<u8>, usize>,
    /// Per resource index: scope key -> scope index.
    scopes: Vec<HashMap<Vec<u8>, usize>>,
}

impl Grouper {
    fn indices<T>(
        &mut self,
        key: &ResourceKey,
        out: &mut Vec<T>,
        new: impl FnOnce(&ResourceKey) -> T,
    ) -> (usize, usize) {
        let next = self.resources.len();
        let r = *self.resources.entry(key.resource_bytes()).or_insert(next);
        if r == out.len() {
            out.push(new(key));
            self.scopes.push(HashMap::new());
        }
        let scopes = &mut self.scopes[r];
        let next_scope = scopes.len();
        let s = *scopes.entry(key.scope_bytes()).or_insert(next_scope);
        (r, s)
    }
}

/// Reads the rows of a stored batch, each with its resource and scope.
type RowsReader<T> = fn(&RecordBatch) -> crate::table::read::ReadResult<Vec<(ResourceKey, T)>>;

/// A metric's identity: everything but its data points.
fn metric_identity(metric: &Metric) -> Vec<u8> {
    let mut m = metric.clone();
    match &mut m.data {
        Some(Data::Gauge(g)) => g.data_points.clear(),
        Some(Data::Sum(s)) => s.data_points.clear(),
        Some(Data::Histogram(h)) => h.data_points.clear(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.clear(),
        Some(Data::Summary(s)) => s.data_points.clear(),
        None => {}
    }
    let mut bytes = m.encode_to_vec();
    // Distinguish the data kind even when a message encodes empty.
    bytes.push(match m.data {
        Some(Data::Gauge(_)) => 1,
        Some(Data::Sum(_)) => 2,
        Some(Data::Histogram(_)) => 3,
        Some(Data::ExponentialHistogram(_)) => 4,
        Some(Data::Summary(_)) => 5,
        None => 0,
    });
    bytes
}

fn merge_points(into: &mut Metric, from: Metric) {
    match (&mut into.data, from.data) {
        (Some(Data::Gauge(a)), Some(Data::Gauge(b))) => a.data_points.extend(b.data_points),
        (Some(Data::Sum(a)), Some(Data::Sum(b))) => a.data_points.extend(b.data_points),
        (Some(Data::Histogram(a)), Some(Data::Histogram(b))) => a.data_points.extend(b.data_points),
        (Some(Data::ExponentialHistogram(a)), Some(Data::ExponentialHistogram(b))) => {
            a.data_points.extend(b.data_points)
        }
        (Some(Data::Summary(a)), Some(Data::Summary(b))) => a.data_points.extend(b.data_points),
        _ => unreachable!("metrics with the same identity have the same data kind"),
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(OtlpError::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| OtlpError::io(dir, e))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(|e| OtlpError::io(&path, e))?;
        if file_type.is_dir() {
            collect_files(&path, out)?;
        } else if is_data_file(&entry.file_name().to_string_lossy()) {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads a file found by listing the store: a file removed since (by retention, perhaps of
/// another process) has no rows rather than failing the whole read.
fn read_listed(path: &Path) -> Result<Vec<RecordBatch>> {
    match read_file(path) {
        Err(OtlpError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

/// Reads one Parquet or Arrow IPC file (by extension). A file of a newer
/// [`SCHEMA_VERSION`](crate::SCHEMA_VERSION) than this crate knows is an
/// [`OtlpError::InvalidStoreFile`] saying so; files without a version are version 1.
pub fn read_file(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).map_err(|e| OtlpError::io(path, e))?;
    if path.extension().is_some_and(|e| e == "arrow") {
        let arrow_err = |e| OtlpError::arrow(format!("reading {}", path.display()), e);
        let reader = arrow_ipc::reader::FileReader::try_new(file, None).map_err(arrow_err)?;
        check_version(path, reader.schema().metadata().get(SCHEMA_VERSION_KEY).map(String::as_str))?;
        reader.collect::<std::result::Result<_, _>>().map_err(arrow_err)
    } else {
        let parquet_err = |source| OtlpError::Parquet { path: path.to_path_buf(), source };
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_err)?;
        let version = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kvs| kvs.iter().find(|kv| kv.key == SCHEMA_VERSION_KEY))
            .and_then(|kv| kv.value.clone());
        check_version(path, version.as_deref())?;
        builder
            .build()
            .map_err(parquet_err)?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| OtlpError::arrow(format!("reading {}", path.display()), e))
    }
}

/// Refuses a file whose recorded schema version is newer than this crate's (or not a number).
fn check_version(path: &Path, version: Option<&str>) -> Result<()> {
    let Some(version) = version else { return Ok(()) };
    match version.parse::<u32>() {
        Ok(v) if v <= SCHEMA_VERSION => Ok(()),
        Ok(v) => Err(OtlpError::invalid_file(
            path,
            format!(
                "written with schema version {v}; this version of opentelemetry-parquet reads up to {SCHEMA_VERSION}"
            ),
        )),
        Err(_) => Err(OtlpError::invalid_file(path, format!("unreadable schema version {version:?}"))),
    }
}
