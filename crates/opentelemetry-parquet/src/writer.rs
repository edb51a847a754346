//! Writing chunks as files: a temporary name, fsync, then an atomic rename into the Hive layout
//! `<output_dir>/<table>/date=YYYY-MM-DD/hour=HH/part-<uuidv7>.<ext>`.
//!
//! The temporary name is `.part-<uuidv7>.<ext>.<writer id>.tmp` in the same directory: hidden,
//! ending in `.tmp` (so neither [`StoreReader`](crate::StoreReader) nor a `**/*.parquet` glob
//! ever matches it), and naming the writer whose lock (`.writers/<writer id>.lock`, see
//! [`store_lock`](crate::store_lock)) tells whether it is still being written or was left by a
//! crash.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};

use crate::buffer::Chunk;
use crate::config::{Compression, Config, StorageFormat};
use crate::encoding::TableEncoding;
use crate::error::{OtlpError, Result};
use crate::retention::RetentionStats;
use crate::store_lock::WriterLock;
use crate::table::Table;

/// Prefix of every data file this crate writes; retention only ever touches such files.
pub(crate) const FILE_PREFIX: &str = "part-";
/// Suffix of files being written; readers skip them.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";
/// How often creating a file is tried when its partition directory vanished in between
/// (removed by retention in this or another process); attempt `n` first sleeps `n - 1` ms and
/// up to 1 ms more (about 2 s in all). 16 was once exhausted in the test whose remover empties
/// and removes the directory every 200 µs, on a loaded 2-core machine.
const CREATE_ATTEMPTS: u64 = 64;

#[derive(Debug)]
pub(crate) struct Writer {
    dir: PathBuf,
    format: StorageFormat,
    compression: Compression,
    /// This writer's lock and latest files (see [`Identity`]).
    identity: Mutex<Identity>,
    /// Orphans removed by [`check_dir`](Self::check_dir), not yet reported.
    startup_orphans: Mutex<RetentionStats>,
    /// How each table's Parquet files are written (in [`Table::ALL`] order), made once.
    encodings: [std::sync::OnceLock<TableEncoding>; Table::ALL.len()],
}

/// A writer's identity in the store and the files it published for retention to spare.
#[derive(Debug, Default)]
struct Identity {
    /// Taken before the first file is written (not at construction, so that a library created
    /// before a fork holds no lock the child would inherit).
    lock: Option<WriterLock>,
    /// Files of the latest completed cycle that wrote.
    previous: Vec<String>,
    /// Files written by the cycle in progress.
    current: Vec<String>,
}

impl Writer {
    pub(crate) fn new(config: &Config) -> Self {
        Writer {
            dir: config.output_dir().to_path_buf(),
            format: config.format(),
            compression: config.compression(),
            identity: Mutex::new(Identity::default()),
            startup_orphans: Mutex::new(RetentionStats::default()),
            encodings: Default::default(),
        }
    }

    /// The store root.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn identity(&self) -> std::sync::MutexGuard<'_, Identity> {
        self.identity.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This writer's id, taking its lock in the store first if not yet held (or again, under a
    /// new id, when its lock file was deleted).
    pub(crate) fn writer_id(&self) -> Result<String> {
        let mut identity = self.identity();
        if identity.lock.as_ref().is_some_and(|lock| !lock.in_place()) {
            identity.lock = None;
        }
        let lock = match &mut identity.lock {
            Some(lock) => lock,
            empty => empty.insert(
                WriterLock::acquire(&self.dir)
                    .map_err(|e| OtlpError::io(self.dir.join(crate::store_lock::WRITERS_DIR), e))?,
            ),
        };
        Ok(lock.id().to_owned())
    }

    /// Ends a cycle that wrote: its files become the "latest completed cycle", which stays
    /// published (spared by retention in every process) until the next cycle that writes ends.
    pub(crate) fn end_cycle(&self) {
        let mut identity = self.identity();
        identity.previous = std::mem::take(&mut identity.current);
        if let Some(lock) = &identity.lock {
            let _ = lock.publish_latest(&identity.previous);
        }
    }

