"""Reading Spark's table definitions back from metastore thrift objects (pure)."""

from __future__ import annotations

import json

from pymetastore.hive_metastore.ttypes import FieldSchema, SerDeInfo, StorageDescriptor
from pymetastore.hive_metastore.ttypes import Table as ThriftTable

from catalog import ddl
from catalog.metastore import spark_type_name, to_table
from catalog.model import Column

PLACEHOLDER = [FieldSchema("col", "array<string>", "from deserializer")]
LAZY = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"


def _raw(
    name: str,
    parameters: dict[str, str],
    cols: list[FieldSchema],
    serde: str = LAZY,
    serde_parameters: dict[str, str] | None = None,
    location: str = "s3a://raw/_warehouse/x-__PLACEHOLDER__",
    keys: list[FieldSchema] | None = None,
    table_type: str = "EXTERNAL_TABLE",
) -> ThriftTable:
    sd = StorageDescriptor(
        cols=cols, location=location, serdeInfo=SerDeInfo(None, serde, serde_parameters or {})
    )
    return ThriftTable(
        tableName=name,
        dbName="landing",
        sd=sd,
        partitionKeys=keys or [],
        parameters=parameters,
        tableType=table_type,
    )


def _schema(*fields: tuple[str, object, dict[str, str]]) -> str:
    return json.dumps(
        {
            "type": "struct",
            "fields": [
                {"name": n, "type": t, "nullable": True, "metadata": m} for n, t, m in fields
            ],
        }
    )


def test_a_spark_data_source_table_is_read_from_its_properties() -> None:
    schema = _schema(
        ("order_id", "long", {"comment": "key"}),
        ("code", "string", {"__CHAR_VARCHAR_TYPE_STRING": "varchar(8)"}),
        ("dt", "string", {}),
    )
    raw = _raw(
        "sales",
        {
            "spark.sql.sources.provider": "csv",
            "spark.sql.sources.schema": schema,
            "spark.sql.sources.schema.numPartCols": "1",
            "spark.sql.sources.schema.partCol.0": "dt",
            "classification": "csv",
            "EXTERNAL": "TRUE",
            "transient_lastDdlTime": "1795886256",
            "totalSize": "5470",
        },
        PLACEHOLDER,
        serde_parameters={"path": "s3a://landing/sales", "sep": ","},
        keys=[FieldSchema("dt", "string", None)],
    )
    table = to_table(raw)
    assert table.qualified_name == "landing.sales"
    assert table.columns == (Column("order_id", "bigint", "key"), Column("code", "varchar(8)"))
    assert table.partition_keys == (Column("dt", "string"),)
    assert (table.format, table.location) == ("csv", "s3a://landing/sales")
    assert table.parameters == {"classification": "csv"}
    assert table.options == {"serde": LAZY}


def test_a_long_schema_split_into_parts_is_joined() -> None:
    schema = _schema(("a", "integer", {}), ("b", "double", {}))
    half = len(schema) // 2
    raw = _raw(
        "t",
        {
            "spark.sql.sources.provider": "parquet",
            "spark.sql.sources.schema.numParts": "2",
            "spark.sql.sources.schema.part.0": schema[:half],
            "spark.sql.sources.schema.part.1": schema[half:],
        },
        PLACEHOLDER,
    )
    assert to_table(raw).columns == (Column("a", "int"), Column("b", "double"))


def test_a_delta_table_has_no_columns_in_the_metastore() -> None:
    raw = _raw(
        "customers",
        {"spark.sql.sources.provider": "delta", "spark.sql.sources.schema": _schema()},
        PLACEHOLDER,
        serde_parameters={"path": "s3a://raw/customers"},
    )
    table = to_table(raw)
    assert (table.format, table.columns, table.location) == ("delta", (), "s3a://raw/customers")


def test_a_hive_table_uses_the_metastore_columns_and_its_serde() -> None:
    raw = _raw(
        "logs",
        {"classification": "apache_log", "transient_lastDdlTime": "1795886377"},
        [FieldSchema("host", "string", "from deserializer"), FieldSchema("size", "int", "bytes")],
        serde=ddl.REGEX_SERDE,
        location="s3a://landing/logs",
        keys=[FieldSchema("dt", "string", None)],
    )
    table = to_table(raw)
    assert table.columns == (Column("host", "string"), Column("size", "int", "bytes"))
    assert table.partition_keys == (Column("dt", "string"),)
    assert (table.format, table.location) == (ddl.REGEX, "s3a://landing/logs")
    # Spark shows a Hive table's DDL time (and drops it from data source tables)
    assert table.parameters == {
        "classification": "apache_log",
        "transient_lastDdlTime": "1795886377",
    }


def test_a_view_has_no_location_and_hides_its_view_properties() -> None:
    raw = _raw(
        "v",
        {
            "spark.sql.sources.schema": _schema(("id", "long", {})),
            "view.query.out.col.0": "id",
            "owner_note": "kept",
        },
        [FieldSchema("id", "bigint", None)],
        table_type="VIRTUAL_VIEW",
    )
    table = to_table(raw)
    assert (table.format, table.location) == (ddl.VIEW, "")
    assert table.parameters == {"owner_note": "kept"}


def test_nested_spark_types_are_named_as_describe_names_them() -> None:
    nested = {
        "type": "struct",
        "fields": [
            {"name": "a", "type": "short", "nullable": True, "metadata": {}},
            {
                "name": "b",
                "type": {"type": "array", "elementType": "long", "containsNull": True},
                "nullable": True,
                "metadata": {},
            },
        ],
    }
    mapped = {"type": "map", "keyType": "string", "valueType": nested, "valueContainsNull": True}
    assert spark_type_name(mapped) == "map<string,struct<a:smallint,b:array<bigint>>>"
    assert spark_type_name("decimal(10,2)") == "decimal(10,2)"
    assert spark_type_name("byte") == "tinyint"


def test_table_patterns_match_as_spark_and_the_metastore_match_them() -> None:
    from catalog.metastore_db import pattern_matcher

    matches = pattern_matcher("SAL*|orders")
    assert [n for n in ("sales", "sal", "presales", "orders", "orders_v2") if matches(n)] == [
        "sales",
        "sal",
        "orders",
    ]
    assert pattern_matcher("*")("anything")
