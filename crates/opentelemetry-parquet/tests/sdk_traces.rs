//! End-to-end tests of the span exporter behind a real `SdkTracerProvider`: every span field,
//! attribute type, event, link, resource and scope is read back from the Parquet files and
//! compared with the SDK's span contexts and with `opentelemetry-proto`'s own SDK-to-OTLP
//! conversion of the same spans.

mod common;
use common::{as_stored, attrs_at, block_on, Attr};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampNanosecondType, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch, StructArray};
use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array as OtelArray, Context, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{InstrumentationScope as ProtoScope, KeyValue as ProtoKeyValue};
use opentelemetry_parquet::proto::resource::v1::Resource as ProtoResource;
use opentelemetry_parquet::proto::trace::v1::Span as ProtoSpan;
use opentelemetry_parquet::{Config, OtlpLibrary, StoreReader, Table};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData, SpanExporter as _};
use opentelemetry_sdk::Resource;

// ---------------------------------------------------------------------------------------------
// Helpers

fn new_library(dir: &std::path::Path) -> OtlpLibrary {
    OtlpLibrary::new(Config::builder().output_dir(dir).build().expect("config")).expect("library")
}

/// 2023-11-14T22:13:20Z plus `ms` milliseconds.
fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
}

fn nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).expect("after epoch").as_nanos() as i64
}

fn attr(key: &str, rendered: &str, ty: &str) -> Attr {
    (key.to_owned(), rendered.to_owned(), ty.to_owned())
}

fn col<'a>(batch: &'a RecordBatch, name: &str) -> &'a ArrayRef {
    batch.column_by_name(name).unwrap_or_else(|| panic!("missing column {name}"))
}

fn child<'a>(array: &'a StructArray, name: &str) -> &'a ArrayRef {
    array.column_by_name(name).unwrap_or_else(|| panic!("missing struct field {name}"))
}

fn find<'a>(attrs: &'a [Attr], key: &str) -> Option<&'a Attr> {
    attrs.iter().find(|(k, _, _)| k == key)
}

#[derive(Debug, Clone, PartialEq)]
struct EventRow {
    timestamp: i64,
    name: String,
    attributes: Vec<Attr>,
    dropped: u32,
}

#[derive(Debug, Clone, PartialEq)]
struct LinkRow {
    trace_id: String,
    span_id: String,
    trace_state: String,
    attributes: Vec<Attr>,
    dropped: u32,
    flags: u32,
}

/// One row of the `traces` table.
#[derive(Debug, Clone)]
struct SpanRow {
    timestamp: i64,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    trace_state: String,
    name: String,
    kind: String,
    attributes: Vec<Attr>,
    duration: u64,
    status_code: String,
    status_message: String,
    events: Vec<EventRow>,
    links: Vec<LinkRow>,
    flags: u32,
    dropped_attributes: u32,
    dropped_events: u32,
    dropped_links: u32,
    service_name: String,
    resource_attributes: Vec<Attr>,
    resource_schema_url: String,
    scope_name: String,
    scope_version: String,
    scope_attributes: Vec<Attr>,
    scope_schema_url: String,
}

