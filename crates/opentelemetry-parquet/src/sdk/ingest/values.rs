//! Attribute values, resources and scopes of the SDK, rendered as the OTLP forms are.

use std::borrow::Borrow;
use std::sync::Arc;

use super::{otel, otel_sdk};
use crate::attributes::AttrValue;
use crate::proto::common::v1::{any_value, AnyValue, ArrayValue};
use crate::size::{ALLOCATION_BYTES, ENTRY_BYTES};
use crate::table::attrs::{unique_items, AttrMapBuilder, RenderedAttrs};
use crate::table::resource::{ResourceInfo, ScopeInfo};

/// A scalar API value as the attribute columns take it, borrowed; `None` for arrays (and any
/// kind a later API adds), which go through their OTLP form ([`to_any`]).
#[inline]
fn scalar(value: &otel::Value) -> Option<AttrValue<'_>> {
    match value {
        otel::Value::Bool(b) => Some(AttrValue::Bool(*b)),
        otel::Value::I64(i) => Some(AttrValue::Int(*i)),
        otel::Value::F64(f) => Some(AttrValue::Double(*f)),
        otel::Value::String(s) => Some(AttrValue::Str(s.as_str())),
        _ => None,
    }
}

/// Calls `f` with an API value as the attribute columns take it: scalars as they are, arrays
/// (rare) converted to OTLP for the duration of the call.
#[inline]
pub(super) fn with_value<R>(value: &otel::Value, f: impl FnOnce(AttrValue<'_>) -> R) -> R {
    match scalar(value) {
        Some(v) => f(v),
        None => f(AttrValue::Otlp(Some(&to_any(value)))),
    }
}

/// Renders API key-values once (resources, scopes), keys made unique: scalars borrowed, only
/// arrays converted to OTLP.
fn rendered<'a>(attrs: &[(&'a str, &'a otel::Value)]) -> RenderedAttrs {
    let arrays: Vec<Option<AnyValue>> = attrs.iter().map(|(_, v)| scalar(v).is_none().then(|| to_any(v))).collect();
    RenderedAttrs::new(
        attrs.iter().zip(&arrays).map(|((k, v), array)| (*k, scalar(v).unwrap_or(AttrValue::Otlp(array.as_ref())))),
    )
}

/// Converts an API value to its OTLP form (as `opentelemetry-otlp` does).
pub(super) fn to_any(value: &otel::Value) -> AnyValue {
    use any_value::Value;
    use otel::{Array, Value as V};
    let value = match value {
        V::Bool(b) => Value::BoolValue(*b),
        V::I64(i) => Value::IntValue(*i),
        V::F64(f) => Value::DoubleValue(*f),
        V::String(s) => Value::StringValue(s.to_string()),
        V::Array(array) => {
            let values = match array {
                Array::Bool(v) => v.iter().map(|b| Value::BoolValue(*b)).collect::<Vec<_>>(),
                Array::I64(v) => v.iter().map(|i| Value::IntValue(*i)).collect(),
                Array::F64(v) => v.iter().map(|f| Value::DoubleValue(*f)).collect(),
                Array::String(v) => v.iter().map(|s| Value::StringValue(s.to_string())).collect(),
                _ => Vec::new(),
            };
            Value::ArrayValue(ArrayValue { values: values.into_iter().map(|v| AnyValue { value: Some(v) }).collect() })
        }
        // `opentelemetry::Value` is non-exhaustive; render anything new as its string form
        // rather than dropping it.
        other => Value::StringValue(other.to_string()),
    };
    AnyValue { value: Some(value) }
}

/// Appends API key-values to the current row, keys made unique (the last value wins: SDK 0.31
/// span attributes and metric measurements keep duplicate keys).
#[inline]
pub(super) fn append_attrs<K: Borrow<otel::KeyValue>>(builder: &mut AttrMapBuilder, attrs: &[K]) {
    for kv in unique_items(attrs, |kv| kv.borrow().key.as_str()) {
        let kv = kv.borrow();
        with_value(&kv.value, |v| builder.append(kv.key.as_str(), v));
    }
}

/// [`append_attrs`] for the key-values of an iterator (the SDK's metric data points).
pub(super) fn append_attrs_iter<'a>(builder: &mut AttrMapBuilder, attrs: impl IntoIterator<Item = &'a otel::KeyValue>) {
    append_attrs(builder, &attrs.into_iter().collect::<Vec<_>>());
}

