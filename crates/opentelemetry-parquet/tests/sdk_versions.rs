//! The same telemetry through OpenTelemetry SDK 0.31 and 0.32 stores identical rows: the same
//! program (one macro, instantiated once per version) with the README's setup,
//! `with_batch_exporter(library.span_exporter())`,
//! `with_reader(PeriodicReader::builder(library.metric_exporter()).build())` and
//! `with_batch_exporter(library.log_exporter())`, writes into one store per version, and every
//! table's rows are compared. Needs both features (its
//! `required-features`): `cargo test -p opentelemetry-parquet --features sdk-0-32 --test sdk_versions`.

use std::path::Path;
use std::time::{Duration, SystemTime};

use arrow_array::RecordBatch;
use opentelemetry_parquet::{Config, OtlpLibrary, StoreReader, Table};

/// Columns the clock decides (when the SDK collected the metrics), left out of the comparison.
const CLOCK_COLUMNS: [&str; 2] = ["StartTimeUnix", "TimeUnix"];

macro_rules! program {
    ($name:ident, $otel:ident, $sdk:ident) => {
        /// Spans (with events, links, every attribute type, an error status, a parent),
        /// metrics (counter, up-down counter, histogram, gauge) and log records (every body
        /// type, inside and outside a span, with a target and an event name) through SDK `$sdk`.
        fn $name(dir: &Path) {
            use std::sync::atomic::{AtomicU64, Ordering};

            use $otel::logs::{AnyValue as LogValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
            use $sdk::logs::SdkLoggerProvider;

            use $otel::metrics::MeterProvider as _;
            use $otel::trace::{
                Event, Link, Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags,
                TraceId, TraceState, Tracer as _, TracerProvider as _,
            };
            use $otel::{Array, Context, KeyValue, StringValue, Value};
            use $sdk::metrics::{PeriodicReader, SdkMeterProvider};
            use $sdk::trace::{IdGenerator, SdkTracerProvider};
            use $sdk::Resource;

            #[derive(Debug, Default)]
            struct Sequential(AtomicU64);
            impl IdGenerator for Sequential {
                fn new_trace_id(&self) -> TraceId {
                    TraceId::from(u128::from(self.0.fetch_add(1, Ordering::Relaxed)) + 0xabc0_0000_0000)
                }
                fn new_span_id(&self) -> SpanId {
                    SpanId::from(self.0.fetch_add(1, Ordering::Relaxed) + 0x5000)
                }
            }

            let library = OtlpLibrary::new(Config::builder().output_dir(dir).build().unwrap()).unwrap();
            let resource = || {
                Resource::builder_empty()
                    .with_service_name("versions")
                    .with_attributes([KeyValue::new("deployment.environment", "test"), KeyValue::new("pid", 42)])
                    .with_schema_url([], "https://opentelemetry.io/schemas/1.26.0")
                    .build()
            };
            let tracer_provider = SdkTracerProvider::builder()
                .with_resource(resource())
                .with_id_generator(Sequential::default())
                .with_batch_exporter(library.span_exporter())
                .build();
            let meter_provider = SdkMeterProvider::builder()
                .with_resource(resource())
                .with_reader(PeriodicReader::builder(library.metric_exporter()).build())
                .build();
            let logger_provider = SdkLoggerProvider::builder()
                .with_resource(resource())
                .with_batch_exporter(library.log_exporter())
                .build();

            let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
            let tracer = tracer_provider.tracer_with_scope(
                $otel::InstrumentationScope::builder("versions-test")
                    .with_version("1.2.3")
                    .with_schema_url("https://example.com/scope")
                    .with_attributes([KeyValue::new("scope.flag", true)])
                    .build(),
            );
            let attributes = vec![
                KeyValue::new("s", "text é"),
                KeyValue::new("i", -7_i64),
                KeyValue::new("d", 0.1 + 0.2),
                KeyValue::new("b", false),
                KeyValue::new("code", 200),
                KeyValue::new("code", 500),
                KeyValue::new("strings", Value::Array(Array::String(vec![StringValue::from("a"), "b".into()]))),
                KeyValue::new("ints", Value::Array(Array::I64(vec![1, -2]))),
                KeyValue::new("doubles", Value::Array(Array::F64(vec![1.5, f64::NAN]))),
                KeyValue::new("bools", Value::Array(Array::Bool(vec![true]))),
            ];
            let linked = SpanContext::new(
                TraceId::from(0x1234_u128),
                SpanId::from(0x99_u64),
                TraceFlags::SAMPLED,
                true,
                TraceState::from_key_value([("vendor", "x:1")]).unwrap(),
            );
            let mut parent = tracer
                .span_builder("checkout")
                .with_kind(SpanKind::Server)
                .with_start_time(t0)
                .with_attributes(attributes.clone())
                .with_links(vec![Link::new(linked, vec![KeyValue::new("link.n", 1)], 0)])
                .start(&tracer);
            parent.add_event_with_timestamp("cart loaded", t0 + Duration::from_millis(1), attributes.clone());
            let cx = Context::current_with_span(parent);
            for (i, kind) in
                [SpanKind::Client, SpanKind::Internal, SpanKind::Producer, SpanKind::Consumer].into_iter().enumerate()
            {
                let start = t0 + Duration::from_millis(10 * i as u64);
                let mut child = tracer
                    .span_builder(format!("step {i}"))
                    .with_kind(kind)
                    .with_start_time(start)
                    .with_events(vec![Event::new("e", start, vec![KeyValue::new("n", i as i64)], 0)])
                    .start_with_context(&tracer, &cx);
                if i == 2 {
                    child.set_status(Status::error("payment declined"));
                }
                child.end_with_timestamp(start + Duration::from_millis(5));
            }

            let logger = logger_provider.logger_with_scope(
                $otel::InstrumentationScope::builder("versions-logger")
                    .with_version("2.0")
                    .with_schema_url("https://example.com/logger")
                    .with_attributes([KeyValue::new("logger.flag", 1)])
                    .build(),
            );
            // One-entry maps: a map's entries come in its hash order, which differs between runs.
            let map = |k: &'static str, v: LogValue| {
                LogValue::Map(Box::new([($otel::Key::from(k), v)].into_iter().collect()))
            };
            let bodies = [
                None,
                Some(LogValue::from("checkout started")),
                Some(LogValue::Int(-1)),
                Some(LogValue::Double(0.1 + 0.2)),
                Some(LogValue::Boolean(true)),
                Some(LogValue::Bytes(Box::new(vec![0, 255]))),
                Some(LogValue::ListAny(Box::new(vec![
                    LogValue::Int(1),
                    LogValue::from("a"),
                    map("m", LogValue::Double(1.5)),
                ]))),
                Some(map("order", map("items", LogValue::ListAny(Box::new(vec![LogValue::from("x")]))))),
            ];
            for (i, body) in bodies.into_iter().enumerate() {
                let mut record = logger.create_log_record();
                record.set_observed_timestamp(t0 + Duration::from_millis(100 + i as u64));
                if i % 2 == 0 {
                    record.set_timestamp(t0 + Duration::from_millis(i as u64));
                    record.set_severity_number(Severity::Warn2);
                    record.set_severity_text("WARN2");
                }
                match i {
                    1 => record.set_target("versions::checkout"),
                    2 => record.set_event_name("versions.event"),
                    _ => {}
                }
                if let Some(body) = body {
                    record.set_body(body);
                }
                record.add_attributes([("i", LogValue::Int(i as i64)), ("code", LogValue::Int(200))]);
                record.add_attribute("code", map("status", LogValue::from("ok")));
                record.add_attribute("bytes", LogValue::Bytes(Box::new(vec![i as u8])));
                if i % 3 == 0 {
                    // Inside the parent span: the record carries its trace and span IDs.
                    let _active = cx.clone().attach();
                    logger.emit(record);
                } else {
                    logger.emit(record);
                }
            }

            cx.span().set_status(Status::Ok);
            cx.span().end_with_timestamp(t0 + Duration::from_secs(1));

            let meter = meter_provider
                .meter_with_scope($otel::InstrumentationScope::builder("versions-meter").with_version("0.1").build());
            let counter = meter.u64_counter("requests").with_unit("1").with_description("Requests").build();
            let up_down = meter.i64_up_down_counter("in_flight").build();
            let histogram = meter.f64_histogram("latency").with_unit("ms").build();
            let gauge = meter.f64_gauge("temperature").build();
            for i in 0..5_u64 {
                // Keys in sorted order: the SDK exports a series' attributes either as first
                // recorded or sorted, whichever way it was found in its map.
                let attrs = [KeyValue::new("ok", i != 3), KeyValue::new("route", format!("/r{}", i % 2))];
                counter.add(i + 1, &attrs);
                up_down.add(i as i64 - 2, &attrs);
                histogram.record(i as f64 * 2.5, &attrs);
                gauge.record(20.0 + i as f64, &attrs[1..]);
            }

            tracer_provider.shutdown().unwrap();
            meter_provider.shutdown().unwrap();
            logger_provider.shutdown().unwrap();
            library.shutdown().unwrap();
        }
    };
}

