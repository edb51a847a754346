//! Several processes on one store: one with retention, two without, all writing at once; and a
//! writer killed with a file in progress.
//!
//! The parent tests re-execute this test binary as their children (`store_child`, which does
//! nothing unless [`ROLE_VAR`] is set). A writer child exports and flushes in a loop (any flush
//! error panics it: a non-zero exit), prints `DONE` and then waits for its standard input to
//! close before it shuts down, so every child is still alive while the parent checks the store.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{all_files, glob_matches};
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_parquet::{Config, OtlpLibrary};

/// `writer` or `crash`; its presence makes `store_child` run.
const ROLE_VAR: &str = "OTEL_PARQUET_MP_ROLE";
const DIR_VAR: &str = "OTEL_PARQUET_MP_DIR";
/// The child's number, stored in the top byte of each span ID.
const INDEX_VAR: &str = "OTEL_PARQUET_MP_INDEX";
/// Set for the child with retention: its `retention_max_bytes`.
const MAX_BYTES_VAR: &str = "OTEL_PARQUET_MP_MAX_BYTES";

const PROCESSES: u64 = 3;
/// 3 processes x 40 flushes x 834 spans = 100,080 spans.
const BATCHES: u64 = 40;
const BATCH: u64 = 834;
/// How long the parent waits for the children at most (a bound against hangs, not a check).
const PATIENCE: Duration = Duration::from_secs(600);

fn span_id(process: u64, batch: u64, seq: u64) -> u64 {
    process << 56 | batch << 32 | seq
}

/// One batch of spans, all in one hour: `batch % 5` hours ago, so the processes write into the
/// same few partitions and their event times are older than the retention child's maximum age.
fn batch(process: u64, batch: u64) -> ExportTraceServiceRequest {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    let start = now - (batch % 5) * 3_600_000_000_000;
    let spans = (0..BATCH)
        .map(|seq| {
            let id = span_id(process, batch, seq);
            Span {
                trace_id: [id.to_be_bytes(), id.to_be_bytes()].concat(),
                span_id: id.to_be_bytes().to_vec(),
                name: format!("op-{}", seq % 5),
                start_time_unix_nano: start + seq,
                end_time_unix_nano: start + seq + 1_000,
                ..Span::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..ScopeSpans::default() }],
            ..ResourceSpans::default()
        }],
    }
}

/// The child process. Not a test of its own: the parents run it.
#[test]
#[ignore = "the child process of the multi-process tests"]
fn store_child() {
    let Ok(role) = std::env::var(ROLE_VAR) else {
        eprintln!("store_child: {ROLE_VAR} is unset; this is the child of the multi-process tests");
        return;
    };
    let dir = PathBuf::from(std::env::var_os(DIR_VAR).expect("dir"));
    let index: u64 = std::env::var(INDEX_VAR).expect("index").parse().expect("index");
    let mut config = Config::builder().output_dir(&dir).flush_interval(Duration::from_secs(3600));
    if let Ok(max_bytes) = std::env::var(MAX_BYTES_VAR) {
        config = config
            .retention_max_bytes(max_bytes.parse().expect("max bytes"))
            .retention_max_age(Duration::from_secs(3600));
    }
    let library = OtlpLibrary::new(config.build().expect("config")).expect("library");
    let mut out = std::io::stdout().lock();
    match role.as_str() {
        "writer" => {
            for b in 0..BATCHES {
                library.export_otlp_traces(&batch(index, b)).expect("export");
                if let Err(e) = library.flush() {
                    panic!("process {index}, flush {b}: {}", e.full_message());
                }
            }
            writeln!(out, "DONE").expect("stdout");
            out.flush().expect("stdout");
            // Stay alive (holding the writer lock) until the parent has checked the store.
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            library.shutdown().expect("shutdown");
            let stats = library.retention_stats().expect("stats");
            writeln!(out, "STATS {} {} {} {}", stats.passes, stats.files_deleted, stats.bytes_deleted, stats.deferred)
                .expect("stdout");
        }
        "crash" => {
            library.export_otlp_traces(&batch(index, 0)).expect("export");
            library.flush().expect("flush");
            // A write in progress: what a kill during `Writer::write` leaves.
            let writer_id = std::fs::read_dir(dir.join(".writers"))
                .expect(".writers")
                .flatten()
                .find_map(|e| e.file_name().to_str()?.strip_suffix(".lock").map(str::to_owned))
                .expect("the writer's lock file");
            let partition = all_files(&dir).into_iter().find(|p| glob_matches(p)).expect("a data file");
            let temp = partition.with_file_name(format!(".part-{}.parquet.{writer_id}.tmp", uuid::Uuid::now_v7()));
            std::fs::write(&temp, vec![0u8; 1000]).expect("temp file");
            writeln!(out, "READY").expect("stdout");
            out.flush().expect("stdout");
            // Wait to be killed (bounded, in case the parent is gone).
            std::thread::sleep(PATIENCE);
        }
        other => panic!("unknown role {other}"),
    }
}

