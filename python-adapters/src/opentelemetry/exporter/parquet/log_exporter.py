"""``ParquetLogExporter``: the Python SDK's log exporter on top of the Rust engine.

The SDK renamed its log exporter interface at 1.39 (``LogExporter`` / ``LogExportResult`` became
``LogRecordExporter`` / ``LogRecordExportResult``, the old names deprecated aliases): the exporter
implements the one the installed SDK has, so that ``BatchLogRecordProcessor`` and the zero-code
configurator (``OTEL_LOGS_EXPORTER=parquet``) of every supported SDK take it, without a
deprecation warning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry_parquet import OtlpLibrary

from ._exporter import BatchExporter
from ._library import ParquetLibrary
from ._log_encoding import encode_logs

try:  # opentelemetry-sdk 1.39+
    from opentelemetry.sdk._logs.export import LogRecordExporter as _LogExporter
    from opentelemetry.sdk._logs.export import LogRecordExportResult as LogExportResult
except ImportError:  # before 1.39
    from opentelemetry.sdk._logs.export import LogExporter as _LogExporter
    from opentelemetry.sdk._logs.export import LogExportResult  # type: ignore[assignment]

__all__ = ["LogExportResult", "ParquetLogExporter"]


class ParquetLogExporter(BatchExporter, _LogExporter):
    """Stores log records as Parquet (the ``logs`` table) through the opentelemetry-parquet Rust
    engine. Use it with a ``BatchLogRecordProcessor`` of a ``LoggerProvider``; the stdlib
    ``logging`` records reach it through the SDK's ``LoggingHandler``.

    Constructed like ``ParquetSpanExporter``: options from the ``OTEL_PARQUET_*`` environment
    variables, keyword options named like ``ParquetConfig``'s fields, or ``library=`` to share a
    ``ParquetLibrary`` (or a bindings ``OtlpLibrary``); exporters created with the same options in
    one process share one library.

    ``export`` never raises: it logs one line and returns ``FAILURE`` (for a batch the library
    refuses, after shutdown, or for something that is not a sequence of log records).
    ``shutdown`` flushes the library but does not shut a shared library down; ``force_flush``
    flushes it. Configuration errors raise ``ParquetConfigError``.
    """

    _logger = logging.getLogger(__name__)
    _what = "log records"

    def __init__(self, library: ParquetLibrary | OtlpLibrary | None = None, **options: Any) -> None:
        super().__init__(library, options)

    def export(self, batch: Sequence[Any]) -> LogExportResult:
        """Stores ``LogData`` (SDK before 1.39) or ``ReadableLogRecord`` (1.39+) objects."""
        if self._store(batch, encode_logs, lambda library: library.export_logs):
            return LogExportResult.SUCCESS
        return LogExportResult.FAILURE
