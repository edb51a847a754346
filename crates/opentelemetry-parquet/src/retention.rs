//! Retention: a policy of the store, applied off the write path after each cycle that wrote
//! (the flush it serves has already returned), and the removal of temporary files left by
//! crashed writers.
//!
//! What a pass deletes, in order, and what it never deletes, is documented on
//! [`Config`](crate::Config) and in the README ("Retention"); in short:
//! - only complete data files of this crate (`<table>/date=*/hour=*/part-<uuidv7>.<ext>`),
//!   aged by when they were **written** (the UUIDv7's timestamp; the file's modification time
//!   when the name does not parse), never by the time of the data in them;
//! - oldest-written first: those older than `retention_max_age`, then more while the store is
//!   larger than `retention_max_bytes`;
//! - never a file of the cycle that just ran; and not to meet the size cap, a file of the latest
//!   cycle (or the one in progress) of any live writer of the store, in any process;
//! - at most one pass at a time per store (`.retention.lock`); a pass that finds another one
//!   running is skipped, and a file that is already gone counts as neither deleted nor freed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::Config;
use crate::error::error_chain;
use crate::store_lock::{self, HeldLock, Liveness};
use crate::table::Table;
use crate::writer::{is_data_file, is_temp_file, temp_writer_id, Writer, FILE_PREFIX};

/// A partition directory is removed once empty and unchanged for this long, so that it is not
/// removed under a writer (in any process) that is about to create a file in it.
pub(crate) const DIR_QUIET: Duration = Duration::from_secs(60);
/// A temporary file without a writer id (written by a version before writer ids, or a write
/// probe) is removed once unchanged for this long: no write takes that long.
pub(crate) const UNOWNED_TEMP_AGE: Duration = Duration::from_secs(3600);

/// What retention did: since the library started
/// ([`OtlpLibrary::retention_stats`](crate::OtlpLibrary::retention_stats)), or in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetentionStats {
    /// Retention passes run (one after each flush cycle that wrote files, when a limit is set).
    pub passes: u64,
    /// Passes skipped because another library or process was running one on the same store (or
    /// the lock file could not be opened: see `last_error`).
    pub passes_skipped: u64,
    /// Data files deleted by `retention_max_age` or `retention_max_bytes`.
    pub files_deleted: u64,
    /// Their total size in bytes.
    pub bytes_deleted: u64,
    /// Temporary files left by crashed writers, removed.
    pub orphans_removed: u64,
    /// Their total size in bytes.
    pub orphan_bytes_removed: u64,
    /// Deletions that failed (for example a file a reader holds open on Windows); the file stays
    /// and is tried again by the next pass.
    pub deferred: u64,
    /// The last failure to delete or list something, with its cause; `None` when none happened.
    pub last_error: Option<String>,
}

impl RetentionStats {
    /// Adds the counts of `other` (one pass) to these; `other`'s error, if any, becomes the last.
    pub fn add(&mut self, other: &RetentionStats) {
        self.passes += other.passes;
        self.passes_skipped += other.passes_skipped;
        self.files_deleted += other.files_deleted;
        self.bytes_deleted += other.bytes_deleted;
        self.orphans_removed += other.orphans_removed;
        self.orphan_bytes_removed += other.orphan_bytes_removed;
        self.deferred += other.deferred;
        if other.last_error.is_some() {
            self.last_error.clone_from(&other.last_error);
        }
    }

    fn failed(&mut self, what: &str, path: &Path, e: &std::io::Error) {
        self.deferred += 1;
        self.last_error = Some(format!("{what} {}: {}", path.display(), error_chain(e)));
    }
}

/// The limits of a store's retention.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Policy {
    pub(crate) max_age: Option<Duration>,
    pub(crate) max_bytes: Option<u64>,
    /// See [`DIR_QUIET`].
    pub(crate) dir_quiet: Duration,
}

impl Policy {
    /// The configured policy, `None` when no limit is set.
    pub(crate) fn from_config(config: &Config) -> Option<Policy> {
        let (max_age, max_bytes) = (config.retention_max_age(), config.retention_max_bytes());
        (max_age.is_some() || max_bytes.is_some()).then_some(Policy { max_age, max_bytes, dir_quiet: DIR_QUIET })
    }
}

/// The orphan hook: called once per library, when its writer starts. Removes the temporary files
/// of dead writers (and their lock files), whether or not a retention limit is set, and reports
/// them together with those removed when the library was created (`Writer::check_dir`).
pub(crate) fn remove_orphans(writer: &Writer) -> RetentionStats {
    let mut stats = writer.take_startup_orphans();
    stats.add(&sweep_store(writer.dir()));
    stats
}

