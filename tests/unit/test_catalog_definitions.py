"""The definition sent to the metastore for an in-place table change (pure)."""

from __future__ import annotations

from pymetastore.hive_metastore.ttypes import FieldSchema, StorageDescriptor, Table

from catalog.definitions import is_staging, merged_definition, same_partition_keys, staging_name


def _raw(name: str, parameters: dict[str, str], keys: list[str], location: str) -> Table:
    return Table(
        tableName=name,
        dbName="landing",
        owner="ann" if "staging" not in name else "spark",
        createTime=100 if "staging" not in name else 200,
        sd=StorageDescriptor(cols=[FieldSchema("col", "array<string>")], location=location),
        partitionKeys=[FieldSchema(k, "string") for k in keys],
        parameters=parameters,
    )


def test_the_staged_definition_takes_the_tables_identity_and_users_properties() -> None:
    current = _raw(
        "orders",
        {
            "spark.sql.sources.schema": '{"old": 1}',
            "transient_lastDdlTime": "1",
            "classification": "csv",
            "delimiter": ";",  # the crawler's, gone from the new definition
            "team": "ml",  # a user's
            "comment": "orders from the shop",  # a user's table comment
        },
        ["day"],
        "s3a://landing/orders",
    )
    staged = _raw(
        staging_name("orders"),
        {"spark.sql.sources.schema": '{"new": 1}', "classification": "json", "EXTERNAL": "TRUE"},
        ["day"],
        "s3a://landing/orders",
    )
    merged = merged_definition(current, staged, frozenset({"classification", "delimiter"}))
    assert (merged.tableName, merged.dbName, merged.owner, merged.createTime) == (
        "orders",
        "landing",
        "ann",
        100,
    )
    assert merged.parameters == {
        "spark.sql.sources.schema": '{"new": 1}',
        "classification": "json",
        "EXTERNAL": "TRUE",
        "team": "ml",
        "comment": "orders from the shop",
    }
    assert staged.tableName == staging_name("orders")  # the staged object is not changed
    assert same_partition_keys(current, staged)
    assert not same_partition_keys(current, _raw("x", {}, ["region"], ""))
    assert is_staging(staging_name("Orders").upper()) and not is_staging("orders")