fn read_span_rows(dir: &std::path::Path) -> Vec<SpanRow> {
    let batches = StoreReader::new(dir).read_batches(Table::Traces).expect("read traces");
    let mut rows = Vec::new();
    for b in &batches {
        let s = |name: &str| col(b, name).as_string::<i32>();
        let u32s = |name: &str| col(b, name).as_primitive::<UInt32Type>();
        let ts = col(b, "Timestamp").as_primitive::<TimestampNanosecondType>();
        let duration = col(b, "Duration").as_primitive::<UInt64Type>();
        let events = col(b, "Events").as_list::<i32>();
        let links = col(b, "Links").as_list::<i32>();
        for row in 0..b.num_rows() {
            let ev = events.value(row);
            let ev = ev.as_struct();
            let ev_ts = child(ev, "Timestamp").as_primitive::<TimestampNanosecondType>();
            let ev_name = child(ev, "Name").as_string::<i32>();
            let ev_dropped = child(ev, "DroppedAttributesCount").as_primitive::<UInt32Type>();
            let lk = links.value(row);
            let lk = lk.as_struct();
            let lk_trace = child(lk, "TraceId").as_string::<i32>();
            let lk_span = child(lk, "SpanId").as_string::<i32>();
            let lk_state = child(lk, "TraceState").as_string::<i32>();
            let lk_dropped = child(lk, "DroppedAttributesCount").as_primitive::<UInt32Type>();
            let lk_flags = child(lk, "Flags").as_primitive::<UInt32Type>();
            rows.push(SpanRow {
                timestamp: ts.value(row),
                trace_id: s("TraceId").value(row).to_owned(),
                span_id: s("SpanId").value(row).to_owned(),
                parent_span_id: s("ParentSpanId").value(row).to_owned(),
                trace_state: s("TraceState").value(row).to_owned(),
                name: s("SpanName").value(row).to_owned(),
                kind: s("SpanKind").value(row).to_owned(),
                attributes: attrs_at(col(b, "SpanAttributes"), col(b, "SpanAttributesTypes"), row),
                duration: duration.value(row),
                status_code: s("StatusCode").value(row).to_owned(),
                status_message: s("StatusMessage").value(row).to_owned(),
                events: (0..ev.len())
                    .map(|i| EventRow {
                        timestamp: ev_ts.value(i),
                        name: ev_name.value(i).to_owned(),
                        attributes: attrs_at(child(ev, "Attributes"), child(ev, "AttributesTypes"), i),
                        dropped: ev_dropped.value(i),
                    })
                    .collect(),
                links: (0..lk.len())
                    .map(|i| LinkRow {
                        trace_id: lk_trace.value(i).to_owned(),
                        span_id: lk_span.value(i).to_owned(),
                        trace_state: lk_state.value(i).to_owned(),
                        attributes: attrs_at(child(lk, "Attributes"), child(lk, "AttributesTypes"), i),
                        dropped: lk_dropped.value(i),
                        flags: lk_flags.value(i),
                    })
                    .collect(),
                flags: u32s("Flags").value(row),
                dropped_attributes: u32s("DroppedAttributesCount").value(row),
                dropped_events: u32s("DroppedEventsCount").value(row),
                dropped_links: u32s("DroppedLinksCount").value(row),
                service_name: s("ServiceName").value(row).to_owned(),
                resource_attributes: attrs_at(col(b, "ResourceAttributes"), col(b, "ResourceAttributesTypes"), row),
                resource_schema_url: s("ResourceSchemaUrl").value(row).to_owned(),
                scope_name: s("ScopeName").value(row).to_owned(),
                scope_version: s("ScopeVersion").value(row).to_owned(),
                scope_attributes: attrs_at(col(b, "ScopeAttributes"), col(b, "ScopeAttributesTypes"), row),
                scope_schema_url: s("ScopeSchemaUrl").value(row).to_owned(),
            });
        }
    }
    rows
}

fn by_name<'a>(rows: &'a [SpanRow], name: &str) -> &'a SpanRow {
    let found: Vec<_> = rows.iter().filter(|r| r.name == name).collect();
    assert_eq!(found.len(), 1, "expected exactly one span named {name:?}, got {}", found.len());
    found[0]
}

type FlatSpan = (ProtoResource, String, ProtoScope, String, ProtoSpan);

fn sort_kvs(kvs: &mut [ProtoKeyValue]) {
    kvs.sort_by(|a, b| a.key.cmp(&b.key));
}

/// Every span of a request with its resource and scope, sorted by span ID; resource attributes
/// sorted by key (the SDK keeps them in a hash map, so their order is not meaningful).
fn flatten(request: &ExportTraceServiceRequest) -> Vec<FlatSpan> {
    let mut out = Vec::new();
    for rs in &request.resource_spans {
        let mut resource = rs.resource.clone().unwrap_or_default();
        sort_kvs(&mut resource.attributes);
        for ss in &rs.scope_spans {
            let scope = ss.scope.clone().unwrap_or_default();
            for span in &ss.spans {
                out.push((resource.clone(), rs.schema_url.clone(), scope.clone(), ss.schema_url.clone(), span.clone()));
            }
        }
    }
    out.sort_by(|a, b| a.4.span_id.cmp(&b.4.span_id));
    out
}

const RESOURCE_SCHEMA: &str = "https://opentelemetry.io/schemas/1.26.0";
const SCOPE_SCHEMA: &str = "https://example.com/checkout-lib/schema/2";

