//! The in-memory buffer: rows of every table and partition as Arrow columns, appended from
//! exports prepared (validated, rendered and measured) by [`crate::prepare`].

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};

use crate::error::{OtlpError, Result};
use crate::prepare::{scopes_for, PreparedMetrics, PreparedSdkMetrics, PreparedSdkSpans, PreparedTraces};
use crate::size::MAX_CHUNK_BYTES;
use crate::table::metrics::{MetricKind, MetricsBuilder, PointHeader, RowContext, SdkNumber};
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

/// An export the buffer holds as it came, measured, until the writer appends it to the builders
/// (on its own thread, outside the lock): the exports that hand their data over.
#[derive(Debug)]
pub(crate) enum Deferred {
    /// SDK spans (`span_exporter()`, `export_traces`).
    SdkSpans(PreparedSdkSpans),
    /// An owned OTLP request (`export_otlp_traces_owned`, `export_otlp_traces_bytes`).
    OtlpTraces(Box<ExportTraceServiceRequest>, PreparedTraces),
}

impl Deferred {
    fn rows(&self) -> usize {
        match self {
            Deferred::SdkSpans(p) => p.rows.len(),
            Deferred::OtlpTraces(_, p) => p.rows.len(),
        }
    }

    /// What it counts against the cap: its rows' measure and the memory of what it holds.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Deferred::SdkSpans(p) => p.bytes,
            Deferred::OtlpTraces(_, p) => p.bytes + p.held,
        }
    }
}

