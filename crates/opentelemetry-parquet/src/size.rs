//! How many bytes a row adds to the buffer, measured before anything is appended.
//!
//! Every export is measured whole first (outside the buffer lock): the measure is what the
//! memory cap counts, what decides whether an export is refused
//! ([`OtlpError::ExportTooLarge`](crate::OtlpError)), and where a partition's builder is sealed
//! so that no Arrow column outgrows its 32-bit offsets. Measuring also enforces the one nesting
//! limit, [`MAX_VALUE_DEPTH`], for every entry point, so rendering and reading never recurse
//! without a bound.
//!
//! The measure is an upper bound of what the column builders hold for the row: each string
//! value costs its bytes plus a 4-byte offset, each attribute costs its key twice (what schema
//! version 1's `XTypes` twin map held; version 2 holds a one-byte code instead, so the bound
//! only got looser), each fixed-width value 8 bytes.

use crate::attributes::AttrValue;
use crate::proto::common::v1::{any_value, AnyValue, KeyValue};
use crate::table::logs::LogFields;

/// The deepest an attribute value (or a log body) may nest arrays and key-value lists: a
/// scalar is depth 0, `[1]` is depth 1, `[[1]]` depth 2. Deeper values are refused with
/// [`OtlpError::Decode`](crate::OtlpError) by every entry point (OTLP requests and bytes, SDK
/// objects, Python batches).
pub const MAX_VALUE_DEPTH: usize = 32;

/// The largest single row: a Utf8 column holds at most 2 GiB per file, and a file is written
/// from one builder, so one row must leave room for others.
pub(crate) const MAX_ROW_BYTES: usize = 1 << 30;

/// A partition's builder is sealed (finished later into its own chunk and file) before it
/// passes this, so that no column reaches the 2 GiB limit of 32-bit offsets.
pub(crate) const MAX_CHUNK_BYTES: usize = 256 << 20;

/// Fixed cost of a row: its fixed-width columns, offsets and validity bits.
pub(crate) const ROW_BYTES: usize = 320;
/// Fixed cost of an event, link, exemplar, quantile or entity reference.
pub(crate) const ITEM_BYTES: usize = 64;
/// Fixed cost of one attribute entry: four offsets and the map's bookkeeping.
pub(crate) const ENTRY_BYTES: usize = 24;

/// A value nested deeper than [`MAX_VALUE_DEPTH`], or otherwise not storable.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unstorable(pub(crate) String);

impl Unstorable {
    /// The error of an attribute's value, naming its key.
    pub(crate) fn in_attribute(self, key: &str) -> Unstorable {
        Unstorable(format!("attribute {key:?}: {}", self.0))
    }

    /// The error of a log record's body.
    pub(crate) fn in_log_body(self) -> Unstorable {
        Unstorable(format!("log body: {}", self.0))
    }
}

pub(crate) type Measured = Result<usize, Unstorable>;

/// Bytes of OTLP attributes; errors when a value nests too deep.
pub(crate) fn otlp_attrs(attrs: &[KeyValue]) -> Measured {
    let mut total = 0;
    for kv in attrs {
        total += attribute(&kv.key, AttrValue::Otlp(kv.value.as_ref()))?;
    }
    Ok(total)
}

/// Bytes of one attribute entry (key, value and type), from any source; errors naming the key
/// when the value nests too deep.
pub(crate) fn attribute(key: &str, value: AttrValue<'_>) -> Measured {
    let bytes = self::value(value).map_err(|e| e.in_attribute(key))?;
    Ok(2 * key.len() + ENTRY_BYTES + bytes)
}

/// Bytes of a value as the attribute and body columns take it: its rendering plus its type.
pub(crate) fn value(value: AttrValue<'_>) -> Measured {
    Ok(match value {
        AttrValue::Otlp(None) => 8,
        AttrValue::Otlp(Some(v)) => any_value(v, 0)?,
        AttrValue::Bool(_) => 12,
        AttrValue::Int(_) => 24,
        AttrValue::Double(_) => 40,
        AttrValue::Str(s) => s.len() + 8,
    })
}

/// The error of a value nested deeper than [`MAX_VALUE_DEPTH`].
pub(crate) fn too_deep() -> Unstorable {
    Unstorable(format!("value nested deeper than {MAX_VALUE_DEPTH} levels"))
}

