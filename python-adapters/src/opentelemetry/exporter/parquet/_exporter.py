"""What the exporters share: the library they write into (the one given, or the process-wide one
of their options), and for the span and log exporters the whole life cycle: refusing exports
after shutdown, one log line per failed batch, flushing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

from opentelemetry_parquet import OtlpLibrary

from ._encoding import export_batch
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


class BatchExporter:
    """The part of ``ParquetSpanExporter`` and ``ParquetLogExporter`` that is not the SDK's
    interface: ``_store`` encodes and exports one batch and never raises; ``force_flush`` and
    ``shutdown`` flush the library (a shared library keeps running for its other exporters).

    ``_logger`` is the subclass module's logger (tests and users filter on it), ``_what`` what a
    batch holds (``"spans"``) for its log lines.
    """

    _logger: ClassVar[logging.Logger] = _logger
    _what: ClassVar[str] = "items"

    def __init__(self, library: ParquetLibrary | OtlpLibrary | None, options: dict[str, Any]) -> None:
        self._library = resolve_library(library, options)
        self._shutdown = False

    @property
    def library(self) -> ParquetLibrary:
        """The library this exporter writes into."""
        return self._library

    def _store(
        self,
        items: Any,
        encode: Callable[[Any], bytes],
        export: Callable[[OtlpLibrary], Callable[[bytes], int]],
    ) -> bool:
        """Encodes ``items`` and hands the batch to ``export`` of the (current) Rust library;
        ``False``, logged as one line, on any failure or after shutdown."""
        name = type(self).__name__
        if self._shutdown:
            self._logger.warning("%s: export called after shutdown; %s %s dropped", name, count(items), self._what)
            return False
        try:
            if not items:
                return True
            export_batch(export(self._library.library), encode(items))
        except Exception as err:  # noqa: BLE001 - logged as one line; exporters never raise
            self._logger.error("%s: %s %s not stored: %s", name, count(items), self._what, one_line(err))
            return False
        return True

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        try:
            self._library.flush(int(timeout_millis))
        except Exception as err:  # noqa: BLE001 - logged as one line; exporters never raise
            self._logger.error("%s: flush failed: %s", type(self).__name__, one_line(err))
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
            self._logger.error("%s: flush at shutdown failed: %s", type(self).__name__, one_line(err))
