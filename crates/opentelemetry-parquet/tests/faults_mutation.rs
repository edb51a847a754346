//! Deterministic mutation test of the OTLP bytes entry points: at least 100,000 inputs made
//! from valid encoded trace, metric and log requests by a seeded PRNG (bit flips, byte edits,
//! insertions, deletions, truncations, splices) and by structure-aware mutations (deep nesting,
//! huge counts and repeated fields, duplicate keys, extreme times and odd ID lengths).
//!
//! Must hold for every input: no panic; a refused input gets a typed error that says the input
//! was bad (never one that says the library broke); every accepted input flushes, its rows read
//! back with [`StoreReader`] (one per accepted span / data point / log record), and the stores are kept for
//! `tests/test_stores.py`, which runs DuckDB `SELECT *` and pyarrow over them.
// `KeyValue { .., ..Default::default() }`: opentelemetry-proto 0.32's KeyValue has a field
// (`key_strindex`) that 0.31's lacks, so the update is needed with one and not the other.
#![allow(clippy::needless_update)]

mod common;
mod mutation;

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use common::{keep_store, table_rows, Rng};
use mutation::*;
use opentelemetry_parquet::{Config, OtlpError, OtlpLibrary, StoreReader};
use prost::Message as _;

const SEED: u64 = 0x6d75_7461_7465;
/// Inputs in all (a third each traces, metrics and logs); `OTEL_PARQUET_MUTATION_INPUTS` overrides it (a
/// multiple of [`PER_STORE`]), for longer runs by hand.
const INPUTS: usize = 100_000;
/// Inputs per store: each store is flushed, read back and checked, then kept.
const PER_STORE: usize = 10_000;

/// A byte-level mutation of `bytes` (at least one edit).
fn mutate_bytes(rng: &mut Rng, mut bytes: Vec<u8>, other: &[u8]) -> Vec<u8> {
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len().max(1) as u64;
        let at = rng.below(len) as usize;
        match rng.below(8) {
            0 if !bytes.is_empty() => bytes[at] ^= 1 << rng.below(8),
            1 if !bytes.is_empty() => bytes[at] = rng.next_u64() as u8,
            2 => {
                let at = at.min(bytes.len());
                let n = 1 + rng.below(16) as usize;
                let insert: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                bytes.splice(at..at, insert);
            }
            3 if !bytes.is_empty() => {
                let end = (at + 1 + rng.below(32) as usize).min(bytes.len());
                bytes.drain(at..end);
            }
            4 => bytes.truncate(at),
            5 if !bytes.is_empty() => {
                // Duplicate a range (repeats a field, or corrupts a length).
                let end = (at + 1 + rng.below(64) as usize).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            6 => {
                // Splice in a piece of another seed.
                let from = rng.below(other.len().max(1) as u64) as usize;
                let end = (from + rng.below(128) as usize).min(other.len());
                let at = at.min(bytes.len());
                bytes.splice(at..at, other[from.min(end)..end].iter().copied());
            }
            _ if !bytes.is_empty() => {
                // A varint byte set to its maximum: huge lengths and counts.
                bytes[at] = 0xff;
            }
            _ => bytes.push(rng.next_u64() as u8),
        }
    }
    bytes
}

#[derive(Default)]
struct Tally {
    accepted_inputs: usize,
    rows: usize,
    refused: BTreeMap<String, usize>,
}

/// Whether a refusal says the input was bad, rather than that the library broke.
fn is_input_error(err: &OtlpError) -> bool {
    matches!(err, OtlpError::Decode { .. } | OtlpError::ExportTooLarge { .. })
}

/// The signals, in the order inputs cycle through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Signal {
    Traces,
    Metrics,
    Logs,
}

const SIGNALS: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

/// A valid encoded request of `signal`, or (for splicing) of the signal after it.
fn seed(rng: &mut Rng, signal: Signal, mutated: bool) -> Vec<u8> {
    match signal {
        Signal::Traces => {
            let seed = trace_seed(rng);
            if mutated { mutate_traces(rng, seed) } else { seed }.encode_to_vec()
        }
        Signal::Metrics => {
            let seed = metrics_seed(rng);
            if mutated { mutate_metrics(rng, seed) } else { seed }.encode_to_vec()
        }
        Signal::Logs => {
            let seed = logs_seed(rng);
            if mutated { mutate_logs(rng, seed) } else { seed }.encode_to_vec()
        }
    }
}

/// A mutated input of `signal`: structure-aware, byte-level, or both.
fn input(rng: &mut Rng, signal: Signal) -> Vec<u8> {
    let other = seed(rng, SIGNALS[(signal as usize + 1) % SIGNALS.len()], false);
    match rng.below(3) {
        0 => seed(rng, signal, true),
        1 => {
            let valid = seed(rng, signal, false);
            mutate_bytes(rng, valid, &other)
        }
        _ => {
            let structured = seed(rng, signal, true);
            mutate_bytes(rng, structured, &other)
        }
    }
}

