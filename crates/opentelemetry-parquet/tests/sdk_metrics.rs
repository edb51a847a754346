//! End-to-end tests of the metric exporter behind a real `SdkMeterProvider` and
//! `PeriodicReader`: every synchronous and observable instrument kind, explicit and exponential
//! histograms, cumulative and delta temporality. Values are read back from the Parquet files and
//! compared with the recorded measurements and with `opentelemetry-proto`'s own SDK-to-OTLP
//! conversion of the same collection.

mod common;
use common::{as_stored, attrs_at, block_on, Attr};

use std::path::Path;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampNanosecondType, UInt64Type};
use arrow_array::{Array, RecordBatch};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::common::v1::KeyValue as KeyValueProto;
use opentelemetry_parquet::proto::metrics::v1::{metric::Data, Metric};
use opentelemetry_parquet::{Config, OtlpLibrary, StoreReader, Table};
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter as _;
use opentelemetry_sdk::metrics::{
    Aggregation, InMemoryMetricExporter, Instrument, PeriodicReader, SdkMeterProvider, Stream, Temporality,
};
use opentelemetry_sdk::Resource;

// ---------------------------------------------------------------------------------------------
// Helpers

fn new_library(dir: &Path) -> OtlpLibrary {
    OtlpLibrary::new(Config::builder().output_dir(dir).build().expect("config")).expect("library")
}

/// A periodic reader that only exports when flushed or shut down.
fn reader<E: opentelemetry_sdk::metrics::exporter::PushMetricExporter>(exporter: E) -> PeriodicReader<E> {
    PeriodicReader::builder(exporter).with_interval(Duration::from_secs(3600)).build()
}

fn attr(key: &str, rendered: &str, ty: &str) -> Attr {
    (key.to_owned(), rendered.to_owned(), ty.to_owned())
}

/// One row of a metric table; columns the table does not have are `None` / empty.
#[derive(Debug, Clone, Default)]
struct MetricRow {
    name: String,
    description: String,
    unit: String,
    attributes: Vec<Attr>,
    start: i64,
    time: i64,
    value: Option<f64>,
    int_value: Option<i64>,
    temporality: Option<i32>,
    monotonic: Option<bool>,
    count: Option<u64>,
    sum: Option<f64>,
    bucket_counts: Vec<u64>,
    bounds: Vec<f64>,
    min: Option<f64>,
    max: Option<f64>,
    scale: Option<i32>,
    zero_count: Option<u64>,
    positive_offset: Option<i32>,
    positive_counts: Vec<u64>,
    negative_counts: Vec<u64>,
    service_name: String,
    resource_attributes: Vec<Attr>,
    scope_name: String,
    scope_version: String,
}

fn opt_f64(b: &RecordBatch, name: &str, row: usize) -> Option<f64> {
    let a = b.column_by_name(name)?.as_primitive::<Float64Type>();
    a.is_valid(row).then(|| a.value(row))
}

fn u64_list(b: &RecordBatch, name: &str, row: usize) -> Vec<u64> {
    b.column_by_name(name)
        .map(|c| c.as_list::<i32>().value(row).as_primitive::<UInt64Type>().values().to_vec())
        .unwrap_or_default()
}

