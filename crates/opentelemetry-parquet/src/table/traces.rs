//! The `traces` table: one row per span.
//!
//! ClickHouse-compatible columns (`Timestamp`, `TraceId`, ..., `Events`, `Links`) plus what they
//! drop: `EndTimestamp` is not needed (`Duration` is `end - start` modulo 2^64, so the end time is
//! always `Timestamp + Duration`), but `Flags`, the dropped counts, the `...Types` columns and the
//! resource/scope details are stored.

use std::sync::Arc;

use crate::proto::trace::v1::{span, Span, Status as OtlpStatus};
use arrow_array::builder::{StringBuilder, TimestampNanosecondBuilder, UInt32Builder, UInt64Builder};
use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampNanosecondType, UInt32Type, UInt64Type};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};

use super::attrs::*;
use super::columns::*;
use super::read::*;
use super::resource::*;

/// W3C trace flags plus `SpanFlags::CONTEXT_HAS_IS_REMOTE` and `CONTEXT_IS_REMOTE`, as the
/// OTLP exporter computes them.
pub(crate) fn span_flags(trace_flags: u8, is_remote: bool) -> u32 {
    trace_flags as u32 | 0x100 | if is_remote { 0x200 } else { 0 }
}

const KINDS: [&str; 6] = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"];
const STATUS_CODES: [&str; 3] = ["Unset", "Ok", "Error"];

fn render_enum(names: &[&str], value: i32, out: &mut StringBuilder) {
    match usize::try_from(value).ok().and_then(|i| names.get(i)) {
        Some(name) => out.append_value(name),
        // Values from a newer proto than ours: keep the number.
        None => out.append_value(value.to_string()),
    }
}

fn parse_enum(names: &[&str], s: &str) -> ReadResult<i32> {
    match names.iter().position(|n| *n == s) {
        Some(i) => Ok(i as i32),
        None => s.parse().map_err(|_| format!("unknown enum value {s:?}")),
    }
}

fn event_fields() -> Fields {
    let [a, at] = AttrMapBuilder::fields("Attributes");
    Fields::from(vec![
        Field::new("Timestamp", timestamp_type(), false),
        Field::new("Name", DataType::Utf8, false),
        a,
        at,
        Field::new("DroppedAttributesCount", DataType::UInt32, false),
    ])
}

fn link_fields() -> Fields {
    let [a, at] = AttrMapBuilder::fields("Attributes");
    Fields::from(vec![
        Field::new("TraceId", DataType::Utf8, false),
        Field::new("SpanId", DataType::Utf8, false),
        Field::new("TraceState", DataType::Utf8, false),
        a,
        at,
        Field::new("DroppedAttributesCount", DataType::UInt32, false),
        Field::new("Flags", DataType::UInt32, false),
    ])
}

/// Schema of the `traces` table.
pub(crate) fn schema() -> SchemaRef {
    let [sa, sat] = AttrMapBuilder::fields("SpanAttributes");
    let mut fields = vec![
        Field::new("Timestamp", timestamp_type(), false),
        Field::new("TraceId", DataType::Utf8, false),
        Field::new("SpanId", DataType::Utf8, false),
        Field::new("ParentSpanId", DataType::Utf8, false),
        Field::new("TraceState", DataType::Utf8, false),
        Field::new("SpanName", DataType::Utf8, false),
        Field::new("SpanKind", DataType::Utf8, false),
        sa,
        sat,
        Field::new("Duration", DataType::UInt64, false),
        Field::new("StatusCode", DataType::Utf8, false),
        Field::new("StatusMessage", DataType::Utf8, false),
        Field::new("Events", list_of_struct_type(event_fields()), false),
        Field::new("Links", list_of_struct_type(link_fields()), false),
        Field::new("Flags", DataType::UInt32, false),
        Field::new("DroppedAttributesCount", DataType::UInt32, false),
        Field::new("DroppedEventsCount", DataType::UInt32, false),
        Field::new("DroppedLinksCount", DataType::UInt32, false),
    ];
    fields.extend(ResourceScopeColumns::fields());
    Arc::new(Schema::new(fields))
}

