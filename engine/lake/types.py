"""The one map from Arrow types to the catalog's (Hive/Spark SQL) type names. Pure.

Used by the crawler for Parquet and ORC footers and by python jobs checking a batch
against the Delta table it lands in. A timestamp with a time zone is ``timestamp``.
One without is what the reader makes of it, which the caller says
(``naive_timestamp``): Spark reads a Parquet ``TIMESTAMP(isAdjustedToUTC=false)``
and a Delta ``timestamp_ntz`` column as ``timestamp_ntz``, but a Parquet INT96 or an
ORC ``timestamp`` as ``timestamp``.
"""

from __future__ import annotations

import pyarrow as pa

INTEGERS = {8: "tinyint", 16: "smallint", 32: "int", 64: "bigint"}
# unsigned values need the next wider signed type (uint64 does not fit: bigint anyway)
UNSIGNED = {8: "smallint", 16: "int", 32: "bigint", 64: "bigint"}


def catalog_type(
    data_type: pa.DataType, naive_timestamp: str = "timestamp_ntz", parquet: bool = False
) -> str | None:
    """The catalog's name for ``data_type``; None when it has none (a union, a
    duration …): the caller names the column and what to do.

    ``parquet``: the type Spark reads a Parquet file's column as, which differs for
    three: an unsigned 64-bit integer is ``decimal(20,0)``, a column of nulls only
    (``UNKNOWN``, stored as INT32) is ``int``, and FLOAT16 has none (Spark 4 cannot
    read it)."""
    t = pa.types

    def inner(child: pa.DataType) -> str | None:
        return catalog_type(child, naive_timestamp, parquet)

    if t.is_boolean(data_type):
        return "boolean"
    if t.is_signed_integer(data_type):
        return INTEGERS[data_type.bit_width]
    if t.is_unsigned_integer(data_type):
        if parquet and data_type.bit_width == 64:
            return "decimal(20,0)"
        return UNSIGNED[data_type.bit_width]
    if t.is_float16(data_type):
        return None if parquet else "float"
    if t.is_float32(data_type):
        return "float"
    if t.is_float64(data_type):
        return "double"
    if t.is_decimal(data_type):
        return f"decimal({data_type.precision},{data_type.scale})"
    if t.is_null(data_type):
        return "int" if parquet else "string"
    if t.is_string(data_type) or t.is_large_string(data_type):
        return "string"
    if t.is_binary(data_type) or t.is_large_binary(data_type) or t.is_fixed_size_binary(data_type):
        return "binary"
    if t.is_date(data_type):
        return "date"
    if t.is_timestamp(data_type):
        return "timestamp" if data_type.tz else naive_timestamp
    if t.is_dictionary(data_type):
        return inner(data_type.value_type)
    if t.is_list(data_type) or t.is_large_list(data_type) or t.is_fixed_size_list(data_type):
        element = inner(data_type.value_type)
        return None if element is None else f"array<{element}>"
    if t.is_map(data_type):
        key, item = inner(data_type.key_type), inner(data_type.item_type)
        return None if key is None or item is None else f"map<{key},{item}>"
    if t.is_struct(data_type):
        fields = [(f.name, inner(f.type)) for f in data_type]
        if any(kind is None for _, kind in fields):
            return None
        return "struct<" + ",".join(f"{name}:{kind}" for name, kind in fields) + ">"
    return None
