//! Property tests: storing an arbitrary OTLP request and reading the store back gives the same
//! request, up to the normalization rules documented on [`flatten_traces`] and
//! [`flatten_metrics`], in both storage formats (Parquet and Arrow IPC).
// `KeyValue { .., ..Default::default() }`: opentelemetry-proto 0.32's KeyValue has a field
// (`key_strindex`) that 0.31's lacks, so the update is needed with one and not the other.
#![allow(clippy::needless_update)]

mod common;
mod strategies;

use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{
    any_value, AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_parquet::proto::metrics::v1::{
    exemplar, exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint,
};
use opentelemetry_parquet::proto::resource::v1::Resource;
use opentelemetry_parquet::proto::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};
use opentelemetry_parquet::{Config, OtlpLibrary, StorageFormat, StoreReader};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use prost::Message as _;
use strategies::*;

// ---------------------------------------------------------------------------------------------
// Store round trip

/// Stores `request` in a fresh directory with `format`, shuts the library down and reads the
/// store back.
fn roundtrip_traces(request: &ExportTraceServiceRequest, format: StorageFormat) -> ExportTraceServiceRequest {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).format(format).build().expect("config"))
        .expect("library");
    // Both ways in: appended at once (Parquet cases), kept as it is for the writer (Arrow IPC).
    let accepted = match format {
        StorageFormat::Parquet => library.export_otlp_traces(request),
        _ => library.export_otlp_traces_owned(request.clone()),
    }
    .expect("export");
    let spans: usize = request.resource_spans.iter().flat_map(|rs| &rs.scope_spans).map(|ss| ss.spans.len()).sum();
    assert_eq!(accepted, spans, "export_otlp_traces returns the number of spans");
    library.shutdown().expect("shutdown");
    common::keep_store(&format!("roundtrip_traces_{}", format_name(format)), dir.path());
    StoreReader::new(dir.path()).read_traces().expect("read_traces")
}

/// As [`roundtrip_traces`], for metrics.
fn roundtrip_metrics(request: &ExportMetricsServiceRequest, format: StorageFormat) -> ExportMetricsServiceRequest {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).format(format).build().expect("config"))
        .expect("library");
    let accepted = library.export_otlp_metrics(request).expect("export");
    assert_eq!(accepted, flatten_metrics(request).len(), "export_otlp_metrics returns the number of data points");
    library.shutdown().expect("shutdown");
    common::keep_store(&format!("roundtrip_metrics_{}", format_name(format)), dir.path());
    StoreReader::new(dir.path()).read_metrics().expect("read_metrics")
}

/// The name of a kept store (`tests/test_stores.py` reads them with DuckDB and pyarrow).
fn format_name(format: StorageFormat) -> &'static str {
    match format {
        StorageFormat::ArrowIpc => "arrow_ipc",
        _ => "parquet",
    }
}

// ---------------------------------------------------------------------------------------------
// Normalization

/// Rule (d) of both flattenings: an all-zero trace or span ID means "no ID" (the ClickHouse
/// exporter's rendering is `''`, which reads back as empty bytes), so it compares as empty.
fn zero_id_as_empty(id: &mut Vec<u8>) {
    if id.iter().all(|&b| b == 0) {
        id.clear();
    }
}