    /// Adds a file just written to the published list (`.writers/<id>.latest`): the latest
    /// completed cycle and the one in progress. Best effort: a failure only means other
    /// processes' retention does not know to spare the file.
    fn published(&self, name: String) {
        let mut identity = self.identity();
        identity.current.push(name);
        if let Some(lock) = &identity.lock {
            let names: Vec<String> = identity.previous.iter().chain(&identity.current).cloned().collect();
            let _ = lock.publish_latest(&names);
        }
    }

    /// Creates the output directory and proves it is writable, so that a bad directory is
    /// reported by `OtlpLibrary::new` rather than by the first flush.
    ///
    /// Then removes the temporary files that crashed writers left in the store (see
    /// [`retention::remove_orphans`](crate::retention::remove_orphans)), so that a library
    /// cleans up after a crash even if it never writes; what it removed is reported once the
    /// writer starts.
    pub(crate) fn check_dir(&self) -> Result<()> {
        let err = |source| OtlpError::OutputDir { path: self.dir.clone(), source };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let probe = self.dir.join(format!(".write-probe-{}{TEMP_SUFFIX}", uuid::Uuid::now_v7()));
        File::create(&probe).map_err(err)?;
        std::fs::remove_file(&probe).map_err(err)?;
        let removed = crate::retention::sweep_store(&self.dir);
        self.startup_orphans.lock().unwrap_or_else(|e| e.into_inner()).add(&removed);
        Ok(())
    }

