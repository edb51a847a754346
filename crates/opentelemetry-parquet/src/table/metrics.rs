//! The five metric tables: one row per data point.
//!
//! Each has the ClickHouse exporter's columns plus what they drop: `IntValue` (set when the
//! point was `as_int`), nullable `Value`/`Sum`/`Min`/`Max` (null when unset rather than 0),
//! `ZeroThreshold`, typed exemplar values, `MetricMetadata` and the `...Types` columns.

use std::sync::Arc;

use crate::proto::metrics::v1 as otlp;
use crate::proto::metrics::v1::{exponential_histogram_data_point::Buckets, metric::Data};
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, ListBuilder, StringBuilder, TimestampNanosecondBuilder,
    UInt32Builder, UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, ListArray, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};

use super::attrs::*;
use super::columns::*;
use super::read::*;
use super::resource::*;
use super::ResourceKey;
use crate::attributes::AttrValue;

/// Which metric table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MetricKind {
    Gauge,
    Sum,
    Histogram,
    ExponentialHistogram,
    Summary,
}

/// A metric's identity, rendered once and appended to each of its data points.
#[derive(Debug, Clone)]
pub(crate) struct MetricInfo {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) unit: String,
    pub(crate) metadata: RenderedAttrs,
}

impl MetricInfo {
    pub(crate) fn from_otlp(m: &otlp::Metric) -> Self {
        MetricInfo {
            name: m.name.clone(),
            description: m.description.clone(),
            unit: m.unit.clone(),
            metadata: RenderedAttrs::new(
                m.metadata.iter().map(|kv| (kv.key.as_str(), AttrValue::Otlp(kv.value.as_ref()))),
            ),
        }
    }

    /// The bytes this adds to every data point's row.
    pub(crate) fn bytes(&self) -> usize {
        self.name.len() + self.description.len() + self.unit.len() + self.metadata.bytes() + 12
    }
}

/// A metric value from the SDK's generic data points.
pub(crate) trait SdkNumber: Copy {
    fn number(self) -> Number;
    fn as_f64(self) -> f64;
}

impl SdkNumber for f64 {
    fn number(self) -> Number {
        Number::Double(self)
    }
    fn as_f64(self) -> f64 {
        self
    }
}

impl SdkNumber for i64 {
    fn number(self) -> Number {
        Number::Int(self)
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl SdkNumber for u64 {
    /// OTLP has no unsigned int: values above `i64::MAX` are kept as doubles (the OTLP exporter
    /// turns them into 0).
    fn number(self) -> Number {
        i64::try_from(self).map_or(Number::Double(self as f64), Number::Int)
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
}

fn u64_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::UInt64, false)))
}

fn f64_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Float64, false)))
}

fn quantile_fields() -> Fields {
    Fields::from(vec![Field::new("Quantile", DataType::Float64, false), Field::new("Value", DataType::Float64, false)])
}

