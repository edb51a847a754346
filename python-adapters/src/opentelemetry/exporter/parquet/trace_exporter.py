"""``ParquetSpanExporter``: the Python SDK's ``SpanExporter`` on top of the Rust engine."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from opentelemetry_parquet import OtlpLibrary

from ._encoding import encode_spans, export_batch
from ._library import ParquetLibrary, shared_library

_logger = logging.getLogger(__name__)


def resolve_library(library: ParquetLibrary | OtlpLibrary | None, options: dict[str, Any]) -> ParquetLibrary:
    """The library an exporter writes into: the one given, or the process-wide one for its options."""
    if library is None:
        return shared_library(**options)
    if options:
        raise TypeError(f"pass either a library or options, not both (got {sorted(options)})")
    if isinstance(library, ParquetLibrary):
        return library
    if isinstance(library, OtlpLibrary):
        return ParquetLibrary(library)
    raise TypeError(f"library must be a ParquetLibrary or OtlpLibrary, not {type(library).__name__}")


class ParquetSpanExporter(SpanExporter):
    """Stores spans as Parquet through the opentelemetry-parquet Rust engine.

    ``ParquetSpanExporter()`` reads its options from the ``OTEL_PARQUET_*`` environment
    variables; keyword options named like ``ParquetConfig``'s fields override them
    (``ParquetSpanExporter(output_dir="./otel-data")``); or pass ``library=`` to share a
    ``ParquetLibrary`` (or a bindings ``OtlpLibrary``). Exporters created with the same options
    in one process share one library.

    ``export`` never raises: it logs and returns ``FAILURE``. ``shutdown`` flushes the library
    but does not shut a shared library down; ``force_flush`` flushes it.
    """

    def __init__(self, library: ParquetLibrary | OtlpLibrary | None = None, **options: Any) -> None:
        self._library = resolve_library(library, options)
        self._shutdown = False

    @property
    def library(self) -> ParquetLibrary:
        """The library this exporter writes into."""
        return self._library

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            _logger.warning("ParquetSpanExporter: export called after shutdown; %d spans dropped", len(spans))
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            export_batch(self._library.library.export_traces, encode_spans(spans))
        except Exception:
            _logger.exception("ParquetSpanExporter: failed to export %d spans", len(spans))
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        try:
            self._library.flush(int(timeout_millis))
        except Exception:
            _logger.exception("ParquetSpanExporter: flush failed")
            return False
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Refuses further exports and flushes the library (which keeps running for others)."""
        del kwargs
        if self._shutdown:
            return
        self._shutdown = True
        try:
            self._library.flush(int(timeout_millis))
        except Exception:
            _logger.exception("ParquetSpanExporter: flush at shutdown failed")
