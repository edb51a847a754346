"""``ParquetSpanExporter``: the Python SDK's ``SpanExporter`` on top of the Rust engine."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from opentelemetry_parquet import OtlpLibrary

from ._encoding import encode_spans
from ._exporter import BatchExporter
from ._library import ParquetLibrary


class ParquetSpanExporter(BatchExporter, SpanExporter):
    """Stores spans as Parquet through the opentelemetry-parquet Rust engine.

    ``ParquetSpanExporter()`` reads its options from the ``OTEL_PARQUET_*`` environment
    variables; keyword options named like ``ParquetConfig``'s fields override them
    (``ParquetSpanExporter(output_dir="./otel-data")``); or pass ``library=`` to share a
    ``ParquetLibrary`` (or a bindings ``OtlpLibrary``). Exporters created with the same options
    in one process share one library.

    ``export`` never raises: it logs one line and returns ``FAILURE`` (for a batch the library
    refuses, after the library's shutdown, or for something that is not a span sequence).
    ``shutdown`` flushes the library but does not shut a shared library down; ``force_flush``
    flushes it. Configuration errors raise ``ParquetConfigError``.
    """

    _logger = logging.getLogger(__name__)
    _what = "spans"

    def __init__(self, library: ParquetLibrary | OtlpLibrary | None = None, **options: Any) -> None:
        super().__init__(library, options)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._store(spans, encode_spans, lambda library: library.export_traces):
            return SpanExportResult.SUCCESS
        return SpanExportResult.FAILURE
