"""The hand-built batches the round-trip tests store: every field and attribute type of the span
layout, every body type and field of the log record layout, every metric kind with int and float
values, unset optional fields and exemplars."""

from __future__ import annotations

import math
from typing import Any

from bindings_helpers import (
    T0,
    event,
    exemplar,
    exp_histogram_point,
    histogram_point,
    link,
    log_record,
    metric,
    number_point,
    resource_group,
    scope_group,
    span,
)

TRACE_ID = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
SPAN_ID = bytes.fromhex("b7ad6b7169203331")
PARENT_ID = bytes.fromhex("00f067aa0ba902b7")
LINK_TRACE = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")
LINK_SPAN = bytes.fromhex("53995c3f42cd8ad8")

# Every attribute type of the batch format, in insertion order, with the rendering the
# ClickHouse exporter would store and the type column's value.
ATTRIBUTES: list[tuple[str, Any, str, str]] = [
    ("str", "hello <b>", "hello <b>", "string"),
    ("empty.str", "", "", "string"),
    ("bool.true", True, "true", "bool"),
    ("bool.false", False, "false", "bool"),
    ("int", -42, "-42", "int"),
    ("int.max", 2**63 - 1, "9223372036854775807", "int"),
    ("int.min", -(2**63), "-9223372036854775808", "int"),
    ("float", 1.5, "1.5", "double"),
    ("float.int", 2.0, "2", "double"),
    ("float.big", 1e21, "1e+21", "double"),
    ("float.small", 1.5e-7, "1.5e-7", "double"),
    ("nan", math.nan, "NaN", "double"),
    ("inf", math.inf, "+Inf", "double"),
    ("-inf", -math.inf, "-Inf", "double"),
    ("bytes", b"\x00\x01\xfe\xff", "AAH+/w==", "bytes"),
    (
        "list.str",
        ["a", "<b>"],
        '["a","\\u003cb\\u003e"]',
        '{"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":"<b>"}]}}',
    ),
    ("list.int", [1, -2], "[1,-2]", '{"arrayValue":{"values":[{"intValue":"1"},{"intValue":"-2"}]}}'),
    ("list.float", [0.5, 2.0], "[0.5,2]", '{"arrayValue":{"values":[{"doubleValue":0.5},{"doubleValue":2.0}]}}'),
    ("list.bool", (True, False), "[true,false]", '{"arrayValue":{"values":[{"boolValue":true},{"boolValue":false}]}}'),
    ("list.empty", [], "[]", '{"arrayValue":{"values":[]}}'),
    (
        "list.mixed",
        [1, "x", None, b"\x01", math.nan],
        '[1,"x",null,"AQ==","NaN"]',
        '{"arrayValue":{"values":[{"intValue":"1"},{"stringValue":"x"},{},{"bytesValue":"AQ=="},{"doubleValue":"NaN"}]}}',
    ),
    ("none", None, "", "empty"),
]


def span_batch() -> list[tuple[Any, ...]]:
    server = span(
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        parent_span_id=PARENT_ID,
        parent_is_remote=True,
        trace_flags=1,
        trace_state="vendor=opaque,other=2",
        name="GET /checkout",
        kind=2,
        start=T0,
        end=T0 + 1_234_567,
        attributes={key: value for key, value, _, _ in ATTRIBUTES},
        dropped_attributes=3,
        events=[
            event("request.received", T0 + 10, {"size": 512, "ok": True}, 1),
            event("exception", T0 + 20, None, 0),
        ],
        dropped_events=4,
        links=[
            link(LINK_TRACE, LINK_SPAN, trace_flags=1, is_remote=True, trace_state="k=v", attributes={"why": "retry"}),
            link(LINK_TRACE, SPAN_ID, trace_flags=0, is_remote=False, dropped_attributes=2),
        ],
        dropped_links=5,
        status_code=2,
        status_description="card declined",
    )
    child = span(
        trace_id=TRACE_ID,
        span_id=bytes.fromhex("1111111111111111"),
        parent_span_id=SPAN_ID,
        parent_is_remote=False,
        trace_flags=0,
        name="SELECT orders",
        kind=3,
        start=T0 + 100,
        end=T0 + 200,
        status_code=1,
        status_description="ignored unless the status is Error",
    )
    root = span(
        trace_id=TRACE_ID,
        span_id=bytes.fromhex("2222222222222222"),
        name="internal work",
        kind=1,
        start=T0 + 300,
        end=T0 + 300,
    )
    producer = span(span_id=bytes.fromhex("3333333333333333"), name="publish", kind=4, start=T0 + 400, end=T0 + 500)
    consumer = span(span_id=bytes.fromhex("4444444444444444"), name="consume", kind=5, start=T0 + 600, end=T0 + 700)
    unspecified = span(span_id=bytes.fromhex("5555555555555555"), name="unspecified", kind=0, start=T0 + 800)
    return [
        resource_group(
            [
                scope_group(
                    [server, child, root],
                    name="checkout.scope",
                    version="2.1.0",
                    schema_url="https://opentelemetry.io/schemas/1.21.0",
                    attributes={"scope.attr": "s", "scope.n": 7},
                ),
                scope_group([producer, consumer, unspecified], name="queue.scope", version=None),
            ],
            # Out of order on purpose: stored sorted by key.
            attributes={"service.version": "1.2.3", "service.name": "checkout", "host.cpus": 8, "deployment": "prod"},
            schema_url="https://opentelemetry.io/schemas/1.24.0",
            dropped_attributes=6,
        )
    ]


