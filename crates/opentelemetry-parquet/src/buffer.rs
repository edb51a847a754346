//! The in-memory buffer: rows of every table and partition as Arrow columns, and the four ways
//! in (OTLP requests and SDK objects, traces and metrics).

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::trace::SpanData;

use crate::error::{OtlpError, Result};
use crate::size::{self, Unstorable, MAX_CHUNK_BYTES, MAX_ROW_BYTES};
use crate::table::columns::{ResourceInfo, ScopeInfo};
use crate::table::metrics::{MetricInfo, MetricKind, MetricsBuilder, PointHeader, RowContext, SdkNumber};
use crate::table::{Table, TableBuilder};
use crate::time::{to_nanos, Partition};

/// Finished rows of one table and partition, waiting to be written.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    pub(crate) table: Table,
    pub(crate) partition: Partition,
    pub(crate) batch: RecordBatch,
    /// The buffer's estimate of the rows' size, used for the memory cap while the chunk waits.
    pub(crate) bytes: usize,
}

/// Buffered rows. Appends never fail half-way: every export is measured and validated whole
/// before the first row is appended (see [`crate::size`]), and rendering is infallible.
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    builders: BTreeMap<(Table, Partition), (TableBuilder, usize)>,
    /// Builders that reached [`MAX_CHUNK_BYTES`]; each becomes a chunk of its own.
    sealed: Vec<(Table, Partition, TableBuilder, usize)>,
    rows: usize,
    bytes: usize,
}

/// What a partition's builder costs before its first row: the builders' structs (they allocate
/// nothing until used) and the map entry holding them.
pub(crate) fn builder_bytes() -> usize {
    std::mem::size_of::<crate::table::traces::TracesBuilder>().max(std::mem::size_of::<MetricsBuilder>()) + 1024
}

impl Buffer {
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The builder of a table and partition for a row of `bytes`: created on first use, and
    /// sealed and replaced first when the row would take it past [`MAX_CHUNK_BYTES`].
    fn builder(&mut self, table: Table, partition: Partition, bytes: usize) -> &mut TableBuilder {
        use std::collections::btree_map::Entry;
        let entry = match self.builders.entry((table, partition)) {
            Entry::Occupied(mut e) => {
                if e.get().1 + bytes > MAX_CHUNK_BYTES && e.get().0.rows() > 0 {
                    let (full, full_bytes) =
                        std::mem::replace(e.get_mut(), (TableBuilder::new(table), builder_bytes()));
                    self.sealed.push((table, partition, full, full_bytes));
                    self.bytes += builder_bytes();
                }
                e.into_mut()
            }
            Entry::Vacant(e) => {
                self.bytes += builder_bytes();
                e.insert((TableBuilder::new(table), builder_bytes()))
            }
        };
        entry.1 += bytes;
        self.bytes += bytes;
        self.rows += 1;
        &mut entry.0
    }

    fn traces(&mut self, start: u64, bytes: usize) -> &mut crate::table::traces::TracesBuilder {
        match self.builder(Table::Traces, Partition::of(start), bytes) {
            TableBuilder::Traces(b) => b,
            TableBuilder::Metrics(_) => unreachable!("the traces table has a traces builder"),
        }
    }

    fn metrics(&mut self, kind: MetricKind, time: u64, bytes: usize) -> &mut MetricsBuilder {
        match self.builder(Table::of_metric(kind), Partition::of(time), bytes) {
            TableBuilder::Metrics(b) => b,
            TableBuilder::Traces(_) => unreachable!("metric tables have metric builders"),
        }
    }

    /// Finishes every builder into record batches and empties the buffer.
    pub(crate) fn take(&mut self) -> Result<Vec<Chunk>> {
        let builders = std::mem::take(&mut self.builders);
        let sealed = std::mem::take(&mut self.sealed);
        self.rows = 0;
        self.bytes = 0;
        sealed
            .into_iter()
            .chain(builders.into_iter().map(|((table, partition), (b, bytes))| (table, partition, b, bytes)))
            .filter(|(_, _, b, _)| b.rows() > 0)
            .map(|(table, partition, mut b, bytes)| {
                let batch = b.finish().map_err(|e| OtlpError::arrow(format!("building a {table} batch"), e))?;
                Ok(Chunk { table, partition, batch, bytes })
            })
            .collect()
    }

    /// Appends every span of an OTLP request; returns the rows added.
    pub(crate) fn append_otlp_traces(&mut self, prepared: &PreparedTraces<'_>) -> usize {
        let mut sizes = prepared.rows.iter();
        for (resource, scopes) in &prepared.resources {
            for (scope, spans) in scopes {
                for span in *spans {
                    let bytes = sizes.next().copied().unwrap_or_default();
                    self.traces(span.start_time_unix_nano, bytes).append_otlp(resource, scope, span);
                }
            }
        }
        prepared.rows.len()
    }

