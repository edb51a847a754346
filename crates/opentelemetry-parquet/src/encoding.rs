//! How every column is laid out in a Parquet file: which columns keep statistics, which are
//! dictionary-encoded, which are delta-encoded, and the schema version each file records in its
//! key-value metadata.
//!
//! The choices follow what the data is and what readers do with it, column by column:
//!
//! - **Statistics** (min/max per column chunk) only on the columns queries filter on and whose
//!   values cluster within a file: the row time (`Timestamp`, `TimeUnix`, `StartTimeUnix`),
//!   `ServiceName`, `SpanName`, `MetricName`. Min/max of a random ID or of an attribute map's
//!   leaf never prunes anything and costs a comparison per value.
//! - **Dictionary encoding** only on the columns queries group by (`ServiceName`, `SpanName`,
//!   `MetricName`, `SeverityText`). Everywhere else plain encoding and zstd: repeated values (keys, enums,
//!   resource and scope columns) compress to almost nothing either way, and interning every
//!   value in a dictionary cost a sixth of the instructions of writing spans for 1.5% smaller
//!   files (measured with `cargo xtask bench`).
//! - **No compression for small column chunks** (under [`COMPRESS_MIN_BYTES`]): see there.
//! - **Delta encoding** (`DELTA_BINARY_PACKED`) of every timestamp: the times of a file are
//!   close to each other, so their deltas take a few bits where a plain `i64` takes 8 bytes.
//! - **`DELTA_LENGTH_BYTE_ARRAY`** for the IDs, the attribute values and log bodies, the bulk of a file:
//!   the lengths are delta-encoded apart from the bytes, so zstd sees the hex digits and the
//!   values without a length between each (7% smaller span files, for no more instructions).

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{ArrowError, DataType, Schema};
use parquet::arrow::ArrowSchemaConverter;
use parquet::basic::{Compression, Encoding, LogicalType, Type as PhysicalType};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::{ColumnPath, SchemaDescriptor};

/// The key under which every file records its [`SCHEMA_VERSION`], in the Parquet footer's
/// key-value metadata and in the Arrow schema metadata (Arrow IPC files).
pub const SCHEMA_VERSION_KEY: &str = "opentelemetry-parquet.schema_version";

/// The version of the table layout this crate writes.
///
/// - `1` (0.1.0 before this key existed; files without the key are version 1): every attribute
///   map `X` has a `Map<Utf8, Utf8>` twin `XTypes` with the same keys.
/// - `2`: `XTypes` is one `Utf8` string per row, one type code per entry of `X` in order (see
///   the README's schema section); map values are non-null.
///
/// [`StoreReader`](crate::StoreReader) reads every version up to this one.
pub const SCHEMA_VERSION: u32 = 2;

/// `batch` with [`SCHEMA_VERSION_KEY`] in its schema's metadata (for Arrow IPC files).
pub(crate) fn with_version_metadata(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let mut metadata = batch.schema().metadata().clone();
    metadata.insert(SCHEMA_VERSION_KEY.to_owned(), SCHEMA_VERSION.to_string());
    let schema = Schema::new_with_metadata(batch.schema().fields().clone(), metadata);
    batch.clone().with_schema(std::sync::Arc::new(schema))
}

/// Column chunks smaller than this (uncompressed, as Arrow holds them) are written
/// uncompressed: zstd saves at most a few hundred bytes on them, and each compressed column
/// chunk costs a fresh zstd context (about 20,000 instructions to clear its tables), which for
/// a file of a few hundred rows and 60 columns was an eighth of the flush.
pub(crate) const COMPRESS_MIN_BYTES: usize = 4096;

/// How a table's files are written: its writer properties and its leaf columns, made once.
#[derive(Debug)]
pub(crate) struct TableEncoding {
    properties: WriterProperties,
    compression: Compression,
    /// The schema's leaf columns, in Parquet's order.
    leaves: Vec<ColumnPath>,
}

