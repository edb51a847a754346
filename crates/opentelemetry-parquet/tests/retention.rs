//! Retention through the public API: a policy of the store, by when files were written, that
//! never deletes what the flush it follows acknowledged; validated limits; orphaned temporary
//! files; what it did, in `OtlpLibrary::retention_stats`.
//!
//! Old files are made by copying a real data file under a name whose UUIDv7 says it was written
//! hours ago (the write time retention reads), so no test waits for time to pass.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{all_files, glob_matches};
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_parquet::{env, Config, ConfigBuilder, OtlpError, OtlpLibrary, MAX_RETENTION_AGE};

const HOUR: Duration = Duration::from_secs(3600);

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// `n` spans with fresh, distinct span IDs (returned), all starting at `start` (ns).
fn spans(n: usize, start: u64) -> (ExportTraceServiceRequest, Vec<u64>) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let ids: Vec<u64> = (0..n).map(|_| NEXT.fetch_add(1, Ordering::Relaxed)).collect();
    let spans = ids
        .iter()
        .map(|&id| Span {
            trace_id: [[7u8; 8], id.to_be_bytes()].concat(),
            span_id: id.to_be_bytes().to_vec(),
            name: "op".into(),
            start_time_unix_nano: start,
            end_time_unix_nano: start.saturating_add(1_000),
            ..Span::default()
        })
        .collect();
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..ScopeSpans::default() }],
            ..ResourceSpans::default()
        }],
    };
    (request, ids)
}

fn stored_ids(dir: &Path) -> BTreeSet<u64> {
    common::stored_span_ids(dir).into_iter().collect()
}

fn builder(dir: &Path) -> ConfigBuilder {
    Config::builder().output_dir(dir).flush_interval(Duration::from_secs(3600))
}

fn data_files(dir: &Path) -> Vec<PathBuf> {
    all_files(dir).into_iter().filter(|p| glob_matches(p)).collect()
}

/// Stores `ids`-carrying spans in `dir` (without retention) and renames the resulting file as if
/// it had been written `ago` before now. Returns its new path.
fn old_file(dir: &Path, event_start: u64, ago: Duration) -> (PathBuf, Vec<u64>) {
    let lib = OtlpLibrary::new(builder(dir).build().unwrap()).unwrap();
    let before: BTreeSet<PathBuf> = data_files(dir).into_iter().collect();
    let (request, ids) = spans(5, event_start);
    lib.export_otlp_traces(&request).unwrap();
    lib.shutdown().unwrap();
    let new: Vec<PathBuf> = data_files(dir).into_iter().filter(|p| !before.contains(p)).collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let written = SystemTime::now() - ago;
    let since = written.duration_since(UNIX_EPOCH).unwrap();
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, since.as_secs(), since.subsec_nanos());
    let renamed = new[0].with_file_name(format!("part-{}.parquet", uuid::Uuid::new_v7(ts)));
    std::fs::rename(&new[0], &renamed).unwrap();
    (renamed, ids)
}

/// It used to age files by the data's event time: the flush that stored a span that started
/// 2.5 hours ago deleted it again, with a one-hour maximum age.
#[test]
fn data_with_old_event_times_survives_the_flush_that_stored_it() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).retention_max_age(HOUR).build().unwrap()).unwrap();
    let (old_event, old_ids) = spans(3, nanos(SystemTime::now() - HOUR * 5 / 2));
    let (epoch_event, epoch_ids) = spans(3, 0);
    lib.export_otlp_traces(&old_event).unwrap();
    lib.export_otlp_traces(&epoch_event).unwrap();
    lib.flush().unwrap();
    // Another cycle that writes runs retention again: still young.
    let (now_event, now_ids) = spans(3, nanos(SystemTime::now()));
    lib.export_otlp_traces(&now_event).unwrap();
    lib.flush().unwrap();
    lib.shutdown().unwrap();
    let expected: BTreeSet<u64> = old_ids.into_iter().chain(epoch_ids).chain(now_ids).collect();
    assert_eq!(stored_ids(tmp.path()), expected);
    let stats = lib.retention_stats().unwrap();
    assert_eq!((stats.passes, stats.files_deleted), (2, 0), "{stats:?}");
}

