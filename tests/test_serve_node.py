"""A Node.js program with the OpenTelemetry JS SDK's OTLP/HTTP exporters (`tests/node`: spans as
OTLP/JSON and as protobuf, log records and metrics as OTLP/JSON) pointed at
`opentelemetry-parquet serve` with `OTEL_EXPORTER_OTLP_ENDPOINT`: what it sent is what the store
holds. The JS packages come from the npm registry, pinned by `tests/node/package-lock.json`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from serve_process import Serve, table

NODE_PROJECT = Path(__file__).resolve().parent / "node"


def _node() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are not on PATH: the JS SDK client cannot run here")
    return node, npm


def test_the_js_sdks_otlp_http_exporters_fill_the_store(serve: Serve, tmp_path: Path) -> None:
    node, npm = _node()
    if not (NODE_PROJECT / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_PROJECT, check=True, timeout=600)
    environment = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{serve.addresses['HTTP']}"}
    ran = subprocess.run(
        [node, "client.mjs"], cwd=NODE_PROJECT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    sent = json.loads(ran.stdout.strip().splitlines()[-1])
    output = serve.stop()
    store = tmp_path / "served"

    spans = table(store, "traces").to_pylist()
    stored = sorted((s["TraceId"], s["SpanId"], s["SpanName"]) for s in spans)
    assert stored == sorted((s["traceId"], s["spanId"], s["name"]) for s in sent["spans"]), output
    for span in spans:
        assert span["ServiceName"] == "node-client"
        assert ("host.name", "box") in span["ResourceAttributes"]
        assert span["ScopeName"] == "node-checkout" and span["ScopeVersion"] == "2.0.0"
        if span["SpanName"].startswith("GET /cart"):
            attributes = dict(span["SpanAttributes"])
            assert attributes["http.status_code"] == "500" and attributes["ratio"] == "0.25"
            assert attributes["tags"] == '["a","ü"]'
            assert span["SpanKind"] == "Internal" and span["ParentSpanId"] == ""
        else:
            assert span["StatusCode"] == "Error" and span["StatusMessage"] == "timeout"
            assert [e["Name"] for e in span["Events"]] == ["retry"]
    # Both encodings stored the same shape of rows.
    by_encoding = {s["SpanName"]: s for s in spans if s["SpanName"].startswith("GET /cart")}
    json_row, proto_row = by_encoding["GET /cart (json)"], by_encoding["GET /cart (protobuf)"]
    for column in ("SpanAttributes", "SpanAttributesTypes", "ResourceAttributes", "ScopeName", "StatusCode"):
        assert json_row[column] == proto_row[column], column

    logs = sorted(table(store, "logs").to_pylist(), key=lambda r: r["SeverityNumber"])
    assert [(r["SeverityText"], r["SeverityNumber"], r["Body"]) for r in logs] == [
        ("WARN", 13, "card declined"),
        ("", 17, '{"items":[1,2],"structured":true}'),  # rendered as the Collector renders a map
    ]
    # The lossless twin keeps the map as sent, in its order.
    assert logs[1]["BodyType"].index('"structured"') < logs[1]["BodyType"].index('"items"')
    (declined,) = sent["logs"]
    assert (logs[0]["TraceId"], logs[0]["SpanId"]) == (declined["traceId"], declined["spanId"])
    assert dict(logs[0]["LogAttributes"]) == {"amount": "12.5"}
    assert logs[0]["ScopeName"] == "node-logger"

    sums = table(store, "metrics_sum").to_pylist()
    # A JS counter is a double unless created with ValueType.INT: stored as the double it was sent.
    assert [(r["MetricName"], r["Value"], r["IntValue"], r["ServiceName"]) for r in sums] == [
        ("requests", 5.0, None, "node-client")
    ]
