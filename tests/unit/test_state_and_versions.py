from __future__ import annotations

import sqlite3
from pathlib import Path

from catalog.model import Column, Table
from catalog.versions import diff_tables, table_from_json, table_to_json
from engine.state.store import CrawlRun, RunStore

T1 = Table(
    "landing",
    "sales",
    (Column("id", "bigint"), Column("amount", "double")),
    "s3a://landing/sales",
    "csv",
    (Column("dt", "string"),),
    {"classification": "csv", "recordCount": "10"},
    {"header": "true"},
)
T2 = Table(
    "landing",
    "sales",
    (Column("id", "bigint"), Column("amount", "string"), Column("note", "string")),
    "s3a://landing/sales",
    "csv",
    (Column("dt", "string"),),
    {"classification": "csv", "recordCount": "99"},
    {"header": "true"},
)


def store(tmp_path: Path) -> RunStore:
    return RunStore(sqlite3.connect(tmp_path / "state.db"), "?")


def test_a_version_is_kept_only_when_the_definition_changes(tmp_path: Path) -> None:
    runs = store(tmp_path)
    assert runs.add_table_version(T1, "r1") == 1
    stats_only = Table(**{**T1.__dict__, "parameters": {**T1.parameters, "recordCount": "5"}})
    assert runs.add_table_version(stats_only, "r2") is None
    assert runs.add_table_version(T2, "r3") == 2
    versions = runs.table_versions("landing", "sales")
    assert [(v.version, v.run_id) for v in versions] == [(1, "r1"), (2, "r3")]
    assert versions[1].definition.columns == T2.columns
    # shell completion of table names comes from here (no JVM, no SQL endpoint)
    runs.add_table_version(Table(**{**T1.__dict__, "database": "raw"}), "r4")
    assert runs.known_tables() == ["landing.sales", "raw.sales"]


def test_diff_names_added_changed_and_removed_columns() -> None:
    assert diff_tables(T1, T2) == [
        "~ column amount double -> string",
        "+ column note string",
    ]
    assert diff_tables(T2, T1) == ["~ column amount string -> double", "- column note string"]
    assert diff_tables(T1, T1) == []


def test_definitions_round_trip_without_statistics() -> None:
    again = table_from_json(table_to_json(T1))
    assert again.columns == T1.columns and again.partition_keys == T1.partition_keys
    assert again.parameters == {"classification": "csv"}


def test_crawl_runs_are_saved_and_listed_newest_first(tmp_path: Path) -> None:
    runs = store(tmp_path)
    runs.save_crawl_run(CrawlRun("a", "landing", "s3://l/", "landing", "2026-01-01T00:00:00"))
    done = CrawlRun(
        "b",
        "landing",
        "s3://l/",
        "landing",
        "2026-01-02T00:00:00",
        state="SUCCEEDED",
        tables_created=2,
        errors=[{"path": "x.bin", "reason": "unclassified"}],
    )
    runs.save_crawl_run(done)
    runs.save_crawl_run(done)  # saving again replaces
    listed = runs.crawl_runs("landing")
    assert [(r.run_id, r.state) for r in listed] == [("b", "SUCCEEDED"), ("a", "RUNNING")]
    assert listed[0].errors == [{"path": "x.bin", "reason": "unclassified"}]
    assert runs.crawl_runs("other") == []
