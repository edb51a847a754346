//! The in-memory buffer: rows of every table and partition as Arrow columns, and the four ways
//! in (OTLP requests and SDK objects, traces and metrics).

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::trace::SpanData;

use crate::error::{OtlpError, Result};
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

/// Buffered rows. Appends never fail half-way: rendering is infallible, so a request is either
/// appended whole or (when it does not decode) not at all.
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    builders: BTreeMap<(Table, Partition), (TableBuilder, usize)>,
    rows: usize,
    bytes: usize,
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

    /// The builder of a table and partition, and its running byte estimate.
    fn builder(&mut self, table: Table, partition: Partition) -> (&mut TableBuilder, &mut usize) {
        let (builder, bytes) = self.builders.entry((table, partition)).or_insert_with(|| (TableBuilder::new(table), 0));
        (builder, bytes)
    }

    /// Appends to the traces builder of `start`'s partition; returns (and records) the bytes added.
    fn with_traces(
        &mut self,
        start: u64,
        append: impl FnOnce(&mut crate::table::traces::TracesBuilder) -> usize,
    ) -> usize {
        let (builder, bytes) = self.builder(Table::Traces, Partition::of(start));
        let TableBuilder::Traces(b) = builder else { unreachable!("the traces table has a traces builder") };
        let added = append(b);
        *bytes += added;
        added
    }

    /// Appends to the `kind` table's builder of `time`'s partition; returns the bytes added.
    fn with_metrics(
        &mut self,
        kind: MetricKind,
        time: u64,
        append: impl FnOnce(&mut MetricsBuilder) -> usize,
    ) -> usize {
        let (builder, bytes) = self.builder(Table::of_metric(kind), Partition::of(time));
        let TableBuilder::Metrics(b) = builder else { unreachable!("metric tables have metric builders") };
        let added = append(b);
        *bytes += added;
        added
    }

    fn added(&mut self, rows: usize, bytes: usize) {
        self.rows += rows;
        self.bytes += bytes;
    }

    /// Finishes every builder into record batches and empties the buffer.
    pub(crate) fn take(&mut self) -> Result<Vec<Chunk>> {
        let builders = std::mem::take(&mut self.builders);
        self.rows = 0;
        self.bytes = 0;
        builders
            .into_iter()
            .filter(|(_, (b, _))| b.rows() > 0)
            .map(|((table, partition), (mut b, bytes))| {
                let batch = b.finish().map_err(|e| OtlpError::arrow(format!("building a {table} batch"), e))?;
                Ok(Chunk { table, partition, batch, bytes })
            })
            .collect()
    }

    /// Appends every span of an OTLP request; returns the rows added.
    pub(crate) fn append_otlp_traces(&mut self, prepared: &PreparedTraces<'_>) -> usize {
        let mut rows = 0;
        let mut bytes = 0;
        for (resource, scopes) in &prepared.0 {
            for (scope, spans) in scopes {
                for span in *spans {
                    bytes += self.with_traces(span.start_time_unix_nano, |b| b.append_otlp(resource, scope, span));
                    rows += 1;
                }
            }
        }
        self.added(rows, bytes);
        rows
    }

    /// Appends SDK spans with the resource they came from; returns the rows added.
    pub(crate) fn append_sdk_spans(
        &mut self,
        resource: &ResourceInfo,
        spans: &[SpanData],
        scopes: &[ScopeInfo],
    ) -> usize {
        let mut bytes = 0;
        for (span, scope) in spans.iter().zip(scopes_for(spans, scopes)) {
            bytes += self.with_traces(to_nanos(span.start_time), |b| b.append_sdk(resource, scope, span));
        }
        self.added(spans.len(), bytes);
        spans.len()
    }

    /// Appends every data point of an OTLP request; returns the rows added.
    pub(crate) fn append_otlp_metrics(&mut self, prepared: &PreparedMetrics<'_>) -> usize {
        let mut rows = 0;
        let mut bytes = 0;
        for (resource, scopes) in &prepared.0 {
            for (scope, metrics) in scopes {
                for (info, data) in metrics {
                    let ctx = RowContext { resource, scope, metric: info };
                    let (kind, times): (MetricKind, Vec<u64>) = match data {
                        Data::Gauge(g) => (MetricKind::Gauge, g.data_points.iter().map(|p| p.time_unix_nano).collect()),
                        Data::Sum(s) => (MetricKind::Sum, s.data_points.iter().map(|p| p.time_unix_nano).collect()),
                        Data::Histogram(h) => {
                            (MetricKind::Histogram, h.data_points.iter().map(|p| p.time_unix_nano).collect())
                        }
                        Data::ExponentialHistogram(h) => {
                            (MetricKind::ExponentialHistogram, h.data_points.iter().map(|p| p.time_unix_nano).collect())
                        }
                        Data::Summary(s) => {
                            (MetricKind::Summary, s.data_points.iter().map(|p| p.time_unix_nano).collect())
                        }
                    };
                    for (i, time) in times.into_iter().enumerate() {
                        bytes += self.with_metrics(kind, time, |b| b.append_otlp(&ctx, data, i));
                        rows += 1;
                    }
                }
            }
        }
        self.added(rows, bytes);
        rows
    }

    /// Appends every data point of the SDK's `ResourceMetrics`, reading it in place.
    pub(crate) fn append_sdk_metrics(&mut self, prepared: &PreparedSdkMetrics<'_>) -> usize {
        let mut rows = 0;
        let mut bytes = 0;
        let resource = &prepared.resource;
        for (scope, metrics) in &prepared.scopes {
            for (info, metric) in metrics {
                let ctx = RowContext { resource, scope, metric: info };
                let (r, b) = match metric.data() {
                    AggregatedMetrics::F64(d) => self.append_sdk_data(&ctx, d),
                    AggregatedMetrics::U64(d) => self.append_sdk_data(&ctx, d),
                    AggregatedMetrics::I64(d) => self.append_sdk_data(&ctx, d),
                };
                rows += r;
                bytes += b;
            }
        }
        self.added(rows, bytes);
        rows
    }

    fn append_sdk_data<T: SdkNumber + 'static>(
        &mut self,
        ctx: &RowContext<'_>,
        data: &MetricData<T>,
    ) -> (usize, usize) {
        let mut rows = 0;
        let mut bytes = 0;
        match data {
            MetricData::Gauge(g) => {
                let header = PointHeader {
                    start: g.start_time().map(to_nanos).unwrap_or_default(),
                    time: to_nanos(g.time()),
                    flags: 0,
                };
                for p in g.data_points() {
                    bytes += self.with_metrics(MetricKind::Gauge, header.time, |b| {
                        b.append_sdk_number(ctx, &header, p.attributes(), p.value(), p.exemplars(), None)
                    });
                    rows += 1;
                }
            }
            MetricData::Sum(s) => {
                let header = PointHeader { start: to_nanos(s.start_time()), time: to_nanos(s.time()), flags: 0 };
                for p in s.data_points() {
                    let sum = Some((s.temporality(), s.is_monotonic()));
                    bytes += self.with_metrics(MetricKind::Sum, header.time, |b| {
                        b.append_sdk_number(ctx, &header, p.attributes(), p.value(), p.exemplars(), sum)
                    });
                    rows += 1;
                }
            }
            MetricData::Histogram(h) => {
                let header = PointHeader { start: to_nanos(h.start_time()), time: to_nanos(h.time()), flags: 0 };
                for p in h.data_points() {
                    bytes += self.with_metrics(MetricKind::Histogram, header.time, |b| {
                        b.append_sdk_histogram(ctx, &header, p, h.temporality())
                    });
                    rows += 1;
                }
            }
            MetricData::ExponentialHistogram(h) => {
                let header = PointHeader { start: to_nanos(h.start_time()), time: to_nanos(h.time()), flags: 0 };
                for p in h.data_points() {
                    bytes += self.with_metrics(MetricKind::ExponentialHistogram, header.time, |b| {
                        b.append_sdk_exponential_histogram(ctx, &header, p, h.temporality())
                    });
                    rows += 1;
                }
            }
        }
        (rows, bytes)
    }
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