fn test_resource(service: &'static str) -> Resource {
    Resource::builder()
        .with_schema_url(
            [
                KeyValue::new("deployment.environment", "test"),
                KeyValue::new("host.cores", 8i64),
                KeyValue::new("host.load", 0.75),
                KeyValue::new("feature.enabled", true),
            ],
            RESOURCE_SCHEMA,
        )
        .with_service_name(service)
        .build()
}

fn every_type_attributes() -> Vec<KeyValue> {
    vec![
        KeyValue::new("a.bool", true),
        KeyValue::new("a.bool.false", false),
        KeyValue::new("a.i64", 42i64),
        KeyValue::new("a.i64.neg", -7i64),
        KeyValue::new("a.f64", 1.5),
        KeyValue::new("a.f64.whole", 2.0),
        KeyValue::new("a.f64.big", 1e21),
        KeyValue::new("a.string", "hello world"),
        KeyValue::new("a.bools", Value::Array(OtelArray::Bool(vec![true, false]))),
        KeyValue::new("a.i64s", Value::Array(OtelArray::I64(vec![1, 2]))),
        KeyValue::new("a.f64s", Value::Array(OtelArray::F64(vec![1.5, 2.0]))),
        KeyValue::new(
            "a.strings",
            Value::Array(OtelArray::String(vec![StringValue::from("a"), StringValue::from("b\"c")])),
        ),
    ]
}

