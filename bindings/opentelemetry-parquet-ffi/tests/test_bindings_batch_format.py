"""The batch format's version and bounds (BATCH_FORMAT.md), and what the export calls copy."""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from bindings_helpers import BATCH_FORMAT_VERSION, batch, dumps, metric, number_point, rows, span

from opentelemetry_parquet import OtlpError, OtlpLibrary


@pytest.mark.parametrize("version", [0, 2, -1])
def test_another_format_version_is_refused_by_name(library: OtlpLibrary, store: Path, version: int) -> None:
    groups = batch([span(name="never stored")])
    for export in (library.export_traces, library.export_metrics, library.export_metrics_ref):
        with pytest.raises(OtlpError.Decode, match=f"reads version {BATCH_FORMAT_VERSION}"):
            export(pickle.dumps((version, groups), protocol=5))
    library.flush()
    assert rows(store, "traces") == []


def test_an_unversioned_batch_is_refused_with_the_reason(library: OtlpLibrary) -> None:
    with pytest.raises(OtlpError.Decode, match=r"batch format version .* as the first element"):
        library.export_traces(pickle.dumps(batch([span()]), protocol=5))


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_a_deeply_nested_batch_is_a_decode_error_not_a_crash(store: Path, depth: int) -> None:
    """Run in a child interpreter: before the bound, 100,000 levels overflowed the stack and
    aborted the process."""
    program = textwrap.dedent(
        f"""
        from opentelemetry_parquet import OtlpError, OtlpLibrary, ParquetConfig
        library = OtlpLibrary(ParquetConfig(output_dir={str(store)!r}))
        batch = b"\\x80\\x05" + b"]" * {depth} + b"a" * {depth - 1} + b"."
        for export in (library.export_traces, library.export_metrics, library.export_metrics_ref):
            try:
                export(batch)
            except OtlpError.Decode as e:
                assert "deeper than" in str(e), e
            else:
                raise SystemExit("accepted")
        print("refused")
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "refused"), done.stderr


def test_an_attribute_nested_past_the_limit_is_a_decode_error(library: OtlpLibrary) -> None:
    value: list[object] = ["leaf"]
    for _ in range(200):
        value = [value]
    with pytest.raises(OtlpError.Decode, match="deeper than"):
        library.export_traces(dumps(batch([span(attributes={"deep": value})])))


def _rust_buffer_bytes(monkeypatch: pytest.MonkeyPatch, call: Callable[[], object]) -> int:
    """The bytes the generated Python code asks Rust to allocate (``RustBuffer`` alloc and reserve)
    for its arguments during ``call``: where UniFFI copies an argument into Rust."""
    generated = importlib.import_module("opentelemetry_parquet._uniffi.opentelemetry_parquet")
    buffer = generated._UniffiRustBuffer
    requested = [0]
    alloc, reserve = buffer.alloc, buffer.reserve

    def counting_alloc(size: int) -> object:
        requested[0] += size
        return alloc(size)

    def counting_reserve(rbuf: object, additional: int) -> object:
        requested[0] += additional
        return reserve(rbuf, additional)

    with monkeypatch.context() as m:
        m.setattr(buffer, "alloc", staticmethod(counting_alloc))
        m.setattr(buffer, "reserve", staticmethod(counting_reserve))
        call()
    return requested[0]


def test_the_by_ref_exports_do_not_copy_the_batch(library: OtlpLibrary, monkeypatch: pytest.MonkeyPatch) -> None:
    """``export_metrics_ref``, ``export_traces`` and ``export_otlp_*`` hand Rust a pointer to the
    ``bytes`` object's own buffer (UniFFI 0.32's ByRef bytes): no copy. ``export_metrics`` copies
    the batch into a Rust-allocated buffer (counted here), which the scaffolding then lifts into a
    ``Vec<u8>`` (a second copy, by uniffi_core's ``Lift for Vec<T>``; not visible from Python)."""
    big = "x" * 4_000_000
    metrics = dumps(batch([metric("m", "gauge", [number_point(1, attributes={"big": big})])]))
    spans = dumps(batch([span(attributes={"big": big})]))
    assert _rust_buffer_bytes(monkeypatch, lambda: library.export_metrics_ref(metrics)) == 0
    assert _rust_buffer_bytes(monkeypatch, lambda: library.export_traces(spans)) == 0
    assert _rust_buffer_bytes(monkeypatch, lambda: library.export_otlp_traces(b"")) == 0
    copied = _rust_buffer_bytes(monkeypatch, lambda: library.export_metrics(metrics))
    assert len(metrics) <= copied <= len(metrics) + 64, f"{copied} bytes for a {len(metrics)}-byte batch"
