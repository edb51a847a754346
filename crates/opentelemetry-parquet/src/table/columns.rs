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
    TimestampNanosecondBuilder::new().with_timezone("UTC")
}

/// OTLP times are `fixed64` nanoseconds; Arrow timestamps are `i64`. The bits are kept as they
/// are, so times after 2262 (never produced by a real clock) read back exactly.
pub(crate) fn nanos_to_i64(nanos: u64) -> i64 {
    nanos as i64
}

pub(crate) fn i64_to_nanos(value: i64) -> u64 {
    value as u64
}

/// Lowercase hex of an ID; empty bytes give `""`.
pub(crate) fn append_hex(bytes: &[u8], out: &mut StringBuilder) {
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

fn map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    let names = MapFieldNames { entry: "key_value".into(), key: "key".into(), value: "value".into() };
    MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new())
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
    pub(crate) fn new<'a>(attrs: impl IntoIterator<Item = (&'a str, AttrValue<'a>)>) -> Self {
        let mut out = RenderedAttrs::default();
        for (key, value) in attrs {
            let (mut r, mut t) = (String::new(), String::new());
            attributes::render(value, &mut r, &mut t);
            out.bytes += key.len() + r.len() + t.len();
            out.entries.push((key.to_owned(), r, t));
        }
        out
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _, _)| k == key).map(|(_, v, _)| v.as_str())
    }

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

    /// Appends one entry to the current row; returns the bytes it added.
    pub(crate) fn append(&mut self, key: &str, value: AttrValue<'_>) -> usize {
        attributes::render(value, &mut self.rendered, &mut self.ty);
        self.values.keys().append_value(key);
        self.values.values().append_value(&self.rendered);
        self.types.keys().append_value(key);
        self.types.values().append_value(&self.ty);
        2 * key.len() + self.rendered.len() + self.ty.len() + 16
    }

    /// Appends the OTLP key-values to the current row; returns the bytes added.
    pub(crate) fn append_otlp(&mut self, attrs: &[KeyValue]) -> usize {
        attrs.iter().map(|kv| self.append(&kv.key, AttrValue::Otlp(kv.value.as_ref()))).sum()
    }

    /// Appends the API key-values to the current row; returns the bytes added.
    pub(crate) fn append_sdk<'a>(&mut self, attrs: impl IntoIterator<Item = &'a opentelemetry::KeyValue>) -> usize {
        attrs.into_iter().map(|kv| self.append(kv.key.as_str(), AttrValue::Sdk(&kv.value))).sum()
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
    pub(crate) entity_refs: Vec<EntityRef>,
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
            r.entity_refs.clone(),
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
            Vec::new(),
        )
    }

    fn new(attributes: RenderedAttrs, dropped: u32, schema_url: &str, entity_refs: Vec<EntityRef>) -> Self {
        let service_name = attributes.get("service.name").unwrap_or_default().to_owned();
        ResourceInfo {
            attributes,
            dropped_attributes_count: dropped,
            schema_url: schema_url.to_owned(),
            entity_refs,
            service_name,
        }
    }

    /// Approximate bytes this adds to every row.
    pub(crate) fn bytes(&self) -> usize {
        self.attributes.bytes() + self.schema_url.len() + self.service_name.len() + 16
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

    pub(crate) fn bytes(&self) -> usize {
        self.name.len() + self.version.len() + self.attributes.bytes() + self.schema_url.len() + 8
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
    entity_refs: Vec<Vec<EntityRef>>,
    scope_name: StringBuilder,
    scope_version: StringBuilder,
    scope_attributes: AttrMapBuilder,
    scope_dropped: UInt32Builder,
    scope_schema_url: StringBuilder,
}

impl Default for ResourceScopeColumns {
    fn default() -> Self {
        Self {
            service_name: StringBuilder::new(),
            resource_attributes: AttrMapBuilder::default(),
            resource_dropped: UInt32Builder::new(),
            resource_schema_url: StringBuilder::new(),
            entity_refs: Vec::new(),
            scope_name: StringBuilder::new(),
            scope_version: StringBuilder::new(),
            scope_attributes: AttrMapBuilder::default(),
            scope_dropped: UInt32Builder::new(),
            scope_schema_url: StringBuilder::new(),
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
        self.entity_refs.push(resource.entity_refs.clone());
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

fn finish_entity_refs(rows: Vec<Vec<EntityRef>>) -> ArrayRef {
    let mut schema_url = StringBuilder::new();
    let mut ty = StringBuilder::new();
    let mut id_keys = ListBuilder::new(StringBuilder::new());
    let mut description_keys = ListBuilder::new(StringBuilder::new());
    let mut lengths = Vec::with_capacity(rows.len());
    for row in &rows {
        lengths.push(row.len());
        for e in row {
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
            value: Float64Builder::new(),
            int_value: Int64Builder::new(),
            span_id: StringBuilder::new(),
            trace_id: StringBuilder::new(),
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

    pub(crate) fn read(value: &dyn Array, int_value: &dyn Array, row: usize) -> Number {
        let ints = int_value.as_primitive::<Int64Type>();
        let doubles = value.as_primitive::<Float64Type>();
        if ints.is_valid(row) {
            Number::Int(ints.value(row))
        } else if doubles.is_valid(row) {
            Number::Double(doubles.value(row))
        } else {
            Number::Unset
        }
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

    /// Appends one exemplar to the current row; returns the bytes added.
    pub(crate) fn append(
        &mut self,
        attributes: impl FnOnce(&mut AttrMapBuilder) -> usize,
        time: u64,
        value: Number,
        span_id: &[u8],
        trace_id: &[u8],
    ) -> usize {
        let bytes = attributes(&mut self.attributes);
        self.attributes.finish_row();
        self.time.append_value(nanos_to_i64(time));
        value.append(&mut self.value, &mut self.int_value);
        append_hex(span_id, &mut self.span_id);
        append_hex(trace_id, &mut self.trace_id);
        self.current += 1;
        bytes + 32 + 2 * (span_id.len() + trace_id.len())
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
        let keys = self.values.keys().as_string::<i32>();
        let values = self.values.values().as_string::<i32>();
        let types = self.types.values().as_string::<i32>();
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
    let entities = entity_list.values().as_struct();
    let (start, end) = list_range(entity_list, row);
    let schema_url = struct_child(entities, "SchemaUrl")?.as_string::<i32>();
    let ty = struct_child(entities, "Type")?.as_string::<i32>();
    let id_keys = struct_child(entities, "IdKeys")?.as_list::<i32>();
    let description_keys = struct_child(entities, "DescriptionKeys")?.as_list::<i32>();
    let strings = |list: &ListArray, i: usize| -> Vec<String> {
        let (s, e) = list_range(list, i);
        let values = list.values().as_string::<i32>();
        (s..e).map(|j| values.value(j).to_owned()).collect()
    };
    let entity_refs = (start..end)
        .map(|i| EntityRef {
            schema_url: schema_url.value(i).to_owned(),
            r#type: ty.value(i).to_owned(),
            id_keys: strings(id_keys, i),
            description_keys: strings(description_keys, i),
        })
        .collect();
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
    let items = list.values().as_struct();
    let attrs = AttrColumns::from_struct(items, "FilteredAttributes")?;
    let time = struct_child(items, "TimeUnix")?.as_primitive::<TimestampNanosecondType>();
    let value = struct_child(items, "Value")?;
    let int_value = struct_child(items, "IntValue")?;
    let span_id = struct_child(items, "SpanId")?.as_string::<i32>();
    let trace_id = struct_child(items, "TraceId")?.as_string::<i32>();
    let (start, end) = list_range(list, row);
    (start..end)
        .map(|i| {
            Ok(Exemplar {
                filtered_attributes: attrs.read(i)?,
                time_unix_nano: i64_to_nanos(time.value(i)),
                value: match Number::read(value, int_value, i) {
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
