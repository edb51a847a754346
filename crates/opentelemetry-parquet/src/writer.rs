//! Writing chunks as files: a temporary name, fsync, then an atomic rename into the Hive layout
//! `<output_dir>/<table>/date=YYYY-MM-DD/hour=HH/part-<uuid>.<ext>`.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::buffer::Chunk;
use crate::config::{Compression, Config, StorageFormat};
use crate::error::{OtlpError, Result};

/// Prefix of every data file this crate writes; retention only ever touches such files.
pub(crate) const FILE_PREFIX: &str = "part-";
/// Suffix of files being written; readers skip them.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

#[derive(Debug)]
pub(crate) struct Writer {
    dir: PathBuf,
    format: StorageFormat,
    compression: Compression,
}

impl Writer {
    pub(crate) fn new(config: &Config) -> Self {
        Writer { dir: config.output_dir().to_path_buf(), format: config.format(), compression: config.compression() }
    }

    /// Creates the output directory and proves it is writable, so that a bad directory is
    /// reported by `OtlpLibrary::new` rather than by the first flush.
    pub(crate) fn check_dir(&self) -> Result<()> {
        let err = |source| OtlpError::OutputDir { path: self.dir.clone(), source };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let probe = self.dir.join(format!(".write-probe-{}{TEMP_SUFFIX}", uuid::Uuid::now_v7()));
        File::create(&probe).map_err(err)?;
        std::fs::remove_file(&probe).map_err(err)
    }

    /// Writes one chunk as a new file and returns its path. The file appears under its final
    /// name only once complete and synced; on error nothing is left behind.
    pub(crate) fn write(&self, chunk: &Chunk) -> Result<PathBuf> {
        let dir = self.dir.join(chunk.table.name()).join(chunk.partition.dir());
        std::fs::create_dir_all(&dir).map_err(|e| OtlpError::io(&dir, e))?;
        let name = format!("{FILE_PREFIX}{}.{}", uuid::Uuid::now_v7(), self.format.extension());
        let final_path = dir.join(&name);
        let temp_path = dir.join(format!(".{name}{TEMP_SUFFIX}"));
        let result = self.write_file(&temp_path, chunk).and_then(|()| {
            std::fs::rename(&temp_path, &final_path).map_err(|e| OtlpError::io(&final_path, e))?;
            sync_dir(&dir);
            Ok(final_path)
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&temp_path);
        }
        result
    }

    fn write_file(&self, path: &Path, chunk: &Chunk) -> Result<()> {
        let file = File::create(path).map_err(|e| OtlpError::io(path, e))?;
        let file = match self.format {
            StorageFormat::Parquet => {
                let props = WriterProperties::builder().set_compression(self.parquet_compression()).build();
                let parquet_err = |source| OtlpError::Parquet { path: path.to_path_buf(), source };
                let mut w = ArrowWriter::try_new(BufWriter::new(file), chunk.batch.schema(), Some(props))
                    .map_err(parquet_err)?;
                w.write(&chunk.batch).map_err(parquet_err)?;
                w.into_inner().map_err(parquet_err)?.into_inner().map_err(|e| OtlpError::io(path, e.into_error()))?
            }
            StorageFormat::ArrowIpc => {
                let arrow_err = |e| OtlpError::arrow(format!("writing {}", path.display()), e);
                let options = arrow_ipc::writer::IpcWriteOptions::default()
                    .try_with_compression(match self.compression {
                        Compression::Zstd => Some(arrow_ipc::CompressionType::ZSTD),
                        Compression::Lz4 => Some(arrow_ipc::CompressionType::LZ4_FRAME),
                        _ => None,
                    })
                    .map_err(arrow_err)?;
                let mut w = arrow_ipc::writer::FileWriter::try_new_with_options(
                    BufWriter::new(file),
                    &chunk.batch.schema(),
                    options,
                )
                .map_err(arrow_err)?;
                w.write(&chunk.batch).map_err(arrow_err)?;
                w.finish().map_err(arrow_err)?;
                w.into_inner().map_err(arrow_err)?.into_inner().map_err(|e| OtlpError::io(path, e.into_error()))?
            }
        };
        file.sync_all().map_err(|e| OtlpError::io(path, e))
    }

    fn parquet_compression(&self) -> ParquetCompression {
        match self.compression {
            Compression::Zstd => ParquetCompression::ZSTD(ZstdLevel::default()),
            Compression::Lz4 => ParquetCompression::LZ4_RAW,
            Compression::Snappy => ParquetCompression::SNAPPY,
            Compression::Gzip => ParquetCompression::GZIP(Default::default()),
            Compression::None => ParquetCompression::UNCOMPRESSED,
        }
    }
}

/// Makes a rename durable. Directories cannot be opened for syncing on Windows, where
/// `MoveFileEx` metadata is journaled by NTFS; there this is a no-op.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Whether `name` is a complete data file written by this crate.
pub(crate) fn is_data_file(name: &str) -> bool {
    name.starts_with(FILE_PREFIX)
        && (name.ends_with(".parquet") || name.ends_with(".arrow"))
        && !name.ends_with(TEMP_SUFFIX)
}
