//! The `logs` table: one row per log record.
//!
//! The ClickHouse exporter's `otel_logs` columns (`Timestamp`, `TraceId`, `SpanId`,
//! `TraceFlags`, `SeverityText`, `SeverityNumber`, `Body`, `LogAttributes`, `EventName` and the
//! resource and scope columns) plus what they drop: the observed time as its own value and
//! whether `Timestamp` is it (`TimestampFromObserved`), all 32 bits of `Flags`, the body's type
//! and structure (`BodyType`, coded as an `XTypes` entry), the attributes' types, the dropped
//! count and the resource's entity references. `SeverityNumber` is `UInt8` as in ClickHouse;
//! an OTLP value that does not fit (the enum is an `int32`; the defined severities are 0 to 24)
//! is kept in `SeverityNumberRaw` (`Int32`, null otherwise) instead of being wrapped.

use std::sync::Arc;

use crate::proto::common::v1::AnyValue;
use crate::proto::logs::v1::LogRecord;
use arrow_array::builder::{
    BooleanBuilder, Int32Builder, StringBuilder, TimestampNanosecondBuilder, UInt32Builder, UInt8Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, UInt8Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::attrs::*;
use super::columns::*;
use super::read::*;
use super::resource::*;
use crate::attributes::{self, AttrValue};

/// Schema of the `logs` table.
pub(crate) fn schema() -> SchemaRef {
    let [la, lat] = AttrMapBuilder::fields("LogAttributes");
    let mut fields = vec![
        Field::new("Timestamp", timestamp_type(), false),
        Field::new("ObservedTimestamp", timestamp_type(), false),
        Field::new("TimestampFromObserved", DataType::Boolean, false),
        Field::new("TraceId", DataType::Utf8, false),
        Field::new("SpanId", DataType::Utf8, false),
        Field::new("TraceFlags", DataType::UInt8, false),
        Field::new("Flags", DataType::UInt32, false),
        Field::new("SeverityText", DataType::Utf8, false),
        Field::new("SeverityNumber", DataType::UInt8, false),
        Field::new("SeverityNumberRaw", DataType::Int32, true),
        Field::new("Body", DataType::Utf8, false),
        Field::new("BodyType", DataType::Utf8, false),
        la,
        lat,
        Field::new("DroppedAttributesCount", DataType::UInt32, false),
        Field::new("EventName", DataType::Utf8, false),
    ];
    fields.extend(ResourceScopeColumns::fields());
    Arc::new(Schema::new(fields))
}

/// The time a record is partitioned and sorted by: its own time, or the time it was observed
/// when it has none (0), as the ClickHouse exporter's `Timestamp`.
pub(crate) fn record_time(time: u64, observed: u64) -> u64 {
    if time == 0 {
        observed
    } else {
        time
    }
}

/// The scalar fields of a log record, borrowed from either source.
pub(crate) struct LogFields<'a> {
    pub(crate) time: u64,
    pub(crate) observed_time: u64,
    pub(crate) trace_id: &'a [u8],
    pub(crate) span_id: &'a [u8],
    pub(crate) flags: u32,
    pub(crate) severity_text: &'a str,
    pub(crate) severity_number: i32,
    pub(crate) dropped_attributes: u32,
    pub(crate) event_name: &'a str,
}

impl<'a> LogFields<'a> {
    /// The fields of an OTLP log record.
    pub(crate) fn otlp(r: &'a LogRecord) -> Self {
        LogFields {
            time: r.time_unix_nano,
            observed_time: r.observed_time_unix_nano,
            trace_id: &r.trace_id,
            span_id: &r.span_id,
            flags: r.flags,
            severity_text: &r.severity_text,
            severity_number: r.severity_number,
            dropped_attributes: r.dropped_attributes_count,
            event_name: &r.event_name,
        }
    }
}

/// Buffers log records of one partition as Arrow columns.
#[derive(Debug)]
pub(crate) struct LogsBuilder {
    rows: usize,
    timestamp: TimestampNanosecondBuilder,
    observed: TimestampNanosecondBuilder,
    from_observed: BooleanBuilder,
    trace_id: StringBuilder,
    span_id: StringBuilder,
    trace_flags: UInt8Builder,
    flags: UInt32Builder,
    severity_text: StringBuilder,
    severity_number: UInt8Builder,
    severity_raw: Int32Builder,
    body: StringBuilder,
    body_type: StringBuilder,
    /// Scratch space for rendering a body.
    rendered: String,
    typed: String,
    pub(crate) attributes: AttrMapBuilder,
    dropped_attributes: UInt32Builder,
    event_name: StringBuilder,
    resource_scope: ResourceScopeColumns,
}