/// Flattens a traces request into one single-span `ResourceSpans` per span, each paired with its
/// canonical protobuf encoding, sorted by that encoding. The only differences between a request
/// and its read-back that this forgives:
///
/// - (a) order: the store does not keep the order of `ResourceSpans`, `ScopeSpans` and spans
///   (rows are partitioned by time and regrouped by resource and scope on read), so items are
///   compared as a sorted list of (resource, resource schema URL, scope, scope schema URL, span);
///   sorting by the encoded bytes is total even with NaN, and comparing bytes compares `f64` bits;
/// - (b) `resource: None` is `Some(Resource::default())`, `scope: None` is
///   `Some(InstrumentationScope::default())` and span `status: None` is `Some(Status::default())`
///   (the store has no column for "absent" and the reader always fills them in);
/// - (c) a `ResourceSpans` or `ScopeSpans` without spans stores nothing, so it disappears
///   (flattening drops it);
/// - (d) all-zero trace, span, parent span and link IDs compare as empty ([`zero_id_as_empty`]).
fn flatten_traces(request: &ExportTraceServiceRequest) -> Vec<(Vec<u8>, ResourceSpans)> {
    let mut out = Vec::new();
    for rs in &request.resource_spans {
        let resource = rs.resource.clone().unwrap_or_default();
        for ss in &rs.scope_spans {
            let scope = ss.scope.clone().unwrap_or_default();
            for s in &ss.spans {
                let mut s = s.clone();
                s.status.get_or_insert_with(Status::default);
                for id in [&mut s.trace_id, &mut s.span_id, &mut s.parent_span_id] {
                    zero_id_as_empty(id);
                }
                for link in &mut s.links {
                    zero_id_as_empty(&mut link.trace_id);
                    zero_id_as_empty(&mut link.span_id);
                }
                let item = ResourceSpans {
                    resource: Some(resource.clone()),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(scope.clone()),
                        spans: vec![s],
                        schema_url: ss.schema_url.clone(),
                    }],
                    schema_url: rs.schema_url.clone(),
                };
                out.push((item.encode_to_vec(), item));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Flattens a metrics request into one `ResourceMetrics` per data point (holding one scope, one
/// metric, one point), paired with its encoding and sorted by it. Forgiven differences:
///
/// - (a) order of `ResourceMetrics`, `ScopeMetrics`, metrics and data points, as for traces
///   (points are also regrouped into metrics by name, description, unit, metadata and data
///   kind, so the same metric split over two `Metric` messages comes back as one);
/// - (b) `resource: None` / `scope: None` are their defaults;
/// - (c) metrics with `data: None` or without data points, and scopes and resources without
///   metrics, store nothing and disappear;
/// - (d) all-zero exemplar trace and span IDs compare as empty, as for traces.
fn flatten_metrics(request: &ExportMetricsServiceRequest) -> Vec<(Vec<u8>, ResourceMetrics)> {
    let mut out = Vec::new();
    for rm in &request.resource_metrics {
        let resource = rm.resource.clone().unwrap_or_default();
        for sm in &rm.scope_metrics {
            let scope = sm.scope.clone().unwrap_or_default();
            for m in &sm.metrics {
                for mut data in single_point_data(m.data.as_ref()) {
                    zero_exemplar_ids_as_empty(&mut data);
                    let item = ResourceMetrics {
                        resource: Some(resource.clone()),
                        scope_metrics: vec![ScopeMetrics {
                            scope: Some(scope.clone()),
                            metrics: vec![Metric { data: Some(data), ..m.clone() }],
                            schema_url: sm.schema_url.clone(),
                        }],
                        schema_url: rm.schema_url.clone(),
                    };
                    out.push((item.encode_to_vec(), item));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Rule (d) for the exemplars of a data point.
fn zero_exemplar_ids_as_empty(data: &mut Data) {
    let exemplars: Vec<&mut Vec<Exemplar>> = match data {
        Data::Gauge(g) => g.data_points.iter_mut().map(|p| &mut p.exemplars).collect(),
        Data::Sum(s) => s.data_points.iter_mut().map(|p| &mut p.exemplars).collect(),
        Data::Histogram(h) => h.data_points.iter_mut().map(|p| &mut p.exemplars).collect(),
        Data::ExponentialHistogram(h) => h.data_points.iter_mut().map(|p| &mut p.exemplars).collect(),
        Data::Summary(_) => Vec::new(),
    };
    for exemplar in exemplars.into_iter().flatten() {
        zero_id_as_empty(&mut exemplar.trace_id);
        zero_id_as_empty(&mut exemplar.span_id);
    }
}

/// The data of a metric split into one `Data` per data point.
fn single_point_data(data: Option<&Data>) -> Vec<Data> {
    fn split<P: Clone, D>(points: &[P], make: impl Fn(Vec<P>) -> D) -> Vec<D> {
        points.iter().map(|p| make(vec![p.clone()])).collect()
    }
    match data {
        None => Vec::new(),
        Some(Data::Gauge(g)) => split(&g.data_points, |data_points| Data::Gauge(Gauge { data_points })),
        Some(Data::Sum(s)) => split(&s.data_points, |data_points| Data::Sum(Sum { data_points, ..s.clone() })),
        Some(Data::Histogram(h)) => {
            split(&h.data_points, |data_points| Data::Histogram(Histogram { data_points, ..h.clone() }))
        }
        Some(Data::ExponentialHistogram(h)) => split(&h.data_points, |data_points| {
            Data::ExponentialHistogram(ExponentialHistogram { data_points, ..h.clone() })
        }),
        Some(Data::Summary(s)) => split(&s.data_points, |data_points| Data::Summary(Summary { data_points })),
    }
}

fn check_traces(request: &ExportTraceServiceRequest, format: StorageFormat) -> Result<(), TestCaseError> {
    let back = roundtrip_traces(request, format);
    same_items(&flatten_traces(request), &flatten_traces(&back))
}

fn check_metrics(request: &ExportMetricsServiceRequest, format: StorageFormat) -> Result<(), TestCaseError> {
    let back = roundtrip_metrics(request, format);
    same_items(&flatten_metrics(request), &flatten_metrics(&back))
}

// ---------------------------------------------------------------------------------------------
// Generators

fn event() -> impl Strategy<Value = span::Event> {
    (time(), text(), attributes(), count()).prop_map(|(time_unix_nano, name, attributes, dropped_attributes_count)| {
        span::Event { time_unix_nano, name, attributes, dropped_attributes_count }
    })
}

fn link() -> impl Strategy<Value = span::Link> {
    (id(16), id(8), text(), attributes(), count(), flags()).prop_map(
        |(trace_id, span_id, trace_state, attributes, dropped_attributes_count, flags)| span::Link {
            trace_id,
            span_id,
            trace_state,
            attributes,
            dropped_attributes_count,
            flags,
        },
    )
}

fn status() -> impl Strategy<Value = Option<Status>> {
    prop::option::weighted(0.7, (text(), enum_value(3)).prop_map(|(message, code)| Status { message, code }))
}

prop_compose! {
    fn a_span()(
        (trace_id, span_id) in (id(16), id(8)),
        parent_span_id in prop_oneof![Just(Vec::new()), id(8)],
        (trace_state, name) in (text(), text()),
        (flags, kind) in (flags(), enum_value(6)),
        // Independent, so the end is before the start about half the time.
        (start_time_unix_nano, end_time_unix_nano) in (time(), time()),
        attributes in attributes(),
        (dropped_attributes_count, dropped_events_count, dropped_links_count) in (count(), count(), count()),
        events in vec(event(), 0..3),
        links in vec(link(), 0..3),
        status in status(),
    ) -> Span {
        Span {
            trace_id,
            span_id,
            trace_state,
            parent_span_id,
            flags,
            name,
            kind,
            start_time_unix_nano,
            end_time_unix_nano,
            attributes,
            dropped_attributes_count,
            events,
            dropped_events_count,
            links,
            dropped_links_count,
            status,
        }
    }
}

fn traces_request() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope_spans = (scope(), list(a_span(), 5), text()).prop_map(|(scope, spans, schema_url)| ScopeSpans {
        scope,
        spans,
        schema_url,
    });
    let resource_spans = (resource(), list(scope_spans, 4), text())
        .prop_map(|(resource, scope_spans, schema_url)| ResourceSpans { resource, scope_spans, schema_url });
    list(resource_spans, 4).prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
}

fn small_attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    key_values(any_value(), 0..3)
}

fn exemplar() -> impl Strategy<Value = Exemplar> {
    let value = prop::option::weighted(
        0.8,
        prop_oneof![int().prop_map(exemplar::Value::AsInt), double().prop_map(exemplar::Value::AsDouble)],
    );
    (small_attributes(), time(), id(8), id(16), value).prop_map(
        |(filtered_attributes, time_unix_nano, span_id, trace_id, value)| Exemplar {
            filtered_attributes,
            time_unix_nano,
            span_id,
            trace_id,
            value,
        },
    )
}

fn exemplars() -> impl Strategy<Value = Vec<Exemplar>> {
    vec(exemplar(), 0..3)
}

/// Attributes, start time, time, flags and exemplars of a data point.
fn point_header() -> impl Strategy<Value = (Vec<KeyValue>, u64, u64, u32, Vec<Exemplar>)> {
    (attributes(), time(), time(), flags(), exemplars())
}

fn number_point() -> impl Strategy<Value = NumberDataPoint> {
    let value = prop::option::weighted(
        0.85,
        prop_oneof![
            int().prop_map(number_data_point::Value::AsInt),
            double().prop_map(number_data_point::Value::AsDouble)
        ],
    );
    (point_header(), value).prop_map(|((attributes, start, time, flags, exemplars), value)| NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        exemplars,
        flags,
        value,
    })
}

fn opt_double() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(double())
}

fn histogram_point() -> impl Strategy<Value = HistogramDataPoint> {
    (
        point_header(),
        any::<u64>(),
        opt_double(),
        vec(any::<u64>(), 0..5),
        vec(double(), 0..4),
        opt_double(),
        opt_double(),
    )
        .prop_map(
            |((attributes, start, time, flags, exemplars), count, sum, bucket_counts, explicit_bounds, min, max)| {
                HistogramDataPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    count,
                    sum,
                    bucket_counts,
                    explicit_bounds,
                    exemplars,
                    flags,
                    min,
                    max,
                }
            },
        )
}

fn buckets() -> impl Strategy<Value = Option<Buckets>> {
    prop::option::weighted(
        0.7,
        (any::<i32>(), vec(any::<u64>(), 0..5)).prop_map(|(offset, bucket_counts)| Buckets { offset, bucket_counts }),
    )
}

fn exponential_histogram_point() -> impl Strategy<Value = ExponentialHistogramDataPoint> {
    (
        point_header(),
        (any::<u64>(), opt_double(), prop_oneof![-10..=20i32, any::<i32>()], any::<u64>()),
        (buckets(), buckets()),
        (opt_double(), opt_double(), double()),
    )
        .prop_map(
            |(
                (attributes, start, time, flags, exemplars),
                (count, sum, scale, zero_count),
                (positive, negative),
                (min, max, zero_threshold),
            )| ExponentialHistogramDataPoint {
                attributes,
                start_time_unix_nano: start,
                time_unix_nano: time,
                count,
                sum,
                scale,
                zero_count,
                positive,
                negative,
                flags,
                exemplars,
                min,
                max,
                zero_threshold,
            },
        )
}

fn summary_point() -> impl Strategy<Value = SummaryDataPoint> {
    let quantile = (double(), double()).prop_map(|(quantile, value)| ValueAtQuantile { quantile, value });
    (attributes(), time(), time(), any::<u64>(), double(), vec(quantile, 0..4), flags()).prop_map(
        |(attributes, start, time, count, sum, quantile_values, flags)| SummaryDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: time,
            count,
            sum,
            quantile_values,
            flags,
        },
    )
}

fn data() -> impl Strategy<Value = Data> {
    const POINTS: usize = 4;
    prop_oneof![
        list(number_point(), POINTS).prop_map(|data_points| Data::Gauge(Gauge { data_points })),
        (list(number_point(), POINTS), enum_value(3), any::<bool>()).prop_map(
            |(data_points, aggregation_temporality, is_monotonic)| Data::Sum(Sum {
                data_points,
                aggregation_temporality,
                is_monotonic
            })
        ),
        (list(histogram_point(), POINTS), enum_value(3)).prop_map(|(data_points, aggregation_temporality)| {
            Data::Histogram(Histogram { data_points, aggregation_temporality })
        }),
        (list(exponential_histogram_point(), POINTS), enum_value(3)).prop_map(
            |(data_points, aggregation_temporality)| Data::ExponentialHistogram(ExponentialHistogram {
                data_points,
                aggregation_temporality
            })
        ),
        list(summary_point(), POINTS).prop_map(|data_points| Data::Summary(Summary { data_points })),
    ]
}

fn metric() -> impl Strategy<Value = Metric> {
    (text(), text(), text(), small_attributes(), prop::option::weighted(0.9, data()))
        .prop_map(|(name, description, unit, metadata, data)| Metric { name, description, unit, metadata, data })
}

fn metrics_request() -> impl Strategy<Value = ExportMetricsServiceRequest> {
    let scope_metrics = (scope(), list(metric(), 5), text()).prop_map(|(scope, metrics, schema_url)| ScopeMetrics {
        scope,
        metrics,
        schema_url,
    });
    let resource_metrics = (resource(), list(scope_metrics, 4), text())
        .prop_map(|(resource, scope_metrics, schema_url)| ResourceMetrics { resource, scope_metrics, schema_url });
    list(resource_metrics, 4).prop_map(|resource_metrics| ExportMetricsServiceRequest { resource_metrics })
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config())]

    #[test]
    fn traces_roundtrip_parquet(request in traces_request()) {
        check_traces(&request, StorageFormat::Parquet)?;
    }

    #[test]
    fn traces_roundtrip_arrow_ipc(request in traces_request()) {
        check_traces(&request, StorageFormat::ArrowIpc)?;
    }

    #[test]
    fn metrics_roundtrip_parquet(request in metrics_request()) {
        check_metrics(&request, StorageFormat::Parquet)?;
    }

    #[test]
    fn metrics_roundtrip_arrow_ipc(request in metrics_request()) {
        check_metrics(&request, StorageFormat::ArrowIpc)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Examples

const FORMATS: [StorageFormat; 2] = [StorageFormat::Parquet, StorageFormat::ArrowIpc];

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

/// One attribute of every `AnyValue` type, nested ones included.
fn kitchen_sink_attributes() -> Vec<KeyValue> {
    use any_value::Value;
    let every_scalar = vec![
        AnyValue { value: Some(Value::StringValue("s".into())) },
        AnyValue { value: Some(Value::BoolValue(true)) },
        AnyValue { value: Some(Value::IntValue(i64::MIN)) },
        AnyValue { value: Some(Value::DoubleValue(f64::NAN)) },
        AnyValue { value: Some(Value::DoubleValue(-0.0)) },
        AnyValue { value: Some(Value::DoubleValue(5e-324)) },
        AnyValue { value: Some(Value::BytesValue(vec![0, 255])) },
        AnyValue { value: None },
    ];
    vec![
        kv("string", Value::StringValue("ünïcødé \"<q>\" & \n".into())),
        kv("empty string", Value::StringValue(String::new())),
        kv("bool", Value::BoolValue(false)),
        kv("int min", Value::IntValue(i64::MIN)),
        kv("int max", Value::IntValue(i64::MAX)),
        kv("nan", Value::DoubleValue(f64::NAN)),
        kv("inf", Value::DoubleValue(f64::INFINITY)),
        kv("-inf", Value::DoubleValue(f64::NEG_INFINITY)),
        kv("-0", Value::DoubleValue(-0.0)),
        kv("subnormal", Value::DoubleValue(f64::MIN_POSITIVE / 7.0)),
        kv("1e21", Value::DoubleValue(1e21)),
        kv("1.5e-7", Value::DoubleValue(1.5e-7)),
        kv("bytes", Value::BytesValue(vec![1, 2, 3])),
        kv("empty bytes", Value::BytesValue(Vec::new())),
        kv("array", Value::ArrayValue(ArrayValue { values: every_scalar.clone() })),
        kv("empty array", Value::ArrayValue(ArrayValue::default())),
        kv(
            "kvlist",
            Value::KvlistValue(KeyValueList {
                values: vec![
                    KeyValue { key: "no value".into(), value: None, ..Default::default() },
                    KeyValue { key: "empty".into(), value: Some(AnyValue { value: None }), ..Default::default() },
                    kv("nested array", Value::ArrayValue(ArrayValue { values: every_scalar })),
                    kv("nested kvlist", Value::KvlistValue(KeyValueList { values: vec![kv("", Value::IntValue(1))] })),
                ],
            }),
        ),
        kv("empty kvlist", Value::KvlistValue(KeyValueList::default())),
        KeyValue { key: "empty value".into(), value: Some(AnyValue { value: None }), ..Default::default() },
        KeyValue { key: "no value".into(), value: None, ..Default::default() },
        kv("", Value::StringValue("empty key".into())),
    ]
}

fn kitchen_sink_resource() -> Resource {
    Resource {
        attributes: kitchen_sink_attributes(),
        dropped_attributes_count: 3,
        entity_refs: vec![EntityRef {
            schema_url: "https://opentelemetry.io/schemas/1.30.0".into(),
            r#type: "service".into(),
            id_keys: vec!["service.name".into(), "service.instance.id".into()],
            description_keys: vec!["service.version".into()],
        }],
    }
}

fn kitchen_sink_scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "scope".into(),
        version: "1.2.3".into(),
        attributes: kitchen_sink_attributes(),
        dropped_attributes_count: 4,
    }
}