/// Removes the temporary files of dead writers in the store at `root`, and their lock files.
/// Does nothing while a retention pass holds the store's lock (that pass sweeps them itself).
pub(crate) fn sweep_store(root: &Path) -> RetentionStats {
    let mut stats = RetentionStats::default();
    // Nothing to sweep (a new or clean store): touch nothing, not even the lock file.
    if Scan::of(root, &mut RetentionStats::default()).temps.is_empty() && !root.join(store_lock::WRITERS_DIR).exists() {
        return stats;
    }
    let Ok(Some(_lock)) = HeldLock::try_acquire(&root.join(store_lock::RETENTION_LOCK)) else {
        // Another pass is running (and sweeps orphans itself), or the store is not writable.
        return stats;
    };
    let scan = Scan::of(root, &mut stats);
    sweep_orphans(root, &scan.temps, SystemTime::now(), &mut stats);
    forget_dead_writers(root);
    stats
}

/// The retention hook: called after every flush cycle that wrote files, once the flush waiters
/// were answered, with the files that cycle wrote. Runs a pass when a limit is configured.
pub(crate) fn after_cycle(config: &Config, writer: &Writer, written: &[PathBuf]) -> RetentionStats {
    writer.end_cycle();
    let Some(policy) = Policy::from_config(config) else { return RetentionStats::default() };
    let protected = written.iter().filter_map(|p| p.file_name()?.to_str().map(str::to_owned)).collect();
    enforce(writer.dir(), &policy, &protected, SystemTime::now())
}

/// One retention pass over the store at `root`, never deleting the files named in `protected`
/// (the cycle that just ran).
pub(crate) fn enforce(root: &Path, policy: &Policy, protected: &HashSet<String>, now: SystemTime) -> RetentionStats {
    let mut stats = RetentionStats::default();
    let _lock = match HeldLock::try_acquire(&root.join(store_lock::RETENTION_LOCK)) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            stats.passes_skipped = 1;
            return stats;
        }
        Err(e) => {
            let path = root.join(store_lock::RETENTION_LOCK);
            stats.passes_skipped = 1;
            stats.last_error = Some(format!("locking {}: {}", path.display(), error_chain(&e)));
            return stats;
        }
    };
    stats.passes = 1;
    let mut scan = Scan::of(root, &mut stats);
    let liveness = sweep_orphans(root, &scan.temps, now, &mut stats);

    // The latest files of every live writer, in any process, are spared by the size cap.
    let mut latest = HashSet::new();
    for id in store_lock::writer_ids(root) {
        let alive = liveness.get(&id).copied().unwrap_or_else(|| store_lock::liveness(root, &id));
        if alive == Liveness::Alive {
            latest.extend(store_lock::latest_cycle(root, &id));
        }
    }

    scan.files.sort_by(|a, b| (a.written_ms, &a.name).cmp(&(b.written_ms, &b.name)));
    delete_files(&scan.files, policy, &Spared { always: protected, from_size: &latest }, now, &mut stats);
    remove_quiet_dirs(&scan.partitions, policy.dir_quiet, now);
    forget_dead_writers(root);
    stats
}

#[derive(Debug)]
struct DataFile {
    path: PathBuf,
    name: String,
    /// When the file was written, in milliseconds since the epoch.
    written_ms: u64,
    size: u64,
}

#[derive(Debug)]
struct TempFile {
    path: PathBuf,
    name: String,
    modified: SystemTime,
    size: u64,
}

/// The store's data files, temporary files and partition directories (`hour=` before its
/// `date=`).
#[derive(Debug, Default)]
struct Scan {
    files: Vec<DataFile>,
    temps: Vec<TempFile>,
    partitions: Vec<PathBuf>,
}

