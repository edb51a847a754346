//! The in-memory buffer: rows of every table and partition as Arrow columns, appended from
//! exports prepared (validated, rendered and measured) by [`crate::prepare`].

use std::collections::BTreeMap;

use arrow_array::RecordBatch;

use crate::error::{OtlpError, Result};
use crate::otlp_items::ItemsRequest;
use crate::prepare::{PreparedItems, PreparedMetrics};
use crate::proto::metrics::v1::metric::Data;
use crate::size::MAX_CHUNK_BYTES;
use crate::table::logs::LogsBuilder;
use crate::table::metrics::{MetricKind, MetricsBuilder, RowContext};
use crate::table::{Table, TableBuilder};
use crate::time::Partition;

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
/// (on its own thread, outside the lock): the exports that hand their data over (SDK spans,
/// owned OTLP requests).
pub(crate) trait DeferredExport: Send + std::fmt::Debug {
    /// The rows it becomes.
    fn rows(&self) -> usize;
    /// What it counts against the cap: its rows' measure and the memory of what it holds.
    fn bytes(&self) -> usize;
    /// Appends its rows to the builders; returns the rows added.
    fn append_to(&self, buffer: &mut Buffer) -> usize;
}

pub(crate) type Deferred = Box<dyn DeferredExport>;

/// An owned OTLP traces or logs request (`export_otlp_traces_owned`, `export_otlp_logs_owned`
/// and the `_bytes` variants).
#[derive(Debug)]
pub(crate) struct OtlpItemsExport<R> {
    pub(crate) request: R,
    pub(crate) prepared: PreparedItems,
}

impl<R: ItemsRequest> DeferredExport for OtlpItemsExport<R> {
    fn rows(&self) -> usize {
        self.prepared.rows.len()
    }

    fn bytes(&self) -> usize {
        self.prepared.bytes + self.prepared.held
    }

    fn append_to(&self, buffer: &mut Buffer) -> usize {
        buffer.append_otlp_items(&self.request, &self.prepared)
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
    /// the writer: see [`DeferredExport`].
    deferred: Vec<Deferred>,
    rows: usize,
    bytes: usize,
}

/// What a partition's builder costs before its first row: the builders' structs (they allocate
/// nothing until used) and the map entry holding them.
pub(crate) fn builder_bytes() -> usize {
    std::mem::size_of::<crate::table::traces::TracesBuilder>()
        .max(std::mem::size_of::<MetricsBuilder>())
        .max(std::mem::size_of::<LogsBuilder>())
        + 1024
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

    pub(crate) fn traces(&mut self, start: u64, bytes: usize) -> &mut crate::table::traces::TracesBuilder {
        match self.builder(Table::Traces, Partition::of(start), bytes) {
            TableBuilder::Traces(b) => b,
            _ => unreachable!("the traces table has a traces builder"),
        }
    }

    pub(crate) fn metrics(&mut self, kind: MetricKind, time: u64, bytes: usize) -> &mut MetricsBuilder {
        match self.builder(Table::of_metric(kind), Partition::of(time), bytes) {
            TableBuilder::Metrics(b) => b,
            _ => unreachable!("metric tables have metric builders"),
        }
    }

    /// The builder of the `logs` partition of `time` (a record's `Timestamp`, see
    /// [`record_time`]).
    pub(crate) fn logs(&mut self, time: u64, bytes: usize) -> &mut LogsBuilder {
        match self.builder(Table::Logs, Partition::of(time), bytes) {
            TableBuilder::Logs(b) => b,
            _ => unreachable!("the logs table has a logs builder"),
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
        let bytes = deferred.iter().map(|d| d.bytes()).sum();
        (deferred, bytes)
    }

    /// Appends a deferred export to the builders.
    pub(crate) fn append_deferred(&mut self, export: &Deferred) -> usize {
        export.append_to(self)
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

    /// Appends every span or log record of an OTLP request; returns the rows added.
    pub(crate) fn append_otlp_items<R: ItemsRequest>(&mut self, request: &R, prepared: &PreparedItems) -> usize {
        let mut sizes = prepared.rows.iter();
        for (group, (resource, scopes)) in request.resources().iter().zip(&prepared.resources) {
            for (scoped, scope) in R::scopes(group).iter().zip(scopes) {
                for item in R::items(scoped) {
                    R::append(self, resource, scope, item, sizes.next().copied().unwrap_or_default());
                }
            }
        }
        prepared.rows.len()
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
