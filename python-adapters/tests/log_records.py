"""Log records made as every supported SDK makes them (both sides of the 1.39 rename), what the
SDK hands an exporter (captured by its in-memory exporter), and the check of a stored ``logs``
row against that record, field by field."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import opentelemetry.sdk._logs as sdk_logs
from opentelemetry import trace
from opentelemetry._logs import LogRecord as ApiLogRecord
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan, SpanContext
from parquet_store import _typed, assert_attrs, assert_resource_and_scope, decode_value, hex_id, split_types

try:  # opentelemetry-sdk 1.39+
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter as InMemoryLogExporter
except ImportError:  # before 1.39
    from opentelemetry.sdk._logs.export import InMemoryLogExporter

__all__ = [
    "EVENT_NAMES",
    "READABLE",
    "InMemoryLogExporter",
    "assert_log_row",
    "emit",
    "make_logs",
    "record_of",
    "resource_of",
]

# 1.39+: exporters get ReadableLogRecord (the API's record, the resource beside it); before, LogData.
READABLE = hasattr(sdk_logs, "ReadableLogRecord")
_RECORD: Any = ApiLogRecord if READABLE else sdk_logs.LogRecord
# Whether this SDK's records have an event name (1.35+).
EVENT_NAMES = "event_name" in inspect.signature(_RECORD.__init__).parameters
_LIMITS: Any = getattr(sdk_logs, "LogRecordLimits", None) or sdk_logs.LogLimits


def emit(
    logger: Any,
    *,
    span_context: SpanContext | None = None,
    max_attributes: int | None = None,
    event_name: str | None = None,
    **fields: Any,
) -> None:
    """Emits one record through the SDK ``logger`` (``fields``: timestamp, observed_timestamp,
    severity_text, severity_number, body, attributes) in the span ``span_context`` (none: outside
    any span), its attributes limited to ``max_attributes`` (the SDK then drops and counts)."""
    limits = _LIMITS(max_attributes=max_attributes)
    if EVENT_NAMES:
        fields["event_name"] = event_name
    if READABLE:
        context = trace.set_span_in_context(NonRecordingSpan(span_context)) if span_context else Context()
        record = ApiLogRecord(context=context, **fields)
        logger.emit(
            sdk_logs.ReadWriteLogRecord(
                record, resource=logger.resource, instrumentation_scope=logger._instrumentation_scope, limits=limits
            )
        )
        return
    context = span_context or INVALID_SPAN_CONTEXT
    logger.emit(
        sdk_logs.LogRecord(
            trace_id=context.trace_id,
            span_id=context.span_id,
            trace_flags=context.trace_flags,
            resource=logger.resource,
            limits=limits,
            **fields,
        )
    )


def make_logs(*bodies: Any, attributes: dict[str, Any] | None = None) -> list[Any]:
    """Records as the SDK hands them to an exporter, one per body."""
    memory = InMemoryLogExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": "failures"}), shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("failures")
    for n, body in enumerate(bodies or ("message",)):
        emit(logger, observed_timestamp=n + 1, severity_number=SeverityNumber.INFO, body=body, attributes=attributes)
    provider.shutdown()
    return list(memory.get_finished_logs())


def record_of(item: Any) -> Any:
    """The log record of what an exporter is handed (``LogData`` or ``ReadableLogRecord``)."""
    return item.log_record


def resource_of(item: Any) -> Any:
    return item.resource if READABLE else item.log_record.resource


def _dropped_of(item: Any) -> int:
    """The attributes the SDK dropped: its ``dropped_attributes``, except where SDKs before 1.39
    report 0 because every attribute was dropped (the emptied ``BoundedAttributes`` is falsy there);
    the count itself is stored, as SDK 1.39+ reports it."""
    attributes = item.log_record.attributes
    counted = int(getattr(attributes, "dropped", 0))
    reported = int(item.dropped_attributes if READABLE else item.log_record.dropped_attributes)
    assert reported == (counted if attributes or READABLE else 0)
    return counted


def stored_body(row: Mapping[str, Any]) -> tuple[bool, Any]:
    """(whether the row has a body, its value), from ``Body`` and its one ``BodyType`` entry."""
    (ty,) = split_types(row["BodyType"])
    if ty == "unset":
        assert row["Body"] == ""
        return False, None
    return True, decode_value(row["Body"], ty)


def assert_log_row(row: Mapping[str, Any], item: Any) -> None:
    """Compares one stored ``logs`` row with the record the SDK handed the exporter, as the OTLP
    exporter maps it: no time is the observed time, an ID of 0 is none, the trace flags alone."""
    record = record_of(item)
    observed = record.observed_timestamp
    assert row["ObservedTimestamp"] == observed
    assert row["Timestamp"] == (record.timestamp or observed)
    assert row["TimestampFromObserved"] is (not record.timestamp)
    assert row["TraceId"] == hex_id(record.trace_id or 0, 16)
    assert row["SpanId"] == hex_id(record.span_id or 0, 8)
    flags = int(record.trace_flags or 0)
    assert (row["Flags"], row["TraceFlags"]) == (flags, flags & 0xFF)
    assert row["SeverityText"] == (record.severity_text or "")
    severity = record.severity_number
    assert row["SeverityNumber"] == (severity.value if severity is not None else 0)
    has_body, body = stored_body(row)
    assert has_body is (record.body is not None)
    assert _typed(body) == _typed(record.body), (row["Body"], row["BodyType"], record.body)
    assert_attrs(row["LogAttributes"], row["LogAttributesTypes"], dict(record.attributes or {}))
    assert row["DroppedAttributesCount"] == _dropped_of(item)
    assert row["EventName"] == ((getattr(record, "event_name", None) or "") if EVENT_NAMES else "")
    assert_resource_and_scope(row, resource_of(item), item.instrumentation_scope)