impl Default for LogsBuilder {
    fn default() -> Self {
        Self {
            rows: 0,
            timestamp: timestamp_builder(),
            observed: timestamp_builder(),
            from_observed: BooleanBuilder::with_capacity(0),
            trace_id: string_builder(),
            span_id: string_builder(),
            trace_flags: UInt8Builder::with_capacity(0),
            flags: UInt32Builder::with_capacity(0),
            severity_text: string_builder(),
            severity_number: UInt8Builder::with_capacity(0),
            severity_raw: Int32Builder::with_capacity(0),
            body: string_builder(),
            body_type: string_builder(),
            rendered: String::new(),
            typed: String::new(),
            attributes: AttrMapBuilder::default(),
            dropped_attributes: UInt32Builder::with_capacity(0),
            event_name: string_builder(),
            resource_scope: ResourceScopeColumns::default(),
        }
    }
}

impl LogsBuilder {
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Appends a record's scalar fields and its body (`AttrValue::Otlp(None)`: no body); its
    /// attributes follow in [`attributes`](Self::attributes), ended with `finish_row`.
    pub(crate) fn append_fields(
        &mut self,
        resource: &ResourceInfo,
        scope: &ScopeInfo,
        f: LogFields<'_>,
        body: AttrValue<'_>,
    ) {
        self.rows += 1;
        self.timestamp.append_value(nanos_to_i64(record_time(f.time, f.observed_time)));
        self.observed.append_value(nanos_to_i64(f.observed_time));
        self.from_observed.append_value(f.time == 0);
        append_hex(f.trace_id, &mut self.trace_id);
        append_hex(f.span_id, &mut self.span_id);
        // The W3C trace flags are the low byte.
        self.trace_flags.append_value(f.flags as u8);
        self.flags.append_value(f.flags);
        self.severity_text.append_value(f.severity_text);
        match u8::try_from(f.severity_number) {
            Ok(n) => {
                self.severity_number.append_value(n);
                self.severity_raw.append_null();
            }
            Err(_) => {
                // What the exporter would write (`uint8(n)`), and the value itself.
                self.severity_number.append_value(f.severity_number as u8);
                self.severity_raw.append_value(f.severity_number);
            }
        }
        self.typed.clear();
        attributes::render(body, &mut self.rendered, &mut self.typed);
        self.body.append_value(&self.rendered);
        self.body_type.append_value(&self.typed);
        self.dropped_attributes.append_value(f.dropped_attributes);
        self.event_name.append_value(f.event_name);
        self.resource_scope.append(resource, scope);
    }

    /// Appends an OTLP log record (measured by `size::otlp_log`).
    pub(crate) fn append_otlp(&mut self, resource: &ResourceInfo, scope: &ScopeInfo, r: &LogRecord) {
        self.append_fields(resource, scope, LogFields::otlp(r), AttrValue::Otlp(r.body.as_ref()));
        self.attributes.append_otlp(&r.attributes);
        self.attributes.finish_row();
    }

    pub(crate) fn finish(&mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
        self.rows = 0;
        let [a, at] = self.attributes.finish();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.timestamp.finish()),
            Arc::new(self.observed.finish()),
            Arc::new(self.from_observed.finish()),
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.trace_flags.finish()),
            Arc::new(self.flags.finish()),
            Arc::new(self.severity_text.finish()),
            Arc::new(self.severity_number.finish()),
            Arc::new(self.severity_raw.finish()),
            Arc::new(self.body.finish()),
            Arc::new(self.body_type.finish()),
            a,
            at,
            Arc::new(self.dropped_attributes.finish()),
            Arc::new(self.event_name.finish()),
        ];
        columns.extend(self.resource_scope.finish());
        RecordBatch::try_new(schema(), columns)
    }
}

/// One stored log record with its resource and scope.
pub(crate) type LogRow = (super::ResourceKey, LogRecord);

/// The body of a stored row: `BodyType` is one `XTypes` entry (`u` for a record without a body).
fn read_body(rendered: &str, ty: &str) -> ReadResult<Option<AnyValue>> {
    let mut entries = attributes::type_entries(ty);
    let code = entries.next().ok_or("empty BodyType")??;
    if entries.next().is_some() {
        return Err(format!("BodyType {ty:?} names more than one value"));
    }
    attributes::parse(rendered, code).map_err(|e| format!("Body: {e}"))
}

