from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.orc as orc

from engine.classify.avro import read_header
from engine.classify.model import UNKNOWN
from engine.classify.registry import classify, make_sample
from engine.crawl.footer import read_orc_footer
from engine.storage import LocalStore


def _zigzag(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _blob(data: bytes) -> bytes:
    return _zigzag(len(data)) + data


def avro_header(schema: dict) -> bytes:
    return (
        b"Obj\x01"
        + _zigzag(2)
        + _blob(b"avro.schema")
        + _blob(json.dumps(schema).encode())
        + _blob(b"avro.codec")
        + _blob(b"deflate")
        + _zigzag(0)
        + b"\x00" * 16
    )


SCHEMA = {
    "type": "record",
    "name": "r",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": ["null", "string"]},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {
            "name": "price",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
        },
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "int"}},
        {"name": "kind", "type": {"type": "enum", "name": "k", "symbols": ["A", "B"]}},
        {
            "name": "inner",
            "type": {"type": "record", "name": "i", "fields": [{"name": "x", "type": "double"}]},
        },
    ],
}


def test_avro_schema_from_the_header() -> None:
    data = avro_header(SCHEMA)
    assert read_header(data)["avro.codec"] == b"deflate"
    verdict = classify(make_sample("x.avro", len(data), data))
    assert verdict.classification == "avro"
    assert [(c.name, c.type) for c in verdict.columns] == [
        ("id", "bigint"),
        ("name", "string"),
        ("day", "date"),
        ("at", "timestamp"),
        ("price", "decimal(9,2)"),
        ("tags", "array<string>"),
        ("attrs", "map<string,int>"),
        ("kind", "string"),
        ("inner", "struct<x:double>"),
    ]


def test_avro_types_are_the_ones_spark_reads_them_as() -> None:
    schema = {
        "type": "record",
        "name": "r",
        "fields": [
            {"name": "local", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
            {"name": "either", "type": ["null", "int", "long"]},
            {"name": "fl", "type": ["float", "double"]},
            {"name": "mixed", "type": ["null", "string", "int"]},
        ],
    }
    data = avro_header(schema)
    verdict = classify(make_sample("x.avro", len(data), data))
    assert [(c.name, c.type) for c in verdict.columns] == [
        ("local", "timestamp_ntz"),
        ("either", "bigint"),
        ("fl", "double"),
        ("mixed", "struct<member0:string,member1:int>"),
    ]


def test_an_avro_decimal_wider_than_spark_reads_is_refused_naming_the_column() -> None:
    wide = {"type": "bytes", "logicalType": "decimal", "precision": 40, "scale": 2}
    schema = {"type": "record", "name": "r", "fields": [{"name": "amount", "type": wide}]}
    data = avro_header(schema)
    verdict = classify(make_sample("x.avro", len(data), data))
    assert verdict.classification == UNKNOWN
    assert "column amount: decimal(40,2) is wider than Spark's 38 digits" in verdict.reason


def test_a_cut_avro_header_is_not_a_crash() -> None:
    data = avro_header(SCHEMA)[:30]
    assert classify(make_sample("x.avro", 10_000, data)).classification == UNKNOWN


def test_orc_is_recognised_and_its_footer_read(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    path = tmp_path / "b" / "t.orc"
    orc.write_table(pa.table({"A": [1, 2, 3], "b": ["x", "y", "z"]}), path)
    data = path.read_bytes()
    assert classify(make_sample("t.orc", len(data), data)).classification == "orc"
    columns, rows = read_orc_footer(LocalStore(tmp_path, "b"), "t.orc", len(data))
    assert rows == 3
    assert [(c.name, c.type) for c in columns] == [("A", "bigint"), ("b", "string")]  # as spelled