/// Renders one `ScopeInfo` per run of consecutive spans with the same scope (done before the
/// buffer lock is taken).
pub(crate) fn sdk_span_scopes(spans: &[SpanData]) -> Vec<ScopeInfo> {
    let mut out: Vec<ScopeInfo> = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        if i == 0 || spans[i - 1].instrumentation_scope != s.instrumentation_scope {
            out.push(ScopeInfo::from_sdk(&s.instrumentation_scope));
        }
    }
    out
}

/// An OTLP traces request with its resources and scopes rendered (outside the buffer lock).
pub(crate) struct PreparedTraces<'a>(Vec<(ResourceInfo, PreparedScopeSpans<'a>)>);

type PreparedScopeSpans<'a> = Vec<(ScopeInfo, &'a [opentelemetry_proto::tonic::trace::v1::Span])>;

impl<'a> PreparedTraces<'a> {
    pub(crate) fn new(req: &'a ExportTraceServiceRequest) -> Self {
        PreparedTraces(
            req.resource_spans
                .iter()
                .map(|rs| {
                    let resource = ResourceInfo::from_otlp(rs.resource.as_ref(), &rs.schema_url);
                    let scopes = rs
                        .scope_spans
                        .iter()
                        .map(|ss| (ScopeInfo::from_otlp(ss.scope.as_ref(), &ss.schema_url), ss.spans.as_slice()))
                        .collect();
                    (resource, scopes)
                })
                .collect(),
        )
    }
}