/// Buffers spans of one partition as Arrow columns.
#[derive(Debug)]
pub(crate) struct TracesBuilder {
    rows: usize,
    timestamp: TimestampNanosecondBuilder,
    trace_id: StringBuilder,
    span_id: StringBuilder,
    parent_span_id: StringBuilder,
    trace_state: StringBuilder,
    name: StringBuilder,
    kind: StringBuilder,
    pub(crate) attributes: AttrMapBuilder,
    duration: UInt64Builder,
    status_code: StringBuilder,
    status_message: StringBuilder,
    pub(crate) events: EventsBuilder,
    pub(crate) links: LinksBuilder,
    flags: UInt32Builder,
    dropped_attributes: UInt32Builder,
    dropped_events: UInt32Builder,
    dropped_links: UInt32Builder,
    resource_scope: ResourceScopeColumns,
}

impl Default for TracesBuilder {
    fn default() -> Self {
        Self {
            rows: 0,
            timestamp: timestamp_builder(),
            trace_id: string_builder(),
            span_id: string_builder(),
            parent_span_id: string_builder(),
            trace_state: string_builder(),
            name: string_builder(),
            kind: string_builder(),
            attributes: AttrMapBuilder::default(),
            duration: UInt64Builder::with_capacity(0),
            status_code: string_builder(),
            status_message: string_builder(),
            events: EventsBuilder::default(),
            links: LinksBuilder::default(),
            flags: UInt32Builder::with_capacity(0),
            dropped_attributes: UInt32Builder::with_capacity(0),
            dropped_events: UInt32Builder::with_capacity(0),
            dropped_links: UInt32Builder::with_capacity(0),
            resource_scope: ResourceScopeColumns::default(),
        }
    }
}

/// The scalar fields of a span, borrowed from either source.
pub(crate) struct SpanFields<'a> {
    pub(crate) trace_id: &'a [u8],
    pub(crate) span_id: &'a [u8],
    pub(crate) parent_span_id: &'a [u8],
    pub(crate) trace_state: &'a str,
    pub(crate) name: &'a str,
    pub(crate) kind: i32,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) status_code: i32,
    pub(crate) status_message: &'a str,
    pub(crate) flags: u32,
    pub(crate) dropped_attributes: u32,
    pub(crate) dropped_events: u32,
    pub(crate) dropped_links: u32,
}

impl TracesBuilder {
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn append_fields(&mut self, resource: &ResourceInfo, scope: &ScopeInfo, f: SpanFields<'_>) {
        self.rows += 1;
        self.timestamp.append_value(nanos_to_i64(f.start));
        append_hex(f.trace_id, &mut self.trace_id);
        append_hex(f.span_id, &mut self.span_id);
        append_hex(f.parent_span_id, &mut self.parent_span_id);
        self.trace_state.append_value(f.trace_state);
        self.name.append_value(f.name);
        render_enum(&KINDS, f.kind, &mut self.kind);
        self.duration.append_value(f.end.wrapping_sub(f.start));
        render_enum(&STATUS_CODES, f.status_code, &mut self.status_code);
        self.status_message.append_value(f.status_message);
        self.flags.append_value(f.flags);
        self.dropped_attributes.append_value(f.dropped_attributes);
        self.dropped_events.append_value(f.dropped_events);
        self.dropped_links.append_value(f.dropped_links);
        self.resource_scope.append(resource, scope);
    }

    /// Appends an OTLP span (measured by `size::otlp_span`).
    pub(crate) fn append_otlp(&mut self, resource: &ResourceInfo, scope: &ScopeInfo, s: &Span) {
        let default_status = OtlpStatus::default();
        let st = s.status.as_ref().unwrap_or(&default_status);
        self.append_fields(
            resource,
            scope,
            SpanFields {
                trace_id: &s.trace_id,
                span_id: &s.span_id,
                parent_span_id: &s.parent_span_id,
                trace_state: &s.trace_state,
                name: &s.name,
                kind: s.kind,
                start: s.start_time_unix_nano,
                end: s.end_time_unix_nano,
                status_code: st.code,
                status_message: &st.message,
                flags: s.flags,
                dropped_attributes: s.dropped_attributes_count,
                dropped_events: s.dropped_events_count,
                dropped_links: s.dropped_links_count,
            },
        );
        self.attributes.append_otlp(&s.attributes);
        self.attributes.finish_row();
        for e in &s.events {
            self.events.append(e.time_unix_nano, &e.name, e.dropped_attributes_count, |a| a.append_otlp(&e.attributes));
        }
        self.events.finish_row();
        for l in &s.links {
            self.links.append(&l.trace_id, &l.span_id, &l.trace_state, l.dropped_attributes_count, l.flags, |a| {
                a.append_otlp(&l.attributes)
            });
        }
        self.links.finish_row();
    }

