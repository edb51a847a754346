"""``ParquetMetricExporter``: the Python SDK's ``MetricExporter`` on top of the Rust engine."""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics import _Gauge as Gauge
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.metrics.view import Aggregation

from opentelemetry_parquet import OtlpLibrary

from ._encoding import export_batch
from ._exporter import count, resolve_library
from ._library import ParquetConfigError, ParquetLibrary, one_line
from ._metric_encoding import encode_metrics

_logger = logging.getLogger(__name__)

_C = AggregationTemporality.CUMULATIVE
_D = AggregationTemporality.DELTA
_INSTRUMENTS = (Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge, Gauge)

# What each temporality preference asks of each instrument, as the OTLP exporter's
# OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE does: up-down counters and gauges stay cumulative.
TEMPORALITIES: dict[str, dict[type, AggregationTemporality]] = {
    "cumulative": dict.fromkeys(_INSTRUMENTS, _C),
    "delta": {**dict.fromkeys(_INSTRUMENTS, _C), Counter: _D, Histogram: _D, ObservableCounter: _D},
    "lowmemory": {**dict.fromkeys(_INSTRUMENTS, _C), Counter: _D, Histogram: _D},
}


def _temporality(value: object) -> str:
    if not isinstance(value, str):
        raise ParquetConfigError(f"option temporality must be a str, not {type(value).__name__}")
    name = value.strip().lower()
    if name not in TEMPORALITIES:
        raise ParquetConfigError(f"unknown temporality {name!r}, expected cumulative, delta or lowmemory")
    return name


class ParquetMetricExporter(MetricExporter):
    """Stores metrics as Parquet through the opentelemetry-parquet Rust engine.

    Use it with a ``PeriodicExportingMetricReader``. Options as ``ParquetSpanExporter``'s, plus
    ``temporality`` (``"cumulative"``, ``"delta"`` or ``"lowmemory"``; by default the library's
    own, i.e. its ``temporality`` option, else ``OTEL_PARQUET_TEMPORALITY``, else cumulative) and
    ``preferred_aggregation``.

    ``export`` never raises: it logs one line and returns ``FAILURE``. ``shutdown`` flushes the
    library but does not shut a shared library down.
    """

    def __init__(
        self,
        library: ParquetLibrary | OtlpLibrary | None = None,
        temporality: str | None = None,
        preferred_aggregation: dict[type, Aggregation] | None = None,
        **options: Any,
    ) -> None:
        explicit = temporality if temporality is not None else options.pop("temporality", None)
        self._library = resolve_library(library, options)
        self.temporality = _temporality(explicit if explicit is not None else self._library.config.temporality)
        super().__init__(
            preferred_temporality=dict(TEMPORALITIES[self.temporality]),
            preferred_aggregation=preferred_aggregation,
        )
        self._shutdown = False

    @property
    def library(self) -> ParquetLibrary:
        """The library this exporter writes into."""
        return self._library

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        del timeout_millis, kwargs
        if self._shutdown:
            _logger.warning("ParquetMetricExporter: export called after shutdown; metrics dropped")
            return MetricExportResult.FAILURE
        try:
            export_batch(self._library.library.export_metrics_ref, encode_metrics(metrics_data))
        except Exception as err:  # noqa: BLE001 - logged as one line; exporters never raise
            what = count(getattr(metrics_data, "resource_metrics", None))
            _logger.error("ParquetMetricExporter: metrics of %s resources not stored: %s", what, one_line(err))
            return MetricExportResult.FAILURE
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        try:
            self._library.flush(int(timeout_millis))
        except Exception as err:  # noqa: BLE001 - logged as one line; exporters never raise
            _logger.error("ParquetMetricExporter: flush failed: %s", one_line(err))
            return False
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Refuses further exports and flushes the library (which keeps running for others).

        The periodic reader passes what is left of its own deadline as ``timeout=`` (milliseconds,
        possibly zero or negative); the flush gets at least one second so buffered data lands.
        """
        timeout = max(float(kwargs.get("timeout", timeout_millis)), 1000.0)
        if self._shutdown:
            return
        self._shutdown = True
        try:
            self._library.flush(int(timeout))
        except Exception as err:  # noqa: BLE001 - logged as one line; exporters never raise
            _logger.error("ParquetMetricExporter: flush at shutdown failed: %s", one_line(err))
