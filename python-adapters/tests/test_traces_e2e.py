"""End to end: a real ``TracerProvider`` exporting through ``ParquetSpanExporter``; the files are read
back with pyarrow and DuckDB and every stored value is checked against the SDK's spans."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode
from parquet_store import assert_span_row, duck, hex_id, read_rows, read_table, split_types

from opentelemetry.exporter.parquet import ParquetSpanExporter

RESOURCE_SCHEMA = "https://opentelemetry.io/schemas/1.26.0"
SCOPE_SCHEMA = "https://example.com/schemas/scope/1.0"

RESOURCE_ATTRIBUTES: dict[str, Any] = {
    "service.name": "e2e-service",
    "service.version": "1.2.3",
    "deployment.environment": "test",
    "host.cpus": 8,
    "load": 0.75,
    "on.call": False,
    "regions": ["eu", "us"],
}

# Every attribute type the Python API accepts.
ALL_TYPES: dict[str, Any] = {
    "http.request.method": "GET",
    "empty": "",
    "unicode": 'ünïcødé ✓ "quoted" <b>&',
    "flag": True,
    "off": False,
    "count": 42,
    "negative": -7,
    "int64.max": 2**63 - 1,
    "int64.min": -(2**63),
    "ratio": 1.5,
    "whole": 2.0,
    "tiny": 1.5e-7,
    "huge": 1e21,
    "ints": [1, 2],
    "floats": [1.5, 2.0],
    "bools": [True, False],
    "strs": ["a", "b"],
    "no.items": [],
}

REMOTE_PARENT = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "v1"), ("other", "x")]),
)
LOCAL_UNSAMPLED_LINK = SpanContext(
    trace_id=0x11111111111111111111111111111111,
    span_id=0x2222222222222222,
    is_remote=False,
    trace_flags=TraceFlags(TraceFlags.DEFAULT),
)
REMOTE_SAMPLED_LINK = SpanContext(
    trace_id=0x33333333333333333333333333333333,
    span_id=0x4444444444444444,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("k", "v")]),
)

PROCESSORS: dict[str, Callable[[SpanExporter], SpanProcessor]] = {
    "batch": BatchSpanProcessor,
    "simple": SimpleSpanProcessor,
}


def run_workload(store: str, processor: Callable[[SpanExporter], SpanProcessor]) -> list[ReadableSpan]:
    """Creates spans of every kind, status, attribute type, with events, links, a remote parent and
    two scopes; returns the SDK's finished spans (as an in-memory exporter saw them)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(RESOURCE_ATTRIBUTES, schema_url=RESOURCE_SCHEMA))
    provider.add_span_processor(processor(ParquetSpanExporter(output_dir=store)))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("e2e.scope", "4.5.6", schema_url=SCOPE_SCHEMA, attributes={"scope.attr": "s", "n": 1})
    other = provider.get_tracer("other.scope")

    remote = trace.set_span_in_context(NonRecordingSpan(REMOTE_PARENT))
    with tracer.start_as_current_span("GET /checkout", context=remote, kind=SpanKind.SERVER, attributes=ALL_TYPES) as s:
        s.set_status(Status(StatusCode.OK))
        s.add_event("request.received", {"body.size": 512, "ok": True, "ratio": 0.25, "tags": ["a", "b"]})
        with tracer.start_as_current_span(
            "SELECT orders",
            kind=SpanKind.CLIENT,
            links=[
                Link(LOCAL_UNSAMPLED_LINK, {"link.reason": "retry", "link.n": 2}),
                Link(REMOTE_SAMPLED_LINK),
            ],
        ) as client:
            client.add_event("retry")
            client.set_status(Status(StatusCode.ERROR, "connection reset"))
        with tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER, attributes={"messaging.batch": 3}):
            pass
        with tracer.start_as_current_span("consume", kind=SpanKind.CONSUMER, record_exception=False) as consumer:
            consumer.record_exception(ValueError("bad message"))
            consumer.set_status(Status(StatusCode.ERROR))
        with other.start_as_current_span("internal work"):
            pass
    with tracer.start_as_current_span("root job", kind=SpanKind.INTERNAL) as root:
        root.set_attribute("job.id", 7)
    provider.shutdown()
    spans = list(memory.get_finished_spans())
    assert len(spans) == 6
    return spans


@pytest.fixture(params=sorted(PROCESSORS))
def workload(request: pytest.FixtureRequest, store: str) -> tuple[str, dict[str, ReadableSpan]]:
    spans = run_workload(store, PROCESSORS[request.param])
    return store, {s.name: s for s in spans}


def test_every_span_field_is_stored(workload: tuple[str, dict[str, ReadableSpan]]) -> None:
    store, spans = workload
    rows = read_rows(store, "traces")
    assert len(rows) == len(spans)
    by_id = {r["SpanId"]: r for r in rows}
    assert len(by_id) == len(rows), "every span stored exactly once"
    for span in spans.values():
        assert span.context is not None
        assert_span_row(by_id[hex_id(span.context.span_id, 8)], span)


