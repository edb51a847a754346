"""REPORT.md and PNG charts from the ``results.json`` of ``cargo xtask bench``.

Usage: ``python bench/report.py RESULTS_JSON OUT_DIR`` (writes OUT_DIR/REPORT.md and
OUT_DIR/charts/*.png). Nothing here judges speed by failing: a missed target is reported.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from report_parts import (
    bar_chart,
    get,
    memory_section,
    profiles_section,
    python_logs_table,
    ratio,
    serve_chart,
    serve_section,
)

OURS = "opentelemetry-parquet"
AMORTIZED = "opentelemetry-parquet-flush-every-64"
EXPORT_ONLY = "opentelemetry-parquet-export-only"
PROTOBUF = "otlp-protobuf-file"
ZSTD = "otlp-protobuf-zstd3-file"
JSON_LINES = "otlp-json-lines"
SDK = "sdk-span-creation"
LABELS = {
    OURS: "ours: export + flush per batch",
    AMORTIZED: "ours: one flush per 64 batches",
    EXPORT_ONLY: "ours: export call alone (calling thread, no flush)",
    PROTOBUF: "OTLP protobuf file + fsync",
    ZSTD: "OTLP protobuf + zstd-3 + fsync",
    JSON_LINES: "OTLP JSON lines + fsync",
    SDK: "SDK span creation (no exporter)",
}


def num(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


class Group:
    """One Rust group's figures: instructions, wall µs and bytes per element, by case."""

    def __init__(self, results: dict[str, Any], name: str) -> None:
        rust = results["rust"]
        self.instructions: dict[str, float] = get(rust, "instructions", name, "cases") or {}
        self.batches = get(rust, "instructions", name, "batches")
        self.wall: dict[str, float] = get(rust, "criterion", name, "wall_us") or {}
        bytes_ = get(rust, "criterion", name, "bytes") or {}
        self.bytes: dict[str, float] = {k: v["bytes"] for k, v in bytes_.items()}
        self.notes: dict[str, str] = {k: v["note"] for k, v in bytes_.items()}
        found = {*self.instructions, *self.wall}
        self.cases = [case for case in LABELS if case in found] + sorted(found - set(LABELS))

    def table(self, element: str) -> str:
        rows = [
            f"| per {element} | instructions | vs protobuf file | vs ours | wall µs | vs protobuf file | vs ours "
            f"| bytes on disk | vs protobuf file | vs ours |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for case in self.cases:
            cells = [LABELS.get(case, case)]
            for values, digits in ((self.instructions, 0), (self.wall, 2), (self.bytes, 1)):
                value = values.get(case)
                cells += [num(value, digits), ratio(value, values.get(PROTOBUF)), ratio(value, values.get(OURS))]
            rows.append("| " + " | ".join(cells) + " |")
        return "\n".join(rows)


def target_rows(results: dict[str, Any], spans: Group, metrics: Group) -> list[tuple[str, float | None, float, bool]]:
    """(target, measured ratio, goal, whether lower is better)."""
    python = results["python"]
    wall = get(python, "wall", "export") or {}
    pipeline = get(python, "wall", "pipeline") or {}
    instr = python.get("instructions") or {}

    def div(a: float | None, b: float | None) -> float | None:
        return None if a is None or not b else a / b

    return [
        (
            "Rust spans: instructions, ours (flush per 64 batches) / OTLP protobuf file",
            div(spans.instructions.get(AMORTIZED), spans.instructions.get(PROTOBUF)),
            1.0,
            True,
        ),
        (
            "Rust spans: instructions, export call alone / SDK span creation",
            div(spans.instructions.get(EXPORT_ONLY), spans.instructions.get(SDK)),
            1.0,
            True,
        ),
        (
            "Rust spans: bytes on disk, ours (64-batch file) / OTLP protobuf + zstd-3",
            div(spans.bytes.get(AMORTIZED), spans.bytes.get(ZSTD)),
            0.6,
            True,
        ),
        (
            "Rust metrics: instructions per data point, ours (flush per export) / OTLP protobuf file",
            div(metrics.instructions.get(OURS), metrics.instructions.get(PROTOBUF)),
            1.0,
            True,
        ),
        (
            "Python: `ParquetSpanExporter.export` / `encode_spans` + `SerializeToString`, wall µs per span",
            div(wall.get("parquet_export_us"), wall.get("encode_spans_serialize_us")),
            0.1,
            True,
        ),
        (
            "Python: same, instructions per span (callgrind)",
            div(instr.get("parquet_export_total"), instr.get("encode_spans_serialize_total")),
            0.1,
            True,
        ),
        (
            "Python: `BatchSpanProcessor` throughput, Parquet / `InMemorySpanExporter`",
            div(pipeline.get("parquet_spans_per_s"), pipeline.get("in_memory_spans_per_s")),
            0.9,
            False,
        ),
    ]


def targets_table(rows: list[tuple[str, float | None, float, bool]]) -> str:
    lines = ["| target | measured | goal | outcome |", "|---|---:|---:|---|"]
    for name, measured, goal, lower in rows:
        if measured is None:
            outcome = "not measured"
        elif (measured <= goal) if lower else (measured >= goal):
            outcome = "met"
        elif lower:
            outcome = f"missed: {measured / goal:.2f}x the goal ({(measured / goal - 1) * 100:.0f}% over)"
        else:
            outcome = f"missed: {(1 - measured / goal) * 100:.0f}% short of the goal"
        goal_text = f"≤ {goal:.2f}x" if lower else f"≥ {goal:.2f}x"
        lines.append(f"| {name} | {num(measured, 2)}x | {goal_text} | {outcome} |")
    return "\n".join(lines)


def machine_table(results: dict[str, Any]) -> str:
    m = results["machine"]
    versions = get(results, "python", "wall", "export", "versions") or {}
    dirty = " (with uncommitted changes)" if m.get("git_dirty") else ""
    rows = [
        ("date", m["date"]),
        ("git commit", f"`{m['git_commit']}`{dirty}"),
        ("CPU", f"{m['cpu']}, {m['cores']} cores"),
        ("OS", m["os"]),
        ("rustc", m["rustc"]),
        ("Python", m["python"]),
        ("valgrind", m["valgrind"]),
        ("Python packages", ", ".join(f"{k} {v}" for k, v in versions.items()) or "n/a"),
        (
            "run time",
            f"{results['seconds'] / 60:.1f} min (`cargo xtask bench{' --quick' if results['quick'] else ''}`)",
        ),
    ]
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def python_tables(results: dict[str, Any], spans: Group) -> str:
    wall = get(results, "python", "wall", "export") or {}
    instr = get(results, "python", "instructions") or {}
    pipeline = get(results, "python", "wall", "pipeline") or {}
    encode_us = wall.get("encode_spans_serialize_us")
    encode_instr = instr.get("encode_spans_serialize_total")
    rows = [
        "| per span | wall µs | vs encode_spans+Serialize | instructions (callgrind) | vs encode_spans+Serialize |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, us, ins in [
        (
            "`ParquetSpanExporter.export` (flush excluded)",
            wall.get("parquet_export_us"),
            instr.get("parquet_export_total"),
        ),
        ("`ParquetSpanExporter.export` + `force_flush` per batch", wall.get("parquet_export_flush_us"), None),
        ("`encode_spans(spans).SerializeToString()`", encode_us, encode_instr),
        ("the same + append to a file + fsync", wall.get("protobuf_file_us"), None),
    ]:
        rows.append(f"| {label} | {num(us, 2)} | {ratio(us, encode_us)} | {num(ins)} | {ratio(ins, encode_instr)} |")
    rust_side = instr.get("parquet_export_rust_side")
    native = spans.instructions.get(EXPORT_ONLY)
    amortized = spans.instructions.get(AMORTIZED)
    rust_line = (
        f"Rust side of `ParquetSpanExporter.export`: **{num(rust_side)} instructions per span**, "
        f"{ratio(rust_side, native)} the native Rust export call alone ({num(native)}, calling thread) and "
        f"{ratio(rust_side, amortized)} the whole native path with one flush per 64 batches ({num(amortized)}, "
        "all threads). The Python figure is the calling thread's, flush excluded."
    )
    in_memory = pipeline.get("in_memory_spans_per_s")
    prows = ["| `BatchSpanProcessor` into | spans/s | vs `InMemorySpanExporter` |", "|---|---:|---:|"]
    for key, label in [
        ("parquet", "`ParquetSpanExporter`"),
        ("in_memory", "`InMemorySpanExporter`"),
        ("otlp_json_file", "`opentelemetry-exporter-otlp-json-file` (`FileSpanExporter`)"),
        ("otlp_protobuf_file", "OTLP protobuf file (`encode_spans` + `SerializeToString`, appended)"),
    ]:
        value = pipeline.get(f"{key}_spans_per_s")
        prows.append(f"| {label} | {num(value)} | {ratio(value, in_memory)} |")
    spans_note = f"{pipeline.get('spans', 'n/a')} spans per run, median of the rounds"
    return "\n".join(rows) + "\n\n" + rust_line + "\n\n" + "\n".join(prows) + f"\n\n({spans_note}.)"


BEFORE = """## When issue 7 was filed

The issue's own figures (Rust spans, one flush per 64 batches, same workload and method), for
the before/after comparison:

| per span | instructions | wall µs | bytes on disk |
|---|---:|---:|---:|
| ours (`span_exporter` + flush) | 45,700 | 5.9 | 38.7 |
| OTLP protobuf file + fsync | 27,300 | 3.6 | 478 |
| OTLP protobuf + zstd-3 | 34,900 | 5.4 | 48.8 |
| SDK span creation | 5,200 | 0.6 | |

Metrics: 22,800 instructions per data point against 7,700 for a protobuf file. Python:
`ParquetSpanExporter.export` 20 µs per span against 83 µs for `encode_spans().SerializeToString()`,
81,000 instructions per span on its Rust side; `BatchSpanProcessor` at about 80% of
`InMemorySpanExporter`'s throughput.
"""

METHOD = """## Method

- **Instructions** (callgrind, `valgrind --tool=callgrind`, all threads): every case runs in its
  own process (`benches/cases.rs`) twice, once making the input and the sink only (`--baseline`)
  and once also writing it; the difference is divided by the spans or data points written. The
  process exits without running destructors, so no flush at exit is counted. The export call
  alone counts the calling thread only (`--separate-threads=yes`, thread 1): whatever the
  library hands to its writer thread is counted by the flush cases. Rust spans:
  {span_batches} batches of 512 spans (one flush at the end for the flush-per-64 case); metrics:
  {metric_batches} collections of 1,000 data points (250 attribute sets on a counter, a histogram,
  an up-down counter and a gauge), flushed after each.
- **Python instructions**: `bench/python_bench.py callgrind WHAT` under callgrind, making the same
  batches and then exporting them (`parquet`), encoding them (`encode`) or nothing (`none`); the
  totals are each run minus the `none` run. The Rust side is the inclusive cost of the calls
  through libffi's `ffi_call` (how UniFFI's ctypes bindings enter the library), minus the
  `none` run's (the bindings' load-time checks).
- **Wall time**: criterion (`benches/export.rs`), mean per batch divided by its elements; the
  machine is shared, so wall figures are noisy: instruction counts are what to compare.
- **Bytes on disk**: what the files of one batch (64 batches for the flush-per-64 case) take.
- **SDK span creation**: the same spans made by an SDK tracer whose span processor drops them.
- **Allocations**: `benches/allocs.rs`, a counting global allocator (`stats_alloc`).
- **Peak RSS**: `benches/outrun.rs`; `VmHWM` from `/proc/self/status`, reset after the input is
  built; rows stored are counted from the Parquet footers after shutdown.
- **Serve load**: `crates/opentelemetry-parquet-cli/examples/serve_load/` (release build of the
  CLI; the quick mode uses the dev build). gRPC clients are tonic channels, HTTP clients a minimal
  HTTP/1.1 keep-alive client, one connection each; both send the same pre-encoded request, so the
  clients spend little of the shared cores. Clients, baseline and `serve` share the machine's
  cores: compare the ratio to the baseline, not the absolute rates. Peak RSS is `serve`'s `VmHWM`
  (`/proc/<pid>/status`), reset before each case (`clear_refs`); the store is read back after
  SIGTERM and must hold exactly the spans acknowledged, or the run fails.
"""


def main() -> None:
    results_path, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    results = json.loads(results_path.read_text())
    spans, metrics, logs = Group(results, "spans"), Group(results, "metrics"), Group(results, "logs")
    charts = out_dir / "charts"
    labelled: Callable[[dict[str, float]], dict[str, float | None]] = lambda d: {  # noqa: E731
        label: d[case] for case, label in LABELS.items() if case in d
    }
    pipeline = get(results, "python", "wall", "pipeline") or {}
    wall = get(results, "python", "wall", "export") or {}
    chart_links = [
        bar_chart(
            charts / "rust_spans_instructions.png",
            "Rust: instructions per span",
            "instructions",
            labelled(spans.instructions),
        ),
        bar_chart(charts / "rust_spans_bytes.png", "Rust: bytes on disk per span", "bytes", labelled(spans.bytes)),
        bar_chart(
            charts / "rust_metrics_instructions.png",
            "Rust: instructions per data point",
            "instructions",
            labelled(metrics.instructions),
        ),
        bar_chart(
            charts / "python_export.png",
            "Python: µs per span",
            "µs",
            {
                "ours: ParquetSpanExporter.export": wall.get("parquet_export_us"),
                "ours: export + force_flush": wall.get("parquet_export_flush_us"),
                "encode_spans + SerializeToString": wall.get("encode_spans_serialize_us"),
                "the same + file + fsync": wall.get("protobuf_file_us"),
            },
        ),
        bar_chart(
            charts / "python_pipeline.png",
            "Python: BatchSpanProcessor pipeline, spans/s",
            "spans/s",
            {
                "ours: ParquetSpanExporter": pipeline.get("parquet_spans_per_s"),
                "InMemorySpanExporter": pipeline.get("in_memory_spans_per_s"),
                "otlp-json-file FileSpanExporter": pipeline.get("otlp_json_file_spans_per_s"),
                "OTLP protobuf file": pipeline.get("otlp_protobuf_file_spans_per_s"),
            },
        ),
    ]
    chart_links.append(serve_chart(charts / "serve_load.png", results))
    serve_text = serve_section(results, chart_links[-1])
    quick = (
        "> **Quick mode**: tiny sizes that prove the harness works; these figures mean nothing.\n\n"
        if results["quick"]
        else ""
    )
    text = f"""# Benchmark report

{quick}Written by `cargo xtask bench` (`just bench`) from `results.json`; every ratio is
measured side by side in this one run. Issue 7 ("Performance") set the targets; issue 9 added logs.

{machine_table(results)}

## Targets

{targets_table(target_rows(results, spans, metrics))}

## Rust spans

512-span batches (10 attributes and 1 event each, from a real SDK tracer), made durable on disk
(fsync) unless the row says otherwise. "vs ours" is against `{OURS}` (export + flush per batch).

{spans.table("span")}

{chart_links[0]}

{chart_links[1]}

## Rust metrics

Collections of 1,000 series (250 attribute sets on each of 4 instruments), flushed after each export.

{metrics.table("data point")}

{chart_links[2]}

## Rust logs

512-record batches from a real `SdkLoggerProvider`, shaped like `tracing` events through the
appender (a message body, a target, 6 attributes, half inside a span), made durable on disk
(fsync) unless the row says otherwise; the OTLP protobuf case writes what
`opentelemetry-otlp` would send (`group_logs_by_resource_and_scope`). "vs ours" as for spans.

{logs.table("log record")}

## Allocations per export

{memory_section(results)}

## Serve (OTLP endpoint) load

{serve_text}

## Python

{python_tables(results, spans)}

Logs, the same comparison per log record:

{python_logs_table(results)}

{chart_links[3]}

{chart_links[4]}

{profiles_section(results)}
{BEFORE}
{METHOD.format(span_batches=spans.batches, metric_batches=metrics.batches)}"""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "REPORT.md").write_text(text)
    print(f"wrote {out_dir / 'REPORT.md'} and {len(chart_links)} charts in {charts}")


if __name__ == "__main__":
    main()
