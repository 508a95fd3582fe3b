"""The one Arrow -> catalog type map (engine.lake.types), pure."""

from __future__ import annotations

import pyarrow as pa

from engine.lake.types import catalog_type


def test_nested_and_dictionary_types_are_named_the_way_spark_names_them() -> None:
    nested = pa.struct([("a", pa.list_(pa.int16())), ("b", pa.map_(pa.string(), pa.uint32()))])
    assert catalog_type(nested) == "struct<a:array<smallint>,b:map<string,bigint>>"
    assert catalog_type(pa.dictionary(pa.int8(), pa.string())) == "string"
    assert catalog_type(pa.large_list(pa.decimal128(20, 4))) == "array<decimal(20,4)>"


def test_timestamps_follow_the_reader() -> None:
    assert catalog_type(pa.timestamp("us", "Europe/Paris")) == "timestamp"
    assert catalog_type(pa.timestamp("ms")) == "timestamp_ntz"
    assert catalog_type(pa.timestamp("ms"), naive_timestamp="timestamp") == "timestamp"


def test_a_type_without_an_equivalent_is_none_even_inside_a_struct() -> None:
    assert catalog_type(pa.duration("s")) is None
    assert catalog_type(pa.struct([("d", pa.duration("s"))])) is None
