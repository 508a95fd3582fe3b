from __future__ import annotations

from catalog.model import Column, Partition, Table
from engine.crawl.layout import group_tables, table_name
from engine.crawl.plan import plan_table
from engine.storage import ObjectInfo
from engine.vocabulary import CrawlAction


def obj(key: str, size: int = 10) -> ObjectInfo:
    return ObjectInfo(key, size, 0.0)


def test_hive_partitions_and_tables_are_grouped() -> None:
    layouts, skipped = group_tables(
        [
            obj("in/sales/dt=2026-01-01/a.csv"),
            obj("in/sales/dt=2026-01-02/b.csv"),
            obj("in/sales/dt=2026-01-02/_SUCCESS"),
            obj("in/Customers/part.parquet"),
            obj("in/empty/x.csv", size=0),
        ],
        "in/",
        "in",
    )
    by_name = {t.name: t for t in layouts}
    assert set(by_name) == {"sales", "customers"}
    sales = by_name["sales"]
    assert sales.partition_keys == ("dt",)
    assert [p.values for p in sales.partitions] == [("2026-01-01",), ("2026-01-02",)]
    assert sales.partitions[0].prefix == "in/sales/dt=2026-01-01/"
    assert by_name["customers"].partition_keys == ()
    assert {s.key for s in skipped} == {"in/sales/dt=2026-01-02/_SUCCESS", "in/empty/x.csv"}


def test_unnamed_partition_folders_become_partition_n() -> None:
    layouts, _ = group_tables(
        [obj("logs/2026/01/a.csv"), obj("logs/2026/02/b.csv"), obj("logs/2025/12/c.csv")], "", "b"
    )
    (logs,) = layouts
    assert logs.partition_keys == ("partition_0", "partition_1")
    assert ("2026", "02") in [p.values for p in logs.partitions]


def test_files_off_the_partition_depth_are_skipped_by_name() -> None:
    layouts, skipped = group_tables(
        [obj("t/k=1/a.csv"), obj("t/k=2/b.csv"), obj("t/stray.csv")], "", "b"
    )
    assert layouts[0].partition_keys == ("k",)
    assert [s.key for s in skipped] == ["t/stray.csv"]


def test_files_at_the_root_form_one_table_named_after_the_prefix() -> None:
    layouts, _ = group_tables([obj("exports/a.csv"), obj("exports/b.csv")], "exports", "exports")
    assert [(t.name, len(t.files)) for t in layouts] == [("exports", 2)]


def test_table_names_are_catalog_safe() -> None:
    assert table_name("Sales Data 2026!") == "sales_data_2026"
    assert table_name("___") == "table"


def _table(**changes: object) -> Table:
    base = {
        "database": "landing",
        "name": "t",
        "columns": (Column("id", "bigint"),),
        "location": "s3a://landing/t",
        "format": "csv",
        "partition_keys": (Column("dt", "string"),),
        "parameters": {"classification": "csv", "recordCount": "10"},
        "options": {"header": "true"},
    }
    base.update(changes)
    return Table(**base)  # type: ignore[arg-type]


PARTS = [Partition(("1",), "s3a://landing/t/dt=1"), Partition(("2",), "s3a://landing/t/dt=2")]


def test_a_new_table_is_created_with_all_partitions() -> None:
    change = plan_table(_table(), PARTS, None, set())
    assert change.action == CrawlAction.CREATE and len(change.new_partitions) == 2


def test_same_schema_only_adds_new_partitions_even_if_stats_change() -> None:
    existing = _table(parameters={"classification": "csv", "recordCount": "3"})
    change = plan_table(_table(), PARTS, existing, {("1",)})
    assert change.action == CrawlAction.UNCHANGED
    assert [p.values for p in change.new_partitions] == [("2",)]


def test_a_schema_change_is_an_update_with_reasons() -> None:
    existing = _table(columns=(Column("id", "string"),))
    change = plan_table(_table(), PARTS, existing, {("1",), ("2",)})
    assert change.action == CrawlAction.UPDATE
    assert "columns changed" in change.reasons[0]


def test_hadoop_and_uri_spellings_of_a_location_are_the_same_table() -> None:
    existing = _table(location="file:/lake/landing/t")
    new = _table(location="file:///lake/landing/t/")
    assert plan_table(new, [], existing, set()).action == CrawlAction.UNCHANGED


def test_value_like_folders_under_the_include_path_make_it_one_table() -> None:
    layouts, _ = group_tables(
        [obj("logs/2025/12/a.log"), obj("logs/2026/01/b.log")], "logs/", "logs"
    )
    assert [(t.name, t.partition_keys) for t in layouts] == [
        ("logs", ("partition_0", "partition_1"))
    ]