/// Buffered rows. Appends never fail half-way: every export is measured and validated whole
/// before the first row is appended (see [`crate::size`]), and rendering is infallible.
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    builders: BTreeMap<(Table, Partition), (TableBuilder, usize)>,
    /// Builders that reached [`MAX_CHUNK_BYTES`]; each becomes a chunk of its own.
    sealed: Vec<(Table, Partition, TableBuilder, usize)>,
    /// Exports accepted as they came (counted in `rows` and `bytes`), appended to builders by
    /// the writer: see [`PreparedSdkSpans`].
    deferred: Vec<Deferred>,
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

    /// Accepts an export as it is; [`take_deferred`](Self::take_deferred) hands it to the
    /// writer. Returns the rows accepted.
    pub(crate) fn defer(&mut self, export: Deferred) -> usize {
        let rows = export.rows();
        self.rows += rows;
        self.bytes += export.bytes();
        self.deferred.push(export);
        rows
    }

    /// The deferred exports, with the bytes they were measured at. They stay counted in the
    /// buffer's rows and bytes until [`take`](Self::take).
    pub(crate) fn take_deferred(&mut self) -> (Vec<Deferred>, usize) {
        let deferred = std::mem::take(&mut self.deferred);
        let bytes = deferred.iter().map(Deferred::bytes).sum();
        (deferred, bytes)
    }

    /// Appends a deferred export to the builders.
    pub(crate) fn append_deferred(&mut self, export: &Deferred) -> usize {
        match export {
            Deferred::SdkSpans(p) => self.append_sdk_spans(p),
            Deferred::OtlpTraces(request, p) => self.append_otlp_traces(request, p),
        }
    }

    /// Finishes every builder into record batches and empties the buffer (take the deferred
    /// spans first: they are not part of the builders).
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
    pub(crate) fn append_otlp_traces(
        &mut self,
        request: &ExportTraceServiceRequest,
        prepared: &PreparedTraces,
    ) -> usize {
        let mut sizes = prepared.rows.iter();
        for (rs, (resource, scopes)) in request.resource_spans.iter().zip(&prepared.resources) {
            for (ss, scope) in rs.scope_spans.iter().zip(scopes) {
                for span in &ss.spans {
                    let bytes = sizes.next().copied().unwrap_or_default();
                    self.traces(span.start_time_unix_nano, bytes).append_otlp(resource, scope, span);
                }
            }
        }
        prepared.rows.len()
    }

    /// Appends SDK spans with the resource they came from; returns the rows added.
    pub(crate) fn append_sdk_spans(&mut self, prepared: &PreparedSdkSpans) -> usize {
        let spans = &prepared.spans;
        for ((span, scope), bytes) in spans.iter().zip(scopes_for(&prepared.scopes)).zip(&prepared.rows) {
            self.traces(to_nanos(span.start_time), *bytes).append_sdk(&prepared.resource, scope, span);
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

pub(crate) fn otlp_kind(data: &Data) -> MetricKind {
    match data {
        Data::Gauge(_) => MetricKind::Gauge,
        Data::Sum(_) => MetricKind::Sum,
        Data::Histogram(_) => MetricKind::Histogram,
        Data::ExponentialHistogram(_) => MetricKind::ExponentialHistogram,
        Data::Summary(_) => MetricKind::Summary,
    }
}

/// The time of every data point of an OTLP metric, in order.
pub(crate) fn otlp_times(data: &Data) -> Box<dyn Iterator<Item = u64> + '_> {
    match data {
        Data::Gauge(g) => Box::new(g.data_points.iter().map(|p| p.time_unix_nano)),
        Data::Sum(s) => Box::new(s.data_points.iter().map(|p| p.time_unix_nano)),
        Data::Histogram(h) => Box::new(h.data_points.iter().map(|p| p.time_unix_nano)),
        Data::ExponentialHistogram(h) => Box::new(h.data_points.iter().map(|p| p.time_unix_nano)),
        Data::Summary(s) => Box::new(s.data_points.iter().map(|p| p.time_unix_nano)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
    use opentelemetry::{InstrumentationScope, KeyValue};
    use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

    use super::*;
    use crate::table::resource::ResourceInfo;

    fn spans(n: u64) -> Vec<SpanData> {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        (0..n)
            .map(|i| SpanData {
                span_context: SpanContext::new(
                    TraceId::from(u128::from(i) + 1),
                    SpanId::from(i + 1),
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::default(),
                ),
                parent_span_id: SpanId::INVALID,
                parent_span_is_remote: false,
                span_kind: SpanKind::Server,
                name: format!("span {i}").into(),
                start_time: start + Duration::from_secs(i * 1800),
                end_time: start + Duration::from_secs(i * 1800 + 1),
                attributes: vec![KeyValue::new("i", i as i64), KeyValue::new("s", "x")],
                dropped_attributes_count: 0,
                events: SpanEvents::default(),
                links: SpanLinks::default(),
                status: Status::Ok,
                instrumentation_scope: InstrumentationScope::builder(if i < 2 { "a" } else { "b" }).build(),
            })
            .collect()
    }

    fn prepared(n: u64) -> PreparedSdkSpans {
        let resource = Arc::new(ResourceInfo::from_sdk(&opentelemetry_sdk::Resource::builder().build()));
        PreparedSdkSpans::new(resource, spans(n)).unwrap()
    }

    #[test]
    fn deferred_spans_are_counted_until_taken_and_become_the_rows_of_a_direct_append() {
        let mut buffer = Buffer::default();
        let first = prepared(5);
        let bytes = first.bytes;
        assert_eq!(buffer.defer(Deferred::SdkSpans(first)), 5);
        assert_eq!(buffer.defer(Deferred::SdkSpans(prepared(3))), 3);
        assert_eq!(buffer.rows(), 8);
        assert!(buffer.bytes() > bytes && !buffer.is_empty(), "deferred spans count against the cap");

        let (deferred, deferred_bytes) = buffer.take_deferred();
        assert_eq!(deferred_bytes, buffer.bytes(), "the buffer holds nothing else");
        assert!(buffer.take().unwrap().is_empty(), "no builder was touched by the exports");
        assert_eq!((buffer.rows(), buffer.bytes()), (0, 0));

        let mut columns = Buffer::default();
        for d in &deferred {
            columns.append_deferred(d);
        }
        let mut direct = Buffer::default();
        direct.append_sdk_spans(&prepared(5));
        direct.append_sdk_spans(&prepared(3));
        let (got, want) = (columns.take().unwrap(), direct.take().unwrap());
        assert_eq!(got.len(), 3, "spans half an hour apart fall in three hours");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((g.table, g.partition, g.bytes), (w.table, w.partition, w.bytes));
            assert_eq!(g.batch, w.batch);
        }
    }
}
