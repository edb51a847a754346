//! Seeds and structure-aware mutations of OTLP requests for the mutation test
//! (`faults_mutation.rs`): valid trace, metric and log requests from a seeded PRNG, and
//! mutations that make them hostile (deep nesting, huge counts and repeated fields, duplicate
//! keys, extreme times and odd ID lengths).
#![allow(clippy::needless_update)]

use opentelemetry_parquet::proto::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{
    any_value, AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_parquet::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_parquet::proto::metrics::v1::{
    exemplar, exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint,
};
use opentelemetry_parquet::proto::resource::v1::Resource;
use opentelemetry_parquet::proto::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};

use crate::common::Rng;

pub const HOUR: u64 = 1_699_999_200_000_000_000;

/// A length below `usual`, or (one time in `one_in`) below `rare`.
pub fn size(rng: &mut Rng, usual: u64, rare: u64, one_in: u64) -> u64 {
    let max = if rng.one_in(one_in) { rare } else { usual };
    rng.below(max)
}

pub fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

pub fn attributes(rng: &mut Rng) -> Vec<KeyValue> {
    use any_value::Value;
    let mut out = vec![
        kv("s", Value::StringValue("ünï \"q\"".into())),
        kv("i", Value::IntValue(rng.next_u64() as i64)),
        kv("d", Value::DoubleValue(f64::from_bits(rng.next_u64()))),
        kv("b", Value::BoolValue(rng.one_in(2))),
        kv("y", Value::BytesValue(vec![0, 1, 255])),
        kv(
            "a",
            Value::ArrayValue(ArrayValue {
                values: vec![AnyValue { value: Some(Value::IntValue(1)) }, AnyValue { value: None }],
            }),
        ),
        kv("k", Value::KvlistValue(KeyValueList { values: vec![kv("x", Value::StringValue("y".into()))] })),
    ];
    out.truncate(1 + rng.below(7) as usize);
    out
}

pub fn trace_seed(rng: &mut Rng) -> ExportTraceServiceRequest {
    let span = |rng: &mut Rng, i: u64| Span {
        trace_id: (0..16).map(|_| rng.next_u64() as u8).collect(),
        span_id: (0..8).map(|_| rng.next_u64() as u8).collect(),
        trace_state: "k=v".into(),
        parent_span_id: if rng.one_in(2) { vec![7; 8] } else { Vec::new() },
        flags: 0x301,
        name: format!("span {i}"),
        kind: (i % 6) as i32,
        start_time_unix_nano: HOUR + rng.below(3_600_000_000_000),
        end_time_unix_nano: HOUR + rng.below(3_600_000_000_000),
        attributes: attributes(rng),
        dropped_attributes_count: 1,
        events: vec![span::Event {
            time_unix_nano: HOUR + 5,
            name: "event".into(),
            attributes: attributes(rng),
            dropped_attributes_count: 2,
        }],
        dropped_events_count: 3,
        links: vec![span::Link {
            trace_id: vec![3; 16],
            span_id: vec![4; 8],
            trace_state: String::new(),
            attributes: attributes(rng),
            dropped_attributes_count: 0,
            flags: 0x100,
        }],
        dropped_links_count: 4,
        status: Some(Status { message: "fine".into(), code: (i % 3) as i32 }),
    };
    let spans = (0..1 + rng.below(3)).map(|i| span(rng, i)).collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: attributes(rng),
                dropped_attributes_count: 0,
                entity_refs: vec![EntityRef {
                    schema_url: "u".into(),
                    r#type: "service".into(),
                    id_keys: vec!["service.name".into()],
                    description_keys: Vec::new(),
                }],
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "scope".into(),
                    version: "1".into(),
                    attributes: attributes(rng),
                    dropped_attributes_count: 0,
                }),
                spans,
                schema_url: "https://opentelemetry.io/schemas/1.30.0".into(),
            }],
            schema_url: String::new(),
        }],
    }
}