    pub(crate) fn finish(&mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
        self.rows = 0;
        let [a, at] = self.attributes.finish();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.timestamp.finish()),
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.parent_span_id.finish()),
            Arc::new(self.trace_state.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.kind.finish()),
            a,
            at,
            Arc::new(self.duration.finish()),
            Arc::new(self.status_code.finish()),
            Arc::new(self.status_message.finish()),
            self.events.finish(),
            self.links.finish(),
            Arc::new(self.flags.finish()),
            Arc::new(self.dropped_attributes.finish()),
            Arc::new(self.dropped_events.finish()),
            Arc::new(self.dropped_links.finish()),
        ];
        columns.extend(self.resource_scope.finish());
        RecordBatch::try_new(schema(), columns)
    }
}

#[derive(Debug)]
pub(crate) struct EventsBuilder {
    lengths: Vec<usize>,
    current: usize,
    time: TimestampNanosecondBuilder,
    name: StringBuilder,
    attributes: AttrMapBuilder,
    dropped: UInt32Builder,
}

impl Default for EventsBuilder {
    fn default() -> Self {
        Self {
            lengths: Vec::new(),
            current: 0,
            time: timestamp_builder(),
            name: string_builder(),
            attributes: AttrMapBuilder::default(),
            dropped: UInt32Builder::with_capacity(0),
        }
    }
}

impl EventsBuilder {
    pub(crate) fn append(&mut self, time: u64, name: &str, dropped: u32, attrs: impl FnOnce(&mut AttrMapBuilder)) {
        self.current += 1;
        self.time.append_value(nanos_to_i64(time));
        self.name.append_value(name);
        attrs(&mut self.attributes);
        self.attributes.finish_row();
        self.dropped.append_value(dropped);
    }

    pub(crate) fn finish_row(&mut self) {
        self.lengths.push(std::mem::take(&mut self.current));
    }

    fn finish(&mut self) -> ArrayRef {
        let [a, at] = self.attributes.finish();
        let columns: Vec<ArrayRef> =
            vec![Arc::new(self.time.finish()), Arc::new(self.name.finish()), a, at, Arc::new(self.dropped.finish())];
        list_of_struct(event_fields(), columns, std::mem::take(&mut self.lengths))
    }
}

#[derive(Debug)]
pub(crate) struct LinksBuilder {
    lengths: Vec<usize>,
    current: usize,
    trace_id: StringBuilder,
    span_id: StringBuilder,
    trace_state: StringBuilder,
    attributes: AttrMapBuilder,
    dropped: UInt32Builder,
    flags: UInt32Builder,
}

impl Default for LinksBuilder {
    fn default() -> Self {
        Self {
            lengths: Vec::new(),
            current: 0,
            trace_id: string_builder(),
            span_id: string_builder(),
            trace_state: string_builder(),
            attributes: AttrMapBuilder::default(),
            dropped: UInt32Builder::with_capacity(0),
            flags: UInt32Builder::with_capacity(0),
        }
    }
}

impl LinksBuilder {
    pub(crate) fn append(
        &mut self,
        trace_id: &[u8],
        span_id: &[u8],
        trace_state: &str,
        dropped: u32,
        flags: u32,
        attrs: impl FnOnce(&mut AttrMapBuilder),
    ) {
        self.current += 1;
        append_hex(trace_id, &mut self.trace_id);
        append_hex(span_id, &mut self.span_id);
        self.trace_state.append_value(trace_state);
        attrs(&mut self.attributes);
        self.attributes.finish_row();
        self.dropped.append_value(dropped);
        self.flags.append_value(flags);
    }

    pub(crate) fn finish_row(&mut self) {
        self.lengths.push(std::mem::take(&mut self.current));
    }

    fn finish(&mut self) -> ArrayRef {
        let [a, at] = self.attributes.finish();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.trace_state.finish()),
            a,
            at,
            Arc::new(self.dropped.finish()),
            Arc::new(self.flags.finish()),
        ];
        list_of_struct(link_fields(), columns, std::mem::take(&mut self.lengths))
    }
}