def test_hive_folders_under_the_include_path_make_it_one_table() -> None:
    layouts, _ = group_tables([obj("s/dt=1/a.csv"), obj("s/dt=2/b.csv")], "s/", "s")
    assert [(t.name, t.partition_keys) for t in layouts] == [("s", ("dt",))]


def test_exclusions_and_table_prefix() -> None:
    from engine.crawl.exclude import glob_to_regex

    layouts, skipped = group_tables(
        [obj("in/sales/a.csv"), obj("in/sales/a.csv.bak"), obj("in/tmp/x.csv")],
        "in/",
        "in",
        exclusions=[glob_to_regex("**.bak"), glob_to_regex("tmp/**")],
        table_prefix="raw_",
    )
    assert [(t.name, [f.key for f in t.files]) for t in layouts] == [
        ("raw_sales", ["in/sales/a.csv"])
    ]
    assert skipped == []


def test_log_update_behavior_keeps_the_catalog_and_adds_partitions() -> None:
    from engine.crawl.plan import LOG

    existing = _table(columns=(Column("id", "string"),))
    change = plan_table(_table(), PARTS, existing, {("1",)}, update_behavior=LOG)
    assert change.action == CrawlAction.LOGGED and "columns changed" in change.reasons[0]
    assert [p.values for p in change.new_partitions] == [("2",)]


def test_deletions_only_touch_this_crawlers_tables_under_the_target() -> None:
    from engine.crawl.plan import DELETE_FROM_DATABASE, DEPRECATE_IN_DATABASE, plan_deletions

    mine = _table(
        name="gone",
        location="file:/lake/landing/area/gone",
        parameters={"UPDATED_BY_CRAWLER": "headwater"},
    )
    kept = _table(
        name="kept",
        location="file:/lake/landing/area/kept",
        parameters={"UPDATED_BY_CRAWLER": "headwater"},
    )
    handmade = _table(name="hand", location="file:/lake/landing/area/hand", parameters={})
    elsewhere = _table(
        name="other",
        location="file:/lake/landing/other",
        parameters={"UPDATED_BY_CRAWLER": "headwater"},
    )
    deprecated = _table(
        name="old",
        location="file:/lake/landing/area/old",
        parameters={"UPDATED_BY_CRAWLER": "headwater", "DEPRECATED_BY_CRAWLER": "1"},
    )
    tables = [mine, kept, handmade, elsewhere, deprecated]
    target = "file:///lake/landing/area"
    gone = plan_deletions(tables, {"kept"}, target, DEPRECATE_IN_DATABASE)
    assert [d.table.name for d in gone] == ["gone"]
    gone = plan_deletions(tables, {"kept"}, target, DELETE_FROM_DATABASE)
    assert [d.table.name for d in gone] == ["gone", "old"]


def test_an_update_in_place_adds_only_new_partitions_and_a_moved_table_gets_all() -> None:
    existing = _table(columns=(Column("id", "string"),))
    change = plan_table(_table(), PARTS, existing, {("1",)})
    assert change.action == CrawlAction.UPDATE and not change.replaces
    assert [p.values for p in change.new_partitions] == [("2",)]
    moved = plan_table(_table(location="file:/lake/elsewhere"), PARTS, existing, {("1",)})
    assert moved.replaces and len(moved.new_partitions) == 2


def test_users_column_comments_carry_over_and_are_no_change() -> None:
    existing = _table(columns=(Column("id", "bigint", "the order number"),))
    change = plan_table(_table(), PARTS, existing, {("1",), ("2",)})
    assert change.action == CrawlAction.UNCHANGED
    assert change.table.columns[0].comment == "the order number"


def test_the_crawler_owns_its_properties_and_leaves_users_ones() -> None:
    existing = _table(parameters={"classification": "csv", "delimiter": ";", "team": "ml"})
    change = plan_table(_table(parameters={"classification": "json"}), PARTS, existing, set())
    assert {"classification", "delimiter", "recordCount"} <= change.owned_keys
    assert "team" not in change.owned_keys


def test_a_deprecated_table_whose_files_are_back_is_updated_to_lose_the_mark() -> None:
    existing = _table(parameters={"classification": "csv", "DEPRECATED_BY_CRAWLER": "1"})
    change = plan_table(_table(), PARTS, existing, {("1",), ("2",)})
    assert change.action == CrawlAction.UPDATE and not change.replaces
    assert change.reasons == ("its files are back (it was deprecated)",)
    assert "DEPRECATED_BY_CRAWLER" in change.owned_keys
