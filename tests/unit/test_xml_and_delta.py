"""The XML classifier and Delta logs read without Spark."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.metastore import spark_type_name
from engine.classify.model import UNKNOWN, Sample
from engine.classify.registry import classify, make_sample
from engine.classify.xml import xml_classifier
from engine.crawl.delta import delta_table
from engine.crawl.layout import group_tables
from engine.errors import CrawlError
from engine.lake.log import read_delta_schema
from engine.storage import LocalStore, ObjectInfo

ORDERS = b"""<?xml version="1.0" encoding="UTF-8"?>
<orders xmlns:x="http://example.com/x">
  <order id="1"><item sku="a">3</item><item sku="b">4</item><total>1.5</total>
    <placed>2024-01-02</placed></order>
  <order id="2"><item sku="c">5</item><total>2</total><note>gift</note><x:flag>true</x:flag></order>
</orders>
"""


def cols(verdict) -> list[tuple[str, str]]:
    return [(c.name, c.type) for c in verdict.columns]


def test_xml_rows_are_the_repeating_element_with_attributes_arrays_and_values() -> None:
    v = classify(make_sample("orders.xml", len(ORDERS), ORDERS))
    assert (v.classifier, v.classification, v.certainty) == ("xml", "xml", 1.0)
    assert v.options["rowTag"] == "order"
    assert v.options["ignoreNamespace"] == "true"
    # one <item> in a row and two in another is an array, as Spark's reader sees it
    assert cols(v) == [
        ("_id", "bigint"),
        ("item", "array<struct<_sku:string,_VALUE:bigint>>"),
        ("total", "double"),
        ("placed", "date"),
        ("note", "string"),
        ("flag", "boolean"),
    ]


def test_xml_cut_by_the_sample_keeps_complete_rows_only() -> None:
    head = ORDERS[: ORDERS.index(b'<order id="2">') + 20]
    v = classify(Sample("orders.xml", len(ORDERS) * 10, head))
    assert v.classification == "xml"
    assert "1 <order> row(s)" in v.reason


def test_broken_xml_is_not_xml_and_a_custom_row_tag_reaches_any_depth() -> None:
    broken = b"<a><b>1</b><b>2</c></a>"
    assert classify(make_sample("x.xml", len(broken), broken)).classification == UNKNOWN
    items = xml_classifier("items", row_tag="item")(make_sample("o.xml", len(ORDERS), ORDERS))
    assert (items.classification, items.certainty) == ("xml", 1.0)
    assert cols(items) == [("_sku", "string"), ("_VALUE", "bigint")]
    missing = xml_classifier("rows", row_tag="row")(make_sample("o.xml", len(ORDERS), ORDERS))
    assert missing.certainty == 0.0 and "<row>" in missing.reason


def _write_log(root: Path, commits: list[list[dict]]) -> None:
    log = root / "_delta_log"
    log.mkdir(parents=True)
    for version, actions in enumerate(commits):
        text = "\n".join(json.dumps(a) for a in actions)
        (log / f"{version:020d}.json").write_text(text)


def _metadata(fields: list[dict], partitions: list[str]) -> dict:
    schema = json.dumps({"type": "struct", "fields": fields})
    return {"metaData": {"id": "x", "schemaString": schema, "partitionColumns": partitions}}


def _field(name: str, type_: object) -> dict:
    return {"name": name, "type": type_, "nullable": True, "metadata": {}}


def _listing(store: LocalStore) -> list[ObjectInfo]:
    return list(store.list(""))


def test_delta_schema_comes_from_the_newest_metadata_and_the_folder_is_one_table(
    tmp_path: Path,
) -> None:
    root = tmp_path / "raw" / "sales"
    first = _metadata([_field("id", "long"), _field("day", "string")], ["day"])
    nested = {
        "type": "array",
        "elementType": {"type": "struct", "fields": [_field("q", "integer")]},
    }
    second = _metadata(
        [
            _field("id", "long"),
            _field("amount", "decimal(10, 2)"),
            _field("lines", nested),
            _field("day", "string"),
        ],
        ["day"],
    )
    _write_log(root, [[{"protocol": {}}, first], [{"add": {"path": "day=1/a.parquet"}}], [second]])
    (root / "day=1").mkdir()
    (root / "day=1" / "a.parquet").write_bytes(b"PAR1....PAR1")
    store = LocalStore(tmp_path, "raw")

    layouts, skipped = group_tables(_listing(store), "", "raw")
    assert skipped == []
    (layout,) = layouts
    assert (layout.name, layout.prefix, layout.is_delta) == ("sales", "sales/", True)

    table, found = delta_table(store, layout, "raw", "run1")
    assert found.version == 2 and found.files_read == 1  # newest commit had the metadata
    assert table.format == "delta"
    assert [(c.name, c.type) for c in table.columns] == [
        ("id", "bigint"),
        ("amount", "decimal(10,2)"),
        ("lines", "array<struct<q:int>>"),
    ]
    assert [(k.name, k.type) for k in table.partition_keys] == [("day", "string")]


def test_delta_checkpoint_is_read_when_commits_after_it_keep_the_schema(tmp_path: Path) -> None:
    root = tmp_path / "raw" / "t"
    meta = _metadata([_field("a", "long")], [])["metaData"]
    log = root / "_delta_log"
    log.mkdir(parents=True)
    buffer = io.BytesIO()
    pq.write_table(pa.table({"metaData": [None, meta]}), buffer)
    (log / f"{10:020d}.checkpoint.parquet").write_bytes(buffer.getvalue())
    (log / f"{11:020d}.json").write_text(json.dumps({"add": {"path": "x.parquet"}}))
    store = LocalStore(tmp_path, "raw")
    logs = tuple(o for o in _listing(store) if "_delta_log" in o.key)
    found = read_delta_schema(store, "t/", logs)
    assert (found.version, [c.name for c in found.columns], found.files_read) == (11, ["a"], 2)


def test_a_v2_json_checkpoint_is_read_too(tmp_path: Path) -> None:
    log = tmp_path / "raw" / "t" / "_delta_log"
    log.mkdir(parents=True)
    meta = _metadata([_field("b", "string")], [])
    name = f"{5:020d}.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json"
    (log / name).write_text(
        json.dumps({"checkpointMetadata": {"version": 5}}) + "\n" + json.dumps(meta)
    )
    store = LocalStore(tmp_path, "raw")
    found = read_delta_schema(store, "t/", tuple(_listing(store)))
    assert (found.version, [c.name for c in found.columns]) == (5, ["b"])


def test_a_delta_log_without_commits_is_a_clear_error(tmp_path: Path) -> None:
    log = tmp_path / "raw" / "t" / "_delta_log"
    log.mkdir(parents=True)
    (log / "_last_checkpoint").write_text("{}")
    store = LocalStore(tmp_path, "raw")
    with pytest.raises(CrawlError, match="without commits"):
        read_delta_schema(store, "t/", tuple(_listing(store)))


def test_hive_types_of_spark_json_types() -> None:
    """One map from Spark's JSON types (the Delta log's, the metastore's) to Hive's."""
    assert spark_type_name("long") == "bigint"
    assert spark_type_name("decimal(10, 2)") == "decimal(10,2)"
    assert spark_type_name({"type": "map", "keyType": "string", "valueType": "double"}) == (
        "map<string,double>"
    )