fn simple_span(name: &str, start: u64, end: u64) -> Span {
    Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        name: name.to_owned(),
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..Span::default()
    }
}

fn traces_of(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: None,
            scope_spans: vec![ScopeSpans { scope: None, spans, schema_url: String::new() }],
            schema_url: String::new(),
        }],
    }
}

fn kitchen_sink_traces() -> ExportTraceServiceRequest {
    let span = Span {
        trace_id: (0..16).collect(),
        span_id: (0..8).collect(),
        trace_state: "k=v,a=b".into(),
        parent_span_id: vec![9; 8],
        flags: 0x301,
        name: "kitchen sink ✓".into(),
        kind: 2,
        start_time_unix_nano: HOUR + 1,
        end_time_unix_nano: HOUR + 1_000_000,
        attributes: kitchen_sink_attributes(),
        dropped_attributes_count: 1,
        events: vec![span::Event {
            time_unix_nano: HOUR + 5,
            name: "event".into(),
            attributes: kitchen_sink_attributes(),
            dropped_attributes_count: 2,
        }],
        dropped_events_count: 3,
        links: vec![span::Link {
            trace_id: vec![7; 16],
            span_id: vec![8; 8],
            trace_state: "x=y".into(),
            attributes: kitchen_sink_attributes(),
            dropped_attributes_count: 4,
            flags: 0x101,
        }],
        dropped_links_count: 5,
        status: Some(Status { message: "boom".into(), code: 2 }),
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(kitchen_sink_resource()),
            scope_spans: vec![ScopeSpans {
                scope: Some(kitchen_sink_scope()),
                spans: vec![span],
                schema_url: "scope schema".into(),
            }],
            schema_url: "resource schema".into(),
        }],
    }
}

