"""Parts of REPORT.md that ``report.py`` assembles: charts, memory, Python logs and profile sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

AMORTIZED = "opentelemetry-parquet-flush-every-64"
EXPORT_ONLY = "opentelemetry-parquet-export-only"
OURS = "opentelemetry-parquet"


def get(tree: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def ratio(value: float | None, base: float | None) -> str:
    return "n/a" if value is None or not base else f"{value / base:.2f}x"


def bar_chart(path: Path, title: str, unit: str, values: dict[str, float | None]) -> str:
    shown = {k: v for k, v in values.items() if v is not None}
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * max(len(shown), 1)))
    names = list(shown)[::-1]
    bars = ax.barh(names, [shown[n] for n in names], color=["#2a7" if "ours" in n else "#888" for n in names])
    labels = [f"{shown[n]:,.0f}" if shown[n] >= 100 else f"{shown[n]:,.1f}" for n in names]
    ax.bar_label(bars, labels=labels, padding=3, fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(unit)
    ax.margins(x=0.15)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"![{title}](charts/{path.name})"


def memory_section(results: dict[str, Any]) -> str:
    allocs = results["rust"]["allocs"]
    outrun = results["rust"]["outrun"]
    rows = ["| per export | allocations | per data point / span | bytes allocated |", "|---|---:|---:|---:|"]
    for key, label in [
        ("export_metrics_ref", "`export_metrics_ref(&ResourceMetrics)`"),
        ("deep_copy", "deep copy of the `ResourceMetrics` (as the in-memory exporter makes it)"),
        ("export_metrics", "`export_metrics(ResourceMetrics)` (owned)"),
        ("span_export", "`span_exporter().export` of 512 spans"),
    ]:
        a = allocs[key]
        rows.append(f"| {label} | {a['allocations']:,} | {a['allocations_per_element']:.2f} | {a['bytes']:,} |")
    owned = allocs["deep_copy"]["allocations"] + allocs["export_metrics"]["allocations"]
    by_ref = allocs["export_metrics_ref"]["allocations"]
    mib = 1 << 20

    def mb(value: float | None) -> str:
        return "n/a" if value is None else f"{value / mib:.1f} MiB"

    lost = "nothing lost" if outrun["lost"] == 0 else f"**{outrun['lost']:,} rows lost**"
    return (
        f"Metrics: one collection of {allocs['data_points']:,} data points, median of {allocs['rounds']} exports. "
        f"By reference: {by_ref:,} allocations; deep copy + owned export: {owned:,} ({ratio(owned, by_ref)}).\n\n"
        + "\n".join(rows)
        + "\n\n### Peak RSS while producers outrun the disk\n\n"
        + f"{outrun['threads']} threads exporting 512-span batches as fast as they can for {outrun['seconds']:.1f} s "
        f"(`export_traces`, every other setting default):\n\n"
        "| cap (`max_buffer_bytes`) | RSS before | peak RSS | rows accepted | rows stored | exports refused "
        "| spans/s |\n"
        "|---:|---:|---:|---:|---:|---:|---:|\n"
        f"| {mb(outrun['cap_bytes'])} | {mb(outrun['rss_before_bytes'])} | {mb(outrun['peak_rss_bytes'])} "
        f"| {outrun['rows_accepted']:,} | {outrun['rows_stored']:,} | {outrun['exports_refused']:,} "
        f"| {outrun['spans_per_second']:,.0f} |\n\n"
        f"Rows stored == rows accepted: {lost}.\n\n"
        "### Hostile shapes (`examples/peak_rss.rs`)\n\n```text\n"
        + results["rust"]["hostile_shapes"].rstrip()
        + "\n```"
    )


def profile_table(title: str, rows: list[list[Any]] | None, element: str) -> str:
    if not rows:
        return ""
    lines = [f"**{title}**", "", f"| function (self cost) | instructions per {element} | share |", "|---|---:|---:|"]
    for name, per, share in rows:
        short = name if len(name) <= 110 else name[:107] + "..."
        lines.append(f"| `{short}` | {per:,.0f} | {share * 100:.1f}% |")
    return "\n".join(lines) + "\n"


def profiles_section(results: dict[str, Any]) -> str:
    spans = get(results, "rust", "instructions", "spans", "profiles") or {}
    metrics = get(results, "rust", "instructions", "metrics", "profiles") or {}
    python = get(results, "python", "instructions", "parquet_export_profile")
    parts = [
        profile_table("Rust spans, one flush per 64 batches", spans.get(AMORTIZED), "span"),
        profile_table("Rust spans, export call alone", spans.get(EXPORT_ONLY), "span"),
        profile_table("Rust spans, export + flush per batch", spans.get(OURS), "span"),
        profile_table("Rust metrics, export + flush per export", metrics.get(OURS), "data point"),
        profile_table("Python `ParquetSpanExporter.export` (Python and Rust)", python, "span"),
    ]
    return (
        "## Profiles: where our instructions go\n\nFor each of our cases, the functions with the most self "
        "instructions in the run with the work, minus the same function in its baseline run (callgrind, all "
        "threads; `???:` file names dropped). What is in the way of a missed target is at the top.\n\n"
        + "\n".join(p for p in parts if p)
    )


def python_logs_table(results: dict[str, Any]) -> str:
    """The Python log exporter against the OTLP log encoder and the OTLP/JSON file exporter, µs per
    log record (``python_bench.py export``, its ``logs`` part)."""
    logs = get(results, "python", "wall", "export", "logs") or {}
    encode = logs.get("encode_logs_serialize_us")
    rows = ["| per log record | wall µs | vs encode_logs+Serialize |", "|---|---:|---:|"]
    for key, label in [
        ("parquet_export_us", "`ParquetLogExporter.export` (flush excluded)"),
        ("parquet_export_flush_us", "`ParquetLogExporter.export` + `force_flush` per batch"),
        ("encode_logs_serialize_us", "`encode_logs(records).SerializeToString()` (OTLP protobuf)"),
        ("protobuf_file_us", "the same + append to a file + fsync"),
        ("otlp_json_file_us", "`opentelemetry-exporter-otlp-json-file` (`FileLogExporter`) + fsync"),
    ]:
        value = logs.get(key)
        shown = "n/a" if value is None else f"{value:,.2f}"
        rows.append(f"| {label} | {shown} | {ratio(value, encode)} |")
    records = logs.get("records", "n/a")
    note = (
        f"({records} log records per round in batches of 512, `logging` calls through the SDK's "
        "`LoggingHandler`: a formatted message, 4 `extra` attributes and the handler's code attributes, "
        "half of them inside a span; median of the rounds.)"
    )
    return "\n".join(rows) + "\n\n" + note


def serve_cases(results: dict[str, Any]) -> list[tuple[int, str, dict[str, Any], dict[str, Any]]]:
    """``(clients, protocol, serve case, baseline case)`` of ``serve_load``, in run order."""
    cases = get(results, "serve", "cases") or []
    baselines = {(c["clients"], c["protocol"]): c for c in cases if c["target"] == "baseline"}
    return [
        (c["clients"], c["protocol"], c, baselines.get((c["clients"], c["protocol"]), {}))
        for c in cases
        if c["target"] == "serve"
    ]


def serve_chart(path: Path, results: dict[str, Any]) -> str:
    values: dict[str, float | None] = {}
    for clients, protocol, ours, base in serve_cases(results):
        values[f"ours: serve {protocol} N={clients}"] = ours.get("spans_per_second")
        values[f"decode+discard {protocol} N={clients}"] = base.get("spans_per_second")
    return bar_chart(path, "serve under load: spans/s", "spans/s", values)


def serve_section(results: dict[str, Any], chart: str) -> str:
    """The "Serve (OTLP endpoint) load" section, from ``serve_load``'s JSON (``results["serve"]``)."""
    serve = results.get("serve")
    if not serve:
        return "Not measured in this run."

    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:,.1f}"

    def mib(value: float | None) -> str:
        return "n/a" if value is None else f"{value / (1 << 20):,.1f} MiB"

    rows = [
        "| clients | protocol | serve spans/s | baseline spans/s | serve / baseline | p50 ms serve | p50 ms baseline "
        "| p99 ms serve | p99 ms baseline | requests (serve / baseline) | refusals (retried) | serve peak RSS |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for clients, protocol, ours, base in serve_cases(results):
        rate, base_rate = ours["spans_per_second"], base.get("spans_per_second")
        rows.append(
            f"| {clients} | {protocol} | {rate:,.0f} | {'n/a' if base_rate is None else f'{base_rate:,.0f}'} "
            f"| {ratio(rate, base_rate)} | {ms(ours['p50_ms'])} | {ms(base.get('p50_ms'))} | {ms(ours['p99_ms'])} "
            f"| {ms(base.get('p99_ms'))} | {ours['requests']:,} / {base.get('requests', 0):,} "
            f"| {ours['refusals']:,} | {mib(ours.get('peak_rss_bytes'))} |"
        )
    acknowledged, stored = serve["spans_acknowledged"], serve["spans_stored"]
    kept = (
        f"all {stored:,} spans acknowledged are in the store ({serve['files']:,} files)"
        if stored == acknowledged
        else f"**{acknowledged - stored:,} acknowledged spans missing from the store**"
    )
    return (
        f"`opentelemetry-parquet serve` as a child process on loopback, its buffer capped at "
        f"{mib(serve['cap_bytes'])} (`OTEL_PARQUET_MAX_BUFFER_BYTES`, every other setting default), against an "
        f"in-process baseline that decodes each request and discards it. N clients per case send the same "
        f"export of {serve['spans_per_request']} spans ({serve['request_bytes']:,} bytes of protobuf: 10 attributes "
        f"and 1 event per span) for {serve['seconds_per_case']:g} s, each waiting for the answer before sending "
        f"again; a refusal (HTTP 503, gRPC `UNAVAILABLE`) is counted and retried after the wait its answer asks "
        f"for. Latency is from the first attempt to the acknowledgment.\n\n"
        + "\n".join(rows)
        + f"\n\nserve's RSS idle: {mib(serve.get('idle_rss_bytes'))}; peak over the whole run (stop included): "
        f"{mib(serve.get('peak_rss_bytes'))}. SIGTERM to exit: {serve['stop_seconds']:.2f} s, exit code "
        f"{serve['exit_status']}; {kept}.\n\n{chart}"
    )
