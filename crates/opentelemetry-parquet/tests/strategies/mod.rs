//! Proptest generators shared by the store round-trip properties (`roundtrip.rs`,
//! `roundtrip_logs.rs`): every OTLP value shape, with the edge cases weighted up.
#![allow(clippy::needless_update, dead_code)]

use std::collections::HashSet;

use opentelemetry_parquet::proto::common::v1::{
    any_value, AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_parquet::proto::resource::v1::Resource;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Compares two flattened lists; on a difference, reports the first differing item of each.
pub fn same_items<T: std::fmt::Debug>(expected: &[(Vec<u8>, T)], actual: &[(Vec<u8>, T)]) -> Result<(), TestCaseError> {
    if expected.len() != actual.len() {
        return Err(TestCaseError::fail(format!(
            "{} items stored, {} read back\nexpected: {:#?}\nactual: {:#?}",
            expected.len(),
            actual.len(),
            expected.iter().map(|(_, t)| t).collect::<Vec<_>>(),
            actual.iter().map(|(_, t)| t).collect::<Vec<_>>(),
        )));
    }
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        if e.0 != a.0 {
            return Err(TestCaseError::fail(format!(
                "item {i} of {} differs\nexpected: {:#?}\nactual: {:#?}",
                expected.len(),
                e.1,
                a.1
            )));
        }
    }
    Ok(())
}

/// Start of an hour (2023-11-14T22:00:00Z): most times fall in this hour, so that a case writes a
/// handful of partitions (files) rather than one per row.
pub const HOUR: u64 = 1_699_999_200_000_000_000;

/// Strings: empty, ASCII, arbitrary chars (control characters and NUL included), unicode, and
/// characters that need escaping in JSON / HTML.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(String::new()),
        4 => "[a-z._]{1,10}",
        2 => vec(any::<char>(), 1..8).prop_map(String::from_iter),
        1 => Just("ünïcødé ✓ 日本語 🦀".to_owned()),
        1 => Just("\"quoted\" 'single'\n\r\t<tag> & \\ \u{2028} \u{0}".to_owned()),
    ]
}

/// Doubles, with the special values weighted up. NaN is only ever `f64::NAN`: attribute doubles
/// are stored as text, which keeps NaN but not its payload bits.
pub fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        1 => prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            -5e-324,
            1e21,
            1e20,
            1.5e-7,
            1e-6,
            f64::MAX,
            f64::MIN,
            0.1 + 0.2,
            123_456_789.125,
        ]),
        3 => any::<f64>().prop_map(|f| if f.is_nan() { f64::NAN } else { f }),
    ]
}

pub fn int() -> impl Strategy<Value = i64> {
    prop_oneof![1 => prop::sample::select(vec![i64::MIN, i64::MAX, 0, -1, 1]), 3 => any::<i64>()]
}

pub fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![1 => Just(Vec::new()), 3 => vec(any::<u8>(), 1..12)]
}

/// Every `AnyValue` shape, nested arrays and key-value lists included.
pub fn any_value() -> impl Strategy<Value = AnyValue> {
    use any_value::Value;
    let leaf = prop_oneof![
        1 => Just(None),
        3 => text().prop_map(|s| Some(Value::StringValue(s))),
        1 => any::<bool>().prop_map(|b| Some(Value::BoolValue(b))),
        2 => int().prop_map(|i| Some(Value::IntValue(i))),
        2 => double().prop_map(|f| Some(Value::DoubleValue(f))),
        1 => bytes().prop_map(|b| Some(Value::BytesValue(b))),
    ]
    .prop_map(|value| AnyValue { value });
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4)
                .prop_map(|values| AnyValue { value: Some(Value::ArrayValue(ArrayValue { values })) }),
            key_values(inner, 0..4)
                .prop_map(|values| AnyValue { value: Some(Value::KvlistValue(KeyValueList { values })) }),
        ]
    })
}

/// Key-values with unique keys (OTLP requires it); about one value in eight is absent
/// (`KeyValue.value = None`).
pub fn key_values(
    value: impl Strategy<Value = AnyValue>,
    len: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<KeyValue>> {
    vec((text(), prop::option::weighted(0.875, value)), len).prop_map(|pairs| {
        let mut seen = HashSet::new();
        pairs
            .into_iter()
            .map(|(mut key, value)| {
                while !seen.insert(key.clone()) {
                    key.push('#');
                }
                KeyValue { key, value, ..Default::default() }
            })
            .collect()
    })
}

/// An attribute list: usually small, sometimes large (up to 64 keys).
pub fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    prop_oneof![15 => key_values(any_value(), 0..5), 1 => key_values(any_value(), 20..65)]
}

/// Times: mostly within [`HOUR`], sometimes anywhere in `u64` (after 2262 included).
pub fn time() -> impl Strategy<Value = u64> {
    prop_oneof![
        14 => (0..3_600_000_000_000u64).prop_map(|t| HOUR + t),
        1 => prop::sample::select(vec![0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX]),
        1 => any::<u64>(),
    ]
}

/// An ID of `len` bytes, sometimes empty, rarely of another length (stored as hex, any length
/// round-trips).
pub fn id(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![6 => vec(any::<u8>(), len), 1 => Just(Vec::new()), 1 => vec(any::<u8>(), 0..40)]
}

pub fn enum_value(known: i32) -> impl Strategy<Value = i32> {
    prop_oneof![6 => 0..known, 1 => Just(42), 1 => any::<i32>()]
}

pub fn flags() -> impl Strategy<Value = u32> {
    prop_oneof![2 => Just(0u32), 1 => Just(0x301), 2 => any::<u32>()]
}

pub fn count() -> impl Strategy<Value = u32> {
    prop_oneof![3 => Just(0u32), 1 => any::<u32>()]
}

pub fn resource() -> impl Strategy<Value = Option<Resource>> {
    let entity_ref = (text(), text(), vec(text(), 0..3), vec(text(), 0..3)).prop_map(
        |(schema_url, r#type, id_keys, description_keys)| EntityRef { schema_url, r#type, id_keys, description_keys },
    );
    prop::option::weighted(
        0.8,
        (attributes(), count(), vec(entity_ref, 0..3)).prop_map(
            |(attributes, dropped_attributes_count, entity_refs)| Resource {
                attributes,
                dropped_attributes_count,
                entity_refs,
            },
        ),
    )
}

pub fn scope() -> impl Strategy<Value = Option<InstrumentationScope>> {
    prop::option::weighted(
        0.8,
        (text(), text(), attributes(), count()).prop_map(|(name, version, attributes, dropped_attributes_count)| {
            InstrumentationScope { name, version, attributes, dropped_attributes_count }
        }),
    )
}

/// One to `max - 1` elements, or (one time in ten) none.
pub fn list<S: Strategy>(element: S, max: usize) -> impl Strategy<Value = Vec<S::Value>> {
    (vec(element, 1..max), 0..10u8).prop_map(|(v, r)| if r == 0 { Vec::new() } else { v })
}

pub fn config() -> ProptestConfig {
    // No regression files: this suite must not write into the source tree.
    ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() }
}
