//! Fault test: a writer process killed with SIGKILL at seeded moments loses no row that a
//! `flush()` acknowledged, duplicates none, leaves only readable data files, never leaves a
//! temporary file that a `**/*.parquet` glob matches, and the next library opened on the
//! directory removes the leftovers.
//!
//! The parent test re-executes its own test binary as the child: `kill_child` (ignored unless
//! [`DIR_VAR`] is set) exports spans and flushes in a loop, printing `ACK <n>` after each
//! successful flush (spans `0..n` of the trial are durable). All trials share one directory, so
//! each child also opens a store with the previous child's leftovers.
// `KeyValue { .., ..Default::default() }`: opentelemetry-proto 0.32's KeyValue has a field
// (`key_strindex`) that 0.31's lacks, so the update is needed with one and not the other.
#![allow(clippy::needless_update)]

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray as _;
use common::{all_files, glob_matches, keep_store, Rng};
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_parquet::proto::resource::v1::Resource;
use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_parquet::{read_file, Config, OtlpLibrary, StoreReader};

/// The store directory of the child; its presence makes `kill_child` run.
const DIR_VAR: &str = "OTEL_PARQUET_FAULTS_KILL_DIR";
/// The trial number; one more is stored in the first 8 bytes of each trace ID.
const TRIAL_VAR: &str = "OTEL_PARQUET_FAULTS_KILL_TRIAL";
const TRIALS: u64 = 50;
const SEED: u64 = 0x6b69_6c6c_2d39;
/// Spans per export; each export is followed by a flush.
const BATCH: u64 = 40;
/// Start of an hour; spans spread over three hours so that a flush writes several files.
const HOUR: u64 = 1_699_999_200_000_000_000;

/// Never all-zero (an all-zero trace ID means "no ID" and reads back empty).
fn trace_id(trial: u64, seq: u64) -> Vec<u8> {
    [(trial + 1).to_be_bytes(), seq.to_be_bytes()].concat()
}

fn batch(trial: u64, first: u64) -> ExportTraceServiceRequest {
    let spans = (first..first + BATCH)
        .map(|seq| Span {
            trace_id: trace_id(trial, seq),
            span_id: (seq + 1).to_be_bytes().to_vec(),
            name: format!("op-{}", seq % 7),
            start_time_unix_nano: HOUR + (seq % 3) * 3_600_000_000_000 + seq,
            end_time_unix_nano: HOUR + (seq % 3) * 3_600_000_000_000 + seq + 1_000,
            attributes: vec![KeyValue {
                key: "payload".into(),
                value: Some(AnyValue { value: Some(any_value::Value::StringValue("x".repeat((seq % 200) as usize))) }),
                ..Default::default()
            }],
            ..Span::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue { value: Some(any_value::Value::StringValue("killed".into())) }),
                    ..Default::default()
                }],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope { name: "faults".into(), ..InstrumentationScope::default() }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// The child: export and flush until killed (bounded, in case the parent is gone).
#[test]
#[ignore = "the child process of kill_9_at_random_moments_loses_no_acknowledged_row"]
fn kill_child() {
    let Some(dir) = std::env::var_os(DIR_VAR) else {
        eprintln!(
            "kill_child: {DIR_VAR} is unset; this is the child of kill_9_at_random_moments_loses_no_acknowledged_row"
        );
        return;
    };
    let trial: u64 = std::env::var(TRIAL_VAR).expect("trial").parse().expect("trial number");
    let library = OtlpLibrary::new(
        Config::builder().output_dir(dir).flush_interval(Duration::from_millis(7)).build().expect("config"),
    )
    .expect("library");
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY").expect("stdout");
    out.flush().expect("stdout");
    let mut next = 0;
    while next < 200_000 {
        let accepted = library.export_otlp_traces(&batch(trial, next)).expect("export");
        assert_eq!(accepted as u64, BATCH);
        next += BATCH;
        library.flush().expect("flush");
        writeln!(out, "ACK {next}").expect("stdout");
        out.flush().expect("stdout");
    }
}

/// Runs one child until `delay` after it is ready, kills it, and returns the highest
/// acknowledged count it printed.
fn run_child(dir: &Path, trial: u64, delay: Duration) -> u64 {
    let mut child = Command::new(std::env::current_exe().expect("current_exe"))
        .args(["--exact", "kill_child", "--nocapture", "--include-ignored"])
        .env(DIR_VAR, dir)
        .env(TRIAL_VAR, trial.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acked = 0;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // The harness may print `test kill_child ... ` before the child's first line.
            if line.ends_with("READY") {
                let _ = tx.send(());
            } else if let Some(n) = line.strip_prefix("ACK ") {
                acked = n.parse().expect("ACK count");
            }
        }
        acked
    });
    rx.recv_timeout(Duration::from_secs(60)).expect("the child did not get ready");
    std::thread::sleep(delay);
    // SIGKILL on Unix (TerminateProcess elsewhere): no destructor, no flush.
    child.kill().expect("kill");
    let status = child.wait().expect("wait");
    assert!(!status.success(), "trial {trial}: the child exited on its own ({status}) instead of being killed");
    reader.join().expect("reader thread")
}