program!(run_0_31, opentelemetry, opentelemetry_sdk);
program!(run_0_32, opentelemetry_0_32, opentelemetry_sdk_0_32);

/// A table's rows (every column but the clock's), one single-row batch each, in a canonical
/// order: the SDKs keep a metric's series in a hash map, so their order differs between runs.
fn rows(dir: &Path, table: Table) -> Vec<RecordBatch> {
    use arrow_cast::display::{ArrayFormatter, FormatOptions};
    let mut rows = Vec::new();
    for batch in StoreReader::new(dir).read_batches(table).unwrap() {
        let schema = batch.schema();
        let keep: Vec<usize> =
            (0..batch.num_columns()).filter(|&i| !CLOCK_COLUMNS.contains(&schema.field(i).name().as_str())).collect();
        let batch = batch.project(&keep).unwrap();
        // The sort key: the columns that render as text (timestamps with a time zone do not).
        let formatters: Vec<ArrayFormatter<'_>> = batch
            .columns()
            .iter()
            .filter_map(|c| ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default()).ok())
            .collect();
        for row in 0..batch.num_rows() {
            let key: Vec<String> = formatters.iter().map(|f| f.value(row).to_string()).collect();
            rows.push((key, batch.slice(row, 1)));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.into_iter().map(|(_, row)| row).collect()
}

#[test]
fn sdk_0_31_and_0_32_store_identical_rows() {
    let (old, new) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_0_31(old.path());
    run_0_32(new.path());

    let mut compared = 0;
    for table in Table::ALL {
        let (a, b) = (rows(old.path(), table), rows(new.path(), table));
        assert_eq!(a.len(), b.len(), "{table}: row counts");
        for (x, y) in a.iter().zip(&b) {
            for (i, field) in x.schema().fields().iter().enumerate() {
                assert_eq!(x.column(i), y.column(i), "{table}: the SDK versions stored different {}", field.name());
            }
        }
        compared += a.len();
    }
    // 5 spans; 3 series (route, ok) for the counter, up-down counter and histogram, 2 for the
    // gauge; 8 log records.
    assert_eq!(rows(old.path(), Table::Traces).len(), 5);
    assert_eq!(rows(old.path(), Table::Logs).len(), 8);
    assert_eq!(compared, 5 + 3 * 3 + 2 + 8, "every table had its rows to compare");

    // And the OTLP read-back of the traces and logs is byte for byte the same (compared encoded:
    // a NaN attribute is not equal to itself).
    let traces = |dir: &Path| prost::Message::encode_to_vec(&StoreReader::new(dir).read_traces().unwrap());
    assert_eq!(traces(old.path()), traces(new.path()));
    let logs = |dir: &Path| prost::Message::encode_to_vec(&StoreReader::new(dir).read_logs().unwrap());
    assert_eq!(logs(old.path()), logs(new.path()));
    // The records emitted inside the span carry its IDs.
    let in_span = StoreReader::new(old.path()).read_logs().unwrap().resource_logs[0]
        .scope_logs
        .iter()
        .flat_map(|sl| &sl.log_records)
        .filter(|r| r.trace_id.len() == 16 && r.span_id.len() == 8)
        .count();
    assert_eq!(in_span, 3);
}