fn spawn(dir: &Path, role: &str, index: u64, max_bytes: Option<u64>) -> (Child, mpsc::Receiver<String>) {
    let mut command = Command::new(std::env::current_exe().expect("current_exe"));
    command
        .args(["--exact", "store_child", "--nocapture", "--include-ignored", "--test-threads=1"])
        .env(ROLE_VAR, role)
        .env(DIR_VAR, dir)
        .env(INDEX_VAR, index.to_string())
        .env_remove(MAX_BYTES_VAR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(max) = max_bytes {
        command.env(MAX_BYTES_VAR, max.to_string());
    }
    let mut child = command.spawn().expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // The harness may print `test store_child ... ` before the child's own output.
            for word in ["DONE", "READY", "STATS"] {
                if let Some(at) = line.find(word) {
                    let _ = tx.send(line[at..].to_owned());
                }
            }
        }
    });
    (child, rx)
}

fn wait_for(rx: &mpsc::Receiver<String>, prefix: &str, who: &str) -> String {
    loop {
        let line = rx.recv_timeout(PATIENCE).unwrap_or_else(|_| panic!("{who} never printed {prefix}"));
        if line.starts_with(prefix) {
            return line;
        }
    }
}

/// Three processes on one directory, the first with retention (a size cap far below what they
/// write, and a one-hour maximum age that every span's event time exceeds): no flush fails, no
/// span is stored twice, and the newest data of every process survives.
#[test]
fn three_processes_one_with_retention() {
    let tmp = tempfile::tempdir().unwrap();
    let children: Vec<_> =
        (0..PROCESSES).map(|i| spawn(tmp.path(), "writer", i, (i == 0).then_some(256 * 1024))).collect();
    for (i, (_, rx)) in children.iter().enumerate() {
        wait_for(rx, "DONE", &format!("process {i}"));
    }

    // Every child is alive and done writing.
    let ids = common::stored_span_ids(tmp.path());
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a span is stored twice");
    let mut per_process: HashMap<u64, usize> = HashMap::new();
    for &id in &ids {
        *per_process.entry(id >> 56).or_default() += 1;
    }
    for process in 0..PROCESSES {
        let missing = (0..BATCH).filter(|&seq| !unique.contains(&span_id(process, BATCHES - 1, seq))).count();
        assert_eq!(missing, 0, "process {process}: {missing} spans of its last flush are gone");
    }
    for path in all_files(tmp.path()) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!(glob_matches(&path) && name.ends_with(".tmp")), "{}", path.display());
    }

    let mut stats = Vec::new();
    for (i, (mut child, rx)) in children.into_iter().enumerate() {
        drop(child.stdin.take());
        let status = child.wait().expect("wait");
        assert!(status.success(), "process {i} failed: {status}");
        stats.push(wait_for(&rx, "STATS", &format!("process {i}")));
    }
    let fields: Vec<u64> = stats[0].split_whitespace().skip(1).map(|f| f.parse().unwrap()).collect();
    let (passes, files_deleted) = (fields[0], fields[1]);
    eprintln!(
        "three processes: {} spans written, {} stored at the end, per process {per_process:?}; \
         retention: {passes} passes, {files_deleted} files deleted",
        PROCESSES * BATCHES * BATCH,
        ids.len()
    );
    assert!(files_deleted > 0, "retention deleted nothing: the test exercised nothing ({})", stats[0]);
    assert!(ids.len() < (PROCESSES * BATCHES * BATCH) as usize, "the size cap was never reached");
}

/// A writer killed with a file in progress leaves its temporary file and its (now unlocked) lock
/// file; the next library that starts writing removes both and counts the orphan.
#[test]
fn a_killed_writers_temp_file_is_removed_by_the_next_library() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, rx) = spawn(tmp.path(), "crash", 9, None);
    wait_for(&rx, "READY", "the crash child");
    child.kill().expect("kill");
    let _ = child.wait();
    let temps = || all_files(tmp.path()).into_iter().filter(|p| p.to_string_lossy().ends_with(".tmp")).count();
    assert_eq!(temps(), 1, "the killed writer left its temporary file");
    let stored_before = common::stored_span_ids(tmp.path());
    assert_eq!(stored_before.len(), BATCH as usize, "readers skip the temporary file");

    let library = OtlpLibrary::new(Config::builder().output_dir(tmp.path()).build().unwrap()).unwrap();
    library.export_otlp_traces(&batch(10, 0)).unwrap();
    library.flush().unwrap();
    let stats = library.retention_stats().unwrap();
    drop(library);
    assert_eq!((stats.orphans_removed, stats.orphan_bytes_removed), (1, 1000), "{stats:?}");
    assert_eq!(temps(), 0);
    let writers: Vec<_> = std::fs::read_dir(tmp.path().join(".writers")).unwrap().flatten().collect();
    assert!(writers.is_empty(), "lock files left: {:?}", writers.iter().map(|e| e.file_name()).collect::<Vec<_>>());
    assert_eq!(common::stored_span_ids(tmp.path()).len(), 2 * BATCH as usize);
}
