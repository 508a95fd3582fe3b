"""Hive type strings to Spark's JSON types, and the thrift tables built from them
(catalog/spark_tables.py; their read-back through Spark is tests/spark/test_catalog_routes.py)."""

from __future__ import annotations

import json

import pytest

from catalog.errors import CatalogError
from catalog.metastore import spark_type_name, to_table
from catalog.model import Column, Partition, Table
from catalog.spark_tables import (
    SCHEMA_PART_LENGTH,
    metastore_partitions,
    metastore_table,
    schema_properties,
    spark_type,
)


@pytest.mark.parametrize(
    "hive",
    [
        "bigint",
        "int",
        "smallint",
        "tinyint",
        "string",
        "double",
        "float",
        "boolean",
        "date",
        "timestamp",
        "timestamp_ntz",
        "binary",
        "decimal(10,2)",
        "array<string>",
        "map<string,array<bigint>>",
        "struct<a:int,B:array<struct<c:decimal(38,18),d:map<string,double>>>>",
    ],
)
def test_a_hive_type_reads_back_as_itself(hive: str) -> None:
    assert spark_type_name(spark_type(hive)) == hive


def test_spellings_spark_accepts_are_read_and_bad_ones_named() -> None:
    assert spark_type("DECIMAL( 12 , 3 )") == "decimal(12,3)"
    assert spark_type("decimal") == "decimal(10,0)"
    assert spark_type("struct<`a b`:int,`x``y`:string>")["fields"][0]["name"] == "a b"
    assert spark_type("struct<`a b`:int,`x``y`:string>")["fields"][1]["name"] == "x`y"
    assert spark_type("varchar(10)") == "string"
    for bad in ("array<int", "struct<a int>", "uuid", "map<string>", "int int"):
        with pytest.raises(CatalogError, match="cannot read the column type"):
            spark_type(bad)


def _table(**changes: object) -> Table:
    values: dict[str, object] = {
        "database": "db",
        "name": "t",
        "columns": (Column("id", "bigint", "the key"), Column("v", "varchar(5)")),
        "location": "s3a://landing/t",
        "format": "csv",
        "partition_keys": (Column("dt", "string"),),
        "parameters": {"classification": "csv"},
        "options": {"header": "true"},
    }
    values.update(changes)
    return Table(**values)  # type: ignore[arg-type]


def test_the_thrift_table_reads_back_as_the_table() -> None:
    table = _table()
    raw = metastore_table(table, "me")
    assert raw.sd.serdeInfo.parameters["path"] == table.location
    assert raw.parameters["spark.sql.partitionProvider"] == "catalog"
    back = to_table(raw)
    assert back.columns == table.columns and back.partition_keys == table.partition_keys
    assert (back.location, back.format) == (table.location, "csv")
    assert back.parameters == {"classification": "csv"}
    fields = json.loads(raw.parameters["spark.sql.sources.schema"])["fields"]
    assert [f["name"] for f in fields] == ["id", "v", "dt"]  # partition columns last
    assert fields[1]["metadata"] == {"__CHAR_VARCHAR_TYPE_STRING": "varchar(5)"}
    (part,) = metastore_partitions(raw, [Partition(("x",), "s3a://landing/t/dt=x")])
    assert part.values == ["x"] and part.sd.location == "s3a://landing/t/dt=x"
    assert raw.sd.location == table.location  # the partition's storage is a copy


def test_delta_regex_and_long_schemas_take_spark_forms() -> None:
    delta = metastore_table(_table(format="delta", columns=(), partition_keys=()), "me")
    assert json.loads(delta.parameters["spark.sql.sources.schema"]) == {
        "type": "struct",
        "fields": [],
    }
    assert delta.parameters["spark.sql.sources.provider"] == "delta" and not delta.partitionKeys
    regex = metastore_table(_table(format="regex", options={"input.regex": "(a)"}), "me")
    assert "spark.sql.sources.provider" not in regex.parameters
    assert [c.name for c in regex.sd.cols] == ["id", "v"]
    assert regex.sd.serdeInfo.parameters == {"input.regex": "(a)", "serialization.format": "1"}
    wide = _table(columns=tuple(Column(f"column_{i:04d}", "string") for i in range(200)))
    found = schema_properties(wide)
    parts = int(found["spark.sql.sources.schema.numParts"])
    text = "".join(found[f"spark.sql.sources.schema.part.{i}"] for i in range(parts))
    assert parts > 1 and all(
        len(found[f"spark.sql.sources.schema.part.{i}"]) <= SCHEMA_PART_LENGTH for i in range(parts)
    )
    assert to_table(metastore_table(wide, "me")).columns == wide.columns
    assert len(json.loads(text)["fields"]) == 201
    with pytest.raises(CatalogError, match=r"table db\.t, column id: cannot read .*'uuid'"):
        metastore_table(_table(columns=(Column("id", "uuid"),)), "me")
    with pytest.raises(CatalogError, match="a view is created through SQL"):
        metastore_table(_table(format="view"), "me")
