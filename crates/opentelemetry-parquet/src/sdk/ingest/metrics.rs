//! SDK metrics, read in place: measured, then appended to the metric tables' columns.

use super::otel_sdk;
use super::values::{append_attrs_iter, attrs_bytes, resource_info, scope_info};
use crate::buffer::Buffer;
use crate::error::Result;
use crate::prepare::Tally;
use crate::proto::metrics::v1::AggregationTemporality;
use crate::sdk::{sealed, SdkResourceMetrics};
use crate::size::{id, ITEM_BYTES, ROW_BYTES};
use crate::table::attrs::RenderedAttrs;
use crate::table::metrics::{MetricInfo, MetricKind, MetricsBuilder, PointHeader, RowContext, SdkNumber};
use crate::table::resource::{ResourceInfo, ScopeInfo};
use crate::table::Table;
use crate::time::to_nanos;
use crate::OtlpLibrary;

use otel_sdk::metrics::data::{
    AggregatedMetrics, Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, MetricData, ResourceMetrics,
};
use otel_sdk::metrics::Temporality;

impl sealed::Sealed for ResourceMetrics {}

impl SdkResourceMetrics for ResourceMetrics {
    fn export_to(&self, library: &OtlpLibrary) -> Result<usize> {
        library.export_prepared(|| PreparedSdkMetrics::new(self), |p| p.bytes, |buffer, p| p.append_to(buffer))
    }
}

/// The SDK's `ResourceMetrics` with its resource, scopes and metrics rendered and every data
/// point measured; the data points are read in place when appended.
struct PreparedSdkMetrics<'a> {
    resource: ResourceInfo,
    scopes: Vec<(ScopeInfo, Vec<(MetricInfo, &'a Metric)>)>,
    rows: Vec<usize>,
    /// The bytes the export adds to the buffer, at most.
    bytes: usize,
}

impl<'a> PreparedSdkMetrics<'a> {
    fn new(rm: &'a ResourceMetrics) -> Result<Self> {
        let resource = resource_info(rm.resource());
        let mut tally = Tally::default();
        let mut scopes = Vec::new();
        for sm in rm.scope_metrics() {
            let scope = scope_info(sm.scope());
            let mut metrics = Vec::new();
            for m in sm.metrics() {
                let info = MetricInfo {
                    name: m.name().to_owned(),
                    description: m.description().to_owned(),
                    unit: m.unit().to_owned(),
                    metadata: RenderedAttrs::default(),
                };
                let shared = resource.bytes() + scope.bytes() + info.bytes();
                match m.data() {
                    AggregatedMetrics::F64(d) => point_sizes(d, shared, &mut tally)?,
                    AggregatedMetrics::U64(d) => point_sizes(d, shared, &mut tally)?,
                    AggregatedMetrics::I64(d) => point_sizes(d, shared, &mut tally)?,
                }
                metrics.push((info, m));
            }
            scopes.push((scope, metrics));
        }
        let (rows, bytes) = tally.finish();
        Ok(PreparedSdkMetrics { resource, scopes, rows, bytes })
    }

    /// Appends every data point, reading it in place; returns the rows added.
    fn append_to(&self, buffer: &mut Buffer) -> usize {
        let mut sizes = self.rows.iter().copied();
        for (scope, metrics) in &self.scopes {
            for (info, metric) in metrics {
                let ctx = RowContext { resource: &self.resource, scope, metric: info };
                match metric.data() {
                    AggregatedMetrics::F64(d) => append_data(buffer, &ctx, d, &mut sizes),
                    AggregatedMetrics::U64(d) => append_data(buffer, &ctx, d, &mut sizes),
                    AggregatedMetrics::I64(d) => append_data(buffer, &ctx, d, &mut sizes),
                }
            }
        }
        self.rows.len()
    }
}

/// Bytes of an SDK data point: its attributes, exemplars and bucket values (`buckets` values of
/// 8 bytes), without its resource, scope and metric identity.
fn point_bytes<'a, T: 'a>(
    attributes: impl Iterator<Item = &'a super::otel::KeyValue>,
    exemplars: impl Iterator<Item = &'a Exemplar<T>>,
    buckets: usize,
) -> usize {
    ROW_BYTES
        + attrs_bytes(attributes)
        + exemplars.map(|e| ITEM_BYTES + 2 * id(&[0; 16]) + attrs_bytes(e.filtered_attributes())).sum::<usize>()
        + 8 * buckets
}

fn point_sizes<T>(data: &MetricData<T>, shared: usize, tally: &mut Tally) -> Result<()> {
    match data {
        MetricData::Gauge(g) => {
            for p in g.data_points() {
                tally.row(
                    Table::MetricsGauge,
                    to_nanos(g.time()),
                    shared + point_bytes(p.attributes(), p.exemplars(), 0),
                )?;
            }
        }
        MetricData::Sum(s) => {
            for p in s.data_points() {
                tally.row(
                    Table::MetricsSum,
                    to_nanos(s.time()),
                    shared + point_bytes(p.attributes(), p.exemplars(), 0),
                )?;
            }
        }
        MetricData::Histogram(h) => {
            for p in h.data_points() {
                let buckets = p.bucket_counts().count() + p.bounds().count();
                tally.row(
                    Table::MetricsHistogram,
                    to_nanos(h.time()),
                    shared + point_bytes(p.attributes(), p.exemplars(), buckets),
                )?;
            }
        }
        MetricData::ExponentialHistogram(h) => {
            for p in h.data_points() {
                let buckets = p.positive_bucket().counts().count() + p.negative_bucket().counts().count();
                tally.row(
                    Table::MetricsExponentialHistogram,
                    to_nanos(h.time()),
                    shared + point_bytes(p.attributes(), p.exemplars(), buckets),
                )?;
            }
        }
    }
    Ok(())
}

fn temporality(t: Temporality) -> i32 {
    (match t {
        Temporality::Delta => AggregationTemporality::Delta,
        _ => AggregationTemporality::Cumulative,
    }) as i32
}

fn append_data<T: SdkNumber + 'static>(
    buffer: &mut Buffer,
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
                let b = buffer.metrics(MetricKind::Gauge, header.time, size());
                append_number(b, ctx, &header, p.attributes(), p.value(), p.exemplars(), None);
            }
        }
        MetricData::Sum(s) => {
            let header = PointHeader { start: to_nanos(s.start_time()), time: to_nanos(s.time()), flags: 0 };
            for p in s.data_points() {
                let sum = Some((s.temporality(), s.is_monotonic()));
                let b = buffer.metrics(MetricKind::Sum, header.time, size());
                append_number(b, ctx, &header, p.attributes(), p.value(), p.exemplars(), sum);
            }
        }
        MetricData::Histogram(h) => {
            let header = PointHeader { start: to_nanos(h.start_time()), time: to_nanos(h.time()), flags: 0 };
            for p in h.data_points() {
                append_histogram(
                    buffer.metrics(MetricKind::Histogram, header.time, size()),
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
                let b = buffer.metrics(MetricKind::ExponentialHistogram, header.time, size());
                append_exponential_histogram(b, ctx, &header, p, h.temporality());
            }
        }
    }
}

