"""OpenTelemetry Python SDK exporters that store spans, log records and metrics as lossless Parquet files.

.. code-block:: python

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.exporter.parquet import ParquetSpanExporter

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(ParquetSpanExporter()))
    trace.set_tracer_provider(provider)

Logs: ``LoggerProvider().add_log_record_processor(BatchLogRecordProcessor(ParquetLogExporter()))``,
and the SDK's ``LoggingHandler`` for the stdlib ``logging`` records.

Zero code: ``OTEL_TRACES_EXPORTER=parquet OTEL_METRICS_EXPORTER=parquet OTEL_LOGS_EXPORTER=parquet
opentelemetry-instrument python app.py`` (with ``OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true``
for the ``logging`` records).
"""

from ._library import ParquetConfigError, ParquetLibrary
from .log_exporter import ParquetLogExporter
from .metric_exporter import ParquetMetricExporter
from .trace_exporter import ParquetSpanExporter
from .version import __version__

__all__ = [
    "ParquetConfigError",
    "ParquetLibrary",
    "ParquetLogExporter",
    "ParquetMetricExporter",
    "ParquetSpanExporter",
    "__version__",
]