fn read_metric_rows(dir: &Path, table: Table) -> Vec<MetricRow> {
    let mut rows = Vec::new();
    for b in StoreReader::new(dir).read_batches(table).expect("read batches") {
        let col = |name: &str| b.column_by_name(name).unwrap_or_else(|| panic!("missing column {name}"));
        let s = |name: &str, row: usize| col(name).as_string::<i32>().value(row).to_owned();
        for row in 0..b.num_rows() {
            rows.push(MetricRow {
                name: s("MetricName", row),
                description: s("MetricDescription", row),
                unit: s("MetricUnit", row),
                attributes: attrs_at(col("Attributes"), col("AttributesTypes"), row),
                start: col("StartTimeUnix").as_primitive::<TimestampNanosecondType>().value(row),
                time: col("TimeUnix").as_primitive::<TimestampNanosecondType>().value(row),
                value: opt_f64(&b, "Value", row),
                int_value: b.column_by_name("IntValue").and_then(|c| {
                    let a = c.as_primitive::<Int64Type>();
                    a.is_valid(row).then(|| a.value(row))
                }),
                temporality: b
                    .column_by_name("AggregationTemporality")
                    .map(|c| c.as_primitive::<Int32Type>().value(row)),
                monotonic: b.column_by_name("IsMonotonic").map(|c| c.as_boolean().value(row)),
                count: b.column_by_name("Count").map(|c| c.as_primitive::<UInt64Type>().value(row)),
                sum: opt_f64(&b, "Sum", row),
                bucket_counts: u64_list(&b, "BucketCounts", row),
                bounds: b
                    .column_by_name("ExplicitBounds")
                    .map(|c| c.as_list::<i32>().value(row).as_primitive::<Float64Type>().values().to_vec())
                    .unwrap_or_default(),
                min: opt_f64(&b, "Min", row),
                max: opt_f64(&b, "Max", row),
                scale: b.column_by_name("Scale").map(|c| c.as_primitive::<Int32Type>().value(row)),
                zero_count: b.column_by_name("ZeroCount").map(|c| c.as_primitive::<UInt64Type>().value(row)),
                positive_offset: b.column_by_name("PositiveOffset").and_then(|c| {
                    let a = c.as_primitive::<Int32Type>();
                    a.is_valid(row).then(|| a.value(row))
                }),
                positive_counts: u64_list(&b, "PositiveBucketCounts", row),
                negative_counts: u64_list(&b, "NegativeBucketCounts", row),
                service_name: s("ServiceName", row),
                resource_attributes: attrs_at(col("ResourceAttributes"), col("ResourceAttributesTypes"), row),
                scope_name: s("ScopeName", row),
                scope_version: s("ScopeVersion", row),
            });
        }
    }
    rows
}

fn sorted(attributes: &[Attr]) -> Vec<Attr> {
    let mut out = attributes.to_vec();
    out.sort();
    out
}

/// The single row of `name` whose attributes are `attributes`, in any order (the SDK's order of
/// a data point's attributes depends on its hash map).
fn point<'a>(rows: &'a [MetricRow], name: &str, attributes: &[Attr]) -> &'a MetricRow {
    let attributes = sorted(attributes);
    let found: Vec<_> = rows.iter().filter(|r| r.name == name && sorted(&r.attributes) == attributes).collect();
    assert_eq!(found.len(), 1, "expected one point of {name} {attributes:?}, got {found:#?}");
    found[0]
}

fn int_point(rows: &[MetricRow], name: &str, attributes: &[Attr]) -> i64 {
    let p = point(rows, name, attributes);
    let i = p.int_value.unwrap_or_else(|| panic!("{name}: IntValue is null"));
    assert_eq!(p.value, Some(i as f64), "{name}: Value is IntValue as a double");
    i
}

fn float_point(rows: &[MetricRow], name: &str, attributes: &[Attr]) -> f64 {
    let p = point(rows, name, attributes);
    assert_eq!(p.int_value, None, "{name}: IntValue is null for a float instrument");
    p.value.unwrap_or_else(|| panic!("{name}: Value is null"))
}

