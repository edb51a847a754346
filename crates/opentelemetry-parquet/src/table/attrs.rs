//! Attribute map columns: `X` (the ClickHouse rendering, unique keys) and `XTypes` (one type
//! code per entry, see [`attributes`](crate::attributes)).

use std::sync::Arc;

use crate::proto::common::v1::KeyValue;
use arrow_array::builder::{MapBuilder, MapFieldNames, StringBuilder};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field};

use crate::attributes::{self, AttrValue};

/// A string builder that allocates nothing until used: a partition's builders cost only their
/// struct size until rows arrive (see `size::BUILDER_BYTES`).
pub(crate) fn string_builder() -> StringBuilder {
    StringBuilder::with_capacity(0, 0)
}

/// A `Map<Utf8, Utf8>` builder with non-null values, so that ClickHouse reads the column as
/// `Map(String, String)` (a missing key gives `''`, as in the exporter's tables) rather than
/// `Map(String, Nullable(String))`.
fn map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    let names = MapFieldNames { entry: "key_value".into(), key: "key".into(), value: "value".into() };
    MapBuilder::with_capacity(Some(names), string_builder(), string_builder(), 0).with_values_field(Field::new(
        "value",
        DataType::Utf8,
        false,
    ))
}

/// Which entries to keep so that keys are unique, the last occurrence of a key winning (OTLP
/// requires unique keys; the SDK's span attributes keep duplicates, and a map with duplicate
/// keys makes DuckDB refuse the whole file). `None` when the keys are already unique.
#[inline]
pub(crate) fn unique_last<T>(items: &[T], key: impl Fn(&T) -> &str) -> Option<Vec<bool>> {
    let n = items.len();
    let has_duplicates = if n < 2 {
        false
    } else if n <= 16 {
        (1..n).any(|i| (0..i).any(|j| key(&items[i]) == key(&items[j])))
    } else {
        let mut seen = std::collections::HashSet::with_capacity(n);
        !items.iter().all(|item| seen.insert(key(item)))
    };
    if !has_duplicates {
        return None;
    }
    let mut seen = std::collections::HashSet::with_capacity(n);
    let mut keep = vec![false; n];
    for i in (0..n).rev() {
        keep[i] = seen.insert(key(&items[i]));
    }
    Some(keep)
}

/// The items of a list that survive [`unique_last`], in their order.
#[inline]
pub(crate) fn unique_items<'a, T>(items: &'a [T], key: impl Fn(&T) -> &str) -> impl Iterator<Item = &'a T> + 'a {
    let keep = unique_last(items, key);
    items.iter().enumerate().filter(move |(i, _)| keep.as_ref().is_none_or(|k| k[*i])).map(|(_, item)| item)
}

/// `Map<Utf8, Utf8>` as the attribute columns use it.
pub(crate) fn map_type() -> DataType {
    map_builder().finish().data_type().clone()
}

/// An attribute map rendered once and appended to many rows (resource and scope attributes).
#[derive(Debug, Default, Clone)]
pub(crate) struct RenderedAttrs {
    /// Key and rendered value of each entry.
    entries: Vec<(String, String)>,
    /// The `XTypes` string of the whole map.
    types: String,
    bytes: usize,
}

impl RenderedAttrs {
    /// Renders the attributes, keys made unique (the last value wins). Their values must be
    /// measured (nesting bounded) first.
    pub(crate) fn new<'a>(attrs: impl IntoIterator<Item = (&'a str, AttrValue<'a>)>) -> Self {
        let attrs: Vec<_> = attrs.into_iter().collect();
        let mut out = RenderedAttrs::default();
        for (key, value) in unique_items(&attrs, |(k, _)| k) {
            let mut r = String::new();
            attributes::render(*value, &mut r, &mut out.types);
            out.bytes += key.len() + r.len() + 16;
            out.entries.push(((*key).to_owned(), r));
        }
        out.bytes += out.types.len();
        out
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The bytes these attributes add to every row they are appended to.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Builds an attribute map column `X` and its type column `XTypes`.
#[derive(Debug)]
pub(crate) struct AttrMapBuilder {
    values: MapBuilder<StringBuilder, StringBuilder>,
    types: StringBuilder,
    rendered: String,
    /// The `XTypes` string of the current row.
    row_types: String,
}

impl Default for AttrMapBuilder {
    fn default() -> Self {
        Self { values: map_builder(), types: string_builder(), rendered: String::new(), row_types: String::new() }
    }
}

impl AttrMapBuilder {
    /// The two fields, `name` (`Map<Utf8, Utf8>`) and `nameTypes` (`Utf8`).
    pub(crate) fn fields(name: &str) -> [Field; 2] {
        [Field::new(name, map_type(), false), Field::new(format!("{name}Types"), DataType::Utf8, false)]
    }

    /// Appends one entry to the current row.
    pub(crate) fn append(&mut self, key: &str, value: AttrValue<'_>) {
        attributes::render(value, &mut self.rendered, &mut self.row_types);
        self.values.keys().append_value(key);
        self.values.values().append_value(&self.rendered);
    }

    /// Appends the OTLP key-values to the current row, keys made unique (the last value wins).
    pub(crate) fn append_otlp(&mut self, attrs: &[KeyValue]) {
        for kv in unique_items(attrs, |kv| &kv.key) {
            self.append(&kv.key, AttrValue::Otlp(kv.value.as_ref()));
        }
    }

    pub(crate) fn append_rendered(&mut self, attrs: &RenderedAttrs) {
        for (k, v) in &attrs.entries {
            self.values.keys().append_value(k);
            self.values.values().append_value(v);
        }
        self.row_types.push_str(&attrs.types);
    }

    /// Ends the current row.
    pub(crate) fn finish_row(&mut self) {
        // Appending a map entry never fails for these builders (keys are never null).
        let _ = self.values.append(true);
        self.types.append_value(&self.row_types);
        self.row_types.clear();
    }

    pub(crate) fn finish(&mut self) -> [ArrayRef; 2] {
        [Arc::new(self.values.finish()), Arc::new(self.types.finish())]
    }
}
