//! OTLP exports prepared outside the buffer lock (the SDK's are prepared in `crate::sdk`):
//! validated (nesting), resources, scopes and metrics rendered, and every row measured, so that
//! an export is accepted or refused whole before anything is appended.

use crate::buffer::{builder_bytes, otlp_kind, otlp_times};
use crate::error::{OtlpError, Result};
use crate::proto::collector::logs::v1::ExportLogsServiceRequest;
use crate::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use crate::proto::collector::trace::v1::ExportTraceServiceRequest;
use crate::proto::common::v1::InstrumentationScope;
use crate::proto::metrics::v1::metric::Data;
use crate::proto::resource::v1::Resource;
use crate::size::{self, Unstorable, MAX_ROW_BYTES};
use crate::table::metrics::MetricInfo;
use crate::table::resource::{ResourceInfo, ScopeInfo};
use crate::table::Table;
use crate::time::Partition;

/// Sums the measured rows of an export, refusing a row larger than a file can hold, and counts
/// a builder for each partition the export touches.
#[derive(Default)]
pub(crate) struct Tally {
    rows: Vec<usize>,
    rows_bytes: usize,
    partitions: std::collections::HashSet<(Table, Partition)>,
    /// The partition of the previous row: consecutive rows mostly share one, so the set is
    /// only touched when it changes.
    last: Option<(Table, Partition)>,
}

impl Tally {
    pub(crate) fn row(&mut self, table: Table, time: u64, bytes: usize) -> Result<()> {
        if bytes > MAX_ROW_BYTES {
            return Err(OtlpError::ExportTooLarge {
                bytes,
                limit_bytes: MAX_ROW_BYTES,
                limit: "the largest row a file can hold",
            });
        }
        self.rows.push(bytes);
        self.rows_bytes += bytes;
        let partition = Some((table, Partition::of(time)));
        if self.last != partition {
            self.last = partition;
            self.partitions.extend(partition);
        }
        Ok(())
    }

    /// The rows' sizes and the export's total, including a new builder per partition.
    pub(crate) fn finish(self) -> (Vec<usize>, usize) {
        // Zero only when there are no rows.
        let total = self.rows_bytes + self.partitions.len() * builder_bytes();
        (self.rows, total)
    }
}

fn decode_error(message: &'static str) -> impl Fn(Unstorable) -> OtlpError {
    move |Unstorable(reason)| OtlpError::Decode { message, reason }
}

/// The scope of each span, from runs of consecutive spans with the same scope (SDK spans).
pub(crate) fn scopes_for(runs: &[(ScopeInfo, usize)]) -> impl Iterator<Item = &ScopeInfo> + '_ {
    runs.iter().flat_map(|(scope, run)| std::iter::repeat_n(scope, *run))
}

/// An OTLP traces request validated, with its resources and scopes rendered (one per
/// `ResourceSpans` and `ScopeSpans`, in the request's order) and every row measured (outside
/// the buffer lock).
#[derive(Debug)]
pub(crate) struct PreparedTraces {
    pub(crate) resources: Vec<(ResourceInfo, Vec<ScopeInfo>)>,
    pub(crate) rows: Vec<usize>,
    /// The bytes the request adds to the buffer, at most.
    pub(crate) bytes: usize,
    /// The memory the request itself takes, counted on top of `bytes` while the buffer holds
    /// it as it came (`export_otlp_traces_owned`).
    pub(crate) held: usize,
}

const TRACES_REQUEST: &str = "ExportTraceServiceRequest";
const METRICS_REQUEST: &str = "ExportMetricsServiceRequest";
const LOGS_REQUEST: &str = "ExportLogsServiceRequest";

/// Validates (nesting) and renders a resource.
fn otlp_resource(resource: Option<&Resource>, schema_url: &str, message: &'static str) -> Result<ResourceInfo> {
    if let Some(r) = resource {
        size::otlp_attrs(&r.attributes).map_err(decode_error(message))?;
    }
    Ok(ResourceInfo::from_otlp(resource, schema_url))
}

/// Validates (nesting) and renders a scope.
fn otlp_scope(scope: Option<&InstrumentationScope>, schema_url: &str, message: &'static str) -> Result<ScopeInfo> {
    if let Some(s) = scope {
        size::otlp_attrs(&s.attributes).map_err(decode_error(message))?;
    }
    Ok(ScopeInfo::from_otlp(scope, schema_url))
}

