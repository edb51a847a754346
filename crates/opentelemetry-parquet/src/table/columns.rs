//! Column builders and readers shared by every table: attribute maps, resource and scope
//! columns, exemplars, IDs and timestamps.

use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, Int64Builder, ListBuilder, MapBuilder, MapFieldNames, StringBuilder, TimestampNanosecondBuilder,
    UInt32Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType, UInt32Type};
use arrow_array::{Array, ArrayRef, ListArray, MapArray, RecordBatch, StringArray, StructArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use opentelemetry_proto::tonic::common::v1::{EntityRef, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::attributes::{self, AttrValue};

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

/// Lowercase hex of an ID. Empty and all-zero IDs (invalid in OTLP) give `""`, as the
/// ClickHouse exporter writes them.
pub(crate) fn append_hex(bytes: &[u8], out: &mut StringBuilder) {
    if bytes.iter().all(|b| *b == 0) {
        out.append_value("");
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 64];
    if bytes.len() * 2 <= buf.len() {
        for (i, b) in bytes.iter().enumerate() {
            buf[2 * i] = HEX[(b >> 4) as usize];
            buf[2 * i + 1] = HEX[(b & 0xf) as usize];
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

/// A string builder that allocates nothing until used: a partition's builders cost only their
/// struct size until rows arrive (see `size::BUILDER_BYTES`).
pub(crate) fn string_builder() -> StringBuilder {
    StringBuilder::with_capacity(0, 0)
}

fn map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    let names = MapFieldNames { entry: "key_value".into(), key: "key".into(), value: "value".into() };
    MapBuilder::with_capacity(Some(names), string_builder(), string_builder(), 0)
}

/// Which entries to keep so that keys are unique, the last occurrence of a key winning (OTLP
/// requires unique keys; SDK 0.31 span attributes keep duplicates, and a map with duplicate
/// keys makes DuckDB refuse the whole file). `None` when the keys are already unique.
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
    entries: Vec<(String, String, String)>,
    bytes: usize,
}

impl RenderedAttrs {
    /// Renders the attributes, keys made unique (the last value wins). Their values must be
    /// measured (nesting bounded) first.
    pub(crate) fn new<'a>(attrs: impl IntoIterator<Item = (&'a str, AttrValue<'a>)>) -> Self {
        let attrs: Vec<_> = attrs.into_iter().collect();
        let mut out = RenderedAttrs::default();
        for (key, value) in unique_items(&attrs, |(k, _)| k) {
            let (mut r, mut t) = (String::new(), String::new());
            attributes::render(*value, &mut r, &mut t);
            out.bytes += 2 * key.len() + r.len() + t.len() + 24;
            out.entries.push(((*key).to_owned(), r, t));
        }
        out
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _, _)| k == key).map(|(_, v, _)| v.as_str())
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
    types: MapBuilder<StringBuilder, StringBuilder>,
    rendered: String,
    ty: String,
}

impl Default for AttrMapBuilder {
    fn default() -> Self {
        Self { values: map_builder(), types: map_builder(), rendered: String::new(), ty: String::new() }
    }
}

impl AttrMapBuilder {
    /// The two fields, `name` and `nameTypes`.
    pub(crate) fn fields(name: &str) -> [Field; 2] {
        [Field::new(name, map_type(), false), Field::new(format!("{name}Types"), map_type(), false)]
    }

    /// Appends one entry to the current row.
    fn append(&mut self, key: &str, value: AttrValue<'_>) {
        attributes::render(value, &mut self.rendered, &mut self.ty);
        self.values.keys().append_value(key);
        self.values.values().append_value(&self.rendered);
        self.types.keys().append_value(key);
        self.types.values().append_value(&self.ty);
    }

    /// Appends the OTLP key-values to the current row, keys made unique (the last value wins).
    pub(crate) fn append_otlp(&mut self, attrs: &[KeyValue]) {
        for kv in unique_items(attrs, |kv| &kv.key) {
            self.append(&kv.key, AttrValue::Otlp(kv.value.as_ref()));
        }
    }

    /// Appends the API key-values to the current row, keys made unique (the last value wins).
    pub(crate) fn append_sdk(&mut self, attrs: &[opentelemetry::KeyValue]) {
        for kv in unique_items(attrs, |kv| kv.key.as_str()) {
            self.append(kv.key.as_str(), AttrValue::Sdk(&kv.value));
        }
    }

    /// Appends API key-values that are unique already: the SDK's metric data points carry an
    /// attribute set, deduplicated by the SDK.
    pub(crate) fn append_sdk_set<'a>(&mut self, attrs: impl IntoIterator<Item = &'a opentelemetry::KeyValue>) {
        for kv in attrs {
            self.append(kv.key.as_str(), AttrValue::Sdk(&kv.value));
        }
    }

    pub(crate) fn append_rendered(&mut self, attrs: &RenderedAttrs) {
        for (k, v, t) in &attrs.entries {
            self.values.keys().append_value(k);
            self.values.values().append_value(v);
            self.types.keys().append_value(k);
            self.types.values().append_value(t);
        }
    }

    /// Ends the current row.
    pub(crate) fn finish_row(&mut self) {
        // Appending a map entry never fails for these builders (keys are never null).
        let _ = self.values.append(true);
        let _ = self.types.append(true);
    }

    pub(crate) fn finish(&mut self) -> [ArrayRef; 2] {
        [Arc::new(self.values.finish()), Arc::new(self.types.finish())]
    }
}