fn expected_every_type_attributes() -> Vec<Attr> {
    vec![
        attr("a.bool", "true", "bool"),
        attr("a.bool.false", "false", "bool"),
        attr("a.i64", "42", "int"),
        attr("a.i64.neg", "-7", "int"),
        attr("a.f64", "1.5", "double"),
        attr("a.f64.whole", "2", "double"),
        attr("a.f64.big", "1e+21", "double"),
        attr("a.string", "hello world", "string"),
        attr("a.bools", "[true,false]", r#"{"arrayValue":{"values":[{"boolValue":true},{"boolValue":false}]}}"#),
        attr("a.i64s", "[1,2]", r#"{"arrayValue":{"values":[{"intValue":"1"},{"intValue":"2"}]}}"#),
        attr("a.f64s", "[1.5,2]", r#"{"arrayValue":{"values":[{"doubleValue":1.5},{"doubleValue":2.0}]}}"#),
        attr(
            "a.strings",
            r#"["a","b\"c"]"#,
            r#"{"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":"b\"c"}]}}"#,
        ),
    ]
}

fn remote_context() -> SpanContext {
    SpanContext::new(
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("trace id"),
        SpanId::from_hex("b7ad6b7169203331").expect("span id"),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("vendor", "value")]).expect("trace state"),
    )
}

/// The span contexts of the spans `emit_spans` creates.
struct Emitted {
    root: SpanContext,
    client: SpanContext,
    internal: SpanContext,
    producer: SpanContext,
    consumer: SpanContext,
    plain: SpanContext,
}

/// Creates six spans: a `Server` root (status Ok) with a `Client` child (Error) and an
/// `Internal` grandchild, a `Producer` root, a `Consumer` span whose parent is remote and which
/// links to the producer and the remote span, and a span from a scope without version.
fn emit_spans(provider: &SdkTracerProvider) -> Emitted {
    let scope = InstrumentationScope::builder("checkout-lib")
        .with_version("1.2.3")
        .with_schema_url(SCOPE_SCHEMA)
        .with_attributes([KeyValue::new("scope.attr", "x"), KeyValue::new("scope.n", 3i64)])
        .build();
    let tracer = provider.tracer_with_scope(scope);

    let root = tracer
        .span_builder("root")
        .with_kind(SpanKind::Server)
        .with_start_time(at(0))
        .with_attributes(every_type_attributes())
        .start(&tracer);
    let root_cx = Context::new().with_span(root);
    let root_sc = root_cx.span().span_context().clone();
    root_cx.span().add_event_with_timestamp(
        "request.received",
        at(1),
        vec![KeyValue::new("bytes", 512i64), KeyValue::new("compressed", false)],
    );
    root_cx.span().add_event_with_timestamp("no.attributes", at(2), vec![]);

    let mut client = tracer
        .span_builder("client call")
        .with_kind(SpanKind::Client)
        .with_start_time(at(10))
        .with_attributes([KeyValue::new("http.response.status_code", 503i64)])
        .start_with_context(&tracer, &root_cx);
    let client_sc = client.span_context().clone();
    client.set_status(Status::error("boom: upstream 503"));
    let client_cx = root_cx.with_span(client);

    let mut internal = tracer
        .span_builder("internal work")
        .with_kind(SpanKind::Internal)
        .with_start_time(at(12))
        .start_with_context(&tracer, &client_cx);
    let internal_sc = internal.span_context().clone();
    internal.end_with_timestamp(at(13));
    client_cx.span().end_with_timestamp(at(110));

    root_cx.span().set_status(Status::Ok);
    root_cx.span().end_with_timestamp(at(250));

    let mut producer =
        tracer.span_builder("publish").with_kind(SpanKind::Producer).with_start_time(at(300)).start(&tracer);
    let producer_sc = producer.span_context().clone();
    producer.end_with_timestamp(at(301));

    let remote_parent = Context::new().with_remote_span_context(remote_context());
    let mut consumer = tracer
        .span_builder("consume")
        .with_kind(SpanKind::Consumer)
        .with_start_time(at(400))
        .with_links(vec![
            Link::new(
                producer_sc.clone(),
                vec![KeyValue::new("link.kind", "follows"), KeyValue::new("link.n", 2i64)],
                0,
            ),
            Link::with_context(remote_context()),
        ])
        .start_with_context(&tracer, &remote_parent);
    let consumer_sc = consumer.span_context().clone();
    consumer.set_attribute(KeyValue::new("messaging.batch", Value::Array(OtelArray::I64(vec![3, 1, 2]))));
    for i in 0..5i64 {
        consumer.add_event_with_timestamp(format!("message {i}"), at(401 + i as u64), vec![KeyValue::new("i", i)]);
    }
    consumer.end_with_timestamp(at(500));

    let plain = provider.tracer("plain");
    let mut span = plain.span_builder("plain span").with_start_time(at(600)).start(&plain);
    let plain_sc = span.span_context().clone();
    span.end_with_timestamp(at(600));

    Emitted {
        root: root_sc,
        client: client_sc,
        internal: internal_sc,
        producer: producer_sc,
        consumer: consumer_sc,
        plain: plain_sc,
    }
}

fn trace_hex(sc: &SpanContext) -> String {
    sc.trace_id().to_string()
}

fn span_hex(sc: &SpanContext) -> String {
    sc.span_id().to_string()
}

/// Asserts the stored rows of the spans `emit_spans` created.
fn assert_emitted_rows(rows: &[SpanRow], e: &Emitted, service: &str) {
    assert_eq!(rows.len(), 6, "{rows:#?}");

    for r in rows {
        assert_eq!(r.service_name, service);
        assert_eq!(find(&r.resource_attributes, "service.name"), Some(&attr("service.name", service, "string")));
        assert_eq!(
            find(&r.resource_attributes, "deployment.environment"),
            Some(&attr("deployment.environment", "test", "string"))
        );
        assert_eq!(find(&r.resource_attributes, "host.cores"), Some(&attr("host.cores", "8", "int")));
        assert_eq!(find(&r.resource_attributes, "host.load"), Some(&attr("host.load", "0.75", "double")));
        assert_eq!(find(&r.resource_attributes, "feature.enabled"), Some(&attr("feature.enabled", "true", "bool")));
        assert_eq!(r.resource_schema_url, RESOURCE_SCHEMA);
        assert_eq!(r.span_id.len(), 16);
        assert_eq!(r.trace_id.len(), 32);
        assert!(r.span_id.chars().chain(r.trace_id.chars()).all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_eq!(r.dropped_attributes, 0);
        assert_eq!(r.dropped_links, 0);
        if r.name == "plain span" {
            assert_eq!(
                (r.scope_name.as_str(), r.scope_version.as_str(), r.scope_schema_url.as_str()),
                ("plain", "", "")
            );
            assert!(r.scope_attributes.is_empty());
        } else {
            assert_eq!(r.scope_name, "checkout-lib");
            assert_eq!(r.scope_version, "1.2.3");
            assert_eq!(r.scope_schema_url, SCOPE_SCHEMA);
            assert_eq!(r.scope_attributes, vec![attr("scope.attr", "x", "string"), attr("scope.n", "3", "int")]);
        }
    }

    let root = by_name(rows, "root");
    assert_eq!(root.trace_id, trace_hex(&e.root));
    assert_eq!(root.span_id, span_hex(&e.root));
    assert_eq!(root.parent_span_id, "");
    assert_eq!(root.kind, "Server");
    assert_eq!((root.status_code.as_str(), root.status_message.as_str()), ("Ok", ""));
    assert_eq!(root.attributes, expected_every_type_attributes());
    assert_eq!(root.timestamp, nanos(at(0)));
    assert_eq!(root.duration, 250_000_000);
    assert_eq!(root.trace_state, "");
    assert_eq!(root.flags, 0x101, "sampled, parent not remote");
    assert_eq!(
        root.events,
        vec![
            EventRow {
                timestamp: nanos(at(1)),
                name: "request.received".into(),
                attributes: vec![attr("bytes", "512", "int"), attr("compressed", "false", "bool")],
                dropped: 0,
            },
            EventRow { timestamp: nanos(at(2)), name: "no.attributes".into(), attributes: vec![], dropped: 0 },
        ]
    );
    assert!(root.links.is_empty());
    assert_eq!(root.dropped_events, 0);

    let client = by_name(rows, "client call");
    assert_eq!(client.trace_id, root.trace_id);
    assert_eq!(client.span_id, span_hex(&e.client));
    assert_eq!(client.parent_span_id, root.span_id);
    assert_eq!(client.kind, "Client");
    assert_eq!((client.status_code.as_str(), client.status_message.as_str()), ("Error", "boom: upstream 503"));
    assert_eq!(client.attributes, vec![attr("http.response.status_code", "503", "int")]);
    assert_eq!(client.timestamp, nanos(at(10)));
    assert_eq!(client.duration, 100_000_000);

    let internal = by_name(rows, "internal work");
    assert_eq!(internal.trace_id, root.trace_id);
    assert_eq!(internal.span_id, span_hex(&e.internal));
    assert_eq!(internal.parent_span_id, client.span_id);
    assert_eq!(internal.kind, "Internal");
    assert_eq!((internal.status_code.as_str(), internal.status_message.as_str()), ("Unset", ""));
    assert_eq!(internal.duration, 1_000_000);
    assert!(internal.attributes.is_empty() && internal.events.is_empty() && internal.links.is_empty());

    let producer = by_name(rows, "publish");
    assert_eq!(producer.trace_id, trace_hex(&e.producer));
    assert_ne!(producer.trace_id, root.trace_id, "a new root starts a new trace");
    assert_eq!(producer.span_id, span_hex(&e.producer));
    assert_eq!(producer.parent_span_id, "");
    assert_eq!(producer.kind, "Producer");
    assert_eq!(producer.status_code, "Unset");

    let consumer = by_name(rows, "consume");
    assert_eq!(consumer.trace_id, "0af7651916cd43dd8448eb211c80319c", "a remote parent's trace is continued");
    assert_eq!(consumer.trace_id, trace_hex(&e.consumer));
    assert_eq!(consumer.span_id, span_hex(&e.consumer));
    assert_eq!(consumer.parent_span_id, "b7ad6b7169203331");
    assert_eq!(consumer.kind, "Consumer");
    assert_eq!(consumer.trace_state, "vendor=value");
    assert_eq!(consumer.flags, 0x301, "sampled, parent remote");
    assert_eq!(
        consumer.attributes,
        vec![attr(
            "messaging.batch",
            "[3,1,2]",
            r#"{"arrayValue":{"values":[{"intValue":"3"},{"intValue":"1"},{"intValue":"2"}]}}"#
        )]
    );
    assert_eq!(
        consumer.links,
        vec![
            LinkRow {
                trace_id: producer.trace_id.clone(),
                span_id: producer.span_id.clone(),
                trace_state: String::new(),
                attributes: vec![attr("link.kind", "follows", "string"), attr("link.n", "2", "int")],
                dropped: 0,
                flags: 0x101,
            },
            LinkRow {
                trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
                span_id: "b7ad6b7169203331".into(),
                trace_state: "vendor=value".into(),
                attributes: vec![],
                dropped: 0,
                flags: 0x301,
            },
        ]
    );
    // The provider keeps at most 4 events per span; the fifth is counted as dropped.
    let names: Vec<_> = consumer.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["message 0", "message 1", "message 2", "message 3"]);
    assert_eq!(consumer.events[3].attributes, vec![attr("i", "3", "int")]);
    assert_eq!(consumer.events[3].timestamp, nanos(at(404)));
    assert_eq!(consumer.dropped_events, 1);
    assert_eq!(consumer.duration, 100_000_000);

    let plain = by_name(rows, "plain span");
    assert_eq!(plain.span_id, span_hex(&e.plain));
    assert_eq!(plain.kind, "Internal");
    assert_eq!(plain.duration, 0);
}

// ---------------------------------------------------------------------------------------------
// Tests

/// The batch exporter stores every field; `provider.shutdown()` alone (no `library.flush()`)
/// puts everything on disk; the OTLP read-back equals `opentelemetry-proto`'s conversion.
#[test]
fn batch_exporter_stores_every_field_and_matches_the_otlp_conversion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());
    let memory = InMemorySpanExporter::default();
    let resource = test_resource("checkout");
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(library.span_exporter())
        .with_simple_exporter(memory.clone())
        .with_resource(resource.clone())
        .with_max_events_per_span(4)
        .build();

    let emitted = emit_spans(&provider);
    // The simple processor exported every span synchronously on `end`; take them before the
    // provider's shutdown resets the in-memory exporter.
    let sdk_spans: Vec<SpanData> = memory.get_finished_spans().expect("in-memory spans");
    assert_eq!(sdk_spans.len(), 6);

    provider.shutdown().expect("provider shutdown");
    assert!(!library.is_shutdown(), "exporter shutdown must leave the library running");

    let rows = read_span_rows(dir.path());
    assert_emitted_rows(&rows, &emitted, "checkout");

    // The OTLP read-back equals the SDK -> OTLP conversion of opentelemetry-proto.
    let stored = StoreReader::new(dir.path()).read_traces().expect("read_traces");
    let expected: ExportTraceServiceRequest =
        as_stored(&opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(
                sdk_spans,
                &ResourceAttributesWithSchema::from(&resource),
            ),
        });
    assert_eq!(stored.resource_spans.len(), 1, "one resource");
    assert_eq!(stored.resource_spans[0].scope_spans.len(), 2, "two scopes");
    let (stored, expected) = (flatten(&stored), flatten(&expected));
    assert_eq!(stored.len(), expected.len());
    for (s, e) in stored.iter().zip(&expected) {
        assert_eq!(s, e, "span {:?}", e.4.name);
    }
    library.shutdown().expect("library shutdown");
    common::keep_store("sdk_traces", dir.path());
}

