"""The `opentelemetry-parquet-cli` wheel as a user gets it: `pip install` puts the
`opentelemetry-parquet` command into the environment's scripts directory, and the command works
there: `--version` (the wheel's version), `schema`, `inspect` of a store written by the Python
packages, and `serve` (tests/test_serve.py, whose server is this command).
"""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from serve_process import EXECUTABLE, Serve, installed_command

from opentelemetry.exporter.parquet import ParquetLibrary

DISTRIBUTION = "opentelemetry-parquet-cli"


@pytest.fixture
def command() -> Path:
    installed = installed_command()
    if installed is None:
        pytest.skip(
            f"{EXECUTABLE} is not installed in this environment's scripts directory: install the "
            f"{DISTRIBUTION} wheel (`just wheels`, then pip install dist/opentelemetry_parquet_cli-*.whl; "
            "`just test-all` does both)"
        )
    return installed


def _run(command: Path, *args: str) -> str:
    done = subprocess.run([str(command), *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{command} {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return done.stdout


def test_the_wheel_installs_the_command_and_nothing_else(command: Path) -> None:
    files = metadata.distribution(DISTRIBUTION).files or []
    installed = {Path(str(f.locate())).resolve() for f in files}
    assert command.resolve() in installed, sorted(map(str, installed))
    # The executable, and the wheel's metadata: no Python package comes with it.
    assert {p for p in installed if ".dist-info" not in str(p)} == {command.resolve()}


def test_version_is_the_wheels(command: Path) -> None:
    assert _run(command, "--version").strip() == f"opentelemetry-parquet {metadata.version(DISTRIBUTION)}"


def test_help_lists_the_commands(command: Path) -> None:
    usage = _run(command, "--help")
    for subcommand in ("inspect", "schema", "serve", "replay"):
        assert f"\n  {subcommand} " in usage, usage


def test_schema_prints_a_tables_columns(command: Path) -> None:
    columns = [line.split()[0] for line in _run(command, "schema", "traces").splitlines()]
    assert {"Timestamp", "TraceId", "SpanId", "SpanName", "ServiceName", "SpanAttributes"} <= set(columns), columns


def test_an_unknown_table_fails_with_a_message(command: Path) -> None:
    done = subprocess.run([str(command), "schema", "spans"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert 'unknown table "spans"' in done.stderr, done.stderr


def test_inspect_reads_a_store_the_python_exporter_wrote(command: Path, tmp_path: Path) -> None:
    store = tmp_path / "otel-data"
    library = ParquetLibrary(output_dir=str(store))
    provider = TracerProvider(resource=Resource.create({"service.name": "wheel-check"}))
    provider.add_span_processor(SimpleSpanProcessor(library.span_exporter()))
    tracer = provider.get_tracer("test_cli_wheel")
    for name in ("GET /cart", "POST /checkout", "SELECT carts"):
        with tracer.start_as_current_span(name):
            pass
    provider.shutdown()
    library.shutdown()

    report = _run(command, "inspect", "--rows", "3", str(store))
    assert f"store: {store}" in report, report
    assert "traces: 3 rows in " in report, report
    for shown in ("wheel-check", "GET /cart", "POST /checkout", "SELECT carts"):
        assert shown in report, report


def test_the_serve_tests_run_the_installed_command(command: Path, serve: Serve) -> None:
    assert serve.command == command
    assert "stopped" in serve.stop()
