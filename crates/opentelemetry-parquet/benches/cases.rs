//! One benchmark case in this process, for instruction counts: `cases GROUP ID BATCHES
//! [--baseline]`, where GROUP is `spans`, `metrics` or `logs` and ID a benchmark id of
//! `common::ids`.
//!
//! The process makes `BATCHES` distinct input batches (512 spans from a real SDK tracer,
//! collections of 1,000 data points, or 512 log records of a real logger) and the case's sink;
//! then, unless `--baseline`, writes every batch and makes the last ones durable
//! (`Sink::finish`: ours flushes what a flush-every-64 sink left pending; the export-only case
//! never flushes). It then exits at once, without running any destructor (so that no flush at
//! drop is counted). `cargo xtask bench` runs each case under `valgrind --tool=callgrind` twice,
//! with and without `--baseline`, and divides the difference of the two instruction totals (all
//! threads; the calling thread only for the export-only case) by the elements written.
//! `sdk-span-creation` makes the batches' spans instead, with a tracer whose processor drops
//! them. Without arguments (as `cargo bench` runs it) it says how to use it and exits.

mod common;

use common::ids;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [group, id, batches, rest @ ..] = args.as_slice() else {
        eprintln!("usage: cases spans|metrics|logs ID BATCHES [--baseline] (run by `cargo xtask bench`)");
        return;
    };
    let batches: usize = batches.parse().expect("BATCHES is a number");
    let baseline = rest.iter().any(|a| a == "--baseline");
    let dir = tempfile::tempdir().expect("tempdir");
    match (group.as_str(), id.as_str()) {
        ("spans", ids::SDK_SPANS) => {
            let provider = common::dropping_provider();
            let mut maker = common::SpanMaker::new(&provider);
            if !baseline {
                for _ in 0..batches {
                    maker.batch();
                }
            }
        }
        ("spans", id) => {
            let pool = common::make_spans(batches);
            let mut sink = common::sink(id, dir.path());
            if !baseline {
                for batch in pool {
                    sink.write(batch);
                }
                sink.finish();
            } else {
                std::mem::forget(pool);
            }
            std::mem::forget(sink);
        }
        ("metrics", id) => {
            let pool = common::make_metrics(batches);
            let mut sink = common::sink(id, dir.path());
            if !baseline {
                for metrics in &pool {
                    sink.write(metrics);
                }
                sink.finish();
            }
            std::mem::forget(sink);
            std::mem::forget(pool);
        }
        ("logs", id) => {
            let pool = common::make_logs(batches);
            let refs: Vec<_> = pool.iter().map(common::log_refs).collect();
            let mut sink = common::sink(id, dir.path());
            if !baseline {
                for batch in &refs {
                    sink.write(batch.as_slice());
                }
                sink.finish();
            }
            std::mem::forget(sink);
            std::mem::forget(refs);
            std::mem::forget(pool);
        }
        (group, _) => panic!("no group {group}"),
    }
    println!("{group} {id}: {batches} batches{}", if baseline { " (baseline)" } else { "" });
    // Files stay behind in the temporary directory otherwise.
    drop(dir);
    std::process::exit(0);
}
