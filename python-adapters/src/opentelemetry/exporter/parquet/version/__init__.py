"""Version of opentelemetry-exporter-parquet."""

__version__ = "0.1.0"
