"""Avro, ORC and Parquet written by Spark, crawled, and read back through the catalog."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.hive import HiveCatalog
from engine.config import Settings
from engine.crawl.crawler import CrawlTarget, crawl

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