/// A request with metrics, points, resource attributes and point attributes sorted (and, with
/// `zero_times`, timestamps zeroed), so that two collections of the same measurements compare
/// equal.
fn normalize(mut request: ExportMetricsServiceRequest, zero_times: bool) -> ExportMetricsServiceRequest {
    fn points_key<T: std::fmt::Debug>(p: &T) -> String {
        format!("{p:?}")
    }
    fn sort_kvs(kvs: &mut [KeyValueProto]) {
        kvs.sort_by(|a, b| a.key.cmp(&b.key));
    }
    macro_rules! fix_points {
        ($points:expr) => {{
            for p in $points.iter_mut() {
                if zero_times {
                    (p.start_time_unix_nano, p.time_unix_nano) = (0, 0);
                }
                sort_kvs(&mut p.attributes);
            }
            $points.sort_by_key(points_key);
        }};
    }
    for rm in &mut request.resource_metrics {
        if let Some(r) = rm.resource.as_mut() {
            sort_kvs(&mut r.attributes);
        }
        rm.scope_metrics.sort_by(|a, b| format!("{:?}", a.scope).cmp(&format!("{:?}", b.scope)));
        for sm in &mut rm.scope_metrics {
            sm.metrics.sort_by(|a, b| a.name.cmp(&b.name));
            for m in &mut sm.metrics {
                match m.data.as_mut() {
                    Some(Data::Gauge(g)) => fix_points!(g.data_points),
                    Some(Data::Sum(s)) => fix_points!(s.data_points),
                    Some(Data::Histogram(h)) => fix_points!(h.data_points),
                    Some(Data::ExponentialHistogram(h)) => fix_points!(h.data_points),
                    Some(Data::Summary(s)) => fix_points!(s.data_points),
                    None => {}
                }
            }
        }
    }
    request
}

fn all_metrics(request: &ExportMetricsServiceRequest) -> Vec<&Metric> {
    request.resource_metrics.iter().flat_map(|rm| &rm.scope_metrics).flat_map(|sm| &sm.metrics).collect()
}

fn kv(key: &str, value: &'static str) -> KeyValue {
    KeyValue::new(key.to_owned(), value)
}

fn string_attr(key: &str, value: &str) -> Attr {
    attr(key, value, "string")
}

// ---------------------------------------------------------------------------------------------
// Cumulative: every instrument kind

/// Records known measurements on every instrument kind.
fn record_everything(provider: &SdkMeterProvider) {
    let scope = InstrumentationScope::builder("metrics-lib")
        .with_version("0.9.1")
        .with_attributes([KeyValue::new("scope.k", "v")])
        .build();
    let meter = provider.meter_with_scope(scope);

    let requests = meter.u64_counter("requests").with_description("Requests served").with_unit("{request}").build();
    requests.add(5, &[kv("route", "/a")]);
    requests.add(7, &[kv("route", "/a")]);
    requests.add(1, &[kv("route", "/b"), KeyValue::new("ok", true)]);

    let bytes = meter.f64_counter("bytes").with_unit("By").build();
    bytes.add(1.5, &[kv("dir", "in")]);
    bytes.add(2.25, &[kv("dir", "in")]);

    let queue = meter.i64_up_down_counter("queue.depth").build();
    queue.add(10, &[kv("queue", "main")]);
    queue.add(-3, &[kv("queue", "main")]);
    queue.add(-5, &[kv("queue", "dead")]);

    let balance = meter.f64_up_down_counter("balance").build();
    balance.add(2.5, &[]);
    balance.add(-4.0, &[]);

    let latency = meter.u64_histogram("latency").with_unit("ms").with_boundaries(vec![10.0, 100.0, 1000.0]).build();
    for v in [5, 50, 50, 500, 5000] {
        latency.record(v, &[kv("route", "/a")]);
    }

    let size = meter.f64_histogram("size").with_boundaries(vec![0.5, 1.0]).build();
    for v in [0.25, 0.75, 2.0] {
        size.record(v, &[KeyValue::new("shard", 3i64)]);
    }

    let expo = meter.f64_histogram("expo").build();
    for v in [1.0, 2.0, 4.0, 8.0] {
        expo.record(v, &[]);
    }
    let expo_u64 = meter.u64_histogram("expo.u64").build();
    for v in [0, 3] {
        expo_u64.record(v, &[]);
    }

    let gauge_u64 = meter.u64_gauge("gauge.u64").build();
    gauge_u64.record(3, &[]);
    gauge_u64.record(9, &[]);
    meter.i64_gauge("gauge.i64").build().record(-4, &[kv("room", "cellar")]);
    meter.f64_gauge("gauge.f64").build().record(21.5, &[KeyValue::new("ratio", 0.5)]);

    let _ = meter.u64_observable_counter("obs.counter.u64").with_callback(|o| o.observe(100, &[kv("k", "v")])).build();
    let _ = meter.f64_observable_counter("obs.counter.f64").with_callback(|o| o.observe(2.5, &[])).build();
    let _ = meter.i64_observable_up_down_counter("obs.updown.i64").with_callback(|o| o.observe(-3, &[])).build();
    let _ = meter.f64_observable_up_down_counter("obs.updown.f64").with_callback(|o| o.observe(1.25, &[])).build();
    let _ = meter.u64_observable_gauge("obs.gauge.u64").with_callback(|o| o.observe(4, &[])).build();
    let _ = meter.i64_observable_gauge("obs.gauge.i64").with_callback(|o| o.observe(-2, &[])).build();
    let _ = meter.f64_observable_gauge("obs.gauge.f64").with_callback(|o| o.observe(0.5, &[kv("g", "h")])).build();
}