/// Resource and scope, rendered once per `ResourceSpans` / `ScopeMetrics` and appended to every
/// row that belongs to them.
#[derive(Debug, Default, Clone)]
pub(crate) struct ResourceInfo {
    pub(crate) attributes: RenderedAttrs,
    pub(crate) dropped_attributes_count: u32,
    pub(crate) schema_url: String,
    /// Shared by every row of the resource (one copy in memory until the batch is finished).
    pub(crate) entity_refs: Arc<Vec<EntityRef>>,
    pub(crate) service_name: String,
}

impl ResourceInfo {
    pub(crate) fn from_otlp(resource: Option<&Resource>, schema_url: &str) -> Self {
        let Some(r) = resource else {
            return ResourceInfo { schema_url: schema_url.to_owned(), ..Default::default() };
        };
        Self::new(
            RenderedAttrs::new(r.attributes.iter().map(|kv| (kv.key.as_str(), AttrValue::Otlp(kv.value.as_ref())))),
            r.dropped_attributes_count,
            schema_url,
            Arc::new(r.entity_refs.clone()),
        )
    }

    /// The SDK keeps resource attributes in a hash map whose iteration order differs between
    /// `Resource` instances; they are stored sorted by key so equal resources store equal rows.
    pub(crate) fn from_sdk(resource: &opentelemetry_sdk::Resource) -> Self {
        let mut attributes: Vec<_> = resource.iter().collect();
        attributes.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        Self::new(
            RenderedAttrs::new(attributes.into_iter().map(|(k, v)| (k.as_str(), AttrValue::Sdk(v)))),
            0,
            resource.schema_url().unwrap_or_default(),
            Arc::default(),
        )
    }

    fn new(attributes: RenderedAttrs, dropped: u32, schema_url: &str, entity_refs: Arc<Vec<EntityRef>>) -> Self {
        let service_name = attributes.get("service.name").unwrap_or_default().to_owned();
        ResourceInfo {
            attributes,
            dropped_attributes_count: dropped,
            schema_url: schema_url.to_owned(),
            entity_refs,
            service_name,
        }
    }