/// The simple exporter stores the same rows; the library keeps working after a provider using
/// one of its exporters shut down, for a second provider with a new exporter.
#[test]
fn simple_exporter_and_library_outlives_provider_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());

    let first = SdkTracerProvider::builder()
        .with_simple_exporter(library.span_exporter())
        .with_resource(test_resource("first-service"))
        .with_max_events_per_span(4)
        .build();
    let emitted = emit_spans(&first);
    first.shutdown().expect("first provider shutdown");
    assert!(!library.is_shutdown());
    // Already on disk: the first provider's shutdown flushed.
    let rows = read_span_rows(dir.path());
    assert_emitted_rows(&rows, &emitted, "first-service");

    let second = SdkTracerProvider::builder()
        .with_simple_exporter(library.span_exporter())
        .with_resource(Resource::builder_empty().with_service_name("second-service").build())
        .build();
    let tracer = second.tracer("second");
    let mut ids = Vec::new();
    for i in 0..3u64 {
        let mut span = tracer
            .span_builder(format!("second {i}"))
            .with_kind(SpanKind::Server)
            .with_start_time(at(1000 * i))
            .start(&tracer);
        ids.push(span.span_context().span_id().to_string());
        span.end_with_timestamp(at(1000 * i + i + 1));
    }
    second.shutdown().expect("second provider shutdown");

    let rows = read_span_rows(dir.path());
    assert_eq!(rows.len(), 9);
    let second_rows: Vec<_> = rows.iter().filter(|r| r.service_name == "second-service").collect();
    assert_eq!(second_rows.len(), 3);
    for (i, id) in ids.iter().enumerate() {
        let r = by_name(&rows, &format!("second {i}"));
        assert_eq!(&r.span_id, id);
        assert_eq!(r.scope_name, "second");
        assert_eq!(r.resource_attributes, vec![attr("service.name", "second-service", "string")]);
        assert_eq!(r.timestamp, nanos(at(1000 * i as u64)));
        assert_eq!(r.duration, (i as u64 + 1) * 1_000_000);
        assert_eq!(r.kind, "Server");
    }
    assert_eq!(rows.iter().filter(|r| r.service_name == "first-service").count(), 6);

    // Both resources are kept apart by the OTLP read-back.
    let request = StoreReader::new(dir.path()).read_traces().expect("read_traces");
    assert_eq!(request.resource_spans.len(), 2);
    let total: usize =
        request.resource_spans.iter().flat_map(|rs| &rs.scope_spans).map(|ss| ss.spans.len()).sum::<usize>();
    assert_eq!(total, 9);
    library.shutdown().expect("library shutdown");
    common::keep_store("sdk_traces", dir.path());
}

