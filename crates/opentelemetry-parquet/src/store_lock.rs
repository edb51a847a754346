//! Advisory file locks shared by every process using one store, through `fs4` (`flock` on Unix,
//! `LockFileEx` on Windows), so this module has no platform-specific code.
//!
//! Two kinds of lock live in the store root:
//! - `.retention.lock`: held while a retention pass runs, so that passes of different processes
//!   (or libraries) never interleave;
//! - `.writers/<writer id>.lock`: held by each library for as long as it may write, and the
//!   liveness test for its temporary files: a lock that can be taken belongs to a dead writer.
//!   Next to it, `.writers/<writer id>.latest` names the files of that writer's latest cycle,
//!   which retention in other processes never deletes while the writer lives.
//!
//! Locks are tied to the open file (not to the process), so a second library in the same
//! process sees the first one's lock as held, exactly as another process would.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

/// Directory (in the store root) holding the writers' lock files.
pub(crate) const WRITERS_DIR: &str = ".writers";
/// The retention lock file (in the store root).
pub(crate) const RETENTION_LOCK: &str = ".retention.lock";
const LOCK_EXT: &str = "lock";
const LATEST_EXT: &str = "latest";

/// Opens a lock file for reading only (creating it first if asked): locks need no write access,
/// and a file held open for writing would keep the file system from being remounted read-only.
fn open_lock_file(path: &Path, create: bool) -> io::Result<File> {
    if create {
        // Never truncated: another process may hold a lock on it.
        drop(OpenOptions::new().write(true).create(true).truncate(false).open(path)?);
    }
    File::open(path)
}

/// An exclusive lock, released when dropped.
#[derive(Debug)]
pub(crate) struct HeldLock {
    file: File,
}

impl HeldLock {
    /// Takes the exclusive lock on `path` (created if missing) without waiting; `None` when
    /// someone else holds it.
    pub(crate) fn try_acquire(path: &Path) -> io::Result<Option<HeldLock>> {
        let file = open_lock_file(path, true)?;
        Ok(FileExt::try_lock_exclusive(&file)?.then_some(HeldLock { file }))
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = FileExt::unlock(&self.file);
    }
}

/// Whether a writer is alive: someone holds the lock on `.writers/<id>.lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// Its lock is held: never touch its temporary files.
    Alive,
    /// Its lock file is missing or could be locked: it ended (or crashed).
    Dead,
}

/// Paths of one writer's files under `.writers/`.
fn writer_paths(root: &Path, id: &str) -> (PathBuf, PathBuf) {
    let dir = root.join(WRITERS_DIR);
    (dir.join(format!("{id}.{LOCK_EXT}")), dir.join(format!("{id}.{LATEST_EXT}")))
}

/// Whether `id` looks like a writer id (32 lowercase hex digits, a simple UUID).
pub(crate) fn is_writer_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Tests whether writer `id` of the store at `root` is alive. An I/O error other than a missing
/// file counts as alive: when in doubt, nothing is deleted.
pub(crate) fn liveness(root: &Path, id: &str) -> Liveness {
    let (lock, _) = writer_paths(root, id);
    match open_lock_file(&lock, false) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Liveness::Dead,
        Err(_) => Liveness::Alive,
        Ok(file) => match FileExt::try_lock_exclusive(&file) {
            Ok(true) => {
                let _ = FileExt::unlock(&file);
                Liveness::Dead
            }
            Ok(false) | Err(_) => Liveness::Alive,
        },
    }
}

/// Removes the lock and latest-cycle files of a writer found dead.
pub(crate) fn remove_dead_writer(root: &Path, id: &str) {
    let (lock, latest) = writer_paths(root, id);
    let _ = std::fs::remove_file(latest);
    let _ = std::fs::remove_file(lock);
}

/// The ids of every writer that has a lock file in the store at `root`.
pub(crate) fn writer_ids(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root.join(WRITERS_DIR)) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let id = name.strip_suffix(&format!(".{LOCK_EXT}"))?;
            is_writer_id(id).then(|| id.to_owned())
        })
        .collect()
}

/// The file names a live writer published as its latest cycle (empty when none).
pub(crate) fn latest_cycle(root: &Path, id: &str) -> Vec<String> {
    let (_, latest) = writer_paths(root, id);
    std::fs::read_to_string(latest).map(|s| s.lines().map(str::to_owned).collect()).unwrap_or_default()
}

