"""OpenTelemetry Python SDK exporters that store spans and metrics as lossless Parquet files.

.. code-block:: python

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.exporter.parquet import ParquetSpanExporter

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(ParquetSpanExporter()))
    trace.set_tracer_provider(provider)

Zero code: ``OTEL_TRACES_EXPORTER=parquet OTEL_METRICS_EXPORTER=parquet opentelemetry-instrument python app.py``.
"""

from ._library import ParquetConfigError, ParquetLibrary
from .metric_exporter import ParquetMetricExporter
from .trace_exporter import ParquetSpanExporter
from .version import __version__

__all__ = ["ParquetConfigError", "ParquetLibrary", "ParquetMetricExporter", "ParquetSpanExporter", "__version__"]