/// Schema of a metric table.
pub(crate) fn schema(kind: MetricKind) -> SchemaRef {
    let [md, mdt] = AttrMapBuilder::fields("MetricMetadata");
    let [a, at] = AttrMapBuilder::fields("Attributes");
    let mut fields = vec![
        Field::new("MetricName", DataType::Utf8, false),
        Field::new("MetricDescription", DataType::Utf8, false),
        Field::new("MetricUnit", DataType::Utf8, false),
        a,
        at,
        Field::new("StartTimeUnix", timestamp_type(), false),
        Field::new("TimeUnix", timestamp_type(), false),
    ];
    let temporality = Field::new("AggregationTemporality", DataType::Int32, false);
    let count = Field::new("Count", DataType::UInt64, false);
    let min_max = [Field::new("Min", DataType::Float64, true), Field::new("Max", DataType::Float64, true)];
    match kind {
        MetricKind::Gauge | MetricKind::Sum => {
            fields.push(Field::new("Value", DataType::Float64, true));
            fields.push(Field::new("IntValue", DataType::Int64, true));
            if kind == MetricKind::Sum {
                fields.push(temporality);
                fields.push(Field::new("IsMonotonic", DataType::Boolean, false));
            }
            fields.push(ExemplarsBuilder::field());
        }
        MetricKind::Histogram => {
            fields.extend([
                count,
                Field::new("Sum", DataType::Float64, true),
                Field::new("BucketCounts", u64_list(), false),
                Field::new("ExplicitBounds", f64_list(), false),
                ExemplarsBuilder::field(),
            ]);
            fields.extend(min_max);
            fields.push(temporality);
        }
        MetricKind::ExponentialHistogram => {
            fields.extend([
                count,
                Field::new("Sum", DataType::Float64, true),
                Field::new("Scale", DataType::Int32, false),
                Field::new("ZeroCount", DataType::UInt64, false),
                Field::new("ZeroThreshold", DataType::Float64, false),
                Field::new("PositiveOffset", DataType::Int32, true),
                Field::new("PositiveBucketCounts", u64_list(), false),
                Field::new("NegativeOffset", DataType::Int32, true),
                Field::new("NegativeBucketCounts", u64_list(), false),
                ExemplarsBuilder::field(),
            ]);
            fields.extend(min_max);
            fields.push(temporality);
        }
        MetricKind::Summary => {
            fields.extend([
                count,
                Field::new("Sum", DataType::Float64, false),
                Field::new("ValueAtQuantiles", list_of_struct_type(quantile_fields()), false),
            ]);
        }
    }
    fields.extend([Field::new("Flags", DataType::UInt32, false), md, mdt]);
    fields.extend(ResourceScopeColumns::fields());
    Arc::new(Schema::new(fields))
}

/// The resource, scope and metric a data point belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowContext<'a> {
    pub(crate) resource: &'a ResourceInfo,
    pub(crate) scope: &'a ScopeInfo,
    pub(crate) metric: &'a MetricInfo,
}

/// The header of a data point, borrowed from either source.
pub(crate) struct PointHeader {
    pub(crate) start: u64,
    pub(crate) time: u64,
    pub(crate) flags: u32,
}

/// Buffers the data points of one metric table and partition. Columns a table does not have stay
/// empty and are left out by [`MetricsBuilder::finish`].
#[derive(Debug)]
pub(crate) struct MetricsBuilder {
    pub(crate) kind: MetricKind,
    pub(crate) rows: usize,
    pub(crate) name: StringBuilder,
    pub(crate) description: StringBuilder,
    pub(crate) unit: StringBuilder,
    pub(crate) attributes: AttrMapBuilder,
    pub(crate) start: TimestampNanosecondBuilder,
    pub(crate) time: TimestampNanosecondBuilder,
    // gauge, sum
    pub(crate) value: Float64Builder,
    pub(crate) int_value: Int64Builder,
    pub(crate) monotonic: BooleanBuilder,
    // histograms, summary
    pub(crate) count: UInt64Builder,
    pub(crate) sum: Float64Builder,
    pub(crate) bucket_counts: ListBuilder<UInt64Builder>,
    pub(crate) bounds: ListBuilder<Float64Builder>,
    pub(crate) scale: Int32Builder,
    pub(crate) zero_count: UInt64Builder,
    pub(crate) zero_threshold: Float64Builder,
    pub(crate) positive_offset: Int32Builder,
    pub(crate) positive_counts: ListBuilder<UInt64Builder>,
    pub(crate) negative_offset: Int32Builder,
    pub(crate) negative_counts: ListBuilder<UInt64Builder>,
    pub(crate) min: Float64Builder,
    pub(crate) max: Float64Builder,
    pub(crate) quantile_lengths: Vec<usize>,
    pub(crate) quantile: Float64Builder,
    pub(crate) quantile_value: Float64Builder,
    pub(crate) temporality: Int32Builder,
    pub(crate) exemplars: ExemplarsBuilder,
    pub(crate) flags: UInt32Builder,
    pub(crate) metadata: AttrMapBuilder,
    pub(crate) resource_scope: ResourceScopeColumns,
}