pub fn metrics_seed(rng: &mut Rng) -> ExportMetricsServiceRequest {
    let exemplars = |rng: &mut Rng| {
        vec![Exemplar {
            filtered_attributes: attributes(rng),
            time_unix_nano: HOUR + 3,
            span_id: vec![1; 8],
            trace_id: vec![2; 16],
            value: Some(if rng.one_in(2) { exemplar::Value::AsDouble(1.5) } else { exemplar::Value::AsInt(-3) }),
        }]
    };
    let number = |rng: &mut Rng| NumberDataPoint {
        attributes: attributes(rng),
        start_time_unix_nano: HOUR,
        time_unix_nano: HOUR + rng.below(1 << 40),
        exemplars: exemplars(rng),
        flags: 0,
        value: Some(if rng.one_in(2) {
            number_data_point::Value::AsInt(rng.next_u64() as i64)
        } else {
            number_data_point::Value::AsDouble(f64::from_bits(rng.next_u64()))
        }),
    };
    let data = match rng.below(5) {
        0 => Data::Gauge(Gauge { data_points: vec![number(rng), number(rng)] }),
        1 => Data::Sum(Sum { data_points: vec![number(rng)], aggregation_temporality: 2, is_monotonic: true }),
        2 => Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                attributes: attributes(rng),
                start_time_unix_nano: HOUR,
                time_unix_nano: HOUR + 10,
                count: 6,
                sum: Some(12.5),
                bucket_counts: vec![1, 2, 3],
                explicit_bounds: vec![0.0, 10.0],
                exemplars: exemplars(rng),
                flags: 0,
                min: Some(-1.0),
                max: None,
            }],
            aggregation_temporality: 1,
        }),
        3 => Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint {
                attributes: attributes(rng),
                start_time_unix_nano: HOUR,
                time_unix_nano: HOUR + 10,
                count: 7,
                sum: None,
                scale: -3,
                zero_count: 1,
                positive: Some(Buckets { offset: -2, bucket_counts: vec![1, 2] }),
                negative: if rng.one_in(2) { Some(Buckets { offset: 5, bucket_counts: vec![3] }) } else { None },
                flags: 1,
                exemplars: exemplars(rng),
                min: Some(0.5),
                max: Some(9.0),
                zero_threshold: 1e-9,
            }],
            aggregation_temporality: 2,
        }),
        _ => Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                attributes: attributes(rng),
                start_time_unix_nano: HOUR,
                time_unix_nano: HOUR + 10,
                count: 3,
                sum: 6.0,
                quantile_values: vec![
                    ValueAtQuantile { quantile: 0.0, value: 1.0 },
                    ValueAtQuantile { quantile: 1.0, value: 3.0 },
                ],
                flags: 0,
            }],
        }),
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource { attributes: attributes(rng), ..Resource::default() }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope { name: "meter".into(), ..InstrumentationScope::default() }),
                metrics: vec![Metric {
                    name: "m".into(),
                    description: "d".into(),
                    unit: "ms".into(),
                    metadata: attributes(rng),
                    data: Some(data),
                }],
                schema_url: String::new(),
            }],
            schema_url: "s".into(),
        }],
    }
}

/// An `AnyValue` nested `depth` arrays (or key-value lists) deep.
pub fn nested(depth: usize, kvlist: bool) -> AnyValue {
    let mut v = AnyValue { value: Some(any_value::Value::IntValue(1)) };
    for _ in 0..depth {
        v = AnyValue {
            value: Some(if kvlist {
                any_value::Value::KvlistValue(KeyValueList {
                    values: vec![KeyValue { key: "n".into(), value: Some(v), ..Default::default() }],
                })
            } else {
                any_value::Value::ArrayValue(ArrayValue { values: vec![v] })
            }),
        };
    }
    v
}

/// A hostile attribute list: duplicate keys, deep nesting, or many entries.
pub fn hostile_attributes(rng: &mut Rng) -> Vec<KeyValue> {
    use any_value::Value;
    match rng.below(4) {
        0 => vec![
            kv("code", Value::IntValue(200)),
            kv("code", Value::IntValue(500)),
            kv("code", Value::StringValue("x".into())),
        ],
        1 => {
            let depth = [1, 16, 31, 32, 33, 40, 64, 90][rng.below(8) as usize];
            vec![KeyValue { key: "deep".into(), value: Some(nested(depth, rng.one_in(2))), ..Default::default() }]
        }
        2 => {
            (0..1 + size(rng, 40, 1_000, 20)).map(|i| kv(&format!("k{}", i % 300), Value::IntValue(i as i64))).collect()
        }
        _ => vec![kv("big", Value::StringValue("x".repeat(size(rng, 2_000, 100_000, 20) as usize)))],
    }
}

