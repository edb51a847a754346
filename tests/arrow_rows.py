"""Helpers the cross-language tests share for reading stored rows with pyarrow."""

from __future__ import annotations

import pyarrow as pa


def int_times(t: pa.DataType) -> pa.DataType:
    """``t`` with every timestamp replaced by int64 (nanoseconds), in lists and structs too."""
    if pa.types.is_timestamp(t):
        return pa.int64()
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(int_times(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct([t.field(i).with_type(int_times(t.field(i).type)) for i in range(t.num_fields)])
    return t