    /// The bytes this adds to every row (the entity references are rendered per row when the
    /// batch is finished).
    pub(crate) fn bytes(&self) -> usize {
        let entity_refs: usize = self
            .entity_refs
            .iter()
            .map(|e| {
                crate::size::ITEM_BYTES
                    + e.schema_url.len()
                    + e.r#type.len()
                    + e.id_keys.iter().chain(&e.description_keys).map(|k| k.len() + 8).sum::<usize>()
            })
            .sum();
        self.attributes.bytes() + self.schema_url.len() + self.service_name.len() + entity_refs + 32
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ScopeInfo {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) attributes: RenderedAttrs,
    pub(crate) dropped_attributes_count: u32,
    pub(crate) schema_url: String,
}

impl ScopeInfo {
    pub(crate) fn from_otlp(scope: Option<&InstrumentationScope>, schema_url: &str) -> Self {
        let Some(s) = scope else {
            return ScopeInfo { schema_url: schema_url.to_owned(), ..Default::default() };
        };
        ScopeInfo {
            name: s.name.clone(),
            version: s.version.clone(),
            attributes: RenderedAttrs::new(
                s.attributes.iter().map(|kv| (kv.key.as_str(), AttrValue::Otlp(kv.value.as_ref()))),
            ),
            dropped_attributes_count: s.dropped_attributes_count,
            schema_url: schema_url.to_owned(),
        }
    }

    pub(crate) fn from_sdk(scope: &opentelemetry::InstrumentationScope) -> Self {
        ScopeInfo {
            name: scope.name().to_owned(),
            version: scope.version().unwrap_or_default().to_owned(),
            attributes: RenderedAttrs::new(scope.attributes().map(|kv| (kv.key.as_str(), AttrValue::Sdk(&kv.value)))),
            dropped_attributes_count: 0,
            schema_url: scope.schema_url().unwrap_or_default().to_owned(),
        }
    }

    /// The bytes this adds to every row.
    pub(crate) fn bytes(&self) -> usize {
        self.name.len() + self.version.len() + self.attributes.bytes() + self.schema_url.len() + 24
    }
}

fn entity_ref_fields() -> Fields {
    let strings = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    Fields::from(vec![
        Field::new("SchemaUrl", DataType::Utf8, false),
        Field::new("Type", DataType::Utf8, false),
        Field::new("IdKeys", strings.clone(), false),
        Field::new("DescriptionKeys", strings, false),
    ])
}

/// The columns every table has: service name, resource and scope.
#[derive(Debug)]
pub(crate) struct ResourceScopeColumns {
    service_name: StringBuilder,
    resource_attributes: AttrMapBuilder,
    resource_dropped: UInt32Builder,
    resource_schema_url: StringBuilder,
    entity_refs: Vec<Arc<Vec<EntityRef>>>,
    scope_name: StringBuilder,
    scope_version: StringBuilder,
    scope_attributes: AttrMapBuilder,
    scope_dropped: UInt32Builder,
    scope_schema_url: StringBuilder,
}

impl Default for ResourceScopeColumns {
    fn default() -> Self {
        Self {
            service_name: string_builder(),
            resource_attributes: AttrMapBuilder::default(),
            resource_dropped: UInt32Builder::with_capacity(0),
            resource_schema_url: string_builder(),
            entity_refs: Vec::new(),
            scope_name: string_builder(),
            scope_version: string_builder(),
            scope_attributes: AttrMapBuilder::default(),
            scope_dropped: UInt32Builder::with_capacity(0),
            scope_schema_url: string_builder(),
        }
    }
}

impl ResourceScopeColumns {
    pub(crate) fn fields() -> Vec<Field> {
        let [ra, rat] = AttrMapBuilder::fields("ResourceAttributes");
        let [sa, sat] = AttrMapBuilder::fields("ScopeAttributes");
        vec![
            Field::new("ServiceName", DataType::Utf8, false),
            ra,
            rat,
            Field::new("ResourceDroppedAttributesCount", DataType::UInt32, false),
            Field::new("ResourceSchemaUrl", DataType::Utf8, false),
            Field::new(
                "ResourceEntityRefs",
                DataType::List(Arc::new(Field::new("item", DataType::Struct(entity_ref_fields()), false))),
                false,
            ),
            Field::new("ScopeName", DataType::Utf8, false),
            Field::new("ScopeVersion", DataType::Utf8, false),
            sa,
            sat,
            Field::new("ScopeDroppedAttrCount", DataType::UInt32, false),
            Field::new("ScopeSchemaUrl", DataType::Utf8, false),
        ]
    }

