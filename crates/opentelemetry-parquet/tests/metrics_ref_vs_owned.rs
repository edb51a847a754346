//! Property test: for arbitrary SDK metrics, [`OtlpLibrary::export_metrics_ref`] and
//! [`OtlpLibrary::export_metrics`] each store the same rows (same values, same order, every
//! table) as an independent path: opentelemetry-proto's own SDK-to-OTLP transform
//! (`opentelemetry_proto::transform::metrics::tonic`, what the OTLP exporter sends) fed to
//! [`OtlpLibrary::export_otlp_metrics`]. `export_metrics` delegates to `export_metrics_ref`, so
//! comparing the two with each other alone could not fail; both are compared with the transform.
//!
//! `ResourceMetrics` has no public constructor, so real ones are produced by an
//! `SdkMeterProvider` (arbitrary resource, scopes, temporality, views and recordings) and collected
//! once through an `InMemoryMetricExporter`; each collected `ResourceMetrics` is exported by
//! reference into library A, by value into library B, and through the transform into library C.

mod common;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::metrics::v1::metric::Data;
use opentelemetry_parquet::{Config, OtlpLibrary, StorageFormat, StoreReader, Table};
use opentelemetry_sdk::metrics::{
    Aggregation, InMemoryMetricExporterBuilder, Instrument, PeriodicReader, SdkMeterProvider, Stream, Temporality,
};
use opentelemetry_sdk::Resource;
use proptest::collection::vec;
use proptest::prelude::*;

/// The instruments every meter has. Names starting with `exp.` get an exponential histogram
/// view; `h.` ones get explicit bucket boundaries from the case.
const INSTRUMENTS: [&str; 11] =
    ["c.u64", "c.f64", "udc.i64", "udc.f64", "h.u64", "h.f64", "g.u64", "g.i64", "g.f64", "exp.u64", "exp.f64"];

/// At most this many recordings per case, so that sums of the bounded values below cannot
/// overflow (the SDK adds histogram sums with `+=`, which panics on overflow in debug builds).
const MAX_RECORDINGS: usize = 32;

#[derive(Debug, Clone)]
struct Recording {
    meter: usize,
    instrument: usize,
    /// Raw values; each instrument takes the one of its type (see [`record`]).
    unsigned: u64,
    signed: i64,
    float: f64,
    attributes: Vec<KeyValue>,
}

/// An instrumentation scope: name, version, schema URL, attributes.
type Scope = (String, Option<String>, Option<String>, Vec<KeyValue>);

#[derive(Debug, Clone)]
struct Case {
    format: StorageFormat,
    temporality: Temporality,
    resource: Vec<KeyValue>,
    resource_schema_url: Option<String>,
    scopes: Vec<Scope>,
    description: String,
    unit: String,
    boundaries: Vec<f64>,
    exponential: (u32, i8, bool),
    recordings: Vec<Recording>,
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z._]{1,8}",
        Just("ünïcødé ✓ \"<q>\" &\n".to_owned()),
        vec(any::<char>(), 1..6).prop_map(String::from_iter),
    ]
}

fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 5e-324, 1e21, 1.5e-7, f64::MAX]),
        any::<f64>(),
    ]
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(-0.0), -1e6..1e6, any::<f64>().prop_map(|f| if f.is_finite() { f } else { 1.0 })]
}

fn value() -> impl Strategy<Value = Value> {
    let string = text().prop_map(StringValue::from);
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::I64),
        double().prop_map(Value::F64),
        text().prop_map(Value::from),
        vec(any::<bool>(), 0..3).prop_map(|v| Value::Array(Array::Bool(v))),
        vec(any::<i64>(), 0..3).prop_map(|v| Value::Array(Array::I64(v))),
        vec(double(), 0..3).prop_map(|v| Value::Array(Array::F64(v))),
        vec(string, 0..3).prop_map(|v| Value::Array(Array::String(v))),
    ]
}

