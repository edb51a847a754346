"""A real gunicorn ``--preload`` app: the exporter is created in the master before it forks its
workers, workers restart gracefully (``--max-requests``) and exit through the normal interpreter
exit (gunicorn's ``sys.exit``), and the master is stopped with SIGTERM. Every request's span must
be stored exactly once, and no worker may need gunicorn's SIGKILL to exit (a worker whose exit
hangs, as one did when it ran the parent's Rust drop, is killed after ``--graceful-timeout`` and
logged "was sent SIGKILL").
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds
import pytest

pytest.importorskip("gunicorn", reason="needs gunicorn (xtask/requirements-test.txt)")
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="gunicorn needs fork")

APP = textwrap.dedent(
    """
    import os

    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from opentelemetry.exporter.parquet import ParquetSpanExporter

    # Created in the master (--preload), before the workers are forked. Nothing is flushed on a
    # timer: the spans reach the store only through each worker's exit path.
    provider = TracerProvider(resource=Resource.create({"service.name": "gunicorn-app"}))
    provider.add_span_processor(
        BatchSpanProcessor(ParquetSpanExporter(output_dir=os.environ["STORE"], flush_interval_ms=3_600_000))
    )
    tracer = provider.get_tracer("gunicorn-app")


    def app(environ, start_response):
        n = int(environ["QUERY_STRING"])
        with tracer.start_as_current_span("request", attributes={"n": n, "worker.pid": os.getpid()}):
            body = str(os.getpid()).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    """
)

REQUESTS = 40
MAX_REQUESTS = 5
# Hang detectors only (a hung process is killed and fails the test), never timing assertions.
HANG_S = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG_S)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        assert response.status == 200, response.status
        return response.read().decode()
    finally:
        connection.close()


def _wait_until_serving(port: int, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + HANG_S
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn exited while starting"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail("gunicorn did not start listening")


def test_preloaded_app_with_graceful_worker_restarts_stores_every_span(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    store = tmp_path / "store"
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["STORE"] = str(store)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--preload",
        "--workers=2",
        f"--max-requests={MAX_REQUESTS}",
        "--max-requests-jitter=0",
        "--graceful-timeout=30",
        f"--bind=127.0.0.1:{port}",
        f"--error-logfile={log}",
        "--log-level=info",
        "app:app",
    ]
    server = subprocess.Popen(command, cwd=tmp_path, env=env, text=True)
    try:
        _wait_until_serving(port, server)
        worker_pids = {_get(port, f"/?{n}") for n in range(REQUESTS)}
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=HANG_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            pytest.fail("gunicorn did not stop after SIGTERM")
    text = log.read_text()
    assert code == 0, text
    assert "SIGKILL" not in text and "WORKER TIMEOUT" not in text, text
    assert len(worker_pids) >= REQUESTS // MAX_REQUESTS, "workers were restarted"

    rows = ds.dataset(store / "traces", format="parquet", partitioning="hive").to_table().to_pylist()
    numbers = Counter(int(dict(r["SpanAttributes"])["n"]) for r in rows)
    assert numbers == Counter(range(REQUESTS)), "every request's span stored exactly once"
    assert {dict(r["SpanAttributes"])["worker.pid"] for r in rows} == worker_pids
    assert {r["ServiceName"] for r in rows} == {"gunicorn-app"}
