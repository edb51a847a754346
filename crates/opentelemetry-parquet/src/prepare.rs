//! Exports prepared outside the buffer lock, the four ways in (OTLP requests and SDK objects,
//! traces and metrics): validated (nesting), resources, scopes and metrics rendered, and every
//! row measured, so that an export is accepted or refused whole before anything is appended.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::trace::SpanData;

use crate::buffer::{builder_bytes, otlp_kind, otlp_times};
use crate::error::{OtlpError, Result};
use crate::size::{self, Unstorable, MAX_ROW_BYTES};
use crate::table::metrics::MetricInfo;
use crate::table::resource::{ResourceInfo, ScopeInfo};
use crate::table::Table;
use crate::time::{to_nanos, Partition};

/// Sums the measured rows of an export, refusing a row larger than a file can hold, and counts
/// a builder for each partition the export touches.
#[derive(Default)]
struct Tally {
    rows: Vec<usize>,
    rows_bytes: usize,
    partitions: std::collections::HashSet<(Table, Partition)>,
    /// The partition of the previous row: consecutive rows mostly share one, so the set is
    /// only touched when it changes.
    last: Option<(Table, Partition)>,
}

impl Tally {
    fn row(&mut self, table: Table, time: u64, bytes: usize) -> Result<()> {
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
    fn finish(self) -> (Vec<usize>, usize) {
        // Zero only when there are no rows.
        let total = self.rows_bytes + self.partitions.len() * builder_bytes();
        (self.rows, total)
    }
}

fn decode_error(message: &'static str) -> impl Fn(Unstorable) -> OtlpError {
    move |Unstorable(reason)| OtlpError::Decode { message, reason }
}

/// Renders one `ScopeInfo` per run of consecutive spans with the same scope, with the run's
/// length: the spans' scopes are compared once, here.
fn sdk_span_scopes(spans: &[SpanData]) -> Vec<(ScopeInfo, usize)> {
    let mut out: Vec<(ScopeInfo, usize)> = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match out.last_mut() {
            Some((_, run)) if spans[i - 1].instrumentation_scope == s.instrumentation_scope => *run += 1,
            _ => out.push((ScopeInfo::from_sdk(&s.instrumentation_scope), 1)),
        }
    }
    out
}

/// The scope of each span, from the runs of [`sdk_span_scopes`].
pub(crate) fn scopes_for(runs: &[(ScopeInfo, usize)]) -> impl Iterator<Item = &ScopeInfo> + '_ {
    runs.iter().flat_map(|(scope, run)| std::iter::repeat_n(scope, *run))
}

/// SDK spans with their scopes rendered and every row measured (outside the buffer lock).
///
/// The exporter hands the spans over (the SDK passes them by value), so the buffer keeps them as
/// they are and the writer appends them to the column builders when it takes the buffer, on its
/// own thread and outside the lock: the export call only measures and moves them. They count
/// against the memory cap from the moment they are accepted: `bytes` is their rows' measure plus
/// the memory of the spans themselves (both exist while the writer converts them).
#[derive(Debug)]
pub(crate) struct PreparedSdkSpans {
    pub(crate) resource: Arc<ResourceInfo>,
    pub(crate) spans: Vec<SpanData>,
    /// The spans' scopes, one per run of consecutive spans with the same scope.
    pub(crate) scopes: Vec<(ScopeInfo, usize)>,
    pub(crate) rows: Vec<usize>,
    /// The bytes the export adds to the buffer, at most.
    pub(crate) bytes: usize,
}

impl PreparedSdkSpans {
    pub(crate) fn new(resource: Arc<ResourceInfo>, spans: Vec<SpanData>) -> Result<Self> {
        let scopes = sdk_span_scopes(&spans);
        let mut tally = Tally::default();
        let resource_bytes = resource.bytes();
        let mut held = 0;
        for (span, scope) in spans.iter().zip(scopes_for(&scopes)) {
            let bytes = size::sdk_span(span) + resource_bytes + scope.bytes();
            tally.row(Table::Traces, to_nanos(span.start_time), bytes)?;
            held += size::sdk_span_held(span);
        }
        let (rows, bytes) = tally.finish();
        // Held as they came until the writer appends them: both count while it does.
        Ok(PreparedSdkSpans { resource, spans, scopes, rows, bytes: bytes + held })
    }
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

/// The SDK's `ResourceMetrics` with its resource, scopes and metrics rendered and every data
/// point measured; the data points are read in place when appended.
pub(crate) struct PreparedSdkMetrics<'a> {
    pub(crate) resource: ResourceInfo,
    pub(crate) scopes: Vec<(ScopeInfo, Vec<(MetricInfo, &'a opentelemetry_sdk::metrics::data::Metric)>)>,
    pub(crate) rows: Vec<usize>,
    /// The bytes the export adds to the buffer, at most.
    pub(crate) bytes: usize,
}

impl<'a> PreparedSdkMetrics<'a> {
    pub(crate) fn new(rm: &'a ResourceMetrics) -> Result<Self> {
        let resource = ResourceInfo::from_sdk(rm.resource());
        let mut tally = Tally::default();
        let mut scopes = Vec::new();
        for sm in rm.scope_metrics() {
            let scope = ScopeInfo::from_sdk(sm.scope());
            let mut metrics = Vec::new();
            for m in sm.metrics() {
                let info = MetricInfo::from_sdk(m);
                let shared = resource.bytes() + scope.bytes() + info.bytes();
                match m.data() {
                    AggregatedMetrics::F64(d) => sdk_point_sizes(d, shared, &mut tally)?,
                    AggregatedMetrics::U64(d) => sdk_point_sizes(d, shared, &mut tally)?,
                    AggregatedMetrics::I64(d) => sdk_point_sizes(d, shared, &mut tally)?,
                }
                metrics.push((info, m));
            }
            scopes.push((scope, metrics));
        }
        let (rows, bytes) = tally.finish();
        Ok(PreparedSdkMetrics { resource, scopes, rows, bytes })
    }
}

fn sdk_point_sizes<T>(data: &MetricData<T>, shared: usize, tally: &mut Tally) -> Result<()> {
    match data {
        MetricData::Gauge(g) => {
            for p in g.data_points() {
                tally.row(
                    Table::MetricsGauge,
                    to_nanos(g.time()),
                    shared + size::sdk_point(p.attributes(), p.exemplars(), 0),
                )?;
            }
        }
        MetricData::Sum(s) => {
            for p in s.data_points() {
                tally.row(
                    Table::MetricsSum,
                    to_nanos(s.time()),
                    shared + size::sdk_point(p.attributes(), p.exemplars(), 0),
                )?;
            }
        }
        MetricData::Histogram(h) => {
            for p in h.data_points() {
                let buckets = p.bucket_counts().count() + p.bounds().count();
                tally.row(
                    Table::MetricsHistogram,
                    to_nanos(h.time()),
                    shared + size::sdk_point(p.attributes(), p.exemplars(), buckets),
                )?;
            }
        }
        MetricData::ExponentialHistogram(h) => {
            for p in h.data_points() {
                let buckets = p.positive_bucket().counts().count() + p.negative_bucket().counts().count();
                tally.row(
                    Table::MetricsExponentialHistogram,
                    to_nanos(h.time()),
                    shared + size::sdk_point(p.attributes(), p.exemplars(), buckets),
                )?;
            }
        }
    }
    Ok(())
}