#[test]
fn kitchen_sink_traces_round_trip() {
    let request = kitchen_sink_traces();
    for format in FORMATS {
        let back = roundtrip_traces(&request, format);
        // Nothing here needs normalizing: the read-back is the request itself.
        assert_eq!(back.encode_to_vec(), request.encode_to_vec(), "{format:?}: {back:#?}");
    }
}

#[test]
fn kitchen_sink_metrics_round_trip() {
    let number = |value| NumberDataPoint {
        attributes: kitchen_sink_attributes(),
        start_time_unix_nano: HOUR,
        time_unix_nano: HOUR + 10,
        exemplars: vec![Exemplar {
            filtered_attributes: kitchen_sink_attributes(),
            time_unix_nano: HOUR + 3,
            span_id: vec![1; 8],
            trace_id: vec![2; 16],
            value: Some(exemplar::Value::AsDouble(f64::NAN)),
        }],
        flags: 1,
        value,
    };
    let metric = |name: &str, data| Metric {
        name: name.into(),
        description: "description".into(),
        unit: "ms".into(),
        metadata: kitchen_sink_attributes(),
        data: Some(data),
    };
    let metrics = vec![
        metric("gauge", Data::Gauge(Gauge { data_points: vec![number(Some(number_data_point::Value::AsInt(-7)))] })),
        metric(
            "sum",
            Data::Sum(Sum { data_points: vec![number(None)], aggregation_temporality: 1, is_monotonic: true }),
        ),
        metric(
            "histogram",
            Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    attributes: kitchen_sink_attributes(),
                    start_time_unix_nano: HOUR,
                    time_unix_nano: HOUR + 10,
                    count: 3,
                    sum: None,
                    bucket_counts: vec![1, 2],
                    explicit_bounds: vec![0.5],
                    exemplars: Vec::new(),
                    flags: 0,
                    min: Some(-0.0),
                    max: None,
                }],
                aggregation_temporality: 2,
            }),
        ),
        metric(
            "exponential",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    attributes: kitchen_sink_attributes(),
                    start_time_unix_nano: HOUR,
                    time_unix_nano: HOUR + 10,
                    count: 9,
                    sum: Some(1.5),
                    scale: -3,
                    zero_count: 2,
                    positive: Some(Buckets { offset: -2, bucket_counts: vec![] }),
                    negative: None,
                    flags: 0,
                    exemplars: Vec::new(),
                    min: None,
                    max: Some(f64::INFINITY),
                    zero_threshold: 1e-9,
                }],
                aggregation_temporality: 1,
            }),
        ),
        metric(
            "summary",
            Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    attributes: kitchen_sink_attributes(),
                    start_time_unix_nano: HOUR,
                    time_unix_nano: HOUR + 10,
                    count: 4,
                    sum: 10.0,
                    quantile_values: vec![ValueAtQuantile { quantile: 0.5, value: 2.0 }],
                    flags: 0,
                }],
            }),
        ),
    ];
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(kitchen_sink_resource()),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(kitchen_sink_scope()),
                metrics,
                schema_url: "scope schema".into(),
            }],
            schema_url: "resource schema".into(),
        }],
    };
    for format in FORMATS {
        let back = roundtrip_metrics(&request, format);
        // Metrics come back in table order (gauge, sum, histogram, exponential, summary), which
        // is the order above.
        assert_eq!(back.encode_to_vec(), request.encode_to_vec(), "{format:?}: {back:#?}");
    }
}

