//! The resource and scope of a row, rendered once per resource and scope and appended to every
//! row that belongs to them.

use std::sync::Arc;

use crate::proto::common::v1::{EntityRef, InstrumentationScope};
use crate::proto::resource::v1::Resource;
use arrow_array::builder::{ListBuilder, StringBuilder, UInt32Builder};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Fields};

use super::attrs::{string_builder, AttrMapBuilder, RenderedAttrs};
use super::columns::list_of_struct;
use crate::attributes::AttrValue;

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

    pub(crate) fn new(
        attributes: RenderedAttrs,
        dropped: u32,
        schema_url: &str,
        entity_refs: Arc<Vec<EntityRef>>,
    ) -> Self {
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