impl MetricsBuilder {
    pub(crate) fn new(kind: MetricKind) -> Self {
        MetricsBuilder {
            kind,
            rows: 0,
            name: string_builder(),
            description: string_builder(),
            unit: string_builder(),
            attributes: AttrMapBuilder::default(),
            start: timestamp_builder(),
            time: timestamp_builder(),
            value: Float64Builder::with_capacity(0),
            int_value: Int64Builder::with_capacity(0),
            monotonic: BooleanBuilder::with_capacity(0),
            count: UInt64Builder::with_capacity(0),
            sum: Float64Builder::with_capacity(0),
            bucket_counts: ListBuilder::with_capacity(UInt64Builder::with_capacity(0), 0).with_field(Field::new(
                "item",
                DataType::UInt64,
                false,
            )),
            bounds: ListBuilder::with_capacity(Float64Builder::with_capacity(0), 0).with_field(Field::new(
                "item",
                DataType::Float64,
                false,
            )),
            scale: Int32Builder::with_capacity(0),
            zero_count: UInt64Builder::with_capacity(0),
            zero_threshold: Float64Builder::with_capacity(0),
            positive_offset: Int32Builder::with_capacity(0),
            positive_counts: ListBuilder::with_capacity(UInt64Builder::with_capacity(0), 0).with_field(Field::new(
                "item",
                DataType::UInt64,
                false,
            )),
            negative_offset: Int32Builder::with_capacity(0),
            negative_counts: ListBuilder::with_capacity(UInt64Builder::with_capacity(0), 0).with_field(Field::new(
                "item",
                DataType::UInt64,
                false,
            )),
            min: Float64Builder::with_capacity(0),
            max: Float64Builder::with_capacity(0),
            quantile_lengths: Vec::new(),
            quantile: Float64Builder::with_capacity(0),
            quantile_value: Float64Builder::with_capacity(0),
            temporality: Int32Builder::with_capacity(0),
            exemplars: ExemplarsBuilder::default(),
            flags: UInt32Builder::with_capacity(0),
            metadata: AttrMapBuilder::default(),
            resource_scope: ResourceScopeColumns::default(),
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Appends the columns every metric table has.
    pub(crate) fn append_common(
        &mut self,
        ctx: &RowContext<'_>,
        header: &PointHeader,
        attributes: impl FnOnce(&mut AttrMapBuilder),
    ) {
        let (resource, scope, metric) = (ctx.resource, ctx.scope, ctx.metric);
        self.rows += 1;
        self.name.append_value(&metric.name);
        self.description.append_value(&metric.description);
        self.unit.append_value(&metric.unit);
        attributes(&mut self.attributes);
        self.attributes.finish_row();
        self.start.append_value(nanos_to_i64(header.start));
        self.time.append_value(nanos_to_i64(header.time));
        self.flags.append_value(header.flags);
        self.metadata.append_rendered(&metric.metadata);
        self.metadata.finish_row();
        self.resource_scope.append(resource, scope);
    }

    pub(crate) fn append_histogram_tail(&mut self, min: Option<f64>, max: Option<f64>, temporality: i32) {
        self.min.append_option(min);
        self.max.append_option(max);
        self.temporality.append_value(temporality);
    }

    /// Appends data point `point` of an OTLP metric (measured by `size::otlp_point`).
    pub(crate) fn append_otlp(&mut self, ctx: &RowContext<'_>, data: &Data, point: usize) {
        let exemplars = |b: &mut ExemplarsBuilder, list: &[otlp::Exemplar]| {
            for e in list {
                let value = match e.value {
                    Some(otlp::exemplar::Value::AsDouble(f)) => Number::Double(f),
                    Some(otlp::exemplar::Value::AsInt(i)) => Number::Int(i),
                    None => Number::Unset,
                };
                b.append(|a| a.append_otlp(&e.filtered_attributes), e.time_unix_nano, value, &e.span_id, &e.trace_id);
            }
            b.finish_row();
        };
        match data {
            Data::Gauge(otlp::Gauge { data_points }) | Data::Sum(otlp::Sum { data_points, .. }) => {
                let p = &data_points[point];
                let header = PointHeader { start: p.start_time_unix_nano, time: p.time_unix_nano, flags: p.flags };
                self.append_common(ctx, &header, |a| a.append_otlp(&p.attributes));
                let value = match p.value {
                    Some(otlp::number_data_point::Value::AsDouble(f)) => Number::Double(f),
                    Some(otlp::number_data_point::Value::AsInt(i)) => Number::Int(i),
                    None => Number::Unset,
                };
                value.append(&mut self.value, &mut self.int_value);
                if let Data::Sum(s) = data {
                    self.temporality.append_value(s.aggregation_temporality);
                    self.monotonic.append_value(s.is_monotonic);
                }
                exemplars(&mut self.exemplars, &p.exemplars);
            }
            Data::Histogram(h) => {
                let p = &h.data_points[point];
                let header = PointHeader { start: p.start_time_unix_nano, time: p.time_unix_nano, flags: p.flags };
                self.append_common(ctx, &header, |a| a.append_otlp(&p.attributes));
                self.count.append_value(p.count);
                self.sum.append_option(p.sum);
                self.bucket_counts.append_value(p.bucket_counts.iter().map(|c| Some(*c)));
                self.bounds.append_value(p.explicit_bounds.iter().map(|c| Some(*c)));
                exemplars(&mut self.exemplars, &p.exemplars);
                self.append_histogram_tail(p.min, p.max, h.aggregation_temporality);
            }
            Data::ExponentialHistogram(h) => {
                let p = &h.data_points[point];
                let header = PointHeader { start: p.start_time_unix_nano, time: p.time_unix_nano, flags: p.flags };
                self.append_common(ctx, &header, |a| a.append_otlp(&p.attributes));
                self.count.append_value(p.count);
                self.sum.append_option(p.sum);
                self.scale.append_value(p.scale);
                self.zero_count.append_value(p.zero_count);
                self.zero_threshold.append_value(p.zero_threshold);
                self.append_buckets(p.positive.as_ref(), p.negative.as_ref());
                exemplars(&mut self.exemplars, &p.exemplars);
                self.append_histogram_tail(p.min, p.max, h.aggregation_temporality);
            }
            Data::Summary(s) => {
                let p = &s.data_points[point];
                let header = PointHeader { start: p.start_time_unix_nano, time: p.time_unix_nano, flags: p.flags };
                self.append_common(ctx, &header, |a| a.append_otlp(&p.attributes));
                self.count.append_value(p.count);
                self.sum.append_value(p.sum);
                for q in &p.quantile_values {
                    self.quantile.append_value(q.quantile);
                    self.quantile_value.append_value(q.value);
                }
                self.quantile_lengths.push(p.quantile_values.len());
            }
        }
    }

    fn append_buckets(&mut self, positive: Option<&Buckets>, negative: Option<&Buckets>) {
        for (b, offset, counts) in [
            (positive, &mut self.positive_offset, &mut self.positive_counts),
            (negative, &mut self.negative_offset, &mut self.negative_counts),
        ] {
            offset.append_option(b.map(|b| b.offset));
            counts.append_value(b.map(|b| b.bucket_counts.as_slice()).unwrap_or_default().iter().map(|c| Some(*c)));
        }
    }

    pub(crate) fn finish(&mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
        self.rows = 0;
        let [a, at] = self.attributes.finish();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.name.finish()),
            Arc::new(self.description.finish()),
            Arc::new(self.unit.finish()),
            a,
            at,
            Arc::new(self.start.finish()),
            Arc::new(self.time.finish()),
        ];
        let kind = self.kind;
        let temporality: ArrayRef = Arc::new(self.temporality.finish());
        let count: ArrayRef = Arc::new(self.count.finish());
        let sum: ArrayRef = Arc::new(self.sum.finish());
        match kind {
            MetricKind::Gauge | MetricKind::Sum => {
                columns.push(Arc::new(self.value.finish()));
                columns.push(Arc::new(self.int_value.finish()));
                if kind == MetricKind::Sum {
                    columns.push(temporality.clone());
                    columns.push(Arc::new(self.monotonic.finish()));
                }
                columns.push(self.exemplars.finish());
            }
            MetricKind::Histogram => {
                columns.extend([
                    count,
                    sum,
                    Arc::new(self.bucket_counts.finish()) as ArrayRef,
                    Arc::new(self.bounds.finish()),
                    self.exemplars.finish(),
                    Arc::new(self.min.finish()),
                    Arc::new(self.max.finish()),
                    temporality,
                ]);
            }
            MetricKind::ExponentialHistogram => {
                columns.extend([
                    count,
                    sum,
                    Arc::new(self.scale.finish()) as ArrayRef,
                    Arc::new(self.zero_count.finish()),
                    Arc::new(self.zero_threshold.finish()),
                    Arc::new(self.positive_offset.finish()),
                    Arc::new(self.positive_counts.finish()),
                    Arc::new(self.negative_offset.finish()),
                    Arc::new(self.negative_counts.finish()),
                    self.exemplars.finish(),
                    Arc::new(self.min.finish()),
                    Arc::new(self.max.finish()),
                    temporality,
                ]);
            }
            MetricKind::Summary => {
                let q: Vec<ArrayRef> = vec![Arc::new(self.quantile.finish()), Arc::new(self.quantile_value.finish())];
                columns.extend([
                    count,
                    sum,
                    list_of_struct(quantile_fields(), q, std::mem::take(&mut self.quantile_lengths)),
                ]);
            }
        }
        columns.push(Arc::new(self.flags.finish()));
        columns.extend(self.metadata.finish());
        columns.extend(self.resource_scope.finish());
        RecordBatch::try_new(schema(kind), columns)
    }
}