/// `u64::MAX` seconds deleted every finished hour, 1e19 everything, 2^63 panicked the writer.
#[test]
fn ages_beyond_a_hundred_years_are_rejected_naming_the_field() {
    for secs in [u64::MAX, 10_000_000_000_000_000_000, 1 << 63, MAX_RETENTION_AGE.as_secs() + 1] {
        let err = builder(Path::new("x")).retention_max_age(Duration::from_secs(secs)).build().unwrap_err();
        assert!(matches!(&err, OtlpError::InvalidConfig { field, .. } if field == "retention_max_age"), "{err}");
        let err = Config::builder()
            .with_vars(|name| (name == env::RETENTION_MAX_AGE_SECS).then(|| secs.to_string()))
            .and_then(ConfigBuilder::build)
            .unwrap_err();
        assert!(matches!(&err, OtlpError::InvalidConfig { field, .. } if field == "retention_max_age"), "{err}");
    }
    assert!(builder(Path::new("x")).retention_max_age(MAX_RETENTION_AGE).build().is_ok());
}

/// A cap below one file's size used to empty the store right after `flush()` returned `Ok`.
/// Now the files of the cycle that just ran always stay; older ones go.
#[test]
fn max_bytes_below_one_file_keeps_the_latest_cycle() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).retention_max_bytes(1).build().unwrap()).unwrap();
    let mut last = Vec::new();
    for _ in 0..3 {
        let (request, ids) = spans(4, nanos(SystemTime::now()));
        lib.export_otlp_traces(&request).unwrap();
        lib.flush().unwrap();
        // Retention runs after the flush returned, so older cycles may or may not be gone yet;
        // this one is there.
        let stored = stored_ids(tmp.path());
        assert!(ids.iter().all(|id| stored.contains(id)), "right after the flush: {stored:?}");
        last = ids;
    }
    // Shutdown waits for the writer thread, so for the last retention pass.
    lib.shutdown().unwrap();
    let stats = lib.retention_stats().unwrap();
    assert_eq!(stored_ids(tmp.path()), last.into_iter().collect());
    assert_eq!(data_files(tmp.path()).len(), 1);
    assert_eq!(stats.files_deleted, 2, "{stats:?}");
    assert!(stats.passes >= 3 && stats.bytes_deleted > 0, "{stats:?}");
}

/// Oldest-written first, whatever the data's event time; only this crate's files.
#[test]
fn files_are_deleted_by_write_time_oldest_first_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let now = nanos(SystemTime::now());
    // Written 5 h ago with recent events; written 2 h ago with events from 1970.
    let (oldest, _) = old_file(tmp.path(), now, HOUR * 5);
    let (older, older_ids) = old_file(tmp.path(), 0, HOUR * 2);
    let foreign = oldest.with_file_name("notes.parquet");
    std::fs::write(&foreign, b"not ours").unwrap();
    let oldest_size = std::fs::metadata(&oldest).unwrap().len();

    // A three-hour age takes the first only.
    let lib = OtlpLibrary::new(builder(tmp.path()).retention_max_age(HOUR * 3).build().unwrap()).unwrap();
    let (request, new_ids) = spans(2, now);
    lib.export_otlp_traces(&request).unwrap();
    lib.shutdown().unwrap();
    let stats = lib.retention_stats().unwrap();
    assert!(!oldest.exists() && older.exists() && foreign.exists());
    assert_eq!((stats.files_deleted, stats.bytes_deleted), (1, oldest_size), "{stats:?}");
    assert_eq!(stats.deferred, 0, "{stats:?}");
    let expected: BTreeSet<u64> = older_ids.iter().chain(&new_ids).copied().collect();
    assert_eq!(stored_ids(tmp.path()), expected);

    // A size cap with room for the two small files: the older-written one goes, though the new
    // ones hold more recent events.
    let new_bytes: u64 =
        data_files(tmp.path()).iter().filter(|p| **p != older).map(|p| p.metadata().unwrap().len()).sum();
    let lib = OtlpLibrary::new(builder(tmp.path()).retention_max_bytes(new_bytes * 5 / 2).build().unwrap()).unwrap();
    let (request, last_ids) = spans(2, now);
    lib.export_otlp_traces(&request).unwrap();
    lib.flush().unwrap();
    lib.shutdown().unwrap();
    assert!(!older.exists(), "the oldest-written file went first");
    assert!(foreign.exists());
    let expected: BTreeSet<u64> = new_ids.iter().chain(&last_ids).copied().collect();
    assert_eq!(stored_ids(tmp.path()), expected);
}