fn append_exemplars<'a, T: SdkNumber + 'static>(b: &mut MetricsBuilder, list: impl Iterator<Item = &'a Exemplar<T>>) {
    for e in list {
        b.exemplars.append(
            |a| append_attrs_iter(a, e.filtered_attributes()),
            to_nanos(e.time()),
            e.value.number(),
            e.span_id(),
            e.trace_id(),
        );
    }
    b.exemplars.finish_row();
}

/// Appends one SDK gauge or sum data point.
fn append_number<'a, T: SdkNumber + 'static>(
    b: &mut MetricsBuilder,
    ctx: &RowContext<'_>,
    header: &PointHeader,
    attributes: impl Iterator<Item = &'a super::otel::KeyValue>,
    value: T,
    exemplars: impl Iterator<Item = &'a Exemplar<T>>,
    sum: Option<(Temporality, bool)>,
) {
    b.append_common(ctx, header, |a| append_attrs_iter(a, attributes));
    value.number().append(&mut b.value, &mut b.int_value);
    if let Some((t, monotonic)) = sum {
        b.temporality.append_value(temporality(t));
        b.monotonic.append_value(monotonic);
    }
    append_exemplars(b, exemplars);
}

fn append_histogram<T: SdkNumber + 'static>(
    b: &mut MetricsBuilder,
    ctx: &RowContext<'_>,
    header: &PointHeader,
    p: &HistogramDataPoint<T>,
    t: Temporality,
) {
    b.append_common(ctx, header, |a| append_attrs_iter(a, p.attributes()));
    b.count.append_value(p.count());
    b.sum.append_value(p.sum().as_f64());
    b.bucket_counts.append_value(p.bucket_counts().map(Some));
    b.bounds.append_value(p.bounds().map(Some));
    append_exemplars(b, p.exemplars());
    b.append_histogram_tail(p.min().map(SdkNumber::as_f64), p.max().map(SdkNumber::as_f64), temporality(t));
}

fn append_exponential_histogram<T: SdkNumber + 'static>(
    b: &mut MetricsBuilder,
    ctx: &RowContext<'_>,
    header: &PointHeader,
    p: &ExponentialHistogramDataPoint<T>,
    t: Temporality,
) {
    b.append_common(ctx, header, |a| append_attrs_iter(a, p.attributes()));
    b.count.append_value(p.count() as u64);
    b.sum.append_value(p.sum().as_f64());
    b.scale.append_value(p.scale().into());
    b.zero_count.append_value(p.zero_count());
    b.zero_threshold.append_value(p.zero_threshold());
    for (bucket, offset, counts) in [
        (p.positive_bucket(), &mut b.positive_offset, &mut b.positive_counts),
        (p.negative_bucket(), &mut b.negative_offset, &mut b.negative_counts),
    ] {
        offset.append_value(bucket.offset());
        counts.append_value(bucket.counts().map(Some));
    }
    append_exemplars(b, p.exemplars());
    b.append_histogram_tail(p.min().map(SdkNumber::as_f64), p.max().map(SdkNumber::as_f64), temporality(t));
}
