"""A hand-built span batch goes in through export_traces and comes back out of the Parquet files,
read with pyarrow and with DuckDB, with every field where it belongs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bindings_helpers import T0, duck, dumps, rows, split_types
from bindings_samples import ATTRIBUTES, span_batch

from opentelemetry_parquet import OtlpLibrary


@pytest.fixture
def stored(library: OtlpLibrary, store: Path) -> dict[str, dict[str, Any]]:
    assert library.export_traces(dumps(span_batch())) == 6
    library.flush()
    return {row["SpanName"]: row for row in rows(store, "traces")}


def test_every_span_field_reads_back_with_pyarrow(stored: dict[str, dict[str, Any]]) -> None:
    assert sorted(stored) == sorted(
        ["GET /checkout", "SELECT orders", "internal work", "publish", "consume", "unspecified"]
    )
    row = stored["GET /checkout"]
    assert row["Timestamp"] == T0
    assert row["Duration"] == 1_234_567
    assert row["TraceId"] == "0af7651916cd43dd8448eb211c80319c"
    assert row["SpanId"] == "b7ad6b7169203331"
    assert row["ParentSpanId"] == "00f067aa0ba902b7"
    assert row["TraceState"] == "vendor=opaque,other=2"
    assert row["SpanKind"] == "Server"
    # Sampled, plus the OTLP "has is-remote" and "is remote" bits of the remote parent.
    assert row["Flags"] == 0x300 | 1
    assert row["StatusCode"] == "Error"
    assert row["StatusMessage"] == "card declined"
    assert (row["DroppedAttributesCount"], row["DroppedEventsCount"], row["DroppedLinksCount"]) == (3, 4, 5)

    assert row["SpanAttributes"] == [(key, rendered) for key, _, rendered, _ in ATTRIBUTES]
    assert row["SpanAttributesTypes"] == [(key, ty) for key, _, _, ty in ATTRIBUTES]

    assert row["Events"] == [
        {
            "Timestamp": T0 + 10,
            "Name": "request.received",
            "Attributes": [("size", "512"), ("ok", "true")],
            "AttributesTypes": [("size", "int"), ("ok", "bool")],
            "DroppedAttributesCount": 1,
        },
        {
            "Timestamp": T0 + 20,
            "Name": "exception",
            "Attributes": [],
            "AttributesTypes": [],
            "DroppedAttributesCount": 0,
        },
    ]
    assert row["Links"] == [
        {
            "TraceId": "4bf92f3577b34da6a3ce929d0e0e4736",
            "SpanId": "53995c3f42cd8ad8",
            "TraceState": "k=v",
            "Attributes": [("why", "retry")],
            "AttributesTypes": [("why", "string")],
            "DroppedAttributesCount": 0,
            "Flags": 0x300 | 1,
        },
        {
            "TraceId": "4bf92f3577b34da6a3ce929d0e0e4736",
            "SpanId": "b7ad6b7169203331",
            "TraceState": "",
            "Attributes": [],
            "AttributesTypes": [],
            "DroppedAttributesCount": 2,
            "Flags": 0x100,
        },
    ]

    assert row["ServiceName"] == "checkout"
    assert row["ResourceAttributes"] == [
        ("deployment", "prod"),
        ("host.cpus", "8"),
        ("service.name", "checkout"),
        ("service.version", "1.2.3"),
    ]
    assert row["ResourceAttributesTypes"] == [
        ("deployment", "string"),
        ("host.cpus", "int"),
        ("service.name", "string"),
        ("service.version", "string"),
    ]
    assert row["ResourceDroppedAttributesCount"] == 6
    assert row["ResourceSchemaUrl"] == "https://opentelemetry.io/schemas/1.24.0"
    assert (row["ScopeName"], row["ScopeVersion"]) == ("checkout.scope", "2.1.0")
    assert row["ScopeSchemaUrl"] == "https://opentelemetry.io/schemas/1.21.0"
    assert row["ScopeAttributes"] == [("scope.attr", "s"), ("scope.n", "7")]
    assert row["ScopeAttributesTypes"] == [("scope.attr", "string"), ("scope.n", "int")]
    assert (row["date"], row["hour"]) == ("2023-11-14", 22)


def test_kinds_parents_flags_and_statuses(stored: dict[str, dict[str, Any]]) -> None:
    child = stored["SELECT orders"]
    assert (child["SpanKind"], child["ParentSpanId"], child["Flags"]) == ("Client", "b7ad6b7169203331", 0x100)
    assert (child["StatusCode"], child["StatusMessage"]) == ("Ok", "")
    assert (child["Timestamp"], child["Duration"]) == (T0 + 100, 100)

    root = stored["internal work"]
    assert (root["SpanKind"], root["ParentSpanId"], root["Flags"]) == ("Internal", "", 0x101)
    assert (root["StatusCode"], root["StatusMessage"], root["Duration"]) == ("Unset", "", 0)
    assert root["SpanAttributes"] == [] and root["Events"] == [] and root["Links"] == []

    assert stored["publish"]["SpanKind"] == "Producer"
    assert stored["consume"]["SpanKind"] == "Consumer"
    assert stored["unspecified"]["SpanKind"] == "Unspecified"
    queue = stored["publish"]
    assert (queue["ScopeName"], queue["ScopeVersion"], queue["ScopeSchemaUrl"]) == ("queue.scope", "", "")
    assert queue["ScopeAttributes"] == []
    assert queue["ResourceAttributes"] == stored["GET /checkout"]["ResourceAttributes"]


def test_duckdb_reads_the_same_values(stored: dict[str, dict[str, Any]], store: Path) -> None:
    del stored  # exported and flushed
    got = duck(
        store,
        "traces",
        "SpanName, TraceId, SpanKind, Flags, epoch_ns(Timestamp), Duration, StatusCode, StatusMessage, "
        "SpanAttributes['int'], SpanAttributes['nan'], SpanAttributes['list.int'], "
        "ResourceAttributes['service.version'], ScopeName, date, hour, map_keys(SpanAttributes), SpanAttributesTypes",
        where="ParentSpanId <> ''",
        order="SpanName",
    )
    assert [r[:8] for r in got] == [
        ("GET /checkout", "0af7651916cd43dd8448eb211c80319c", "Server", 0x301, T0, 1_234_567, "Error", "card declined"),
        ("SELECT orders", "0af7651916cd43dd8448eb211c80319c", "Client", 0x100, T0 + 100, 100, "Ok", ""),
    ]
    server = got[0]
    assert server[8:13] == (
        "-42",
        "NaN",
        "[1,-2]",
        "1.2.3",
        "checkout.scope",
    )
    assert str(server[13]) == "2023-11-14" and server[14] == 22
    types = dict(zip(server[15], split_types(server[16]), strict=True))
    assert types["list.int"] == '{"arrayValue":{"values":[{"intValue":"1"},{"intValue":"-2"}]}}'
    assert types["int"] == "int"

    events = duck(
        store,
        "traces",
        "[{'ts': epoch_ns(e.Timestamp), 'name': e.Name, 'attrs': e.Attributes} FOR e IN Events]",
        where="SpanName = 'GET /checkout'",
    )
    assert events == [
        (
            [
                {"ts": T0 + 10, "name": "request.received", "attrs": {"size": "512", "ok": "true"}},
                {"ts": T0 + 20, "name": "exception", "attrs": {}},
            ],
        )
    ]
    links = duck(store, "traces", "Links[1].TraceId, Links[1].Flags, Links[2].Flags", where="len(Links) > 0")
    assert links == [("4bf92f3577b34da6a3ce929d0e0e4736", 0x301, 0x100)]
    per_kind = duck(store, "traces", "SpanKind, count(*)", where="true GROUP BY SpanKind", order="SpanKind")
    assert per_kind == [
        ("Client", 1),
        ("Consumer", 1),
        ("Internal", 1),
        ("Producer", 1),
        ("Server", 1),
        ("Unspecified", 1),
    ]
