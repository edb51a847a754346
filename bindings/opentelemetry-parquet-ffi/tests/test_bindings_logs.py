"""A hand-built log batch goes in through export_logs and comes back out of the ``logs`` table,
read with pyarrow and DuckDB, with every field where it belongs; it stores the rows of the OTLP
request it stands for (export_otlp_logs); a malformed one is a Decode error naming the field."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from bindings_helpers import T0, batch, duck, dumps, log_record, open_library, rows
from bindings_otlp import logs_request
from bindings_samples import ATTRIBUTES, BODIES, SPAN_ID, TRACE_ID, log_batch

from opentelemetry_parquet import OtlpError, OtlpLibrary

RECORDS = len(BODIES) + 2


@pytest.fixture
def stored(library: OtlpLibrary, store: Path) -> list[dict[str, Any]]:
    assert library.export_logs(dumps(log_batch())) == RECORDS
    library.flush()
    found = rows(store, "logs")
    assert len(found) == RECORDS
    return sorted(found, key=lambda r: r["Timestamp"])


def test_every_body_type_reads_back_with_pyarrow(stored: list[dict[str, Any]]) -> None:
    for i, (_, rendered, ty) in enumerate(BODIES):
        row = stored[i]
        assert row["LogAttributes"] == [("body.index", str(i))]
        assert (row["Body"], row["BodyType"]) == (rendered, ty), i
        assert (row["Timestamp"], row["ObservedTimestamp"], row["TimestampFromObserved"]) == (T0 + i, T0 + 5, False)
        assert (row["SeverityText"], row["SeverityNumber"]) == ("INFO", 1 + i)
        assert (row["TraceId"], row["SpanId"], row["TraceFlags"], row["Flags"]) == ("", "", 0, 0)
        assert (row["EventName"], row["DroppedAttributesCount"]) == ("", 0)


def test_every_record_field_reads_back_with_pyarrow(stored: list[dict[str, Any]]) -> None:
    row = stored[len(BODIES)]
    assert (row["TraceId"], row["SpanId"]) == (TRACE_ID.hex(), SPAN_ID.hex())
    assert (row["TraceFlags"], row["Flags"]) == (1, 1), "log flags are the trace flags alone"
    assert (row["Timestamp"], row["ObservedTimestamp"]) == (T0 + 100, T0 + 101)
    assert (row["SeverityText"], row["SeverityNumber"], row["Body"], row["BodyType"]) == (
        "WARN",
        13,
        "card declined",
        "s",
    )
    assert (row["EventName"], row["DroppedAttributesCount"]) == ("payment.failed", 2)
    expected = [(key, rendered) for key, _, rendered, _ in ATTRIBUTES] + [("map", '{"k":[1,{"x":true}]}')]
    assert row["LogAttributes"] == expected
    map_type = (
        '{"kvlistValue":{"values":[{"key":"k","value":{"arrayValue":{"values":[{"intValue":"1"},'
        '{"kvlistValue":{"values":[{"key":"x","value":{"boolValue":true}}]}}]}}}]}}'
    )
    assert row["LogAttributesTypes"] == [(key, ty) for key, _, _, ty in ATTRIBUTES] + [("map", map_type)]
    for r in stored[: len(BODIES) + 1]:
        assert r["ServiceName"] == "checkout"
        assert r["ResourceAttributes"] == [("service.name", "checkout"), ("service.version", "1.2.3")], "sorted"
        assert (r["ResourceDroppedAttributesCount"], r["ResourceSchemaUrl"]) == (
            6,
            "https://opentelemetry.io/schemas/1.24.0",
        )
        assert (r["ScopeName"], r["ScopeVersion"], r["ScopeSchemaUrl"]) == (
            "checkout.logger",
            "2.1.0",
            "https://opentelemetry.io/schemas/1.21.0",
        )
        assert r["ScopeAttributes"] == [("scope.attr", "s")]


def test_a_record_without_its_own_time_is_stored_at_its_observed_time(stored: list[dict[str, Any]]) -> None:
    row = stored[-1]
    assert (row["Timestamp"], row["ObservedTimestamp"], row["TimestampFromObserved"]) == (T0 + 200, T0 + 200, True)
    assert (row["SeverityText"], row["SeverityNumber"], row["Body"]) == ("", 0, "no time")
    assert (row["ScopeName"], row["ScopeVersion"], row["ScopeAttributes"]) == ("", "", [])


def test_duckdb_reads_the_same_values(stored: list[dict[str, Any]], store: Path) -> None:
    got = duck(
        store,
        "logs",
        "epoch_ns(Timestamp), SeverityText, Body, BodyType, TraceId, EventName, LogAttributes['map']",
        where="TraceId <> ''",
    )
    assert got == [(T0 + 100, "WARN", "card declined", "s", TRACE_ID.hex(), "payment.failed", '{"k":[1,{"x":true}]}')]
    assert duck(store, "logs", "count(*)", where="BodyType = 'u'") == [(1,)]
    assert [r[0] for r in duck(store, "logs", "Body", where="ScopeName = 'checkout.logger'", order="Timestamp")] == [
        r["Body"] for r in stored[:-1]
    ]


def _all_rows(root: Path) -> list[str]:
    return sorted(repr(r) for r in rows(root, "logs"))


def test_a_log_batch_stores_the_rows_of_its_otlp_request(tmp_path: Path) -> None:
    pickled, otlp = open_library(tmp_path / "pickle"), open_library(tmp_path / "otlp")
    assert pickled.export_logs(dumps(log_batch())) == otlp.export_otlp_logs(logs_request(log_batch())) == RECORDS
    pickled.shutdown()
    otlp.shutdown()
    assert _all_rows(tmp_path / "pickle") == _all_rows(tmp_path / "otlp")


def _with_field(index: int, value: Any) -> tuple[Any, ...]:
    record = list(log_record())
    record[index] = value
    return tuple(record)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (_with_field(0, -1), "time_unix_nano: invalid value: integer `-1`, expected u64"),
        (_with_field(1, 1.5), "observed_time_unix_nano: invalid type: floating point `1.5`, expected u64"),
        (_with_field(2, b"\x01" * 8), "trace_id: an ID of 16 bytes, got 8 bytes"),
        (_with_field(3, "abc"), 'span_id: invalid type: string "abc", expected an ID of 8 bytes'),
        (_with_field(4, None), "flags: invalid type: None, expected u32"),
        (_with_field(5, 3), "severity_text: invalid type: integer `3`, expected a string"),
        (_with_field(6, "WARN"), 'severity_number: invalid type: string "WARN", expected i32'),
        (_with_field(7, {1: "int key"}), "body: invalid type: integer `1`, expected a string"),
        (_with_field(7, 2**64), "body: invalid value: integer too large for 64 bits"),
        (_with_field(8, ["k"]), "attributes: invalid type: sequence, expected an attribute dict"),
        (_with_field(9, -1), "dropped_attributes: invalid value: integer `-1`, expected u32"),
        (_with_field(10, b"x"), "event_name: invalid type: byte array, expected a string"),
        (log_record()[:10], "invalid length 10, expected a log record (a tuple of 11 elements"),
        ("not a record", 'invalid type: string "not a record", expected a log record'),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_malformed_record_is_a_decode_error_naming_it(
    library: OtlpLibrary, store: Path, record: Any, expected: str
) -> None:
    data = dumps(batch([log_record(body="fine"), record]))
    with pytest.raises(OtlpError.Decode, match="malformed log batch") as caught:
        library.export_logs(data)
    assert f"resource group 0, scope group 0, log record 1: {expected}" in str(caught.value)
    library.flush()
    assert rows(store, "logs") == [], "nothing of a refused batch is stored"


def test_malformed_bytes_are_refused(library: OtlpLibrary, store: Path) -> None:
    with pytest.raises(OtlpError.Decode, match="malformed log batch"):
        library.export_logs(b"not a pickle")
    with pytest.raises(OtlpError.Decode, match="reads version 1"):
        library.export_logs(pickle.dumps((2, []), protocol=5))
    with pytest.raises(OtlpError.Decode, match="ExportLogsServiceRequest"):
        library.export_otlp_logs(b"\xff\xff\xff")
    assert library.export_logs(dumps([])) == 0
    assert library.export_otlp_logs(b"") == 0
    library.flush()
    assert rows(store, "logs") == []


def test_export_after_shutdown(library: OtlpLibrary, store: Path) -> None:
    assert library.export_logs(dumps(batch([log_record()]))) == 1
    library.shutdown()
    with pytest.raises(OtlpError.AlreadyShutdown):
        library.export_logs(dumps(batch([log_record()])))
    with pytest.raises(OtlpError.AlreadyShutdown):
        library.export_otlp_logs(logs_request(batch([log_record()])))
    assert len(rows(store, "logs")) == 1