impl PreparedTraces {
    pub(crate) fn new(req: &ExportTraceServiceRequest) -> Result<Self> {
        let mut tally = Tally::default();
        let mut held = 0;
        let mut resources = Vec::with_capacity(req.resource_spans.len());
        for rs in &req.resource_spans {
            let resource = otlp_resource(rs.resource.as_ref(), &rs.schema_url, TRACES_REQUEST)?;
            let mut scopes = Vec::with_capacity(rs.scope_spans.len());
            for ss in &rs.scope_spans {
                let scope = otlp_scope(ss.scope.as_ref(), &ss.schema_url, TRACES_REQUEST)?;
                let shared = resource.bytes() + scope.bytes();
                for span in &ss.spans {
                    let bytes = size::otlp_span(span).map_err(decode_error(TRACES_REQUEST))?;
                    tally.row(Table::Traces, span.start_time_unix_nano, bytes + shared)?;
                    held += size::otlp_span_held(span, bytes);
                }
                scopes.push(scope);
            }
            resources.push((resource, scopes));
        }
        let (rows, bytes) = tally.finish();
        Ok(PreparedTraces { resources, rows, bytes, held })
    }
}

type PreparedScopeMetrics<'a> = Vec<(ScopeInfo, Vec<(MetricInfo, &'a Data)>)>;

/// An OTLP metrics request validated, with its resources, scopes and metrics rendered and
/// every row measured.
pub(crate) struct PreparedMetrics<'a> {
    pub(crate) resources: Vec<(ResourceInfo, PreparedScopeMetrics<'a>)>,
    pub(crate) rows: Vec<usize>,
    /// The bytes the request adds to the buffer, at most.
    pub(crate) bytes: usize,
}

impl<'a> PreparedMetrics<'a> {
    pub(crate) fn new(req: &'a ExportMetricsServiceRequest) -> Result<Self> {
        let mut tally = Tally::default();
        let mut resources = Vec::with_capacity(req.resource_metrics.len());
        for rm in &req.resource_metrics {
            let resource = otlp_resource(rm.resource.as_ref(), &rm.schema_url, METRICS_REQUEST)?;
            let mut scopes = Vec::with_capacity(rm.scope_metrics.len());
            for sm in &rm.scope_metrics {
                let scope = otlp_scope(sm.scope.as_ref(), &sm.schema_url, METRICS_REQUEST)?;
                let mut metrics = Vec::with_capacity(sm.metrics.len());
                for m in &sm.metrics {
                    let Some(data) = m.data.as_ref() else { continue };
                    size::otlp_attrs(&m.metadata).map_err(decode_error(METRICS_REQUEST))?;
                    let info = MetricInfo::from_otlp(m);
                    let shared = resource.bytes() + scope.bytes() + info.bytes();
                    let table = Table::of_metric(otlp_kind(data));
                    for (i, time) in otlp_times(data).enumerate() {
                        let bytes = size::otlp_point(data, i).map_err(decode_error(METRICS_REQUEST))?;
                        tally.row(table, time, bytes + shared)?;
                    }
                    metrics.push((info, data));
                }
                scopes.push((scope, metrics));
            }
            resources.push((resource, scopes));
        }
        let (rows, bytes) = tally.finish();
        Ok(PreparedMetrics { resources, rows, bytes })
    }
}

/// An OTLP logs request validated, with its resources and scopes rendered and every row
/// measured (as [`PreparedTraces`]).
#[derive(Debug)]
pub(crate) struct PreparedLogs {
    pub(crate) resources: Vec<(ResourceInfo, Vec<ScopeInfo>)>,
    pub(crate) rows: Vec<usize>,
    /// The bytes the request adds to the buffer, at most.
    pub(crate) bytes: usize,
    /// The memory the request itself takes while the buffer holds it as it came.
    pub(crate) held: usize,
}

impl PreparedLogs {
    pub(crate) fn new(req: &ExportLogsServiceRequest) -> Result<Self> {
        let mut tally = Tally::default();
        let mut held = 0;
        let mut resources = Vec::with_capacity(req.resource_logs.len());
        for rl in &req.resource_logs {
            let resource = otlp_resource(rl.resource.as_ref(), &rl.schema_url, LOGS_REQUEST)?;
            let mut scopes = Vec::with_capacity(rl.scope_logs.len());
            for sl in &rl.scope_logs {
                let scope = otlp_scope(sl.scope.as_ref(), &sl.schema_url, LOGS_REQUEST)?;
                let shared = resource.bytes() + scope.bytes();
                for record in &sl.log_records {
                    let bytes = size::otlp_log(record).map_err(decode_error(LOGS_REQUEST))?;
                    let time = crate::table::logs::record_time(record.time_unix_nano, record.observed_time_unix_nano);
                    tally.row(Table::Logs, time, bytes + shared)?;
                    held += size::otlp_log_held(record, bytes);
                }
                scopes.push(scope);
            }
            resources.push((resource, scopes));
        }
        let (rows, bytes) = tally.finish();
        Ok(PreparedLogs { resources, rows, bytes, held })
    }
}