/// The SDK keeps resource attributes in a hash map whose iteration order differs between
/// `Resource` instances; they are stored sorted by key so equal resources store equal rows.
pub(crate) fn resource_info(resource: &otel_sdk::Resource) -> ResourceInfo {
    let mut attributes: Vec<_> = resource.iter().map(|(k, v)| (k.as_str(), v)).collect();
    attributes.sort_by(|a, b| a.0.cmp(b.0));
    ResourceInfo::new(rendered(&attributes), 0, resource.schema_url().unwrap_or_default(), Arc::default())
}

/// The resource of a provider built without `with_resource` (`service.name` from
/// `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `telemetry.sdk.*`).
pub(crate) fn default_resource() -> ResourceInfo {
    resource_info(&otel_sdk::Resource::builder().build())
}

pub(super) fn scope_info(scope: &otel::InstrumentationScope) -> ScopeInfo {
    ScopeInfo {
        name: scope.name().to_owned(),
        version: scope.version().unwrap_or_default().to_owned(),
        attributes: rendered(&scope.attributes().map(|kv| (kv.key.as_str(), &kv.value)).collect::<Vec<_>>()),
        dropped_attributes_count: 0,
        schema_url: scope.schema_url().unwrap_or_default().to_owned(),
    }
}

/// Bytes of API attributes in the columns (they cannot nest).
pub(super) fn attrs_bytes<'a>(attrs: impl IntoIterator<Item = &'a otel::KeyValue>) -> usize {
    attrs.into_iter().map(|kv| 2 * kv.key.as_str().len() + ENTRY_BYTES + value_bytes(&kv.value)).sum()
}

fn value_bytes(value: &otel::Value) -> usize {
    use otel::{Array, Value as V};
    match value {
        V::Bool(_) => 12,
        V::I64(_) => 24,
        V::F64(_) => 40,
        V::String(s) => s.as_str().len() + 8,
        V::Array(Array::String(v)) => v.iter().map(|s| 12 * s.as_str().len() + 64).sum::<usize>() + 64,
        V::Array(Array::Bool(v)) => 96 * v.len() + 64,
        V::Array(Array::I64(v)) => 96 * v.len() + 64,
        V::Array(Array::F64(v)) => 96 * v.len() + 64,
        // Rendered as its string form (see `to_any`).
        other => 12 * other.to_string().len() + 64,
    }
}

/// The heap memory of API attributes: the vector, keys and values.
pub(super) fn attrs_held(attrs: &[otel::KeyValue]) -> usize {
    ALLOCATION_BYTES
        // A vector grown by doubling has at most the next power of two of its length.
        + attrs.len().next_power_of_two() * std::mem::size_of::<otel::KeyValue>()
        + attrs.iter().map(|kv| kv.key.as_str().len() + ALLOCATION_BYTES + value_held(&kv.value)).sum::<usize>()
}

fn value_held(value: &otel::Value) -> usize {
    use otel::{Array, Value as V};
    match value {
        V::Bool(_) | V::I64(_) | V::F64(_) => 0,
        V::String(s) => s.as_str().len() + ALLOCATION_BYTES,
        V::Array(Array::String(v)) => {
            v.iter().map(|s| s.as_str().len() + ALLOCATION_BYTES + 24).sum::<usize>() + ALLOCATION_BYTES
        }
        V::Array(Array::Bool(v)) => v.len() + ALLOCATION_BYTES,
        V::Array(Array::I64(v)) => 8 * v.len() + ALLOCATION_BYTES,
        V::Array(Array::F64(v)) => 8 * v.len() + ALLOCATION_BYTES,
        other => other.to_string().len() + ALLOCATION_BYTES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::render;

    #[test]
    fn sdk_values_render_as_their_otlp_form() {
        use otel::{Array, StringValue, Value as V};
        let values = [
            V::Bool(true),
            V::I64(-7),
            V::F64(0.1),
            V::String("x".into()),
            V::Array(Array::Bool(vec![true, false])),
            V::Array(Array::I64(vec![1, -2])),
            V::Array(Array::F64(vec![1.5])),
            V::Array(Array::String(vec![StringValue::from("a"), StringValue::from("\"")])),
        ];
        for v in values {
            let (mut r1, mut t1, mut r2, mut t2) = (String::new(), String::new(), String::new(), String::new());
            with_value(&v, |value| render(value, &mut r1, &mut t1));
            let any = to_any(&v);
            render(AttrValue::Otlp(Some(&any)), &mut r2, &mut t2);
            assert_eq!((r1, t1), (r2, t2), "{v:?}");
        }
    }
}