pub fn id(rng: &mut Rng) -> Vec<u8> {
    match rng.below(4) {
        0 => Vec::new(),
        1 => vec![0; [8, 16][rng.below(2) as usize]],
        2 => vec![0xab; rng.below(64) as usize],
        _ => (0..16).map(|_| rng.next_u64() as u8).collect(),
    }
}

pub fn time(rng: &mut Rng) -> u64 {
    [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX, rng.next_u64(), HOUR + rng.below(1 << 50)]
        [rng.below(7) as usize]
}

/// A structure-aware mutation of a traces seed.
pub fn mutate_traces(rng: &mut Rng, mut request: ExportTraceServiceRequest) -> ExportTraceServiceRequest {
    let rs = &mut request.resource_spans[0];
    match rng.below(6) {
        0 => rs.resource.get_or_insert_with(Resource::default).attributes = hostile_attributes(rng),
        1 => {
            let n = 1 + size(rng, 5, 100, 10) as usize;
            let span = rs.scope_spans[0].spans[0].clone();
            rs.scope_spans[0].spans = vec![span; n];
        }
        2 => {
            let n = 1 + size(rng, 3, 40, 10) as usize;
            let ss = rs.scope_spans[0].clone();
            rs.scope_spans = vec![ss; n];
        }
        _ => {}
    }
    for span in rs.scope_spans.iter_mut().flat_map(|ss| &mut ss.spans) {
        match rng.below(8) {
            0 => span.attributes = hostile_attributes(rng),
            1 => span.events[0].attributes = hostile_attributes(rng),
            2 => (span.trace_id, span.span_id, span.parent_span_id) = (id(rng), id(rng), id(rng)),
            3 => (span.start_time_unix_nano, span.end_time_unix_nano) = (time(rng), time(rng)),
            4 => {
                span.dropped_attributes_count = u32::MAX;
                span.dropped_events_count = u32::MAX;
                span.kind = i32::MIN;
                span.flags = u32::MAX;
            }
            5 => span.events = vec![span.events[0].clone(); size(rng, 5, 100, 10) as usize],
            6 => span.links[0].attributes = hostile_attributes(rng),
            _ => {}
        }
    }
    request
}

/// A structure-aware mutation of a metrics seed.
pub fn mutate_metrics(rng: &mut Rng, mut request: ExportMetricsServiceRequest) -> ExportMetricsServiceRequest {
    let rm = &mut request.resource_metrics[0];
    if rng.one_in(4) {
        rm.resource.get_or_insert_with(Resource::default).attributes = hostile_attributes(rng);
    }
    let metric = &mut rm.scope_metrics[0].metrics[0];
    if rng.one_in(4) {
        metric.metadata = hostile_attributes(rng);
    }
    let huge = rng.one_in(8);
    match metric.data.as_mut() {
        Some(Data::Gauge(Gauge { data_points })) | Some(Data::Sum(Sum { data_points, .. })) => {
            for p in data_points.iter_mut() {
                match rng.below(4) {
                    0 => p.attributes = hostile_attributes(rng),
                    1 => p.exemplars[0].filtered_attributes = hostile_attributes(rng),
                    2 => (p.time_unix_nano, p.start_time_unix_nano) = (time(rng), time(rng)),
                    _ => (p.exemplars[0].span_id, p.exemplars[0].trace_id) = (id(rng), id(rng)),
                }
            }
            if huge {
                let p = data_points[0].clone();
                *data_points = vec![p; 1 + size(rng, 20, 1_000, 10) as usize];
            }
        }
        Some(Data::Histogram(h)) => {
            let p = &mut h.data_points[0];
            p.attributes = hostile_attributes(rng);
            if huge {
                p.count = u64::MAX;
                p.bucket_counts = vec![u64::MAX; rng.below(5_000) as usize];
                p.explicit_bounds = (0..rng.below(5_000)).map(|i| i as f64).collect();
            }
            h.aggregation_temporality = rng.next_u64() as i32;
        }
        Some(Data::ExponentialHistogram(h)) => {
            let p = &mut h.data_points[0];
            p.attributes = hostile_attributes(rng);
            if huge {
                p.scale = i32::MIN;
                p.zero_count = u64::MAX;
                p.positive =
                    Some(Buckets { offset: i32::MAX, bucket_counts: vec![u64::MAX; rng.below(5_000) as usize] });
            }
        }
        Some(Data::Summary(s)) => {
            let p = &mut s.data_points[0];
            p.attributes = hostile_attributes(rng);
            if huge {
                p.quantile_values =
                    vec![ValueAtQuantile { quantile: f64::NAN, value: -0.0 }; rng.below(5_000) as usize];
            }
        }
        None => {}
    }
    request
}