fn one_span_data() -> SpanData {
    let memory = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(memory.clone()).build();
    provider.tracer("t").in_span("only", |_cx| {});
    let mut spans = memory.get_finished_spans().expect("spans");
    assert_eq!(spans.len(), 1);
    spans.pop().expect("one span")
}

/// An exporter refuses exports after its own shutdown, without affecting other exporters of
/// the same library; after the library's shutdown every exporter refuses.
#[test]
fn export_after_exporter_shutdown_is_already_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());
    let span = one_span_data();

    #[allow(unused_mut)] // SDK 0.31's `SpanExporter::shutdown` takes `&mut self`, 0.32's `&self`
    let mut exporter = library.span_exporter();
    block_on(exporter.export(vec![span.clone()])).expect("export before shutdown");
    exporter.shutdown().expect("exporter shutdown");
    assert!(matches!(block_on(exporter.export(vec![span.clone()])), Err(OTelSdkError::AlreadyShutdown)));
    assert!(!library.is_shutdown());

    let other = library.span_exporter();
    block_on(other.export(vec![span.clone()])).expect("another exporter still works");
    library.flush().expect("flush");
    let rows = read_span_rows(dir.path());
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.span_id == span.span_context.span_id().to_string()));

    library.shutdown().expect("library shutdown");
    assert!(matches!(block_on(other.export(vec![span.clone()])), Err(OTelSdkError::AlreadyShutdown)));
    assert!(matches!(block_on(library.span_exporter().export(vec![span])), Err(OTelSdkError::AlreadyShutdown)));
    assert_eq!(read_span_rows(dir.path()).len(), 2);
}

