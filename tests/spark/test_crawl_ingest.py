"""Crawl and ingest in-process on the local profile, checked against the source files."""

from __future__ import annotations

import json
from typing import Any

import pytest
from delta.tables import DeltaTable

from catalog.hive import HiveCatalog
from catalog.model import Column
from engine import storage
from engine.config import Settings
from engine.crawl.crawler import CrawlTarget, crawl
from engine.demo import DATA
from tests.helpers import demo_sales_rows
from tests.spark.jobs_helpers import run_ingest

SALES_COLUMNS = (
    Column("order_id", "bigint"),
    Column("customer_id", "bigint"),
    Column("product", "string"),
    Column("quantity", "bigint"),
    Column("unit_price", "double"),
    Column("ordered_at", "timestamp"),
)


@pytest.fixture(scope="module")
def landed(local_settings: Settings, catalog: HiveCatalog) -> storage.ObjectStore:
    store = storage.open_store(local_settings, "landing")
    storage.upload_tree(store, DATA, "")
    result = crawl(local_settings, catalog, CrawlTarget("landing", "", "landing"))
    assert {c.table.name: c.action for c in result.plan.changes} == {
        "sales": "create",
        "customers": "create",
    }
    return store


def test_crawled_csv_table_has_typed_columns_partitions_and_properties(
    landed: storage.ObjectStore, catalog: HiveCatalog, spark: Any
) -> None:
    table = catalog.get_table("landing", "sales")
    assert table.columns == SALES_COLUMNS
    assert table.partition_keys == (Column("dt", "string"),)
    assert table.parameters["classification"] == "csv"
    assert table.parameters["skip.header.line.count"] == "1"
    assert int(table.parameters["objectCount"]) == 3
    assert catalog.partitions(table) == [("2026-01-01",), ("2026-01-02",), ("2026-01-03",)]
    rows = spark.sql("SELECT order_id, product, dt FROM landing.sales").collect()
    expected = sorted((int(r["order_id"]), r["product"], r["dt"]) for r in demo_sales_rows())
    assert sorted((r.order_id, r.product, r.dt) for r in rows) == expected
    # partition pruning works through the metastore
    assert spark.sql("SELECT COUNT(*) FROM landing.sales WHERE dt = '2026-01-02'").first()[0] == 35


def test_crawled_parquet_table_reads_footer_schema(
    landed: storage.ObjectStore, catalog: HiveCatalog
) -> None:
    table = catalog.get_table("landing", "customers")
    assert table.format == "parquet"
    assert [(c.name, c.type) for c in table.columns] == [
        ("customer_id", "bigint"),
        ("name", "string"),
        ("country", "string"),
        ("signup_date", "date"),
        ("lifetime_value", "double"),
    ]
    assert table.parameters["recordCount"] == "20"  # exact, from the footer


def test_recrawl_changes_nothing_then_picks_up_a_new_partition(
    landed: storage.ObjectStore, local_settings: Settings, catalog: HiveCatalog
) -> None:
    target = CrawlTarget("landing", "", "landing")
    again = crawl(local_settings, catalog, target)
    assert [(c.action, c.reasons) for c in again.plan.changes] == [("unchanged", ())] * 2
    assert again.plan.partitions_added == 0

    landed.put(
        "sales/dt=2026-01-04/sales.csv",
        b"order_id,customer_id,product,quantity,unit_price,ordered_at\n"
        b"9001,1,kettle,1,9.99,2026-01-04 10:00:00\n",
    )
    planned = crawl(local_settings, catalog, target, dry_run=True)
    assert planned.plan.partitions_added == 1 and not planned.applied
    assert len(catalog.partitions(catalog.get_table("landing", "sales"))) == 3  # plan wrote nothing
    crawl(local_settings, catalog, target)
    assert ("2026-01-04",) in catalog.partitions(catalog.get_table("landing", "sales"))


def test_ingest_lands_the_source_in_one_delta_commit_and_a_rerun_adds_nothing(
    landed: storage.ObjectStore, local_settings: Settings, spark: Any, catalog: HiveCatalog
) -> None:
    first, _ = run_ingest(
        local_settings, spark, "test_job", source="landing.customers", target="raw.customers"
    )
    assert (first.state, first.rows_written, first.delta_version) == ("SUCCEEDED", 20, 0)
    second, _ = run_ingest(
        local_settings, spark, "test_job", source="landing.customers", target="raw.customers"
    )
    assert (second.state, second.rows_written, second.delta_version) == ("SUCCEEDED", 0, None)

    source = spark.table("landing.customers")
    landed_rows = spark.table("raw.customers").select(*source.columns)
    assert sorted(tuple(r) for r in landed_rows.collect()) == sorted(
        tuple(r) for r in source.collect()
    )
    location = catalog.get_table("raw", "customers").location
    history = DeltaTable.forPath(spark, location).history(1).collect()[0]
    assert json.loads(history["userMetadata"])["job"] == "test_job"

    registered = catalog.get_table("raw", "customers")
    assert registered.format == "delta"
    assert [c.name for c in registered.columns][:2] == ["customer_id", "name"]  # from the Delta log


def test_partitioned_source_gives_a_partitioned_delta_table_and_predicates_prune(
    landed: storage.ObjectStore, local_settings: Settings, spark: Any
) -> None:
    run_ingest(local_settings, spark, "p", source="landing.sales", target="raw.sales")
    detail = spark.sql("DESCRIBE DETAIL raw.sales").first()
    assert detail["partitionColumns"] == ["dt"]
    pruned, _ = run_ingest(
        local_settings,
        spark,
        "p2",
        source="landing.sales",
        target="raw.sales_0102",
        push_down_predicate="dt = '2026-01-02'",
    )
    assert (pruned.rows_written, pruned.files_read) == (35, 1)
    days = spark.sql("SELECT DISTINCT dt FROM raw.sales_0102").collect()
    assert [r[0] for r in days] == ["2026-01-02"]