#[test]
fn unknown_span_kind_and_status_code_round_trip() {
    let mut span = simple_span("unknown enums", HOUR, HOUR + 1);
    span.kind = 42;
    span.status = Some(Status { message: "future".into(), code: 7 });
    let mut negative = simple_span("negative enums", HOUR, HOUR + 1);
    negative.kind = -1;
    negative.status = Some(Status { message: String::new(), code: i32::MIN });
    let request = traces_of(vec![span, negative]);
    for format in FORMATS {
        let back = roundtrip_traces(&request, format);
        let spans = &back.resource_spans[0].scope_spans[0].spans;
        assert_eq!((spans[0].kind, spans[0].status.as_ref().map(|s| s.code)), (42, Some(7)), "{format:?}");
        assert_eq!((spans[1].kind, spans[1].status.as_ref().map(|s| s.code)), (-1, Some(i32::MIN)), "{format:?}");
        check_traces(&request, format).unwrap();
    }
}

#[test]
fn end_before_start_round_trips() {
    let request = traces_of(vec![
        simple_span("end before start", HOUR + 100, HOUR),
        simple_span("end zero", HOUR, 0),
        simple_span("after 2262", u64::MAX - 5, u64::MAX),
        simple_span("across i64::MAX", i64::MAX as u64 - 1, i64::MAX as u64 + 1),
    ]);
    for format in FORMATS {
        let back = roundtrip_traces(&request, format);
        let mut times: Vec<_> = back.resource_spans[0].scope_spans[0]
            .spans
            .iter()
            .map(|s| (s.name.as_str(), s.start_time_unix_nano, s.end_time_unix_nano))
            .collect();
        times.sort();
        assert_eq!(
            times,
            vec![
                ("across i64::MAX", i64::MAX as u64 - 1, i64::MAX as u64 + 1),
                ("after 2262", u64::MAX - 5, u64::MAX),
                ("end before start", HOUR + 100, HOUR),
                ("end zero", HOUR, 0),
            ],
            "{format:?}"
        );
        check_traces(&request, format).unwrap();
    }
}

