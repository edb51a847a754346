//! Retention: delete the oldest partitions' files by age and/or total size. Only files named
//! like the ones this crate writes (`part-<uuid>.parquet|arrow`) inside a table's
//! `date=.../hour=...` directories are ever deleted; anything else in the directory is left alone.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::table::Table;
use crate::writer::is_data_file;

#[derive(Debug)]
struct DataFile {
    path: PathBuf,
    /// End of the file's hour partition, in seconds since the epoch.
    partition_end: i64,
    modified: SystemTime,
    size: u64,
}

/// Parses `date=YYYY-MM-DD` and `hour=HH` into the end of that hour (seconds since the epoch).
fn partition_end(date: &str, hour: &str) -> Option<i64> {
    let date = date.strip_prefix("date=")?;
    let hour: i64 = hour.strip_prefix("hour=")?.parse().ok()?;
    let mut parts = date.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    // days_from_civil (Howard Hinnant)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + (hour + 1) * 3600)
}

fn list(dir: &Path) -> Vec<DataFile> {
    let mut out = Vec::new();
    let entries = |p: &Path| std::fs::read_dir(p).into_iter().flatten().flatten();
    for table in Table::ALL {
        for date in entries(&dir.join(table.name())) {
            let date_name = date.file_name().to_string_lossy().into_owned();
            for hour in entries(&date.path()) {
                let hour_name = hour.file_name().to_string_lossy().into_owned();
                let Some(end) = partition_end(&date_name, &hour_name) else { continue };
                for file in entries(&hour.path()) {
                    let name = file.file_name().to_string_lossy().into_owned();
                    let Ok(meta) = file.metadata() else { continue };
                    if is_data_file(&name) && meta.is_file() {
                        out.push(DataFile {
                            path: file.path(),
                            partition_end: end,
                            modified: meta.modified().unwrap_or(UNIX_EPOCH),
                            size: meta.len(),
                        });
                    }
                }
            }
        }
    }
    out
}

/// Applies the retention limits to `dir`; returns the files deleted.
pub(crate) fn enforce(dir: &Path, max_age: Option<Duration>, max_bytes: Option<u64>, now: SystemTime) -> Vec<PathBuf> {
    let mut files = list(dir);
    // Oldest partition first; within a partition, oldest file first.
    files.sort_by_key(|f| (f.partition_end, f.modified));
    let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let mut total: u64 = files.iter().map(|f| f.size).sum();
    let mut deleted = Vec::new();
    for f in files {
        let too_old = max_age.is_some_and(|age| f.partition_end <= now_secs - age.as_secs() as i64);
        let too_big = max_bytes.is_some_and(|max| total > max);
        if !(too_old || too_big) {
            continue;
        }
        if std::fs::remove_file(&f.path).is_ok() {
            total -= f.size;
            if let Some(hour_dir) = f.path.parent() {
                // Only succeeds when empty.
                let _ = std::fs::remove_dir(hour_dir);
                if let Some(date_dir) = hour_dir.parent() {
                    let _ = std::fs::remove_dir(date_dir);
                }
            }
            deleted.push(f.path);
        }
    }
    deleted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, bytes: usize) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, vec![0u8; bytes]).unwrap();
    }

    #[test]
    fn partition_end_is_the_end_of_the_hour() {
        assert_eq!(partition_end("date=1970-01-01", "hour=00"), Some(3600));
        assert_eq!(partition_end("date=2024-02-29", "hour=23"), Some(1_709_251_200));
        assert_eq!(partition_end("nope", "hour=1"), None);
    }

    #[test]
    fn deletes_oldest_partitions_and_only_our_files() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let old = d.join("traces/date=2020-01-01/hour=00/part-a.parquet");
        let mid = d.join("metrics_sum/date=2020-01-02/hour=05/part-b.parquet");
        let new = d.join("traces/date=2020-01-03/hour=10/part-c.arrow");
        let foreign = d.join("traces/date=2020-01-01/hour=00/notes.txt");
        let foreign_parquet = d.join("traces/date=2020-01-01/hour=00/theirs.parquet");
        let temp = d.join("traces/date=2020-01-01/hour=00/.part-x.parquet.tmp");
        for p in [&old, &mid, &new, &foreign, &foreign_parquet, &temp] {
            touch(p, 100);
        }
        let now = UNIX_EPOCH + Duration::from_secs(partition_end("date=2020-01-03", "hour=12").unwrap() as u64);
        // Size: 300 bytes of ours, cap 150 -> the two oldest go.
        let deleted = enforce(d, None, Some(150), now);
        assert_eq!(deleted, vec![old.clone(), mid.clone()]);
        assert!(new.exists() && foreign.exists() && foreign_parquet.exists() && temp.exists());
        assert!(!d.join("metrics_sum/date=2020-01-02").exists(), "empty partition dirs are removed");
        // Age: everything older than one hour of data goes.
        let deleted = enforce(d, Some(Duration::from_secs(3600)), None, now);
        assert_eq!(deleted, vec![new]);
        assert!(foreign.exists() && foreign_parquet.exists());
    }
}
