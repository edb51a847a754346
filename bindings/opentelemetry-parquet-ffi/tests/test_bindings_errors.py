"""Bad input and lifecycle: every failure is a typed error naming what was wrong, and a rejected
batch stores nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bindings_helpers import (
    TABLES,
    batch,
    dumps,
    exemplar,
    link,
    log_record,
    metric,
    number_point,
    open_library,
    resource_group,
    rows,
    scope_group,
    span,
)

from opentelemetry_parquet import OtlpError, OtlpLibrary, ParquetConfig

VARIANTS = [
    "InvalidConfig",
    "OutputDir",
    "Decode",
    "ExportTooLarge",
    "WriterFailed",
    "ForkedProcess",
    "Io",
    "BufferFull",
    "Timeout",
    "AlreadyShutdown",
    "FlushFailed",
    "Internal",
]


def _stored_rows(store: Path) -> dict[str, int]:
    return {t: len(rows(store, t)) for t in TABLES}


def test_every_error_is_an_otlp_error() -> None:
    for name in VARIANTS:
        variant = getattr(OtlpError, name)
        assert issubclass(variant, OtlpError) and issubclass(variant, Exception), name
    with pytest.raises(OtlpError):
        raise OtlpError.Decode("caught as the base class")


@pytest.mark.parametrize("data", [b"not a pickle", b"", b"\x80\x05\x95"], ids=["garbage", "empty", "truncated"])
def test_malformed_bytes_are_a_decode_error_naming_the_format(library: OtlpLibrary, data: bytes) -> None:
    exports: dict[str, Callable[[bytes], int]] = {
        "span": library.export_traces,
        "log": library.export_logs,
        "metrics": library.export_metrics,
    }
    for what, export in exports.items():
        with pytest.raises(OtlpError.Decode, match=f"malformed {what} batch .*BATCH_FORMAT.md"):
            export(data)
    with pytest.raises(OtlpError.Decode, match="malformed metrics batch"):
        library.export_metrics_ref(data)


def _short_span() -> list[Any]:
    return batch([span()[:5]])


def _str_time() -> list[Any]:
    s = list(span())
    s[8] = "2023-11-14T22:13:20Z"
    return batch([tuple(s)])


WRONG_SHAPES: list[tuple[str, Callable[[], Any], str, str]] = [
    ("top level dict", lambda: {"spans": []}, "span", "invalid type: map, expected a sequence"),
    ("span tuple too short", _short_span, "span", "invalid length 5"),
    ("start time as str", _str_time, "span", 'invalid type: string "2023-11-14T22:13:20Z"'),
    (
        "str where bytes are expected",
        lambda: batch([span(trace_id="0af7651916cd43dd8448eb211c80319c")]),  # type: ignore[arg-type]
        "span",
        'invalid type: string "0af7651916cd43dd8448eb211c80319c", expected an ID of 16 bytes',
    ),
    ("short trace id", lambda: batch([span(trace_id=b"abc")]), "span", "an ID of 16 bytes, got 3 bytes"),
    (
        "empty link span id",
        lambda: batch([span(links=[link(bytes(16), b"")])]),
        "span",
        "an ID of 8 bytes, got 0 bytes",
    ),
    (
        "int key in a dict attribute value",
        lambda: batch([span(attributes={"k": {1: "x"}})]),
        "span",
        'attribute "k": invalid type: integer `1`, expected a string',
    ),
    ("int attribute key", lambda: batch([span(attributes={1: "v"})]), "span", "expected a string"),  # type: ignore[dict-item]
    ("int beyond 64 bits", lambda: batch([span(attributes={"k": 2**64})]), "span", "integer too large"),
    ("log record tuple too short", lambda: batch([log_record()[:3]]), "log", "log record 0: invalid length 3"),
    (
        "unknown metric kind",
        lambda: batch([metric("m", "summary", [number_point(1)])]),
        "metrics",
        'metric "m" has unknown kind "summary"',
    ),
    (
        "histogram point in a gauge",
        lambda: batch([metric("m", "gauge", [("not", "a", "point")])]),
        "metrics",
        'malformed data point of metric "m"',
    ),
]


@pytest.mark.parametrize(
    ("batch_of", "what", "message"), [w[1:] for w in WRONG_SHAPES], ids=[w[0] for w in WRONG_SHAPES]
)
def test_wrong_shape_is_a_decode_error_naming_the_problem(
    library: OtlpLibrary, store: Path, batch_of: Callable[[], Any], what: str, message: str
) -> None:
    export = {"span": library.export_traces, "log": library.export_logs, "metrics": library.export_metrics}[what]
    with pytest.raises(OtlpError.Decode) as caught:
        export(dumps(batch_of()))
    assert message in str(caught.value)
    library.flush()
    assert _stored_rows(store) == dict.fromkeys(TABLES, 0)


def test_a_batch_sharing_an_object_is_stored(library: OtlpLibrary, store: Path) -> None:
    """``pickle.dumps`` with the memo writes an object used twice once, then a memo reference
    to it: read as the same value twice."""
    shared = {"http.route": "/checkout"}
    spans = [span(span_id=bytes([i]) * 8, attributes=shared) for i in (1, 2)]
    assert library.export_traces(dumps(batch(spans))) == 2
    library.flush()
    assert [r["SpanAttributes"] for r in rows(store, "traces")] == [[("http.route", "/checkout")]] * 2


def test_metric_point_attributes_keep_their_order(library: OtlpLibrary, store: Path) -> None:
    attributes = {"z": 1, "a": 2}
    point = number_point(1, attributes=attributes, exemplars=[exemplar(1, filtered_attributes={"y": 1, "b": 2})])
    library.export_metrics(dumps(batch([metric("m", "gauge", [point])])))
    library.flush()
    (row,) = rows(store, "metrics_gauge")
    assert [k for k, _ in row["Exemplars"][0]["FilteredAttributes"]] == ["y", "b"]
    assert [k for k, _ in row["Attributes"]] == ["z", "a"]


def test_wrong_argument_types_are_type_errors(library: OtlpLibrary) -> None:
    calls: list[Callable[[], object]] = [
        lambda: library.export_traces(123),  # type: ignore[arg-type]
        lambda: library.export_traces("[]"),  # type: ignore[arg-type]
        lambda: library.export_metrics(None),  # type: ignore[arg-type]
        lambda: library.export_metrics_ref("[]"),  # type: ignore[arg-type]
        lambda: library.export_metrics_ref(bytearray(b"[]")),  # type: ignore[arg-type]
        lambda: library.export_otlp_traces(1),  # type: ignore[arg-type]
        lambda: library.export_otlp_metrics([1]),  # type: ignore[arg-type]
        lambda: library.flush(timeout_ms="10"),  # type: ignore[arg-type]
        lambda: OtlpLibrary(),  # type: ignore[call-arg]
        lambda: ParquetConfig("positional"),  # type: ignore[call-arg]
        lambda: ParquetConfig(unknown=1),  # type: ignore[call-arg]
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"flush_rows": 0}, "flush_rows"),
        ({"flush_bytes": 0}, "flush_bytes"),
        ({"format": "csv"}, 'format: unknown format "csv"'),
        ({"compression": "brotli"}, 'compression: unknown compression "brotli"'),
        ({"temporality": "sometimes"}, 'temporality: unknown temporality "sometimes"'),
        ({"flush_bytes": 100, "max_buffer_bytes": 10}, "max_buffer_bytes"),
    ],
)
def test_invalid_config_names_the_option(store: Path, options: dict[str, Any], named: str) -> None:
    with pytest.raises(OtlpError.InvalidConfig, match="invalid configuration") as caught:
        open_library(store, **options)
    assert named in str(caught.value)
    assert not store.exists(), "nothing is created for a rejected configuration"


def test_an_invalid_variable_is_ignored_and_named(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unparsable variable is treated as not set (the OpenTelemetry rule for environment
    variables) and reported; it never rejects a valid explicit configuration."""
    default = open_library(store)
    default.shutdown()
    monkeypatch.setenv("OTEL_PARQUET_FLUSH_ROWS", "many")
    library = open_library(store)
    (ignored,) = library.ignored_environment()
    assert "OTEL_PARQUET_FLUSH_ROWS" in ignored and "many" in ignored
    assert library.config() == default.config(), "as if the variable were not set"
    library.shutdown()
    monkeypatch.setenv("OTEL_PARQUET_FLUSH_ROWS", "10")
    library = open_library(store)
    assert (library.ignored_environment(), library.config().flush_rows) == ([], 10)
    library.shutdown()


