//! Reading stored batches: typed, checked access to columns (errors name the column and the
//! type found, never a panic), attribute maps, resource and scope, exemplars.

use crate::proto::common::v1::{EntityRef, InstrumentationScope, KeyValue};
use crate::proto::resource::v1::Resource;
use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampNanosecondType, UInt32Type};
use arrow_array::{Array, ArrayRef, ListArray, MapArray, RecordBatch, StringArray, StructArray};
use arrow_schema::DataType;

use super::columns::{i64_to_nanos, parse_hex, Number};
use crate::attributes;

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

/// The `X` / `XTypes` pair of attribute columns: `XTypes` a `Utf8` string of type codes per row
/// (schema version 2) or a `Map<Utf8, Utf8>` twin of `X` (version 1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttrColumns<'a> {
    values: &'a MapArray,
    types: AttrTypes<'a>,
}

#[derive(Debug, Clone, Copy)]
enum AttrTypes<'a> {
    Codes(&'a StringArray),
    Map(&'a MapArray),
}

impl<'a> AttrColumns<'a> {
    pub(crate) fn new(values: &'a ArrayRef, types: &'a ArrayRef, name: &str) -> ReadResult<Self> {
        let values = values.as_map_opt().ok_or_else(|| format!("column {name} is not a Map"))?;
        let types = match (types.as_string_opt::<i32>(), types.as_map_opt()) {
            (Some(codes), _) => AttrTypes::Codes(codes),
            (None, Some(map)) => AttrTypes::Map(map),
            (None, None) => return Err(format!("column {name}Types is neither Utf8 nor a Map")),
        };
        Ok(AttrColumns { values, types })
    }

    pub(crate) fn from_struct(array: &'a StructArray, name: &str) -> ReadResult<Self> {
        Self::new(struct_child(array, name)?, struct_child(array, &format!("{name}Types"))?, name)
    }

    pub(crate) fn read(&self, row: usize) -> ReadResult<Vec<KeyValue>> {
        let (start, end) = (self.values.value_offsets()[row] as usize, self.values.value_offsets()[row + 1] as usize);
        let keys = self.values.keys().checked_string()?;
        let values = self.values.values().checked_string()?;
        let entry = |i: usize, ty: &str| {
            let key = keys.value(start + i).to_owned();
            let value =
                attributes::parse(values.value(start + i), ty).map_err(|e| format!("attribute {key:?}: {e}"))?;
            Ok(attributes::key_value(key, value))
        };
        match self.types {
            AttrTypes::Codes(codes) => {
                let mut out = Vec::with_capacity(end - start);
                for ty in attributes::type_entries(codes.value(row)) {
                    if out.len() == end - start {
                        return Err("attribute types name more entries than the map has".into());
                    }
                    out.push(entry(out.len(), ty?)?);
                }
                if out.len() != end - start {
                    return Err("attribute types name fewer entries than the map has".into());
                }
                Ok(out)
            }
            AttrTypes::Map(types) => {
                let (tstart, tend) = (types.value_offsets()[row] as usize, types.value_offsets()[row + 1] as usize);
                if end - start != tend - tstart {
                    return Err("attribute map and its Types map have different lengths".into());
                }
                let types = types.values().checked_string()?;
                (0..end - start).map(|i| entry(i, types.value(tstart + i))).collect()
            }
        }
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
pub(crate) fn read_exemplars(list: &ListArray, row: usize) -> ReadResult<Vec<crate::proto::metrics::v1::Exemplar>> {
    use crate::proto::metrics::v1::{exemplar, Exemplar};
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
