//! The tables of the store: their schemas, the builders that buffer rows as Arrow columns, and
//! the readers that turn stored rows back into OTLP.

pub(crate) mod attrs;
pub(crate) mod columns;
pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod read;
pub(crate) mod resource;
pub(crate) mod traces;

use crate::proto::common::v1::InstrumentationScope;
use crate::proto::resource::v1::Resource;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use prost::Message as _;

pub(crate) use metrics::MetricKind;
use read::{Columns, ReadResult};

/// A table of the store. Each is a directory `<output_dir>/<name>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Table {
    /// `traces`: one row per span.
    Traces,
    /// `metrics_gauge`: one row per gauge data point.
    MetricsGauge,
    /// `metrics_sum`: one row per sum (counter, up-down counter) data point.
    MetricsSum,
    /// `metrics_histogram`: one row per explicit-bucket histogram data point.
    MetricsHistogram,
    /// `metrics_exponential_histogram`: one row per exponential histogram data point.
    MetricsExponentialHistogram,
    /// `metrics_summary`: one row per summary data point.
    MetricsSummary,
    /// `logs`: one row per log record.
    Logs,
}

impl Table {
    /// Every table, in a stable order.
    pub const ALL: [Table; 7] = [
        Table::Traces,
        Table::MetricsGauge,
        Table::MetricsSum,
        Table::MetricsHistogram,
        Table::MetricsExponentialHistogram,
        Table::MetricsSummary,
        Table::Logs,
    ];

    /// The table's directory name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Traces => "traces",
            Table::MetricsGauge => "metrics_gauge",
            Table::MetricsSum => "metrics_sum",
            Table::MetricsHistogram => "metrics_histogram",
            Table::MetricsExponentialHistogram => "metrics_exponential_histogram",
            Table::MetricsSummary => "metrics_summary",
            Table::Logs => "logs",
        }
    }

    /// The Arrow schema of the table's files.
    pub fn schema(self) -> SchemaRef {
        match (self, self.metric_kind()) {
            (Table::Logs, _) => logs::schema(),
            (_, None) => traces::schema(),
            (_, Some(kind)) => metrics::schema(kind),
        }
    }

    pub(crate) fn metric_kind(self) -> Option<MetricKind> {
        match self {
            Table::Traces | Table::Logs => None,
            Table::MetricsGauge => Some(MetricKind::Gauge),
            Table::MetricsSum => Some(MetricKind::Sum),
            Table::MetricsHistogram => Some(MetricKind::Histogram),
            Table::MetricsExponentialHistogram => Some(MetricKind::ExponentialHistogram),
            Table::MetricsSummary => Some(MetricKind::Summary),
        }
    }

    pub(crate) fn of_metric(kind: MetricKind) -> Table {
        match kind {
            MetricKind::Gauge => Table::MetricsGauge,
            MetricKind::Sum => Table::MetricsSum,
            MetricKind::Histogram => Table::MetricsHistogram,
            MetricKind::ExponentialHistogram => Table::MetricsExponentialHistogram,
            MetricKind::Summary => Table::MetricsSummary,
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Rows of one table and partition, buffered as Arrow columns.
#[derive(Debug)]
pub(crate) enum TableBuilder {
    Traces(Box<traces::TracesBuilder>),
    Metrics(Box<metrics::MetricsBuilder>),
    Logs(Box<logs::LogsBuilder>),
}

impl TableBuilder {
    pub(crate) fn new(table: Table) -> Self {
        match (table, table.metric_kind()) {
            (Table::Logs, _) => TableBuilder::Logs(Box::default()),
            (_, None) => TableBuilder::Traces(Box::default()),
            (_, Some(kind)) => TableBuilder::Metrics(Box::new(metrics::MetricsBuilder::new(kind))),
        }
    }

    pub(crate) fn rows(&self) -> usize {
        match self {
            TableBuilder::Traces(b) => b.rows(),
            TableBuilder::Metrics(b) => b.rows(),
            TableBuilder::Logs(b) => b.rows(),
        }
    }

    pub(crate) fn finish(&mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
        match self {
            TableBuilder::Traces(b) => b.finish(),
            TableBuilder::Metrics(b) => b.finish(),
            TableBuilder::Logs(b) => b.finish(),
        }
    }
}

/// The resource and scope a stored row belongs to; rows are grouped by it on read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResourceKey {
    pub(crate) resource: Resource,
    pub(crate) resource_schema_url: String,
    pub(crate) scope: InstrumentationScope,
    pub(crate) scope_schema_url: String,
}

impl ResourceKey {
    pub(crate) fn read(cols: &Columns<'_>, row: usize) -> ReadResult<Self> {
        let (resource, resource_schema_url, scope, scope_schema_url) = read::read_resource_scope(cols, row)?;
        Ok(ResourceKey { resource, resource_schema_url, scope, scope_schema_url })
    }

    /// The resource part as bytes (for grouping; the proto types are not `Hash`).
    pub(crate) fn resource_bytes(&self) -> Vec<u8> {
        let mut out = self.resource.encode_length_delimited_to_vec();
        out.extend_from_slice(self.resource_schema_url.as_bytes());
        out
    }

    /// The scope part as bytes.
    pub(crate) fn scope_bytes(&self) -> Vec<u8> {
        let mut out = self.scope.encode_length_delimited_to_vec();
        out.extend_from_slice(self.scope_schema_url.as_bytes());
        out
    }
}