/// The batch exporter works from inside a multi-threaded tokio runtime, with spans created by
/// many tasks.
#[tokio::test(flavor = "multi_thread")]
async fn batch_exporter_inside_tokio_runtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(library.span_exporter())
        .with_resource(Resource::builder_empty().with_service_name("tokio-service").build())
        .build();

    let mut tasks = Vec::new();
    for t in 0..8i64 {
        let tracer = provider.tracer("tokio-test");
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..25i64 {
                let mut span = tracer
                    .span_builder(format!("task {t} span {i}"))
                    .with_attributes([KeyValue::new("task", t), KeyValue::new("i", i)])
                    .start(&tracer);
                tokio::task::yield_now().await;
                ids.push(span.span_context().span_id().to_string());
                span.end();
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.expect("task"));
    }
    // Shutting down blocks on the batch processor's thread: keep it off the async workers.
    tokio::task::spawn_blocking(move || provider.shutdown()).await.expect("join").expect("provider shutdown");

    let rows = read_span_rows(dir.path());
    assert_eq!(rows.len(), 200);
    let mut stored: Vec<_> = rows.iter().map(|r| r.span_id.clone()).collect();
    stored.sort();
    ids.sort();
    assert_eq!(stored, ids);
    for r in &rows {
        assert_eq!(r.service_name, "tokio-service");
        let t = &find(&r.attributes, "task").expect("task attribute").1;
        let i = &find(&r.attributes, "i").expect("i attribute").1;
        assert_eq!(r.name, format!("task {t} span {i}"));
    }
    library.shutdown().expect("library shutdown");
}