impl TableEncoding {
    pub(crate) fn new(schema: &Schema, compression: Compression) -> Result<Self, ParquetError> {
        let descriptor = ArrowSchemaConverter::new().convert(schema)?;
        let leaves = descriptor.columns().iter().map(|c| c.path().clone()).collect();
        Ok(TableEncoding { properties: writer_properties(&descriptor, compression), compression, leaves })
    }

    /// The writer properties for `batch` (rows of this table): compression turned off for its
    /// leaf columns smaller than [`COMPRESS_MIN_BYTES`].
    pub(crate) fn for_batch(&self, batch: &RecordBatch) -> WriterProperties {
        if self.compression == Compression::UNCOMPRESSED {
            return self.properties.clone();
        }
        let mut sizes = Vec::with_capacity(self.leaves.len());
        for column in batch.columns() {
            leaf_sizes(column, &mut sizes);
        }
        let mut builder = self.properties.clone().into_builder();
        for (path, size) in self.leaves.iter().zip(sizes) {
            if size < COMPRESS_MIN_BYTES {
                builder = builder.set_column_compression(path.clone(), Compression::UNCOMPRESSED);
            }
        }
        builder.build()
    }
}

/// The bytes of each leaf column of `array`, in Parquet's leaf order (depth first).
fn leaf_sizes(array: &dyn Array, out: &mut Vec<usize>) {
    match array.data_type() {
        DataType::Struct(_) => {
            for child in array.as_struct().columns() {
                leaf_sizes(child.as_ref(), out);
            }
        }
        DataType::List(_) => leaf_sizes(array.as_list::<i32>().values().as_ref(), out),
        DataType::Map(_, _) => {
            let map = array.as_map();
            leaf_sizes(map.keys().as_ref(), out);
            leaf_sizes(map.values().as_ref(), out);
        }
        DataType::Utf8 => {
            let strings = array.as_string::<i32>();
            out.push(strings.len() * 4 + strings.value_data().len());
        }
        other => out.push(array.len() * other.primitive_width().unwrap_or(8)),
    }
}

/// Top-level columns that keep chunk statistics: what queries filter on.
const STATISTICS: [&str; 6] = ["Timestamp", "TimeUnix", "StartTimeUnix", "ServiceName", "SpanName", "MetricName"];

/// Top-level columns that are dictionary-encoded: what queries group by.
const DICTIONARY: [&str; 4] = ["ServiceName", "SpanName", "MetricName", "SeverityText"];

