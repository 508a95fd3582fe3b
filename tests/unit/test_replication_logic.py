"""Replication's pure parts: pgoutput decoding (bytes PostgreSQL 15 produced),
validation ranges and comparison, task definitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.replicate.mapping import SourceColumn, SourceTable, TableMapping, parse_mapping
from engine.replicate.pgoutput import PG_EPOCH_MICROS, decode, format_lsn, parse_lsn
from engine.replicate.validate import (
    TableValidation,
    bucketing,
    key_differences,
    mismatched_buckets,
    pg_canonical,
    spark_canonical,
)

pytestmark = pytest.mark.unit

# pg_logical_slot_peek_binary_changes(…, 'proto_version', '1', …) on PostgreSQL 15 for:
# INSERT (2,'b',…); UPDATE … SET v='aa' WHERE id=1; DELETE … WHERE id=2 on
# t(id int primary key, v text, ts timestamptz, b bytea, n numeric(10,2)).
RELATION = (
    b"R\x00\x00@\x00public\x00t\x00d\x00\x05\x01id\x00\x00\x00\x00\x17\xff\xff\xff\xff"
    b"\x00v\x00\x00\x00\x00\x19\xff\xff\xff\xff\x00ts\x00\x00\x00\x04\xa0\xff\xff\xff\xff"
    b"\x00b\x00\x00\x00\x00\x11\xff\xff\xff\xff\x00n\x00\x00\x00\x06\xa4\x00\n\x00\x06"
)
PEEK = [
    ("0/1528A08", "727", b"B\x00\x00\x00\x00\x01R\x8a\x98\x00\x03\x04R\xd2&\x93H\x00\x00\x02\xd7"),
    ("0/1528A08", "727", RELATION),
    (
        "0/1528A08",
        "727",
        b"I\x00\x00@\x00N\x00\x05t\x00\x00\x00\x012t\x00\x00\x00\x01bt\x00\x00\x00\x1d"
        b"2026-11-28 10:58:09.703937+00nt\x00\x00\x00\x042.50",
    ),
    (
        "0/1528AC8",
        "727",
        b"C\x00\x00\x00\x00\x00\x01R\x8a\x98\x00\x00\x00\x00\x01R\x8a\xc8\x00\x03\x04R\xd2&\x93H",
    ),
    ("0/1528AC8", "728", b"B\x00\x00\x00\x00\x01R\x8b(\x00\x03\x04R\xd2&\x99\xf2\x00\x00\x02\xd8"),
    (
        "0/1528AC8",
        "728",
        b"U\x00\x00@\x00N\x00\x05t\x00\x00\x00\x011t\x00\x00\x00\x02aat\x00\x00\x00\x1d"
        b"2026-11-28 10:58:09.679004+00t\x00\x00\x00\x06\\x0102t\x00\x00\x00\x041.50",
    ),
    ("0/1528B58", "729", b"B\x00\x00\x00\x00\x01R\x8b\x98\x00\x03\x04R\xd2&\x9cF\x00\x00\x02\xd9"),
    ("0/1528B58", "729", b"D\x00\x00@\x00K\x00\x05t\x00\x00\x00\x012nnnn"),
]


def test_pgoutput_insert_update_delete_with_commit_positions_and_times() -> None:
    inserted, updated, deleted = list(decode(PEEK))
    assert (inserted.op, inserted.schema, inserted.table) == ("I", "public", "t")
    assert inserted.values == {
        "id": "2",
        "v": "b",
        "ts": "2026-11-28 10:58:09.703937+00",
        "b": None,
        "n": "2.50",
    }
    assert inserted.xid == 727 and format_lsn(inserted.commit_lsn) == "0/1528A98"
    assert updated.values["v"] == "aa" and updated.values["b"] == "\\x0102"
    assert updated.old_key is None and updated.xid == 728
    assert deleted.op == "D" and deleted.values == {"id": "2"}
    # commit timestamps: microseconds since 2000-01-01 moved to the Unix epoch
    assert inserted.commit_micros > PG_EPOCH_MICROS
    assert inserted.commit_micros < updated.commit_micros < deleted.commit_micros


def test_lsn_text_round_trips_and_orders_numerically() -> None:
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert format_lsn(parse_lsn("0/1528A08")) == "0/1528A08"
    assert parse_lsn("1/0") > parse_lsn("0/FFFFFFFF")


def _plan(key_type: str = "int") -> object:
    table = SourceTable(
        "s",
        "t",
        (SourceColumn("id", key_type), SourceColumn("v", "string"), SourceColumn("f", "double")),
        ("id",),
    )
    rules = {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "object-locator": {"schema-name": "s", "table-name": "t"},
                "rule-action": "include",
            }
        ]
    }
    mapping: TableMapping = parse_mapping(json.dumps(rules), "t")
    return mapping.select([table])[0]


def test_integer_keys_get_value_ranges_other_keys_hash_buckets() -> None:
    ranges = bucketing(_plan(), (1, 1000), count=16)  # type: ignore[arg-type]
    assert (ranges.kind, ranges.low, ranges.width) == ("range", 1, 63)
    assert ranges.describe(2) == "id 127..189"
    hashed = bucketing(_plan("string"), None, count=8)  # type: ignore[arg-type]
    assert hashed.kind == "hash" and hashed.describe(3) == "hash bucket 3 of 8"
    assert "% 8" in hashed.source("postgresql") and "pmod(" in hashed.spark()
    assert "CONV(SUBSTR(MD5(" in hashed.source("mysql")


def test_canonical_text_keeps_null_distinct_from_empty_strings() -> None:
    plan = _plan()
    from engine.replicate.validate import compared_columns

    text_column = compared_columns(plan)[1]  # type: ignore[arg-type]
    assert "IS NOT NULL THEN format('%s'" in pg_canonical(text_column)
    assert pg_canonical(text_column).startswith("coalesce(")
    assert spark_canonical(text_column).startswith("coalesce(")


def test_comparison_finds_ranges_and_keys() -> None:
    source = {0: (10, 500), 1: (10, 700), 2: (5, 1)}
    target = {0: (10, 500), 1: (9, 650), 3: (1, 9)}
    assert mismatched_buckets(source, target) == [1, 2, 3]
    missing, extra, different = key_differences({"1": 5, "2": 6, "3": 7}, {"2": 6, "3": 8, "9": 1})
    assert (missing, extra, different) == (("1",), ("9",), ("3",))
    result = TableValidation(25, 20, ("id 1..10",), missing, extra, different)
    assert result.state == "Mismatched records" and not result.ok
    assert result.describe() == (
        "rows: source 25, lake 20; differing ranges: id 1..10; missing in the lake: 1; "
        "not in the source: 9; different: 3"
    )
    assert TableValidation(3, 3, ()).state == "Validated"


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = tmp_path / "headwater.yaml"
    path.write_text(text)
    monkeypatch.setenv("HEADWATER_PROJECT_FILE", str(path))


CONNECTIONS = """
connections:
  pg: {url: "jdbc:postgresql://127.0.0.1:5432/shop", user: u, password_env: P}
  my: {url: "jdbc:mysql://127.0.0.1:3306/shop", user: u, password_env: P, ssl_mode: require}
