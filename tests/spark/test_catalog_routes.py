"""The catalog's two routes agree (issue 18): a table read from the metastore's thrift
API (and a Delta table's log) is the table Spark's DESCRIBE and SHOW TBLPROPERTIES
give, for every kind a crawl or a job makes. The CLI reads the first (no JVM), jobs
the second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog.errors import TableNotFoundError
from catalog.hive import HiveCatalog
from catalog.model import Column, Partition, Table
from engine.catalogs import open_catalog
from engine.config import Settings

DATABASE = "routes"


def _tables(folder: str) -> list[Table]:
    flat = (
        Column("id", "bigint", "the key"),
        Column("name", "string"),
        Column("amount", "decimal(10,2)"),
        Column("seen", "timestamp"),
        Column("day", "date"),
    )
    nested = (Column("id", "bigint"), Column("s", "struct<a:int,B:array<string>>"))
    key = (Column("dt", "string"),)
    return [
        Table(DATABASE, "csv_t", flat, folder, "csv", key, {"classification": "csv"},
              {"header": "true", "sep": ";"}),
        Table(DATABASE, "parquet_t", nested, folder, "parquet", (), {"classification": "parquet"}),
        Table(DATABASE, "json_t", nested, folder, "json", key, {"classification": "json"}),
        Table(DATABASE, "regex_t", flat[:2], folder, "regex", key, {"classification": "log"},
              {"input.regex": "(\\d+) (.*)"}),
    ]  # fmt: skip


def test_the_metastore_route_describes_every_kind_as_spark_does(
    catalog: HiveCatalog, spark: Any, local_settings: Settings, tmp_path: Path
) -> None:
    folder = f"file:{tmp_path}/files"
    catalog.create_database(DATABASE)
    for table in _tables(folder):
        catalog.drop_table(DATABASE, table.name)
        catalog.create_table(table)
        if table.partition_keys:
            catalog.add_partitions(
                table,
                [
                    Partition(("2026-01-01",), f"{folder}/dt=2026-01-01"),
                    Partition(("a b/c=d%e",), f"{folder}/odd"),  # escaped in its name
                ],
            )
    delta = f"file:{tmp_path}/delta"
    spark.sql(
        f"CREATE TABLE {DATABASE}.delta_t (id BIGINT COMMENT 'k', v STRING, dt STRING) "
        f"USING DELTA PARTITIONED BY (dt) LOCATION '{delta}/t'"
    )
    spark.sql(f"INSERT INTO {DATABASE}.delta_t VALUES (1, 'a', 'x')")
    spark.sql(f"ALTER TABLE {DATABASE}.delta_t SET TBLPROPERTIES ('delta.appendOnly' = 'true')")
    spark.sql(
        f"CREATE TABLE {DATABASE}.delta_features (id BIGINT) USING DELTA LOCATION '{delta}/f' "
        "TBLPROPERTIES ('delta.enableDeletionVectors' = 'true', "
        "'delta.columnMapping.mode' = 'name', 'delta.minReaderVersion' = '3', "
        "'delta.minWriterVersion' = '7')"
    )
    spark.sql(f"CREATE OR REPLACE VIEW {DATABASE}.v_t AS SELECT * FROM {DATABASE}.parquet_t")

    thrift = open_catalog(local_settings)  # what the CLI opens: the metastore service's API
    assert thrift.metastore is not None and thrift.delta is not None
    names = [t.name for t in _tables(folder)] + ["delta_t", "delta_features", "v_t"]
    for name in names:
        by_sql = catalog.get_table(DATABASE, name)
        assert thrift.get_table(DATABASE, name) == by_sql, name
        if by_sql.format != "delta":  # (a Delta table's are in its log, read by Spark)
            assert catalog.partitions(by_sql) == thrift.partitions(by_sql), name
    features = thrift.get_table(DATABASE, "delta_features").parameters
    assert features["delta.feature.deletionVectors"] == "supported"
    assert thrift.get_table(DATABASE, "delta_t").parameters["delta.appendOnly"] == "true"
    assert ("a b/c=d%e",) in thrift.partitions(thrift.get_table(DATABASE, "csv_t"))
    assert catalog.partitions(catalog.get_table(DATABASE, "delta_t")) == [("x",)]
    with pytest.raises(TableNotFoundError, match=r"did you mean routes\.csv_t"):
        thrift.get_table(DATABASE, "csv_tt")
    assert thrift.runner._runner is None  # type: ignore[attr-defined]  # no Spark session