/// One library's identity in a store: a fresh writer id and the exclusive lock on its lock file,
/// held until drop (which removes the lock file).
#[derive(Debug)]
pub(crate) struct WriterLock {
    root: PathBuf,
    id: String,
    lock: Option<HeldLock>,
}

impl WriterLock {
    /// Creates `.writers/<new id>.lock` and locks it. The file is created under a temporary
    /// name, locked, and only then renamed into place, so that no other process can ever see the
    /// final name unlocked while this writer lives (and mistake it for a dead writer's).
    pub(crate) fn acquire(root: &Path) -> io::Result<WriterLock> {
        let dir = root.join(WRITERS_DIR);
        std::fs::create_dir_all(&dir)?;
        let id = uuid::Uuid::now_v7().simple().to_string();
        let (lock_path, _) = writer_paths(root, &id);
        let staging = dir.join(format!(".{id}.{LOCK_EXT}.new"));
        let lock = HeldLock::try_acquire(&staging)?
            .ok_or_else(|| io::Error::other(format!("{} is locked by someone else", staging.display())))?;
        if let Err(e) = std::fs::rename(&staging, &lock_path) {
            drop(lock);
            let _ = std::fs::remove_file(&staging);
            return Err(e);
        }
        Ok(WriterLock { root: root.to_path_buf(), id, lock: Some(lock) })
    }

    /// Whether the lock file is still in place (someone may have deleted the store's hidden
    /// files; without the file this writer would look dead to other processes).
    pub(crate) fn in_place(&self) -> bool {
        writer_paths(&self.root, &self.id).0.exists()
    }

    /// The writer id: 32 hex digits.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Records the file names of this writer's latest cycle, replacing the previous record
    /// (written aside, then renamed over it, so readers see the old list or the new one).
    pub(crate) fn publish_latest(&self, names: &[String]) -> io::Result<()> {
        let (_, latest) = writer_paths(&self.root, &self.id);
        let staging = latest.with_extension(format!("{LATEST_EXT}.new"));
        std::fs::write(&staging, names.join("\n"))?;
        std::fs::rename(&staging, &latest).inspect_err(|_| {
            let _ = std::fs::remove_file(&staging);
        })
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // Unlock (close) first: Windows cannot always delete a file that is open.
        drop(self.lock.take());
        remove_dead_writer(&self.root, &self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_excludes_others_until_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(RETENTION_LOCK);
        let first = HeldLock::try_acquire(&path).unwrap().expect("free lock");
        assert!(HeldLock::try_acquire(&path).unwrap().is_none(), "held in the same process, by another open file");
        drop(first);
        assert!(HeldLock::try_acquire(&path).unwrap().is_some());
    }

    #[test]
    fn a_writer_is_alive_while_its_lock_lives() {
        let tmp = tempfile::tempdir().unwrap();
        let writer = WriterLock::acquire(tmp.path()).unwrap();
        let id = writer.id().to_owned();
        assert!(is_writer_id(&id), "{id}");
        assert_eq!(writer_ids(tmp.path()), vec![id.clone()]);
        assert_eq!(liveness(tmp.path(), &id), Liveness::Alive);
        writer.publish_latest(&["part-a.parquet".into(), "part-b.arrow".into()]).unwrap();
        assert_eq!(latest_cycle(tmp.path(), &id), vec!["part-a.parquet", "part-b.arrow"]);
        drop(writer);
        assert_eq!(liveness(tmp.path(), &id), Liveness::Dead);
        assert!(writer_ids(tmp.path()).is_empty(), "lock file removed on drop");
        assert!(latest_cycle(tmp.path(), &id).is_empty());
    }

    #[test]
    fn an_unlocked_lock_file_is_a_dead_writer() {
        let tmp = tempfile::tempdir().unwrap();
        let id = "0123456789abcdef0123456789abcdef";
        std::fs::create_dir_all(tmp.path().join(WRITERS_DIR)).unwrap();
        std::fs::write(writer_paths(tmp.path(), id).0, b"").unwrap();
        assert_eq!(liveness(tmp.path(), id), Liveness::Dead);
        remove_dead_writer(tmp.path(), id);
        assert!(writer_ids(tmp.path()).is_empty());
        assert!(!is_writer_id("parquet") && !is_writer_id("0123456789ABCDEF0123456789abcdef"));
    }
}