# Every body type of the log record layout, with the rendering the ClickHouse exporter stores in
# Body (the Collector's AsString: JSON with sorted keys for a map) and the BodyType entry.
BODIES: list[tuple[Any, str, str]] = [
    ("hello <b>", "hello <b>", "s"),
    ("", "", "s"),
    (-42, "-42", "i"),
    (2**63 - 1, "9223372036854775807", "i"),
    (1.5, "1.5", "d"),
    (math.nan, "NaN", "d"),
    (True, "true", "b"),
    (b"\x00\xff", "AP8=", "y"),
    ([1, "x", None], '[1,"x",null]', '{"arrayValue":{"values":[{"intValue":"1"},{"stringValue":"x"},{}]}}'),
    ([], "[]", '{"arrayValue":{"values":[]}}'),
    (
        {"z": "v", "n": None, "a": [1.5]},
        '{"a":[1.5],"n":null,"z":"v"}',
        '{"kvlistValue":{"values":[{"key":"z","value":{"stringValue":"v"}},{"key":"n","value":{}},'
        '{"key":"a","value":{"arrayValue":{"values":[{"doubleValue":1.5}]}}}]}}',
    ),
    ({}, "{}", '{"kvlistValue":{"values":[]}}'),
    (None, "", "u"),
]


def log_batch() -> list[tuple[Any, ...]]:
    """One record per body type (``body.<i>`` in its attributes), then a record inside a span with
    every attribute type, an event name and dropped attributes, and one without its own time."""
    records = [
        log_record(time=T0 + i, body=body, attributes={"body.index": i}, severity_number=1 + i)
        for i, (body, _, _) in enumerate(BODIES)
    ]
    in_span = log_record(
        time=T0 + 100,
        observed=T0 + 101,
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        flags=1,
        severity_text="WARN",
        severity_number=13,
        body="card declined",
        attributes={**{key: value for key, value, _, _ in ATTRIBUTES}, "map": {"k": [1, {"x": True}]}},
        dropped_attributes=2,
        event_name="payment.failed",
    )
    untimed = log_record(time=0, observed=T0 + 200, severity_text=None, severity_number=0, body="no time")
    return [
        resource_group(
            [
                scope_group(
                    [*records, in_span],
                    name="checkout.logger",
                    version="2.1.0",
                    schema_url="https://opentelemetry.io/schemas/1.21.0",
                    attributes={"scope.attr": "s"},
                ),
                scope_group([untimed], name="", version=None),
            ],
            attributes={"service.version": "1.2.3", "service.name": "checkout"},
            schema_url="https://opentelemetry.io/schemas/1.24.0",
            dropped_attributes=6,
        )
    ]


START = T0 - 60_000_000_000
DELTA, CUMULATIVE = 1, 2


def metrics() -> list[tuple[Any, ...]]:
    return [
        metric(
            "queue.depth",
            "gauge",
            [
                number_point(
                    7,
                    attributes={"queue": "a"},
                    start=0,
                    exemplars=[
                        exemplar(
                            3,
                            time=T0 - 5,
                            filtered_attributes={"user": "u1"},
                            span_id=SPAN_ID,
                            trace_id=TRACE_ID,
                        )
                    ],
                ),
                number_point(-1.25, attributes={"queue": "b"}, start=0, flags=1),
            ],
            description="items waiting",
            unit="{item}",
        ),
        metric(
            "requests",
            "sum",
            [number_point(10, attributes={"route": "/a"}, start=START, exemplars=[exemplar(2.5, time=T0 - 7)])],
            unit="1",
            temporality=DELTA,
            is_monotonic=True,
        ),
        metric(
            "bytes.total",
            "sum",
            [number_point(1_048_576.5, start=START)],
            unit="By",
            temporality=CUMULATIVE,
            is_monotonic=True,
        ),
        metric(
            "balance",
            "sum",
            [number_point(-3, start=START)],
            temporality=CUMULATIVE,
            is_monotonic=False,
        ),
        metric(
            "latency",
            "histogram",
            [
                histogram_point(
                    count=4,
                    sum=13.5,
                    bucket_counts=[1, 2, 1],
                    explicit_bounds=[1.0, 5.0],
                    min=0.5,
                    max=9.0,
                    attributes={"route": "/a"},
                    start=START,
                    exemplars=[exemplar(9, time=T0 - 1, span_id=SPAN_ID, trace_id=TRACE_ID)],
                ),
                histogram_point(
                    count=0,
                    sum=None,
                    bucket_counts=[],
                    explicit_bounds=[],
                    attributes={"route": "/b"},
                    start=START,
                ),
            ],
            unit="ms",
            temporality=CUMULATIVE,
        ),
        metric(
            "size",
            "exponential_histogram",
            [
                exp_histogram_point(
                    count=6,
                    sum=-2.25,
                    scale=3,
                    zero_count=1,
                    zero_threshold=0.001,
                    positive=(-2, [1, 0, 2]),
                    negative=(5, [2]),
                    min=-4.0,
                    max=8.5,
                    attributes={"kind": "full"},
                    start=START,
                    exemplars=[exemplar(1.75, time=T0 - 2)],
                ),
                exp_histogram_point(
                    count=0,
                    sum=None,
                    scale=-1,
                    zero_count=0,
                    zero_threshold=0.0,
                    positive=None,
                    negative=None,
                    attributes={"kind": "empty"},
                    start=START,
                ),
            ],
            unit="By",
            temporality=DELTA,
        ),
    ]