fn export(library: &OtlpLibrary, signal: Signal, bytes: &[u8]) -> Result<usize, OtlpError> {
    match signal {
        Signal::Traces => library.export_otlp_traces_bytes(bytes),
        Signal::Metrics => library.export_otlp_metrics_bytes(bytes),
        Signal::Logs => library.export_otlp_logs_bytes(bytes),
    }
}

#[test]
fn mutated_otlp_requests_never_panic_and_accepted_ones_read_back() {
    let started = Instant::now();
    let mut rng = Rng::new(SEED);
    let mut tallies: BTreeMap<Signal, Tally> = SIGNALS.iter().map(|s| (*s, Tally::default())).collect();
    let mut panics = Vec::new();
    let mut stores = 0;
    let inputs: usize =
        std::env::var("OTEL_PARQUET_MUTATION_INPUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(INPUTS);
    for store_start in (0..inputs).step_by(PER_STORE) {
        let dir = tempfile::tempdir().expect("tempdir");
        let library = OtlpLibrary::new(
            Config::builder().output_dir(dir.path()).export_timeout(Duration::from_secs(60)).build().expect("config"),
        )
        .expect("library");
        let rows_before: BTreeMap<Signal, usize> = tallies.iter().map(|(s, t)| (*s, t.rows)).collect();
        for i in store_start..store_start + PER_STORE {
            let signal = SIGNALS[i % SIGNALS.len()];
            let bytes = input(&mut rng, signal);
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| export(&library, signal, &bytes)));
            let tally = tallies.get_mut(&signal).expect("every signal has a tally");
            match outcome {
                Ok(Ok(rows)) => {
                    tally.accepted_inputs += 1;
                    tally.rows += rows;
                }
                Ok(Err(err)) => {
                    assert!(is_input_error(&err), "input {i}: refused with a non-input error: {}", err.full_message());
                    let kind = format!("{err:?}").split([' ', '{', '(']).next().unwrap_or_default().to_owned();
                    *tally.refused.entry(kind).or_default() += 1;
                }
                Err(panic) => {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default();
                    panics.push(format!("input {i} ({signal:?}, {} bytes): {message:.200}", bytes.len()));
                }
            }
        }
        assert!(
            panics.is_empty(),
            "{} inputs panicked, first ones:\n{}",
            panics.len(),
            panics[..panics.len().min(5)].join("\n")
        );
        library.flush().unwrap_or_else(|e| panic!("store {stores}: flush: {}", e.full_message()));
        library.shutdown().expect("shutdown");

        // Every accepted row reads back, through the OTLP reader and table by table.
        let added = |signal: Signal| tallies[&signal].rows - rows_before[&signal];
        let reader = StoreReader::new(dir.path());
        let read_traces =
            reader.read_traces().unwrap_or_else(|e| panic!("store {stores}: read_traces: {}", e.full_message()));
        let spans: usize =
            read_traces.resource_spans.iter().flat_map(|rs| &rs.scope_spans).map(|ss| ss.spans.len()).sum();
        assert_eq!(spans, added(Signal::Traces), "store {stores}: spans read back");
        let read_metrics =
            reader.read_metrics().unwrap_or_else(|e| panic!("store {stores}: read_metrics: {}", e.full_message()));
        let points = common::data_points(&read_metrics);
        assert_eq!(points, added(Signal::Metrics), "store {stores}: data points read back");
        let read_logs =
            reader.read_logs().unwrap_or_else(|e| panic!("store {stores}: read_logs: {}", e.full_message()));
        let records: usize =
            read_logs.resource_logs.iter().flat_map(|rl| &rl.scope_logs).map(|sl| sl.log_records.len()).sum();
        assert_eq!(records, added(Signal::Logs), "store {stores}: log records read back");
        let per_table: usize = table_rows(dir.path()).values().sum();
        assert_eq!(per_table, spans + points + records, "store {stores}: rows per table");
        keep_store("faults_mutation", dir.path());
        stores += 1;
    }
    let summary: Vec<String> = tallies
        .iter()
        .map(|(s, t)| format!("{s:?}: {} accepted ({} rows), refused {:?}", t.accepted_inputs, t.rows, t.refused))
        .collect();
    eprintln!(
        "mutation: {inputs} inputs in {stores} stores, 0 panics; {}; {:.1?}",
        summary.join("; "),
        started.elapsed()
    );
    for (signal, tally) in &tallies {
        assert!(tally.accepted_inputs > inputs / 30, "{signal:?}: too few inputs accepted to test storing them");
        assert!(tally.refused.values().sum::<usize>() > 0, "{signal:?}: no input was refused");
    }
}