    pub(crate) fn append(&mut self, resource: &ResourceInfo, scope: &ScopeInfo) {
        self.service_name.append_value(&resource.service_name);
        self.resource_attributes.append_rendered(&resource.attributes);
        self.resource_attributes.finish_row();
        self.resource_dropped.append_value(resource.dropped_attributes_count);
        self.resource_schema_url.append_value(&resource.schema_url);
        self.entity_refs.push(Arc::clone(&resource.entity_refs));
        self.scope_name.append_value(&scope.name);
        self.scope_version.append_value(&scope.version);
        self.scope_attributes.append_rendered(&scope.attributes);
        self.scope_attributes.finish_row();
        self.scope_dropped.append_value(scope.dropped_attributes_count);
        self.scope_schema_url.append_value(&scope.schema_url);
    }

    pub(crate) fn finish(&mut self) -> Vec<ArrayRef> {
        let [ra, rat] = self.resource_attributes.finish();
        let [sa, sat] = self.scope_attributes.finish();
        vec![
            Arc::new(self.service_name.finish()),
            ra,
            rat,
            Arc::new(self.resource_dropped.finish()),
            Arc::new(self.resource_schema_url.finish()),
            finish_entity_refs(std::mem::take(&mut self.entity_refs)),
            Arc::new(self.scope_name.finish()),
            Arc::new(self.scope_version.finish()),
            sa,
            sat,
            Arc::new(self.scope_dropped.finish()),
            Arc::new(self.scope_schema_url.finish()),
        ]
    }
}

fn finish_entity_refs(rows: Vec<Arc<Vec<EntityRef>>>) -> ArrayRef {
    let mut schema_url = string_builder();
    let mut ty = string_builder();
    let mut id_keys = ListBuilder::with_capacity(string_builder(), 0);
    let mut description_keys = ListBuilder::with_capacity(string_builder(), 0);
    let mut lengths = Vec::with_capacity(rows.len());
    for row in &rows {
        lengths.push(row.len());
        for e in row.iter() {
            schema_url.append_value(&e.schema_url);
            ty.append_value(&e.r#type);
            for k in &e.id_keys {
                id_keys.values().append_value(k);
            }
            id_keys.append(true);
            for k in &e.description_keys {
                description_keys.values().append_value(k);
            }
            description_keys.append(true);
        }
    }
    let fields = entity_ref_fields();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(schema_url.finish()),
        Arc::new(ty.finish()),
        Arc::new(id_keys.finish()),
        Arc::new(description_keys.finish()),
    ];
    list_of_struct(fields, columns, lengths)
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

// ---------------------------------------------------------------------------------------------
// Reading

/// Typed access to the columns of a stored batch, by name, with errors naming the column.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Columns<'a> {
    batch: &'a RecordBatch,
}

pub(crate) type ReadResult<T> = Result<T, String>;

impl<'a> Columns<'a> {
    pub(crate) fn new(batch: &'a RecordBatch) -> Self {
        Columns { batch }
    }

    pub(crate) fn get(&self, name: &str) -> ReadResult<&'a ArrayRef> {
        self.batch.column_by_name(name).ok_or_else(|| format!("missing column {name}"))
    }

    pub(crate) fn strings(&self, name: &str) -> ReadResult<&'a StringArray> {
        self.get(name)?.as_string_opt::<i32>().ok_or_else(|| format!("column {name} is not Utf8"))
    }

    pub(crate) fn u32s(&self, name: &str) -> ReadResult<&'a arrow_array::UInt32Array> {
        self.get(name)?.as_primitive_opt::<UInt32Type>().ok_or_else(|| format!("column {name} is not UInt32"))
    }

    pub(crate) fn timestamps(&self, name: &str) -> ReadResult<&'a arrow_array::TimestampNanosecondArray> {
        self.get(name)?
            .as_primitive_opt::<TimestampNanosecondType>()
            .ok_or_else(|| format!("column {name} is not Timestamp(ns)"))
    }

    pub(crate) fn list(&self, name: &str) -> ReadResult<&'a ListArray> {
        self.get(name)?.as_list_opt::<i32>().ok_or_else(|| format!("column {name} is not a List"))
    }

    pub(crate) fn attrs(&self, name: &str) -> ReadResult<AttrColumns<'a>> {
        AttrColumns::new(self.get(name)?, self.get(&format!("{name}Types"))?, name)
    }
}

