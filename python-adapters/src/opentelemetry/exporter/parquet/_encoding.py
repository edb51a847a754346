"""SDK objects to the batch format the Rust side reads: the layout, its version and the forms of
values that do not fit are defined once, in the bindings' BATCH_FORMAT.md (read by their
``batch.rs``).

Spans, log records (``_log_encoding``) and metrics (``_metric_encoding``) become plain tuples of
builtins pickled in C: a few microseconds per span, where building OTLP protobuf messages in
Python (``encode_spans``) costs tens. The Rust side validates the layout and stores exactly what
the Rust exporters store for the same telemetry. This module holds what the three share (values,
pickling, resource and scope groups) and the spans.

The fast path reads the SDK's private fields (``span._attributes``, ...), checked against the
supported ``opentelemetry-sdk`` versions; an SDK without one of them is encoded through its public
properties instead (slower, same batch), with one warning.
"""

from __future__ import annotations

import io
import logging
import pickle
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util import BoundedList

from opentelemetry_parquet import OtlpError

_PROTOCOL = 5
# The version of BATCH_FORMAT.md this encoder writes: the first element of every batch.
BATCH_FORMAT_VERSION = 1

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")

_logger = logging.getLogger(__name__)
_warned_public = False


def attrs(attributes: Any) -> dict[str, Any] | None:
    """The attribute dict without copying when it is the SDK's own ``BoundedAttributes`` (its
    private ``_dict``, else a copy)."""
    if type(attributes) is BoundedAttributes:
        inner = getattr(attributes, "_dict", None)
        if inner is not None:
            return inner  # type: ignore[no-any-return]
    if not attributes:
        return None
    return dict(attributes)


def dropped(attributes: Any) -> int:
    return attributes.dropped if type(attributes) is BoundedAttributes else 0


def _items(container: Any) -> Iterable[Any]:
    """Events or links: the SDK's ``BoundedList`` (its deque, without the copy) or any sequence."""
    if type(container) is BoundedList:
        return getattr(container, "_dq", container)
    return container or ()


def resource_attributes(resource: Any) -> Any:
    """A resource's ``BoundedAttributes`` (private ``_attributes``), else its public ``attributes``."""
    attributes = getattr(resource, "_attributes", None)
    return resource.attributes if attributes is None else attributes


def resource_group(resource: Any, scopes: list[Any]) -> tuple[Any, ...]:
    """A resource group of the batch; a missing resource (``None``) is an empty one."""
    if resource is None:
        return ({}, None, 0, scopes)
    attributes = resource_attributes(resource)
    return (attrs(attributes) or {}, resource.schema_url or None, dropped(attributes), scopes)


def scope_group(scope: Any, items: list[Any]) -> tuple[Any, ...]:
    if scope is None:
        return ("", None, None, None, items)
    return (scope.name, scope.version, scope.schema_url or None, attrs(scope.attributes), items)


def _text(value: str) -> str:
    """``value``, with each lone surrogate (not encodable as UTF-8) replaced by U+FFFD."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)
    return value


def plain(value: Any) -> Any:
    """``value`` as plain data the Rust side can hold (BATCH_FORMAT.md, "Values"): every subclass
    of a builtin (an ``IntEnum``, a ``str`` subclass, ...) replaced by the builtin itself, an int
    outside the signed 64-bit range by its decimal ``str``, a lone surrogate by U+FFFD, any other
    object by its ``str()``."""
    if value is None or type(value) in (bool, float, bytes):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value) if _I64_MIN <= value <= _I64_MAX else str(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return _text(str(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, Mapping):
        return {_text(str(k)): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return _text(str(value))


def repickle_plain(batch: bytes) -> bytes:
    """Slow path: a batch rebuilt from plain builtins (used when a value was a subclass)."""
    return _pickle(plain(pickle.loads(batch)))  # noqa: S301 - our own bytes


def _pickle(batch: Any) -> bytes:
    """Pickles without the memo ("fast mode"): the batch is a tree, and a memo only makes the
    pickler slower (an entry per object) and the batch longer (a MEMOIZE opcode per object). The
    Rust side reads a memoized batch too (BATCH_FORMAT.md)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=_PROTOCOL)
    pickler.fast = True
    pickler.dump(batch)
    return buffer.getvalue()


def dumps(batch: Any) -> bytes:
    """Pickles a batch. A value of a builtin's subclass that cannot be pickled by reference (a class
    defined inside a function, say) makes ``pickle`` fail; the batch is then pickled from plain
    builtins instead."""
    try:
        return _pickle(batch)
    except (pickle.PicklingError, AttributeError, TypeError):
        return _pickle(plain(batch))


def export_batch(export: Callable[[bytes], int], batch: bytes) -> int:
    """Exports a batch; if the Rust side rejects it because a value did not fit (a subclass of a
    builtin pickled as a class reference, an int beyond 64 bits, a lone surrogate), retries once
    with every value made plain (``plain``): one such value costs its own fidelity, never the
    batch. The fast path pays nothing for this."""
    try:
        return export(batch)
    except OtlpError.Decode:
        return export(repickle_plain(batch))