/// Reads the data files not read yet, adding their spans (by TraceId) to `counts`; a span
/// stored twice fails. Files are immutable once renamed into place, so each is read once.
fn count_new_files(dir: &Path, read_files: &mut HashSet<PathBuf>, counts: &mut HashMap<String, u32>, trial: u64) {
    for file in all_files(dir).into_iter().filter(|p| glob_matches(p)) {
        if !read_files.insert(file.clone()) {
            continue;
        }
        let batches =
            read_file(&file).unwrap_or_else(|e| panic!("trial {trial}: {} does not read: {e}", file.display()));
        for batch in &batches {
            let ids = batch.column_by_name("TraceId").expect("TraceId column").as_string::<i32>();
            for id in ids.iter() {
                let count = counts.entry(id.expect("a TraceId").to_owned()).or_insert(0);
                *count += 1;
                assert_eq!(*count, 1, "trial {trial}: span {} is stored twice", id.unwrap_or_default());
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    all_files(dir).into_iter().filter(|p| p.to_string_lossy().ends_with(".tmp")).collect()
}

#[test]
fn kill_9_at_random_moments_loses_no_acknowledged_row() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng::new(SEED);
    let mut acked = HashMap::new();
    let mut leftovers_after_kill = 0;
    let mut not_cleaned = Vec::new();
    let mut seen_temps = HashSet::new();
    let (mut in_children, mut in_checks) = (Duration::ZERO, Duration::ZERO);
    let mut read_files = HashSet::new();
    let mut counts: HashMap<String, u32> = HashMap::new();
    for trial in 0..TRIALS {
        let delay = Duration::from_micros(rng.below(400_000));
        let phase = Instant::now();
        let n = run_child(dir.path(), trial, delay);
        in_children += phase.elapsed();
        let phase = Instant::now();
        acked.insert(trial, n);

        // No temporary file is ever matched by a data-file glob; every matched file reads.
        let temps = temp_files(dir.path());
        leftovers_after_kill += usize::from(temps.iter().any(|t| !seen_temps.contains(t)));
        seen_temps.extend(temps.iter().cloned());
        for temp in &temps {
            assert!(!glob_matches(temp), "trial {trial}: a **/*.parquet glob matches the temporary {}", temp.display());
        }
        count_new_files(dir.path(), &mut read_files, &mut counts, trial);

        // Every acknowledged span of every trial so far exactly once.
        for (&t, &n) in &acked {
            let lost: Vec<u64> = (0..n).filter(|&seq| !counts.contains_key(&hex(&trace_id(t, seq)))).collect();
            assert!(
                lost.is_empty(),
                "trial {trial}: {} of the {n} spans acknowledged in trial {t} are missing: {lost:?}; files: {:#?}",
                lost.len(),
                all_files(dir.path())
            );
        }

        in_checks += phase.elapsed();
        // The next library opened on the directory (and writing, as libraries do) removes the
        // leftovers. Its spans are of a trial of its own, checked like the children's.
        if !temps.is_empty() {
            let library =
                OtlpLibrary::new(Config::builder().output_dir(dir.path()).build().expect("config")).expect("library");
            let cleaner = u64::MAX - 1 - trial;
            library.export_otlp_traces(&batch(cleaner, 0)).expect("export");
            library.shutdown().expect("shutdown");
            acked.insert(cleaner, BATCH);
            let remaining = temp_files(dir.path());
            if !remaining.is_empty() {
                not_cleaned.push(format!("trial {trial}: {} left, e.g. {}", remaining.len(), remaining[0].display()));
            }
        }
    }
    // The OTLP reader agrees: every stored span once (the last checking library's included).
    count_new_files(dir.path(), &mut read_files, &mut counts, TRIALS);
    let read = StoreReader::new(dir.path()).read_traces().expect("read_traces");
    let spans = read.resource_spans.iter().flat_map(|rs| &rs.scope_spans).map(|ss| ss.spans.len()).sum::<usize>();
    assert_eq!(spans, counts.len(), "read_traces returns every stored span once");
    let total: u64 = acked.iter().filter(|(t, _)| **t < TRIALS).map(|(_, n)| n).sum();
    eprintln!(
        "kill -9: {TRIALS} trials, {total} acknowledged spans, 0 lost, 0 duplicated; {leftovers_after_kill} trials left \
         a new temporary file; {:.1?} ({in_children:.1?} running children, {in_checks:.1?} checking)",
        started.elapsed()
    );
    assert!(total > 0, "no child acknowledged anything: the test exercised nothing");
    keep_store("faults_kill", dir.path());
    assert!(
        not_cleaned.is_empty(),
        "the next library did not remove the leftovers of a killed writer:\n{}",
        not_cleaned.join("\n")
    );
}