/// The exponential histogram view for the two `expo*` instruments.
fn expo_view(i: &Instrument) -> Option<Stream> {
    if i.name().starts_with("expo") {
        Stream::builder()
            .with_aggregation(Aggregation::Base2ExponentialHistogram {
                max_size: 160,
                max_scale: 20,
                record_min_max: true,
            })
            .build()
            .ok()
    } else {
        None
    }
}

/// Every instrument kind, cumulative: the stored values equal the recorded ones, and the OTLP
/// read-back equals `opentelemetry-proto`'s conversion of the same collection.
#[test]
fn cumulative_instruments_store_exact_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());
    let memory = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(reader(library.metric_exporter()))
        .with_reader(reader(memory.clone()))
        .with_view(expo_view)
        .with_resource(
            Resource::builder()
                .with_service_name("metrics-svc")
                .with_attribute(KeyValue::new("deployment.environment", "test"))
                .build(),
        )
        .build();
    record_everything(&provider);
    // Collects, exports, and flushes the library (the exporter's shutdown), with no flush call.
    provider.shutdown().expect("provider shutdown");
    assert!(!library.is_shutdown());

    let sums = read_metric_rows(dir.path(), Table::MetricsSum);
    let gauges = read_metric_rows(dir.path(), Table::MetricsGauge);
    let histograms = read_metric_rows(dir.path(), Table::MetricsHistogram);
    let expos = read_metric_rows(dir.path(), Table::MetricsExponentialHistogram);
    assert!(read_metric_rows(dir.path(), Table::MetricsSummary).is_empty());
    assert_eq!(sums.len(), 10, "{sums:#?}");
    assert_eq!(gauges.len(), 6, "{gauges:#?}");
    assert_eq!(histograms.len(), 2, "{histograms:#?}");
    assert_eq!(expos.len(), 2, "{expos:#?}");

    for r in sums.iter().chain(&gauges).chain(&histograms).chain(&expos) {
        assert_eq!(r.service_name, "metrics-svc");
        assert!(r.resource_attributes.contains(&string_attr("service.name", "metrics-svc")));
        assert!(r.resource_attributes.contains(&string_attr("deployment.environment", "test")));
        assert_eq!((r.scope_name.as_str(), r.scope_version.as_str()), ("metrics-lib", "0.9.1"));
        assert!(r.start <= r.time, "{r:?}");
        assert!(r.start > 0, "{r:?}");
    }
    for r in sums.iter().chain(&histograms).chain(&expos) {
        assert_eq!(r.temporality, Some(2), "cumulative: {r:?}");
    }

    // Sums.
    let a = [string_attr("route", "/a")];
    assert_eq!(int_point(&sums, "requests", &a), 12);
    let b = [attr("ok", "true", "bool"), string_attr("route", "/b")];
    assert_eq!(int_point(&sums, "requests", &b), 1);
    let requests = point(&sums, "requests", &a);
    assert_eq!((requests.description.as_str(), requests.unit.as_str()), ("Requests served", "{request}"));
    assert_eq!(requests.monotonic, Some(true));
    assert_eq!(float_point(&sums, "bytes", &[string_attr("dir", "in")]), 3.75);
    assert_eq!(point(&sums, "bytes", &[string_attr("dir", "in")]).unit, "By");
    assert_eq!(point(&sums, "bytes", &[string_attr("dir", "in")]).monotonic, Some(true));
    assert_eq!(int_point(&sums, "queue.depth", &[string_attr("queue", "main")]), 7);
    assert_eq!(int_point(&sums, "queue.depth", &[string_attr("queue", "dead")]), -5);
    assert_eq!(point(&sums, "queue.depth", &[string_attr("queue", "dead")]).monotonic, Some(false));
    assert_eq!(float_point(&sums, "balance", &[]), -1.5);
    assert_eq!(point(&sums, "balance", &[]).monotonic, Some(false));
    assert_eq!(int_point(&sums, "obs.counter.u64", &[string_attr("k", "v")]), 100);
    assert_eq!(point(&sums, "obs.counter.u64", &[string_attr("k", "v")]).monotonic, Some(true));
    assert_eq!(float_point(&sums, "obs.counter.f64", &[]), 2.5);
    assert_eq!(point(&sums, "obs.counter.f64", &[]).monotonic, Some(true));
    assert_eq!(int_point(&sums, "obs.updown.i64", &[]), -3);
    assert_eq!(point(&sums, "obs.updown.i64", &[]).monotonic, Some(false));
    assert_eq!(float_point(&sums, "obs.updown.f64", &[]), 1.25);
    assert_eq!(point(&sums, "obs.updown.f64", &[]).monotonic, Some(false));

    // Gauges: the last value.
    assert_eq!(int_point(&gauges, "gauge.u64", &[]), 9);
    assert_eq!(int_point(&gauges, "gauge.i64", &[string_attr("room", "cellar")]), -4);
    assert_eq!(float_point(&gauges, "gauge.f64", &[attr("ratio", "0.5", "double")]), 21.5);
    assert_eq!(int_point(&gauges, "obs.gauge.u64", &[]), 4);
    assert_eq!(int_point(&gauges, "obs.gauge.i64", &[]), -2);
    assert_eq!(float_point(&gauges, "obs.gauge.f64", &[string_attr("g", "h")]), 0.5);
    assert!(gauges.iter().all(|g| g.temporality.is_none() && g.monotonic.is_none()));

    // Explicit-bucket histograms.
    let latency = point(&histograms, "latency", &a);
    assert_eq!(latency.unit, "ms");
    assert_eq!(latency.count, Some(5));
    assert_eq!(latency.sum, Some(5605.0));
    assert_eq!(latency.bounds, [10.0, 100.0, 1000.0]);
    assert_eq!(latency.bucket_counts, [1, 2, 1, 1]);
    assert_eq!((latency.min, latency.max), (Some(5.0), Some(5000.0)));
    let size = point(&histograms, "size", &[attr("shard", "3", "int")]);
    assert_eq!(size.count, Some(3));
    assert_eq!(size.sum, Some(3.0));
    assert_eq!(size.bounds, [0.5, 1.0]);
    assert_eq!(size.bucket_counts, [1, 1, 1]);
    assert_eq!((size.min, size.max), (Some(0.25), Some(2.0)));

    // Exponential histograms. 1, 2, 4 and 8 need 97 buckets at scale 5 (2^k falls in bucket
    // k * 32 - 1), and 193 > 160 at scale 6.
    let expo = point(&expos, "expo", &[]);
    assert_eq!(expo.count, Some(4));
    assert_eq!(expo.sum, Some(15.0));
    assert_eq!((expo.min, expo.max), (Some(1.0), Some(8.0)));
    assert_eq!(expo.scale, Some(5));
    assert_eq!(expo.zero_count, Some(0));
    assert_eq!(expo.positive_offset, Some(-1));
    let mut expected_counts = vec![0u64; 97];
    for i in [0, 32, 64, 96] {
        expected_counts[i] = 1;
    }
    assert_eq!(expo.positive_counts, expected_counts);
    assert!(expo.negative_counts.is_empty());
    let expo_u64 = point(&expos, "expo.u64", &[]);
    assert_eq!(expo_u64.count, Some(2));
    assert_eq!(expo_u64.zero_count, Some(1));
    assert_eq!(expo_u64.sum, Some(3.0));
    assert_eq!((expo_u64.min, expo_u64.max), (Some(0.0), Some(3.0)));
    assert_eq!(expo_u64.positive_counts.iter().sum::<u64>(), 1);

    // The OTLP read-back equals opentelemetry-proto's conversion of the in-memory reader's
    // collection of the same measurements (timestamps aside: each reader collects at its own time).
    let stored = StoreReader::new(dir.path()).read_metrics().expect("read_metrics");
    let collected = memory.get_finished_metrics().expect("in-memory metrics");
    assert_eq!(collected.len(), 1, "one collection, at shutdown");
    let expected = as_stored::<ExportMetricsServiceRequest>(
        &opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest::from(&collected[0]),
    );
    assert_eq!(all_metrics(&stored).len(), 18);
    assert_eq!(normalize(stored, true), normalize(expected, true));
    library.shutdown().expect("library shutdown");
    common::keep_store("sdk_metrics", dir.path());
}

