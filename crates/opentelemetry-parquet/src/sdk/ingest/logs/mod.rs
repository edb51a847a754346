//! SDK log records, read in place: measured, with their scopes rendered and their bytes, list
//! and map values converted to OTLP, outside the buffer lock; appended to the `logs` columns
//! straight from the SDK's records under it.
//!
//! The rows are those of the OTLP exporter's conversion (`opentelemetry-proto`'s
//! `group_logs_by_resource_and_scope` and `From<&SdkLogRecord> for LogRecord`, as of 0.32) fed to
//! `export_otlp_logs`. 0.31's conversion differs in one way, which is not followed: it sends
//! every scope without its version and attributes (0.32 fixed that), and a store keeps them.

use std::collections::hash_map::{Entry, HashMap};

use super::values::scope_info;
use super::{otel, otel_sdk, VERSION};
use crate::attributes::{key_value, AttrValue};
use crate::buffer::Buffer;
use crate::error::{OtlpError, Result};
use crate::prepare::Tally;
use crate::proto::common::v1::{any_value, AnyValue, ArrayValue, KeyValueList};
use crate::size::{self, Measured, Unstorable, MAX_VALUE_DEPTH};
use crate::table::attrs::unique_last;
use crate::table::logs::{record_time, LogFields};
use crate::table::resource::{ResourceInfo, ScopeInfo};
use crate::table::Table;
use crate::time::to_nanos;
use crate::OtlpLogExporter;

use otel::logs::AnyValue as LogValue;
use otel_sdk::logs::{LogBatch, SdkLogRecord};

/// What the errors of a record that cannot be stored name.
const RECORD: &str = "SdkLogRecord";

/// The log exporter's `export`: the batch with the resource its provider set (the SDK's default
/// resource until then); returns the rows stored.
pub(super) fn export_logs(exporter: &OtlpLogExporter, batch: &LogBatch<'_>) -> Result<usize> {
    let (library, resource) = exporter.accepting()?;
    let default;
    let resource = match resource {
        Some(r) => r,
        None => {
            default = library.default_resource(VERSION, super::default_resource)?;
            &*default
        }
    };
    library.export_prepared(|| PreparedSdkLogs::new(resource, batch), |p| p.bytes, |buffer, p| p.append_to(buffer))
}

/// A borrowed SDK log batch with its scopes rendered, every record measured and its complex
/// values converted; the records themselves are read in place when appended.
struct PreparedSdkLogs<'a> {
    resource: &'a ResourceInfo,
    batch: &'a LogBatch<'a>,
    /// One per scope name in the batch (see [`log_scope`]).
    scopes: Vec<ScopeInfo>,
    /// The scope of each run of consecutive records under one: index in `scopes`, run length.
    runs: Vec<(usize, usize)>,
    /// Every body and attribute value that is bytes, a list or a map, converted to OTLP, in the
    /// order of the batch (body first, then attributes).
    complex: Vec<AnyValue>,
    /// The records whose attributes repeat a key: their index in the batch, and which
    /// attributes to keep (the last of each key, as everywhere).
    duplicates: Vec<(usize, Vec<bool>)>,
    rows: Vec<usize>,
    /// The bytes the export adds to the buffer, at most.
    bytes: usize,
}

