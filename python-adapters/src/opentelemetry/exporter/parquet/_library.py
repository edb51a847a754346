"""A fork-safe, shareable handle on the Rust ``OtlpLibrary``."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

from opentelemetry_parquet import OtlpError, OtlpLibrary, ParquetConfig

if TYPE_CHECKING:
    from .log_exporter import ParquetLogExporter
    from .metric_exporter import ParquetMetricExporter
    from .trace_exporter import ParquetSpanExporter

_logger = logging.getLogger(__name__)


class ParquetConfigError(ValueError):
    """A configuration was rejected: an unknown option, a value of the wrong type or out of
    range, or one the Rust engine refuses (then chained from its ``OtlpError.InvalidConfig``).
    The one exception family of configuration errors; the message names the option."""


def open_library(config: ParquetConfig) -> OtlpLibrary:
    """``OtlpLibrary(config)``, its configuration errors raised as ``ParquetConfigError`` and the
    environment variables it ignored logged (one line each)."""
    try:
        library = OtlpLibrary(config)
    except OtlpError.InvalidConfig as err:
        raise ParquetConfigError(str(err)) from err
    for message in library.ignored_environment():
        _logger.warning("opentelemetry-parquet: %s", message)
    return library


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
                raise ParquetConfigError(f"option output_dir must be a str or path, not {type(value).__name__}")
            value = os.fsdecode(value)
        elif name in _INT_OPTIONS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ParquetConfigError(f"option {name} must be an int, not {type(value).__name__}")
            if not 0 <= value < 2**64:
                raise ParquetConfigError(f"invalid configuration: {name}: {value} is out of range (0 to 2**64 - 1)")
            value = int(value)
        elif not isinstance(value, str):
            raise ParquetConfigError(f"option {name} must be a str, not {type(value).__name__}")
        checked[name] = value
    return checked


_lock = threading.Lock()
_live: weakref.WeakSet[ParquetLibrary] = weakref.WeakSet()
_created = False
_shared: dict[tuple[tuple[str, Any], ...], ParquetLibrary] = {}
# Libraries inherited across fork() are never dropped in the child: their writer thread does
# not exist there and their locks may be held, so freeing them could hang.
_inherited: list[OtlpLibrary] = []


class ParquetLibrary:
    """The store exporters write into: buffers telemetry and writes Parquet files.

    The Python face of the Rust ``OtlpLibrary``: ``span_exporter()``, ``log_exporter()`` and
    ``metric_exporter()`` return SDK-ready exporters sharing this library, as in Rust. Options are the fields of
    ``ParquetConfig`` (``output_dir="./otel-data"``, ``flush_interval_ms=...``); options left
    out take their ``OTEL_PARQUET_*`` environment variable, else the default.

    Explicit options win over their variables; a variable whose value does not parse is ignored
    with a warning. A rejected configuration raises ``ParquetConfigError`` (a ``ValueError``).

    Fork-safe: in a child process (``os.fork``, gunicorn ``--preload``) the library reopens
    itself on first use after the fork with the parent library's full configuration (every
    option as resolved in the parent), so the child keeps exporting into the same store. The
    parent's library is never used, flushed or shut down by the child.
    """

    def __init__(self, library: OtlpLibrary | None = None, **options: Any) -> None:
        unknown = set(options) - set(CONFIG_OPTIONS)
        if unknown:
            raise ParquetConfigError(f"unknown option(s) {sorted(unknown)}; expected some of {list(CONFIG_OPTIONS)}")
        if library is not None and options:
            raise ParquetConfigError("pass either an existing OtlpLibrary or options, not both")
        self._pid = os.getpid()
        self._library = library if library is not None else open_library(ParquetConfig(**check_options(options)))
        # Every option as resolved now: what a forked child reopens with.
        self._config = self._library.config()
        global _created
        _created = True
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
            self._library = open_library(self._config)
            self._pid = os.getpid()

    def span_exporter(self) -> ParquetSpanExporter:
        """An SDK ``SpanExporter`` writing into this library."""
        from .trace_exporter import ParquetSpanExporter

        return ParquetSpanExporter(library=self)

    def log_exporter(self) -> ParquetLogExporter:
        """An SDK log exporter (``LogRecordExporter``, ``LogExporter`` before SDK 1.39) writing
        into this library."""
        from .log_exporter import ParquetLogExporter

        return ParquetLogExporter(library=self)

    def metric_exporter(self, temporality: str | None = None) -> ParquetMetricExporter:
        """An SDK ``MetricExporter`` writing into this library, with the library's temporality
        unless ``temporality`` (``"cumulative"``, ``"delta"`` or ``"lowmemory"``) says otherwise."""
        from .metric_exporter import ParquetMetricExporter

        return ParquetMetricExporter(library=self, temporality=temporality)

    @property
    def config(self) -> ParquetConfig:
        """Every option the library runs with (explicit, from the environment, or the default)."""
        return self._config

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
        return f"ParquetLibrary(output_dir={self._config.output_dir!r})"


def created() -> bool:
    """Whether this process created a library (the zero-code check asks)."""
    return _created


def shared_library(**options: Any) -> ParquetLibrary:
    """The process-wide library for these options, created on first use (so span, log and metric
    exporters configured alike share one library and one writer)."""
    unknown = set(options) - set(CONFIG_OPTIONS)
    key = tuple(sorted((options if unknown else check_options(options)).items()))
    with _lock:
        library = _shared.get(key)
    if library is None:
        created = ParquetLibrary(**options)
        with _lock:
            library = _shared.setdefault(key, created)
    return library


def one_line(err: BaseException) -> str:
    """An error as one log line: its type and message, newlines folded."""
    return f"{type(err).__name__}: {err}".replace("\n", " | ")


def _flush_all() -> None:
    """At interpreter exit, write what is still buffered."""
    with _lock:
        libraries = list(_live)
    for library in libraries:
        try:
            if library._pid == os.getpid() and not library._library.is_shutdown():
                library._library.flush(None)
        except Exception as err:  # noqa: BLE001 - logged as one line; exporters never raise
            _logger.error("opentelemetry-parquet: flush at exit failed for %r: %s", library, one_line(err))


atexit.register(_flush_all)

if hasattr(os, "register_at_fork"):
    # The child must not take our lock while another thread of the parent held it at fork time.
    os.register_at_fork(after_in_child=lambda: globals().__setitem__("_lock", threading.Lock()))
