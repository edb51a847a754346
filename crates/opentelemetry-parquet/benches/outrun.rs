//! Peak memory while producers outrun the disk: `outrun [--quick]` starts threads that export
//! 512-span batches through `OtlpLibrary::export_traces` as fast as they can for a few seconds,
//! against a 64 MiB `max_buffer_bytes` (all other settings default), shuts the library down
//! (which flushes), then counts the rows in the files. It prints one JSON object (read by
//! `cargo xtask bench`): the cap, resident memory before the exports and at peak (`VmRSS` /
//! `VmHWM`, Linux), rows accepted (what the exports returned) and stored, and the exports
//! refused (an export waits for room up to `export_timeout`, then fails; none was accepted).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_parquet::{Config, OtlpLibrary};
use parquet::file::reader::{FileReader as _, SerializedFileReader};

const CAP: usize = 64 << 20;

/// `VmRSS` / `VmHWM` of this process in bytes.
fn status(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Rows in the Parquet files under `dir`.
fn stored_rows(dir: &std::path::Path) -> u64 {
    let mut rows = 0;
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rows += stored_rows(&path);
        } else if path.extension().is_some_and(|e| e == "parquet") {
            let reader = SerializedFileReader::new(std::fs::File::open(&path).expect("open")).expect("parquet file");
            rows += reader.metadata().file_metadata().num_rows() as u64;
        }
    }
    rows
}

fn main() {
    if std::env::args().any(|a| a == "--bench") {
        eprintln!("outrun: run by `cargo xtask bench`");
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let (threads, seconds) = if quick { (2, 1.0) } else { (8, 6.0) };
    let pool = Arc::new(common::make_spans(if quick { 2 } else { 8 }));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::builder().output_dir(dir.path()).max_buffer_bytes(CAP).build().expect("config");
    let library = OtlpLibrary::new(config).expect("library");
    // Building the input does not count (Linux >= 4.0: writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status("VmRSS:");

    let stop = Arc::new(AtomicBool::new(false));
    let (accepted, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (library, pool, stop) = (library.clone(), Arc::clone(&pool), Arc::clone(&stop));
            let (accepted, refused) = (Arc::clone(&accepted), Arc::clone(&refused));
            std::thread::spawn(move || {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    match library.export_traces(pool[i % pool.len()].clone()) {
                        Ok(rows) => accepted.fetch_add(rows as u64, Ordering::Relaxed),
                        Err(_) => refused.fetch_add(1, Ordering::Relaxed),
                    };
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().expect("producer thread");
    }
    let producing = started.elapsed();
    library.shutdown().expect("shutdown");
    let peak = status("VmHWM:");
    let accepted = accepted.load(Ordering::Relaxed);
    let stored = stored_rows(dir.path());
    let report = serde_json::json!({
        "cap_bytes": CAP,
        "threads": threads,
        "seconds": producing.as_secs_f64(),
        "rss_before_bytes": before,
        "peak_rss_bytes": peak,
        "rows_accepted": accepted,
        "rows_stored": stored,
        "exports_refused": refused.load(Ordering::Relaxed),
        "spans_per_second": accepted as f64 / producing.as_secs_f64(),
        "lost": accepted.abs_diff(stored),
    });
    println!("{report}");
}
