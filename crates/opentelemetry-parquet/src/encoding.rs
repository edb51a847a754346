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
//! - **Dictionary encoding** everywhere a column repeats (names, keys, enums, resource and scope
//!   columns, attribute values), but not on timestamps, durations and span IDs, which are
//!   (nearly) unique per row: there the dictionary only costs a hash per value before the
//!   writer falls back to plain encoding.
//! - **Delta encoding** (`DELTA_BINARY_PACKED`) of every timestamp: the times of a file are
//!   close to each other, so their deltas take a few bits where a plain `i64` takes 8 bytes.

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema};
use parquet::arrow::ArrowSchemaConverter;
use parquet::basic::{Compression, Encoding, LogicalType, Type as PhysicalType};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

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

/// Top-level columns that keep chunk statistics: what queries filter on.
const STATISTICS: [&str; 6] = ["Timestamp", "TimeUnix", "StartTimeUnix", "ServiceName", "SpanName", "MetricName"];

/// Leaf columns (by their last path part) that are unique per row: no dictionary.
const UNIQUE: [&str; 2] = ["SpanId", "Duration"];

/// The writer properties of a table's files.
pub(crate) fn writer_properties(schema: &Schema, compression: Compression) -> Result<WriterProperties, ParquetError> {
    let descriptor = ArrowSchemaConverter::new().convert(schema)?;
    let mut builder = WriterProperties::builder()
        .set_compression(compression)
        .set_statistics_enabled(EnabledStatistics::None)
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
        } else if UNIQUE.contains(&leaf) {
            builder = builder.set_column_dictionary_enabled(path.clone(), false);
        }
        if parts.len() == 1 && STATISTICS.contains(&leaf) {
            builder = builder.set_column_statistics_enabled(path.clone(), EnabledStatistics::Chunk);
        }
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use parquet::schema::types::ColumnPath;

    use super::*;
    use crate::table::Table;

    #[test]
    fn times_are_delta_encoded_ids_undictionaried_and_only_filter_columns_have_statistics() {
        let props = writer_properties(&Table::Traces.schema(), Compression::UNCOMPRESSED).unwrap();
        let col = |p: &str| ColumnPath::new(p.split('.').map(str::to_owned).collect());
        assert_eq!(props.encoding(&col("Timestamp")), Some(Encoding::DELTA_BINARY_PACKED));
        assert_eq!(props.encoding(&col("Events.list.item.Timestamp")), Some(Encoding::DELTA_BINARY_PACKED));
        assert!(!props.dictionary_enabled(&col("Timestamp")));
        assert!(!props.dictionary_enabled(&col("SpanId")));
        assert!(props.dictionary_enabled(&col("TraceId")));
        assert!(props.dictionary_enabled(&col("SpanAttributes.key_value.key")));
        assert_eq!(props.statistics_enabled(&col("Timestamp")), EnabledStatistics::Chunk);
        assert_eq!(props.statistics_enabled(&col("ServiceName")), EnabledStatistics::Chunk);
        assert_eq!(props.statistics_enabled(&col("SpanId")), EnabledStatistics::None);
        assert_eq!(props.statistics_enabled(&col("Events.list.item.Timestamp")), EnabledStatistics::None);
        let metadata = props.key_value_metadata().unwrap();
        assert_eq!(metadata[0].key, SCHEMA_VERSION_KEY);
        assert_eq!(metadata[0].value.as_deref(), Some(SCHEMA_VERSION.to_string().as_str()));
    }
}