/// Reads every row of a `logs` batch back into OTLP log records.
pub(crate) fn read(batch: &RecordBatch) -> ReadResult<Vec<LogRow>> {
    let c = Columns::new(batch);
    let timestamp = c.timestamps("Timestamp")?;
    let observed = c.timestamps("ObservedTimestamp")?;
    let from_observed =
        c.get("TimestampFromObserved")?.as_boolean_opt().ok_or("column TimestampFromObserved is not Boolean")?;
    let trace_id = c.strings("TraceId")?;
    let span_id = c.strings("SpanId")?;
    // TraceFlags is derived from Flags; checked only for its type.
    c.get("TraceFlags")?.as_primitive_opt::<UInt8Type>().ok_or("column TraceFlags is not UInt8")?;
    let flags = c.u32s("Flags")?;
    let severity_text = c.strings("SeverityText")?;
    let severity_number =
        c.get("SeverityNumber")?.as_primitive_opt::<UInt8Type>().ok_or("column SeverityNumber is not UInt8")?;
    let severity_raw =
        c.get("SeverityNumberRaw")?.as_primitive_opt::<Int32Type>().ok_or("column SeverityNumberRaw is not Int32")?;
    let body = c.strings("Body")?;
    let body_type = c.strings("BodyType")?;
    let attrs = c.attrs("LogAttributes")?;
    let dropped = c.u32s("DroppedAttributesCount")?;
    let event_name = c.strings("EventName")?;
    (0..batch.num_rows())
        .map(|row| {
            let record = LogRecord {
                time_unix_nano: if from_observed.value(row) { 0 } else { i64_to_nanos(timestamp.value(row)) },
                observed_time_unix_nano: i64_to_nanos(observed.value(row)),
                severity_number: if severity_raw.is_valid(row) {
                    severity_raw.value(row)
                } else {
                    i32::from(severity_number.value(row))
                },
                severity_text: severity_text.value(row).to_owned(),
                body: read_body(body.value(row), body_type.value(row))?,
                attributes: attrs.read(row)?,
                dropped_attributes_count: dropped.value(row),
                flags: flags.value(row),
                trace_id: parse_hex(trace_id.value(row))?,
                span_id: parse_hex(span_id.value(row))?,
                event_name: event_name.value(row).to_owned(),
            };
            Ok((super::ResourceKey::read(&c, row)?, record))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::common::v1::{any_value::Value, ArrayValue, KeyValueList};

    fn roundtrip(record: &LogRecord) -> LogRecord {
        let mut b = LogsBuilder::default();
        b.append_otlp(&ResourceInfo::default(), &ScopeInfo::default(), record);
        let batch = b.finish().unwrap();
        read(&batch).unwrap().remove(0).1
    }

    #[test]
    fn every_body_shape_and_the_observed_time_read_back() {
        let bodies = [
            None,
            Some(AnyValue { value: None }),
            Some(AnyValue { value: Some(Value::StringValue(String::new())) }),
            Some(AnyValue { value: Some(Value::StringValue("héllo\n\"x\"".into())) }),
            Some(AnyValue { value: Some(Value::IntValue(i64::MIN)) }),
            Some(AnyValue { value: Some(Value::DoubleValue(-0.0)) }),
            Some(AnyValue { value: Some(Value::BoolValue(true)) }),
            Some(AnyValue { value: Some(Value::BytesValue(vec![0, 255])) }),
            Some(AnyValue {
                value: Some(Value::ArrayValue(ArrayValue {
                    values: vec![AnyValue { value: Some(Value::IntValue(1)) }, AnyValue { value: None }],
                })),
            }),
            Some(AnyValue {
                value: Some(Value::KvlistValue(KeyValueList {
                    values: vec![attributes::key_value(
                        "k".into(),
                        Some(AnyValue { value: Some(Value::StringValue("v".into())) }),
                    )],
                })),
            }),
        ];
        for (i, body) in bodies.into_iter().enumerate() {
            let record = LogRecord {
                time_unix_nano: if i % 2 == 0 { 0 } else { u64::MAX },
                observed_time_unix_nano: 7,
                severity_number: [-5, 256, i32::MAX, i32::MIN].get(i).copied().unwrap_or(i as i32 * 2),
                flags: 0xffff_ff01,
                trace_id: vec![1; 16],
                span_id: vec![2; 8],
                body,
                ..Default::default()
            };
            assert_eq!(roundtrip(&record), record);
        }
    }

    #[test]
    fn timestamp_is_the_observed_time_when_the_record_has_none() {
        assert_eq!(record_time(0, 9), 9);
        assert_eq!(record_time(3, 9), 3);
        let mut b = LogsBuilder::default();
        let record = LogRecord { observed_time_unix_nano: 9, flags: 0x301, ..Default::default() };
        b.append_otlp(&ResourceInfo::default(), &ScopeInfo::default(), &record);
        let batch = b.finish().unwrap();
        let c = Columns::new(&batch);
        assert_eq!(c.timestamps("Timestamp").unwrap().value(0), 9);
        assert_eq!(c.get("TraceFlags").unwrap().as_primitive::<UInt8Type>().value(0), 1);
        assert_eq!(c.strings("BodyType").unwrap().value(0), "u");
    }
}