/// Bytes of an `AnyValue`: its rendering plus its type (for arrays and key-value lists, two
/// JSON texts whose every character may be escaped as `\uXXXX`).
pub(crate) fn any_value(value: &AnyValue, depth: usize) -> Measured {
    use any_value::Value;
    Ok(match &value.value {
        None => 8,
        Some(Value::StringValue(s)) => self::value(AttrValue::Str(s))?,
        Some(Value::BoolValue(b)) => self::value(AttrValue::Bool(*b))?,
        Some(Value::IntValue(i)) => self::value(AttrValue::Int(*i))?,
        Some(Value::DoubleValue(f)) => self::value(AttrValue::Double(*f))?,
        Some(Value::BytesValue(b)) => b.len().div_ceil(3) * 4 + 8,
        #[cfg(feature = "sdk-0-32")]
        Some(Value::StringValueStrindex(_)) => 64,
        Some(complex @ (Value::ArrayValue(_) | Value::KvlistValue(_))) => json_bytes(complex, depth + 1)?,
    })
}

/// Upper bound of both JSON renderings of a complex value at `depth`.
fn json_bytes(value: &any_value::Value, depth: usize) -> Measured {
    use any_value::Value;
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    // Each string may be escaped to six bytes per byte, in two renderings.
    let string = |s: &str| 12 * s.len() + 64;
    Ok(match value {
        Value::StringValue(s) => string(s),
        Value::BytesValue(b) => 2 * (b.len().div_ceil(3) * 4) + 64,
        Value::BoolValue(_) | Value::IntValue(_) | Value::DoubleValue(_) => 96,
        #[cfg(feature = "sdk-0-32")]
        Value::StringValueStrindex(_) => 96,
        Value::ArrayValue(a) => {
            let mut total = 64;
            for v in &a.values {
                total += element_bytes(v.value.as_ref(), depth)?;
            }
            total
        }
        Value::KvlistValue(kv) => {
            let mut total = 64;
            for e in &kv.values {
                total += string(&e.key) + element_bytes(e.value.as_ref().and_then(|v| v.value.as_ref()), depth)?;
            }
            total
        }
    })
}

/// Bytes of an element of an array or key-value list at `depth`: one level deeper when it is
/// itself an array or key-value list.
fn element_bytes(element: Option<&any_value::Value>, depth: usize) -> Measured {
    use any_value::Value;
    match element {
        None => Ok(32),
        Some(inner) => {
            json_bytes(inner, depth + matches!(inner, Value::ArrayValue(_) | Value::KvlistValue(_)) as usize)
        }
    }
}

/// Bytes of a hex ID column value.
pub(crate) fn id(bytes: &[u8]) -> usize {
    2 * bytes.len() + 4
}

/// Bytes of a string column value.
pub(crate) fn text(s: &str) -> usize {
    s.len() + 4
}

/// Bytes of an OTLP span, without its resource and scope.
pub(crate) fn otlp_span(s: &crate::proto::trace::v1::Span) -> Measured {
    let mut total = ROW_BYTES
        + id(&s.trace_id)
        + id(&s.span_id)
        + id(&s.parent_span_id)
        + text(&s.trace_state)
        + text(&s.name)
        + s.status.as_ref().map_or(0, |st| text(&st.message))
        + otlp_attrs(&s.attributes)?;
    for e in &s.events {
        total += ITEM_BYTES + text(&e.name) + otlp_attrs(&e.attributes)?;
    }
    for l in &s.links {
        total += ITEM_BYTES + id(&l.trace_id) + id(&l.span_id) + text(&l.trace_state) + otlp_attrs(&l.attributes)?;
    }
    Ok(total)
}

/// What a heap allocation costs beyond its bytes (the allocator's header and rounding).
pub(crate) const ALLOCATION_BYTES: usize = 16;

/// The memory an OTLP span takes while the buffer holds its request as it came: its struct, its
/// IDs and vectors, and at most its builder measure again for the strings and values on the heap.
/// Counted on top of [`otlp_span`] for a deferred request.
pub(crate) fn otlp_span_held(s: &crate::proto::trace::v1::Span, measured: usize) -> usize {
    use crate::proto::common::v1::KeyValue;
    use std::mem::size_of;
    let entries = s.attributes.len()
        + s.events.iter().map(|e| e.attributes.len() + 1).sum::<usize>()
        + s.links.iter().map(|l| l.attributes.len() + 1).sum::<usize>();
    size_of::<crate::proto::trace::v1::Span>()
        + entries * (size_of::<KeyValue>() + 2 * ALLOCATION_BYTES)
        + 8 * ALLOCATION_BYTES
        + measured
}

/// Bytes of an OTLP log record, without its resource and scope.
pub(crate) fn otlp_log(r: &crate::proto::logs::v1::LogRecord) -> Measured {
    Ok(log_fields(&LogFields::otlp(r)) + log_body(AttrValue::Otlp(r.body.as_ref()))? + otlp_attrs(&r.attributes)?)
}