fn u64s(list: &ListArray, row: usize) -> ReadResult<Vec<u64>> {
    let (s, e) = list_range(list, row);
    let values = list.values().checked_primitive::<UInt64Type>()?;
    Ok((s..e).map(|i| values.value(i)).collect())
}

fn opt_f64(a: &arrow_array::Float64Array, row: usize) -> Option<f64> {
    a.is_valid(row).then(|| a.value(row))
}

/// Reads every row of a metric table back into single-point OTLP metrics.
pub(crate) fn read(kind: MetricKind, batch: &RecordBatch) -> ReadResult<Vec<(ResourceKey, otlp::Metric)>> {
    let c = Columns::new(batch);
    let name = c.strings("MetricName")?;
    let description = c.strings("MetricDescription")?;
    let unit = c.strings("MetricUnit")?;
    let metadata = c.attrs("MetricMetadata")?;
    let attrs = c.attrs("Attributes")?;
    let start = c.timestamps("StartTimeUnix")?;
    let time = c.timestamps("TimeUnix")?;
    let flags = c.u32s("Flags")?;
    let i32s = |n: &str| -> ReadResult<&arrow_array::Int32Array> {
        c.get(n)?.as_primitive_opt::<Int32Type>().ok_or_else(|| format!("column {n} is not Int32"))
    };
    let f64s = |n: &str| -> ReadResult<&arrow_array::Float64Array> {
        c.get(n)?.as_primitive_opt::<Float64Type>().ok_or_else(|| format!("column {n} is not Float64"))
    };
    let count = || -> ReadResult<&arrow_array::UInt64Array> {
        c.get("Count")?.as_primitive_opt::<UInt64Type>().ok_or_else(|| "column Count is not UInt64".to_owned())
    };

    (0..batch.num_rows())
        .map(|row| {
            let exemplars = || read_exemplars(c.list("Exemplars")?, row);
            let data = match kind {
                MetricKind::Gauge | MetricKind::Sum => {
                    let point = otlp::NumberDataPoint {
                        attributes: attrs.read(row)?,
                        start_time_unix_nano: i64_to_nanos(start.value(row)),
                        time_unix_nano: i64_to_nanos(time.value(row)),
                        exemplars: exemplars()?,
                        flags: flags.value(row),
                        value: match Number::read(c.get("Value")?, c.get("IntValue")?, row)? {
                            Number::Double(f) => Some(otlp::number_data_point::Value::AsDouble(f)),
                            Number::Int(i) => Some(otlp::number_data_point::Value::AsInt(i)),
                            Number::Unset => None,
                        },
                    };
                    if kind == MetricKind::Gauge {
                        Data::Gauge(otlp::Gauge { data_points: vec![point] })
                    } else {
                        Data::Sum(otlp::Sum {
                            data_points: vec![point],
                            aggregation_temporality: i32s("AggregationTemporality")?.value(row),
                            is_monotonic: c.get("IsMonotonic")?.checked_bool()?.value(row),
                        })
                    }
                }
                MetricKind::Histogram => Data::Histogram(otlp::Histogram {
                    data_points: vec![otlp::HistogramDataPoint {
                        attributes: attrs.read(row)?,
                        start_time_unix_nano: i64_to_nanos(start.value(row)),
                        time_unix_nano: i64_to_nanos(time.value(row)),
                        count: count()?.value(row),
                        sum: opt_f64(f64s("Sum")?, row),
                        bucket_counts: u64s(c.list("BucketCounts")?, row)?,
                        explicit_bounds: {
                            let list = c.list("ExplicitBounds")?;
                            let (s, e) = list_range(list, row);
                            let v = list.values().checked_primitive::<Float64Type>()?;
                            (s..e).map(|i| v.value(i)).collect()
                        },
                        exemplars: exemplars()?,
                        flags: flags.value(row),
                        min: opt_f64(f64s("Min")?, row),
                        max: opt_f64(f64s("Max")?, row),
                    }],
                    aggregation_temporality: i32s("AggregationTemporality")?.value(row),
                }),
                MetricKind::ExponentialHistogram => {
                    let buckets = |offset: &str, counts: &str| -> ReadResult<Option<Buckets>> {
                        let offsets = i32s(offset)?;
                        if !offsets.is_valid(row) {
                            return Ok(None);
                        }
                        Ok(Some(Buckets { offset: offsets.value(row), bucket_counts: u64s(c.list(counts)?, row)? }))
                    };
                    Data::ExponentialHistogram(otlp::ExponentialHistogram {
                        data_points: vec![otlp::ExponentialHistogramDataPoint {
                            attributes: attrs.read(row)?,
                            start_time_unix_nano: i64_to_nanos(start.value(row)),
                            time_unix_nano: i64_to_nanos(time.value(row)),
                            count: count()?.value(row),
                            sum: opt_f64(f64s("Sum")?, row),
                            scale: i32s("Scale")?.value(row),
                            zero_count: c
                                .get("ZeroCount")?
                                .as_primitive_opt::<UInt64Type>()
                                .ok_or("ZeroCount is not UInt64")?
                                .value(row),
                            positive: buckets("PositiveOffset", "PositiveBucketCounts")?,
                            negative: buckets("NegativeOffset", "NegativeBucketCounts")?,
                            flags: flags.value(row),
                            exemplars: exemplars()?,
                            min: opt_f64(f64s("Min")?, row),
                            max: opt_f64(f64s("Max")?, row),
                            zero_threshold: f64s("ZeroThreshold")?.value(row),
                        }],
                        aggregation_temporality: i32s("AggregationTemporality")?.value(row),
                    })
                }
                MetricKind::Summary => {
                    let list = c.list("ValueAtQuantiles")?;
                    let items = list.values().checked_struct()?;
                    let q = struct_child(items, "Quantile")?.checked_primitive::<Float64Type>()?;
                    let v = struct_child(items, "Value")?.checked_primitive::<Float64Type>()?;
                    let (s, e) = list_range(list, row);
                    Data::Summary(otlp::Summary {
                        data_points: vec![otlp::SummaryDataPoint {
                            attributes: attrs.read(row)?,
                            start_time_unix_nano: i64_to_nanos(start.value(row)),
                            time_unix_nano: i64_to_nanos(time.value(row)),
                            count: count()?.value(row),
                            sum: f64s("Sum")?.value(row),
                            quantile_values: (s..e)
                                .map(|i| otlp::summary_data_point::ValueAtQuantile {
                                    quantile: q.value(i),
                                    value: v.value(i),
                                })
                                .collect(),
                            flags: flags.value(row),
                        }],
                    })
                }
            };
            let metric = otlp::Metric {
                name: name.value(row).to_owned(),
                description: description.value(row).to_owned(),
                unit: unit.value(row).to_owned(),
                metadata: metadata.read(row)?,
                data: Some(data),
            };
            Ok((ResourceKey::read(&c, row)?, metric))
        })
        .collect()
}
