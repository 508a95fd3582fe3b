"""Job arguments -> IngestSpec, schema evolution rules, and the Delta txn reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.ingest.evolution import SchemaEvolutionError, plan_evolution
from engine.ingest.spec import (
    CATALOG,
    JDBC,
    PATH,
    ChoiceSpec,
    ColumnMapping,
    parse_choices,
    parse_mapping,
    parse_spec,
)
from engine.lake.log import read_txn_version
from engine.storage import LocalStore

BASE = {"JOB_NAME": "j", "target": "raw.t"}


def test_the_three_source_kinds() -> None:
    catalog = parse_spec({**BASE, "source": "landing.Sales", "push_down_predicate": "dt > '1'"})
    assert (catalog.source.kind, catalog.source.name) == (CATALOG, "landing.sales")
    assert catalog.source.push_down_predicate == "dt > '1'"
    path = parse_spec(
        {**BASE, "source": "s3://landing/ev/", "format": "json", "source_options": '{"a": 1}'}
    )
    assert (path.source.kind, path.source.format, path.source.options) == (
        PATH,
        "json",
        (("a", "1"),),
    )
    jdbc = parse_spec(
        {
            **BASE,
            "connection": "shop",
            "source": "public.orders",
            "bookmark_keys": "updated_at, id",
            "bookmark_order": "desc",
            "num_partitions": "8",
        }
    )
    assert jdbc.source.kind == JDBC
    assert jdbc.source.bookmark_keys == ("updated_at", "id")
    assert jdbc.source.bookmark_descending and jdbc.source.num_partitions == 8
    assert jdbc.source.described == "shop:public.orders"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"source": "s3://landing/x"}, "give --format"),
        ({"source": "landing.t", "write_mode": "upsert"}, "--write_mode 'upsert'"),
        ({"source": "landing.t", "write_mode": "merge"}, "--merge_keys goes with"),
        ({"source": "landing.t", "merge_keys": "id"}, "--merge_keys goes with"),
        ({"source": "landing.t", "job-bookmark-option": "on"}, "--job-bookmark-option 'on'"),
        ({"source": "landing.t", "bookmark_keys": "id"}, "applies to JDBC sources"),
        ({"connection": "shop"}, "exactly one of --source schema.table or --query"),
        ({"source": "landing.t", "max_bad_records": "-2"}, "--max_bad_records"),
        ({"source": "landing.t", "mapping": "[1"}, "--mapping is not valid JSON"),
        ({"source": "landing.t", "lineage": "yes"}, "--lineage 'yes'"),
        ({"source": "landing.t", "partition_keys": "dt;x"}, "not a column name"),
        ({}, "missing job argument --source"),
    ],
)
def test_bad_arguments_are_named(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_spec({**BASE, **extra})


def test_apply_mapping_entries() -> None:
    parsed = parse_mapping([["id", "string", "order_id", "bigint"], ["customer.name", "name"]])
    assert parsed == (
        ColumnMapping("id", "string", "order_id", "bigint"),
        ColumnMapping("customer.name", None, "name", None),
    )
    for bad, message in [
        ([["a", "string", "b"]], r"--mapping\[0\].*\[source, source_type, target, target_type\]"),
        ([["a", "text", "b", "bigint"]], r"source_type 'text' is not a type"),
        ([["a", "b.c"]], r"target 'b.c' must be a plain column name"),
        ([["a", "x"], ["b", "X"]], "writes column\\(s\\) x more than once"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_mapping(bad)


def test_resolve_choice_specs() -> None:
    assert parse_choices([["p", "cast:double"], ["c", "make_cols:bigint,string"]]) == (
        ChoiceSpec("p", "cast", ("double",)),
        ChoiceSpec("c", "make_cols", ("bigint", "string")),
    )
    with pytest.raises(ConfigError, match=r"--resolve_choice\[0\]: action 'split'"):
        parse_choices([["p", "split"]])
    with pytest.raises(ConfigError, match="cast takes one type"):
        parse_choices([["p", "cast:int,string"]])


def test_schema_evolution_adds_columns_casts_narrower_types_and_refuses_the_rest() -> None:
    existing = [("id", "bigint"), ("amount", "double"), ("note", "string")]
    plan = plan_evolution(
        "raw.t", existing, [("ID", "int"), ("amount", "double"), ("extra", "date")]
    )
    assert plan.added == (("extra", "date"),)
    assert plan.casts == (("ID", "bigint"),)
    with pytest.raises(
        SchemaEvolutionError, match=r"raw\.t.*amount is double in the table but string"
    ):
        plan_evolution("raw.t", existing, [("amount", "string")])
    with pytest.raises(SchemaEvolutionError, match="id is bigint in the table but double"):
        plan_evolution("raw.t", existing, [("id", "double")])


def _commit(log: Path, version: int, *actions: dict[str, object]) -> None:
    log.mkdir(parents=True, exist_ok=True)
    text = "\n".join(json.dumps(a) for a in actions)
    (log / f"{version:020d}.json").write_text(text + "\n")


def test_the_txn_reader_finds_the_newest_version_of_an_application(tmp_path: Path) -> None:
    log = tmp_path / "raw" / "t" / "_delta_log"
    store = LocalStore(tmp_path, "raw")
    assert read_txn_version(store, "t", "headwater/j/source") is None  # no table yet
    _commit(log, 0, {"commitInfo": {}}, {"txn": {"appId": "headwater/j/source", "version": 0}})
    _commit(log, 1, {"txn": {"appId": "other", "version": 9}})
    _commit(log, 2, {"txn": {"appId": "headwater/j/source", "version": 3}})
    assert read_txn_version(store, "t", "headwater/j/source") == 3
    assert read_txn_version(store, "t", "other") == 9
    assert read_txn_version(store, "t", "headwater/j/sourc") is None