/// Few distinct keys, so that recordings share attribute sets (and so data points).
fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    let key = prop::sample::select(vec!["a", "b", "", "ключ", "http.method"]);
    prop_oneof![
        2 => Just(Vec::new()),
        1 => Just(vec![KeyValue::new("a", 1)]),
        4 => vec((key, value()).prop_map(|(k, v)| KeyValue::new(k, v)), 1..4),
    ]
}

fn recording(meters: usize) -> impl Strategy<Value = Recording> {
    (0..meters, 0..INSTRUMENTS.len(), any::<u64>(), any::<i64>(), double(), finite(), attributes()).prop_map(
        |(meter, instrument, unsigned, signed, float, finite, attributes)| {
            // Gauges take anything; sums and histograms take values whose sum cannot overflow, and
            // finite doubles.
            let gauge = INSTRUMENTS[instrument].starts_with("g.");
            Recording {
                meter,
                instrument,
                unsigned: if gauge { unsigned } else { unsigned / MAX_RECORDINGS as u64 },
                signed: if gauge { signed } else { signed / MAX_RECORDINGS as i64 },
                float: if gauge { float } else { finite },
                attributes,
            }
        },
    )
}

fn case() -> impl Strategy<Value = Case> {
    let scope = (text(), prop::option::of(text()), prop::option::of(text()), attributes());
    (
        (
            prop::sample::select(vec![StorageFormat::Parquet, StorageFormat::ArrowIpc]),
            prop::sample::select(vec![Temporality::Cumulative, Temporality::Delta, Temporality::LowMemory]),
            attributes(),
            prop::option::of(text()),
        ),
        vec(scope, 1..4),
        // Units must be printable ASCII (the SDK drops instruments with other units).
        (text(), "[ -~]{0,12}"),
        (vec(-1e3..1e3f64, 0..5), (1..=160u32, -10..=20i8, any::<bool>())),
    )
        .prop_flat_map(|((format, temporality, resource, resource_schema_url), scopes, (description, unit), h)| {
            let meters = scopes.len();
            (
                Just((format, temporality, resource, resource_schema_url, scopes, description, unit, h)),
                vec(recording(meters), 0..=MAX_RECORDINGS),
            )
        })
        .prop_map(
            |(
                (format, temporality, resource, resource_schema_url, scopes, description, unit, (bounds, exponential)),
                recordings,
            )| {
                let mut boundaries = bounds;
                boundaries.sort_by(f64::total_cmp);
                boundaries.dedup();
                Case {
                    format,
                    temporality,
                    resource,
                    resource_schema_url,
                    scopes,
                    description,
                    unit,
                    boundaries,
                    exponential,
                    recordings,
                }
            },
        )
}