/// Temporary files of a crashed writer (its lock file left behind, unlocked) are removed and
/// counted when the next library starts writing; a live writer's are never touched; readers and
/// globs never see either.
#[test]
fn orphaned_temp_files_are_removed_and_live_ones_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let now = nanos(SystemTime::now());
    // A live writer (it has written, so it holds its lock) with a file in progress.
    let live = OtlpLibrary::new(builder(tmp.path()).build().unwrap()).unwrap();
    let (request, live_ids) = spans(2, now);
    live.export_otlp_traces(&request).unwrap();
    live.flush().unwrap();
    let writers = tmp.path().join(".writers");
    let live_id = std::fs::read_dir(&writers).unwrap().flatten().next().unwrap().file_name();
    let live_id = live_id.to_string_lossy().trim_end_matches(".lock").to_owned();
    let partition = data_files(tmp.path())[0].parent().unwrap().to_path_buf();
    let live_temp = partition.join(format!(".part-{}.parquet.{live_id}.tmp", uuid::Uuid::now_v7()));
    // A crashed writer: its lock file stays, nobody holds it.
    let dead_id = uuid::Uuid::now_v7().simple().to_string();
    std::fs::write(writers.join(format!("{dead_id}.lock")), b"").unwrap();
    let dead_temp = partition.join(format!(".part-{}.parquet.{dead_id}.tmp", uuid::Uuid::now_v7()));
    std::fs::write(&live_temp, b"half a file").unwrap();
    std::fs::write(&dead_temp, b"half a file too").unwrap();
    assert!(!glob_matches(&live_temp) && !glob_matches(&dead_temp));
    assert_eq!(stored_ids(tmp.path()), live_ids.iter().copied().collect(), "readers skip temporary files");

    let next = OtlpLibrary::new(builder(tmp.path()).build().unwrap()).unwrap();
    let (request, next_ids) = spans(2, now);
    next.export_otlp_traces(&request).unwrap();
    next.flush().unwrap();
    // The orphans are removed when the writer starts, before the flush is served.
    let stats = next.retention_stats().unwrap();
    assert_eq!((stats.orphans_removed, stats.orphan_bytes_removed), (1, 15), "{stats:?}");
    assert!(!dead_temp.exists(), "the dead writer's temporary file is removed");
    assert!(live_temp.exists(), "the live writer's is not");
    assert!(!writers.join(format!("{dead_id}.lock")).exists(), "the dead writer's lock file is removed");
    next.shutdown().unwrap();
    live.shutdown().unwrap();
    std::fs::remove_file(&live_temp).unwrap();
    let expected: BTreeSet<u64> = live_ids.into_iter().chain(next_ids).collect();
    assert_eq!(stored_ids(tmp.path()), expected);
}

/// Passes of different processes take turns through `.retention.lock`; one that finds the lock
/// taken is skipped (and counted), never waited for, and the flush is not delayed by it.
#[test]
fn a_pass_finding_another_one_running_is_skipped() {
    use fs4::fs_std::FileExt;
    let tmp = tempfile::tempdir().unwrap();
    let (old, _) = old_file(tmp.path(), nanos(SystemTime::now()), HOUR * 2);
    // Another process's pass in progress.
    let lock = std::fs::File::create(tmp.path().join(".retention.lock")).unwrap();
    assert!(FileExt::try_lock_exclusive(&lock).unwrap());

    let lib = OtlpLibrary::new(builder(tmp.path()).retention_max_age(HOUR).build().unwrap()).unwrap();
    let (request, _) = spans(2, nanos(SystemTime::now()));
    lib.export_otlp_traces(&request).unwrap();
    lib.flush().unwrap();
    lib.shutdown().unwrap();
    let stats = lib.retention_stats().unwrap();
    assert_eq!((stats.passes, stats.passes_skipped, stats.files_deleted), (0, 1, 0), "{stats:?}");
    assert!(old.exists());

    FileExt::unlock(&lock).unwrap();
    let lib = OtlpLibrary::new(builder(tmp.path()).retention_max_age(HOUR).build().unwrap()).unwrap();
    let (request, _) = spans(2, nanos(SystemTime::now()));
    lib.export_otlp_traces(&request).unwrap();
    lib.shutdown().unwrap();
    let stats = lib.retention_stats().unwrap();
    assert_eq!((stats.passes, stats.files_deleted), (1, 1), "{stats:?}");
    assert!(!old.exists());
}

