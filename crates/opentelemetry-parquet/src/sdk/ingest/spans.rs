//! SDK spans: measured when exported, appended to the traces columns by the writer.

use std::sync::Arc;

use super::values::{append_attrs, attrs_bytes, attrs_held, resource_info, scope_info};
use super::{otel, otel_sdk, VERSION};
use crate::buffer::{Buffer, DeferredExport};
use crate::error::Result;
use crate::prepare::{scopes_for, Tally};
use crate::proto::trace::v1::{span, status};
use crate::sdk::{sealed, SdkSpanData};
use crate::size::{id, text, ALLOCATION_BYTES, ITEM_BYTES, ROW_BYTES};
use crate::table::resource::{ResourceInfo, ScopeInfo};
use crate::table::traces::{span_flags, SpanFields, TracesBuilder};
use crate::table::Table;
use crate::time::to_nanos;
use crate::{OtlpLibrary, OtlpSpanExporter};

use otel::trace::{SpanKind, Status};
use otel_sdk::trace::SpanData;

impl sealed::Sealed for SpanData {}

impl SdkSpanData for SpanData {
    type Resource = otel_sdk::Resource;

    fn export_to(library: &OtlpLibrary, spans: Vec<Self>, resource: Option<&Self::Resource>) -> Result<usize> {
        library.export_deferred(|| {
            let resource = match resource {
                Some(r) => Arc::new(resource_info(r)),
                None => library.default_resource(VERSION, super::default_resource)?,
            };
            Ok(Box::new(PreparedSdkSpans::new(resource, spans)?))
        })
    }
}

/// The span exporter's `export`: the spans with the resource its provider set.
pub(crate) fn export_spans(exporter: &OtlpSpanExporter, spans: Vec<SpanData>) -> Result<()> {
    let (library, resource) = exporter.accepting()?;
    library.export_deferred(|| Ok(Box::new(PreparedSdkSpans::new(resource, spans)?))).map(|_| ())
}

/// SDK spans with their scopes rendered and every row measured (outside the buffer lock).
///
/// The exporter hands the spans over (the SDK passes them by value), so the buffer keeps them as
/// they are and the writer appends them to the column builders when it takes the buffer, on its
/// own thread and outside the lock: the export call only measures and moves them. They count
/// against the memory cap from the moment they are accepted: `bytes` is their rows' measure plus
/// the memory of the spans themselves (both exist while the writer converts them).
#[derive(Debug)]
struct PreparedSdkSpans {
    resource: Arc<ResourceInfo>,
    spans: Vec<SpanData>,
    /// The spans' scopes, one per run of consecutive spans with the same scope.
    scopes: Vec<(ScopeInfo, usize)>,
    rows: Vec<usize>,
    /// The bytes the export adds to the buffer, at most.
    bytes: usize,
}

impl PreparedSdkSpans {
    fn new(resource: Arc<ResourceInfo>, spans: Vec<SpanData>) -> Result<Self> {
        let scopes = span_scopes(&spans);
        let mut tally = Tally::default();
        let resource_bytes = resource.bytes();
        let mut held = 0;
        for (span, scope) in spans.iter().zip(scopes_for(&scopes)) {
            let bytes = span_bytes(span) + resource_bytes + scope.bytes();
            tally.row(Table::Traces, to_nanos(span.start_time), bytes)?;
            held += span_held(span);
        }
        let (rows, bytes) = tally.finish();
        // Held as they came until the writer appends them: both count while it does.
        Ok(PreparedSdkSpans { resource, spans, scopes, rows, bytes: bytes + held })
    }
}

impl DeferredExport for PreparedSdkSpans {
    fn rows(&self) -> usize {
        self.rows.len()
    }

    fn bytes(&self) -> usize {
        self.bytes
    }

    fn append_to(&self, buffer: &mut Buffer) -> usize {
        for ((span, scope), bytes) in self.spans.iter().zip(scopes_for(&self.scopes)).zip(&self.rows) {
            append_span(buffer.traces(to_nanos(span.start_time), *bytes), &self.resource, scope, span);
        }
        self.spans.len()
    }
}

/// Renders one `ScopeInfo` per run of consecutive spans with the same scope, with the run's
/// length: the spans' scopes are compared once, here.
fn span_scopes(spans: &[SpanData]) -> Vec<(ScopeInfo, usize)> {
    let mut out: Vec<(ScopeInfo, usize)> = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match out.last_mut() {
            Some((_, run)) if spans[i - 1].instrumentation_scope == s.instrumentation_scope => *run += 1,
            _ => out.push((scope_info(&s.instrumentation_scope), 1)),
        }
    }
    out
}

fn kind(kind: &SpanKind) -> i32 {
    (match kind {
        SpanKind::Internal => span::SpanKind::Internal,
        SpanKind::Server => span::SpanKind::Server,
        SpanKind::Client => span::SpanKind::Client,
        SpanKind::Producer => span::SpanKind::Producer,
        SpanKind::Consumer => span::SpanKind::Consumer,
    }) as i32
}