    /// Appends SDK spans with the resource they came from; returns the rows added.
    pub(crate) fn append_sdk_spans(&mut self, prepared: &PreparedSdkSpans<'_>) -> usize {
        let spans = prepared.spans;
        for ((span, scope), bytes) in spans.iter().zip(scopes_for(spans, &prepared.scopes)).zip(&prepared.rows) {
            self.traces(to_nanos(span.start_time), *bytes).append_sdk(prepared.resource, scope, span);
        }
        spans.len()
    }

    /// Appends every data point of an OTLP request; returns the rows added.
    pub(crate) fn append_otlp_metrics(&mut self, prepared: &PreparedMetrics<'_>) -> usize {
        let mut sizes = prepared.rows.iter();
        for (resource, scopes) in &prepared.resources {
            for (scope, metrics) in scopes {
                for (info, data) in metrics {
                    let ctx = RowContext { resource, scope, metric: info };
                    let kind = otlp_kind(data);
                    for (i, time) in otlp_times(data).enumerate() {
                        let bytes = sizes.next().copied().unwrap_or_default();
                        self.metrics(kind, time, bytes).append_otlp(&ctx, data, i);
                    }
                }
            }
        }
        prepared.rows.len()
    }

    /// Appends every data point of the SDK's `ResourceMetrics`, reading it in place.
    pub(crate) fn append_sdk_metrics(&mut self, prepared: &PreparedSdkMetrics<'_>) -> usize {
        let mut sizes = prepared.rows.iter().copied();
        let resource = &prepared.resource;
        for (scope, metrics) in &prepared.scopes {
            for (info, metric) in metrics {
                let ctx = RowContext { resource, scope, metric: info };
                match metric.data() {
                    AggregatedMetrics::F64(d) => self.append_sdk_data(&ctx, d, &mut sizes),
                    AggregatedMetrics::U64(d) => self.append_sdk_data(&ctx, d, &mut sizes),
                    AggregatedMetrics::I64(d) => self.append_sdk_data(&ctx, d, &mut sizes),
                }
            }
        }
        prepared.rows.len()
    }

    fn append_sdk_data<T: SdkNumber + 'static>(
        &mut self,
        ctx: &RowContext<'_>,
        data: &MetricData<T>,
        sizes: &mut impl Iterator<Item = usize>,
    ) {
        let mut size = || sizes.next().unwrap_or_default();
        match data {
            MetricData::Gauge(g) => {
                let header = PointHeader {
                    start: g.start_time().map(to_nanos).unwrap_or_default(),
                    time: to_nanos(g.time()),
                    flags: 0,
                };
                for p in g.data_points() {
                    self.metrics(MetricKind::Gauge, header.time, size()).append_sdk_number(
                        ctx,
                        &header,
                        p.attributes(),
                        p.value(),
                        p.exemplars(),
                        None,
                    );
                }
            }
            MetricData::Sum(s) => {
                let header = PointHeader { start: to_nanos(s.start_time()), time: to_nanos(s.time()), flags: 0 };
                for p in s.data_points() {
                    let sum = Some((s.temporality(), s.is_monotonic()));
                    self.metrics(MetricKind::Sum, header.time, size()).append_sdk_number(
                        ctx,
                        &header,
                        p.attributes(),
                        p.value(),
                        p.exemplars(),
                        sum,
                    );
                }
            }
            MetricData::Histogram(h) => {
                let header = PointHeader { start: to_nanos(h.start_time()), time: to_nanos(h.time()), flags: 0 };
                for p in h.data_points() {
                    self.metrics(MetricKind::Histogram, header.time, size()).append_sdk_histogram(
                        ctx,
                        &header,
                        p,
                        h.temporality(),
                    );
                }
            }
            MetricData::ExponentialHistogram(h) => {
                let header = PointHeader { start: to_nanos(h.start_time()), time: to_nanos(h.time()), flags: 0 };
                for p in h.data_points() {
                    self.metrics(MetricKind::ExponentialHistogram, header.time, size())
                        .append_sdk_exponential_histogram(ctx, &header, p, h.temporality());
                }
            }
        }
    }
}

fn otlp_kind(data: &Data) -> MetricKind {
    match data {
        Data::Gauge(_) => MetricKind::Gauge,
        Data::Sum(_) => MetricKind::Sum,
        Data::Histogram(_) => MetricKind::Histogram,
        Data::ExponentialHistogram(_) => MetricKind::ExponentialHistogram,
        Data::Summary(_) => MetricKind::Summary,
    }
}

