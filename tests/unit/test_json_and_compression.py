from __future__ import annotations

import bz2
import gzip
import json

from hypothesis import given
from hypothesis import strategies as st

from engine.classify.model import UNKNOWN
from engine.classify.registry import classify, make_sample
from engine.schema import finalize, parse_type, render_type, widen


def verdict(name: str, data: bytes):
    return classify(make_sample(name, len(data), data))


def test_json_lines_with_nested_objects_arrays_and_nulls() -> None:
    lines = [
        {"id": 1, "user": {"name": "a", "tags": ["x"]}, "score": None},
        {"id": 2, "user": {"name": "b", "age": 30}, "score": 1.5, "ok": True},
    ]
    v = verdict("e.json", "\n".join(json.dumps(x) for x in lines).encode())
    assert v.classification == "json"
    assert [(c.name, c.type) for c in v.columns] == [
        ("id", "bigint"),
        ("user", "struct<name:string,tags:array<string>,age:bigint>"),
        ("score", "double"),
        ("ok", "boolean"),
    ]
    assert v.options["multiLine"] == "false"


def test_array_document_is_multiline_and_widens_across_records() -> None:
    v = verdict("a.json", b'[\n {"a": 1},\n {"a": 2.5, "b": [1, 2]},\n {"b": []}\n]')
    assert [(c.name, c.type) for c in v.columns] == [("a", "double"), ("b", "array<bigint>")]
    assert v.options["multiLine"] == "true"


def test_truncated_json_lines_sample_uses_complete_records() -> None:
    data = b"".join(b'{"n": %d, "s": "x"}\n' % i for i in range(10000))
    v = classify(make_sample("big.jsonl", len(data), data[:4000]))
    assert [(c.name, c.type) for c in v.columns] == [("n", "bigint"), ("s", "string")]


def test_json_that_is_not_records_is_not_json_and_falls_through() -> None:
    assert verdict("x.json", b"[1, 2, 3]").classification != "json"
    assert verdict("x.json", b'{"a": 1} trailing garbage {').classification == UNKNOWN


def test_compressed_content_is_classified_by_its_content() -> None:
    v = verdict("e.json.bz2", bz2.compress(b'{"a": 1}\n{"a": 2}\n'))
    assert (v.classification, v.properties["compressionType"]) == ("json", "bzip2")
    v = verdict("t.csv.gz", gzip.compress(b"a,b\n1,2\n3,4\n"))
    assert (v.classification, v.properties["compressionType"]) == ("csv", "gzip")
    assert verdict("broken.gz", b"\x1f\x8b\x08garbage").classification == UNKNOWN


NESTED = st.recursive(
    st.sampled_from(["bigint", "double", "string", "boolean", "null"]),
    lambda inner: st.one_of(
        inner.map(lambda t: f"array<{t}>"),
        st.lists(st.tuples(st.sampled_from("abc"), inner), min_size=1, max_size=3).map(
            lambda fs: "struct<" + ",".join(f"{n}:{t}" for n, t in dict(fs).items()) + ">"
        ),
    ),
    max_leaves=6,
)


@given(NESTED)
def test_type_strings_round_trip(type_: str) -> None:
    assert render_type(parse_type(type_)) == type_


@given(NESTED, NESTED)
def test_nested_widening_is_commutative_up_to_field_order(a: str, b: str) -> None:
    def fields_sorted(node):
        if isinstance(node, str):
            return node
        if node[0] == "struct":
            return ("struct", tuple(sorted((n, fields_sorted(t)) for n, t in node[1])))
        return (node[0], *(fields_sorted(x) for x in node[1:]))

    assert fields_sorted(parse_type(widen(a, b))) == fields_sorted(parse_type(widen(b, a)))


def test_finalize_replaces_nulls_at_every_depth() -> None:
    assert finalize("struct<a:null,b:array<null>>") == "struct<a:string,b:array<string>>"
