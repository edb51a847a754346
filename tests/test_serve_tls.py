"""`opentelemetry-parquet serve --tls-cert --tls-key` with real clients: the Python SDK's own OTLP
exporters (HTTP and gRPC) that trust a throwaway CA send over TLS to both listeners, which store
what they send; exporters that trust another CA fail their handshakes and store nothing; `/health`
answers over https. The certificates come from `trustme` (a CA and a server certificate for
``localhost`` and ``127.0.0.1``).
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import trustme
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult, MetricsData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from serve_process import Serve, table

RESOURCE = Resource.create({"service.name": "served-tls"})


@dataclass(frozen=True)
class Certificates:
    """PEM files: the CA clients trust, the server's chain and key, and a CA that did not sign it."""

    ca: Path
    chain: Path
    key: Path
    other_ca: Path


@pytest.fixture(autouse=True)
def _exporters_use_their_certificate_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTTP exporters hand ``certificate_file`` to a requests Session (``session.verify``),
    which a REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE in the environment overrides
    (psf/requests#4726): without them, each exporter trusts exactly the CA it is given."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    ca, other = trustme.CA(), trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    files = Certificates(tmp_path / "ca.pem", tmp_path / "chain.pem", tmp_path / "key.pem", tmp_path / "other-ca.pem")
    ca.cert_pem.write_to_path(str(files.ca))
    other.cert_pem.write_to_path(str(files.other_ca))
    for blob in server.cert_chain_pems:
        blob.write_to_path(str(files.chain), append=True)
    server.private_key_pem.write_to_path(str(files.key))
    return files


@pytest.fixture
def tls_serve(tmp_path: Path, certificates: Certificates) -> Iterator[Serve]:
    server = Serve(
        tmp_path / "served", extra_args=["--tls-cert", str(certificates.chain), "--tls-key", str(certificates.key)]
    )
    yield server
    if server.process.poll() is None:
        server.process.kill()


def _port(address: str) -> str:
    return address.rsplit(":", 1)[1]


def _spans(*names: str) -> tuple[ReadableSpan, ...]:
    """Finished spans, one per name, each with an attribute naming it, recorded in memory so
    that the test hands them to the OTLP exporter itself and sees its result."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tls", "1.0")
    for name in names:
        with tracer.start_as_current_span(name, attributes={"sent.as": name, "n": 7}):
            pass
    provider.shutdown()
    return memory.get_finished_spans()


def _log_records(message: str) -> tuple[ReadableLogRecord, ...]:
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    provider.get_logger("tls").emit(severity_number=SeverityNumber.WARN, severity_text="WARN", body=message)
    provider.shutdown()
    return memory.get_finished_logs()


def _metrics() -> MetricsData:
    reader = InMemoryMetricReader()
    meters = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meters.get_meter("tls").create_counter("tls.requests").add(4, {"route": "/secure"})
    data = reader.get_metrics_data()
    meters.shutdown()
    assert data is not None
    return data


def _stored_spans(store: Path) -> list[tuple[str, str, str, dict[str, str]]]:
    rows = table(store, "traces").sort_by([("SpanName", "ascending")]).to_pylist()
    return [(r["SpanName"], r["TraceId"], r["SpanId"], dict(r["SpanAttributes"])) for r in rows]


def _expected(spans: tuple[ReadableSpan, ...]) -> list[tuple[str, str, str, dict[str, str]]]:
    expected = []
    for span in spans:
        assert span.context is not None
        ids = (f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}")
        expected.append((span.name, *ids, {"sent.as": span.name, "n": "7"}))
    return sorted(expected)


def test_exporters_that_trust_the_ca_fill_the_store_over_tls(
    tls_serve: Serve, certificates: Certificates, tmp_path: Path
) -> None:
    http_port, grpc_port = _port(tls_serve.addresses["HTTP"]), _port(tls_serve.addresses["gRPC"])
    assert all(" over TLS (https://)" in line for line in tls_serve.banner if line.startswith("serve: OTLP/"))

    over_http, over_grpc = _spans("over http"), _spans("over grpc")
    http_spans = HttpSpanExporter(
        endpoint=f"https://localhost:{http_port}/v1/traces", certificate_file=str(certificates.ca)
    )
    assert http_spans.export(over_http) == SpanExportResult.SUCCESS
    http_spans.shutdown()
    trusting = grpc.ssl_channel_credentials(root_certificates=certificates.ca.read_bytes())
    grpc_spans = GrpcSpanExporter(endpoint=f"https://localhost:{grpc_port}", credentials=trusting)
    assert grpc_spans.export(over_grpc) == SpanExportResult.SUCCESS
    grpc_spans.shutdown()

    http_logs = HttpLogExporter(
        endpoint=f"https://localhost:{http_port}/v1/logs", certificate_file=str(certificates.ca)
    )
    assert http_logs.export(_log_records("sent over https")) == LogRecordExportResult.SUCCESS
    http_logs.shutdown()
    grpc_metrics = GrpcMetricExporter(endpoint=f"https://localhost:{grpc_port}", credentials=trusting)
    assert grpc_metrics.export(_metrics()) == MetricExportResult.SUCCESS
    grpc_metrics.shutdown()

    # /health over https at the address it printed (the certificate names 127.0.0.1 too), with a
    # context that trusts only the CA and checks the name.
    context = ssl.create_default_context(cafile=str(certificates.ca))
    health = f"https://{tls_serve.addresses['HTTP']}/health"
    with urllib.request.urlopen(health, context=context, timeout=30) as response:
        assert response.status == 200

    output = tls_serve.stop()
    assert "stopped" in output, output
    store = tmp_path / "served"
    assert _stored_spans(store) == _expected(over_http + over_grpc)
    assert set(table(store, "traces").column("ServiceName").to_pylist()) == {"served-tls"}
    logs = table(store, "logs").to_pylist()
    assert [(r["SeverityText"], r["Body"]) for r in logs] == [("WARN", "sent over https")]
    sums = table(store, "metrics_sum").to_pylist()
    assert [(r["MetricName"], r["IntValue"], dict(r["Attributes"])) for r in sums] == [
        ("tls.requests", 4, {"route": "/secure"})
    ]


def test_exporters_that_do_not_trust_the_ca_fail_and_store_nothing(
    tls_serve: Serve, certificates: Certificates, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    http_port, grpc_port = _port(tls_serve.addresses["HTTP"]), _port(tls_serve.addresses["gRPC"])
    # Each trusts another CA: the handshake fails, which both exporters report as a failed export
    # (after their retries, which the short timeouts cut off).
    untrusting_http = HttpSpanExporter(
        endpoint=f"https://localhost:{http_port}/v1/traces", certificate_file=str(certificates.other_ca), timeout=2
    )
    assert untrusting_http.export(_spans("untrusted http")) == SpanExportResult.FAILURE
    untrusting_http.shutdown()
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text, caplog.text
    caplog.clear()
    untrusting = grpc.ssl_channel_credentials(root_certificates=certificates.other_ca.read_bytes())
    untrusting_grpc = GrpcSpanExporter(endpoint=f"https://localhost:{grpc_port}", credentials=untrusting, timeout=2)
    assert untrusting_grpc.export(_spans("untrusted grpc")) == SpanExportResult.FAILURE
    untrusting_grpc.shutdown()
    assert "UNAVAILABLE" in caplog.text and "handshake failed" in caplog.text.lower(), caplog.text
    with pytest.raises(urllib.error.URLError) as refused:
        context = ssl.create_default_context(cafile=str(certificates.other_ca))
        urllib.request.urlopen(f"https://localhost:{http_port}/health", context=context, timeout=30)
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError), refused.value

    output = tls_serve.stop()
    assert "stopped" in output, output
    assert sorted(p.name for p in (tmp_path / "served").rglob("*.parquet")) == []


def test_after_refused_handshakes_a_trusting_client_is_still_served(
    tls_serve: Serve, certificates: Certificates, tmp_path: Path
) -> None:
    http_port = _port(tls_serve.addresses["HTTP"])
    endpoint = f"https://localhost:{http_port}/v1/traces"
    refused = HttpSpanExporter(endpoint=endpoint, certificate_file=str(certificates.other_ca), timeout=2)
    assert refused.export(_spans("refused")) == SpanExportResult.FAILURE
    refused.shutdown()
    accepted_spans = _spans("accepted")
    accepted = HttpSpanExporter(endpoint=endpoint, certificate_file=str(certificates.ca))
    assert accepted.export(accepted_spans) == SpanExportResult.SUCCESS
    accepted.shutdown()

    tls_serve.stop()
    assert _stored_spans(tmp_path / "served") == _expected(accepted_spans)