def test_an_explicit_option_wins_over_its_variable(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_PARQUET_FLUSH_ROWS", "many")
    monkeypatch.setenv("OTEL_PARQUET_FORMAT", "arrow")
    monkeypatch.setenv("OTEL_PARQUET_COMPRESSION", "lz4")
    library = open_library(store, flush_rows=5, format="parquet")
    config = library.config()
    assert (config.flush_rows, config.format, config.compression) == (5, "parquet", "lz4")
    assert library.ignored_environment() == [], "the bad variable of an explicit option is never read"
    library.shutdown()


def test_the_resolved_config_reopens_the_same_library(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_PARQUET_TEMPORALITY", "delta")
    library = open_library(store, format="arrow", flush_rows=3, retention_max_bytes=10**9)
    config = library.config()
    library.shutdown()
    monkeypatch.delenv("OTEL_PARQUET_TEMPORALITY")
    again = OtlpLibrary(config)
    assert again.config() == config
    assert (config.format, config.flush_rows, config.temporality, config.retention_max_bytes) == (
        "arrow",
        3,
        "delta",
        10**9,
    )
    assert config.retention_max_age_secs is None
    again.shutdown()


def test_negative_numbers_are_refused_before_reaching_rust(store: Path) -> None:
    with pytest.raises(ValueError):
        open_library(store, flush_rows=-1)


def test_unwritable_output_dir(tmp_path: Path) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a directory")
    for path in (in_the_way, in_the_way / "below"):
        with pytest.raises(OtlpError.OutputDir, match="output directory") as caught:
            OtlpLibrary(ParquetConfig(output_dir=str(path)))
        assert str(path) in str(caught.value)


def test_export_after_shutdown(library: OtlpLibrary, store: Path) -> None:
    library.export_traces(dumps(batch([span(name="before")])))
    assert not library.is_shutdown()
    library.shutdown()
    assert library.is_shutdown()
    assert [r["SpanName"] for r in rows(store, "traces")] == ["before"], "shutdown flushes"
    library.shutdown()  # idempotent
    calls: list[Callable[[], object]] = [
        lambda: library.export_traces(dumps(batch([span()]))),
        lambda: library.export_metrics(dumps(batch([metric("m", "gauge", [number_point(1)])]))),
        lambda: library.export_metrics_ref(dumps([])),
        lambda: library.export_otlp_traces(b""),
        lambda: library.export_otlp_metrics(b""),
    ]
    for call in calls:
        with pytest.raises(OtlpError.AlreadyShutdown, match="shut down"):
            call()
    assert [r["SpanName"] for r in rows(store, "traces")] == ["before"]


def test_nothing_is_stored_from_a_rejected_batch(library: OtlpLibrary, store: Path) -> None:
    # Fresh tuples every time: a shared object would be rejected for another reason (see above).
    def good_span() -> tuple[Any, ...]:
        return span(name="good")

    def good_metric() -> tuple[Any, ...]:
        return metric("good", "gauge", [number_point(1)])

    spans_then_garbage = [
        resource_group([scope_group([good_span(), good_span()])]),
        resource_group([scope_group([good_span(), span()[:17]])]),
    ]
    with pytest.raises(OtlpError.Decode, match="invalid length 17"):
        library.export_traces(dumps(spans_then_garbage))
    metrics_then_garbage = [
        resource_group([scope_group([good_metric()])]),
        resource_group([scope_group([good_metric(), metric("bad", "histogram", [number_point(1)])])]),
    ]
    with pytest.raises(OtlpError.Decode, match='metric "bad"'):
        library.export_metrics(dumps(metrics_then_garbage))
    logs_then_garbage = [
        resource_group([scope_group([log_record(), log_record()])]),
        resource_group([scope_group([log_record(), log_record(body=2**64)])]),
    ]
    with pytest.raises(OtlpError.Decode, match="log record 1: body: invalid value"):
        library.export_logs(dumps(logs_then_garbage))
    with pytest.raises(OtlpError.Decode, match='metric "bad"'):
        library.export_metrics_ref(dumps(metrics_then_garbage))
    with pytest.raises(OtlpError.Decode, match="ExportTraceServiceRequest"):
        library.export_otlp_traces(b"\xff\xff\xff")
    with pytest.raises(OtlpError.Decode, match="ExportMetricsServiceRequest"):
        library.export_otlp_metrics(b"\x0a\x05\x0a")
    with pytest.raises(OtlpError.Decode, match="ExportLogsServiceRequest"):
        library.export_otlp_logs(b"\x0a\x05\x0a")
    library.flush()
    assert _stored_rows(store) == dict.fromkeys(TABLES, 0)

    # The library is unharmed: the next good batch is stored, alone.
    assert library.export_traces(dumps(batch([good_span()]))) == 1
    assert library.export_metrics(dumps(batch([good_metric()]))) == 1
    assert library.export_logs(dumps(batch([log_record()]))) == 1
    library.flush()
    assert _stored_rows(store) == {**dict.fromkeys(TABLES, 0), "traces": 1, "logs": 1, "metrics_gauge": 1}


def test_an_export_larger_than_the_buffer_is_refused_whole(store: Path) -> None:
    library = open_library(store, flush_bytes=64 * 1024, max_buffer_bytes=256 * 1024)
    with pytest.raises(OtlpError.ExportTooLarge, match="max_buffer_bytes"):
        library.export_traces(dumps(batch([span(attributes={"big": "x" * 1_000_000})])))
    assert library.export_traces(dumps(batch([span(name="small")]))) == 1
    library.shutdown()
    assert [r["SpanName"] for r in rows(store, "traces")] == ["small"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_library_used_in_a_forked_child_is_a_forked_process_error(library: OtlpLibrary) -> None:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            library.export_traces(dumps(batch([span()])))
        except OtlpError.ForkedProcess:
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child's export was not refused with ForkedProcess"