type PreparedScopeMetrics<'a> = Vec<(ScopeInfo, Vec<(MetricInfo, &'a Data)>)>;

/// An OTLP metrics request with its resources, scopes and metrics rendered.
pub(crate) struct PreparedMetrics<'a>(Vec<(ResourceInfo, PreparedScopeMetrics<'a>)>);

impl<'a> PreparedMetrics<'a> {
    pub(crate) fn new(req: &'a ExportMetricsServiceRequest) -> Self {
        PreparedMetrics(
            req.resource_metrics
                .iter()
                .map(|rm| {
                    let resource = ResourceInfo::from_otlp(rm.resource.as_ref(), &rm.schema_url);
                    let scopes = rm
                        .scope_metrics
                        .iter()
                        .map(|sm| {
                            let metrics = sm
                                .metrics
                                .iter()
                                .filter_map(|m| m.data.as_ref().map(|d| (MetricInfo::from_otlp(m), d)))
                                .collect();
                            (ScopeInfo::from_otlp(sm.scope.as_ref(), &sm.schema_url), metrics)
                        })
                        .collect();
                    (resource, scopes)
                })
                .collect(),
        )
    }
}

/// The SDK's `ResourceMetrics` with its resource, scopes and metrics rendered; the data points
/// are read in place when appended.
pub(crate) struct PreparedSdkMetrics<'a> {
    resource: ResourceInfo,
    scopes: Vec<(ScopeInfo, Vec<(MetricInfo, &'a opentelemetry_sdk::metrics::data::Metric)>)>,
}

impl<'a> PreparedSdkMetrics<'a> {
    pub(crate) fn new(rm: &'a ResourceMetrics) -> Self {
        PreparedSdkMetrics {
            resource: ResourceInfo::from_sdk(rm.resource()),
            scopes: rm
                .scope_metrics()
                .map(|sm| {
                    (ScopeInfo::from_sdk(sm.scope()), sm.metrics().map(|m| (MetricInfo::from_sdk(m), m)).collect())
                })
                .collect(),
        }
    }
}