impl Scan {
    fn of(root: &Path, stats: &mut RetentionStats) -> Scan {
        let mut scan = Scan::default();
        let mut entries = |dir: &Path| match std::fs::read_dir(dir) {
            Ok(entries) => entries.flatten().collect::<Vec<_>>(),
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    stats.last_error = Some(format!("listing {}: {}", dir.display(), error_chain(&e)));
                }
                Vec::new()
            }
        };
        // Write probes of `OtlpLibrary::new` left by a crash sit in the root.
        for entry in entries(root) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".write-probe-") && name.ends_with(crate::writer::TEMP_SUFFIX) {
                scan.push_temp(&entry, name);
            }
        }
        for table in Table::ALL {
            for date in entries(&root.join(table.name())) {
                if !date.file_name().to_string_lossy().starts_with("date=") {
                    continue;
                }
                for hour in entries(&date.path()) {
                    if !hour.file_name().to_string_lossy().starts_with("hour=") {
                        continue;
                    }
                    for file in entries(&hour.path()) {
                        let name = file.file_name().to_string_lossy().into_owned();
                        if is_data_file(&name) {
                            let Ok(meta) = file.metadata() else { continue };
                            if meta.is_file() {
                                let written_ms =
                                    uuid_millis(&name).unwrap_or_else(|| meta.modified().map_or(0, millis_since_epoch));
                                scan.files.push(DataFile { path: file.path(), name, written_ms, size: meta.len() });
                            }
                        } else if is_temp_file(&name) {
                            scan.push_temp(&file, name);
                        }
                    }
                    scan.partitions.push(hour.path());
                }
                scan.partitions.push(date.path());
            }
        }
        scan
    }

    fn push_temp(&mut self, entry: &std::fs::DirEntry, name: String) {
        if let Ok(meta) = entry.metadata() {
            if meta.is_file() {
                let modified = meta.modified().unwrap_or(UNIX_EPOCH);
                self.temps.push(TempFile { path: entry.path(), name, modified, size: meta.len() });
            }
        }
    }
}

/// Milliseconds since the epoch of `t` (0 before the epoch).
fn millis_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The write time of `part-<uuidv7>.<ext>`, from the UUID's 48-bit millisecond timestamp.
fn uuid_millis(name: &str) -> Option<u64> {
    let rest = name.strip_prefix(FILE_PREFIX)?;
    let uuid = uuid::Uuid::try_parse(rest.split_once('.')?.0).ok()?;
    if uuid.get_version_num() != 7 {
        return None;
    }
    let (secs, nanos) = uuid.get_timestamp()?.to_unix();
    secs.checked_mul(1000)?.checked_add(u64::from(nanos / 1_000_000))
}

/// Removes the temporary files whose writer is dead (its lock can be taken) or, for those
/// without a writer id, that were unchanged for [`UNOWNED_TEMP_AGE`]. Returns the liveness of
/// every writer it asked about.
fn sweep_orphans(
    root: &Path,
    temps: &[TempFile],
    now: SystemTime,
    stats: &mut RetentionStats,
) -> HashMap<String, Liveness> {
    let mut liveness: HashMap<String, Liveness> = HashMap::new();
    for temp in temps {
        let orphan = match temp_writer_id(&temp.name) {
            Some(id) => {
                *liveness.entry(id.to_owned()).or_insert_with(|| store_lock::liveness(root, id)) == Liveness::Dead
            }
            None => now.duration_since(temp.modified).is_ok_and(|age| age >= UNOWNED_TEMP_AGE),
        };
        if !orphan {
            continue;
        }
        match std::fs::remove_file(&temp.path) {
            Ok(()) => {
                stats.orphans_removed += 1;
                stats.orphan_bytes_removed += temp.size;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => stats.failed("removing the orphaned temporary file", &temp.path, &e),
        }
    }
    liveness
}

/// Removes the lock files of writers that are no longer alive. Called after their orphans
/// were swept, under the retention lock.
fn forget_dead_writers(root: &Path) {
    for id in store_lock::writer_ids(root) {
        if store_lock::liveness(root, &id) == Liveness::Dead {
            store_lock::remove_dead_writer(root, &id);
        }
    }
}

/// File names a pass must not delete.
#[derive(Debug)]
struct Spared<'a> {
    /// Never deleted: the files of the cycle that just ran.
    always: &'a HashSet<String>,
    /// Not deleted to meet `max_bytes` (but by `max_age`): the latest files of live writers.
    from_size: &'a HashSet<String>,
}