/// A library that is created and shut down without writing anything still removes what a
/// crashed writer left (`OtlpLibrary::new` sweeps the store).
#[test]
fn a_library_that_never_writes_still_removes_orphans() {
    let tmp = tempfile::tempdir().unwrap();
    let writers = tmp.path().join(".writers");
    std::fs::create_dir_all(&writers).unwrap();
    let dead_id = uuid::Uuid::now_v7().simple().to_string();
    std::fs::write(writers.join(format!("{dead_id}.lock")), b"").unwrap();
    let partition = tmp.path().join("metrics_sum/date=2024-01-01/hour=00");
    std::fs::create_dir_all(&partition).unwrap();
    let orphan = partition.join(format!(".part-{}.parquet.{dead_id}.tmp", uuid::Uuid::now_v7()));
    std::fs::write(&orphan, b"partial").unwrap();

    let lib = OtlpLibrary::new(builder(tmp.path()).build().unwrap()).unwrap();
    assert!(!orphan.exists(), "removed by OtlpLibrary::new");
    assert!(!writers.join(format!("{dead_id}.lock")).exists());
    lib.shutdown().unwrap();
}

/// Windows refuses to delete a file another program holds open without `FILE_SHARE_DELETE`
/// (as readers commonly open Parquet files): the pass counts it as deferred, names it, deletes
/// the rest, fails no flush, and a later pass deletes it once the reader let go.
#[cfg(windows)]
#[test]
fn a_file_a_reader_holds_open_is_deferred_then_deleted_on_windows() {
    use std::os::windows::fs::OpenOptionsExt as _;
    const FILE_SHARE_READ: u32 = 1;
    let tmp = tempfile::tempdir().unwrap();
    let now = nanos(SystemTime::now());
    let (held, _) = old_file(tmp.path(), now, HOUR * 5);
    let (free, _) = old_file(tmp.path(), now, HOUR * 4);
    let reader = std::fs::OpenOptions::new().read(true).share_mode(FILE_SHARE_READ).open(&held).unwrap();

    let lib = OtlpLibrary::new(builder(tmp.path()).retention_max_age(HOUR * 3).build().unwrap()).unwrap();
    let (request, first_ids) = spans(2, now);
    lib.export_otlp_traces(&request).unwrap();
    lib.flush().unwrap();
    // The pass follows the flush's cycle on the writer thread: wait until it has run.
    let mut stats = lib.retention_stats().unwrap();
    for _ in 0..200 {
        if stats.passes > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        stats = lib.retention_stats().unwrap();
    }
    assert!(held.exists() && !free.exists(), "{stats:?}");
    assert_eq!((stats.files_deleted, stats.deferred), (1, 1), "{stats:?}");
    let error = stats.last_error.clone().unwrap_or_default();
    assert!(error.contains(&held.file_name().unwrap().to_string_lossy().into_owned()), "{error}");

    drop(reader);
    let (request, second_ids) = spans(2, now);
    lib.export_otlp_traces(&request).unwrap();
    lib.shutdown().unwrap();
    let stats = lib.retention_stats().unwrap();
    assert!(!held.exists(), "{stats:?}");
    assert_eq!(stats.files_deleted, 2, "{stats:?}");
    let expected: BTreeSet<u64> = first_ids.into_iter().chain(second_ids).collect();
    assert_eq!(stored_ids(tmp.path()), expected, "nothing the flushes acknowledged was lost");
}
