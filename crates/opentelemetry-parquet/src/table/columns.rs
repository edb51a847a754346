//! Column builders shared by every table: timestamps, IDs, lists of structs, exemplars and data
//! point numbers. Attribute maps are in `attrs`, resource and scope columns in `resource`, the
//! reading side in `read`.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder};
use arrow_array::{Array, ArrayRef, ListArray, StructArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, TimeUnit};

use arrow_array::types::{Float64Type, Int64Type};

use super::attrs::{string_builder, AttrMapBuilder};
use super::read::{Checked, ReadResult};

/// `Timestamp(Nanosecond, "UTC")`.
pub(crate) fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

pub(crate) fn timestamp_builder() -> TimestampNanosecondBuilder {
    TimestampNanosecondBuilder::with_capacity(0).with_timezone("UTC")
}

/// OTLP times are `fixed64` nanoseconds; Arrow timestamps are `i64`. The bits are kept as they
/// are, so times after 2262 (never produced by a real clock) read back exactly.
pub(crate) fn nanos_to_i64(nanos: u64) -> i64 {
    nanos as i64
}

pub(crate) fn i64_to_nanos(value: i64) -> u64 {
    value as u64
}

/// The two lowercase hex digits of every byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        pairs[i] = [HEX[i >> 4], HEX[i & 0xf]];
        i += 1;
    }
    pairs
};

/// Lowercase hex of an ID. Empty and all-zero IDs (invalid in OTLP) give `""`, as the
/// ClickHouse exporter writes them.
pub(crate) fn append_hex(bytes: &[u8], out: &mut StringBuilder) {
    if bytes.iter().all(|b| *b == 0) {
        out.append_value("");
        return;
    }
    let mut buf = [0u8; 64];
    if bytes.len() * 2 <= buf.len() {
        for (pair, b) in buf.chunks_exact_mut(2).zip(bytes) {
            pair.copy_from_slice(&HEX_PAIRS[usize::from(*b)]);
        }
        // Only ASCII hex digits were written.
        out.append_value(std::str::from_utf8(&buf[..bytes.len() * 2]).unwrap_or_default());
    } else {
        let s: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        out.append_value(s);
    }
}

pub(crate) fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return Err(format!("invalid hex ID {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| format!("invalid hex ID {s:?}")))
        .collect()
}

/// A non-null `List<Struct<fields>>` whose rows have the given lengths.
pub(crate) fn list_of_struct(fields: Fields, columns: Vec<ArrayRef>, lengths: Vec<usize>) -> ArrayRef {
    let values = StructArray::new(fields.clone(), columns, None);
    let item = Arc::new(Field::new("item", DataType::Struct(fields), false));
    Arc::new(ListArray::new(item, OffsetBuffer::from_lengths(lengths), Arc::new(values), None))
}

pub(crate) fn list_of_struct_type(fields: Fields) -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Struct(fields), false)))
}

/// Builds the `Exemplars` column: `List<Struct<FilteredAttributes, FilteredAttributesTypes,
/// TimeUnix, Value, IntValue, SpanId, TraceId>>`.
#[derive(Debug)]
pub(crate) struct ExemplarsBuilder {
    lengths: Vec<usize>,
    current: usize,
    attributes: AttrMapBuilder,
    time: TimestampNanosecondBuilder,
    value: Float64Builder,
    int_value: Int64Builder,
    span_id: StringBuilder,
    trace_id: StringBuilder,
}

impl Default for ExemplarsBuilder {
    fn default() -> Self {
        Self {
            lengths: Vec::new(),
            current: 0,
            attributes: AttrMapBuilder::default(),
            time: timestamp_builder(),
            value: Float64Builder::with_capacity(0),
            int_value: Int64Builder::with_capacity(0),
            span_id: string_builder(),
            trace_id: string_builder(),
        }
    }
}

/// A metric number as OTLP carries it: `as_double`, `as_int` or neither.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Double(f64),
    Int(i64),
    Unset,
}

impl Number {
    /// Appends `Value` (Float64, the number converted for ClickHouse compatibility) and
    /// `IntValue` (Int64, set only for `as_int`).
    pub(crate) fn append(self, value: &mut Float64Builder, int_value: &mut Int64Builder) {
        match self {
            Number::Double(f) => {
                value.append_value(f);
                int_value.append_null();
            }
            Number::Int(i) => {
                value.append_value(i as f64);
                int_value.append_value(i);
            }
            Number::Unset => {
                value.append_null();
                int_value.append_null();
            }
        }
    }

    pub(crate) fn read(value: &dyn Array, int_value: &dyn Array, row: usize) -> ReadResult<Number> {
        let ints = int_value.checked_primitive::<Int64Type>()?;
        let doubles = value.checked_primitive::<Float64Type>()?;
        Ok(if ints.is_valid(row) {
            Number::Int(ints.value(row))
        } else if doubles.is_valid(row) {
            Number::Double(doubles.value(row))
        } else {
            Number::Unset
        })
    }
}

impl ExemplarsBuilder {
    fn struct_fields() -> Fields {
        let [a, at] = AttrMapBuilder::fields("FilteredAttributes");
        Fields::from(vec![
            a,
            at,
            Field::new("TimeUnix", timestamp_type(), false),
            Field::new("Value", DataType::Float64, true),
            Field::new("IntValue", DataType::Int64, true),
            Field::new("SpanId", DataType::Utf8, false),
            Field::new("TraceId", DataType::Utf8, false),
        ])
    }

    pub(crate) fn field() -> Field {
        Field::new("Exemplars", list_of_struct_type(Self::struct_fields()), false)
    }

    /// Appends one exemplar to the current row.
    pub(crate) fn append(
        &mut self,
        attributes: impl FnOnce(&mut AttrMapBuilder),
        time: u64,
        value: Number,
        span_id: &[u8],
        trace_id: &[u8],
    ) {
        attributes(&mut self.attributes);
        self.attributes.finish_row();
        self.time.append_value(nanos_to_i64(time));
        value.append(&mut self.value, &mut self.int_value);
        append_hex(span_id, &mut self.span_id);
        append_hex(trace_id, &mut self.trace_id);
        self.current += 1;
    }

    pub(crate) fn finish_row(&mut self) {
        self.lengths.push(std::mem::take(&mut self.current));
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        let [a, at] = self.attributes.finish();
        let columns: Vec<ArrayRef> = vec![
            a,
            at,
            Arc::new(self.time.finish()),
            Arc::new(self.value.finish()),
            Arc::new(self.int_value.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.trace_id.finish()),
        ];
        list_of_struct(Self::struct_fields(), columns, std::mem::take(&mut self.lengths))
    }
}
