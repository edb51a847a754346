//! Fault test: a full disk and a read-only remount. The store lives on a small tmpfs that the
//! test mounts (as root, as CI runs; otherwise it is skipped with the reason printed). While the
//! filesystem refuses writes, flushes and exports fail with typed errors naming the cause and the
//! writer does not spin; once space (or write access) returns, every acknowledged span is stored
//! exactly once and no refused one is.
// `KeyValue { .., ..Default::default() }`: opentelemetry-proto 0.32's KeyValue has a field
// (`key_strindex`) that 0.31's lacks, so the update is needed with one and not the other.
#![allow(clippy::needless_update)]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::keep_store;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_parquet::{Config, OtlpError, OtlpLibrary, StoreReader};

const HOUR: u64 = 1_699_999_200_000_000_000;
const SPANS_PER_EXPORT: u64 = 50;

/// A tmpfs mounted for the test, unmounted (lazily, so that it never stays busy) on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it), or says why it cannot.
    fn mount(size: &str) -> Result<Tmpfs, String> {
        if !cfg!(target_os = "linux") {
            return Err("tmpfs mounts are Linux-only".into());
        }
        let uid = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1).map(str::to_owned))
            })
            .flatten();
        if uid.as_deref() != Some("0") {
            return Err(format!("not running as root (uid {uid:?}); CI runs as root"));
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!("mount -t tmpfs failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount(&self, mode: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(self.path())
            .output()
            .expect("run mount");
        assert!(out.status.success(), "remount,{mode}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// CPU time (user + system) of this process so far, from `/proc/self/stat`, in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which may contain spaces) start at field 3; utime and stime
    // are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux build in practice).
fn ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// Spans `first..first + SPANS_PER_EXPORT`, each with a 1 KiB attribute.
fn request(first: u64) -> ExportTraceServiceRequest {
    let spans = (first..first + SPANS_PER_EXPORT)
        .map(|seq| Span {
            trace_id: [[0xd1; 8], seq.to_be_bytes()].concat(),
            span_id: (seq + 1).to_be_bytes().to_vec(),
            name: "disk".into(),
            start_time_unix_nano: HOUR + seq,
            end_time_unix_nano: HOUR + seq + 10,
            attributes: vec![KeyValue {
                key: "filler".into(),
                value: Some(AnyValue { value: Some(any_value::Value::StringValue(format!("{seq:01024}"))) }),
                ..Default::default()
            }],
            ..Span::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..ScopeSpans::default() }],
            ..ResourceSpans::default()
        }],
    }
}

/// Exports one request after another, recording which span IDs were acknowledged.
struct Exporter {
    library: OtlpLibrary,
    next: u64,
    acknowledged: BTreeSet<u64>,
}

impl Exporter {
    fn export(&mut self) -> Result<(), OtlpError> {
        let first = self.next;
        self.next += SPANS_PER_EXPORT;
        let accepted = self.library.export_otlp_traces(&request(first))?;
        assert_eq!(accepted as u64, SPANS_PER_EXPORT);
        self.acknowledged.extend(first..first + SPANS_PER_EXPORT);
        Ok(())
    }
}

/// Every stored span's sequence number, with how often it is stored.
fn stored(dir: &Path) -> HashMap<u64, usize> {
    let mut out = HashMap::new();
    let read = StoreReader::new(dir).read_traces().expect("read_traces");
    for span in read.resource_spans.iter().flat_map(|rs| &rs.scope_spans).flat_map(|ss| &ss.spans) {
        let seq = u64::from_be_bytes(span.trace_id[8..16].try_into().expect("16-byte trace id"));
        *out.entry(seq).or_default() += 1;
    }
    out
}

fn assert_exactly_acknowledged(dir: &Path, exporter: &Exporter, phase: &str) {
    let stored = stored(dir);
    let duplicated: Vec<_> = stored.iter().filter(|(_, &n)| n > 1).map(|(s, _)| *s).collect();
    assert!(
        duplicated.is_empty(),
        "{phase}: {} spans stored twice or more, e.g. {:?}",
        duplicated.len(),
        &duplicated[..1]
    );
    let lost: Vec<_> = exporter.acknowledged.iter().filter(|s| !stored.contains_key(s)).collect();
    assert!(lost.is_empty(), "{phase}: {} acknowledged spans lost, e.g. {:?}", lost.len(), lost.first());
    let unacknowledged: Vec<_> = stored.keys().filter(|s| !exporter.acknowledged.contains(s)).collect();
    assert!(
        unacknowledged.is_empty(),
        "{phase}: {} spans of refused exports were stored, e.g. {:?}",
        unacknowledged.len(),
        unacknowledged.first()
    );
}

