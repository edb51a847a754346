"""Python bindings of the opentelemetry-parquet Rust engine.

``OtlpLibrary`` buffers OpenTelemetry data and writes it as lossless, Hive-partitioned Parquet
files. Configure it with ``ParquetConfig`` (every field left ``None`` takes its
``OTEL_PARQUET_*`` environment variable, else the default; explicit options win, and a variable
whose value does not parse is ignored and listed by ``OtlpLibrary.ignored_environment()``). Errors are ``OtlpError``
subclasses (``OtlpError.InvalidConfig``, ``OtlpError.Decode``, ...) whose message carries the
full context. Rust work runs without holding the GIL.
"""

from ._uniffi import OtlpError, OtlpLibrary, ParquetConfig

__all__ = ["OtlpError", "OtlpLibrary", "ParquetConfig"]
