"""A crawl updates a table in place, and a crawl dying at any step leaves a table.

Issue 16 (every crash point heals) and 17 (crawl updates in place): the new
definition is staged under another name and copied onto the table in one metastore
call. Each crash case lets a crawl die right after one step (a SimulatedCrash passes
through every handler, as a dead process would), checks the table is there with its
old or its new columns, then recrawls and checks the new definition, the user's
comment and property, the partitions and the schema history.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from catalog.definitions import staging_name
from catalog.hive import HiveCatalog
from engine.config import Settings
from engine.crawl.crawler import CrawlTarget, crawl
from engine.faults import FAULT_AFTER, FAULT_MODE, SimulatedCrash
from engine.state.store import RunStore
from engine.storage import open_store

BUCKET = "recrawls"  # crawled by no other test
OLD = [("id", "bigint"), ("v", "bigint")]
NEW = [("id", "bigint"), ("v", "string"), ("extra", "double")]


def _columns(catalog: HiveCatalog, database: str, name: str) -> list[tuple[str, str]]:
    return [(c.name, c.type) for c in catalog.get_table(database, name).columns]


def _first_crawl(
    settings: Settings, catalog: HiveCatalog, spark: Any, case: str, state: RunStore
) -> CrawlTarget:
    store = open_store(settings, BUCKET)
    store.put(f"{case}/t/day=1/a.csv", b"id,v\n1,2\n")
    store.put(f"{case}/t/day=2/a.csv", b"id,v\n3,4\n")
    target = CrawlTarget(BUCKET, f"{case}/", case)
    crawl(settings, catalog, target, state=state)
    assert _columns(catalog, case, "t") == OLD
    spark.sql(f"ALTER TABLE {case}.t ALTER COLUMN id COMMENT 'the order number'")
    spark.sql(f"ALTER TABLE {case}.t SET TBLPROPERTIES ('owner_team' = 'ml')")
    # the files change: v holds text now, and a column is added
    store.put(f"{case}/t/day=2/a.csv", b"id,v,extra\n3,x,0.5\n")
    return target


def _crawl_dying_after(
    step: str,
    settings: Settings,
    catalog: HiveCatalog,
    target: CrawlTarget,
    state: RunStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crawl of ``target`` that dies right after ``step`` (engine.faults)."""
    monkeypatch.setenv(FAULT_AFTER, step)
    monkeypatch.setenv(FAULT_MODE, "raise")
    with pytest.raises(SimulatedCrash):
        crawl(settings, catalog, target, state=state)
    monkeypatch.delenv(FAULT_AFTER)


def _check_updated(catalog: HiveCatalog, spark: Any, case: str, state: RunStore) -> None:
    table = catalog.get_table(case, "t")
    assert [(c.name, c.type) for c in table.columns] == NEW
    assert table.columns[0].comment == "the order number"  # the user's comment survives
    assert table.parameters.get("owner_team") == "ml"  # and their property
    assert table.parameters["classification"] == "csv"
    assert [k.name for k in table.partition_keys] == ["day"]
    assert sorted(catalog.partitions(table)) == [("1",), ("2",)]
    assert staging_name("t") not in catalog.table_names(case)
    rows = spark.sql(f"SELECT id, v, extra, day FROM {case}.t ORDER BY id").collect()
    assert [tuple(r) for r in rows] == [(1, "2", None, "1"), (3, "x", 0.5, "2")]
    versions = state.table_versions(case, "t")
    assert [[c.name for c in v.definition.columns] for v in versions] == [
        ["id", "v"],
        ["id", "v", "extra"],
    ]


def test_a_recrawl_changes_columns_in_place_and_keeps_what_users_set(
    local_settings: Settings, catalog: HiveCatalog, spark: Any, tmp_path: Path
) -> None:
    state = RunStore(sqlite3.connect(tmp_path / "state.db"), "?")
    target = _first_crawl(local_settings, catalog, spark, "inplace", state)
    (change,) = crawl(local_settings, catalog, target, state=state).plan.changes
    assert change.action == "update" and not change.replaces
    assert change.new_partitions == ()  # the table kept its partitions
    _check_updated(catalog, spark, "inplace", state)
    # the comment is no change: the next crawl leaves the table alone
    (again,) = crawl(local_settings, catalog, target, state=state).plan.changes
    assert again.action == "unchanged"


CRASH_STEPS = [
    "crawl: stage",  # the new definition staged, the table untouched
    "crawl: update",  # the table has its new definition, the staged one remains
    "crawl: drop staging",
    "crawl: record table versions",  # the catalog is done, the history is not
]


@pytest.mark.parametrize("step", CRASH_STEPS)
def test_a_crawl_dying_after_a_step_leaves_a_table_and_the_recrawl_finishes(
    step: str,
    local_settings: Settings,
    catalog: HiveCatalog,
    spark: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = "crash_" + step.removeprefix("crawl: ").replace(" ", "_")
    state = RunStore(sqlite3.connect(tmp_path / "state.db"), "?")
    target = _first_crawl(local_settings, catalog, spark, case, state)
    _crawl_dying_after(step, local_settings, catalog, target, state, monkeypatch)
    assert _columns(catalog, case, "t") in (OLD, NEW)  # never no table
    assert catalog.get_table(case, "t").parameters.get("owner_team") == "ml"

    crawl(local_settings, catalog, target, state=state)
    _check_updated(catalog, spark, case, state)


def test_changed_partition_keys_swap_the_table_and_a_crash_between_heals(
    local_settings: Settings,
    catalog: HiveCatalog,
    spark: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The metastore cannot change partition keys in place: the table is dropped and
    the staged one renamed. A crash between the two is the one moment without the
    table; the recrawl re-creates it."""
    state = RunStore(sqlite3.connect(tmp_path / "state.db"), "?")
    store = open_store(local_settings, BUCKET)
    store.put("swap/t/day=1/a.csv", b"id,v\n1,2\n")
    target = CrawlTarget(BUCKET, "swap/", "swap")
    crawl(local_settings, catalog, target, state=state)
    spark.sql("ALTER TABLE swap.t SET TBLPROPERTIES ('owner_team' = 'ml')")
    shutil.rmtree(local_settings.lake_path / BUCKET / "swap/t/day=1")
    store.put("swap/t/region=eu/a.csv", b"id,v\n1,2\n")

    _crawl_dying_after("crawl: drop swap.t", local_settings, catalog, target, state, monkeypatch)
    assert catalog.table_names("swap") == [staging_name("t")]  # the staged one waits

    (change,) = crawl(local_settings, catalog, target, state=state).plan.changes
    assert change.action == "create"
    assert catalog.table_names("swap") == ["t"]
    table = catalog.get_table("swap", "t")
    assert [k.name for k in table.partition_keys] == ["region"]
    assert catalog.partitions(table) == [("eu",)]

    # without a crash the swap keeps what users set
    spark.sql("ALTER TABLE swap.t SET TBLPROPERTIES ('owner_team' = 'ml')")
    shutil.rmtree(local_settings.lake_path / BUCKET / "swap/t/region=eu")
    store.put("swap/t/day=1/a.csv", b"id,v\n1,2\n")
    (change,) = crawl(local_settings, catalog, target, state=state).plan.changes
    assert change.action == "update" and change.replaces
    table = catalog.get_table("swap", "t")
    assert [k.name for k in table.partition_keys] == ["day"]
    assert table.parameters.get("owner_team") == "ml"
    assert catalog.table_names("swap") == ["t"]
