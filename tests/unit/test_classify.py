from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.classify.csv import detect_header
from engine.classify.model import SAMPLE_BYTES, UNKNOWN
from engine.classify.registry import classify, classify_all, make_sample

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "duckdb-csv"


def verdict(name: str, data: bytes):
    return classify(make_sample(name, len(data), data))


def test_csv_with_typed_columns_has_a_header() -> None:
    v = verdict("s.csv", b"id,Name,price,day\n1,a,2.5,2026-01-01\n2,b,3,2026-01-02\n")
    assert v.classification == "csv" and v.certainty == 1.0
    assert [(c.name, c.type) for c in v.columns] == [
        ("id", "bigint"),
        ("Name", "string"),  # spelled as in the file
        ("price", "double"),
        ("day", "date"),
    ]
    assert v.properties["skip.header.line.count"] == "1"
    assert v.options["header"] == "true" and v.options["sep"] == ","


def test_all_string_csv_with_name_like_first_row_has_a_header() -> None:
    v = verdict("people.csv", b"name,city\nann,paris\nbob,rome\n")
    assert [c.name for c in v.columns] == ["name", "city"]
    assert v.options["header"] == "true"


def test_all_string_csv_whose_first_row_repeats_below_has_no_header() -> None:
    v = verdict("pairs.csv", b"ann,paris\nbob,rome\nann,paris\n")
    assert [c.name for c in v.columns] == ["col0", "col1"]
    assert "skip.header.line.count" not in v.properties
    assert v.options["header"] == "false"


def test_typed_first_row_is_data() -> None:
    has_header, why = detect_header(["1", "2"], [["3", "4"]])
    assert not has_header and "typed" in why


@pytest.mark.parametrize(("delimiter", "name"), [("\t", "t.tsv"), (";", "s.csv"), ("|", "p.txt")])
def test_delimiters_are_sniffed(delimiter: str, name: str) -> None:
    rows = ["a", "b", "c"], ["1", "x y", "2.5"], ["2", "z", "3.5"]
    data = "\n".join(delimiter.join(r) for r in rows).encode() + b"\n"
    v = verdict(name, data)
    assert v.properties["delimiter"] == delimiter
    assert [c.type for c in v.columns] == ["bigint", "string", "double"]


def test_quoted_fields_with_delimiters_and_newlines() -> None:
    v = verdict("q.csv", b'id,comment\n1,"hello, world"\n2,"two\nlines"\n3,plain\n')
    assert v.classification == "csv"
    assert v.options["multiLine"] == "true"
    assert v.properties["areColumnsQuoted"] == "true"


def test_gzip_csv_is_decompressed_for_sampling() -> None:
    data = gzip.compress(b"id,v\n1,2\n3,4\n")
    v = verdict("x.csv.gz", data)
    assert v.classification == "csv"
    assert v.properties["compressionType"] == "gzip"


def test_truncated_sample_drops_the_partial_last_line() -> None:
    data = b"id,v\n" + b"".join(b"%d,%d\n" % (i, i) for i in range(20000))
    head = data[:SAMPLE_BYTES]
    v = classify(make_sample("big.csv", len(data), head))
    assert [c.type for c in v.columns] == ["bigint", "bigint"]


def test_binary_and_ragged_files_are_unknown() -> None:
    assert verdict("b.bin", b"\x00\x01\x02garbage").classification == UNKNOWN
    ragged = b"a,b,c\n1\n2,3\n4,5,6,7\nx\n"
    assert verdict("r.dat", ragged).classification == UNKNOWN


def test_parquet_is_recognised_by_magic(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), path)
    data = path.read_bytes()
    verdicts = classify_all(make_sample(path.name, len(data), data[:SAMPLE_BYTES]))
    by_classifier = {v.classifier: v.classification for v in verdicts}
    assert by_classifier["parquet"] == "parquet"
    assert by_classifier["avro"] == by_classifier["orc"] == "UNKNOWN"
    assert classify(make_sample(path.name, len(data), data)).classification == "parquet"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside the clone")
def test_every_corpus_file_classifies_without_crashing() -> None:
    files = [p for p in CORPUS.rglob("*") if p.is_file() and not p.is_symlink()]
    assert len(files) > 900
    outcomes = {"csv": 0, "json": 0, "parquet": 0, UNKNOWN: 0}
    for path in files:
        with path.open("rb") as handle:
            head = handle.read(SAMPLE_BYTES)
        result = classify(make_sample(path.name, path.stat().st_size, head))
        assert result.classification in outcomes, path
        outcomes[result.classification] += 1
    assert outcomes["csv"] > len(files) // 2


def test_an_unterminated_quote_is_no_proof_of_multiline_records() -> None:
    lines = ["id,amount,note"] + [f"{i},{i / 2},row {i}" for i in range(1, 301)]
    lines[250] = '250,3.5,"unterminated quote'
    v = verdict("stray.csv", ("\n".join(lines) + "\n").encode())
    assert v.options["multiLine"] == "false"
    assert [c.type for c in v.columns] == ["bigint", "double", "string"]


def test_a_closed_quoted_line_break_proves_multiline_records() -> None:
    data = b'id,note\n1,"two\nlines"\n2,plain\n'
    assert verdict("m.csv", data).options["multiLine"] == "true"
    # a quoted value whose lines look like records of their own proves nothing
    swallowed = b'id,a,note\n1,x,"opens\n2,y,z\n3,w,closes"\n4,v,u\n'
    assert verdict("s.csv", swallowed).options["multiLine"] == "false"


def test_a_corrupt_gzip_is_reported_as_corrupt() -> None:
    packed = bytearray(gzip.compress(b"id,name\n" + b"1,abc\n" * 5000))
    for spot in range(30, 60):
        packed[spot] ^= 0xFF
    v = verdict("broken.csv.gz", bytes(packed))
    assert v.classification == UNKNOWN
    assert "gzip data is corrupt" in v.reason
    assert [x.reason for x in classify_all(make_sample("b.gz", len(packed), bytes(packed)))] == [
        v.reason
    ]


def test_a_quoted_line_break_in_the_last_row_proves_multiline_when_it_closes() -> None:
    assert verdict("q.csv", b'col1\n"cell with\nnewline"\n').options["multiLine"] == "true"
    assert verdict("u.csv", b'col1\n"hello\n\n world\n').options["multiLine"] == "false"


def test_a_mostly_utf8_file_with_some_latin1_bytes_stays_utf8() -> None:
    from engine.classify.model import decode

    mixed = ("id,name\n" + "".join(f"{i},théta-{i}\n" for i in range(50))).encode()
    mixed += "99,caf\u00e9\n".encode("latin-1")
    text, encoding = decode(mixed, truncated=False) or ("", "")
    assert encoding == "UTF-8" and "théta-7" in text and "caf\ufffd" in text
    assert decode("caf\u00e9 na\u00efve\n".encode("latin-1"), False) == (
        "café naïve\n",
        "ISO-8859-1",
    )
