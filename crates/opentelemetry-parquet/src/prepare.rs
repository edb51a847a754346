//! OTLP exports prepared outside the buffer lock (the SDK's are prepared in `crate::sdk`):
//! validated (nesting), resources, scopes and metrics rendered, and every row measured, so that
//! an export is accepted or refused whole before anything is appended.

use crate::buffer::{builder_bytes, otlp_kind, otlp_times};
use crate::error::{OtlpError, Result};
use crate::otlp_items::ItemsRequest;
use crate::proto::collector::metrics::v1::ExportMetricsServiceRequest;
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

/// An OTLP traces or logs request validated, with its resources and scopes rendered (one per
/// resource and scope group, in the request's order) and every row measured (outside the buffer
/// lock).
#[derive(Debug)]
pub(crate) struct PreparedItems {
    pub(crate) resources: Vec<(ResourceInfo, Vec<ScopeInfo>)>,
    pub(crate) rows: Vec<usize>,
    /// The bytes the request adds to the buffer, at most.
    pub(crate) bytes: usize,
    /// The memory the request itself takes, counted on top of `bytes` while the buffer holds
    /// it as it came (`export_otlp_traces_owned`, `export_otlp_logs_owned`).
    pub(crate) held: usize,
}

const METRICS_REQUEST: &str = "ExportMetricsServiceRequest";

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

impl PreparedItems {
    pub(crate) fn new<R: ItemsRequest>(req: &R) -> Result<Self> {
        let mut tally = Tally::default();
        let mut held = 0;
        let mut resources = Vec::with_capacity(req.resources().len());
        for group in req.resources() {
            let (resource, schema_url) = R::resource(group);
            let resource = otlp_resource(resource, schema_url, R::MESSAGE)?;
            let mut scopes = Vec::with_capacity(R::scopes(group).len());
            for scoped in R::scopes(group) {
                let (scope, schema_url) = R::scope(scoped);
                let scope = otlp_scope(scope, schema_url, R::MESSAGE)?;
                let shared = resource.bytes() + scope.bytes();
                for item in R::items(scoped) {
                    let bytes = R::measure(item).map_err(decode_error(R::MESSAGE))?;
                    tally.row(R::TABLE, R::time(item), bytes + shared)?;
                    held += R::held(item, bytes);
                }
                scopes.push(scope);
            }
            resources.push((resource, scopes));
        }
        let (rows, bytes) = tally.finish();
        Ok(PreparedItems { resources, rows, bytes, held })
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