/// Nested `depth` times in an array, around an int.
fn nested_array(depth: usize) -> AnyValue {
    use any_value::Value;
    let mut v = AnyValue { value: Some(Value::IntValue(1)) };
    for _ in 0..depth {
        v = AnyValue { value: Some(Value::ArrayValue(ArrayValue { values: vec![v] })) };
    }
    v
}

/// An attribute holding arrays nested 30 deep (within the store's nesting limit of 32 values,
/// `MAX_VALUE_DEPTH`) is stored from the wire and read back.
#[test]
fn deeply_nested_array_attribute_round_trips() {
    let mut span = simple_span("deep", HOUR, HOUR + 1);
    span.attributes = vec![KeyValue { key: "deep".into(), value: Some(nested_array(30)), ..Default::default() }];
    let request = traces_of(vec![span]);
    let wire = request.encode_to_vec();
    for format in FORMATS {
        let dir = tempfile::tempdir().expect("tempdir");
        let library =
            OtlpLibrary::new(Config::builder().output_dir(dir.path()).format(format).build().expect("config"))
                .expect("library");
        // Accepted from the wire: within prost's decoding recursion limit.
        assert_eq!(library.export_otlp_traces_bytes(&wire).expect("decodes and stores"), 1);
        library.shutdown().expect("shutdown");
        let back = StoreReader::new(dir.path()).read_traces().map_err(|e| e.to_string());
        let back = back.unwrap_or_else(|e| panic!("{format:?}: the store cannot be read back: {:.300}", e));
        same_items(&flatten_traces(&request), &flatten_traces(&back)).expect("identical after normalization");
    }
}