/// The time of every data point of an OTLP metric, in order.
fn otlp_times(data: &Data) -> Box<dyn Iterator<Item = u64> + '_> {
    match data {
        Data::Gauge(g) => Box::new(g.data_points.iter().map(|p| p.time_unix_nano)),
        Data::Sum(s) => Box::new(s.data_points.iter().map(|p| p.time_unix_nano)),
        Data::Histogram(h) => Box::new(h.data_points.iter().map(|p| p.time_unix_nano)),
        Data::ExponentialHistogram(h) => Box::new(h.data_points.iter().map(|p| p.time_unix_nano)),
        Data::Summary(s) => Box::new(s.data_points.iter().map(|p| p.time_unix_nano)),
    }
}

/// Sums the measured rows of an export, refusing a row larger than a file can hold, and counts
/// a builder for each partition the export touches.
#[derive(Default)]
struct Tally {
    rows: Vec<usize>,
    rows_bytes: usize,
    partitions: std::collections::HashSet<(Table, Partition)>,
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
        self.partitions.insert((table, Partition::of(time)));
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

/// The scope of each span: `scopes` holds one rendered scope per distinct run of spans.
fn scopes_for<'a>(spans: &'a [SpanData], scopes: &'a [ScopeInfo]) -> impl Iterator<Item = &'a ScopeInfo> + 'a {
    let mut index = 0usize;
    spans.iter().enumerate().map(move |(i, s)| {
        if i > 0 && spans[i - 1].instrumentation_scope != s.instrumentation_scope {
            index += 1;
        }
        &scopes[index]
    })
}

/// Renders one `ScopeInfo` per run of consecutive spans with the same scope.
fn sdk_span_scopes(spans: &[SpanData]) -> Vec<ScopeInfo> {
    let mut out: Vec<ScopeInfo> = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        if i == 0 || spans[i - 1].instrumentation_scope != s.instrumentation_scope {
            out.push(ScopeInfo::from_sdk(&s.instrumentation_scope));
        }
    }
    out
}

/// SDK spans with their scopes rendered and every row measured (outside the buffer lock).
pub(crate) struct PreparedSdkSpans<'a> {
    resource: &'a ResourceInfo,
    spans: &'a [SpanData],
    scopes: Vec<ScopeInfo>,
    rows: Vec<usize>,
    /// The bytes the export adds to the buffer, at most.
    pub(crate) bytes: usize,
}

impl<'a> PreparedSdkSpans<'a> {
    pub(crate) fn new(resource: &'a ResourceInfo, spans: &'a [SpanData]) -> Result<Self> {
        let scopes = sdk_span_scopes(spans);
        let mut tally = Tally::default();
        for (span, scope) in spans.iter().zip(scopes_for(spans, &scopes)) {
            let bytes = size::sdk_span(span) + resource.bytes() + scope.bytes();
            tally.row(Table::Traces, to_nanos(span.start_time), bytes)?;
        }
        let (rows, bytes) = tally.finish();
        Ok(PreparedSdkSpans { resource, spans, scopes, rows, bytes })
    }
}

/// An OTLP traces request validated, with its resources and scopes rendered and every row
/// measured (outside the buffer lock).
pub(crate) struct PreparedTraces<'a> {
    resources: Vec<(ResourceInfo, PreparedScopeSpans<'a>)>,
    rows: Vec<usize>,
    /// The bytes the request adds to the buffer, at most.
    pub(crate) bytes: usize,
}

type PreparedScopeSpans<'a> = Vec<(ScopeInfo, &'a [opentelemetry_proto::tonic::trace::v1::Span])>;

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

impl<'a> PreparedTraces<'a> {
    pub(crate) fn new(req: &'a ExportTraceServiceRequest) -> Result<Self> {
        let mut tally = Tally::default();
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
                }
                scopes.push((scope, ss.spans.as_slice()));
            }
            resources.push((resource, scopes));
        }
        let (rows, bytes) = tally.finish();
        Ok(PreparedTraces { resources, rows, bytes })
    }
}

type PreparedScopeMetrics<'a> = Vec<(ScopeInfo, Vec<(MetricInfo, &'a Data)>)>;

/// An OTLP metrics request validated, with its resources, scopes and metrics rendered and
/// every row measured.
pub(crate) struct PreparedMetrics<'a> {
    resources: Vec<(ResourceInfo, PreparedScopeMetrics<'a>)>,
    rows: Vec<usize>,
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
    resource: ResourceInfo,
    scopes: Vec<(ScopeInfo, Vec<(MetricInfo, &'a opentelemetry_sdk::metrics::data::Metric)>)>,
    rows: Vec<usize>,
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