/// Records the case into a fresh meter provider and collects it once.
fn collect(case: &Case) -> Vec<opentelemetry_sdk::metrics::data::ResourceMetrics> {
    let exporter = InMemoryMetricExporterBuilder::new().with_temporality(case.temporality).build();
    let mut resource = Resource::builder().with_attributes(case.resource.clone());
    if let Some(url) = &case.resource_schema_url {
        resource = resource.with_schema_url(Vec::new(), url.clone());
    }
    let (max_size, max_scale, record_min_max) = case.exponential;
    let boundaries = case.boundaries.clone();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .with_resource(resource.build())
        .with_view(move |i: &Instrument| {
            let aggregation = if i.name().starts_with("exp.") {
                Aggregation::Base2ExponentialHistogram { max_size, max_scale, record_min_max }
            } else if i.name().starts_with("h.") {
                Aggregation::ExplicitBucketHistogram { boundaries: boundaries.clone(), record_min_max }
            } else {
                return None;
            };
            Stream::builder().with_aggregation(aggregation).build().ok()
        })
        .build();
    for (m, (name, version, schema_url, attributes)) in case.scopes.iter().enumerate() {
        let mut scope = InstrumentationScope::builder(name.clone()).with_attributes(attributes.clone());
        if let Some(v) = version {
            scope = scope.with_version(v.clone());
        }
        if let Some(u) = schema_url {
            scope = scope.with_schema_url(u.clone());
        }
        let meter = provider.meter_with_scope(scope.build());
        let (d, u) = (case.description.clone(), case.unit.clone());
        let c_u64 = meter.u64_counter("c.u64").with_description(d.clone()).with_unit(u.clone()).build();
        let c_f64 = meter.f64_counter("c.f64").with_description(d.clone()).build();
        let udc_i64 = meter.i64_up_down_counter("udc.i64").with_unit(u.clone()).build();
        let udc_f64 = meter.f64_up_down_counter("udc.f64").build();
        let h_u64 = meter.u64_histogram("h.u64").with_description(d.clone()).with_unit(u.clone()).build();
        let h_f64 = meter.f64_histogram("h.f64").build();
        let g_u64 = meter.u64_gauge("g.u64").with_unit(u.clone()).build();
        let g_i64 = meter.i64_gauge("g.i64").build();
        let g_f64 = meter.f64_gauge("g.f64").with_description(d.clone()).build();
        let exp_u64 = meter.u64_histogram("exp.u64").with_description(d).with_unit(u).build();
        let exp_f64 = meter.f64_histogram("exp.f64").build();
        for r in case.recordings.iter().filter(|r| r.meter == m) {
            let a = r.attributes.as_slice();
            match INSTRUMENTS[r.instrument] {
                "c.u64" => c_u64.add(r.unsigned, a),
                "c.f64" => c_f64.add(r.float, a),
                "udc.i64" => udc_i64.add(r.signed, a),
                "udc.f64" => udc_f64.add(r.float, a),
                "h.u64" => h_u64.record(r.unsigned, a),
                "h.f64" => h_f64.record(r.float, a),
                "g.u64" => g_u64.record(r.unsigned, a),
                "g.i64" => g_i64.record(r.signed, a),
                "g.f64" => g_f64.record(r.float, a),
                "exp.u64" => exp_u64.record(r.unsigned, a),
                "exp.f64" => exp_f64.record(r.float, a),
                other => unreachable!("{other}"),
            }
        }
    }
    provider.force_flush().expect("force_flush");
    let collected = exporter.get_finished_metrics().expect("finished metrics");
    provider.shutdown().expect("shutdown");
    collected
}

/// The independent path: opentelemetry-proto's SDK-to-OTLP conversion (what the OTLP exporter
/// sends). The SDK's `Resource` iterates its attributes in hash order, which the OTLP request
/// keeps; the SDK paths store resource attributes sorted by key, so the request's are sorted
/// the same way (order only: keys are unique, values untouched). OTLP has no unsigned int: the
/// transform turns a `u64` gauge or sum value above `i64::MAX` into 0, the store keeps it as a
/// double (its documented rule), so such values are set to that double in the request.
fn otlp_transform(sdk: &opentelemetry_sdk::metrics::data::ResourceMetrics) -> ExportMetricsServiceRequest {
    use opentelemetry_parquet::proto::metrics::v1::number_data_point::Value as Number;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    let mut request: ExportMetricsServiceRequest =
        common::as_stored(&opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest::from(sdk));
    let rm = &mut request.resource_metrics[0];
    if let Some(resource) = &mut rm.resource {
        resource.attributes.sort_by(|x, y| x.key.cmp(&y.key));
    }
    let sdk_metrics = sdk.scope_metrics().flat_map(|sm| sm.metrics());
    let metrics = rm.scope_metrics.iter_mut().flat_map(|sm| &mut sm.metrics);
    for (sdk_metric, metric) in sdk_metrics.zip(metrics) {
        let values: Vec<u64> = match sdk_metric.data() {
            AggregatedMetrics::U64(MetricData::Gauge(g)) => g.data_points().map(|p| p.value()).collect(),
            AggregatedMetrics::U64(MetricData::Sum(s)) => s.data_points().map(|p| p.value()).collect(),
            _ => continue,
        };
        let points = match &mut metric.data {
            Some(Data::Gauge(g)) => &mut g.data_points,
            Some(Data::Sum(s)) => &mut s.data_points,
            other => panic!("{}: a u64 gauge or sum became {other:?}", sdk_metric.name()),
        };
        assert_eq!(points.len(), values.len(), "{}: data points", sdk_metric.name());
        for (point, value) in points.iter_mut().zip(values) {
            if i64::try_from(value).is_err() {
                point.value = Some(Number::AsDouble(value as f64));
            }
        }
    }
    request
}