// ---------------------------------------------------------------------------------------------
// Delta and cumulative side by side

/// Two readers on one provider, one delta and one cumulative, both writing into the library:
/// delta points hold each interval's values, cumulative points accumulate.
#[test]
fn delta_points_hold_interval_values_and_cumulative_points_accumulate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());
    let provider = SdkMeterProvider::builder()
        .with_reader(reader(library.metric_exporter().with_temporality(Temporality::Delta)))
        .with_reader(reader(library.metric_exporter()))
        .with_resource(Resource::builder_empty().with_service_name("delta-svc").build())
        .build();
    let meter = provider.meter("delta-test");
    let counter = meter.u64_counter("ops").build();
    let fcounter = meter.f64_counter("work").build();
    let updown = meter.i64_up_down_counter("inflight").build();
    let histogram = meter.f64_histogram("duration").with_boundaries(vec![1.0, 10.0]).build();
    let attrs = [kv("op", "read")];

    // Interval 1.
    counter.add(5, &attrs);
    fcounter.add(0.5, &[]);
    updown.add(4, &[]);
    histogram.record(0.5, &[]);
    histogram.record(2.0, &[]);
    provider.force_flush().expect("flush 1");
    // Interval 2.
    counter.add(3, &attrs);
    fcounter.add(0.25, &[]);
    updown.add(-1, &[]);
    histogram.record(20.0, &[]);
    provider.force_flush().expect("flush 2");
    // Interval 3, exported by the shutdown.
    counter.add(4, &attrs);
    fcounter.add(1.0, &[]);
    updown.add(-2, &[]);
    histogram.record(5.0, &[]);
    histogram.record(6.0, &[]);
    provider.shutdown().expect("provider shutdown");

    let sums = read_metric_rows(dir.path(), Table::MetricsSum);
    let series = |name: &str, temporality: i32| {
        let mut rows: Vec<MetricRow> =
            sums.iter().filter(|r| r.name == name && r.temporality == Some(temporality)).cloned().collect();
        rows.sort_by_key(|r| r.time);
        rows
    };

    let delta = series("ops", 1);
    let cumulative = series("ops", 2);
    assert_eq!(delta.iter().map(|r| r.int_value).collect::<Vec<_>>(), [Some(5), Some(3), Some(4)]);
    assert_eq!(cumulative.iter().map(|r| r.int_value).collect::<Vec<_>>(), [Some(5), Some(8), Some(12)]);
    for r in delta.iter().chain(&cumulative) {
        assert_eq!(r.attributes, [string_attr("op", "read")]);
        assert_eq!(r.monotonic, Some(true));
        assert_eq!(r.service_name, "delta-svc");
        assert_eq!(r.scope_name, "delta-test");
        assert!(r.start <= r.time);
    }
    // Cumulative points share their start; delta intervals move forward.
    assert!(cumulative.iter().all(|r| r.start == cumulative[0].start));
    assert!(delta.windows(2).all(|w| w[1].start == w[0].time), "{delta:#?}");

    let fdelta = series("work", 1);
    let fcumulative = series("work", 2);
    assert_eq!(
        fdelta.iter().map(|r| (r.value, r.int_value)).collect::<Vec<_>>(),
        [(Some(0.5), None), (Some(0.25), None), (Some(1.0), None)]
    );
    assert_eq!(fcumulative.iter().map(|r| r.value).collect::<Vec<_>>(), [Some(0.5), Some(0.75), Some(1.75)]);

    // Up-down counters stay cumulative even for a delta exporter (the SDK's temporality
    // preference), so both readers store the running total.
    assert!(series("inflight", 1).is_empty());
    let inflight = series("inflight", 2);
    assert_eq!(inflight.len(), 6);
    let mut values: Vec<_> = inflight.iter().map(|r| r.int_value.expect("int")).collect();
    values.sort_unstable();
    assert_eq!(values, [1, 1, 3, 3, 4, 4]);
    assert!(inflight.iter().all(|r| r.monotonic == Some(false)));

    let mut histograms = read_metric_rows(dir.path(), Table::MetricsHistogram);
    histograms.sort_by_key(|r| r.time);
    let hdelta: Vec<_> = histograms.iter().filter(|r| r.temporality == Some(1)).collect();
    let hcumulative: Vec<_> = histograms.iter().filter(|r| r.temporality == Some(2)).collect();
    assert_eq!(
        hdelta.iter().map(|r| (r.count, r.sum, r.bucket_counts.clone(), r.min, r.max)).collect::<Vec<_>>(),
        [
            (Some(2), Some(2.5), vec![1, 1, 0], Some(0.5), Some(2.0)),
            (Some(1), Some(20.0), vec![0, 0, 1], Some(20.0), Some(20.0)),
            (Some(2), Some(11.0), vec![0, 2, 0], Some(5.0), Some(6.0)),
        ]
    );
    assert_eq!(
        hcumulative.iter().map(|r| (r.count, r.sum, r.bucket_counts.clone(), r.min, r.max)).collect::<Vec<_>>(),
        [
            (Some(2), Some(2.5), vec![1, 1, 0], Some(0.5), Some(2.0)),
            (Some(3), Some(22.5), vec![1, 1, 1], Some(0.5), Some(20.0)),
            (Some(5), Some(33.5), vec![1, 3, 1], Some(0.5), Some(20.0)),
        ]
    );
    assert!(histograms.iter().all(|r| r.bounds == [1.0, 10.0]));

    // The OTLP read-back keeps delta and cumulative apart: one metric per temporality.
    let request = StoreReader::new(dir.path()).read_metrics().expect("read_metrics");
    let ops: Vec<_> = all_metrics(&request).into_iter().filter(|m| m.name == "ops").collect();
    assert_eq!(ops.len(), 2);
    for m in ops {
        match &m.data {
            Some(Data::Sum(s)) => {
                assert_eq!(s.data_points.len(), 3);
                assert!(s.is_monotonic);
                assert!(s.aggregation_temporality == 1 || s.aggregation_temporality == 2);
            }
            other => panic!("ops is not a sum: {other:?}"),
        }
    }
    library.shutdown().expect("library shutdown");
    common::keep_store("sdk_metrics", dir.path());
}