def test_literal_values(workload: tuple[str, dict[str, ReadableSpan]]) -> None:
    """The renderings the ClickHouse exporter's queries expect, spelled out."""
    store, spans = workload
    rows = {r["SpanName"]: r for r in read_rows(store, "traces")}

    server = rows["GET /checkout"]
    assert server["TraceId"] == "0af7651916cd43dd8448eb211c80319c"
    assert server["ParentSpanId"] == "b7ad6b7169203331"
    assert server["TraceState"] == "vendor=v1,other=x"
    assert server["SpanKind"] == "Server"
    assert server["StatusCode"] == "Ok"
    assert server["StatusMessage"] == ""
    assert server["Flags"] == 0x100 | 0x200 | 0x01  # sampled, remote parent
    attributes, types = server["SpanAttributes"], server["SpanAttributesTypes"]
    assert list(attributes) == list(ALL_TYPES), "attribute order is kept"
    assert attributes == {
        "http.request.method": "GET",
        "empty": "",
        "unicode": 'ünïcødé ✓ "quoted" <b>&',
        "flag": "true",
        "off": "false",
        "count": "42",
        "negative": "-7",
        "int64.max": "9223372036854775807",
        "int64.min": "-9223372036854775808",
        "ratio": "1.5",
        "whole": "2",
        "tiny": "1.5e-7",
        "huge": "1e+21",
        "ints": "[1,2]",
        "floats": "[1.5,2]",
        "bools": "[true,false]",
        "strs": '["a","b"]',
        "no.items": "[]",
    }
    assert types == {
        "http.request.method": "string",
        "empty": "string",
        "unicode": "string",
        "flag": "bool",
        "off": "bool",
        "count": "int",
        "negative": "int",
        "int64.max": "int",
        "int64.min": "int",
        "ratio": "double",
        "whole": "double",
        "tiny": "double",
        "huge": "double",
        "ints": '{"arrayValue":{"values":[{"intValue":"1"},{"intValue":"2"}]}}',
        "floats": '{"arrayValue":{"values":[{"doubleValue":1.5},{"doubleValue":2.0}]}}',
        "bools": '{"arrayValue":{"values":[{"boolValue":true},{"boolValue":false}]}}',
        "strs": '{"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":"b"}]}}',
        "no.items": '{"arrayValue":{"values":[]}}',
    }
    (event,) = server["Events"]
    assert event["Name"] == "request.received"
    assert event["Attributes"] == {"body.size": "512", "ok": "true", "ratio": "0.25", "tags": '["a","b"]'}
    assert event["AttributesTypes"]["body.size"] == "int"

    client = rows["SELECT orders"]
    assert client["SpanKind"] == "Client"
    assert client["StatusCode"] == "Error"
    assert client["StatusMessage"] == "connection reset"
    assert client["ParentSpanId"] == server["SpanId"]
    assert client["TraceId"] == server["TraceId"]
    assert client["TraceState"] == "vendor=v1,other=x", "inherited from the parent"
    assert client["Flags"] == 0x101  # sampled, local parent
    assert [e["Name"] for e in client["Events"]] == ["retry"]
    assert client["Events"][0]["Attributes"] == {}
    first, second = client["Links"]
    assert (first["TraceId"], first["SpanId"], first["Flags"]) == ("1" * 32, "2" * 16, 0x100)
    assert first["Attributes"] == {"link.reason": "retry", "link.n": "2"}
    assert first["AttributesTypes"] == {"link.reason": "string", "link.n": "int"}
    assert (second["TraceId"], second["SpanId"], second["Flags"], second["TraceState"]) == (
        "3" * 32,
        "4" * 16,
        0x301,
        "k=v",
    )

    assert rows["publish"]["SpanKind"] == "Producer"
    assert rows["publish"]["StatusCode"] == "Unset"
    consume = rows["consume"]
    assert consume["SpanKind"] == "Consumer"
    assert (consume["StatusCode"], consume["StatusMessage"]) == ("Error", "")
    (exception,) = consume["Events"]
    assert exception["Name"] == "exception"
    assert exception["Attributes"]["exception.type"] == "ValueError"
    assert exception["Attributes"]["exception.message"] == "bad message"
    assert exception["AttributesTypes"]["exception.stacktrace"] == "string"

    internal = rows["internal work"]
    assert internal["SpanKind"] == "Internal"
    assert (internal["ScopeName"], internal["ScopeVersion"], internal["ScopeSchemaUrl"]) == ("other.scope", "", "")
    assert internal["ScopeAttributes"] == {}

    root = rows["root job"]
    assert root["ParentSpanId"] == ""
    root_context = spans["root job"].context
    assert root_context is not None
    # W3C flags of a new trace: sampled, plus the level-2 "random" bit (0x02) newer SDKs set.
    assert root["Flags"] == 0x100 | int(root_context.trace_flags)
    assert root["Flags"] & 0x201 == 0x001
    assert root["TraceId"] != server["TraceId"]
    assert root["SpanAttributes"] == {"job.id": "7"}

    for row in rows.values():
        assert row["ServiceName"] == "e2e-service"
        assert row["ResourceSchemaUrl"] == RESOURCE_SCHEMA
        resource = row["ResourceAttributes"]
        assert list(resource) == sorted(resource)
        assert resource["host.cpus"] == "8"
        assert resource["load"] == "0.75"
        assert resource["on.call"] == "false"
        assert resource["regions"] == '["eu","us"]'
        assert resource["telemetry.sdk.language"] == "python"
        assert row["ResourceAttributesTypes"]["host.cpus"] == "int"
        if row["SpanName"] != "internal work":
            assert (row["ScopeName"], row["ScopeVersion"], row["ScopeSchemaUrl"]) == (
                "e2e.scope",
                "4.5.6",
                SCOPE_SCHEMA,
            )
            assert row["ScopeAttributes"] == {"scope.attr": "s", "n": "1"}
            assert row["ScopeAttributesTypes"] == {"scope.attr": "string", "n": "int"}
    span = spans["GET /checkout"]
    assert span.end_time is not None
    assert span.start_time is not None
    assert server["Timestamp"] == span.start_time
    assert server["Duration"] == span.end_time - span.start_time