"""
RULES = (
    '{"rules": [{"rule-type": "selection", "rule-id": "1", "object-locator": '
    '{"schema-name": "public", "table-name": "%"}, "rule-action": "include"}]}'
)


def test_task_definitions_accept_dms_spellings_and_refuse_cdc_from_mysql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.replicate.definitions import replication_task

    _project(
        tmp_path,
        monkeypatch,
        CONNECTIONS
        + "replication_tasks:\n"
        + "  a: {connection: pg, target_prep_mode: TRUNCATE_BEFORE_LOAD, "
        + f"table_mappings: '{RULES}'}}\n"
        + f"  b: {{connection: my, table_mappings: '{RULES}', cdc_stop_position: 0/16B3748}}\n"
        + f"  c: {{connection: my, migration_type: full-load, table_mappings: '{RULES}'}}\n",
    )
    task = replication_task("a")
    assert task.definition.target_prep_mode == "truncate"
    assert task.slot == "headwater_a" and task.database == "a"
    with pytest.raises(ConfigError, match="cdc_stop_position '0/16B3748' is not a binlog"):
        replication_task("b")
    mysql = replication_task("c").connection
    assert mysql.jdbc_url().endswith("?sslMode=REQUIRED")


def test_bad_task_definitions_name_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.replicate.definitions import replication_task

    _project(
        tmp_path,
        monkeypatch,
        CONNECTIONS
        + "replication_tasks:\n"
        + f"  a: {{connection: pg, max_full_load_subtasks: 80, table_mappings: '{RULES}'}}\n",
    )
    with pytest.raises(ConfigError, match=r"replication_tasks\.a\.max_full_load_subtasks"):
        replication_task("a")
    _project(
        tmp_path,
        monkeypatch,
        CONNECTIONS + "replication_tasks:\n  a: {connection: pg, table_mappings: missing.json}\n",
    )
    with pytest.raises(ConfigError, match="cannot read table_mappings file"):
        replication_task("a")
