//! Helpers shared by the integration tests.

// Each test binary uses only some of them.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use opentelemetry_parquet::{StoreReader, Table};

/// Polls a future to completion on the current thread. The exporters hand the SDK futures that
/// are already complete, so no executor is needed.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// The variable naming the directory where tests keep the stores they wrote, for
/// `tests/test_stores.py` to read with DuckDB and pyarrow (`cargo xtask test-all` sets it).
pub const TEST_STORES_VAR: &str = "OTEL_PARQUET_TEST_STORES";

/// The names already cleared by this process, and the lock serializing manifest updates.
static KEPT: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Rows per table of a store, read back with [`StoreReader`] (every table, zero included).
pub fn table_rows(dir: &Path) -> BTreeMap<&'static str, usize> {
    Table::ALL
        .iter()
        .map(|&table| {
            let batches = StoreReader::new(dir)
                .read_batches(table)
                .unwrap_or_else(|e| panic!("{}: {table} does not read back: {}", dir.display(), e.full_message()));
            (table.name(), batches.iter().map(|b| b.num_rows()).sum())
        })
        .collect()
}

/// When [`TEST_STORES_VAR`] is set, adds the data files of the store at `dir` to
/// `$OTEL_PARQUET_TEST_STORES/<name>/` and adds their rows (counted with [`StoreReader`]) to that
/// directory's `manifest.json`: `{"format": "parquet"|"arrow", "tables": {"traces": N, ...}}`.
/// Stores kept under one name merge (file names are unique UUIDs); the first call of a process
/// for a name empties that directory first. Does nothing when the variable is unset.
pub fn keep_store(name: &str, dir: &Path) {
    let Some(root) = std::env::var_os(TEST_STORES_VAR).filter(|v| !v.is_empty()) else {
        return;
    };
    let dest = PathBuf::from(root).join(name);
    let rows = table_rows(dir);
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if kept.get_or_insert_with(HashSet::new).insert(name.to_owned()) {
        let _ = std::fs::remove_dir_all(&dest);
    }
    std::fs::create_dir_all(&dest).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
    let mut formats = HashSet::new();
    copy_data_files(dir, &dest, &mut formats);
    let manifest_path = dest.join("manifest.json");
    let mut manifest: serde_json::Value = match std::fs::read(&manifest_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).expect("manifest.json"),
        Err(_) => serde_json::json!({ "tables": {} }),
    };
    for format in formats {
        match manifest.get("format").and_then(|f| f.as_str()) {
            Some(existing) => assert_eq!(existing, format, "{name}: one storage format per kept store"),
            None => manifest["format"] = format.into(),
        }
    }
    for (table, n) in rows {
        let before = manifest["tables"][table].as_u64().unwrap_or(0);
        manifest["tables"][table] = (before + n as u64).into();
    }
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest).expect("json"))
        .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
}

/// Copies every complete data file (`part-*.parquet` / `part-*.arrow`) below `from` to the same
/// relative path below `to`, noting the formats seen.
fn copy_data_files(from: &Path, to: &Path, formats: &mut HashSet<&'static str>) {
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if entry.file_type().expect("file type").is_dir() {
            copy_data_files(&path, &to.join(&name), formats);
        } else if name.starts_with("part-") && (name.ends_with(".parquet") || name.ends_with(".arrow")) {
            formats.insert(if name.ends_with(".parquet") { "parquet" } else { "arrow" });
            std::fs::create_dir_all(to).expect("create dir");
            std::fs::copy(&path, to.join(&name)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

/// Every file below `dir`, recursively.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Whether a `**/*.parquet` (or `**/*.arrow`) glob, as DuckDB, pyarrow and Spark use, would match
/// the file: any name ending in the extension, hidden or not.
pub fn glob_matches(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    name.ends_with(".parquet") || name.ends_with(".arrow")
}

/// A small seeded PRNG (SplitMix64): deterministic test inputs without a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// The span IDs (8 bytes, read as a big-endian `u64`) of every span stored under `dir`.
pub fn stored_span_ids(dir: &Path) -> Vec<u64> {
    let read = StoreReader::new(dir).read_traces().expect("read_traces");
    read.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|s| u64::from_be_bytes(s.span_id.as_slice().try_into().expect("8-byte span IDs")))
        .collect()
}

/// The data points of every metric of a request.
pub fn data_points(
    request: &opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest,
) -> usize {
    use opentelemetry_parquet::proto::metrics::v1::metric::Data;
    request
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .map(|m| match &m.data {
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(Data::Summary(s)) => s.data_points.len(),
            None => 0,
        })
        .sum()
}

/// One stored attribute: key, ClickHouse rendering, and its type as a name (`string`, `int`,
/// `double`, `bool`, `bytes`, `empty`, `unset`) or the OTLP/JSON of an array or key-value list.
pub type Attr = (String, String, String);

/// The attributes of one row of an `X` / `XTypes` column pair: the map's entries in order, each
/// with its type from the `XTypes` string, which must name exactly one type per entry. The
/// `XTypes` string is split here independently of the crate's reader (serde_json finds where
/// each JSON object ends).
pub fn attrs_at(values: &arrow_array::ArrayRef, types: &arrow_array::ArrayRef, row: usize) -> Vec<Attr> {
    use arrow_array::cast::AsArray;
    use arrow_array::Array as _;
    let entries = values.as_map().value(row);
    let keys = entries.column(0).as_string::<i32>();
    let rendered = entries.column(1).as_string::<i32>();
    let types = types.as_string::<i32>().value(row);
    let mut names = Vec::new();
    let mut rest = types;
    while let Some(code) = rest.chars().next() {
        let (name, len) = match code {
            's' => ("string".to_owned(), 1),
            'i' => ("int".to_owned(), 1),
            'd' => ("double".to_owned(), 1),
            'b' => ("bool".to_owned(), 1),
            'y' => ("bytes".to_owned(), 1),
            'e' => ("empty".to_owned(), 1),
            'u' => ("unset".to_owned(), 1),
            '{' => {
                let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
                stream.next().expect("a JSON object").unwrap_or_else(|e| panic!("bad JSON in {types:?}: {e}"));
                let len = stream.byte_offset();
                (rest[..len].to_owned(), len)
            }
            other => panic!("unknown type code {other:?} in {types:?}"),
        };
        names.push(name);
        rest = &rest[len..];
    }
    assert_eq!(names.len(), entries.len(), "{types:?} names a type per map entry");
    (0..entries.len()).map(|i| (keys.value(i).to_owned(), rendered.value(i).to_owned(), names[i].clone())).collect()
}

/// `message` as the same message of `opentelemetry_parquet::proto` (the newest
/// `opentelemetry-proto` enabled, which can be newer than the one of the SDK under test, whose
/// transforms give the expected requests), by its wire form.
pub fn as_stored<N: prost::Message + Default>(message: &impl prost::Message) -> N {
    N::decode(message.encode_to_vec().as_slice()).expect("the same message in both proto versions")
}