/// While writes fail: a flush is refused with `FlushFailed` naming `cause`, exports end in
/// `BufferFull` naming it once the cap is reached, and the process does not spin.
fn failing_phase(exporter: &mut Exporter, cause: &[&str], phase: &str) {
    let names_cause = |text: &str| cause.iter().any(|c| text.contains(c));
    exporter.export().expect("an export with buffer space left is accepted");
    match exporter.library.flush() {
        Err(e @ OtlpError::FlushFailed { .. }) => {
            assert!(names_cause(&e.full_message()), "{phase}: the flush error does not name the cause: {e}")
        }
        other => panic!("{phase}: flush gave {other:?}, expected FlushFailed"),
    }
    // Fill the buffer to its cap: exports are then refused with BufferFull naming the cause.
    let mut refused = None;
    for _ in 0..10_000 {
        if let Err(e) = exporter.export() {
            refused = Some(e);
            break;
        }
    }
    match refused {
        Some(e @ OtlpError::BufferFull { .. }) => {
            assert!(names_cause(&e.full_message()), "{phase}: BufferFull does not name the cause: {e}")
        }
        other => panic!("{phase}: exports into a full buffer gave {other:?}, expected BufferFull"),
    }
    // No spin: while writes keep failing, the writer (retrying every flush_interval) and the
    // refused exports (waiting export_timeout each) use well under one core; a thread spinning
    // on the error would use a whole one.
    let (ticks, started) = (cpu_ticks(), Instant::now());
    for _ in 0..5 {
        assert!(matches!(exporter.export(), Err(OtlpError::BufferFull { .. })), "{phase}: still full");
        std::thread::sleep(Duration::from_millis(200));
    }
    let cpu = Duration::from_millis((cpu_ticks() - ticks) * 1000 / ticks_per_second());
    let wall = started.elapsed();
    eprintln!("{phase}: {cpu:?} of CPU over {wall:?} while failing");
    assert!(cpu * 2 < wall, "{phase}: the process used {cpu:?} of CPU in {wall:?} while writes failed (spinning)");
}

#[test]
fn disk_full_and_read_only_remount_lose_nothing() {
    let tmpfs = match Tmpfs::mount("3m") {
        Ok(t) => t,
        Err(reason) => {
            eprintln!("SKIPPED disk_full_and_read_only_remount_lose_nothing: {reason}");
            return;
        }
    };
    let started = Instant::now();
    let store = tmpfs.path().join("store");
    let config = Config::builder()
        .output_dir(&store)
        .flush_interval(Duration::from_millis(200))
        .flush_bytes(256 << 10)
        .max_buffer_bytes(512 << 10)
        .export_timeout(Duration::from_millis(300))
        .build()
        .expect("config");
    let mut exporter =
        Exporter { library: OtlpLibrary::new(config).expect("library"), next: 0, acknowledged: BTreeSet::new() };
    exporter.export().expect("export");
    exporter.library.flush().expect("flush with space");

    // Disk full: a filler file takes every remaining byte.
    let filler = tmpfs.path().join("filler");
    fill(&filler);
    failing_phase(&mut exporter, &["No space left", "os error 28"], "disk full");
    std::fs::remove_file(&filler).expect("remove filler");
    exporter.library.flush().expect("flush once space returned");
    assert_exactly_acknowledged(&store, &exporter, "after disk full");

    // Read-only remount.
    tmpfs.remount("ro");
    failing_phase(&mut exporter, &["Read-only file system", "os error 30"], "read-only");
    tmpfs.remount("rw");
    exporter.library.flush().expect("flush once writable again");
    assert_exactly_acknowledged(&store, &exporter, "after read-only");

    // A library opened on a read-only store says so at once.
    tmpfs.remount("ro");
    let err = OtlpLibrary::new(Config::builder().output_dir(&store).build().expect("config")).map(|_| ());
    assert!(matches!(err, Err(OtlpError::OutputDir { .. })), "new() on a read-only store: {err:?}");
    tmpfs.remount("rw");

    exporter.library.shutdown().expect("shutdown");
    assert_exactly_acknowledged(&store, &exporter, "after shutdown");
    eprintln!(
        "disk full / read-only: {} spans acknowledged, 0 lost, 0 duplicated, 0 refused stored; {:.1?}",
        exporter.acknowledged.len(),
        started.elapsed()
    );
    keep_store("faults_disk", &store);
}

/// Writes zeros to `path` until the filesystem is full.
fn fill(path: &PathBuf) {
    let mut file = std::fs::File::create(path).expect("create filler");
    let block = vec![0u8; 64 << 10];
    loop {
        if let Err(e) = file.write_all(&block).and_then(|()| file.flush()) {
            assert_eq!(e.raw_os_error(), Some(28), "filling the tmpfs: {e}");
            break;
        }
    }
    let _ = file.sync_all();
}
