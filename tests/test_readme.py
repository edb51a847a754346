"""The README's Python and SQL snippets run as written, against a store of real telemetry."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"

_WRITE_STORE = """
import logging
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode
from opentelemetry.exporter.parquet import ParquetLogExporter, ParquetMetricExporter, ParquetSpanExporter

resource = Resource.create({"service.name": "readme"})
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(SimpleSpanProcessor(ParquetSpanExporter(output_dir="otel-data")))
tracer = tracer_provider.get_tracer("readme")
logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(SimpleLogRecordProcessor(ParquetLogExporter(output_dir="otel-data")))
logger = logging.getLogger("readme")
logger.addHandler(LoggingHandler(logger_provider=logger_provider))
for route in ["/cart", "/checkout"]:
    with tracer.start_as_current_span("GET " + route, attributes={"http.route": route}) as span:
        logger.warning("handling %s", route)
        if route == "/checkout":
            span.set_status(Status(StatusCode.ERROR, "payment declined"))
            logger.error("payment declined")
reader = PeriodicExportingMetricReader(ParquetMetricExporter(output_dir="otel-data"), export_interval_millis=3_600_000)
meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
meter_provider.get_meter("readme").create_counter("requests").add(2, {"http.route": "/cart"})
tracer_provider.shutdown()
meter_provider.shutdown()
logger_provider.shutdown()
"""


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("readme")
    subprocess.run([sys.executable, "-c", _WRITE_STORE], cwd=cwd, check=True, timeout=120)
    for table in ("traces", "logs"):
        assert list((cwd / "otel-data" / table).rglob("part-*.parquet")), table
    return cwd


PYTHON_BLOCKS = [b for b in _blocks("python") if "spark" not in b]


def test_the_readme_has_python_snippets() -> None:
    assert len(PYTHON_BLOCKS) >= 4


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.strip().splitlines()[0][:60])
def test_python_snippet_runs(block: str, store: Path) -> None:
    result = subprocess.run([sys.executable, "-c", block], cwd=store, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("statement", [s for b in _blocks("sql") for s in b.split(";") if s.strip()])
def test_sql_snippet_runs(statement: str, store: Path) -> None:
    connection = duckdb.connect()
    connection.execute(f"SET file_search_path = '{store}'")
    ((count,),) = connection.sql(f"SELECT count(*) FROM ({statement})").fetchall()
    assert count > 0, statement