/// Appends a span from the SDK, exactly as its OTLP form would be appended.
fn append_span(b: &mut TracesBuilder, resource: &ResourceInfo, scope: &ScopeInfo, s: &SpanData) {
    let ctx = &s.span_context;
    let (status_code, status_message) = match &s.status {
        Status::Unset => (status::StatusCode::Unset, ""),
        Status::Ok => (status::StatusCode::Ok, ""),
        Status::Error { description } => (status::StatusCode::Error, description.as_ref()),
    };
    let parent = s.parent_span_id.to_bytes();
    let trace_state = ctx.trace_state().header();
    b.append_fields(
        resource,
        scope,
        SpanFields {
            trace_id: &ctx.trace_id().to_bytes(),
            span_id: &ctx.span_id().to_bytes(),
            parent_span_id: if s.parent_span_id == otel::trace::SpanId::INVALID { &[] } else { &parent },
            trace_state: &trace_state,
            name: &s.name,
            kind: kind(&s.span_kind),
            start: to_nanos(s.start_time),
            end: to_nanos(s.end_time),
            status_code: status_code as i32,
            status_message,
            flags: span_flags(ctx.trace_flags().to_u8(), s.parent_span_is_remote),
            dropped_attributes: s.dropped_attributes_count,
            dropped_events: s.events.dropped_count,
            dropped_links: s.links.dropped_count,
        },
    );
    append_attrs(&mut b.attributes, &s.attributes);
    b.attributes.finish_row();
    for e in s.events.iter() {
        b.events.append(to_nanos(e.timestamp), &e.name, e.dropped_attributes_count, |a| append_attrs(a, &e.attributes));
    }
    b.events.finish_row();
    for l in s.links.iter() {
        let lc = &l.span_context;
        b.links.append(
            &lc.trace_id().to_bytes(),
            &lc.span_id().to_bytes(),
            &lc.trace_state().header(),
            l.dropped_attributes_count,
            span_flags(lc.trace_flags().to_u8(), lc.is_remote()),
            |a| append_attrs(a, &l.attributes),
        );
    }
    b.links.finish_row();
}

/// Bytes of an SDK span in the columns, without its resource and scope.
fn span_bytes(s: &SpanData) -> usize {
    let status = match &s.status {
        Status::Error { description } => description.len(),
        _ => 0,
    };
    let mut total = ROW_BYTES
        + 3 * id(&[0; 16])
        + text(&s.span_context.trace_state().header())
        + text(&s.name)
        + status
        + attrs_bytes(&s.attributes);
    for e in s.events.iter() {
        total += ITEM_BYTES + text(&e.name) + attrs_bytes(&e.attributes);
    }
    for l in s.links.iter() {
        total +=
            ITEM_BYTES + 2 * id(&[0; 16]) + text(&l.span_context.trace_state().header()) + attrs_bytes(&l.attributes);
    }
    total
}

/// The memory an SDK span takes while the buffer holds it as it came: its struct, the
/// attribute, event and link vectors and every string on the heap. Counted on top of
/// [`span_bytes`] for a deferred span, since both exist while the writer turns it into columns.
fn span_held(s: &SpanData) -> usize {
    use std::mem::size_of;
    let mut total = size_of::<SpanData>() + s.name.len() + ALLOCATION_BYTES + attrs_held(&s.attributes);
    if let Status::Error { description } = &s.status {
        total += description.len() + ALLOCATION_BYTES;
    }
    total += s.span_context.trace_state().header().len();
    for e in s.events.iter() {
        total += size_of::<otel::trace::Event>() + e.name.len() + ALLOCATION_BYTES + attrs_held(&e.attributes);
    }
    for l in s.links.iter() {
        total +=
            size_of::<otel::trace::Link>() + l.span_context.trace_state().header().len() + attrs_held(&l.attributes);
    }
    total + ALLOCATION_BYTES * 2
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use otel::trace::{SpanContext, TraceFlags, TraceId, TraceState};
    use otel::{InstrumentationScope, KeyValue};
    use otel_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    fn spans(n: u64) -> Vec<SpanData> {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        (0..n)
            .map(|i| SpanData {
                span_context: SpanContext::new(
                    TraceId::from(u128::from(i) + 1),
                    otel::trace::SpanId::from(i + 1),
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::default(),
                ),
                parent_span_id: otel::trace::SpanId::INVALID,
                parent_span_is_remote: false,
                span_kind: SpanKind::Server,
                name: format!("span {i}").into(),
                start_time: start + Duration::from_secs(i * 1800),
                end_time: start + Duration::from_secs(i * 1800 + 1),
                attributes: vec![KeyValue::new("i", i as i64), KeyValue::new("s", "x")],
                dropped_attributes_count: 0,
                events: SpanEvents::default(),
                links: SpanLinks::default(),
                status: Status::Ok,
                instrumentation_scope: InstrumentationScope::builder(if i < 2 { "a" } else { "b" }).build(),
            })
            .collect()
    }

    fn prepared(n: u64) -> PreparedSdkSpans {
        let resource = Arc::new(super::super::default_resource());
        PreparedSdkSpans::new(resource, spans(n)).unwrap()
    }

    #[test]
    fn deferred_spans_are_counted_until_taken_and_become_the_rows_of_a_direct_append() {
        let mut buffer = Buffer::default();
        let first = prepared(5);
        let bytes = first.bytes;
        assert_eq!(buffer.defer(Box::new(first)), 5);
        assert_eq!(buffer.defer(Box::new(prepared(3))), 3);
        assert_eq!(buffer.rows(), 8);
        assert!(buffer.bytes() > bytes && !buffer.is_empty(), "deferred spans count against the cap");

        let (deferred, deferred_bytes) = buffer.take_deferred();
        assert_eq!(deferred_bytes, buffer.bytes(), "the buffer holds nothing else");
        assert!(buffer.take().unwrap().is_empty(), "no builder was touched by the exports");
        assert_eq!((buffer.rows(), buffer.bytes()), (0, 0));

        let mut columns = Buffer::default();
        for d in &deferred {
            columns.append_deferred(d);
        }
        let mut direct = Buffer::default();
        prepared(5).append_to(&mut direct);
        prepared(3).append_to(&mut direct);
        let (got, want) = (columns.take().unwrap(), direct.take().unwrap());
        assert_eq!(got.len(), 3, "spans half an hour apart fall in three hours");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((g.table, g.partition, g.bytes), (w.table, w.partition, w.bytes));
            assert_eq!(g.batch, w.batch);
        }
    }
}