/// Deletes, oldest-written first, the files older than `max_age`, then more while the
/// remaining files exceed `max_bytes`, sparing `spared`. `files` is sorted oldest first.
fn delete_files(files: &[DataFile], policy: &Policy, spared: &Spared<'_>, now: SystemTime, stats: &mut RetentionStats) {
    let now_ms = millis_since_epoch(now);
    // Files written at or before the cutoff are too old. Ages are validated to at most 100
    // years, but nothing here relies on it: an age beyond `now` has no cutoff.
    let cutoff = policy
        .max_age
        .and_then(|age| u64::try_from(age.as_millis()).ok())
        .and_then(|age_ms| now_ms.checked_sub(age_ms));
    let mut total = files.iter().fold(0u64, |sum, f| sum.saturating_add(f.size));
    for file in files {
        if spared.always.contains(&file.name) {
            continue;
        }
        let too_old = cutoff.is_some_and(|cutoff| file.written_ms <= cutoff);
        let too_big = policy.max_bytes.is_some_and(|max| total > max);
        if !(too_old || too_big) {
            // Sorted oldest first: no later file is older, and the store is within its size.
            break;
        }
        if !too_old && spared.from_size.contains(&file.name) {
            continue;
        }
        match std::fs::remove_file(&file.path) {
            Ok(()) => {
                total -= file.size;
                stats.files_deleted += 1;
                stats.bytes_deleted += file.size;
            }
            // Deleted by someone else since the listing: gone from the store, but not by us.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => total -= file.size,
            Err(e) => stats.failed("deleting", &file.path, &e),
        }
    }
}

