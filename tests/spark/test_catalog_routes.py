"""The catalog's two routes agree (issue 18): a table read from the metastore's thrift
API (and a Delta table's log) is the table Spark's DESCRIBE and SHOW TBLPROPERTIES
give, for every kind a crawl or a job makes. The CLI reads the first (no JVM), jobs
the second."""

from __future__ import annotations

import dataclasses
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


def test_tables_written_through_the_metastore_read_back_as_spark_wrote_them(
    catalog: HiveCatalog, spark: Any, local_settings: Settings, tmp_path: Path
) -> None:
    """A crawl in the local CLI writes through the metastore's API (no JVM): Spark
    reads each kind back exactly as the one its own SQL created, data included."""
    folder = tmp_path / "files"
    for day, rows in (("2026-01-01", "1;a;1.50;2026-01-01 10:00:00;2026-01-01\n"),
                      ("a b/c=d%e", "2;b;2.25;2026-01-02 11:00:00;2026-01-02\n")):  # fmt: skip
        part = folder / ("odd" if "/" in day else f"dt={day}")
        part.mkdir(parents=True)
        (part / "part.csv").write_text("id;name;amount;seen;day\n" + rows)
    thrift = open_catalog(local_settings)
    assert thrift.writer is not None
    written = "routes_written"
    thrift.create_database(written)
    assert thrift.has_database(written)
    tables = [
        t if t.partition_keys else dataclasses.replace(t, location=f"file:{tmp_path}/{t.name}")
        for t in _tables(f"file:{folder}")
    ]
    spark.sql(f"CREATE TABLE {DATABASE}.delta_src (id BIGINT, dt STRING) USING DELTA "
              f"PARTITIONED BY (dt) LOCATION 'file:{tmp_path}/delta'")  # fmt: skip
    spark.sql(f"INSERT INTO {DATABASE}.delta_src VALUES (1, 'x'), (2, 'y')")
    delta = Table(written, "delta_t", (), f"file:{tmp_path}/delta", "delta")
    partitions = [
        Partition(("2026-01-01",), f"file:{folder}/dt=2026-01-01"),
        Partition(("a b/c=d%e",), f"file:{folder}/odd"),
    ]
    reference = "routes_by_sql"
    catalog.create_database(reference)
    for table in tables:
        by_sql = dataclasses.replace(table, database=reference)
        catalog.create_table(by_sql)
        if table.partition_keys:
            catalog.add_partitions(by_sql, partitions)
    for table in [*tables, delta]:
        mine = dataclasses.replace(table, database=written)
        thrift.create_table(mine)
        if table.partition_keys:
            thrift.add_partitions(mine, partitions)
            thrift.add_partitions(mine, partitions[:1])  # again: already there, kept once
    thrift.create_table(delta)  # a Delta registration is idempotent (IF NOT EXISTS)
    thrift.set_properties(written, "csv_t", {"mine": "kept"})
    assert thrift.runner._runner is None  # type: ignore[attr-defined]  # no Spark session

    def timeless(found: Table) -> Table:  # a Hive table shows its creation second
        kept = {k: v for k, v in found.parameters.items() if k != "transient_lastDdlTime"}
        return dataclasses.replace(found, parameters=kept)

    for table in tables:
        expected = dataclasses.replace(catalog.get_table(reference, table.name), database=written)
        if table.name == "csv_t":
            expected = dataclasses.replace(
                expected, parameters={**expected.parameters, "mine": "kept"}
            )
        assert timeless(catalog.get_table(written, table.name)) == timeless(expected), table.name
        assert sorted(catalog.partitions(expected)) == sorted(
            catalog.partitions(catalog.get_table(reference, table.name))
        )
    by_spark = spark.sql(f"SELECT * FROM {reference}.csv_t ORDER BY id").collect()
    by_thrift = spark.sql(f"SELECT * FROM {written}.csv_t ORDER BY id").collect()
    assert by_thrift == by_spark and len(by_thrift) == 2
    assert [r.dt for r in by_thrift] == ["2026-01-01", "a b/c=d%e"]
    landed = catalog.get_table(written, "delta_t")
    assert [c.name for c in landed.columns] == ["id"] and landed.partition_keys[0].name == "dt"
    assert spark.sql(f"SELECT count(*) FROM {written}.delta_t").first()[0] == 2

    # swapped in under the staging name, renamed through the API
    changed = dataclasses.replace(tables[1], database=written, columns=(Column("id", "string"),))
    thrift.stage_table(changed)
    thrift.swap_from_staging(changed, frozenset({"classification"}))
    assert [c.type for c in catalog.get_table(written, "parquet_t").columns] == ["string"]
    assert "parquet_t__staging" not in " ".join(thrift.table_names(written))
    thrift.drop_table(written, "json_t")
    thrift.drop_table(written, "json_t")  # gone already: nothing to do
    assert "json_t" not in thrift.table_names(written)
    assert folder.joinpath("dt=2026-01-01", "part.csv").is_file()  # files never touched