    /// What the sweep of [`check_dir`](Self::check_dir) removed, once (then zero).
    pub(crate) fn take_startup_orphans(&self) -> RetentionStats {
        std::mem::take(&mut *self.startup_orphans.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Writes one chunk as a new file and returns its path. The file appears under its final
    /// name only once complete and synced; on error nothing is left behind.
    pub(crate) fn write(&self, chunk: &Chunk) -> Result<PathBuf> {
        let writer_id = self.writer_id()?;
        let dir = self.dir.join(chunk.table.name()).join(chunk.partition.dir());
        let name = format!("{FILE_PREFIX}{}.{}", uuid::Uuid::now_v7(), self.format.extension());
        let final_path = dir.join(&name);
        let temp_path = dir.join(temp_name(&name, &writer_id));
        let file = create_in_partition(&dir, &temp_path)?;
        // From here on the directory holds the temporary file, so it is not empty and cannot be
        // removed before the rename.
        let result = self.write_file(file, &temp_path, chunk).and_then(|()| {
            std::fs::rename(&temp_path, &final_path).map_err(|e| OtlpError::io(&final_path, e))?;
            sync_dir(&dir);
            self.published(name);
            Ok(final_path)
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&temp_path);
        }
        result
    }

    fn write_file(&self, file: File, path: &Path, chunk: &Chunk) -> Result<()> {
        let file = match self.format {
            StorageFormat::Parquet => {
                let parquet_err = |source| OtlpError::Parquet { path: path.to_path_buf(), source };
                let props = self.encoding(chunk.table).map_err(parquet_err)?.for_batch(&chunk.batch);
                // Without the `ARROW:schema` copy of the schema (base64 IPC, about 6 KB a file):
                // the Parquet schema already says everything every reader needs.
                let options = ArrowWriterOptions::new().with_properties(props).with_skip_arrow_metadata(true);
                let mut w = ArrowWriter::try_new_with_options(BufWriter::new(file), chunk.batch.schema(), options)
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
                // The schema version goes into the IPC schema's metadata.
                let batch = crate::encoding::with_version_metadata(&chunk.batch).map_err(arrow_err)?;
                let mut w =
                    arrow_ipc::writer::FileWriter::try_new_with_options(BufWriter::new(file), &batch.schema(), options)
                        .map_err(arrow_err)?;
                w.write(&batch).map_err(arrow_err)?;
                w.finish().map_err(arrow_err)?;
                w.into_inner().map_err(arrow_err)?.into_inner().map_err(|e| OtlpError::io(path, e.into_error()))?
            }
        };
        file.sync_all().map_err(|e| OtlpError::io(path, e))
    }

    /// How `table`'s files are written (see [`encoding`](crate::encoding)).
    fn encoding(&self, table: Table) -> std::result::Result<&TableEncoding, parquet::errors::ParquetError> {
        let slot = &self.encodings[Table::ALL.iter().position(|t| *t == table).unwrap_or_default()];
        if let Some(encoding) = slot.get() {
            return Ok(encoding);
        }
        let encoding = TableEncoding::new(&table.schema(), self.parquet_compression())?;
        Ok(slot.get_or_init(|| encoding))
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

/// `.part-<uuid>.<ext>.<writer id>.tmp` for the data file `part-<uuid>.<ext>`.
pub(crate) fn temp_name(final_name: &str, writer_id: &str) -> String {
    format!(".{final_name}.{writer_id}{TEMP_SUFFIX}")
}

/// The writer id in a temporary file name of [`temp_name`]'s shape, `None` for any other name
/// (including the `.part-<uuid>.<ext>.tmp` of versions before writer ids).
pub(crate) fn temp_writer_id(name: &str) -> Option<&str> {
    let rest = name.strip_prefix('.')?.strip_prefix(FILE_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    let (_, id) = rest.rsplit_once('.')?;
    crate::store_lock::is_writer_id(id).then_some(id)
}

/// Whether `name` is a temporary file of this crate (any version).
pub(crate) fn is_temp_file(name: &str) -> bool {
    name.starts_with(&format!(".{FILE_PREFIX}")) && name.ends_with(TEMP_SUFFIX)
}

/// Creates `path` in the partition directory `dir`, creating the directory first. Retention
/// (here or in another process) may remove an empty partition directory at any moment, which
/// makes `create_dir_all` or the create fail with "not found" or "file exists": both are retried
/// with the directory recreated.
fn create_in_partition(dir: &Path, path: &Path) -> Result<File> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = std::fs::create_dir_all(dir)
            .map_err(|e| (dir, e))
            .and_then(|()| File::create_new(path).map_err(|e| (path, e)));
        match result {
            Ok(file) => return Ok(file),
            Err((_, e))
                if attempt < CREATE_ATTEMPTS
                    && matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::AlreadyExists)
                    && !path.exists() =>
            {
                // A little jitter, so that a retry does not fall in step with a remover.
                let jitter = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos() % 1000);
                std::thread::sleep(
                    std::time::Duration::from_millis(attempt) + std::time::Duration::from_micros(u64::from(jitter)),
                );
            }
            Err((p, e)) => return Err(OtlpError::io(p, e)),
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch};

    use super::*;
    use crate::time::Partition;

    fn chunk() -> Chunk {
        let batch = RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1, 2, 3])) as _)]).unwrap();
        Chunk { table: Table::ALL[0], partition: Partition::of(0), batch, bytes: 0 }
    }

    fn writer(dir: &Path) -> Writer {
        Writer::new(&Config::builder().output_dir(dir).build().unwrap())
    }

    #[test]
    fn temp_names_carry_the_writer_id_and_are_never_data_files() {
        let id = "0123456789abcdef0123456789abcdef";
        let name = temp_name("part-0190c3f2-0000-7000-8000-000000000000.parquet", id);
        assert_eq!(name, format!(".part-0190c3f2-0000-7000-8000-000000000000.parquet.{id}.tmp"));
        assert_eq!(temp_writer_id(&name), Some(id));
        assert!(is_temp_file(&name) && !is_data_file(&name));
        // The shape of versions before writer ids: a temporary file, but no writer to ask.
        let legacy = ".part-0190c3f2-0000-7000-8000-000000000000.parquet.tmp";
        assert!(is_temp_file(legacy));
        assert_eq!(temp_writer_id(legacy), None);
    }

    /// A name Windows, macOS and Linux all accept as is: ASCII letters, digits and `._=-`, no
    /// trailing dot, not a reserved device name, at most 255 bytes.
    fn portable(name: &str) -> bool {
        let stem = name.split('.').next().unwrap_or_default().to_ascii_uppercase();
        let reserved = ["CON", "PRN", "AUX", "NUL"].contains(&stem.as_str())
            || ((stem.starts_with("COM") || stem.starts_with("LPT")) && stem.len() == 4);
        !name.is_empty()
            && name.len() <= 255
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._=-".contains(&b))
            && !name.ends_with('.')
            && !reserved
    }

    #[test]
    fn every_name_the_writer_makes_is_portable() {
        let tmp = tempfile::tempdir().unwrap();
        let w = writer(tmp.path());
        let path = w.write(&chunk()).unwrap();
        let mut names: Vec<String> = path
            .strip_prefix(tmp.path())
            .unwrap()
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        names.push(temp_name(&names[names.len() - 1], &w.writer_id().unwrap()));
        names.push(crate::store_lock::WRITERS_DIR.to_owned());
        names.push(crate::store_lock::RETENTION_LOCK.to_owned());
        for entry in std::fs::read_dir(tmp.path().join(crate::store_lock::WRITERS_DIR)).unwrap() {
            names.push(entry.unwrap().file_name().into_string().unwrap());
        }
        assert!(names.len() >= 7, "{names:?}");
        for name in &names {
            assert!(portable(name), "{name:?} is not a portable file name");
        }
        assert!(!portable("part:1.parquet") && !portable("NUL.parquet") && !portable("com1") && !portable("x."));
    }

    #[test]
    fn a_write_takes_the_writer_lock_first() {
        let tmp = tempfile::tempdir().unwrap();
        let w = writer(tmp.path());
        assert!(crate::store_lock::writer_ids(tmp.path()).is_empty(), "no lock before the first write");
        let path = w.write(&chunk()).unwrap();
        assert!(is_data_file(&path.file_name().unwrap().to_string_lossy()));
        let ids = crate::store_lock::writer_ids(tmp.path());
        assert_eq!(ids, vec![w.writer_id().unwrap()]);
        assert_eq!(crate::store_lock::liveness(tmp.path(), &ids[0]), crate::store_lock::Liveness::Alive);
        // Someone deletes the store's hidden files: the next write takes a new lock. Windows
        // may refuse: a file open elsewhere (the held lock) is only marked for deletion there,
        // so its directory cannot go, and the hidden files cannot be deleted under a writer.
        if let Err(e) = std::fs::remove_dir_all(tmp.path().join(crate::store_lock::WRITERS_DIR)) {
            assert!(cfg!(windows) && e.kind() == std::io::ErrorKind::DirectoryNotEmpty, "{e}");
            return;
        }
        w.write(&chunk()).unwrap();
        let again = crate::store_lock::writer_ids(tmp.path());
        assert_eq!(again.len(), 1);
        assert_ne!(again, ids);
        assert_eq!(crate::store_lock::liveness(tmp.path(), &again[0]), crate::store_lock::Liveness::Alive);
        drop(w);
        assert!(crate::store_lock::writer_ids(tmp.path()).is_empty(), "lock file removed with the writer");
    }

    /// Another process's retention deleting files and removing the emptied partition
    /// directories while this writer writes into them: every write must still succeed (it used
    /// to fail with "No such file or directory" or "File exists").
    #[test]
    fn writes_survive_partition_directories_removed_concurrently() {
        let tmp = tempfile::tempdir().unwrap();
        let w = writer(tmp.path());
        let c = chunk();
        let hour_dir = tmp.path().join(c.table.name()).join(c.partition.dir());
        let date_dir = hour_dir.parent().unwrap().to_path_buf();
        let stop = Arc::new(AtomicBool::new(false));
        let remover = {
            let stop = Arc::clone(&stop);
            let hour_dir = hour_dir.clone();
            std::thread::spawn(move || {
                let mut removed_dirs = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for entry in std::fs::read_dir(&hour_dir).into_iter().flatten().flatten() {
                        if is_data_file(&entry.file_name().to_string_lossy()) {
                            let _ = std::fs::remove_file(entry.path());
                        }
                    }
                    if std::fs::remove_dir(&hour_dir).is_ok() {
                        removed_dirs += 1;
                    }
                    let _ = std::fs::remove_dir(&date_dir);
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                removed_dirs
            })
        };
        for i in 0..300 {
            if let Err(e) = w.write(&c) {
                stop.store(true, Ordering::Relaxed);
                panic!("write {i} failed: {}", e.full_message());
            }
        }
        stop.store(true, Ordering::Relaxed);
        assert!(remover.join().unwrap() > 0, "the directory was removed at least once while writing");
    }
}
