"""SDK objects to the batch format the Rust side reads: the layout, its version and the forms of
values that do not fit are defined once, in the bindings' BATCH_FORMAT.md (read by their
``batch.rs``).

Spans become plain tuples of builtins pickled in C: a few microseconds per span, where building
OTLP protobuf messages in Python (``encode_spans``) costs tens. The Rust side validates the
layout and stores exactly what the Rust exporters store for the same telemetry.

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
from opentelemetry.sdk.metrics.export import (
    ExponentialHistogram,
    Gauge,
    Histogram,
    MetricsData,
    Sum,
)
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


def _attrs(attributes: Any) -> dict[str, Any] | None:
    """The attribute dict without copying when it is the SDK's own ``BoundedAttributes`` (its
    private ``_dict``, else a copy)."""
    if type(attributes) is BoundedAttributes:
        inner = getattr(attributes, "_dict", None)
        if inner is not None:
            return inner  # type: ignore[no-any-return]
    if not attributes:
        return None
    return dict(attributes)


def _dropped(attributes: Any) -> int:
    return attributes.dropped if type(attributes) is BoundedAttributes else 0


def _items(container: Any) -> Iterable[Any]:
    """Events or links: the SDK's ``BoundedList`` (its deque, without the copy) or any sequence."""
    if type(container) is BoundedList:
        return getattr(container, "_dq", container)
    return container or ()


def _resource_attributes(resource: Any) -> Any:
    """A resource's ``BoundedAttributes`` (private ``_attributes``), else its public ``attributes``."""
    attributes = getattr(resource, "_attributes", None)
    return resource.attributes if attributes is None else attributes


def _resource_group(resource: Any, scopes: list[Any]) -> tuple[Any, ...]:
    attributes = _resource_attributes(resource)
    return (_attrs(attributes) or {}, resource.schema_url or None, _dropped(attributes), scopes)


def _scope_group(scope: Any, items: list[Any]) -> tuple[Any, ...]:
    if scope is None:
        return ("", None, None, None, items)
    return (scope.name, scope.version, scope.schema_url or None, _attrs(scope.attributes), items)


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
        _attrs(attributes),
        _dropped(attributes),
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
        _attrs(attributes),
        _dropped(attributes),
        [(e._name, e._timestamp, _attrs(e._attributes), _dropped(e._attributes)) for e in _items(events)]
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
        _attrs(span.attributes),
        span.dropped_attributes,
        [(e.name, e.timestamp, _attrs(e.attributes), e.dropped_attributes) for e in events] if events else None,
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


def _span_batch(
    spans: Sequence[ReadableSpan],
    place: Callable[[Any], tuple[Any, Any]],
    encode: Callable[[Any], tuple[Any, ...]],
) -> tuple[int, list[Any]]:
    """The batch: spans grouped by resource and scope (``place``), each encoded by ``encode``."""
    groups: dict[int, tuple[Any, dict[int, tuple[Any, list[Any]]]]] = {}
    last_resource: Any = None
    last_scope: Any = None
    current: list[Any] = []
    for span in spans:
        resource, scope = place(span)
        if resource is not last_resource or scope is not last_scope:
            group = groups.get(id(resource))
            if group is None:
                group = groups[id(resource)] = (resource, {})
            scope_group = group[1].get(id(scope))
            if scope_group is None:
                scope_group = group[1][id(scope)] = (scope, [])
            current = scope_group[1]
            last_resource, last_scope = resource, scope
        current.append(encode(span))
    return (
        BATCH_FORMAT_VERSION,
        [
            _resource_group(resource, [_scope_group(scope, items) for scope, items in scopes.values()])
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
        batch = _span_batch(spans, _private_place, _span)
    except AttributeError as missing:
        _warn_public(missing)
        batch = _span_batch(spans, _public_place, _public_span)
    return dumps(batch)


def _id(value: int | None, size: int) -> bytes | None:
    return None if value is None else value.to_bytes(size, "big")


def _exemplars(exemplars: Sequence[Any] | None) -> list[tuple[Any, ...]] | None:
    if not exemplars:
        return None
    # The span's IDs only when it has both, as the SDK's OTLP encoder does (an exemplar without a
    # span stores '' for both, BATCH_FORMAT.md).
    return [
        (
            dict(e.filtered_attributes or {}),
            e.time_unix_nano,
            e.value,
            *(
                (_id(e.span_id, 8), _id(e.trace_id, 16))
                if e.span_id is not None and e.trace_id is not None
                else (None, None)
            ),
        )
        for e in exemplars
    ]


def _buckets(buckets: Any) -> tuple[int, list[int]] | None:
    return None if buckets is None else (buckets.offset, list(buckets.bucket_counts))


def _metric(metric: Any) -> tuple[Any, ...]:
    data = metric.data
    points: list[tuple[Any, ...]]
    if isinstance(data, (Gauge, Sum)):
        points = [
            (
                dict(p.attributes or {}),
                p.start_time_unix_nano or 0,
                p.time_unix_nano,
                p.value,
                _exemplars(p.exemplars),
                0,
            )
            for p in data.data_points
        ]
        if isinstance(data, Sum):
            return (
                metric.name,
                metric.description or "",
                metric.unit or "",
                "sum",
                data.aggregation_temporality.value,
                data.is_monotonic,
                points,
            )
        return (metric.name, metric.description or "", metric.unit or "", "gauge", 0, False, points)
    if isinstance(data, Histogram):
        points = [
            (
                dict(p.attributes or {}),
                p.start_time_unix_nano,
                p.time_unix_nano,
                p.count,
                float(p.sum),
                list(p.bucket_counts),
                [float(b) for b in p.explicit_bounds],
                None if p.min is None else float(p.min),
                None if p.max is None else float(p.max),
                _exemplars(p.exemplars),
                0,
            )
            for p in data.data_points
        ]
        kind = "histogram"
    elif isinstance(data, ExponentialHistogram):
        points = [
            (
                dict(p.attributes or {}),
                p.start_time_unix_nano,
                p.time_unix_nano,
                p.count,
                float(p.sum),
                p.scale,
                p.zero_count,
                0.0,
                _buckets(p.positive),
                _buckets(p.negative),
                None if p.min is None else float(p.min),
                None if p.max is None else float(p.max),
                _exemplars(p.exemplars),
                p.flags,
            )
            for p in data.data_points
        ]
        kind = "exponential_histogram"
    else:
        raise TypeError(f"unsupported metric data {type(data).__name__} in metric {metric.name!r}")
    return (
        metric.name,
        metric.description or "",
        metric.unit or "",
        kind,
        data.aggregation_temporality.value,
        False,
        points,
    )


def encode_metrics(metrics_data: MetricsData) -> bytes:
    """Encodes the SDK's ``MetricsData`` as one batch."""
    batch = [
        (
            _attrs(_resource_attributes(rm.resource)) or {},
            rm.schema_url or rm.resource.schema_url or None,
            _dropped(_resource_attributes(rm.resource)),
            [
                (
                    *_scope_group(sm.scope, [])[:4],
                    [_metric(m) for m in sm.metrics],
                )
                for sm in rm.scope_metrics
            ],
        )
        for rm in metrics_data.resource_metrics
    ]
    return dumps((BATCH_FORMAT_VERSION, batch))