impl<'a> PreparedSdkLogs<'a> {
    fn new(resource: &'a ResourceInfo, batch: &'a LogBatch<'a>) -> Result<Self> {
        let mut prepared = PreparedSdkLogs {
            resource,
            batch,
            scopes: Vec::new(),
            runs: Vec::new(),
            complex: Vec::new(),
            duplicates: Vec::new(),
            rows: Vec::new(),
            bytes: 0,
        };
        let mut tally = Tally::default();
        let mut by_name: HashMap<&'a str, usize> = HashMap::new();
        // The attribute keys of the current record, for the duplicate check.
        let mut keys: Vec<&'a str> = Vec::new();
        for (i, (record, scope)) in batch.iter().enumerate() {
            let name = record.target().map_or(scope.name(), |target| target.as_ref());
            let index = match prepared.runs.last() {
                Some(&(last, _)) if prepared.scopes[last].name == name => last,
                _ => match by_name.entry(name) {
                    Entry::Occupied(e) => *e.get(),
                    Entry::Vacant(e) => {
                        prepared.scopes.push(log_scope(name, scope));
                        *e.insert(prepared.scopes.len() - 1)
                    }
                },
            };
            match prepared.runs.last_mut() {
                Some((last, run)) if *last == index => *run += 1,
                _ => prepared.runs.push((index, 1)),
            }
            let bytes = prepared
                .measure(i, record, &mut keys)
                .map_err(|Unstorable(reason)| OtlpError::Decode { message: RECORD, reason })?;
            let time = with_fields(record, |f| record_time(f.time, f.observed_time));
            tally.row(Table::Logs, time, bytes + resource.bytes() + prepared.scopes[index].bytes())?;
        }
        (prepared.rows, prepared.bytes) = tally.finish();
        Ok(prepared)
    }

    /// Bytes of record `i` without its resource and scope; converts its complex values and
    /// notes its duplicate keys.
    fn measure(&mut self, i: usize, record: &'a SdkLogRecord, keys: &mut Vec<&'a str>) -> Measured {
        let complex = &mut self.complex;
        let body = match record.body() {
            None => size::log_body(AttrValue::Otlp(None))?,
            Some(body) => converted(body, complex, size::log_body, Unstorable::in_log_body)?,
        };
        let mut total = with_fields(record, |f| size::log_fields(&f)) + body;
        keys.clear();
        for (key, value) in record.attributes_iter() {
            let key = key.as_str();
            keys.push(key);
            total += converted(value, complex, |v| size::attribute(key, v), |e| e.in_attribute(key))?;
        }
        if let Some(keep) = unique_last(keys, |k| k) {
            self.duplicates.push((i, keep));
        }
        Ok(total)
    }

    /// Appends every record, reading it in place; returns the rows added.
    fn append_to(&self, buffer: &mut Buffer) -> usize {
        let mut sizes = self.rows.iter().copied();
        let mut complex = self.complex.iter();
        let mut duplicates = self.duplicates.iter().peekable();
        let scopes = self.runs.iter().flat_map(|&(index, run)| std::iter::repeat_n(&self.scopes[index], run));
        for (i, ((record, _), scope)) in self.batch.iter().zip(scopes).enumerate() {
            let keep = duplicates.next_if(|(j, _)| *j == i).map(|(_, keep)| keep);
            let b = with_fields(record, |f| {
                let b = buffer.logs(record_time(f.time, f.observed_time), sizes.next().unwrap_or_default());
                let body = record.body().map_or(AttrValue::Otlp(None), |v| view(v, &mut complex));
                b.append_fields(self.resource, scope, f, body);
                b
            });
            for (j, (key, value)) in record.attributes_iter().enumerate() {
                // Taken from `complex` even when dropped, to stay in step with it.
                let value = view(value, &mut complex);
                if keep.is_none_or(|keep| keep.get(j).copied().unwrap_or(true)) {
                    b.attributes.append(key.as_str(), value);
                }
            }
            b.attributes.finish_row();
        }
        self.rows.len()
    }
}

/// The scope the OTLP exporter sends a record under (`group_logs_by_resource_and_scope`): named
/// by the record's target when it has one, else by its logger's scope; with the version,
/// attributes and schema URL of the logger of the batch's first record of that name. (That
/// grouping sends the resource's schema URL as every scope's, losing the scope's own, which the
/// single-record conversion, the span path and the Python SDK's exporter all send: the store
/// keeps the scope's.)
fn log_scope(name: &str, scope: &otel::InstrumentationScope) -> ScopeInfo {
    ScopeInfo { name: name.to_owned(), ..scope_info(scope) }
}

