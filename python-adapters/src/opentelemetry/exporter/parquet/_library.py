"""A fork-safe, shareable handle on the Rust ``OtlpLibrary``."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

from opentelemetry_parquet import OtlpLibrary, ParquetConfig

if TYPE_CHECKING:
    from .metric_exporter import ParquetMetricExporter
    from .trace_exporter import ParquetSpanExporter

_logger = logging.getLogger(__name__)

# Options of ``ParquetConfig``; the exporters accept them as keyword arguments.
CONFIG_OPTIONS = (
    "output_dir",
    "format",
    "compression",
    "flush_interval_ms",
    "flush_rows",
    "flush_bytes",
    "max_buffer_bytes",
    "export_timeout_ms",
    "temporality",
    "retention_max_age_secs",
    "retention_max_bytes",
)

# The options ParquetConfig takes as u64; the others are strings.
_INT_OPTIONS = frozenset(
    {
        "flush_interval_ms",
        "flush_rows",
        "flush_bytes",
        "max_buffer_bytes",
        "export_timeout_ms",
        "retention_max_age_secs",
        "retention_max_bytes",
    }
)


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options without ``None`` values, checked so that an error names the option (the
    bindings' own conversion errors do not): ``output_dir`` may be any path-like object."""
    checked: dict[str, Any] = {}
    for name, value in options.items():
        if value is None:
            continue
        if name == "output_dir":
            if not isinstance(value, (str, bytes, os.PathLike)):
                raise TypeError(f"option output_dir must be a str or path, not {type(value).__name__}")
            value = os.fsdecode(value)
        elif name in _INT_OPTIONS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"option {name} must be an int, not {type(value).__name__}")
            if not 0 <= value < 2**64:
                raise ValueError(f"invalid configuration: {name}: {value} is out of range (0 to 2**64 - 1)")
            value = int(value)
        elif not isinstance(value, str):
            raise TypeError(f"option {name} must be a str, not {type(value).__name__}")
        checked[name] = value
    return checked


_lock = threading.Lock()
_live: weakref.WeakSet[ParquetLibrary] = weakref.WeakSet()
_shared: dict[tuple[tuple[str, Any], ...], ParquetLibrary] = {}
# Libraries inherited across fork() are never dropped in the child: their writer thread does
# not exist there and their locks may be held, so freeing them could hang.
_inherited: list[OtlpLibrary] = []


class ParquetLibrary:
    """The store exporters write into: buffers telemetry and writes Parquet files.

    The Python face of the Rust ``OtlpLibrary``: ``span_exporter()`` and ``metric_exporter()``
    return SDK-ready exporters sharing this library, as in Rust. Options are the fields of
    ``ParquetConfig`` (``output_dir="./otel-data"``, ``flush_interval_ms=...``); options left
    out take their ``OTEL_PARQUET_*`` environment variable, else the default.

    Fork-safe: in a child process (``os.fork``, gunicorn ``--preload``) the library reopens
    itself on first use after the fork, with the same options, so the child keeps exporting.
    """

    def __init__(self, library: OtlpLibrary | None = None, **options: Any) -> None:
        unknown = set(options) - set(CONFIG_OPTIONS)
        if unknown:
            raise TypeError(f"unknown option(s) {sorted(unknown)}; expected some of {list(CONFIG_OPTIONS)}")
        if library is not None and options:
            raise TypeError("pass either an existing OtlpLibrary or options, not both")
        self._options = check_options(options)
        if library is not None:
            self._options = {"output_dir": library.output_dir()}
        self._pid = os.getpid()
        self._library = library if library is not None else OtlpLibrary(ParquetConfig(**self._options))
        with _lock:
            _live.add(self)

    @property
    def library(self) -> OtlpLibrary:
        """The Rust library (reopened after a fork)."""
        if self._pid != os.getpid():
            self._reopen()
        return self._library

    def _reopen(self) -> None:
        with _lock:
            if self._pid == os.getpid():
                return
            _inherited.append(self._library)
            self._library = OtlpLibrary(ParquetConfig(**self._options))
            self._pid = os.getpid()

    def span_exporter(self) -> ParquetSpanExporter:
        """An SDK ``SpanExporter`` writing into this library."""
        from .trace_exporter import ParquetSpanExporter

        return ParquetSpanExporter(library=self)

    def metric_exporter(self, temporality: str | None = None) -> ParquetMetricExporter:
        """An SDK ``MetricExporter`` writing into this library (``temporality``: ``"cumulative"``
        (default) or ``"delta"``)."""
        from .metric_exporter import ParquetMetricExporter

        return ParquetMetricExporter(library=self, temporality=temporality)

    def flush(self, timeout_millis: int | None = None) -> None:
        """Writes everything accepted so far; raises ``OtlpError`` on failure."""
        self.library.flush(timeout_millis)

    def shutdown(self, timeout_millis: int | None = None) -> None:
        """Flushes and stops the library; exports fail afterwards. Idempotent."""
        self.library.shutdown(timeout_millis)

    @property
    def output_dir(self) -> str:
        """The store's root directory."""
        return self.library.output_dir()

    def __repr__(self) -> str:
        return f"ParquetLibrary(output_dir={self.output_dir!r})"


def shared_library(**options: Any) -> ParquetLibrary:
    """The process-wide library for these options, created on first use (so a span exporter and a
    metric exporter configured alike share one library and one writer)."""
    unknown = set(options) - set(CONFIG_OPTIONS)
    key = tuple(sorted((options if unknown else check_options(options)).items()))
    with _lock:
        library = _shared.get(key)
    if library is None:
        created = ParquetLibrary(**options)
        with _lock:
            library = _shared.setdefault(key, created)
    return library


def _flush_all() -> None:
    """At interpreter exit, write what is still buffered."""
    with _lock:
        libraries = list(_live)
    for library in libraries:
        try:
            if library._pid == os.getpid() and not library._library.is_shutdown():
                library._library.flush(None)
        except Exception:
            _logger.exception("opentelemetry-parquet: flush at exit failed for %r", library)


atexit.register(_flush_all)

if hasattr(os, "register_at_fork"):
    # The child must not take our lock while another thread of the parent held it at fork time.
    os.register_at_fork(after_in_child=lambda: globals().__setitem__("_lock", threading.Lock()))
