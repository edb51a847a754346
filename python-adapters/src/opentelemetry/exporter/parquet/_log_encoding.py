"""SDK log records to the batch format of BATCH_FORMAT.md ("Log records"), on both sides of the
SDK's 1.39 rename, on top of the groups and values ``_encoding`` defines for every signal.

What a log exporter is handed changed at opentelemetry-sdk 1.39:

- before: ``LogData`` objects, ``log_data.log_record`` the SDK's ``LogRecord`` (which carries the
  ``resource``) and ``log_data.instrumentation_scope``;
- from 1.39: ``ReadableLogRecord`` objects, ``readable.log_record`` the API's ``LogRecord``, and
  ``readable.resource`` / ``readable.instrumentation_scope`` beside it.

The record's fields themselves are the same plain attributes on both sides (``event_name`` only
from the SDK version that introduced it). Each record becomes the tuple the OTLP exporter's
``_log_encoder`` would make a ``LogRecord`` of, field for field: time (``None`` is 0), observed
time, trace and span IDs (0 is none), the trace flags, severity text and number, the body of any
type, attributes and their dropped count, the event name.

The fast path reads the fields of the installed SDK's layout directly (and the attributes'
private ``_dict``, the resource's ``_attributes``); an object without one of them is encoded
through public properties and defaults instead (slower, same batch), with one warning.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import Any

import opentelemetry.sdk._logs as sdk_logs
from opentelemetry._logs import LogRecord as ApiLogRecord

from ._encoding import attrs, dropped, dumps, grouped_batch

_logger = logging.getLogger(__name__)
_warned_public = False

# 1.39+: the batch holds ReadableLogRecord, the resource beside the (API) record.
READABLE = hasattr(sdk_logs, "ReadableLogRecord")
_RECORD_CLASS: Any = ApiLogRecord if READABLE else getattr(sdk_logs, "LogRecord", ApiLogRecord)
# Whether this SDK's records have an event name (not before 1.35).
EVENT_NAMES = "event_name" in inspect.signature(_RECORD_CLASS.__init__).parameters


def _id(value: int | None, size: int) -> bytes | None:
    """An ID as OTLP bytes; 0 and ``None`` are no ID (the OTLP encoder's ``None``)."""
    return value.to_bytes(size, "big") if value else None


def _log(item: Any) -> tuple[Any, ...]:
    """A record of the installed SDK's layout (the fast path); ``AttributeError`` if a field is missing."""
    record = item.log_record
    attributes = record.attributes
    severity = record.severity_number
    trace_flags = record.trace_flags
    return (
        record.timestamp or 0,
        record.observed_timestamp or 0,
        _id(record.trace_id, 16),
        _id(record.span_id, 8),
        0 if trace_flags is None else int(trace_flags),
        record.severity_text,
        0 if severity is None else severity.value,
        record.body,
        attrs(attributes),
        dropped(attributes),
        record.event_name if EVENT_NAMES else None,
    )


def _public_log(item: Any) -> tuple[Any, ...]:
    """The same tuple as ``_log``, from public properties only, every field optional."""
    record = item.log_record
    severity = getattr(record, "severity_number", None)
    trace_flags = getattr(record, "trace_flags", None)
    attributes = getattr(record, "attributes", None)
    count = getattr(item, "dropped_attributes", None)
    if count is None:
        count = getattr(record, "dropped_attributes", 0)
    return (
        getattr(record, "timestamp", None) or 0,
        getattr(record, "observed_timestamp", None) or 0,
        _id(getattr(record, "trace_id", None), 16),
        _id(getattr(record, "span_id", None), 8),
        0 if trace_flags is None else int(trace_flags),
        getattr(record, "severity_text", None),
        0 if severity is None else int(getattr(severity, "value", severity)),
        getattr(record, "body", None),
        dict(attributes) if attributes else None,
        int(count or 0),
        getattr(record, "event_name", None),
    )


def _place(item: Any) -> tuple[Any, Any]:
    if READABLE:
        return item.resource, item.instrumentation_scope
    return item.log_record.resource, item.instrumentation_scope


def _public_place(item: Any) -> tuple[Any, Any]:
    """The resource where either layout keeps it (``None`` when neither has one)."""
    resource = getattr(item, "resource", None)
    if resource is None:
        resource = getattr(getattr(item, "log_record", None), "resource", None)
    return resource, getattr(item, "instrumentation_scope", None)


def _warn_public(error: AttributeError) -> None:
    global _warned_public
    if not _warned_public:
        _warned_public = True
        _logger.warning(
            "opentelemetry-exporter-parquet: a log record lacks a field of this opentelemetry-sdk's layout (%s); "
            "encoding log records through public properties instead (slower, same data)",
            error,
        )


def encode_logs(batch: Sequence[Any]) -> bytes:
    """Encodes the SDK's ``LogData`` (before 1.39) or ``ReadableLogRecord`` (1.39+) objects,
    grouped by resource and scope, as one batch."""
    try:
        encoded = grouped_batch(batch, _place, _log)
    except AttributeError as missing:
        _warn_public(missing)
        encoded = grouped_batch(batch, _public_place, _public_log)
    return dumps(encoded)