def test_pyarrow_partitions(workload: tuple[str, dict[str, ReadableSpan]]) -> None:
    store, _ = workload
    table = read_table(store, "traces")
    assert table.num_rows == 6
    assert {"date", "hour"} <= set(table.column_names)
    assert str(table.schema.field("Timestamp").type) == "timestamp[ns, tz=UTC]"
    assert str(table.schema.field("Duration").type) == "uint64"


def test_duckdb_reads_the_same_values(workload: tuple[str, dict[str, ReadableSpan]]) -> None:
    store, spans = workload
    got = duck(
        store,
        "traces",
        "SpanName, SpanKind, StatusCode, StatusMessage, TraceId, SpanId, ParentSpanId, Flags, ServiceName, "
        "ScopeName, ScopeVersion, epoch_ns(Timestamp), Duration, len(Events), len(Links)",
        order="SpanName",
    )
    expected = []
    for name in sorted(spans):
        span = spans[name]
        ctx, parent = span.context, span.parent
        assert ctx is not None
        assert span.start_time is not None
        assert span.end_time is not None
        assert span.instrumentation_scope is not None
        expected.append(
            (
                name,
                ["Internal", "Server", "Client", "Producer", "Consumer"][span.kind.value],
                ["Unset", "Ok", "Error"][span.status.status_code.value],
                span.status.description or "" if span.status.status_code is StatusCode.ERROR else "",
                format(ctx.trace_id, "032x"),
                format(ctx.span_id, "016x"),
                format(parent.span_id, "016x") if parent else "",
                int(ctx.trace_flags) | 0x100 | (0x200 if parent and parent.is_remote else 0),
                "e2e-service",
                span.instrumentation_scope.name,
                span.instrumentation_scope.version or "",
                span.start_time,
                span.end_time - span.start_time,
                len(span.events),
                len(span.links),
            )
        )
    assert got == expected

    attrs = duck(
        store,
        "traces",
        "SpanAttributes['ratio'], SpanAttributes['flag'], SpanAttributes['count'], "
        "SpanAttributes['ints'], Events[1].Name, Events[1].Attributes['body.size'], "
        "map_keys(SpanAttributes), SpanAttributesTypes",
        where="SpanKind = 'Server'",
    )
    assert [row[:6] for row in attrs] == [("1.5", "true", "42", "[1,2]", "request.received", "512")]
    # One type per entry, in map order: the codes of SpanAttributesTypes, read by DuckDB.
    types = dict(zip(attrs[0][6], split_types(attrs[0][7]), strict=True))
    assert types["ratio"] == "double"
    assert types["count"] == "int"
    assert types["ints"] == '{"arrayValue":{"values":[{"intValue":"1"},{"intValue":"2"}]}}'
    errors = duck(store, "traces", "SpanName, StatusMessage", where="StatusCode = 'Error'", order="SpanName")
    assert errors == [("SELECT orders", "connection reset"), ("consume", "")]
    links = duck(store, "traces", "Links[1].TraceId, Links[1].Flags, Links[2].Flags", where="len(Links) > 0")
    assert links == [("1" * 32, 0x100, 0x301)]
    resource = duck(store, "traces", "DISTINCT ResourceAttributes['service.version'], ResourceSchemaUrl")
    assert resource == [("1.2.3", RESOURCE_SCHEMA)]
