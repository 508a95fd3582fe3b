"""Avro, ORC, Parquet, XML and Delta written by Spark, crawled, read back via the catalog."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from catalog.hive import HiveCatalog
from engine.config import Settings
from engine.crawl.crawler import CrawlTarget, crawl
from engine.state.store import RunStore

ROWS = [(1, "a", 2.5), (2, "b", 3.5), (3, None, 4.5)]


@pytest.mark.parametrize("fmt", ["avro", "orc", "parquet"])
def test_columnar_files_become_readable_tables(
    fmt: str, spark: Any, local_settings: Settings, catalog: HiveCatalog
) -> None:
    location = f"{local_settings.bucket_uri('columnar')}/{fmt}/{fmt}_data"
    df = spark.createDataFrame(ROWS, "id bigint, name string, score double")
    df.coalesce(1).write.mode("overwrite").format(fmt).save(location)

    result = crawl(local_settings, catalog, CrawlTarget("columnar", fmt, f"col_{fmt}"))
    (change,) = result.plan.changes
    assert (change.action, change.table.format) == ("create", fmt)
    assert [(c.name, c.type) for c in change.table.columns] == [
        ("id", "bigint"),
        ("name", "string"),
        ("score", "double"),
    ]
    rows = spark.sql(f"SELECT id, name, score FROM col_{fmt}.{change.table.name}").collect()
    assert sorted(tuple(r) for r in rows) == sorted(ROWS)


def test_xml_files_become_a_table_spark_reads_with_the_inferred_row_tag(
    local_settings: Settings, catalog: HiveCatalog, spark: Any
) -> None:
    folder = local_settings.lake_path / "xmlland" / "feeds" / "orders"
    folder.mkdir(parents=True)
    (folder / "a.xml").write_text(
        '<?xml version="1.0"?>\n<orders>\n'
        '  <order id="1"><item sku="a">3</item><item sku="b">4</item><total>1.5</total></order>\n'
        '  <order id="2"><item sku="c">5</item><total>2</total></order>\n</orders>\n'
    )
    result = crawl(local_settings, catalog, CrawlTarget("xmlland", "feeds", "xml_db"))
    (change,) = result.plan.changes
    assert (change.table.format, change.table.options["rowTag"]) == ("xml", "order")
    rows = spark.sql("SELECT _id, size(item) AS n, total FROM xml_db.orders ORDER BY _id").collect()
    assert [tuple(r) for r in rows] == [(1, 2, 1.5), (2, 1, 2.0)]


def test_a_delta_table_is_registered_from_its_log_and_a_recrawl_leaves_it_alone(
    local_settings: Settings, catalog: HiveCatalog, spark: Any, tmp_path: Path
) -> None:
    location = f"{local_settings.bucket_uri('deltaland')}/landed/events"
    df = spark.createDataFrame(
        [(1, "a", "2024-01-01"), (2, "b", "2024-01-02")], "id bigint, name string, day string"
    )
    df.write.format("delta").partitionBy("day").save(location)
    target = CrawlTarget("deltaland", "landed", "delta_db")
    state = RunStore(sqlite3.connect(tmp_path / "state.db"), "?")

    first = crawl(local_settings, catalog, target, state=state)
    (change,) = first.plan.changes
    assert (change.action, change.table.name, change.table.format) == ("create", "events", "delta")
    assert [k.name for k in change.table.partition_keys] == ["day"]
    assert spark.sql("SELECT count(*) FROM delta_db.events").collect()[0][0] == 2

    again = crawl(local_settings, catalog, target, state=state)
    assert [c.action for c in again.plan.changes] == ["unchanged"]

    df.withColumn("score", df.id * 1.5).write.format("delta").mode("append").option(
        "mergeSchema", "true"
    ).save(location)
    # the metastore entry needs no change (Delta reads its log), the history does
    changed = crawl(local_settings, catalog, target, state=state)
    assert [c.action for c in changed.plan.changes] == ["unchanged"]
    assert [c.name for c in catalog.get_table("delta_db", "events").columns] == [
        "id",
        "name",
        "score",
    ]
    versions = state.table_versions("delta_db", "events")
    assert [[c.name for c in v.definition.columns] for v in versions] == [
        ["id", "name"],
        ["id", "name", "score"],
    ]


def test_csv_with_non_iso_dates_padding_and_wide_decimals_reads_as_typed(
    local_settings: Settings, catalog: HiveCatalog, spark: Any
) -> None:
    folder = local_settings.lake_path / "csvland" / "ledger"
    folder.mkdir(parents=True)
    (folder / "l.csv").write_text(
        "id,booked,at,amount\n"
        " 1,31.01.2026,2026/01/31 10:15:00,12345678901234567.25\n"
        " 2,1.2.2026,2026/2/1 09:05:30,-0.50\n"
    )
    result = crawl(local_settings, catalog, CrawlTarget("csvland", "", "csv_db"))
    (change,) = result.plan.changes
    assert [(c.name, c.type) for c in change.table.columns] == [
        ("id", "bigint"),
        ("booked", "date"),
        ("at", "timestamp"),
        ("amount", "decimal(19,2)"),
    ]
    rows = spark.sql(
        "SELECT id, CAST(booked AS STRING), CAST(at AS STRING), CAST(amount AS STRING) "
        f"FROM csv_db.{change.table.name} ORDER BY id"
    ).collect()
    assert [tuple(r) for r in rows] == [
        (1, "2026-01-31", "2026-01-31 10:15:00", "12345678901234567.25"),
        (2, "2026-02-01", "2026-02-01 09:05:30", "-0.50"),
    ]


def test_spark_reads_parquet_and_avro_with_the_types_the_crawler_declares(
    spark: Any, local_settings: Settings, catalog: HiveCatalog
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = local_settings.lake_path / "typed" / "pq" / "odd"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "id": [1, 2],
                "nulls": pa.array([None, None], pa.null()),
                "null_list": pa.array([[None], []], pa.list_(pa.null())),
                "nested": pa.array([{"u": 2**64 - 1}, {"u": 1}], pa.struct([("u", pa.uint64())])),
            }
        ),
        folder / "part-0.parquet",
    )
    location = f"{local_settings.bucket_uri('typed')}/av/local"
    spark.sql("SELECT 1 AS id, TIMESTAMP_NTZ'2026-01-02 03:04:05' AS at").write.format("avro").save(
        location
    )
    changes = [
        *crawl(local_settings, catalog, CrawlTarget("typed", "pq/", "typed_db")).plan.changes,
        *crawl(local_settings, catalog, CrawlTarget("typed", "av/", "typed_db")).plan.changes,
    ]
    declared = {c.table.name: [(k.name, k.type) for k in c.table.columns] for c in changes}
    assert declared["odd"] == [
        ("id", "bigint"),
        ("nulls", "int"),
        ("null_list", "array<int>"),
        ("nested", "struct<u:decimal(20,0)>"),
    ]
    assert declared["local"] == [("id", "int"), ("at", "timestamp_ntz")]
    odd = spark.sql("SELECT id, nulls, null_list, nested.u FROM typed_db.odd ORDER BY id")
    assert [tuple(r) for r in odd.collect()] == [
        (1, None, [None], 18446744073709551615),
        (2, None, [], 1),
    ]
    (row,) = spark.sql("SELECT CAST(at AS STRING) FROM typed_db.local").collect()
    assert row[0] == "2026-01-02 03:04:05"