/// Bytes of a log record's scalar fields, from any source.
pub(crate) fn log_fields(f: &LogFields<'_>) -> usize {
    ROW_BYTES + id(f.trace_id) + id(f.span_id) + text(f.severity_text) + text(f.event_name)
}

/// Bytes of a log record's body (`AttrValue::Otlp(None)`: none), from any source.
pub(crate) fn log_body(body: AttrValue<'_>) -> Measured {
    value(body).map_err(Unstorable::in_log_body)
}

/// The memory an OTLP log record takes while the buffer holds its request as it came (as
/// [`otlp_span_held`]).
pub(crate) fn otlp_log_held(r: &crate::proto::logs::v1::LogRecord, measured: usize) -> usize {
    use crate::proto::common::v1::KeyValue;
    use std::mem::size_of;
    size_of::<crate::proto::logs::v1::LogRecord>()
        + (r.attributes.len() + 1) * (size_of::<KeyValue>() + 2 * ALLOCATION_BYTES)
        + 6 * ALLOCATION_BYTES
        + measured
}

/// Bytes of data point `i` of an OTLP metric, without its resource, scope and metric identity.
pub(crate) fn otlp_point(data: &crate::proto::metrics::v1::metric::Data, i: usize) -> Measured {
    use crate::proto::metrics::v1::{metric::Data, Exemplar};
    let exemplars = |list: &[Exemplar]| -> Measured {
        let mut total = 0;
        for e in list {
            total += ITEM_BYTES + id(&e.span_id) + id(&e.trace_id) + otlp_attrs(&e.filtered_attributes)?;
        }
        Ok(total)
    };
    Ok(ROW_BYTES
        + match data {
            Data::Gauge(g) => {
                let p = &g.data_points[i];
                otlp_attrs(&p.attributes)? + exemplars(&p.exemplars)?
            }
            Data::Sum(s) => {
                let p = &s.data_points[i];
                otlp_attrs(&p.attributes)? + exemplars(&p.exemplars)?
            }
            Data::Histogram(h) => {
                let p = &h.data_points[i];
                otlp_attrs(&p.attributes)?
                    + exemplars(&p.exemplars)?
                    + 8 * (p.bucket_counts.len() + p.explicit_bounds.len())
            }
            Data::ExponentialHistogram(h) => {
                let p = &h.data_points[i];
                let buckets = |b: &Option<_>| {
                    b.as_ref().map_or(0, |b: &crate::proto::metrics::v1::exponential_histogram_data_point::Buckets| {
                        8 * b.bucket_counts.len()
                    })
                };
                otlp_attrs(&p.attributes)? + exemplars(&p.exemplars)? + buckets(&p.positive) + buckets(&p.negative)
            }
            Data::Summary(s) => {
                let p = &s.data_points[i];
                otlp_attrs(&p.attributes)? + 16 * p.quantile_values.len()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::common::v1::ArrayValue;
    use any_value::Value;

    fn nested(depth: usize) -> AnyValue {
        let mut v = AnyValue { value: Some(Value::IntValue(1)) };
        for _ in 0..depth {
            v = AnyValue { value: Some(Value::ArrayValue(ArrayValue { values: vec![v] })) };
        }
        v
    }

    #[test]
    fn the_nesting_limit_is_exact() {
        let attr = |v| vec![crate::attributes::key_value("k".into(), Some(v))];
        assert!(otlp_attrs(&attr(nested(MAX_VALUE_DEPTH))).is_ok());
        let err = otlp_attrs(&attr(nested(MAX_VALUE_DEPTH + 1))).unwrap_err();
        assert!(err.0.contains("deeper than 32"), "{err:?}");
    }

    #[test]
    fn the_measure_bounds_the_rendering() {
        use crate::attributes::{render, AttrValue};
        let values = [
            nested(5),
            AnyValue { value: Some(Value::StringValue("<&>\u{1}\"".repeat(100))) },
            AnyValue { value: Some(Value::BytesValue(vec![7; 100])) },
            AnyValue { value: Some(Value::DoubleValue(-1.234_567_890_123_456_7e-300)) },
            AnyValue { value: Some(Value::IntValue(i64::MIN)) },
        ];
        for v in values {
            let (mut r, mut t) = (String::new(), String::new());
            render(AttrValue::Otlp(Some(&v)), &mut r, &mut t);
            let measured = any_value(&v, 0).unwrap();
            assert!(measured >= r.len() + t.len(), "{v:?}: {measured} < {} + {}", r.len(), t.len());
        }
    }
}
