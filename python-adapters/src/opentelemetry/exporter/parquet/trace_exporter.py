"""``ParquetSpanExporter``: the Python SDK's ``SpanExporter`` on top of the Rust engine."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from opentelemetry_parquet import OtlpLibrary

from ._encoding import encode_spans, export_batch
from ._library import ParquetConfigError, ParquetLibrary, one_line, shared_library

_logger = logging.getLogger(__name__)


def resolve_library(library: ParquetLibrary | OtlpLibrary | None, options: dict[str, Any]) -> ParquetLibrary:
    """The library an exporter writes into: the one given, or the process-wide one for its options."""
    if library is None:
        return shared_library(**options)
    if options:
        raise ParquetConfigError(f"pass either a library or options, not both (got {sorted(options)})")
    if isinstance(library, ParquetLibrary):
        return library
    if isinstance(library, OtlpLibrary):
        return ParquetLibrary(library)
    raise ParquetConfigError(f"library must be a ParquetLibrary or OtlpLibrary, not {type(library).__name__}")


def count(items: object) -> str:
    """How many items a batch had, for a log line (whatever ``items`` is)."""
    try:
        return str(len(items))  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - only for a log line
        return "an unknown number of"


class ParquetSpanExporter(SpanExporter):
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

    def __init__(self, library: ParquetLibrary | OtlpLibrary | None = None, **options: Any) -> None:
        self._library = resolve_library(library, options)
        self._shutdown = False

    @property
    def library(self) -> ParquetLibrary:
        """The library this exporter writes into."""
        return self._library

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            _logger.warning("ParquetSpanExporter: export called after shutdown; %s spans dropped", count(spans))
            return SpanExportResult.FAILURE
        try:
            if not spans:
                return SpanExportResult.SUCCESS
            export_batch(self._library.library.export_traces, encode_spans(spans))
        except Exception as err:  # noqa: BLE001 - logged as one line; exporters never raise
            _logger.error("ParquetSpanExporter: %s spans not stored: %s", count(spans), one_line(err))
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        try:
            self._library.flush(int(timeout_millis))
        except Exception as err:  # noqa: BLE001 - logged as one line; exporters never raise
            _logger.error("ParquetSpanExporter: flush failed: %s", one_line(err))
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
        except Exception as err:  # noqa: BLE001 - logged as one line; exporters never raise
            _logger.error("ParquetSpanExporter: flush at shutdown failed: %s", one_line(err))