/// Calls `f` with a record's scalar fields, set as the OTLP conversion sets them.
fn with_fields<R>(r: &SdkLogRecord, f: impl FnOnce(LogFields<'_>) -> R) -> R {
    let context = r.trace_context();
    let trace_id = context.map(|c| c.trace_id.to_bytes());
    let span_id = context.map(|c| c.span_id.to_bytes());
    f(LogFields {
        time: r.timestamp().map(to_nanos).unwrap_or_default(),
        // The SDK's logger sets it on every record it emits (the conversion unwraps it).
        observed_time: r.observed_timestamp().map(to_nanos).unwrap_or_default(),
        trace_id: trace_id.as_ref().map_or(&[], |id| id.as_slice()),
        span_id: span_id.as_ref().map_or(&[], |id| id.as_slice()),
        flags: context.and_then(|c| c.trace_flags).map_or(0, |flags| u32::from(flags.to_u8())),
        severity_text: r.severity_text().unwrap_or_default(),
        // The SDK's severities are numbered as OTLP's `SeverityNumber`; none is 0, unspecified.
        severity_number: r.severity_number().map_or(0, |s| s as i32),
        dropped_attributes: 0,
        event_name: r.event_name().unwrap_or_default(),
    })
}

/// A scalar log value as the columns take it, borrowed; `None` for bytes, lists and maps (and
/// any kind a later API adds), which go through their OTLP form.
fn scalar(value: &LogValue) -> Option<AttrValue<'_>> {
    match value {
        LogValue::Int(i) => Some(AttrValue::Int(*i)),
        LogValue::Double(f) => Some(AttrValue::Double(*f)),
        LogValue::String(s) => Some(AttrValue::Str(s.as_str())),
        LogValue::Boolean(b) => Some(AttrValue::Bool(*b)),
        _ => None,
    }
}

/// Measures a body or attribute value with `measure`; one that is not a scalar is converted to
/// OTLP (refused with `context` when it nests too deep) and kept in `complex` for the append.
fn converted(
    value: &LogValue,
    complex: &mut Vec<AnyValue>,
    measure: impl Fn(AttrValue<'_>) -> Measured,
    context: impl FnOnce(Unstorable) -> Unstorable,
) -> Measured {
    if let Some(v) = scalar(value) {
        return measure(v);
    }
    let any = to_any(value, 0).map_err(context)?;
    let bytes = measure(AttrValue::Otlp(Some(&any)))?;
    complex.push(any);
    Ok(bytes)
}

/// A value as the columns take it: scalars borrowed, the others the next converted value.
fn view<'v>(value: &'v LogValue, complex: &mut impl Iterator<Item = &'v AnyValue>) -> AttrValue<'v> {
    scalar(value).unwrap_or_else(|| AttrValue::Otlp(complex.next()))
}

/// A log value in its OTLP form, as `opentelemetry-proto` converts it; `depth` is the lists and
/// maps around it. Refuses (without recursing further) a value nested deeper than
/// [`MAX_VALUE_DEPTH`].
fn to_any(value: &LogValue, depth: usize) -> std::result::Result<AnyValue, Unstorable> {
    use any_value::Value;
    let inner = || if depth < MAX_VALUE_DEPTH { Ok(depth + 1) } else { Err(size::too_deep()) };
    let value = match value {
        LogValue::Int(i) => Value::IntValue(*i),
        LogValue::Double(f) => Value::DoubleValue(*f),
        LogValue::String(s) => Value::StringValue(s.as_str().to_owned()),
        LogValue::Boolean(b) => Value::BoolValue(*b),
        LogValue::Bytes(bytes) => Value::BytesValue(bytes.to_vec()),
        LogValue::ListAny(list) => {
            let depth = inner()?;
            let values = list.iter().map(|v| to_any(v, depth)).collect::<std::result::Result<_, _>>()?;
            Value::ArrayValue(ArrayValue { values })
        }
        LogValue::Map(map) => {
            let depth = inner()?;
            let values = map
                .iter()
                .map(|(k, v)| Ok(key_value(k.as_str().to_owned(), Some(to_any(v, depth)?))))
                .collect::<std::result::Result<_, _>>()?;
            Value::KvlistValue(KeyValueList { values })
        }
        // `AnyValue` is non-exhaustive (the OTLP conversion panics on a kind it does not
        // know): anything new is kept as its debug text rather than dropped.
        other => Value::StringValue(format!("{other:?}")),
    };
    Ok(AnyValue { value: Some(value) })
}

#[cfg(test)]
mod tests;