/// One stored span with its resource and scope.
pub(crate) type SpanRow = (super::ResourceKey, Span);

/// Reads every row of a `traces` batch back into OTLP spans.
pub(crate) fn read(batch: &RecordBatch) -> ReadResult<Vec<SpanRow>> {
    let c = Columns::new(batch);
    let timestamp = c.timestamps("Timestamp")?;
    let trace_id = c.strings("TraceId")?;
    let span_id = c.strings("SpanId")?;
    let parent = c.strings("ParentSpanId")?;
    let trace_state = c.strings("TraceState")?;
    let name = c.strings("SpanName")?;
    let kind = c.strings("SpanKind")?;
    let attrs = c.attrs("SpanAttributes")?;
    let duration = c.get("Duration")?.as_primitive_opt::<UInt64Type>().ok_or("Duration is not UInt64")?;
    let status_code = c.strings("StatusCode")?;
    let status_message = c.strings("StatusMessage")?;
    let flags = c.u32s("Flags")?;
    let dropped_attributes = c.u32s("DroppedAttributesCount")?;
    let dropped_events = c.u32s("DroppedEventsCount")?;
    let dropped_links = c.u32s("DroppedLinksCount")?;

    let events = c.list("Events")?;
    let ev = events.values().checked_struct()?;
    let ev_time = struct_child(ev, "Timestamp")?.checked_primitive::<TimestampNanosecondType>()?;
    let ev_name = struct_child(ev, "Name")?.checked_string()?;
    let ev_attrs = AttrColumns::from_struct(ev, "Attributes")?;
    let ev_dropped = struct_child(ev, "DroppedAttributesCount")?.checked_primitive::<UInt32Type>()?;

    let links = c.list("Links")?;
    let lk = links.values().checked_struct()?;
    let lk_trace = struct_child(lk, "TraceId")?.checked_string()?;
    let lk_span = struct_child(lk, "SpanId")?.checked_string()?;
    let lk_state = struct_child(lk, "TraceState")?.checked_string()?;
    let lk_attrs = AttrColumns::from_struct(lk, "Attributes")?;
    let lk_dropped = struct_child(lk, "DroppedAttributesCount")?.checked_primitive::<UInt32Type>()?;
    let lk_flags = struct_child(lk, "Flags")?.checked_primitive::<UInt32Type>()?;

    (0..batch.num_rows())
        .map(|row| {
            let start = i64_to_nanos(timestamp.value(row));
            let (es, ee) = list_range(events, row);
            let (ls, le) = list_range(links, row);
            let span = Span {
                trace_id: parse_hex(trace_id.value(row))?,
                span_id: parse_hex(span_id.value(row))?,
                trace_state: trace_state.value(row).to_owned(),
                parent_span_id: parse_hex(parent.value(row))?,
                flags: flags.value(row),
                name: name.value(row).to_owned(),
                kind: parse_enum(&KINDS, kind.value(row))?,
                start_time_unix_nano: start,
                end_time_unix_nano: start.wrapping_add(duration.value(row)),
                attributes: attrs.read(row)?,
                dropped_attributes_count: dropped_attributes.value(row),
                events: (es..ee)
                    .map(|i| {
                        Ok(span::Event {
                            time_unix_nano: i64_to_nanos(ev_time.value(i)),
                            name: ev_name.value(i).to_owned(),
                            attributes: ev_attrs.read(i)?,
                            dropped_attributes_count: ev_dropped.value(i),
                        })
                    })
                    .collect::<ReadResult<_>>()?,
                dropped_events_count: dropped_events.value(row),
                links: (ls..le)
                    .map(|i| {
                        Ok(span::Link {
                            trace_id: parse_hex(lk_trace.value(i))?,
                            span_id: parse_hex(lk_span.value(i))?,
                            trace_state: lk_state.value(i).to_owned(),
                            attributes: lk_attrs.read(i)?,
                            dropped_attributes_count: lk_dropped.value(i),
                            flags: lk_flags.value(i),
                        })
                    })
                    .collect::<ReadResult<_>>()?,
                dropped_links_count: dropped_links.value(row),
                status: Some(OtlpStatus {
                    message: status_message.value(row).to_owned(),
                    code: parse_enum(&STATUS_CODES, status_code.value(row))?,
                }),
            };
            Ok((super::ResourceKey::read(&c, row)?, span))
        })
        .collect()
}