/// A delta exporter alone: `force_flush` twice with recordings between, then shutdown; a
/// configured delta library gives delta exporters without `with_temporality`.
#[test]
fn delta_library_default_and_flush_sequence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = OtlpLibrary::new(
        Config::builder().output_dir(dir.path()).temporality(Temporality::Delta).build().expect("config"),
    )
    .expect("library");
    let provider = SdkMeterProvider::builder().with_reader(reader(library.metric_exporter())).build();
    let meter = provider.meter("delta-default");
    let counter = meter.u64_counter("hits").build();
    let gauge = meter.i64_gauge("level").build();

    counter.add(2, &[]);
    gauge.record(10, &[]);
    provider.force_flush().expect("flush 1");
    counter.add(40, &[]);
    gauge.record(-10, &[]);
    provider.force_flush().expect("flush 2");
    provider.shutdown().expect("provider shutdown");

    let mut sums = read_metric_rows(dir.path(), Table::MetricsSum);
    sums.sort_by_key(|r| r.time);
    // Nothing was recorded in the third interval: a delta collection has no point for it.
    assert_eq!(
        sums.iter().map(|r| (r.int_value, r.temporality)).collect::<Vec<_>>(),
        [(Some(2), Some(1)), (Some(40), Some(1))]
    );
    let mut gauges = read_metric_rows(dir.path(), Table::MetricsGauge);
    gauges.sort_by_key(|r| r.time);
    assert_eq!(gauges.iter().map(|r| r.int_value).collect::<Vec<_>>(), [Some(10), Some(-10)]);
    // Without `with_resource` the provider uses the SDK's default resource.
    let default_service = Resource::builder()
        .build()
        .get(&opentelemetry::Key::new("service.name"))
        .map(|v| v.to_string())
        .expect("default service.name");
    assert!(gauges.iter().chain(&sums).all(|r| r.service_name == default_service));
    library.shutdown().expect("library shutdown");
    common::keep_store("sdk_metrics", dir.path());
}