/// The writer properties of a table's files (its Parquet schema `descriptor`).
fn writer_properties(descriptor: &SchemaDescriptor, compression: Compression) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(compression)
        .set_statistics_enabled(EnabledStatistics::None)
        .set_dictionary_enabled(false)
        .set_key_value_metadata(Some(vec![KeyValue::new(SCHEMA_VERSION_KEY.into(), SCHEMA_VERSION.to_string())]));
    for column in descriptor.columns() {
        let path = column.path();
        let parts = path.parts();
        let leaf = parts.last().map(String::as_str).unwrap_or_default();
        let is_timestamp = column.physical_type() == PhysicalType::INT64
            && matches!(column.logical_type_ref(), Some(LogicalType::Timestamp { .. }));
        if is_timestamp {
            builder = builder
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_encoding(path.clone(), Encoding::DELTA_BINARY_PACKED);
        } else if parts.len() == 1 && DICTIONARY.contains(&leaf) {
            builder = builder.set_column_dictionary_enabled(path.clone(), true);
        } else if leaf.ends_with("Id")
            || (parts.len() == 1 && leaf == "Body")
            || parts.ends_with(&["key_value".to_owned(), "value".to_owned()])
        {
            builder = builder.set_column_encoding(path.clone(), Encoding::DELTA_LENGTH_BYTE_ARRAY);
        }
        if parts.len() == 1 && STATISTICS.contains(&leaf) {
            builder = builder.set_column_statistics_enabled(path.clone(), EnabledStatistics::Chunk);
        }
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use parquet::schema::types::ColumnPath;

    use super::*;
    use crate::table::Table;

    #[test]
    fn times_are_delta_encoded_ids_undictionaried_and_only_filter_columns_have_statistics() {
        let descriptor = ArrowSchemaConverter::new().convert(&Table::Traces.schema()).unwrap();
        let props = writer_properties(&descriptor, Compression::UNCOMPRESSED);
        let col = |p: &str| ColumnPath::new(p.split('.').map(str::to_owned).collect());
        assert_eq!(props.encoding(&col("Timestamp")), Some(Encoding::DELTA_BINARY_PACKED));
        assert_eq!(props.encoding(&col("Events.list.item.Timestamp")), Some(Encoding::DELTA_BINARY_PACKED));
        assert!(!props.dictionary_enabled(&col("Timestamp")));
        assert!(!props.dictionary_enabled(&col("SpanId")));
        assert!(!props.dictionary_enabled(&col("SpanAttributes.key_value.key")));
        assert!(props.dictionary_enabled(&col("SpanName")));
        assert!(props.dictionary_enabled(&col("ServiceName")));
        assert_eq!(props.encoding(&col("SpanId")), Some(Encoding::DELTA_LENGTH_BYTE_ARRAY));
        assert_eq!(props.encoding(&col("Links.list.item.TraceId")), Some(Encoding::DELTA_LENGTH_BYTE_ARRAY));
        assert_eq!(props.encoding(&col("SpanAttributes.key_value.value")), Some(Encoding::DELTA_LENGTH_BYTE_ARRAY));
        assert_eq!(props.encoding(&col("SpanAttributes.key_value.key")), None);
        assert_eq!(props.statistics_enabled(&col("Timestamp")), EnabledStatistics::Chunk);
        assert_eq!(props.statistics_enabled(&col("ServiceName")), EnabledStatistics::Chunk);
        assert_eq!(props.statistics_enabled(&col("SpanId")), EnabledStatistics::None);
        assert_eq!(props.statistics_enabled(&col("Events.list.item.Timestamp")), EnabledStatistics::None);
        let metadata = props.key_value_metadata().unwrap();
        assert_eq!(metadata[0].key, SCHEMA_VERSION_KEY);
        assert_eq!(metadata[0].value.as_deref(), Some(SCHEMA_VERSION.to_string().as_str()));
    }
}

#[cfg(test)]
mod batch_tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, StringArray};
    use parquet::basic::ZstdLevel;
    use parquet::schema::types::ColumnPath;

    use super::*;

    #[test]
    fn small_column_chunks_are_not_compressed() {
        // 400 strings of ~10 bytes (5.6 KB with offsets), 400 ints (3.2 KB).
        let big: ArrayRef = Arc::new(StringArray::from_iter_values((0..400).map(|i| format!("value {i:04}"))));
        let small: ArrayRef = Arc::new(Int64Array::from_iter_values(0..400));
        let batch = RecordBatch::try_from_iter([("big", big), ("small", small)]).unwrap();
        let zstd = Compression::ZSTD(ZstdLevel::default());
        let props = TableEncoding::new(&batch.schema(), zstd).unwrap().for_batch(&batch);
        assert_eq!(props.compression(&ColumnPath::from("big")), zstd);
        assert_eq!(props.compression(&ColumnPath::from("small")), Compression::UNCOMPRESSED);
    }

    #[test]
    fn leaf_sizes_follow_parquet_leaf_order() {
        let table = crate::table::Table::Traces;
        let batch = RecordBatch::new_empty(table.schema());
        let mut sizes = Vec::new();
        for column in batch.columns() {
            leaf_sizes(column.as_ref(), &mut sizes);
        }
        let descriptor = ArrowSchemaConverter::new().convert(&table.schema()).unwrap();
        assert_eq!(sizes.len(), descriptor.num_columns());
    }
}