/// Removes the partition directories (hour, then date) that are empty and were unchanged for
/// `quiet`.
fn remove_quiet_dirs(partitions: &[PathBuf], quiet: Duration, now: SystemTime) {
    for dir in partitions {
        let quiet_enough = std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .is_ok_and(|modified| now.duration_since(modified).unwrap_or(Duration::ZERO) >= quiet);
        let empty = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
        if quiet_enough && empty {
            // Fails harmlessly if a writer created something in it since.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: u64 = 3_600_000;

    /// Writes a data file named with a UUIDv7 of `written_ms` into a partition of `table`.
    fn data_file(root: &Path, partition: &str, written_ms: u64, bytes: usize) -> PathBuf {
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, written_ms / 1000, (written_ms % 1000) as u32 * 1_000_000);
        let name = format!("{FILE_PREFIX}{}.parquet", uuid::Uuid::new_v7(ts));
        let path = root.join("traces").join(partition).join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, vec![0u8; bytes]).unwrap();
        path
    }

    fn name(p: &Path) -> String {
        p.file_name().unwrap().to_string_lossy().into_owned()
    }

    fn policy(max_age: Option<Duration>, max_bytes: Option<u64>) -> Policy {
        Policy { max_age, max_bytes, dir_quiet: Duration::ZERO }
    }

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn write_time_comes_from_the_uuid() {
        let tmp = tempfile::tempdir().unwrap();
        let written = 1_700_000_000_123;
        let p = data_file(tmp.path(), "date=1970-01-01/hour=00", written, 1);
        assert_eq!(uuid_millis(&name(&p)), Some(written));
        assert_eq!(uuid_millis("part-not-a-uuid.parquet"), None);
        assert_eq!(uuid_millis(&format!("part-{}.parquet", uuid::Uuid::nil())), None, "not a v7");
    }

    /// Event time does not matter: a file of data from 1970 (start time 0) written just now is
    /// young.
    #[test]
    fn age_is_by_write_time_not_event_time() {
        let tmp = tempfile::tempdir().unwrap();
        let now = 1_700_000_000_000;
        let epoch_data_new = data_file(tmp.path(), "date=1970-01-01/hour=00", now - 1000, 10);
        let new_data_old = data_file(tmp.path(), "date=2023-11-14/hour=22", now - 3 * HOUR_MS, 10);
        let stats = enforce(tmp.path(), &policy(Some(Duration::from_secs(3600)), None), &HashSet::new(), at(now));
        assert!(epoch_data_new.exists(), "written a second ago");
        assert!(!new_data_old.exists(), "written three hours ago");
        assert_eq!((stats.passes, stats.files_deleted, stats.bytes_deleted), (1, 1, 10));
    }

    #[test]
    fn huge_ages_delete_nothing_and_do_not_overflow() {
        let tmp = tempfile::tempdir().unwrap();
        let now = 1_700_000_000_000;
        let old = data_file(tmp.path(), "date=2000-01-01/hour=00", 946_684_800_000, 10);
        for age in [Duration::from_secs(u64::MAX), Duration::from_secs(1 << 63), Duration::from_secs(10u64.pow(19))] {
            let stats = enforce(tmp.path(), &policy(Some(age), None), &HashSet::new(), at(now));
            assert_eq!(stats.files_deleted, 0, "{age:?}");
            assert!(old.exists(), "{age:?}");
        }
    }

    #[test]
    fn max_bytes_deletes_oldest_written_first_and_spares_protected_files() {
        let tmp = tempfile::tempdir().unwrap();
        let now = 1_700_000_000_000;
        // Written in this order, but the partitions (event time) in the reverse order.
        let a = data_file(tmp.path(), "date=2023-01-03/hour=00", now - 4 * HOUR_MS, 100);
        let b = data_file(tmp.path(), "date=2023-01-02/hour=00", now - 3 * HOUR_MS, 100);
        let c = data_file(tmp.path(), "date=2023-01-01/hour=00", now - 2 * HOUR_MS, 100);
        let current = data_file(tmp.path(), "date=2020-01-01/hour=00", now, 100);
        let protected = HashSet::from([name(&current)]);
        let stats = enforce(tmp.path(), &policy(None, Some(250)), &protected, at(now));
        assert!(!a.exists() && !b.exists() && c.exists() && current.exists());
        assert_eq!((stats.files_deleted, stats.bytes_deleted), (2, 200));
        // A cap below one file: everything unprotected goes, the current cycle stays.
        let stats = enforce(tmp.path(), &policy(None, Some(1)), &protected, at(now));
        assert!(!c.exists() && current.exists());
        assert_eq!(stats.files_deleted, 1);
    }

    #[test]
    fn only_this_crates_data_files_are_deleted() {
        let tmp = tempfile::tempdir().unwrap();
        let now = 1_700_000_000_000;
        let ours = data_file(tmp.path(), "date=2020-01-01/hour=00", now - 10 * HOUR_MS, 100);
        let dir = ours.parent().unwrap();
        let foreign = [dir.join("notes.txt"), dir.join("theirs.parquet"), tmp.path().join("traces/x/part-y.parquet")];
        for f in &foreign {
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, vec![1u8; 1000]).unwrap();
        }
        let stats = enforce(tmp.path(), &policy(Some(Duration::from_secs(1)), Some(1)), &HashSet::new(), at(now));
        assert_eq!(stats.files_deleted, 1);
        assert!(!ours.exists());
        assert!(foreign.iter().all(|f| f.exists()));
    }

    /// Files another enforcer deleted after this pass listed them are neither counted nor
    /// freed twice: the pass must not delete newer files to make up for them.
    #[test]
    fn files_already_gone_are_not_deletions() {
        let tmp = tempfile::tempdir().unwrap();
        let now = 1_700_000_000_000;
        let files: Vec<_> =
            (0..4).map(|i| data_file(tmp.path(), "date=2020-01-01/hour=00", now - (10 - i) * HOUR_MS, 100)).collect();
        let mut stats = RetentionStats::default();
        let mut scan = Scan::of(tmp.path(), &mut stats);
        scan.files.sort_by(|a, b| (a.written_ms, &a.name).cmp(&(b.written_ms, &b.name)));
        // Someone else deletes the two oldest after the listing.
        std::fs::remove_file(&files[0]).unwrap();
        std::fs::remove_file(&files[1]).unwrap();
        let none = HashSet::new();
        let spared = Spared { always: &none, from_size: &none };
        delete_files(&scan.files, &policy(None, Some(250)), &spared, at(now), &mut stats);
        assert_eq!((stats.files_deleted, stats.bytes_deleted), (0, 0), "nothing deleted by this pass");
        assert!(files[2].exists() && files[3].exists(), "the store was within its size");
    }

    #[test]
    fn concurrent_passes_never_over_delete() {
        let tmp = tempfile::tempdir().unwrap();
        let now = 1_700_000_000_000;
        let files: Vec<_> =
            (0..40).map(|i| data_file(tmp.path(), "date=2020-01-01/hour=00", now - (100 - i) * HOUR_MS, 100)).collect();
        let totals: Vec<RetentionStats> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let mut sum = RetentionStats::default();
                        for _ in 0..5 {
                            sum.add(&enforce(tmp.path(), &policy(None, Some(1000)), &HashSet::new(), at(now)));
                        }
                        sum
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let deleted: u64 = totals.iter().map(|t| t.files_deleted).sum();
        assert_eq!(deleted, 30, "{totals:?}");
        assert!(files[30..].iter().all(|f| f.exists()), "the ten newest remain");
    }

    #[test]
    fn empty_partition_dirs_are_removed_only_when_quiet() {
        let tmp = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let hour = tmp.path().join("traces/date=2020-01-01/hour=00");
        std::fs::create_dir_all(&hour).unwrap();
        let noisy = Policy { dir_quiet: Duration::from_secs(3600), ..policy(None, Some(1)) };
        enforce(tmp.path(), &noisy, &HashSet::new(), now);
        assert!(hour.exists(), "changed within the quiet period");
        enforce(tmp.path(), &policy(None, Some(1)), &HashSet::new(), now);
        assert!(!hour.exists() && !hour.parent().unwrap().exists());
    }

    #[test]
    fn a_pass_is_skipped_while_another_holds_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let old = data_file(tmp.path(), "date=2020-01-01/hour=00", 0, 100);
        let held = HeldLock::try_acquire(&tmp.path().join(store_lock::RETENTION_LOCK)).unwrap().unwrap();
        let stats = enforce(tmp.path(), &policy(None, Some(1)), &HashSet::new(), SystemTime::now());
        assert_eq!((stats.passes, stats.passes_skipped, stats.files_deleted), (0, 1, 0));
        assert!(old.exists());
        drop(held);
        assert_eq!(enforce(tmp.path(), &policy(None, Some(1)), &HashSet::new(), SystemTime::now()).files_deleted, 1);
    }

    #[test]
    fn orphans_of_dead_writers_go_and_live_writers_temp_files_stay() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let dir = root.join("traces/date=2020-01-01/hour=00");
        std::fs::create_dir_all(&dir).unwrap();
        let live = store_lock::WriterLock::acquire(root).unwrap();
        // What a crash leaves: the lock file, which nobody holds any more.
        let dead_id = uuid::Uuid::now_v7().simple().to_string();
        std::fs::write(root.join(store_lock::WRITERS_DIR).join(format!("{dead_id}.lock")), b"").unwrap();
        let live_temp = dir.join(crate::writer::temp_name("part-a.parquet", live.id()));
        let dead_temp = dir.join(crate::writer::temp_name("part-b.parquet", &dead_id));
        let legacy_temp = dir.join(".part-c.parquet.tmp");
        for p in [&live_temp, &dead_temp, &legacy_temp] {
            std::fs::write(p, vec![0u8; 10]).unwrap();
        }

        let writer = Writer::new(&Config::builder().output_dir(root).build().unwrap());
        let stats = remove_orphans(&writer);
        assert_eq!((stats.orphans_removed, stats.orphan_bytes_removed), (1, 10));
        assert!(live_temp.exists() && !dead_temp.exists());
        assert!(legacy_temp.exists(), "no writer id and changed within the hour");
        assert_eq!(store_lock::writer_ids(root), vec![live.id().to_owned()], "the dead writer is forgotten");
        // An hour later the legacy one goes too.
        let mut stats = RetentionStats::default();
        let scan = Scan::of(root, &mut stats);
        sweep_orphans(root, &scan.temps, SystemTime::now() + UNOWNED_TEMP_AGE, &mut stats);
        assert!(!legacy_temp.exists() && live_temp.exists());
    }

    #[test]
    fn live_writers_latest_files_are_spared() {
        let tmp = tempfile::tempdir().unwrap();
        let now = 1_700_000_000_000;
        let other = store_lock::WriterLock::acquire(tmp.path()).unwrap();
        let theirs = data_file(tmp.path(), "date=2020-01-01/hour=00", now - 2 * HOUR_MS, 100);
        let older = data_file(tmp.path(), "date=2020-01-01/hour=00", now - 3 * HOUR_MS, 100);
        other.publish_latest(&[name(&theirs)]).unwrap();
        enforce(tmp.path(), &policy(None, Some(1)), &HashSet::new(), at(now));
        assert!(theirs.exists() && !older.exists(), "spared by the size cap");
        let stats = enforce(tmp.path(), &policy(Some(Duration::from_secs(3600)), Some(1)), &HashSet::new(), at(now));
        assert!(!theirs.exists(), "not spared by the age limit");
        assert_eq!(stats.files_deleted, 1);
        let again = data_file(tmp.path(), "date=2020-01-01/hour=00", now - 2 * HOUR_MS, 100);
        other.publish_latest(&[name(&again)]).unwrap();
        enforce(tmp.path(), &policy(None, Some(1)), &HashSet::new(), at(now));
        assert!(again.exists());
        drop(other);
        enforce(tmp.path(), &policy(None, Some(1)), &HashSet::new(), at(now));
        assert!(!again.exists(), "spared only while its writer lives");
    }
}