/// Casts that fail with an error naming the type found, instead of panicking, for files whose
/// nested columns do not have the types this crate writes.
pub(crate) trait Checked {
    fn checked_struct(&self) -> ReadResult<&StructArray>;
    fn checked_string(&self) -> ReadResult<&StringArray>;
    fn checked_list(&self) -> ReadResult<&ListArray>;
    fn checked_bool(&self) -> ReadResult<&arrow_array::BooleanArray>;
    fn checked_primitive<T: arrow_array::ArrowPrimitiveType>(&self) -> ReadResult<&arrow_array::PrimitiveArray<T>>;
}

fn unexpected(expected: &str, found: &DataType) -> String {
    format!("expected a {expected} column, found {found}")
}

impl Checked for dyn Array + '_ {
    fn checked_struct(&self) -> ReadResult<&StructArray> {
        self.as_struct_opt().ok_or_else(|| unexpected("Struct", self.data_type()))
    }
    fn checked_string(&self) -> ReadResult<&StringArray> {
        self.as_string_opt::<i32>().ok_or_else(|| unexpected("Utf8", self.data_type()))
    }
    fn checked_list(&self) -> ReadResult<&ListArray> {
        self.as_list_opt::<i32>().ok_or_else(|| unexpected("List", self.data_type()))
    }
    fn checked_bool(&self) -> ReadResult<&arrow_array::BooleanArray> {
        self.as_boolean_opt().ok_or_else(|| unexpected("Boolean", self.data_type()))
    }
    fn checked_primitive<T: arrow_array::ArrowPrimitiveType>(&self) -> ReadResult<&arrow_array::PrimitiveArray<T>> {
        self.as_primitive_opt::<T>().ok_or_else(|| unexpected(&T::DATA_TYPE.to_string(), self.data_type()))
    }
}

/// A struct array's children by name.
pub(crate) fn struct_child<'a>(array: &'a StructArray, name: &str) -> ReadResult<&'a ArrayRef> {
    array.column_by_name(name).ok_or_else(|| format!("missing struct field {name}"))
}

/// The `X` / `XTypes` pair of map columns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttrColumns<'a> {
    values: &'a MapArray,
    types: &'a MapArray,
}

impl<'a> AttrColumns<'a> {
    pub(crate) fn new(values: &'a ArrayRef, types: &'a ArrayRef, name: &str) -> ReadResult<Self> {
        let values = values.as_map_opt().ok_or_else(|| format!("column {name} is not a Map"))?;
        let types = types.as_map_opt().ok_or_else(|| format!("column {name}Types is not a Map"))?;
        Ok(AttrColumns { values, types })
    }

    pub(crate) fn from_struct(array: &'a StructArray, name: &str) -> ReadResult<Self> {
        Self::new(struct_child(array, name)?, struct_child(array, &format!("{name}Types"))?, name)
    }

    pub(crate) fn read(&self, row: usize) -> ReadResult<Vec<KeyValue>> {
        let (start, end) = (self.values.value_offsets()[row] as usize, self.values.value_offsets()[row + 1] as usize);
        let (tstart, tend) = (self.types.value_offsets()[row] as usize, self.types.value_offsets()[row + 1] as usize);
        if end - start != tend - tstart {
            return Err("attribute map and its Types map have different lengths".into());
        }
        let keys = self.values.keys().checked_string()?;
        let values = self.values.values().checked_string()?;
        let types = self.types.values().checked_string()?;
        (0..end - start)
            .map(|i| {
                let key = keys.value(start + i).to_owned();
                let value = attributes::parse(values.value(start + i), types.value(tstart + i))
                    .map_err(|e| format!("attribute {key:?}: {e}"))?;
                Ok(KeyValue { key, value })
            })
            .collect()
    }
}