/// The SDK's `ResourceMetrics` exported directly through the exporter is stored exactly as
/// `opentelemetry-proto` converts it, timestamps included; after the exporter's shutdown it
/// refuses further exports while the library keeps running.
#[test]
fn direct_export_equals_the_otlp_conversion_exactly() {
    let memory = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(reader(memory.clone()))
        .with_view(expo_view)
        .with_resource(Resource::builder().with_service_name("direct-svc").build())
        .build();
    record_everything(&provider);
    provider.shutdown().expect("provider shutdown");
    let collected = memory.get_finished_metrics().expect("in-memory metrics");
    assert_eq!(collected.len(), 1);

    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());
    let exporter = library.metric_exporter();
    assert_eq!(exporter.temporality(), Temporality::Cumulative);
    block_on(exporter.export(&collected[0])).expect("export");
    exporter.shutdown().expect("exporter shutdown");
    assert!(matches!(block_on(exporter.export(&collected[0])), Err(OTelSdkError::AlreadyShutdown)));
    assert!(!library.is_shutdown());

    let stored = StoreReader::new(dir.path()).read_metrics().expect("read_metrics");
    assert_eq!(
        normalize(stored, false),
        normalize(
            as_stored::<ExportMetricsServiceRequest>(
                &opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest::from(&collected[0])
            ),
            false
        )
    );

    // Another exporter of the same library still works; `export_metrics_ref` stores the same rows.
    block_on(library.metric_exporter().export(&collected[0])).expect("second exporter");
    library.export_metrics_ref(&collected[0]).expect("export_metrics_ref");
    library.shutdown().expect("library shutdown");
    let rows = read_metric_rows(dir.path(), Table::MetricsSum);
    assert_eq!(rows.len(), 30, "three copies of the ten sum points");
    let requests = rows.iter().filter(|r| r.name == "requests" && r.attributes == [string_attr("route", "/a")]);
    assert_eq!(requests.map(|r| r.int_value).collect::<Vec<_>>(), [Some(12); 3]);
}