/// Two resources that differ only in the sign of a zero double are different OTLP resources
/// (the store keeps them apart: `0` and `-0` in `ResourceAttributes`), so the OTLP read-back
/// must not merge them.
///
/// Fails at the time of writing: `Grouper::indices` in `src/reader.rs` reuses the previous
/// row's group when `last == key`, and `ResourceKey`'s derived `PartialEq` compares doubles
/// numerically (`0.0 == -0.0`), while the grouping maps below it key on the encoded bytes
/// (which differ). The `-0.0` span is put under the `0.0` resource.
///
/// The resources are given to the exporters directly: `SdkTracerProvider::build` itself
/// replaces a resource equal (by `PartialEq`) to the first provider's with that one.
#[test]
fn resources_differing_only_in_the_sign_of_zero_stay_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());
    for zero in [0.0f64, -0.0] {
        let mut exporter = library.span_exporter();
        // One attribute only, so that the two resources' attribute order cannot differ.
        exporter.set_resource(&Resource::builder_empty().with_attribute(KeyValue::new("offset", zero)).build());
        let mut span = one_span_data();
        span.name = format!("span {zero:?}").into();
        block_on(exporter.export(vec![span])).expect("export");
        exporter.shutdown().expect("exporter shutdown");
    }

    let rows = read_span_rows(dir.path());
    assert_eq!(find(&by_name(&rows, "span 0.0").resource_attributes, "offset"), Some(&attr("offset", "0", "double")));
    assert_eq!(find(&by_name(&rows, "span -0.0").resource_attributes, "offset"), Some(&attr("offset", "-0", "double")));

    let request = StoreReader::new(dir.path()).read_traces().expect("read_traces");
    let mut read: Vec<(String, bool)> = Vec::new();
    for rs in &request.resource_spans {
        let offset = rs
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|kv| kv.key == "offset"))
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.clone());
        let negative = match offset {
            Some(opentelemetry_parquet::proto::common::v1::any_value::Value::DoubleValue(f)) => f.is_sign_negative(),
            other => panic!("offset is not a double: {other:?}"),
        };
        for span in rs.scope_spans.iter().flat_map(|ss| &ss.spans) {
            read.push((span.name.clone(), negative));
        }
    }
    read.sort();
    assert_eq!(read, [("span -0.0".to_owned(), true), ("span 0.0".to_owned(), false)]);
    assert_eq!(request.resource_spans.len(), 2);
    library.shutdown().expect("library shutdown");
}

/// `set_attribute` twice with one key (the SDK keeps both entries): the store keeps one entry,
/// the last value with its type (OTLP requires unique keys; DuckDB refuses a map with duplicate
/// keys), in the row and in the OTLP read-back. The store is kept for `tests/test_stores.py`,
/// which runs DuckDB `SELECT *` over it.
#[test]
fn duplicate_attribute_key_stores_the_last_value_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = new_library(dir.path());
    let provider = SdkTracerProvider::builder().with_batch_exporter(library.span_exporter()).build();
    let tracer = provider.tracer("duplicates");
    let mut span = tracer.start("GET /");
    span.set_attribute(KeyValue::new("code", 200));
    span.set_attribute(KeyValue::new("other", "x"));
    span.set_attribute(KeyValue::new("code", 500));
    span.add_event("retry", vec![KeyValue::new("n", 1), KeyValue::new("n", "two")]);
    span.end();
    provider.shutdown().expect("provider shutdown");

    let rows = read_span_rows(dir.path());
    assert_eq!(rows.len(), 1);
    let codes: Vec<&Attr> = rows[0].attributes.iter().filter(|a| a.0 == "code").collect();
    assert_eq!(codes, [&attr("code", "500", "int")], "one `code`, the last value: {:?}", rows[0].attributes);
    assert_eq!(find(&rows[0].attributes, "other"), Some(&attr("other", "x", "string")));
    let ns: Vec<&Attr> = rows[0].events[0].attributes.iter().filter(|a| a.0 == "n").collect();
    assert_eq!(ns, [&attr("n", "two", "string")], "event attributes: the last value");

    let request = StoreReader::new(dir.path()).read_traces().expect("read_traces");
    let read = &request.resource_spans[0].scope_spans[0].spans[0];
    let keys: Vec<&str> = read.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys.iter().filter(|k| **k == "code").count(), 1, "read back: {keys:?}");
    library.shutdown().expect("library shutdown");
    common::keep_store("sdk_traces_duplicate_keys", dir.path());
}