/// Stores written by schema version 1 (0.1.0 before the version key, kept in
/// `tests/fixtures/schema-v1`) read back into the requests that were exported, in both formats.
#[test]
fn version_1_stores_read_back_as_written() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        // This crate's directory, also from crates/sdk-0-32-tests, which runs this file too.
        .join("../opentelemetry-parquet/tests/fixtures/schema-v1");
    for format in ["parquet", "arrow_ipc"] {
        let dir = fixtures.join("traces").join(format);
        let request = ExportTraceServiceRequest::decode(&*std::fs::read(dir.join("request.pb")).unwrap()).unwrap();
        let back = StoreReader::new(dir.join("store")).read_traces().expect("read version 1 traces");
        assert!(!request.resource_spans.is_empty());
        same_items(&flatten_traces(&request), &flatten_traces(&back)).unwrap();

        let dir = fixtures.join("metrics").join(format);
        let request = ExportMetricsServiceRequest::decode(&*std::fs::read(dir.join("request.pb")).unwrap()).unwrap();
        let back = StoreReader::new(dir.join("store")).read_metrics().expect("read version 1 metrics");
        assert_eq!(flatten_metrics(&request).len(), 5, "one point of each metric kind");
        same_items(&flatten_metrics(&request), &flatten_metrics(&back)).unwrap();
    }
}

