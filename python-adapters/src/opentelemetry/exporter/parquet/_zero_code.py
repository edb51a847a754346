"""Makes a zero-code setup that cannot store anything visible.

``opentelemetry-instrument`` only instruments libraries; what builds the SDK and loads the exporter
named by ``OTEL_TRACES_EXPORTER=parquet`` (``OTEL_METRICS_EXPORTER``, ``OTEL_LOGS_EXPORTER``) is a
configurator, which ``opentelemetry-distro`` provides
(``pip install 'opentelemetry-exporter-parquet[instrument]'``). Without one, nothing is ever
stored, and nothing said so. This hook runs after the configurators and instrumentors
(``opentelemetry_post_instrument`` entry point) and logs one warning when ``parquet`` was asked
for but no exporter of ours was created.
"""

from __future__ import annotations

import logging
import os

from . import _library

_logger = logging.getLogger(__name__)

SIGNALS = ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER")


def _asks_for_parquet(variable: str) -> bool:
    return "parquet" in (name.strip().lower() for name in os.environ.get(variable, "").split(","))


def check_configured() -> None:
    """Warns when ``OTEL_*_EXPORTER`` names ``parquet`` but no configurator created our exporter."""
    wanted = [v for v in SIGNALS if _asks_for_parquet(v)]
    if wanted and not _library.created():
        _logger.warning(
            "opentelemetry-exporter-parquet: %s names parquet, but no OpenTelemetry configurator set up the SDK, "
            "so nothing will be stored. Install one: pip install 'opentelemetry-exporter-parquet[instrument]' "
            "(it brings opentelemetry-distro).",
            " and ".join(f"{v}={os.environ[v]}" for v in wanted),
        )