pub fn logs_seed(rng: &mut Rng) -> ExportLogsServiceRequest {
    use any_value::Value;
    let record = |rng: &mut Rng, i: u64| LogRecord {
        time_unix_nano: if rng.one_in(4) { 0 } else { HOUR + rng.below(3_600_000_000_000) },
        observed_time_unix_nano: HOUR + rng.below(3_600_000_000_000),
        severity_number: (i % 25) as i32,
        severity_text: "WARN".into(),
        body: Some(match rng.below(4) {
            0 => AnyValue { value: Some(Value::StringValue(format!("record {i} ünï \"q\""))) },
            1 => AnyValue { value: Some(Value::KvlistValue(KeyValueList { values: attributes(rng) })) },
            2 => AnyValue { value: Some(Value::BytesValue(vec![0, 159, 255])) },
            _ => AnyValue { value: Some(Value::IntValue(rng.next_u64() as i64)) },
        }),
        attributes: attributes(rng),
        dropped_attributes_count: 1,
        flags: 1,
        trace_id: (0..16).map(|_| rng.next_u64() as u8).collect(),
        span_id: (0..8).map(|_| rng.next_u64() as u8).collect(),
        event_name: if rng.one_in(2) { "checkout.failed".into() } else { String::new() },
    };
    let log_records = (0..1 + rng.below(3)).map(|i| record(rng, i)).collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: attributes(rng), ..Resource::default() }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope { name: "logger".into(), ..InstrumentationScope::default() }),
                log_records,
                schema_url: String::new(),
            }],
            schema_url: "s".into(),
        }],
    }
}

/// A structure-aware mutation of a logs seed.
pub fn mutate_logs(rng: &mut Rng, mut request: ExportLogsServiceRequest) -> ExportLogsServiceRequest {
    let rl = &mut request.resource_logs[0];
    match rng.below(5) {
        0 => rl.resource.get_or_insert_with(Resource::default).attributes = hostile_attributes(rng),
        1 => {
            let record = rl.scope_logs[0].log_records[0].clone();
            rl.scope_logs[0].log_records = vec![record; 1 + size(rng, 5, 1_000, 10) as usize];
        }
        _ => {}
    }
    for record in rl.scope_logs.iter_mut().flat_map(|sl| &mut sl.log_records) {
        match rng.below(7) {
            0 => record.attributes = hostile_attributes(rng),
            1 => {
                let depth = [1, 16, 32, 33, 64][rng.below(5) as usize];
                record.body = Some(nested(depth, rng.one_in(2)));
            }
            2 => (record.trace_id, record.span_id) = (id(rng), id(rng)),
            3 => (record.time_unix_nano, record.observed_time_unix_nano) = (time(rng), time(rng)),
            4 => {
                record.severity_number = [i32::MIN, -1, 25, 255, 256, i32::MAX][rng.below(6) as usize];
                record.flags = u32::MAX;
                record.dropped_attributes_count = u32::MAX;
            }
            5 => {
                record.body = Some(AnyValue {
                    value: Some(any_value::Value::StringValue("x".repeat(size(rng, 2_000, 100_000, 20) as usize))),
                })
            }
            _ => {}
        }
    }
    request
}