/// Every file records the schema version in its key-value metadata (Parquet footer, Arrow IPC
/// schema); a file claiming a newer version than this crate's is refused with a reason.
#[test]
fn every_file_records_its_schema_version_and_newer_versions_are_refused() {
    use opentelemetry_parquet::{OtlpError, SCHEMA_VERSION, SCHEMA_VERSION_KEY};
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::KeyValue as ParquetKv;
    use parquet::file::properties::WriterProperties;
    use parquet::file::reader::{FileReader as _, SerializedFileReader};

    let request = traces_of(vec![simple_span("versioned", HOUR + 1, HOUR + 2)]);
    for format in FORMATS {
        let dir = tempfile::tempdir().unwrap();
        let library =
            OtlpLibrary::new(Config::builder().output_dir(dir.path()).format(format).build().unwrap()).unwrap();
        library.export_otlp_traces(&request).unwrap();
        library.shutdown().unwrap();
        let files = StoreReader::new(dir.path()).files(opentelemetry_parquet::Table::Traces).unwrap();
        assert_eq!(files.len(), 1);
        let recorded = match format {
            StorageFormat::Parquet => {
                let reader = SerializedFileReader::new(std::fs::File::open(&files[0]).unwrap()).unwrap();
                let kvs = reader.metadata().file_metadata().key_value_metadata().cloned().unwrap_or_default();
                kvs.into_iter().find(|kv| kv.key == SCHEMA_VERSION_KEY).and_then(|kv| kv.value)
            }
            _ => {
                let reader =
                    arrow_ipc::reader::FileReader::try_new(std::fs::File::open(&files[0]).unwrap(), None).unwrap();
                reader.schema().metadata().get(SCHEMA_VERSION_KEY).cloned()
            }
        };
        assert_eq!(recorded, Some(SCHEMA_VERSION.to_string()), "{format:?}");
    }

    // The same rows in a Parquet file claiming a version from the future.
    let dir = tempfile::tempdir().unwrap();
    let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build().unwrap()).unwrap();
    library.export_otlp_traces(&request).unwrap();
    library.shutdown().unwrap();
    let path = StoreReader::new(dir.path()).files(opentelemetry_parquet::Table::Traces).unwrap().remove(0);
    let batches = opentelemetry_parquet::read_file(&path).unwrap();
    let future = (SCHEMA_VERSION + 1).to_string();
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![ParquetKv::new(SCHEMA_VERSION_KEY.to_owned(), future.clone())]))
        .build();
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batches[0].schema(), Some(props)).unwrap();
    writer.write(&batches[0]).unwrap();
    writer.close().unwrap();
    let err = StoreReader::new(dir.path()).read_traces().unwrap_err();
    assert!(matches!(err, OtlpError::InvalidStoreFile { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("schema version {future}")), "{err}");
}

/// `export_otlp_traces_owned` (the request kept as it is and turned into columns by the writer)
/// stores the same rows as `export_otlp_traces` (appended at once), and so does the bytes path.
#[test]
fn an_owned_request_stores_the_rows_of_a_borrowed_one() {
    let mut request = kitchen_sink_traces();
    let mut more =
        traces_of(vec![simple_span("second", HOUR + 10, HOUR + 20), simple_span("third", HOUR + 30, HOUR + 5)]);
    request.resource_spans.append(&mut more.resource_spans);
    let store = |export: &dyn Fn(&OtlpLibrary) -> usize| {
        let dir = tempfile::tempdir().unwrap();
        let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build().unwrap()).unwrap();
        assert_eq!(export(&library), 3);
        library.shutdown().unwrap();
        let batches = StoreReader::new(dir.path()).read_batches(opentelemetry_parquet::Table::Traces).unwrap();
        (batches, StoreReader::new(dir.path()).read_traces().unwrap())
    };
    let (by_ref, read_by_ref) = store(&|l| l.export_otlp_traces(&request).unwrap());
    let (owned, read_owned) = store(&|l| l.export_otlp_traces_owned(request.clone()).unwrap());
    let (bytes, _) = store(&|l| l.export_otlp_traces_bytes(&request.encode_to_vec()).unwrap());
    assert_eq!(by_ref, owned);
    assert_eq!(by_ref, bytes);
    same_items(&flatten_traces(&request), &flatten_traces(&read_owned)).unwrap();
    same_items(&flatten_traces(&read_by_ref), &flatten_traces(&read_owned)).unwrap();
}