def _trace_state(trace_state: Any) -> str:
    return trace_state.to_header() if trace_state else ""


def _link(link: Any) -> tuple[Any, ...]:
    context = link.context
    attributes = getattr(link, "_attributes", None)
    if attributes is None:
        attributes = link.attributes
    return (
        context.trace_id.to_bytes(16, "big"),
        context.span_id.to_bytes(8, "big"),
        int(context.trace_flags),
        context.is_remote,
        _trace_state(context.trace_state),
        attrs(attributes),
        dropped(attributes),
    )


def _span(span: Any) -> tuple[Any, ...]:
    """A span from the SDK's private fields (the fast path); ``AttributeError`` if one is missing."""
    context = span._context
    if context is None:
        raise ValueError(f"span {span._name!r} has no span context")
    parent = span._parent
    status = span._status
    attributes = span._attributes
    events = span._events
    links = span._links
    return (
        context.trace_id.to_bytes(16, "big"),
        context.span_id.to_bytes(8, "big"),
        parent.span_id.to_bytes(8, "big") if parent is not None else None,
        parent.is_remote if parent is not None else False,
        int(context.trace_flags),
        _trace_state(context.trace_state),
        span._name,
        span._kind.value + 1,
        span._start_time,
        span._end_time,
        attrs(attributes),
        dropped(attributes),
        [(e._name, e._timestamp, attrs(e._attributes), dropped(e._attributes)) for e in _items(events)]
        if events
        else None,
        events.dropped if type(events) is BoundedList else 0,
        [_link(link) for link in _items(links)] if links else None,
        links.dropped if type(links) is BoundedList else 0,
        status.status_code.value,
        status.description,
    )


def _public_span(span: Any) -> tuple[Any, ...]:
    """The same tuple as ``_span``, from ``ReadableSpan``'s public properties only."""
    context = span.context
    if context is None:
        raise ValueError(f"span {span.name!r} has no span context")
    parent = span.parent
    status = span.status
    events = span.events
    links = span.links
    return (
        context.trace_id.to_bytes(16, "big"),
        context.span_id.to_bytes(8, "big"),
        parent.span_id.to_bytes(8, "big") if parent is not None else None,
        parent.is_remote if parent is not None else False,
        int(context.trace_flags),
        _trace_state(context.trace_state),
        span.name,
        span.kind.value + 1,
        span.start_time,
        span.end_time,
        attrs(span.attributes),
        span.dropped_attributes,
        [(e.name, e.timestamp, attrs(e.attributes), e.dropped_attributes) for e in events] if events else None,
        span.dropped_events,
        [_link(link) for link in links] if links else None,
        span.dropped_links,
        status.status_code.value,
        status.description,
    )


def _private_place(span: Any) -> tuple[Any, Any]:
    return span._resource, span._instrumentation_scope


def _public_place(span: Any) -> tuple[Any, Any]:
    return span.resource, span.instrumentation_scope


def grouped_batch(
    items: Iterable[Any],
    place: Callable[[Any], tuple[Any, Any]],
    encode: Callable[[Any], tuple[Any, ...]],
) -> tuple[int, list[Any]]:
    """The batch of spans or log records: the items grouped by their resource and scope
    (``place``, compared by identity, as the SDK shares them), each encoded by ``encode``."""
    groups: dict[int, tuple[Any, dict[int, tuple[Any, list[Any]]]]] = {}
    last_resource: Any = None
    last_scope: Any = None
    current: list[Any] = []
    started = False
    for item in items:
        resource, scope = place(item)
        if not started or resource is not last_resource or scope is not last_scope:
            started = True
            group = groups.get(id(resource))
            if group is None:
                group = groups[id(resource)] = (resource, {})
            scope_items = group[1].get(id(scope))
            if scope_items is None:
                scope_items = group[1][id(scope)] = (scope, [])
            current = scope_items[1]
            last_resource, last_scope = resource, scope
        current.append(encode(item))
    return (
        BATCH_FORMAT_VERSION,
        [
            resource_group(resource, [scope_group(scope, items) for scope, items in scopes.values()])
            for resource, scopes in groups.values()
        ],
    )


def _warn_public(error: AttributeError) -> None:
    global _warned_public
    if not _warned_public:
        _warned_public = True
        _logger.warning(
            "opentelemetry-exporter-parquet: this opentelemetry-sdk lacks a private field the fast path reads "
            "(%s); encoding spans through the SDK's public properties instead (slower, same data)",
            error,
        )


def encode_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """Encodes SDK spans (grouped by resource and scope) as one batch: from the SDK's private
    fields, or from its public properties when one of those fields is missing."""
    try:
        batch = grouped_batch(spans, _private_place, _span)
    except AttributeError as missing:
        _warn_public(missing)
        batch = grouped_batch(spans, _public_place, _public_span)
    return dumps(batch)
