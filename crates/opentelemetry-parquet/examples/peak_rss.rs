//! Peak memory of hostile input shapes against the buffer cap.
//!
//! `cargo run --release --example peak_rss` runs every shape in a fresh child process (so each
//! peak is its own) and prints, per shape, the cap, the process's resident memory before the
//! exports started (the input already built) and its peak during them. `--quick` uses smaller
//! shapes (what `cargo xtask test-all` runs, to prove the harness works); `--shape NAME` runs
//! one shape in this process. Peak RSS is read from `/proc/self/status` (Linux); elsewhere the
//! shapes still run and the figures say `n/a`.
// `KeyValue { .., ..Default::default() }`: opentelemetry-proto 0.32's KeyValue has a field
// (`key_strindex`) that 0.31's lacks, so the update is needed with one and not the other.
#![allow(clippy::needless_update)]

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{any_value, AnyValue, ArrayValue, EntityRef, KeyValue as Kv};
use opentelemetry_parquet::proto::resource::v1::Resource;
use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_parquet::{Config, OtlpLibrary};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use prost::Message as _;

const MIB: usize = 1 << 20;
const HOUR: u64 = 3_600_000_000_000;

/// A shape: its name, the cap it runs against, and what it does at full and quick size.
struct Shape {
    name: &'static str,
    cap: usize,
    what: &'static str,
}

const SHAPES: [Shape; 8] = [
    Shape { name: "typical", cap: 16 * MIB, what: "200 exports of 512 spans, 10 attributes each (for scale)" },
    Shape { name: "hours-1000", cap: MIB, what: "1,000 exports of one span, each in its own hour" },
    Shape { name: "hours-20000", cap: MIB, what: "20,000 exports of one span, each in its own hour" },
    Shape { name: "entity-refs", cap: MIB, what: "100 resources with 8,000 bytes of entity refs, 50 spans each" },
    Shape { name: "huge-value", cap: 128 * MIB, what: "22 spans sharing one 100 MB attribute (refused)" },
    Shape {
        name: "huge-resource",
        cap: 128 * MIB,
        what: "1.3 MB request: 1 MiB entity-ref schema URL, 2,100 spans (refused)",
    },
    Shape { name: "wide-spans", cap: 16 * MIB, what: "20 exports of a span with 100,000 attributes" },
    Shape { name: "deep-nesting", cap: MIB, what: "an attribute nested 100,000 deep (refused)" },
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    if let Some(i) = args.iter().position(|a| a == "--shape") {
        let name = args.get(i + 1).ok_or("--shape needs a name")?;
        return run_shape(name, quick);
    }
    println!("peak RSS of hostile shapes{} (each in its own process)", if quick { ", quick sizes" } else { "" });
    println!("{:<14} {:>9} {:>12} {:>12} {:>12}  shape", "name", "cap", "before", "peak", "growth");
    for shape in &SHAPES {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["--shape", shape.name]);
        if quick {
            cmd.arg("--quick");
        }
        let out = cmd.output()?;
        if !out.status.success() {
            return Err(format!("shape {} failed: {}", shape.name, String::from_utf8_lossy(&out.stderr)).into());
        }
        let text = String::from_utf8(out.stdout)?;
        let mut fields = text.split_whitespace();
        let (before, peak) = (fields.next().unwrap_or("n/a"), fields.next().unwrap_or("n/a"));
        let mib = |s: &str| s.parse::<f64>().map_or("n/a".to_owned(), |b| format!("{:.1} MiB", b / MIB as f64));
        let growth = match (before.parse::<f64>(), peak.parse::<f64>()) {
            (Ok(b), Ok(p)) => format!("{:.1} MiB", (p - b) / MIB as f64),
            _ => "n/a".to_owned(),
        };
        println!(
            "{:<14} {:>9} {:>12} {:>12} {:>12}  {}",
            shape.name,
            format!("{} MiB", shape.cap / MIB),
            mib(before),
            mib(peak),
            growth,
            shape.what
        );
    }
    Ok(())
}

/// `VmRSS` / `VmHWM` of this process in bytes.
fn status(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the peak (`VmHWM`) to the current resident size, so that building the input does not
/// count (Linux >= 4.0: writing 5 to `clear_refs`); returns the current resident size.
fn reset_peak() -> Option<u64> {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status("VmRSS:")
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

fn span(id: u64, start: u64, attributes: Vec<Kv>) -> Span {
    Span {
        trace_id: (u128::from(id) + 1).to_be_bytes().to_vec(),
        span_id: (id + 1).to_be_bytes().to_vec(),
        name: "hostile".into(),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 1,
        attributes,
        ..Default::default()
    }
}

fn request(resource: Resource, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            schema_url: String::new(),
        }],
    }
}