/// The `(start, end)` range of a list row.
pub(crate) fn list_range(list: &ListArray, row: usize) -> (usize, usize) {
    let offsets = list.value_offsets();
    (offsets[row] as usize, offsets[row + 1] as usize)
}

/// Reads the resource and scope columns of one row.
pub(crate) fn read_resource_scope(
    cols: &Columns<'_>,
    row: usize,
) -> ReadResult<(Resource, String, InstrumentationScope, String)> {
    let entity_list = cols.list("ResourceEntityRefs")?;
    let entities = entity_list.values().checked_struct()?;
    let (start, end) = list_range(entity_list, row);
    let schema_url = struct_child(entities, "SchemaUrl")?.checked_string()?;
    let ty = struct_child(entities, "Type")?.checked_string()?;
    let id_keys = struct_child(entities, "IdKeys")?.checked_list()?;
    let description_keys = struct_child(entities, "DescriptionKeys")?.checked_list()?;
    let strings = |list: &ListArray, i: usize| -> ReadResult<Vec<String>> {
        let (s, e) = list_range(list, i);
        let values = list.values().checked_string()?;
        Ok((s..e).map(|j| values.value(j).to_owned()).collect())
    };
    let entity_refs = (start..end)
        .map(|i| {
            Ok(EntityRef {
                schema_url: schema_url.value(i).to_owned(),
                r#type: ty.value(i).to_owned(),
                id_keys: strings(id_keys, i)?,
                description_keys: strings(description_keys, i)?,
            })
        })
        .collect::<ReadResult<_>>()?;
    let resource = Resource {
        attributes: cols.attrs("ResourceAttributes")?.read(row)?,
        dropped_attributes_count: cols.u32s("ResourceDroppedAttributesCount")?.value(row),
        entity_refs,
    };
    let scope = InstrumentationScope {
        name: cols.strings("ScopeName")?.value(row).to_owned(),
        version: cols.strings("ScopeVersion")?.value(row).to_owned(),
        attributes: cols.attrs("ScopeAttributes")?.read(row)?,
        dropped_attributes_count: cols.u32s("ScopeDroppedAttrCount")?.value(row),
    };
    Ok((
        resource,
        cols.strings("ResourceSchemaUrl")?.value(row).to_owned(),
        scope,
        cols.strings("ScopeSchemaUrl")?.value(row).to_owned(),
    ))
}

/// Reads the exemplars of one row.
pub(crate) fn read_exemplars(
    list: &ListArray,
    row: usize,
) -> ReadResult<Vec<opentelemetry_proto::tonic::metrics::v1::Exemplar>> {
    use opentelemetry_proto::tonic::metrics::v1::{exemplar, Exemplar};
    let items = list.values().checked_struct()?;
    let attrs = AttrColumns::from_struct(items, "FilteredAttributes")?;
    let time = struct_child(items, "TimeUnix")?.checked_primitive::<TimestampNanosecondType>()?;
    let value = struct_child(items, "Value")?;
    let int_value = struct_child(items, "IntValue")?;
    let span_id = struct_child(items, "SpanId")?.checked_string()?;
    let trace_id = struct_child(items, "TraceId")?.checked_string()?;
    let (start, end) = list_range(list, row);
    (start..end)
        .map(|i| {
            Ok(Exemplar {
                filtered_attributes: attrs.read(i)?,
                time_unix_nano: i64_to_nanos(time.value(i)),
                value: match Number::read(value, int_value, i)? {
                    Number::Double(f) => Some(exemplar::Value::AsDouble(f)),
                    Number::Int(n) => Some(exemplar::Value::AsInt(n)),
                    Number::Unset => None,
                },
                span_id: parse_hex(span_id.value(i))?,
                trace_id: parse_hex(trace_id.value(i))?,
            })
        })
        .collect()
}
