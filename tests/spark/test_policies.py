"""Schema change policies on a second crawl, in-process on the local profile."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from catalog.errors import TableNotFoundError
from catalog.hive import HiveCatalog
from engine.config import Settings
from engine.crawl.crawler import CrawlTarget, crawl
from engine.state.store import RunStore
from engine.storage import open_store


@pytest.mark.parametrize("behavior", ["deprecate_in_database", "delete_from_database", "log"])
def test_a_table_whose_files_are_gone(
    behavior: str, local_settings: Settings, catalog: HiveCatalog
) -> None:
    bucket = f"policy_{behavior}"
    store = open_store(local_settings, bucket)
    store.put("a/part.csv", b"id,v\n1,2\n")
    store.put("b/part.csv", b"name,city\nann,paris\n")
    target = CrawlTarget(bucket, "", bucket, delete_behavior=behavior)
    crawl(local_settings, catalog, target)
    assert catalog.table_names(bucket) == ["a", "b"]

    shutil.rmtree(local_settings.lake_path / bucket / "b")
    result = crawl(local_settings, catalog, target)
    assert [(d.table.name, d.behavior) for d in result.plan.deletions] == [("b", behavior)]
    if behavior == "delete_from_database":
        with pytest.raises(TableNotFoundError):
            catalog.get_table(bucket, "b")
    elif behavior == "deprecate_in_database":
        assert "DEPRECATED_BY_CRAWLER" in catalog.get_table(bucket, "b").parameters
        assert crawl(local_settings, catalog, target).plan.deletions == []  # once only
        store.put("b/part.csv", b"name,city\nann,paris\n")  # the files come back
        (back,) = [
            c for c in crawl(local_settings, catalog, target).plan.changes if c.table.name == "b"
        ]
        assert back.action == "update" and not back.replaces
        assert "DEPRECATED_BY_CRAWLER" not in catalog.get_table(bucket, "b").parameters
    else:
        assert "DEPRECATED_BY_CRAWLER" not in catalog.get_table(bucket, "b").parameters


def test_log_update_behavior_leaves_the_definition(
    local_settings: Settings, catalog: HiveCatalog
) -> None:
    store = open_store(local_settings, "policy_update")
    store.put("t/part.csv", b"id,v\n1,2\n")
    crawl(local_settings, catalog, CrawlTarget("policy_update", "", "policy_update"))
    store.put("t/part.csv", b"id,v\n1,x\n")  # v becomes a string column
    target = CrawlTarget("policy_update", "", "policy_update", update_behavior="log")
    (change,) = crawl(local_settings, catalog, target).plan.changes
    assert change.action == "update-logged"
    assert [c.type for c in catalog.get_table("policy_update", "t").columns] == ["bigint", "bigint"]


def test_new_folders_only_samples_new_partitions_and_never_rewrites_or_deletes(
    local_settings: Settings, catalog: HiveCatalog, tmp_path: Path
) -> None:
    store = open_store(local_settings, "policy_recrawl")
    store.put("events/day=1/a.csv", b"id,v\n1,2\n")
    store.put("events/day=2/a.csv", b"id,v\n3,4\n")
    store.put("other/x.csv", b"k,w\n1,2\n")
    state = RunStore(sqlite3.connect(tmp_path / "state.db"), "?")
    target = CrawlTarget(
        "policy_recrawl", "", "policy_recrawl", recrawl_behavior="crawl_new_folders_only"
    )
    first = crawl(local_settings, catalog, target, state=state)
    assert sorted(c.action for c in first.plan.changes) == ["create", "create"]
    assert first.files_sampled == 3

    store.put("events/day=1/b.csv", b"id,v\n5,x\n")  # a seen folder: not looked at
    store.put("events/day=3/a.csv", b"id,v,extra\n6,7,8\n")  # new folder, new column
    shutil.rmtree(local_settings.lake_path / "policy_recrawl" / "other")
    second = crawl(local_settings, catalog, target, state=state)
    assert second.files_sampled == 1
    (change,) = second.plan.changes
    assert change.action == "update-logged"  # the catalog keeps its definition
    assert [p.values for p in change.new_partitions] == [("3",)]
    assert second.plan.deletions == []  # unvisited is not gone
    events = catalog.get_table("policy_recrawl", "events")
    assert [c.name for c in events.columns] == ["id", "v"]
    assert catalog.partitions(events) == [("1",), ("2",), ("3",)]
    assert crawl(local_settings, catalog, target, state=state).plan.changes == []


def test_a_custom_grok_classifier_makes_a_readable_log_table(
    local_settings: Settings, catalog: HiveCatalog, spark: object
) -> None:
    from engine.classify.grok import grok_classifier

    store = open_store(local_settings, "custom_logs")
    store.put(
        "app/app.log",
        b"2026-01-01T10:00:00Z INFO ORD-17 started\n2026-01-01T10:00:01Z WARN ORD-18 slow\n",
    )
    classifier = grok_classifier(
        "app_log",
        "%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{ORDER:order} %{GREEDYDATA:msg}",
        {"ORDER": r"ORD-\d+"},
    )
    target = CrawlTarget("custom_logs", "", "custom_logs", classifiers=(classifier,))
    (change,) = crawl(local_settings, catalog, target).plan.changes
    assert (change.table.format, change.table.parameters["classification"]) == ("regex", "app_log")
    rows = spark.sql("SELECT level, `order` FROM custom_logs.app ORDER BY `order`").collect()  # type: ignore[attr-defined]
    assert [tuple(r) for r in rows] == [("INFO", "ORD-17"), ("WARN", "ORD-18")]


def test_sampling_on_executors_decides_exactly_what_the_driver_does(
    local_settings: Settings, catalog: HiveCatalog, spark: Any
) -> None:
    from engine.spark.crawl import spark_file_mapper

    store = open_store(local_settings, "spread")
    for day in range(6):
        for part in range(3):
            extra = ",extra" if day == 5 else ""
            store.put(
                f"events/day={day}/p{part}.csv",
                f"id,v{extra}\n{day},{part}.5{',x' if extra else ''}\n".encode(),
            )
    store.put("events/day=2/bad.csv", b"\x00\x01binary")
    target = CrawlTarget("spread", "", "spread")
    driver = crawl(local_settings, catalog, target, dry_run=True)
    mapper = spark_file_mapper(spark, local_settings)
    spread = crawl(
        local_settings, catalog, target, dry_run=True, file_mapper=mapper, distribute_from=1
    )

    def summary(result: Any) -> Any:
        plan = result.plan
        tables = [(c.table.name, c.table.columns, c.table.options) for c in plan.changes]
        partitions = [p.values for c in plan.changes for p in c.new_partitions]
        return tables, partitions, sorted((s.key, s.reason) for s in plan.skipped)

    assert summary(spread) == summary(driver)
    assert (spread.files_sampled, spread.bytes_read) == (driver.files_sampled, driver.bytes_read)
    assert [c.name for c in spread.plan.changes[0].table.columns] == ["id", "v", "extra"]