fn sdk_span(id: u64, attributes: Vec<KeyValue>) -> SpanData {
    let start = SystemTime::now();
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(u128::from(id) + 1),
            SpanId::from(id + 1),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: "hostile".into(),
        start_time: start,
        end_time: start + Duration::from_millis(1),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Ok,
        instrumentation_scope: InstrumentationScope::builder("peak_rss").build(),
    }
}

fn run_shape(name: &str, quick: bool) -> Result<(), Box<dyn std::error::Error>> {
    let shape = SHAPES.iter().find(|s| s.name == name).ok_or_else(|| format!("unknown shape {name}"))?;
    let dir = tempfile::tempdir()?;
    let config = Config::builder()
        .output_dir(dir.path())
        .max_buffer_bytes(shape.cap)
        .flush_bytes(shape.cap / 4)
        .flush_interval(Duration::from_secs(3600))
        .export_timeout(Duration::from_secs(600))
        .build()?;
    let library = OtlpLibrary::new(config)?;
    let scale = |full: u64, small: u64| if quick { small } else { full };
    let start = now();
    // Each arm builds its input, then measures the resident memory before exporting.
    let mut before = None;
    let mut mark = || before = reset_peak();
    match name {
        "hours-1000" | "hours-20000" => {
            let n = if name == "hours-1000" { scale(1_000, 100) } else { scale(20_000, 500) };
            mark();
            for i in 0..n {
                library
                    .export_otlp_traces(&request(Resource::default(), vec![span(i, start - (i + 1) * HOUR, vec![])]))?;
            }
        }
        "entity-refs" => {
            mark();
            for r in 0..scale(100, 10) {
                let resource = Resource {
                    entity_refs: vec![EntityRef {
                        schema_url: "e".repeat(8_000),
                        r#type: "host".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                };
                library.export_otlp_traces(&request(
                    resource,
                    (0..50).map(|i| span(r * 100 + i, start, vec![])).collect(),
                ))?;
            }
        }
        "huge-value" => {
            let value = opentelemetry::StringValue::from(std::sync::Arc::<str>::from(
                "x".repeat(scale(100, 10) as usize * MIB),
            ));
            let spans: Vec<_> = (0..22).map(|i| sdk_span(i, vec![KeyValue::new("big", value.clone())])).collect();
            mark();
            let refused = library.export_traces(spans).is_err();
            assert!(refused || quick, "a 2.2 GB export fits no 128 MiB cap");
        }
        "huge-resource" => {
            let resource = Resource {
                entity_refs: vec![EntityRef {
                    schema_url: "u".repeat(MIB),
                    r#type: "host".into(),
                    ..Default::default()
                }],
                ..Default::default()
            };
            let bytes =
                request(resource, (0..scale(2_100, 300)).map(|i| span(i, start, vec![])).collect()).encode_to_vec();
            mark();
            assert!(library.export_otlp_traces_bytes(&bytes).is_err(), "refused");
        }
        "typical" => {
            let attributes: Vec<Kv> = (0..10)
                .map(|i| Kv {
                    key: format!("attribute.{i}"),
                    value: Some(AnyValue { value: Some(any_value::Value::StringValue(format!("value-{i}"))) }),
                    ..Default::default()
                })
                .collect();
            let batch = request(Resource::default(), (0..512).map(|i| span(i, start, attributes.clone())).collect());
            mark();
            for _ in 0..scale(200, 20) {
                library.export_otlp_traces(&batch)?;
            }
        }
        "wide-spans" => {
            let attributes = (0..100_000)
                .map(|i| Kv {
                    key: format!("k{i}"),
                    value: Some(AnyValue { value: Some(any_value::Value::IntValue(i)) }),
                    ..Default::default()
                })
                .collect();
            let wide = request(Resource::default(), vec![span(1, start, attributes)]);
            mark();
            for _ in 0..scale(20, 2) {
                library.export_otlp_traces(&wide)?;
            }
        }
        "deep-nesting" => {
            let depth = scale(100_000, 10_000);
            // Built and exported on a large stack: the generated types' drop recurses.
            let thread_library = library.clone();
            let rss = std::thread::Builder::new()
                .stack_size(256 << 20)
                .spawn(move || {
                    let mut value = AnyValue { value: Some(any_value::Value::IntValue(1)) };
                    for _ in 0..depth {
                        value =
                            AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![value] })) };
                    }
                    let before = reset_peak();
                    let req = request(
                        Resource::default(),
                        vec![span(1, start, vec![Kv { key: "deep".into(), value: Some(value), ..Default::default() }])],
                    );
                    assert!(thread_library.export_otlp_traces(&req).is_err(), "refused");
                    before
                })?
                .join()
                .map_err(|_| "the deep-nesting thread panicked")?;
            before = rss;
        }
        other => return Err(format!("no such shape {other}").into()),
    }
    library.shutdown()?;
    let show = |v: Option<u64>| v.map_or("n/a".to_owned(), |b| b.to_string());
    println!("{} {}", show(before), show(status("VmHWM:")));
    Ok(())
}