fn library(dir: &std::path::Path, format: StorageFormat) -> OtlpLibrary {
    OtlpLibrary::new(Config::builder().output_dir(dir).format(format).build().expect("config")).expect("library")
}

/// Every stored row of `table`, one single-row batch each, in store order (independent of how
/// rows are split into files and batches).
fn rows(dir: &std::path::Path, table: Table) -> Vec<arrow_array::RecordBatch> {
    let batches = StoreReader::new(dir).read_batches(table).expect("read_batches");
    batches.iter().flat_map(|b| (0..b.num_rows()).map(move |i| b.slice(i, 1))).collect()
}

/// The columns in which two single-row batches differ, with both values.
fn difference(x: &arrow_array::RecordBatch, y: &arrow_array::RecordBatch) -> String {
    let mut out = String::new();
    for (i, field) in x.schema().fields().iter().enumerate() {
        if x.column(i) != y.column(i) {
            out.push_str(&format!("\n{}: {:?}\n  vs {:?}", field.name(), x.column(i), y.column(i)));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn export_metrics_ref_and_owned_store_identical_rows(case in case()) {
        let collected = collect(&case);
        let dirs = [(); 3].map(|()| tempfile::tempdir().expect("tempdir"));
        let [a, b, c] = [0, 1, 2].map(|i| library(dirs[i].path(), case.format));
        let mut accepted = 0;
        for rm in collected {
            let independent = otlp_transform(&rm);
            let by_ref = a.export_metrics_ref(&rm).expect("export_metrics_ref");
            let owned = b.export_metrics(rm).expect("export_metrics");
            let via_otlp = c.export_otlp_metrics(&independent).expect("export_otlp_metrics");
            prop_assert_eq!(by_ref, via_otlp, "rows accepted by export_metrics_ref and through the OTLP transform");
            prop_assert_eq!(owned, via_otlp, "rows accepted by export_metrics and through the OTLP transform");
            accepted += by_ref;
        }
        for (name, library) in [("A", &a), ("B", &b), ("C", &c)] {
            library.shutdown().unwrap_or_else(|e| panic!("shutdown {name}: {e}"));
        }

        let mut stored = 0;
        for table in Table::ALL {
            let [rows_a, rows_b, rows_c] = [0, 1, 2].map(|i| rows(dirs[i].path(), table));
            for (path, rows_x) in [("export_metrics_ref", &rows_a), ("export_metrics", &rows_b)] {
                prop_assert_eq!(rows_x.len(), rows_c.len(), "{} rows: {} vs the OTLP transform", table, path);
                for (i, (rx, rc)) in rows_x.iter().zip(&rows_c).enumerate() {
                    prop_assert!(rx == rc, "{} row {}: {} vs the OTLP transform: {}", table, i, path, difference(rx, rc));
                }
            }
            stored += rows_a.len();
        }
        let dir_a = &dirs[0];
        prop_assert_eq!(stored, accepted, "every accepted data point is stored");
        prop_assert!(case.recordings.is_empty() || stored > 0, "recordings produce data points");
        // And the rows read back as OTLP, one data point per row.
        let read = StoreReader::new(dir_a.path()).read_metrics().expect("read_metrics");
        let points = common::data_points(&read);
        prop_assert_eq!(points, stored, "data points read back");
    }
}
